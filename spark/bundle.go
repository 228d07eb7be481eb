package spark

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Bundles carry a Spark runtime from the control plane to hosts that have
// none. PackBundle packs a Distribution into one uncompressed tar (jars are
// compressed already), cached beside its SHA-256 so serving it again costs
// a directory walk. InstallBundle verifies a downloaded bundle while
// unpacking it into a temporary directory and renames that into place, so
// a host holds either a whole, verified runtime or nothing.
//
// A bundle holds, in this order:
//
//	hearth-runtime.json   the manifest (bundleManifest)
//	spark/...             an Apache distribution's SPARK_HOME, or
//	python/pyspark/...    a pip-installed pyspark (its SPARK_HOME) and
//	python/py4j/...       the py4j package beside it
//	s3a/<jar>             the S3A connector's jars

// Bundle is a Spark runtime packed for other hosts: one uncompressed tar
// (jars are already compressed).
type Bundle struct {
	Path    string // absolute path of the tar
	SHA256  string // hex
	Size    int64
	Version string
}

// bundleManifest is a bundle's first entry. Paths are slash-separated and
// relative to the install directory.
type bundleManifest struct {
	Version    string
	SparkHome  string
	PythonPath string // "" for an Apache distribution
	S3AJars    []string
}

const (
	manifestName   = "hearth-runtime.json"
	maxManifest    = int64(1 << 20)
	sourceBundle   = "bundle"
	bundleTempMark = ".tmp-" // temp files are dir/.<name>.tmp-*
)

// packItem is one tar entry and where its content comes from.
type packItem struct {
	name  string // slash-separated tar name
	src   string // file read for a regular entry
	typ   byte   // tar.TypeDir, TypeReg or TypeSymlink
	mode  fs.FileMode
	size  int64
	mtime time.Time
	link  string
}

// PackBundle writes d as a bundle into dir (created if missing) and returns
// it. It reuses an existing bundle for the same distribution, recognised by
// a file name holding the version and a hash of the file listing (paths,
// sizes, modes, mtimes) of everything packed, so a second call only walks
// the tree; a changed distribution gets a new bundle (old ones stay). The
// tar is written to a temporary file and renamed into place, under a lock
// file, so concurrent callers (goroutines or processes) are safe; its
// SHA-256 is kept in <name>.sha256 so it is never recomputed.
func PackBundle(d Distribution, dir string) (Bundle, error) {
	if err := checkVersion(d.Version); err != nil {
		return Bundle{}, err
	}
	if v, err := VersionOf(d.Home); err != nil {
		return Bundle{}, fmt.Errorf("pack Spark runtime: %w", err)
	} else if v != d.Version {
		return Bundle{}, fmt.Errorf("pack Spark runtime: %s holds Spark %s, not %s", d.Home, v, d.Version)
	}
	m, items, err := bundleItems(d)
	if err != nil {
		return Bundle{}, fmt.Errorf("pack Spark %s from %s: %w", d.Version, d.Home, err)
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Bundle{}, err
	}
	key := sha256.New()
	key.Write(manifest)
	for _, it := range items {
		fmt.Fprintf(key, "%s\x00%c\x00%o\x00%d\x00%d\x00%s\x00", it.name, it.typ, it.mode, it.size, it.mtime.UnixNano(), it.link)
	}
	name := "spark-" + d.Version + "-" + hex.EncodeToString(key.Sum(nil))[:16] + ".tar"
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return Bundle{}, fmt.Errorf("pack Spark %s: %w", d.Version, err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return Bundle{}, err
	}
	final := filepath.Join(dir, name)
	if b, ok := packedBundle(final, d.Version); ok {
		return b, nil
	}
	unlock, err := lockFile(final + ".lock")
	if err != nil {
		return Bundle{}, fmt.Errorf("pack Spark %s: %w", d.Version, err)
	}
	defer unlock()
	if b, ok := packedBundle(final, d.Version); ok {
		return b, nil // packed by another caller while we waited
	}
	removeTemps(dir, name)
	sum, size, err := writeBundle(dir, name, manifest, items)
	if err != nil {
		return Bundle{}, fmt.Errorf("pack Spark %s from %s: %w", d.Version, d.Home, err)
	}
	return Bundle{Path: final, SHA256: sum, Size: size, Version: d.Version}, nil
}

