package sigv4_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/hearthcluster/hearth/api/sigv4"
)

const (
	fuzzKeyID  = "AKIAHEARTHFUZZ000000"
	fuzzSecret = "secret-of-the-fuzz-key"
	fuzzURL    = "http://127.0.0.1:8440/"
)

var fuzzNow = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// fuzzRequest is the EMR request FuzzVerify checks: its Authorization,
// X-Amz-Date and X-Amz-Target headers and its body.
type fuzzRequest struct {
	auth, date, target string
	body               []byte
}

func (fr fuzzRequest) http() *http.Request {
	r, _ := http.NewRequest(http.MethodPost, fuzzURL, bytes.NewReader(fr.body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", fr.target)
	r.Header.Set("X-Amz-Date", fr.date)
	r.Header.Set("Authorization", fr.auth)
	return r
}

// signedRequest is a request the AWS SDK signed with the fuzz key at
// fuzzNow (plus skew), for region and service.
func signedRequest(t testing.TB, target, body, region, service string, skew time.Duration) fuzzRequest {
	r, _ := http.NewRequest(http.MethodPost, fuzzURL, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: fuzzKeyID, SecretAccessKey: fuzzSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), service, region, fuzzNow.Add(skew)); err != nil {
		t.Fatal(err)
	}
	return fuzzRequest{auth: r.Header.Get("Authorization"), date: r.Header.Get("X-Amz-Date"), target: target, body: []byte(body)}
}

func fuzzVerifier() *sigv4.Verifier {
	return &sigv4.Verifier{
		Secret: func(_ context.Context, id string) (string, error) {
			if id == fuzzKeyID {
				return fuzzSecret, nil
			}
			return "", fmt.Errorf("access key %q: not found", id)
		},
		Region: "us-east-1", Service: "elasticmapreduce", MaxSkew: 15 * time.Minute,
		Now: func() time.Time { return fuzzNow },
	}
}

// FuzzVerify feeds Verify mutations of requests the AWS SDK signed. Every
// refusal must be a *sigv4.Error in AWS's vocabulary (never an error the
// API would answer with 500), and an accepted request must carry a
// signature the SDK made for exactly that date, target and body: no change
// to anything signed gets through.
func FuzzVerify(f *testing.F) {
	seeds := []fuzzRequest{
		signedRequest(f, "ElasticMapReduce.ListClusters", `{}`, "us-east-1", "elasticmapreduce", 0),
		signedRequest(f, "ElasticMapReduce.RunJobFlow", `{"Name":"x","Instances":{"InstanceCount":1}}`, "us-east-1", "elasticmapreduce", time.Minute),
		signedRequest(f, "ElasticMapReduce.DescribeCluster", `{"ClusterId":"j-1"}`, "eu-west-1", "elasticmapreduce", 0),
		signedRequest(f, "ElasticMapReduce.ListSteps", ``, "us-east-1", "s3", 0),
		signedRequest(f, "ElasticMapReduce.ListClusters", `{}`, "us-east-1", "elasticmapreduce", time.Hour),
	}
	for _, s := range seeds {
		f.Add(s.auth, s.date, s.target, s.body)
	}
	f.Add("", "", "", []byte{})
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=00", "20250314T150926Z", "x", []byte("{}"))
	f.Add("AWS4-HMAC-SHA256 SignedHeaders=;;, Signature=,Credential=////", "20250314T150926Z", "", []byte(nil))
	f.Add("Bearer abc", "not a date", "ElasticMapReduce.ListClusters", []byte("{}"))

	v := fuzzVerifier()
	if id, err := v.Verify(seeds[0].http(), seeds[0].body); err != nil || id != fuzzKeyID {
		f.Fatalf("a request the SDK signed is refused: %v", err)
	}
	f.Fuzz(func(t *testing.T, auth, date, target string, body []byte) {
		defer sigv4.HangGuard(t, auth)()
		in := fuzzRequest{auth: auth, date: date, target: target, body: body}
		id, err := v.Verify(in.http(), body)
		if err != nil {
			var se *sigv4.Error
			if !errors.As(err, &se) {
				t.Fatalf("Verify refused with %T (%v), want a *sigv4.Error", err, err)
			}
			if se.Status != 400 && se.Status != 403 {
				t.Fatalf("status %d for %v", se.Status, err)
			}
			if !strings.HasSuffix(se.Type, "Exception") || se.Message == "" {
				t.Fatalf("error without an AWS type or a message: %#v", se)
			}
			return
		}
		if id != fuzzKeyID {
			t.Fatalf("accepted for key %q", id)
		}
		for _, s := range seeds {
			if strings.Contains(auth, "Signature="+signatureOf(s.auth)) &&
				s.date == date && s.target == target && bytes.Equal(s.body, body) {
				return
			}
		}
		t.Fatalf("accepted a request no seed signed:\nAuthorization: %q\nX-Amz-Date: %q\nX-Amz-Target: %q\nbody: %q", auth, date, target, body)
	})
}

func signatureOf(auth string) string {
	_, sig, _ := strings.Cut(auth, "Signature=")
	return sig
}
