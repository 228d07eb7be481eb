package objstore_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/hearthcluster/hearth/objstore"
	"github.com/hearthcluster/hearth/objstore/objstoretest"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func TestFileConformance(t *testing.T) {
	dir := t.TempDir()
	store := objstore.New(objstore.S3Config{})
	t.Run("FileURI", func(t *testing.T) {
		objstoretest.Run(t, objstoretest.Target{Store: store, Base: "file://" + dir + "/uri/"})
	})
	t.Run("PlainPath", func(t *testing.T) {
		objstoretest.Run(t, objstoretest.Target{Store: store, Base: dir + "/plain/"})
	})
}

func TestHTTPConformance(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	objstoretest.Run(t, objstoretest.Target{
		Store:    objstore.New(objstore.S3Config{}),
		Base:     srv.URL + "/",
		ReadOnly: true,
		Seed: func(t *testing.T, key string, data []byte) {
			p := filepath.Join(dir, filepath.FromSlash(key))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// TestS3ConformanceAgainstFakeS3 runs the suite against gofakes3, an
// in-memory fake of the S3 API: it checks that the backend speaks S3 the way
// the SDK and a store agree on. Hearth's real built-in store is tested in
// e2e.
func TestS3ConformanceAgainstFakeS3(t *testing.T) {
	endpoint := fakeS3(t, "conformance")
	objstoretest.Run(t, objstoretest.Target{
		Store: objstore.New(fakeS3Config(endpoint)),
		Base:  "s3://conformance/suite/",
	})
}

// fakeS3 serves a gofakes3 in-memory S3 fake holding the named (empty)
// buckets, and returns its endpoint. gofakes3 accepts any credentials.
func fakeS3(t *testing.T, buckets ...string) string {
	t.Helper()
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatalf("create bucket %s: %v", b, err)
		}
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

func fakeS3Config(endpoint string) objstore.S3Config {
	return objstore.S3Config{
		Endpoint:        endpoint,
		AccessKeyID:     "fake-access-key",
		SecretAccessKey: "fake-secret-key",
		PathStyle:       true,
	}
}