// packedBundle returns the bundle at path if both it and its .sha256 exist.
// The .sha256 is renamed into place first, so with the tar it is complete.
func packedBundle(path, version string) (Bundle, bool) {
	b, err := os.ReadFile(path + ".sha256")
	if err != nil || !isSHA256(strings.TrimSpace(string(b))) {
		return Bundle{}, false
	}
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return Bundle{}, false
	}
	return Bundle{Path: path, SHA256: strings.TrimSpace(string(b)), Size: fi.Size(), Version: version}, true
}

// bundleItems lists what a bundle of d holds, in tar order, and its
// manifest.
func bundleItems(d Distribution) (bundleManifest, []packItem, error) {
	m := bundleManifest{Version: d.Version, SparkHome: "spark"}
	roots := [][2]string{{d.Home, "spark"}}
	py4j := filepath.Join(filepath.Dir(d.Home), "py4j")
	if fi, err := os.Stat(py4j); err == nil && fi.IsDir() && filepath.Base(d.Home) == "pyspark" {
		m.SparkHome, m.PythonPath = "python/pyspark", "python"
		roots = [][2]string{{d.Home, "python/pyspark"}, {py4j, "python/py4j"}}
	}
	var items []packItem
	if m.PythonPath != "" {
		items = append(items, packItem{name: m.PythonPath, typ: tar.TypeDir, mode: dirPerm, mtime: time.Unix(0, 0)})
	}
	for _, r := range roots {
		real, err := filepath.EvalSymlinks(r[0])
		if err != nil {
			return m, nil, err
		}
		fi, err := os.Stat(real)
		if err != nil {
			return m, nil, err
		}
		items = append(items, packItem{name: r[1], typ: tar.TypeDir, mode: fi.Mode().Perm(), mtime: fi.ModTime()})
		if items, err = walkTree(items, r[0], r[1], real, "", []string{real}); err != nil {
			return m, nil, err
		}
	}
	if len(d.S3AJars) > 0 {
		items = append(items, packItem{name: "s3a", typ: tar.TypeDir, mode: dirPerm, mtime: time.Unix(0, 0)})
	}
	seen := map[string]bool{}
	for _, j := range d.S3AJars {
		base := filepath.Base(j)
		if seen[base] {
			return m, nil, fmt.Errorf("two S3A jars named %s", base)
		}
		seen[base] = true
		fi, err := os.Stat(j)
		if err != nil {
			return m, nil, fmt.Errorf("S3A jar: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return m, nil, fmt.Errorf("S3A jar %s is not a regular file", j)
		}
		items = append(items, regItem("s3a/"+base, j, fi))
		m.S3AJars = append(m.S3AJars, "s3a/"+base)
	}
	return m, items, nil
}

func regItem(name, src string, fi fs.FileInfo) packItem {
	return packItem{name: name, src: src, typ: tar.TypeReg, mode: fi.Mode().Perm(), size: fi.Size(), mtime: fi.ModTime()}
}

// walkTree appends the contents of directory dir, packed as name, in sorted
// order, skipping __pycache__. root is the real path of the tree being
// packed and rel dir's path inside it ("" at the top; "-" once below a
// followed symlink). A symlink stays a symlink if it is relative and points
// inside root, lexically and physically; otherwise what it points to is
// packed in its place (a dangling one is dropped). phys holds the real
// paths of the directories being walked, so a link loop is an error.
func walkTree(items []packItem, dir, name, root, rel string, phys []string) ([]packItem, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Name() == "__pycache__" {
			continue
		}
		p, n, r := filepath.Join(dir, e.Name()), name+"/"+e.Name(), "-"
		if rel != "-" {
			r = filepath.Join(rel, e.Name())
		}
		here := filepath.Join(phys[len(phys)-1], e.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return nil, err
			}
			real, rerr := filepath.EvalSymlinks(p)
			if rerr != nil {
				continue // dangling: nothing to pack
			}
			if r != "-" && !filepath.IsAbs(target) && filepath.IsLocal(filepath.Join(filepath.Dir(r), target)) && within(root, real) {
				items = append(items, packItem{name: n, typ: tar.TypeSymlink, mode: 0o777, mtime: fi.ModTime(), link: filepath.ToSlash(target)})
				continue
			}
			if fi, err = os.Stat(real); err != nil {
				return nil, err
			}
			p, here, r = real, real, "-"
			for _, a := range phys {
				if fi.IsDir() && within(real, a) {
					return nil, fmt.Errorf("%s: symlink loop", filepath.Join(dir, e.Name()))
				}
			}
		}
		switch {
		case fi.IsDir():
			items = append(items, packItem{name: n, typ: tar.TypeDir, mode: fi.Mode().Perm(), mtime: fi.ModTime()})
			if items, err = walkTree(items, p, n, root, r, append(phys, here)); err != nil {
				return nil, err
			}
		case fi.Mode().IsRegular():
			items = append(items, regItem(n, p, fi))
		}
		// Sockets, fifos and devices have no place in a Spark runtime.
	}
	return items, nil
}

