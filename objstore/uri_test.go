package objstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hearthcluster/hearth/objstore"
)

func TestParse(t *testing.T) {
	tests := []struct {
		uri  string
		want objstore.URI
	}{
		{"s3://bucket/key", objstore.URI{Scheme: "s3", Raw: "s3", Bucket: "bucket", Key: "key"}},
		{"s3a://bucket/logs/j-1/", objstore.URI{Scheme: "s3", Raw: "s3a", Bucket: "bucket", Key: "logs/j-1/"}},
		{"s3n://bucket", objstore.URI{Scheme: "s3", Raw: "s3n", Bucket: "bucket"}},
		{"S3://Legacy_Bucket/a b/%20", objstore.URI{Scheme: "s3", Raw: "S3", Bucket: "Legacy_Bucket", Key: "a b/%20"}},
		{"s3://b/k?x#y", objstore.URI{Scheme: "s3", Raw: "s3", Bucket: "b", Key: "k?x#y"}},
		{"/data/in.txt", objstore.URI{Scheme: "file", Path: "/data/in.txt"}},
		{"/data/./logs//", objstore.URI{Scheme: "file", Path: "/data/logs/"}},
		{"file:///data/in.txt", objstore.URI{Scheme: "file", Raw: "file", Path: "/data/in.txt"}},
		{"file://localhost/data/x", objstore.URI{Scheme: "file", Raw: "file", Path: "/data/x"}},
		{"file:/data/x", objstore.URI{Scheme: "file", Raw: "file", Path: "/data/x"}},
		{"http://example.com:8080/a/b?x=1", objstore.URI{Scheme: "http", Raw: "http", Host: "example.com:8080", Path: "/a/b?x=1"}},
		{"HTTPS://example.com", objstore.URI{Scheme: "https", Raw: "HTTPS", Host: "example.com", Path: "/"}},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			got, err := objstore.Parse(tc.uri)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got != tc.want {
				t.Errorf("Parse = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		uri  string
		kind error
		msg  string
	}{
		{"s3://", objstore.ErrInvalidURI, `s3 URI "s3://": bucket name missing; write s3://bucket/key`},
		{"s3:///key", objstore.ErrInvalidURI, `s3 URI "s3:///key": bucket name missing; write s3://bucket/key`},
		{"s3a:bucket/key", objstore.ErrInvalidURI, `s3a URI "s3a:bucket/key": write s3a://bucket/key`},
		{"s3://my bucket/k", objstore.ErrInvalidURI, `s3 URI "s3://my bucket/k": bucket name "my bucket" is not valid: use letters, digits, '.', '-' and '_'`},
		{"file://tmp/x", objstore.ErrInvalidURI, `file URI "file://tmp/x": host "tmp" is not supported, file URIs name local paths; write file:///tmp/x`},
		{"file://", objstore.ErrInvalidURI, `file URI "file://": path missing; write file:///absolute/path`},
		{"file:data/x", objstore.ErrUnsupported, `file URI "file:data/x": a relative path is not supported; write file:///absolute/path`},
		{"http:///x", objstore.ErrInvalidURI, `http URI "http:///x": host missing; write http://host/path`},
		{"ftp://x/y", objstore.ErrUnsupported, `unsupported URI "ftp://x/y": scheme "ftp" is not supported; use s3://, s3a://, s3n://, file://, http(s):// or an absolute path`},
		{"gs://b/k", objstore.ErrUnsupported, `unsupported URI "gs://b/k": scheme "gs" is not supported; use s3://, s3a://, s3n://, file://, http(s):// or an absolute path`},
		{"data/x", objstore.ErrUnsupported, `unsupported URI "data/x": a relative path is not supported; use s3://, s3a://, s3n://, file://, http(s):// or an absolute path`},
		{"./x:y", objstore.ErrUnsupported, `unsupported URI "./x:y": a relative path is not supported; use s3://, s3a://, s3n://, file://, http(s):// or an absolute path`},
		{"", objstore.ErrInvalidURI, `URI "": empty; use s3://, s3a://, s3n://, file://, http(s):// or an absolute path`},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			_, err := objstore.Parse(tc.uri)
			if !errors.Is(err, tc.kind) {
				t.Errorf("Parse: got %v, want an error wrapping %v", err, tc.kind)
			}
			if err == nil || err.Error() != tc.msg {
				t.Errorf("Parse: got %q, want %q", err, tc.msg)
			}
		})
	}
}

