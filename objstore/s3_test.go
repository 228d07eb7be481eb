package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthcluster/hearth/objstore"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// recordingFakeS3 is fakeS3 that also records every request it serves.
type recordingFakeS3 struct {
	URL string
	mu  sync.Mutex
	rqs []*http.Request
}

func newRecordingFakeS3(t *testing.T, buckets ...string) *recordingFakeS3 {
	t.Helper()
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatalf("create bucket %s: %v", b, err)
		}
	}
	f := &recordingFakeS3{}
	fake := gofakes3.New(backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.rqs = append(f.rqs, r.Clone(context.Background()))
		f.mu.Unlock()
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *recordingFakeS3) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.rqs...)
}

// TestS3LargePutAgainstFakeS3 checks that a large stream goes up as a
// multipart upload, and that no request carries the SDK's CRC checksum
// headers, which S3-compatible stores may not know.
func TestS3LargePutAgainstFakeS3(t *testing.T) {
	fake := newRecordingFakeS3(t, "b")
	store := objstore.New(fakeS3Config(fake.URL))
	const size = 20 << 20
	// A pipe: the store cannot know the length.
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeZeros(pw, size))
	}()
	defer pr.Close()
	if err := store.Put(context.Background(), "s3://b/big", pr); err != nil {
		t.Fatalf("Put: %v", err)
	}

	var creates, parts, completes int
	for _, r := range fake.requests() {
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodPost && q.Has("uploads"):
			creates++
		case r.Method == http.MethodPut && q.Has("uploadId"):
			parts++
		case r.Method == http.MethodPost && q.Has("uploadId"):
			completes++
		}
		for name := range r.Header {
			n := strings.ToLower(name)
			if strings.HasPrefix(n, "x-amz-checksum-") || n == "x-amz-sdk-checksum-algorithm" || n == "x-amz-trailer" {
				t.Errorf("%s %s carries %s: checksums should be off unless required", r.Method, r.URL, name)
			}
		}
	}
	// 20 MiB in 8 MiB parts is three parts.
	if creates != 1 || parts != 3 || completes != 1 {
		t.Errorf("multipart requests: %d create, %d parts, %d complete; want 1, 3, 1", creates, parts, completes)
	}
	obj, err := store.Stat(context.Background(), "s3://b/big")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if obj.Size != size {
		t.Errorf("Stat size = %d, want %d", obj.Size, size)
	}
}

func writeZeros(w io.Writer, n int) error {
	buf := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(buf))
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func TestS3ErrorsAgainstFakeS3(t *testing.T) {
	endpoint := fakeS3(t, "bucket")
	store := objstore.New(fakeS3Config(endpoint))
	ctx := context.Background()
	if err := store.Put(ctx, "s3://bucket/exists", strings.NewReader("x")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	tests := []struct {
		name string
		do   func() error
		kind error
		msg  string
	}{
		{"get missing key", func() error { _, err := store.Get(ctx, "s3://bucket/key"); return err },
			objstore.ErrNotFound, "get s3://bucket/key: no such key (the bucket exists, the object does not)"},
		{"get missing bucket", func() error { _, err := store.Get(ctx, "s3://nobucket/key"); return err },
			objstore.ErrNotFound, `get s3://nobucket/key: no such bucket "nobucket"`},
		// HEAD answers have no body: the store asks about the bucket.
		{"stat missing key", func() error { _, err := store.Stat(ctx, "s3://bucket/key"); return err },
			objstore.ErrNotFound, "stat s3://bucket/key: no such key (the bucket exists, the object does not)"},
		{"stat missing bucket", func() error { _, err := store.Stat(ctx, "s3://nobucket/key"); return err },
			objstore.ErrNotFound, `stat s3://nobucket/key: no such bucket "nobucket"`},
		{"list missing bucket", func() error { _, err := store.List(ctx, "s3://nobucket/logs/"); return err },
			objstore.ErrNotFound, `list s3://nobucket/logs/: no such bucket "nobucket"`},
		{"put missing bucket", func() error { return store.Put(ctx, "s3a://nobucket/k", strings.NewReader("x")) },
			objstore.ErrNotFound, `put s3a://nobucket/k: no such bucket "nobucket"`},
		{"get bucket only", func() error { _, err := store.Get(ctx, "s3://bucket"); return err },
			objstore.ErrInvalidURI, "get s3://bucket: key missing, the URI names a bucket or a prefix; write s3://bucket/key"},
		{"put prefix", func() error { return store.Put(ctx, "s3n://bucket/dir/", strings.NewReader("x")) },
			objstore.ErrInvalidURI, "put s3n://bucket/dir/: key missing, the URI names a bucket or a prefix; write s3n://bucket/key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !errors.Is(err, tc.kind) {
				t.Errorf("got %v, want an error wrapping %v", err, tc.kind)
			}
			if err == nil || err.Error() != tc.msg {
				t.Errorf("got message %q, want %q", err, tc.msg)
			}
		})
	}
}

