package spark_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthcluster/hearth/spark"
)

// fsEntry is one file, directory (name ends in "/") or symlink of a test
// tree.
type fsEntry struct {
	name, body string
	mode       fs.FileMode // default 0o644
	link       string
}

func writeFS(t *testing.T, dir string, entries []fsEntry) {
	t.Helper()
	for _, e := range entries {
		p := filepath.Join(dir, filepath.FromSlash(e.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		var err error
		switch {
		case e.link != "":
			err = os.Symlink(e.link, p)
		case strings.HasSuffix(e.name, "/"):
			err = os.MkdirAll(p, 0o755)
		default:
			if err = os.WriteFile(p, []byte(e.body), mode); err == nil {
				err = os.Chmod(p, mode)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// snapshot describes every entry under root: type, mode, content or link
// target, by slash-separated relative path.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[filepath.ToSlash(rel)] = "link -> " + target
			return err
		case fi.IsDir():
			out[filepath.ToSlash(rel)] = fmt.Sprintf("dir %o", fi.Mode().Perm())
		default:
			b, err := os.ReadFile(p)
			out[filepath.ToSlash(rel)] = fmt.Sprintf("file %o %q", fi.Mode().Perm(), b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffSnapshots(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("missing %s (want %s)", k, w)
		} else if g != w {
			t.Errorf("%s: got %s, want %s", k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s: %s", k, g)
		}
	}
}

// fakeS3AJars writes two connector jars in unrelated directories.
func fakeS3AJars(t *testing.T, dir string) []string {
	writeFS(t, dir, []fsEntry{
		{name: "m2/org/apache/hadoop/hadoop-aws-3.4.1.jar", body: "PK hadoop-aws"},
		{name: "other/aws-sdk-bundle-2.29.jar", body: "PK sdk", mode: 0o600},
	})
	return []string{filepath.Join(dir, "m2/org/apache/hadoop/hadoop-aws-3.4.1.jar"), filepath.Join(dir, "other/aws-sdk-bundle-2.29.jar")}
}

// fakeApacheDist lays out an Apache Spark distribution with in-tree
// symlinks (kept), links out of the tree (packed as what they point to),
// a dangling link (dropped) and a __pycache__ (skipped). want is the tree
// an install of its bundle must hold.
func fakeApacheDist(t *testing.T) (d spark.Distribution, want map[string]string) {
	dir := t.TempDir()
	home := filepath.Join(dir, spark.PackageName(fakeVersion))
	writeFS(t, dir, []fsEntry{
		{name: "outside/notes.txt", body: "outside file"},
		{name: "outside/lib/extra.jar", body: "PK extra"},
	})
	writeFS(t, home, []fsEntry{
		{name: "bin/spark-class", body: "#!/bin/sh\necho spark-class\n", mode: 0o755},
		{name: "bin/spark-submit", body: "#!/bin/sh\necho spark-submit\n", mode: 0o755},
		{name: "jars/spark-core_2.13-" + fakeVersion + ".jar", body: "PK core"},
		{name: "jars/core.jar", link: "spark-core_2.13-" + fakeVersion + ".jar"},
		{name: "RELEASE", body: "Spark " + fakeVersion + " built for Hadoop 3.4.1\n"},
		{name: "conf/readonly.conf", body: "x=1\n", mode: 0o444},
		{name: "python/pyspark/__init__.py", body: "# pyspark\n"},
		{name: "python/pyspark/__pycache__/__init__.cpython-312.pyc", body: "junk"},
		{name: "python/jars", link: "../jars"},
		{name: "empty/"},
		{name: "bin/notes", link: filepath.Join(dir, "outside/notes.txt")},
		{name: "jars/ext", link: "../../outside/lib"},
		{name: "bin/dangling", link: "no-such-file"},
	})
	want = snapshot(t, home)
	delete(want, "python/pyspark/__pycache__")
	delete(want, "python/pyspark/__pycache__/__init__.cpython-312.pyc")
	delete(want, "bin/dangling")
	want["bin/notes"] = fmt.Sprintf("file 644 %q", "outside file")
	want["jars/ext"] = "dir 755"
	want["jars/ext/extra.jar"] = fmt.Sprintf("file 644 %q", "PK extra")
	return spark.Distribution{Home: home, Version: fakeVersion, Source: "spark-home", S3AJars: fakeS3AJars(t, dir)}, want
}

// fakePipDist lays out pip's site-packages: pyspark (SPARK_HOME), py4j
// beside it, and a package that is no business of the bundle.
func fakePipDist(t *testing.T) spark.Distribution {
	dir := t.TempDir()
	site := filepath.Join(dir, "lib/python3.12/site-packages")
	writeFS(t, site, []fsEntry{
		{name: "pyspark/__init__.py", body: "__version__ = '" + fakeVersion + "'\n"},
		{name: "pyspark/__pycache__/__init__.cpython-312.pyc", body: "junk"},
		{name: "pyspark/bin/spark-class", body: "#!/bin/sh\n", mode: 0o755},
		{name: "pyspark/jars/spark-core_2.13-" + fakeVersion + ".jar", body: "PK core"},
		{name: "py4j/__init__.py", body: "# py4j\n"},
		{name: "py4j/java_gateway.py", body: "# gateway\n"},
		{name: "py4j/__pycache__/java_gateway.cpython-312.pyc", body: "junk"},
		{name: "numpy/__init__.py", body: "# not Spark's\n"},
	})
	return spark.Distribution{Home: filepath.Join(site, "pyspark"), Version: fakeVersion, Source: "pyspark", S3AJars: fakeS3AJars(t, dir)}
}

func readManifest(t *testing.T, root string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "hearth-runtime.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// packAndInstall packs d and installs the bundle into a fresh directory.
func packAndInstall(t *testing.T, d spark.Distribution) (spark.Bundle, spark.Distribution, string) {
	t.Helper()
	b, err := spark.PackBundle(d, filepath.Join(t.TempDir(), "bundles"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inst := t.TempDir()
	got, err := spark.InstallBundle(f, inst, b.SHA256, b.Size)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(inst, b.SHA256[:16])
	if again, ok := spark.InstalledBundle(inst, b.SHA256); !ok || !reflect.DeepEqual(again, got) {
		t.Errorf("InstalledBundle = %+v, %v; want %+v", again, ok, got)
	}
	return b, got, root
}

func TestBundleApache(t *testing.T) {
	d, want := fakeApacheDist(t)
	b, got, root := packAndInstall(t, d)
	if b.Version != fakeVersion || !filepath.IsAbs(b.Path) || b.Size == 0 {
		t.Errorf("bundle = %+v", b)
	}
	wantDist := spark.Distribution{
		Home:    filepath.Join(root, "spark"),
		Version: fakeVersion,
		Source:  "bundle",
		S3AJars: []string{filepath.Join(root, "s3a/hadoop-aws-3.4.1.jar"), filepath.Join(root, "s3a/aws-sdk-bundle-2.29.jar")},
	}
	if !reflect.DeepEqual(got, wantDist) {
		t.Errorf("installed %+v\nwant      %+v", got, wantDist)
	}
	diffSnapshots(t, snapshot(t, got.Home), want)
	diffSnapshots(t, snapshot(t, filepath.Join(root, "s3a")), map[string]string{
		"hadoop-aws-3.4.1.jar":    fmt.Sprintf("file 644 %q", "PK hadoop-aws"),
		"aws-sdk-bundle-2.29.jar": fmt.Sprintf("file 600 %q", "PK sdk"),
	})
	m := readManifest(t, root)
	wantM := map[string]any{"Version": fakeVersion, "SparkHome": "spark", "PythonPath": "",
		"S3AJars": []any{"s3a/hadoop-aws-3.4.1.jar", "s3a/aws-sdk-bundle-2.29.jar"}}
	if !reflect.DeepEqual(m, wantM) {
		t.Errorf("manifest = %v, want %v", m, wantM)
	}
	for _, kv := range got.Env("127.0.0.1", spark.NodeDirs{}) {
		if strings.HasPrefix(kv, "PYTHONPATH=") {
			t.Errorf("Apache distribution sets %s", kv)
		}
	}
}

func TestBundlePip(t *testing.T) {
	d := fakePipDist(t)
	_, got, root := packAndInstall(t, d)
	py := filepath.Join(root, "python")
	if got.Home != filepath.Join(py, "pyspark") || got.PythonPath != py || got.Version != fakeVersion || got.Source != "bundle" || len(got.S3AJars) != 2 {
		t.Errorf("installed %+v", got)
	}
	diffSnapshots(t, snapshot(t, root), map[string]string{
		"hearth-runtime.json":            snapshot(t, root)["hearth-runtime.json"],
		"python":                         "dir 755",
		"python/pyspark":                 "dir 755",
		"python/pyspark/__init__.py":     fmt.Sprintf("file 644 %q", "__version__ = '"+fakeVersion+"'\n"),
		"python/pyspark/bin":             "dir 755",
		"python/pyspark/bin/spark-class": fmt.Sprintf("file 755 %q", "#!/bin/sh\n"),
		"python/pyspark/jars":            "dir 755",
		"python/pyspark/jars/spark-core_2.13-" + fakeVersion + ".jar": fmt.Sprintf("file 644 %q", "PK core"),
		"python/py4j":                 "dir 755",
		"python/py4j/__init__.py":     fmt.Sprintf("file 644 %q", "# py4j\n"),
		"python/py4j/java_gateway.py": fmt.Sprintf("file 644 %q", "# gateway\n"),
		"s3a":                         "dir 755",
		"s3a/hadoop-aws-3.4.1.jar":    fmt.Sprintf("file 644 %q", "PK hadoop-aws"),
		"s3a/aws-sdk-bundle-2.29.jar": fmt.Sprintf("file 600 %q", "PK sdk"),
	})
	m := readManifest(t, root)
	if m["SparkHome"] != "python/pyspark" || m["PythonPath"] != "python" || m["Version"] != fakeVersion {
		t.Errorf("manifest = %v", m)
	}
	if env := got.Env("127.0.0.1", spark.NodeDirs{}); !slices.Contains(env, "PYTHONPATH="+py) {
		t.Errorf("Env = %v, want PYTHONPATH=%s", env, py)
	}
}

func TestBundleReuse(t *testing.T) {
	d, _ := fakeApacheDist(t)
	dir := t.TempDir()
	b1, err := spark.PackBundle(d, dir)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(b1.Path, old, old); err != nil {
		t.Fatal(err)
	}
	b2, err := spark.PackBundle(d, dir)
	if err != nil {
		t.Fatal(err)
	}
	if b2 != b1 {
		t.Errorf("second pack = %+v, want %+v", b2, b1)
	}
	if fi, err := os.Stat(b1.Path); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("second pack rewrote the bundle (%v)", err)
	}
	data, _ := os.ReadFile(b1.Path)
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != b1.SHA256 || int64(len(data)) != b1.Size {
		t.Errorf("bundle file does not match SHA256/Size of %+v", b1)
	}

	// A changed distribution is a new bundle.
	if err := os.WriteFile(filepath.Join(d.Home, "jars", "new.jar"), []byte("PK new"), 0o644); err != nil {
		t.Fatal(err)
	}
	b3, err := spark.PackBundle(d, dir)
	if err != nil {
		t.Fatal(err)
	}
	if b3.SHA256 == b1.SHA256 || b3.Path == b1.Path {
		t.Errorf("pack after a change = %+v, same as %+v", b3, b1)
	}

	// Concurrent packs into a fresh directory make one bundle.
	dir = t.TempDir()
	var wg sync.WaitGroup
	sums := make([]string, 3)
	for i := range sums {
		wg.Go(func() {
			b, err := spark.PackBundle(d, dir)
			if err != nil {
				t.Error(err)
			}
			sums[i] = b.SHA256
		})
	}
	wg.Wait()
	if sums[0] != b3.SHA256 || sums[1] != b3.SHA256 || sums[2] != b3.SHA256 {
		t.Errorf("concurrent packs = %v, want %s", sums, b3.SHA256)
	}
	if tars, _ := filepath.Glob(filepath.Join(dir, "*.tar")); len(tars) != 1 {
		t.Errorf("bundles = %v, want one", tars)
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".*")); len(tmps) != 0 {
		t.Errorf("temp files left: %v", tmps)
	}
}

func TestBundlePackSymlinkLoop(t *testing.T) {
	d, _ := fakeApacheDist(t)
	outside := filepath.Join(filepath.Dir(d.Home), "outside", "lib")
	if err := os.Symlink(outside, filepath.Join(outside, "loop")); err != nil {
		t.Fatal(err)
	}
	if _, err := spark.PackBundle(d, t.TempDir()); err == nil || !strings.Contains(err.Error(), "symlink loop") {
		t.Errorf("PackBundle = %v, want a symlink loop error", err)
	}
}

// onlyLocks fails unless dir holds nothing but lock files.
func onlyLocks(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".lock") {
			t.Errorf("left behind in %s: %s", dir, e.Name())
		}
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestBundleInstallCorrupt(t *testing.T) {
	d, _ := fakeApacheDist(t)
	b, err := spark.PackBundle(d, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(data)
	flipped[len(flipped)/2] ^= 1
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"corrupt", flipped, fmt.Sprintf("checksum mismatch: got %s, want %s", sha256Hex(flipped), b.SHA256)},
		{"corrupt header", append([]byte{data[0] ^ 1}, data[1:]...), "checksum mismatch"},
		{"truncated", data[:len(data)-700], fmt.Sprintf("truncated: got %d of %d bytes", len(data)-700, len(data))},
		{"too long", append(bytes.Clone(data), 0), "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst := t.TempDir()
			_, err := spark.InstallBundle(bytes.NewReader(tc.data), inst, b.SHA256, b.Size)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("InstallBundle = %v, want %q", err, tc.want)
			}
			onlyLocks(t, inst)
			if _, ok := spark.InstalledBundle(inst, b.SHA256); ok {
				t.Error("InstalledBundle reports a failed install")
			}
		})
	}
}

// evilTar is a bundle whose manifest is fine and whose entries are not.
func evilTar(t *testing.T, first bool, entries ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	manifest := []byte(`{"Version":"` + fakeVersion + `","SparkHome":"spark"}`)
	if first {
		tw.WriteHeader(&tar.Header{Name: "hearth-runtime.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(manifest))})
		tw.Write(manifest)
	}
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg {
			h.Size = 4
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte("evil"))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBundleInstallRejects(t *testing.T) {
	reg := func(name string) tar.Header { return tar.Header{Name: name, Typeflag: tar.TypeReg} }
	link := func(name, target string) tar.Header {
		return tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}
	}
	for _, tc := range []struct {
		name    string
		tar     []byte
		want    string
		escapee string // a file the install must not have created, relative to the install dir
	}{
		{"dotdot", evilTar(t, true, reg("../evil")), "escapes", "../evil"},
		{"nested dotdot", evilTar(t, true, reg("spark/../../evil")), "escapes", "../evil"},
		{"absolute", evilTar(t, true, reg("/tmp/hearth-evil")), "escapes", ""},
		{"absolute link", evilTar(t, true, link("spark/etc", "/etc")), "escapes", ""},
		{"dotdot link", evilTar(t, true, link("spark/up", "../..")), "escapes", ""},
		{"link chain", evilTar(t, true, link("a/up", ".."), link("a/out", "up/../..")), "does not resolve inside", ""},
		{"write through link", evilTar(t, true, link("a", "."), reg("a/evil")), "symlink", ""},
		{"hard link", evilTar(t, true, tar.Header{Name: "spark/h", Typeflag: tar.TypeLink, Linkname: "hearth-runtime.json"}), "unexpected type", ""},
		{"no manifest", evilTar(t, false, reg("spark/x")), "not a Spark runtime bundle", ""},
		{"not spark", evilTar(t, true, reg("spark/x")), "not a Spark distribution", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst := filepath.Join(t.TempDir(), "inst")
			_, err := spark.InstallBundle(bytes.NewReader(tc.tar), inst, sha256Hex(tc.tar), int64(len(tc.tar)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("InstallBundle = %v, want %q", err, tc.want)
			}
			onlyLocks(t, inst)
			if tc.escapee != "" {
				if _, err := os.Lstat(filepath.Join(inst, tc.escapee)); err == nil {
					t.Errorf("%s was written", tc.escapee)
				}
			}
		})
	}
	if _, err := spark.InstallBundle(strings.NewReader(""), t.TempDir(), "abc", 0); err == nil {
		t.Error("InstallBundle accepted a malformed SHA-256")
	}
}

// failReader fails the test if read.
type failReader struct{ t *testing.T }

func (r failReader) Read([]byte) (int, error) {
	r.t.Error("installed bundle was downloaded again")
	return 0, io.ErrUnexpectedEOF
}

func TestBundleInstallConcurrent(t *testing.T) {
	d := fakePipDist(t)
	b, err := spark.PackBundle(d, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	inst := t.TempDir()
	got := make([]spark.Distribution, 4)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			var err error
			if got[i], err = spark.InstallBundle(bytes.NewReader(data), inst, b.SHA256, b.Size); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, g := range got[1:] {
		if !reflect.DeepEqual(g, got[0]) {
			t.Errorf("installs differ: %+v vs %+v", g, got[0])
		}
	}
	entries, _ := os.ReadDir(inst)
	if n := names(entries); !reflect.DeepEqual(n, []string{b.SHA256[:16], b.SHA256[:16] + ".lock"}) {
		t.Errorf("install dir holds %v, want one install and its lock", n)
	}
	again, err := spark.InstallBundle(failReader{t}, inst, strings.ToUpper(b.SHA256), b.Size)
	if err != nil || !reflect.DeepEqual(again, got[0]) {
		t.Errorf("InstallBundle of an installed bundle = %+v, %v", again, err)
	}
}
