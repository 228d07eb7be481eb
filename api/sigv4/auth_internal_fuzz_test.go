package sigv4

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzParseAuth checks the Authorization header parser: a refusal is an
// IncompleteSignatureException that names the header or the part that is
// wrong; an accepted header has every part Verify needs, and writing it
// back in the SDK's layout parses to the same thing.
func FuzzParseAuth(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIAHEARTH/20250314/us-east-1/elasticmapreduce/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=8f2c",
		"AWS4-HMAC-SHA256 Credential=k/d/r/s/aws4_request,SignedHeaders=host,Signature=s",
		"AWS4-HMAC-SHA256 Signature=s, SignedHeaders=host, Credential=k/d/r/s/aws4_request, Extra=1",
		"AWS4-HMAC-SHA256 Credential=k/d/r/s/aws4_request, SignedHeaders=, Signature=a=b",
		"AWS4-HMAC-SHA256 Credential=k/d/r/s, SignedHeaders=host, Signature=s",
		"AWS4-HMAC-SHA256 Credential=/d/r/s/aws4_request, SignedHeaders=host, Signature=s",
		"AWS4-HMAC-SHA256 Credential=k/d/r/s/aws4_request, Credential=x, SignedHeaders=host, Signature=s",
		"AWS4-HMAC-SHA256 ",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA1 Credential=k/d/r/s/aws4_request, SignedHeaders=host, Signature=s",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		defer HangGuard(t, h)()
		a, err := parseAuth(h)
		if err != nil {
			se, ok := err.(*Error)
			if !ok {
				t.Fatalf("parseAuth(%q) = %T %v, want *Error", h, err, err)
			}
			if se.Status != 400 || se.Type != "IncompleteSignatureException" {
				t.Fatalf("parseAuth(%q) = %d %s, want 400 IncompleteSignatureException", h, se.Status, se.Type)
			}
			if !strings.Contains(se.Message, "Authorization") && !strings.Contains(se.Message, "Credential") {
				t.Fatalf("parseAuth(%q): message %q names neither the header nor the part", h, se.Message)
			}
			return
		}
		if a.accessKey == "" || a.signature == "" || len(a.signedHeaders) == 0 {
			t.Fatalf("parseAuth(%q) accepted %+v, which lacks a part", h, a)
		}
		for _, p := range []string{a.accessKey, a.date, a.region, a.service} {
			if strings.ContainsAny(p, "/,") {
				t.Fatalf("parseAuth(%q): credential part %q contains '/' or ','", h, p)
			}
		}
		again := algorithm + " Credential=" + strings.Join([]string{a.accessKey, a.date, a.region, a.service, "aws4_request"}, "/") +
			", SignedHeaders=" + strings.Join(a.signedHeaders, ";") + ", Signature=" + a.signature
		b, err := parseAuth(again)
		if err != nil {
			t.Fatalf("parseAuth(%q) = %+v, written back as %q, which fails: %v", h, a, again, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the header:\n%q\n%+v\n%q\n%+v", h, a, again, b)
		}
	})
}

// HangGuard fails the fuzz run with input if one call takes longer than
// hangLimit: Go's fuzzer only stalls on a hanging input, then passes when
// -fuzztime runs out. The panic ends the worker, and the fuzzer saves
// input under testdata/fuzz/ as a crasher. Use: defer HangGuard(t, input)().
// Exported (in a test file) for FuzzVerify in package sigv4_test; each
// fuzzed package has its own copy, as test helpers cannot be shared
// between packages without a non-test package.
func HangGuard(t *testing.T, input any) func() bool {
	timer := time.AfterFunc(hangLimit, func() {
		panic(fmt.Sprintf("%s: one input ran for more than %v, a hang: %q", t.Name(), hangLimit, input))
	})
	return timer.Stop
}

// hangLimit is far above what any header takes (microseconds).
const hangLimit = 5 * time.Second
