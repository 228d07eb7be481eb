package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthcluster/hearth/objstore"
)

func TestFilePutModes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new", "deeper", "obj")
	if err := objstore.New(objstore.S3Config{}).Put(context.Background(), "file://"+path, strings.NewReader("x")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("object mode = %v, want 0644", fi.Mode().Perm())
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if !di.IsDir() || di.Mode().Perm()&0o700 != 0o700 {
		t.Errorf("parent = %v, want a directory its owner can use", di.Mode())
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "obj" {
		t.Errorf("directory holds %v, want only obj (no temporary file left)", entries)
	}
}

// TestFilePutIsAtomic: while a Put is under way the object is not there,
// not even in a List; after it, the object is whole.
func TestFilePutIsAtomic(t *testing.T) {
	dir := t.TempDir()
	store := objstore.New(objstore.S3Config{})
	ctx := context.Background()
	uri := dir + "/obj"
	pr, pw := io.Pipe()
	done := make(chan error)
	go func() { done <- store.Put(ctx, uri, pr) }()
	if _, err := pw.Write([]byte("half")); err != nil {
		t.Fatal(err)
	}
	// The write returned, so Put holds "half" in its temporary file.
	if _, err := store.Stat(ctx, uri); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("Stat during Put: got %v, want ErrNotFound", err)
	}
	if objs, err := store.List(ctx, dir+"/"); err != nil || len(objs) != 0 {
		t.Errorf("List during Put = %v, %v; want nothing", objs, err)
	}
	pw.Write([]byte(" and the rest"))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("Put: %v", err)
	}
	b, err := os.ReadFile(dir + "/obj")
	if err != nil || string(b) != "half and the rest" {
		t.Errorf("object = %q, %v; want %q", b, err, "half and the rest")
	}
}

func TestFilePutReaderError(t *testing.T) {
	dir := t.TempDir()
	uri := "file://" + dir + "/obj"
	boom := errors.New("disk on fire")
	err := objstore.New(objstore.S3Config{}).Put(context.Background(), uri, io.MultiReader(strings.NewReader("partial"), errReader{boom}))
	if !errors.Is(err, boom) {
		t.Fatalf("Put: got %v, want an error wrapping %v", err, boom)
	}
	if want := "put " + uri + ": read the data to store: disk on fire"; err.Error() != want {
		t.Errorf("Put: got %q, want %q", err, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("directory holds %v after a failed Put, want nothing", entries)
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/afile", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := objstore.New(objstore.S3Config{})
	ctx := context.Background()
	tests := []struct {
		name string
		do   func() error
		kind error
		msg  string
	}{
		{"get missing", func() error { _, err := store.Get(ctx, dir+"/nope"); return err },
			objstore.ErrNotFound, "get " + dir + "/nope: no such file"},
		{"stat missing file URI", func() error { _, err := store.Stat(ctx, "file://"+dir+"/nope"); return err },
			objstore.ErrNotFound, "stat file://" + dir + "/nope: no such file"},
		{"get directory", func() error { _, err := store.Get(ctx, dir); return err },
			objstore.ErrNotFound, "get " + dir + ": is a directory, not a file; List lists what is under it"},
		{"stat under a file", func() error { _, err := store.Stat(ctx, dir+"/afile/x"); return err },
			objstore.ErrNotFound, "stat " + dir + "/afile/x: a parent of the path is a file, not a directory"},
		{"put under a file", func() error { return store.Put(ctx, dir+"/afile/x", strings.NewReader("x")) },
			nil, "put " + dir + "/afile/x: a parent of the path is a file, not a directory"},
		{"put a directory path", func() error { return store.Put(ctx, dir+"/sub/", strings.NewReader("x")) },
			objstore.ErrInvalidURI, "put " + dir + "/sub/: the path ends with \"/\", it names a directory, not a file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if err == nil {
				t.Fatal("succeeded, want an error")
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

func TestFilePermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file: permission checks cannot be tested as root")
	}
	dir := t.TempDir()
	path := dir + "/secret"
	if err := os.WriteFile(path, []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	_, err := objstore.New(objstore.S3Config{}).Get(context.Background(), path)
	if !errors.Is(err, objstore.ErrDenied) || !errors.Is(err, os.ErrPermission) {
		t.Errorf("Get of an unreadable file: got %v, want ErrDenied and os.ErrPermission", err)
	}
}

func TestFileListSymlinkedRoot(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/real/sub", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/real/sub/x", []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir+"/real", dir+"/link"); err != nil {
		t.Fatal(err)
	}
	objs, err := objstore.New(objstore.S3Config{}).List(context.Background(), "file://"+dir+"/link/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(objs) != 1 || objs[0].URI != "file://"+dir+"/link/sub/x" || objs[0].Size != 3 {
		t.Errorf("List = %+v, want [file://%s/link/sub/x, 3 bytes]", objs, dir)
	}
}

func TestDownloadUpload(t *testing.T) {
	dir := t.TempDir()
	store := objstore.New(objstore.S3Config{})
	ctx := context.Background()
	data := bytes.Repeat([]byte("data "), 1000)
	src := dir + "/src.txt"
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}

	uri := "file://" + dir + "/store/obj"
	if err := objstore.Upload(ctx, store, src, uri); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	dst := dir + "/out/nested/copy.txt"
	if err := objstore.Download(ctx, store, uri, dst); err != nil {
		t.Fatalf("Download: %v", err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("downloaded %d bytes, %v; want the %d uploaded", len(got), err, len(data))
	}
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("downloaded file: %v, %v; want mode 0644", fi.Mode(), err)
	}

	t.Run("missing object", func(t *testing.T) {
		dst := dir + "/never/here"
		err := objstore.Download(ctx, store, dir+"/nope", dst)
		if !errors.Is(err, objstore.ErrNotFound) {
			t.Errorf("Download: got %v, want ErrNotFound", err)
		}
		if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Download of a missing object created %s", dst)
		}
	})
	t.Run("missing source", func(t *testing.T) {
		err := objstore.Upload(ctx, store, dir+"/nope", uri)
		if !errors.Is(err, objstore.ErrNotFound) || err.Error() != "upload "+dir+"/nope: no such file" {
			t.Errorf("Upload: got %v, want %q wrapping ErrNotFound", err, "upload "+dir+"/nope: no such file")
		}
	})
	t.Run("directory source", func(t *testing.T) {
		err := objstore.Upload(ctx, store, dir, uri)
		if want := "upload " + dir + ": is a directory; upload its files one by one"; err == nil || err.Error() != want {
			t.Errorf("Upload: got %v, want %q", err, want)
		}
	})
}
