// Package objstoretest is the conformance suite for objstore.Store: every
// backend runs the same tests, so a new one starts from a complete
// specification.
package objstoretest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth/objstore"
)

// Target is one Store and where the suite may use it.
type Target struct {
	Store objstore.Store
	// Base is a prefix URI the suite may write under, e.g.
	// s3://bucket/conformance/ or file:///tmp/x/. Each Run writes below a
	// fresh run-<n>/ under it, since a Store cannot delete.
	Base string
	// ReadOnly is for http(s): the suite seeds objects through Seed instead
	// of Put, and skips what needs Put or List.
	ReadOnly bool
	// Seed makes Base+key readable with data; used when ReadOnly.
	Seed func(t *testing.T, key string, data []byte)
}

// largeSize is above the transfer manager's 16 MiB multipart threshold and
// not a whole number of its 8 MiB parts.
const largeSize = 16<<20 + 3<<20 + 12345

// Run runs the suite against target.
func Run(t *testing.T, target Target) {
	run := fmt.Sprintf("run-%d/", time.Now().UnixNano())
	s := suite{Target: target, run: run}

	t.Run("PutGetRoundTrip", s.putGet)
	t.Run("EmptyObject", s.empty)
	t.Run("LargeUnknownLength", s.large)
	t.Run("OverwriteReplaces", s.overwrite)
	t.Run("StatGivesSize", s.stat)
	t.Run("MissingIsNotFound", s.missing)
	t.Run("ListPrefix", s.list)
	t.Run("SpacesAndUnicode", s.unicode)
	t.Run("ReadOnlyRefusesWrites", s.readOnlyRefuses)
}

type suite struct {
	Target
	run string // this Run's directory under Base
}

// uri returns the URI of key in this run.
func (s suite) uri(key string) string {
	return objstore.Join(s.Base, s.run, key)
}

// write stores data at key: with Put, or with Seed on a read-only target.
func (s suite) write(t *testing.T, key string, data []byte) {
	t.Helper()
	if s.ReadOnly {
		s.Seed(t, s.run+key, data)
		return
	}
	if err := s.Store.Put(context.Background(), s.uri(key), bytes.NewReader(data)); err != nil {
		t.Fatalf("Put: %v", err)
	}
}

func (s suite) skipIfReadOnly(t *testing.T, needs string) {
	t.Helper()
	if s.ReadOnly {
		t.Skipf("read-only target (http is read-only): this test needs %s", needs)
	}
}

// read returns the whole object at uri.
func (s suite) read(t *testing.T, uri string) []byte {
	t.Helper()
	rc, err := s.Store.Get(context.Background(), uri)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get %s: read: %v", uri, err)
	}
	return b
}

func (s suite) putGet(t *testing.T) {
	data := []byte("hello, hearth\n\x00\xff binary too")
	s.write(t, "putget/object.txt", data)
	if got := s.read(t, s.uri("putget/object.txt")); !bytes.Equal(got, data) {
		t.Errorf("Get returned %q, want %q", got, data)
	}
}

func (s suite) empty(t *testing.T) {
	s.write(t, "empty/object", nil)
	if got := s.read(t, s.uri("empty/object")); len(got) != 0 {
		t.Errorf("Get of an empty object returned %d bytes", len(got))
	}
	obj, err := s.Store.Stat(context.Background(), s.uri("empty/object"))
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if obj.Size != 0 {
		t.Errorf("Stat size = %d, want 0", obj.Size)
	}
}

// large streams an object over the multipart threshold from a pipe, whose
// length the Store cannot know in advance.
func (s suite) large(t *testing.T) {
	s.skipIfReadOnly(t, "Put of a stream")
	uri := s.uri("large/object.bin")
	pr, pw := io.Pipe()
	defer pr.Close() // unblocks the writer if Put stopped reading
	want := sha256.New()
	go func() {
		rng := rand.NewChaCha8([32]byte{42})
		buf := make([]byte, 1<<20)
		for left := largeSize; left > 0; {
			n := min(left, len(buf))
			rng.Read(buf[:n])
			want.Write(buf[:n])
			if _, err := pw.Write(buf[:n]); err != nil {
				return // Put failed; it reports why
			}
			left -= n
		}
		pw.Close()
	}()
	if err := s.Store.Put(context.Background(), uri, pr); err != nil {
		pr.CloseWithError(err)
		t.Fatalf("Put: %v", err)
	}

	rc, err := s.Store.Get(context.Background(), uri)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	got := sha256.New()
	n, err := io.Copy(got, rc)
	if err != nil {
		t.Fatalf("Get: read: %v", err)
	}
	if n != largeSize {
		t.Fatalf("Get returned %d bytes, want %d", n, largeSize)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Errorf("Get returned different bytes: sha256 %x, want %x", got.Sum(nil), want.Sum(nil))
	}
	obj, err := s.Store.Stat(context.Background(), uri)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if obj.Size != largeSize {
		t.Errorf("Stat size = %d, want %d", obj.Size, largeSize)
	}
}