// within reports whether p is dir or below it (both clean, absolute).
func within(dir, p string) bool {
	r, err := filepath.Rel(dir, p)
	return err == nil && filepath.IsLocal(r)
}

// writeBundle writes the tar dir/name and its .sha256 through temporary
// files and returns its SHA-256 and size.
func writeBundle(dir, name string, manifest []byte, items []packItem) (sum string, size int64, err error) {
	f, err := os.CreateTemp(dir, "."+name+bundleTempMark+"*")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	tw := tar.NewWriter(bw)
	hdr := &tar.Header{Name: manifestName, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(manifest)), ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		return "", 0, err
	}
	if _, err := tw.Write(manifest); err != nil {
		return "", 0, err
	}
	for _, it := range items {
		if err := packEntry(tw, it); err != nil {
			return "", 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return "", 0, err
	}
	if err := bw.Flush(); err != nil {
		return "", 0, err
	}
	if size, err = f.Seek(0, io.SeekCurrent); err != nil {
		return "", 0, err
	}
	if err := f.Chmod(0o644); err != nil {
		return "", 0, err
	}
	if err := f.Sync(); err != nil {
		return "", 0, err
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if err := writeFileAtomic(dir, name, name+".sha256", []byte(sum+"\n")); err != nil {
		return "", 0, err
	}
	return sum, size, os.Rename(f.Name(), filepath.Join(dir, name))
}

// packEntry writes one item, failing if a file changed while being packed.
func packEntry(tw *tar.Writer, it packItem) error {
	hdr := &tar.Header{Name: it.name, Typeflag: it.typ, Mode: int64(it.mode), ModTime: it.mtime.Truncate(time.Second), Linkname: it.link}
	if it.typ == tar.TypeDir {
		hdr.Name += "/"
	}
	if it.typ != tar.TypeReg {
		return tw.WriteHeader(hdr)
	}
	hdr.Size = it.size
	src, err := os.Open(it.src)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, src, it.size); err != nil {
		return fmt.Errorf("%s: %w", it.src, err)
	}
	if fi, err := src.Stat(); err != nil || fi.Size() != it.size || !fi.ModTime().Equal(it.mtime) {
		return fmt.Errorf("%s changed while being packed; retry", it.src)
	}
	return nil
}

// writeFileAtomic writes dir/name through a temporary file named after
// owner (see removeTemps).
func writeFileAtomic(dir, owner, name string, data []byte) error {
	f, err := os.CreateTemp(dir, "."+owner+bundleTempMark+"*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err = errors.Join(err, f.Chmod(0o644), f.Close()); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, name))
}

// removeTemps removes what crashed writers of dir/name left behind. The
// caller holds name's lock, so no live writer owns them.
func removeTemps(dir, name string) {
	temps, _ := filepath.Glob(filepath.Join(dir, "."+name+bundleTempMark+"*"))
	for _, t := range temps {
		os.RemoveAll(t)
	}
}

// lockFile takes an exclusive flock on path, creating it; unlock releases
// it. The lock excludes other processes and, being tied to the open file,
// other goroutines too.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

func isSHA256(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s) == 2*sha256.Size
}

