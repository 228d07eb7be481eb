package sigv4

import (
	"reflect"
	"strings"
	"testing"
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
