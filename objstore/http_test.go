package objstore_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth/objstore"
)

func TestHTTPStatusErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/forbidden":
			w.WriteHeader(http.StatusForbidden)
		case "/unauthorized":
			w.WriteHeader(http.StatusUnauthorized)
		case "/gone":
			w.WriteHeader(http.StatusGone)
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	store := objstore.New(objstore.S3Config{})
	ctx := context.Background()
	tests := []struct {
		path string
		kind error
		msg  string // after "<op> <uri>: "
	}{
		{"/missing", objstore.ErrNotFound, "not found (HTTP 404)"},
		{"/gone", objstore.ErrNotFound, "not found (HTTP 410)"},
		{"/forbidden", objstore.ErrDenied, "access denied (HTTP 403): use a public or presigned URL"},
		{"/unauthorized", objstore.ErrDenied, "access denied (HTTP 401): use a public or presigned URL"},
		{"/broken", nil, "HTTP 500 Internal Server Error"},
	}
	for _, tc := range tests {
		uri := srv.URL + tc.path
		_, getErr := store.Get(ctx, uri)
		_, statErr := store.Stat(ctx, uri)
		for op, err := range map[string]error{"get": getErr, "stat": statErr} {
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("%s %s: got %v, want an error wrapping %v", op, tc.path, err, tc.kind)
			}
			want := op + " " + uri + ": " + tc.msg
			if err == nil || err.Error() != want {
				t.Errorf("%s %s: got %q, want %q", op, tc.path, err, want)
			}
		}
	}
}

// TestHTTPStatWithoutHead: a server that refuses HEAD is asked with GET.
func TestHTTPStatWithoutHead(t *testing.T) {
	modTime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Last-Modified", modTime.Format(http.TimeFormat))
		io.WriteString(w, "twelve bytes")
	}))
	t.Cleanup(srv.Close)
	obj, err := objstore.New(objstore.S3Config{}).Stat(context.Background(), srv.URL+"/x")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if obj.Size != 12 || !obj.ModTime.Equal(modTime) {
		t.Errorf("Stat = %d bytes at %v, want 12 bytes at %v", obj.Size, obj.ModTime, modTime)
	}
}

// TestHTTPErrorsHideSecrets: a presigned URL's signature and a URL's
// password stay out of error messages.
func TestHTTPErrorsHideSecrets(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	store := objstore.New(objstore.S3Config{})
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct{ uri, shown string }{
		{srv.URL + "/obj?X-Amz-Signature=secret123", srv.URL + "/obj?…"},
		{"http://user:secret123@" + host + "/obj", srv.URL + "/obj"},
	}
	for _, tc := range tests {
		_, err := store.Get(context.Background(), tc.uri)
		if !errors.Is(err, objstore.ErrNotFound) {
			t.Errorf("Get: got %v, want ErrNotFound", err)
		}
		if err == nil || strings.Contains(err.Error(), "secret123") || !strings.HasPrefix(err.Error(), "get "+tc.shown+": ") {
			t.Errorf("Get: got %q, want it to start with %q and hide the secret", err, "get "+tc.shown+": ")
		}
	}
}

func TestHTTPReadOnly(t *testing.T) {
	store := objstore.New(objstore.S3Config{})
	ctx := context.Background()
	putErr := store.Put(ctx, "https://example.com/x", strings.NewReader("x"))
	_, listErr := store.List(ctx, "https://example.com/")
	tests := map[string]struct {
		err  error
		want string
	}{
		"Put":  {putErr, "put https://example.com/x: http(s) is read-only; write to s3:// or file:// instead"},
		"List": {listErr, "list https://example.com/: http(s) is read-only; write to s3:// or file:// instead"},
	}
	for op, tc := range tests {
		if !errors.Is(tc.err, objstore.ErrUnsupported) {
			t.Errorf("%s: got %v, want an error wrapping ErrUnsupported", op, tc.err)
		}
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("%s: got %q, want %q", op, tc.err, tc.want)
		}
	}
}