// InstalledBundle returns the runtime of the bundle with SHA-256 sha if it
// is installed under dir (as dir/<sha[:16]>/).
func InstalledBundle(dir, sha string) (Distribution, bool) {
	if sha = strings.ToLower(sha); !isSHA256(sha) {
		return Distribution{}, false
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Distribution{}, false
	}
	d, err := bundleDist(filepath.Join(dir, sha[:16]))
	return d, err == nil
}

// bundleDist reads the manifest of the runtime unpacked at root and checks
// that what it names is there.
func bundleDist(root string) (Distribution, error) {
	b, err := os.ReadFile(filepath.Join(root, manifestName))
	if err != nil {
		return Distribution{}, err
	}
	var m bundleManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Distribution{}, fmt.Errorf("%s: %w", manifestName, err)
	}
	if err := checkVersion(m.Version); err != nil {
		return Distribution{}, fmt.Errorf("%s: %w", manifestName, err)
	}
	local := func(p string) (string, error) {
		if !filepath.IsLocal(filepath.FromSlash(p)) {
			return "", fmt.Errorf("%s: path %q is not inside the bundle", manifestName, p)
		}
		return filepath.Join(root, filepath.FromSlash(p)), nil
	}
	d := Distribution{Version: m.Version, Source: sourceBundle}
	if d.Home, err = local(m.SparkHome); err != nil {
		return Distribution{}, err
	}
	if v, err := VersionOf(d.Home); err != nil {
		return Distribution{}, err
	} else if v != m.Version {
		return Distribution{}, fmt.Errorf("%s says Spark %s, but %s holds Spark %s", manifestName, m.Version, m.SparkHome, v)
	}
	if m.PythonPath != "" {
		if d.PythonPath, err = local(m.PythonPath); err != nil {
			return Distribution{}, err
		}
	}
	for _, j := range m.S3AJars {
		p, err := local(j)
		if err != nil {
			return Distribution{}, err
		}
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return Distribution{}, fmt.Errorf("S3A jar %s is missing", j)
		}
		d.S3AJars = append(d.S3AJars, p)
	}
	return d, nil
}

// InstallBundle reads a bundle from r, verifies that it is wantSize bytes
// with SHA-256 wantSHA256, and installs it as dir/<wantSHA256[:16]>/: it
// unpacks into a temporary directory beside that, checks the download and
// the runtime, and renames the directory into place, so a failed or corrupt
// download leaves nothing behind. If the bundle is installed already it is
// returned without reading r. Concurrent installs of one bundle (goroutines
// or processes) take turns on dir/<sha16>.lock; later ones find it
// installed. Entries escaping the directory, and more than maxExtracted
// bytes, are refused.
func InstallBundle(r io.Reader, dir, wantSHA256 string, wantSize int64) (Distribution, error) {
	if wantSHA256 = strings.ToLower(wantSHA256); !isSHA256(wantSHA256) {
		return Distribution{}, fmt.Errorf("install Spark runtime bundle: %q is not a hex SHA-256", wantSHA256)
	}
	id := wantSHA256[:16]
	fail := func(err error) (Distribution, error) {
		return Distribution{}, fmt.Errorf("install Spark runtime bundle %s: %w", id, err)
	}
	if wantSize < 0 {
		return fail(fmt.Errorf("negative size %d", wantSize))
	}
	if d, ok := InstalledBundle(dir, wantSHA256); ok {
		return d, nil
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return fail(err)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fail(err)
	}
	final := filepath.Join(dir, id)
	unlock, err := lockFile(final + ".lock")
	if err != nil {
		return fail(err)
	}
	defer unlock()
	if d, ok := InstalledBundle(dir, wantSHA256); ok {
		return d, nil // installed by another caller while we waited
	}
	removeTemps(dir, id)
	tmp, err := os.MkdirTemp(dir, "."+id+bundleTempMark+"*")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp)

	h := sha256.New()
	cr := &countingHash{h: h}
	in := io.TeeReader(io.LimitReader(r, wantSize+1), cr)
	xerr := extractBundle(in, tmp)
	if _, err := io.Copy(io.Discard, in); err != nil {
		return fail(fmt.Errorf("read: %w", err))
	}
	switch got := hex.EncodeToString(h.Sum(nil)); {
	case cr.n < wantSize:
		return fail(fmt.Errorf("truncated: got %d of %d bytes", cr.n, wantSize))
	case cr.n > wantSize:
		return fail(fmt.Errorf("too long: more than the expected %d bytes", wantSize))
	case got != wantSHA256:
		return fail(fmt.Errorf("checksum mismatch: got %s, want %s", got, wantSHA256))
	case xerr != nil:
		return fail(xerr)
	}
	if _, err := bundleDist(tmp); err != nil {
		return fail(err)
	}
	if err := os.Chmod(tmp, dirPerm); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fail(fmt.Errorf("%w; if %s is a broken leftover, remove it and retry", err, final))
	}
	d, err := bundleDist(final)
	if err != nil {
		return fail(err)
	}
	return d, nil
}

