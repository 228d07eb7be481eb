package sigv4_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/hearthcluster/hearth/api/sigv4"
)

const keyID, secret = "AKIAHEARTHTEST000000", "secret-of-the-test-key"

// TestSignedHeadersRequired: host, x-amz-date and the caller's headers
// must be signed; a signature leaving one out is refused, naming it,
// before any key is looked up.
func TestSignedHeadersRequired(t *testing.T) {
	now := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	lookups := 0
	v := &sigv4.Verifier{
		Secret: func(context.Context, string) (string, error) {
			lookups++
			return secret, nil
		},
		Region: "us-east-1", Service: "elasticmapreduce", MaxSkew: 15 * time.Minute,
		Now: func() time.Time { return now },
	}
	body := []byte(`{}`)
	// sign returns a request signed at now, with the target set before
	// (signed) or after (unsigned) signing, and edit applied to its
	// SignedHeaders list.
	sign := func(targetSigned bool, edit func([]string) []string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8440/", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		if targetSigned {
			r.Header.Set("X-Amz-Target", "ElasticMapReduce.ListClusters")
		}
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}, r, hex.EncodeToString(sum[:]), "elasticmapreduce", "us-east-1", now); err != nil {
			t.Fatal(err)
		}
		r.Header.Set("X-Amz-Target", "ElasticMapReduce.ListClusters")
		if edit != nil {
			h := r.Header.Get("Authorization")
			i := strings.Index(h, "SignedHeaders=") + len("SignedHeaders=")
			j := i + strings.IndexByte(h[i:], ',')
			r.Header.Set("Authorization", h[:i]+strings.Join(edit(strings.Split(h[i:j], ";")), ";")+h[j:])
		}
		return r
	}
	without := func(name string) func([]string) []string {
		return func(hs []string) []string {
			var out []string
			for _, h := range hs {
				if h != name {
					out = append(out, h)
				}
			}
			return out
		}
	}

	if id, err := v.Verify(sign(true, nil), body, "x-amz-target"); err != nil || id != keyID {
		t.Fatalf("a good signature: %q, %v", id, err)
	}
	if _, err := v.Verify(sign(false, nil), body); err != nil {
		t.Errorf("without x-amz-target where none is required: %v", err)
	}
	lookups = 0
	for _, tc := range []struct {
		name string
		r    *http.Request
		want string
	}{
		{"target added after signing", sign(false, nil), "x-amz-target"},
		{"host left out", sign(true, without("host")), "host"},
		{"x-amz-date left out", sign(true, without("x-amz-date")), "x-amz-date"},
		{"target left out", sign(true, without("x-amz-target")), "x-amz-target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(tc.r, body, "x-amz-target")
			var se *sigv4.Error
			if !errors.As(err, &se) {
				t.Fatalf("Verify = %v, want a *sigv4.Error", err)
			}
			if se.Status != 400 || se.Type != "IncompleteSignatureException" || !strings.HasPrefix(se.Message, "Authorization SignedHeaders: must include "+tc.want+" ") {
				t.Errorf("Verify = %d %s %q", se.Status, se.Type, se.Message)
			}
		})
	}
	if lookups != 0 {
		t.Errorf("refused signatures looked up the key %d times", lookups)
	}
}

// TestCredentialDateMustBeTheDay: the credential scope's date must be
// exactly X-Amz-Date's day, as AWS requires; a partial or empty one is
// refused.
func TestCredentialDateMustBeTheDay(t *testing.T) {
	now := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	v := &sigv4.Verifier{
		Secret: func(context.Context, string) (string, error) { return secret, nil },
		Region: "us-east-1", Service: "elasticmapreduce", MaxSkew: 15 * time.Minute,
		Now: func() time.Time { return now },
	}
	for _, date := range []string{"20250314", "2025", "", "20250313"} {
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8440/", strings.NewReader(`{}`))
		r.Header.Set("X-Amz-Target", "ElasticMapReduce.ListClusters")
		sum := sha256.Sum256([]byte(`{}`))
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}, r, hex.EncodeToString(sum[:]), "elasticmapreduce", "us-east-1", now); err != nil {
			t.Fatal(err)
		}
		h := r.Header.Get("Authorization")
		r.Header.Set("Authorization", strings.Replace(h, "/20250314/", "/"+date+"/", 1))
		_, err := v.Verify(r, []byte(`{}`))
		if date == "20250314" {
			if err != nil {
				t.Errorf("the SDK's own signature was refused: %v", err)
			}
			continue
		}
		var se *sigv4.Error
		if !errors.As(err, &se) || se.Status != 403 || !strings.Contains(se.Message, "credential date") {
			t.Errorf("credential date %q: %v, want 403 naming the credential date", date, err)
		}
	}
}
