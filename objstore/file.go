package objstore

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// fileStore keeps objects as local files.
type fileStore struct{}

var _ backend = fileStore{}

// tmpMarker is in the name of every temporary file Put writes, so List can
// leave out an object that is still being written.
const tmpMarker = ".hearth-tmp-"

func (fileStore) get(ctx context.Context, uri string, u URI) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Op: "get", URI: uri, Msg: err.Error(), Err: err}
	}
	f, err := os.Open(u.Path)
	if err != nil {
		return nil, fileError("get", uri, err)
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		f.Close()
		return nil, isDirError("get", uri)
	}
	if err != nil {
		f.Close()
		return nil, fileError("get", uri, err)
	}
	return f, nil
}

func (fileStore) put(ctx context.Context, uri string, u URI, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return &Error{Op: "put", URI: uri, Msg: err.Error(), Err: err}
	}
	if err := writeFileAtomic(u.Path, r); err != nil {
		return fileError("put", uri, err)
	}
	return nil
}

func (fileStore) stat(ctx context.Context, uri string, u URI) (Object, error) {
	if err := ctx.Err(); err != nil {
		return Object{}, &Error{Op: "stat", URI: uri, Msg: err.Error(), Err: err}
	}
	fi, err := os.Stat(u.Path)
	if err != nil {
		return Object{}, fileError("stat", uri, err)
	}
	if fi.IsDir() {
		return Object{}, isDirError("stat", uri)
	}
	return Object{URI: uri, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// list walks the deepest directory the prefix names and keeps the files
// whose path starts with the prefix, as S3 matches keys: "/d/a/b" matches
// /d/a/b.txt, /d/a/b/c and /d/a/bc/d; "/d/a/b/" only /d/a/b/c. Symbolic
// links to files are listed; links to directories are not followed.
func (fileStore) list(ctx context.Context, prefix string, u URI) ([]Object, error) {
	p := u.Path
	root := p
	if !strings.HasSuffix(p, "/") {
		root = filepath.Dir(p)
	}
	// WalkDir does not enter a root that is a symbolic link (/data -> /mnt/x):
	// walk its target and name what it finds under root.
	walkRoot := root
	if r, err := filepath.EvalSymlinks(root); err == nil {
		walkRoot = r
	}
	var objs []Object
	err := filepath.WalkDir(walkRoot, func(wpath string, d fs.DirEntry, err error) error {
		path := wpath
		if walkRoot != root {
			rel, rerr := filepath.Rel(walkRoot, wpath)
			if rerr != nil {
				return rerr
			}
			path = filepath.Join(root, rel)
		}
		if err != nil {
			if wpath == walkRoot && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
				return fs.SkipAll // nothing under the prefix
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			// Descend only where a match can be: into /d/a/b for prefix
			// /d/a/b/c, and into /d/a/bc for prefix /d/a/b.
			dir := strings.TrimSuffix(path, "/") + "/"
			if wpath != walkRoot && !strings.HasPrefix(dir, p) && !strings.HasPrefix(p, dir) {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(path, p) || isTemp(d.Name()) {
			return nil
		}
		fi, err := os.Stat(wpath) // follows a symbolic link to a file
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked, or a dangling link
			}
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		name := path
		if u.Raw != "" {
			name = u.Raw + "://" + path
		}
		objs = append(objs, Object{URI: name, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fileError("list", prefix, err)
	}
	// WalkDir's order is not byte order ("a/b" comes before "a.b").
	sort.Slice(objs, func(i, j int) bool { return objs[i].URI < objs[j].URI })
	return objs, nil
}

func isTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tmpMarker)
}

// writeFileAtomic writes r to path through a temporary file in path's
// directory, so that path holds the old content or the new, never part of
// it. It creates the parent directories.
func writeFileAtomic(path string, r io.Reader) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+tmpMarker+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := io.Copy(f, r); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil { // CreateTemp makes 0600
		return err
	}
	// Sync before the rename, or a crash could leave the new name holding
	// an empty file.
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// fileError turns an OS error into an *Error with its kind.
func fileError(op, uri string, err error) error {
	e := &Error{Op: op, URI: uri, Err: err, Msg: err.Error()}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		e.Kind, e.Msg = ErrNotFound, "no such file"
	case errors.Is(err, syscall.ENOTDIR):
		e.Msg = "a parent of the path is a file, not a directory"
		if op != "put" && op != "download" {
			e.Kind = ErrNotFound
		}
	case errors.Is(err, fs.ErrPermission):
		e.Kind, e.Msg = ErrDenied, "permission denied: check the owner and mode of the file and its directories"
	}
	return e
}

func isDirError(op, uri string) error {
	return &Error{Op: op, URI: uri, Kind: ErrNotFound, Msg: "is a directory, not a file; List lists what is under it"}
}