// countingHash feeds a hash and counts the bytes.
type countingHash struct {
	h hash.Hash
	n int64
}

func (c *countingHash) Write(b []byte) (int, error) {
	c.n += int64(len(b))
	return c.h.Write(b)
}

// extractBundle unpacks a bundle tar into the empty directory dst, keeping
// file modes. The manifest must come first. Names must be local and not
// below a symlink, and every symlink must resolve inside dst once all is
// unpacked; anything but directories, files and symlinks is refused.
func extractBundle(r io.Reader, dst string) error {
	root, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer root.Close()
	var total int64
	var links []string
	tr := tar.NewReader(r)
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(filepath.FromSlash(hdr.Name))
		if i == 0 && (name != manifestName || hdr.Typeflag != tar.TypeReg || hdr.Size > maxManifest) {
			return fmt.Errorf("not a Spark runtime bundle: first entry is %q, not %s", hdr.Name, manifestName)
		}
		if !filepath.IsLocal(name) {
			return fmt.Errorf("entry %q: path escapes the bundle directory", hdr.Name)
		}
		if err := noSymlinkParents(root, name); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		mode := hdr.FileInfo().Mode().Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(name, mode|0o700)
		case tar.TypeReg:
			if total += hdr.Size; total > maxExtracted {
				return fmt.Errorf("bundle unpacks to more than %d bytes", maxExtracted)
			}
			if err = writeEntry(root, name, mode, tr, hdr.Size); err == nil {
				err = root.Chmod(name, mode) // undo the umask
			}
		case tar.TypeSymlink:
			if filepath.IsAbs(hdr.Linkname) || !filepath.IsLocal(filepath.Join(filepath.Dir(name), hdr.Linkname)) {
				return fmt.Errorf("entry %q: symlink to %q escapes the bundle directory", hdr.Name, hdr.Linkname)
			}
			if err = root.MkdirAll(filepath.Dir(name), dirPerm); err == nil {
				err = root.Symlink(hdr.Linkname, name)
			}
			links = append(links, name)
		default:
			return fmt.Errorf("entry %q: unexpected type %q", hdr.Name, hdr.Typeflag)
		}
		if err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	// Lexically local targets can still escape through other links
	// ("a/l" -> "../up/..", with "up" -> ".."): check the real ones.
	realDst, err := filepath.EvalSymlinks(dst)
	if err != nil {
		return err
	}
	for _, l := range links {
		real, err := filepath.EvalSymlinks(filepath.Join(dst, l))
		if err != nil || !within(realDst, real) {
			return fmt.Errorf("entry %q: symlink does not resolve inside the bundle directory", filepath.ToSlash(l))
		}
	}
	return nil
}