func (s suite) overwrite(t *testing.T) {
	s.skipIfReadOnly(t, "Put over an object")
	uri := s.uri("overwrite/object")
	first := []byte("the first version, which is longer than the second")
	second := []byte("second")
	for _, data := range [][]byte{first, second} {
		if err := s.Store.Put(context.Background(), uri, bytes.NewReader(data)); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	if got := s.read(t, uri); !bytes.Equal(got, second) {
		t.Errorf("Get after overwrite returned %q, want %q", got, second)
	}
	obj, err := s.Store.Stat(context.Background(), uri)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if obj.Size != int64(len(second)) {
		t.Errorf("Stat size after overwrite = %d, want %d", obj.Size, len(second))
	}
}

func (s suite) stat(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	s.write(t, "stat/object", data)
	uri := s.uri("stat/object")
	obj, err := s.Store.Stat(context.Background(), uri)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if obj.Size != int64(len(data)) {
		t.Errorf("Stat size = %d, want %d", obj.Size, len(data))
	}
	if obj.URI != uri {
		t.Errorf("Stat URI = %q, want %q", obj.URI, uri)
	}
	if obj.ModTime.IsZero() {
		t.Errorf("Stat ModTime is zero")
	}
}

func (s suite) missing(t *testing.T) {
	uri := s.uri("missing/no-such-object")
	ctx := context.Background()
	_, getErr := s.Store.Get(ctx, uri)
	_, statErr := s.Store.Stat(ctx, uri)
	for op, err := range map[string]error{"Get": getErr, "Stat": statErr} {
		if !errors.Is(err, objstore.ErrNotFound) {
			t.Errorf("%s of a missing object: got %v, want an error wrapping ErrNotFound", op, err)
			continue
		}
		if !strings.Contains(err.Error(), uri) {
			t.Errorf("%s of a missing object: %q does not name %s", op, err, uri)
		}
	}
}

func (s suite) list(t *testing.T) {
	s.skipIfReadOnly(t, "List")
	files := map[string]string{
		"list/a/b/1":     "one",
		"list/a/b/sub/2": "two!",
		"list/a/b.txt":   "sibling with a shared string prefix",
		"list/a/bc":      "sibling sharing the prefix without the slash",
		"list/other/x":   "elsewhere",
	}
	for key, data := range files {
		s.write(t, key, []byte(data))
	}
	tests := []struct {
		prefix string
		want   []string // keys, in order
	}{
		{"list/a/b/", []string{"list/a/b/1", "list/a/b/sub/2"}},
		// Without the slash the prefix is a string prefix, as in S3.
		{"list/a/b", []string{"list/a/b.txt", "list/a/b/1", "list/a/b/sub/2", "list/a/bc"}},
		{"list/a/b/sub/", []string{"list/a/b/sub/2"}},
		{"list/nothing/", nil},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.prefix, "/", "_"), func(t *testing.T) {
			got, err := s.Store.List(context.Background(), s.uri(tc.prefix))
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			var want []objstore.Object
			for _, k := range tc.want {
				want = append(want, objstore.Object{URI: s.uri(k), Size: int64(len(files[k]))})
			}
			if len(got) != len(want) {
				t.Fatalf("List(%s) = %v, want %v", s.uri(tc.prefix), uris(got), uris(want))
			}
			for i := range want {
				if got[i].URI != want[i].URI || got[i].Size != want[i].Size {
					t.Errorf("List[%d] = %s (%d bytes), want %s (%d bytes)", i, got[i].URI, got[i].Size, want[i].URI, want[i].Size)
				}
				if got[i].ModTime.IsZero() {
					t.Errorf("List[%d] %s has a zero ModTime", i, got[i].URI)
				}
			}
		})
	}
}

func uris(objs []objstore.Object) []string {
	var s []string
	for _, o := range objs {
		s = append(s, o.URI)
	}
	return s
}

func (s suite) unicode(t *testing.T) {
	key := "unicode/with space/ünïcödé 日本語 +&=.txt"
	data := []byte("a key with spaces and unicode")
	s.write(t, key, data)
	uri := s.uri(key)
	if got := s.read(t, uri); !bytes.Equal(got, data) {
		t.Errorf("Get returned %q, want %q", got, data)
	}
	obj, err := s.Store.Stat(context.Background(), uri)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if obj.Size != int64(len(data)) {
		t.Errorf("Stat size = %d, want %d", obj.Size, len(data))
	}
	if s.ReadOnly {
		return // no List
	}
	objs, err := s.Store.List(context.Background(), s.uri("unicode/"))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(objs) != 1 || objs[0].URI != uri {
		t.Errorf("List = %v, want [%s]", uris(objs), uri)
	}
}

// readOnlyRefuses checks that a read-only target says so, rather than
// failing in some other way.
func (s suite) readOnlyRefuses(t *testing.T) {
	if !s.ReadOnly {
		t.Skip("the target is writable")
	}
	ctx := context.Background()
	putErr := s.Store.Put(ctx, s.uri("refused/object"), strings.NewReader("x"))
	_, listErr := s.Store.List(ctx, s.uri("refused/"))
	for op, err := range map[string]error{"Put": putErr, "List": listErr} {
		if !errors.Is(err, objstore.ErrUnsupported) {
			t.Errorf("%s on a read-only target: got %v, want an error wrapping ErrUnsupported", op, err)
		} else if !strings.Contains(err.Error(), "read-only") {
			t.Errorf("%s on a read-only target: %q does not say it is read-only", op, err)
		}
	}
}
