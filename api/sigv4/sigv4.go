// Package sigv4 verifies AWS Signature Version 4 on incoming requests, by
// re-signing them with the AWS SDK's own signer and comparing signatures in
// constant time. Hearth writes no signing code of its own.
package sigv4

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Error is a verification failure, in AWS's vocabulary.
type Error struct {
	Status  int    // HTTP status: 400 or 403
	Type    string // e.g. InvalidSignatureException
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Verifier checks signatures made with Hearth's access keys.
type Verifier struct {
	// Secret returns the secret of an access key id; an error means the key
	// is unknown.
	Secret func(ctx context.Context, accessKeyID string) (string, error)
	// Region and Service the credential scope must name.
	Region, Service string
	// MaxSkew is how far X-Amz-Date may be from now (AWS: 15 minutes).
	MaxSkew time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

const algorithm = "AWS4-HMAC-SHA256"

type authHeader struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

func parseAuth(h string) (authHeader, error) {
	var a authHeader
	rest, ok := strings.CutPrefix(h, algorithm+" ")
	if !ok {
		return a, &Error{400, "IncompleteSignatureException", "Authorization header must use " + algorithm}
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return a, &Error{400, "IncompleteSignatureException", "Credential must be <key>/<date>/<region>/<service>/aws4_request"}
			}
			a.accessKey, a.date, a.region, a.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	if a.accessKey == "" || len(a.signedHeaders) == 0 || a.signature == "" {
		return a, &Error{400, "IncompleteSignatureException", "Authorization header needs Credential, SignedHeaders and Signature"}
	}
	return a, nil
}

// alwaysSigned are the headers every signature must cover: without host
// a signature could be replayed to another server, without x-amz-date the
// clock check would judge a date the signature does not vouch for.
var alwaysSigned = []string{"host", "x-amz-date"}

// Verify checks r (whose body is body) and returns the access key id that
// signed it. The signature must cover host, x-amz-date and every header
// named in mustSign (lower case, e.g. "x-amz-target"), else Verify refuses
// it before looking at the key: an unsigned header could be changed by
// anyone who sees the request.
func (v *Verifier) Verify(r *http.Request, body []byte, mustSign ...string) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", &Error{403, "MissingAuthenticationTokenException", "Missing Authentication Token: sign requests with an access key (`hearth access-keys create`)"}
	}
	a, err := parseAuth(h)
	if err != nil {
		return "", err
	}
	if err := checkSigned(a.signedHeaders, append(slices.Clip(alwaysSigned), mustSign...)); err != nil {
		return "", err
	}
	if a.service != v.Service {
		return "", &Error{403, "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to correct service: '%s', not '%s'", v.Service, a.service)}
	}
	if a.region != v.Region {
		return "", &Error{403, "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region: this endpoint serves '%s', not '%s' (set --region %s)", v.Region, a.region, v.Region)}
	}
	stamp := r.Header.Get("X-Amz-Date")
	signed, err := time.Parse("20060102T150405Z", stamp)
	if err != nil {
		return "", &Error{400, "IncompleteSignatureException", "X-Amz-Date header missing or malformed"}
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if skew := now().Sub(signed); skew > v.MaxSkew || skew < -v.MaxSkew {
		return "", &Error{403, "InvalidSignatureException", fmt.Sprintf("Signature expired: %s is outside the %s window around %s; check this machine's clock", stamp, v.MaxSkew, now().UTC().Format("20060102T150405Z"))}
	}
	if len(stamp) < 8 || a.date != stamp[:8] { // the scope's date is exactly X-Amz-Date's day
		return "", &Error{403, "InvalidSignatureException", "credential date does not match X-Amz-Date"}
	}
	secret, err := v.Secret(r.Context(), a.accessKey)
	if err != nil {
		return "", &Error{403, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}

	// Re-sign a copy carrying exactly the headers the client signed.
	re, err := http.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), nil)
	if err != nil {
		return "", err
	}
	re.URL.Scheme, re.URL.Host = "http", r.Host
	re.Host = r.Host
	for _, name := range a.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			re.ContentLength = r.ContentLength
		default:
			for _, val := range r.Header.Values(name) {
				re.Header.Add(name, val)
			}
		}
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if p := r.Header.Get("X-Amz-Content-Sha256"); p != "" && p != "UNSIGNED-PAYLOAD" && p != payload {
		return "", &Error{400, "InvalidSignatureException", "X-Amz-Content-Sha256 does not match the body"}
	}
	err = v4.NewSigner().SignHTTP(r.Context(), aws.Credentials{AccessKeyID: a.accessKey, SecretAccessKey: secret}, re, payload, a.service, a.region, signed)
	if err != nil {
		return "", err
	}
	want, err := parseAuth(re.Header.Get("Authorization"))
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(want.signature), []byte(a.signature)) != 1 {
		return "", &Error{403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."}
	}
	return a.accessKey, nil
}

// checkSigned refuses a signature that leaves out a header of required.
func checkSigned(signed, required []string) error {
	for _, name := range required {
		if !slices.ContainsFunc(signed, func(s string) bool { return strings.EqualFold(s, name) }) {
			return &Error{400, "IncompleteSignatureException", fmt.Sprintf(
				"Authorization SignedHeaders: must include %s (this endpoint requires %s to be signed), got %q; sign with an AWS SDK or the aws CLI",
				name, strings.Join(required, ", "), strings.Join(signed, ";"))}
		}
	}
	return nil
}

// IsSigned reports whether r carries a SigV4 Authorization header.
func IsSigned(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), algorithm+" ")
}