// TestS3SchemeAliasesAgainstFakeS3: s3a:// and s3n:// name the same objects
// as s3://, and List answers in the scheme it was asked in.
func TestS3SchemeAliasesAgainstFakeS3(t *testing.T) {
	store := objstore.New(fakeS3Config(fakeS3(t, "b")))
	ctx := context.Background()
	if err := store.Put(ctx, "s3a://b/dir/x", strings.NewReader("via s3a")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	for _, uri := range []string{"s3://b/dir/x", "s3n://b/dir/x", "S3://b/dir/x"} {
		rc, err := store.Get(ctx, uri)
		if err != nil {
			t.Fatalf("Get %s: %v", uri, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(b) != "via s3a" {
			t.Errorf("Get %s = %q, %v; want %q", uri, b, err, "via s3a")
		}
	}
	objs, err := store.List(ctx, "s3n://b/dir/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(objs) != 1 || objs[0].URI != "s3n://b/dir/x" {
		t.Errorf("List(s3n://b/dir/) = %v, want [s3n://b/dir/x]", objs)
	}
	objs, err = store.List(ctx, "s3://b")
	if err != nil {
		t.Fatalf("List of the whole bucket: %v", err)
	}
	if len(objs) != 1 || objs[0].URI != "s3://b/dir/x" {
		t.Errorf("List(s3://b) = %v, want [s3://b/dir/x]", objs)
	}
}

// TestS3ListPagesAgainstFakeS3 lists with two keys per page, so that the
// listing must follow continuation tokens.
func TestS3ListPagesAgainstFakeS3(t *testing.T) {
	fake := newRecordingFakeS3(t, "b")
	store := objstore.NewWithListPageSize(fakeS3Config(fake.URL), 2)
	ctx := context.Background()
	var want []string
	for i := range 7 {
		uri := fmt.Sprintf("s3://b/logs/%02d", i)
		if err := store.Put(ctx, uri, strings.NewReader(uri)); err != nil {
			t.Fatalf("Put: %v", err)
		}
		want = append(want, uri)
	}
	objs, err := store.List(ctx, "s3://b/logs/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.URI)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("List = %v, want %v", got, want)
	}
	pages := 0
	for _, r := range fake.requests() {
		if r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2" {
			pages++
		}
	}
	if pages != 4 {
		t.Errorf("List asked for %d pages, want 4 (7 keys, 2 a page)", pages)
	}
}

// TestS3ReaderErrorAgainstFakeS3: a Put whose reader fails blames the
// reader, and leaves no object.
func TestS3ReaderErrorAgainstFakeS3(t *testing.T) {
	store := objstore.New(fakeS3Config(fakeS3(t, "b")))
	ctx := context.Background()
	for _, size := range []int{10, 20 << 20} { // one PutObject; a multipart upload
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			uri := fmt.Sprintf("s3://b/broken-%d", size)
			boom := errors.New("disk on fire")
			r := io.MultiReader(bytes.NewReader(make([]byte, size)), errReader{boom})
			err := store.Put(ctx, uri, r)
			if !errors.Is(err, boom) {
				t.Fatalf("Put: got %v, want an error wrapping %v", err, boom)
			}
			want := "put " + uri + ": read the data to store: disk on fire"
			if err.Error() != want {
				t.Errorf("Put: got %q, want %q", err, want)
			}
			if _, err := store.Stat(ctx, uri); !errors.Is(err, objstore.ErrNotFound) {
				t.Errorf("Stat after a failed Put: got %v, want ErrNotFound", err)
			}
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestS3DeniedCredentialsAgainstFakeS3 would check that a wrong secret key
// is ErrDenied, but gofakes3 does not verify request signatures: it accepts
// any credentials. The mapping of S3's AccessDenied, InvalidAccessKeyId and
// SignatureDoesNotMatch codes is unit-tested in s3_internal_test.go; e2e
// checks it against the real built-in store.
func TestS3DeniedCredentialsAgainstFakeS3(t *testing.T) {
	t.Skip("gofakes3 does not check signatures, so it cannot deny wrong credentials")
}

func TestS3Configuration(t *testing.T) {
	tests := []struct {
		name string
		cfg  objstore.S3Config
		kind error
		msg  string
	}{
		{"endpoint without credentials",
			objstore.S3Config{Endpoint: "http://127.0.0.1:8442", PathStyle: true},
			objstore.ErrDenied,
			"get s3://b/k: no S3 credentials configured for http://127.0.0.1:8442: set its access key ID and secret access key (hearth s3 env prints the built-in store's)"},
		{"access key without secret",
			objstore.S3Config{Endpoint: "http://127.0.0.1:8442", AccessKeyID: "AK"},
			objstore.ErrDenied,
			"get s3://b/k: S3 secret access key missing (an access key ID is set): set both"},
		{"secret without access key",
			objstore.S3Config{SecretAccessKey: "SK"},
			objstore.ErrDenied,
			"get s3://b/k: S3 access key ID missing (a secret access key is set): set both"},
		{"endpoint not a URL",
			objstore.S3Config{Endpoint: "127.0.0.1:8442", AccessKeyID: "AK", SecretAccessKey: "SK"},
			nil,
			`get s3://b/k: S3 endpoint "127.0.0.1:8442" is not an http:// or https:// URL such as http://127.0.0.1:8442`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := objstore.New(tc.cfg).Get(context.Background(), "s3://b/k")
			if err == nil {
				t.Fatal("Get succeeded, want an error")
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("got %v, want an error wrapping %v", err, tc.kind)
			}
			if err.Error() != tc.msg {
				t.Errorf("got %q, want %q", err, tc.msg)
			}
		})
	}
}

// TestS3Unreachable: a store nobody listens on is named in the error.
func TestS3Unreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = objstore.New(fakeS3Config(endpoint)).Stat(ctx, "s3://b/k")
	want := "stat s3://b/k: cannot reach the S3 endpoint " + endpoint + ": "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("got %v, want %q... connection refused", err, want)
	}
}

// awsEnv isolates the AWS default credential chain from this machine's
// ~/.aws and instance metadata.
func awsEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(v, "")
	}
}

// TestS3DefaultCredentialChain: with no endpoint and no access key, the
// store uses the AWS default chain, here the environment, pointed at the
// fake by AWS_ENDPOINT_URL_S3.
func TestS3DefaultCredentialChain(t *testing.T) {
	awsEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "env-access-key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret-key")
	t.Setenv("AWS_ENDPOINT_URL_S3", fakeS3(t, "b"))
	store := objstore.New(objstore.S3Config{PathStyle: true})
	ctx := context.Background()
	if err := store.Put(ctx, "s3://b/k", strings.NewReader("via the default chain")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	obj, err := store.Stat(ctx, "s3://b/k")
	if err != nil || obj.Size != int64(len("via the default chain")) {
		t.Errorf("Stat = %+v, %v", obj, err)
	}
}

func TestS3NoCredentialsAnywhere(t *testing.T) {
	awsEnv(t)
	_, err := objstore.New(objstore.S3Config{}).Get(context.Background(), "s3://b/k")
	if !errors.Is(err, objstore.ErrDenied) {
		t.Errorf("got %v, want an error wrapping ErrDenied", err)
	}
	want := "get s3://b/k: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE ("
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %q, want it to start with %q", err, want)
	}
}