// TestStoreRefusesBadURIs: every operation checks its URI first, and says
// which operation and URI it refused.
func TestStoreRefusesBadURIs(t *testing.T) {
	store := objstore.New(objstore.S3Config{})
	ctx := context.Background()
	tests := []struct {
		uri  string
		kind error
		msg  string // after "<op> <uri>: "
	}{
		{"ftp://x/y", objstore.ErrUnsupported, `scheme "ftp" is not supported; use s3://, s3a://, s3n://, file://, http(s):// or an absolute path`},
		{"data/x", objstore.ErrUnsupported, "a relative path is not supported; use s3://, s3a://, s3n://, file://, http(s):// or an absolute path"},
		{"s3://", objstore.ErrInvalidURI, "bucket name missing; write s3://bucket/key"},
	}
	ops := map[string]func(uri string) error{
		"get":  func(uri string) error { _, err := store.Get(ctx, uri); return err },
		"put":  func(uri string) error { return store.Put(ctx, uri, strings.NewReader("x")) },
		"stat": func(uri string) error { _, err := store.Stat(ctx, uri); return err },
		"list": func(uri string) error { _, err := store.List(ctx, uri); return err },
	}
	for _, tc := range tests {
		for op, do := range ops {
			t.Run(op+" "+tc.uri, func(t *testing.T) {
				err := do(tc.uri)
				if !errors.Is(err, tc.kind) {
					t.Errorf("got %v, want an error wrapping %v", err, tc.kind)
				}
				want := op + " " + tc.uri + ": " + tc.msg
				if err == nil || err.Error() != want {
					t.Errorf("got %q, want %q", err, want)
				}
			})
		}
	}
}

func TestURIString(t *testing.T) {
	for _, uri := range []string{"s3a://b/k/x", "s3://b", "file:///tmp/a b", "/tmp/x/", "https://h:1/p?q=1"} {
		u, err := objstore.Parse(uri)
		if err != nil {
			t.Fatalf("Parse(%q): %v", uri, err)
		}
		if got := u.String(); got != uri {
			t.Errorf("Parse(%q).String() = %q", uri, got)
		}
	}
}

func TestIsS3(t *testing.T) {
	tests := map[string]bool{
		"s3://b/k": true, "s3a://b/k": true, "s3n://b": true, "S3A://b/k": true,
		"file:///x": false, "/x": false, "https://h/x": false, "s3-like/x": false, "": false,
	}
	for uri, want := range tests {
		if got := objstore.IsS3(uri); got != want {
			t.Errorf("IsS3(%q) = %v, want %v", uri, got, want)
		}
	}
}

func TestJoin(t *testing.T) {
	tests := []struct {
		base string
		elem []string
		want string
	}{
		{"s3://b/prefix", []string{"a", "b"}, "s3://b/prefix/a/b"},
		{"s3://b/prefix/", []string{"/a/", "/b"}, "s3://b/prefix/a/b"},
		{"s3://b", []string{"k"}, "s3://b/k"},
		{"s3://b/", []string{"logs/"}, "s3://b/logs/"},
		{"s3://b/x", []string{"y", "/"}, "s3://b/x/y/"},
		{"file:///dir", []string{"x"}, "file:///dir/x"},
		{"file:///", []string{"x"}, "file:///x"},
		{"/dir", []string{"sub", "file.txt"}, "/dir/sub/file.txt"},
		{"/", []string{"x"}, "/x"},
		{"/dir//", []string{"", "x"}, "/dir/x"},
		{"http://h:8/base", []string{"a b"}, "http://h:8/base/a b"},
		{"s3://b/p/", nil, "s3://b/p/"},
		{"", []string{"a", "b"}, "a/b"},
	}
	for _, tc := range tests {
		if got := objstore.Join(tc.base, tc.elem...); got != tc.want {
			t.Errorf("Join(%q, %q) = %q, want %q", tc.base, tc.elem, got, tc.want)
		}
	}
}
