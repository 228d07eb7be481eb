package spark_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hearthcluster/hearth/spark"
)

// fakeVersion is a Spark version no real distribution has, so nothing on
// this host (pip's pyspark included) can satisfy it by accident.
const fakeVersion = "9.9.9"

// entry is one member of a test tarball.
type entry struct {
	name     string
	body     string
	typeflag byte // default tar.TypeReg
	linkname string
	mode     int64 // default 0o644 (0o755 under bin/)
}

// fakeDistEntries is a minimal Spark binary distribution of version v, as
// the Apache archive lays it out.
func fakeDistEntries(v string) []entry {
	top := spark.PackageName(v) + "/"
	return []entry{
		{name: top, typeflag: tar.TypeDir},
		{name: top + "bin/", typeflag: tar.TypeDir},
		{name: top + "bin/spark-class", body: "#!/bin/sh\necho spark-class \"$@\"\n"},
		{name: top + "bin/spark-submit", body: "#!/bin/sh\necho spark-submit \"$@\"\n"},
		{name: top + "jars/", typeflag: tar.TypeDir},
		{name: top + "jars/spark-core_2.13-" + v + ".jar", body: "PK fake jar"},
		{name: top + "RELEASE", body: "Spark " + v + " built for Hadoop 3.4.1\nBuild flags: -Phadoop-3\n"},
	}
}

func makeTarGz(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typeflag, Linkname: e.linkname, Mode: e.mode}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir || strings.Contains(e.name, "/bin/") {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha512Hex(b []byte) string {
	s := sha512.Sum512(b)
	return hex.EncodeToString(s[:])
}

// sha512sumFile is the `sha512sum` format newer Spark releases publish.
func sha512sumFile(archive []byte, file string) []byte {
	return []byte(sha512Hex(archive) + "  " + file + "\n")
}

// gpgFile is the `gpg --print-md SHA512` format older Spark releases
// publish: upper-case groups of 8 hex digits, wrapped and indented.
func gpgFile(archive []byte, file string) []byte {
	sum := strings.ToUpper(sha512Hex(archive))
	var groups []string
	for i := 0; i < len(sum); i += 8 {
		groups = append(groups, sum[i:i+8])
	}
	prefix := file + ": "
	var b strings.Builder
	b.WriteString(prefix)
	for i, g := range groups {
		if i > 0 && i%6 == 0 {
			b.WriteString("\n" + strings.Repeat(" ", len(prefix)))
		} else if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(g)
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// archiveServer serves files by URL path and counts requests per path.
type archiveServer struct {
	*httptest.Server
	hits sync.Map // path -> *atomic.Int64
}

func serveArchive(t *testing.T, files map[string][]byte) *archiveServer {
	t.Helper()
	s := &archiveServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := s.hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *archiveServer) count(path string) int64 {
	n, ok := s.hits.Load(path)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

// archivePaths are the URL paths of version v's archive and checksum.
func archivePaths(v string) (tgz, sum string) {
	tgz = "/dist/spark/spark-" + v + "/" + spark.PackageName(v) + ".tgz"
	return tgz, tgz + ".sha512"
}

// testLocator never finds a pyspark (its Python does not exist), so only
// the cache and the download are in play.
func testLocator(t *testing.T, srv *archiveServer) *spark.Locator {
	t.Helper()
	l := &spark.Locator{
		CacheDir: filepath.Join(t.TempDir(), "runtime"),
		Python:   filepath.Join(t.TempDir(), "no-python"),
	}
	if srv != nil {
		l.ArchiveURL = srv.URL + "/dist/spark/"
		l.HTTPClient = srv.Client()
	}
	return l
}

func TestInstall(t *testing.T) {
	archive := makeTarGz(t, fakeDistEntries(fakeVersion))
	file := spark.PackageName(fakeVersion) + ".tgz"
	tests := []struct {
		name string
		sum  []byte
	}{
		{"sha512sum format", sha512sumFile(archive, file)},
		{"gpg print-md format", gpgFile(archive, file)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tgzPath, sumPath := archivePaths(fakeVersion)
			srv := serveArchive(t, map[string][]byte{tgzPath: archive, sumPath: tc.sum})
			l := testLocator(t, srv)
			ctx := context.Background()

			if _, err := l.Locate(ctx, fakeVersion); !errors.Is(err, spark.ErrNotInstalled) {
				t.Fatalf("Locate before install: err = %v, want ErrNotInstalled", err)
			}
			var progress bytes.Buffer
			d, err := l.Install(ctx, fakeVersion, &progress)
			if err != nil {
				t.Fatalf("Install: %v", err)
			}
			wantHome := filepath.Join(l.CacheDir, spark.PackageName(fakeVersion))
			if !reflect.DeepEqual(d, spark.Distribution{Home: wantHome, Version: fakeVersion, Source: "download"}) {
				t.Errorf("Install = %+v, want Home %s Version %s Source download", d, wantHome, fakeVersion)
			}
			fi, err := os.Stat(filepath.Join(d.Home, "bin", "spark-class"))
			if err != nil || fi.Mode().Perm()&0o100 == 0 {
				t.Errorf("bin/spark-class missing or not executable: %v %v", fi, err)
			}
			if v, err := spark.VersionOf(d.Home); err != nil || v != fakeVersion {
				t.Errorf("VersionOf(installed) = %q, %v", v, err)
			}
			for _, want := range []string{"Downloading Spark " + fakeVersion, "Downloaded ", "Verified SHA-512", "Installed Spark " + fakeVersion} {
				if !strings.Contains(progress.String(), want) {
					t.Errorf("progress %q lacks %q", progress.String(), want)
				}
			}
			entries, _ := os.ReadDir(l.CacheDir)
			if len(entries) != 1 || entries[0].Name() != spark.PackageName(fakeVersion) {
				t.Errorf("cache holds %v, want only %s (no temp leftovers)", names(entries), spark.PackageName(fakeVersion))
			}

			// A second install is a cache hit and downloads nothing.
			d2, err := l.Install(ctx, fakeVersion, nil)
			if err != nil {
				t.Fatalf("second Install: %v", err)
			}
			if d2.Source != "cache" || d2.Home != wantHome {
				t.Errorf("second Install = %+v, want Source cache Home %s", d2, wantHome)
			}
			if n := srv.count(tgzPath); n != 1 {
				t.Errorf("archive fetched %d times, want 1", n)
			}
		})
	}
}

func TestInstallRejects(t *testing.T) {
	top := spark.PackageName(fakeVersion) + "/"
	good := fakeDistEntries(fakeVersion)
	with := func(extra ...entry) []entry { return append(append([]entry{}, good...), extra...) }
	tests := []struct {
		name    string
		entries []entry
		sum     func(archive []byte) []byte // default: correct sha512sum file
		missing bool                        // the server has neither file
		want    []string
	}{
		{
			name:    "corrupted checksum",
			entries: good,
			sum:     func([]byte) []byte { return sha512sumFile([]byte("something else"), "x.tgz") },
			want:    []string{"SHA-512 mismatch", "expected " + sha512Hex([]byte("something else"))[:16], ".tgz"},
		},
		{
			name:    "unparsable checksum",
			entries: good,
			sum:     func([]byte) []byte { return []byte("<html>not a checksum</html>") },
			want:    []string{"read checksum", ".sha512", "no SHA-512 digest"},
		},
		{
			name:    "not found",
			missing: true,
			want:    []string{"HTTP 404", ".sha512", "Spark " + fakeVersion + " is not published"},
		},
		{
			name:    "path traversal",
			entries: with(entry{name: top + "../../evil.sh", body: "rm -rf /"}),
			want:    []string{"escapes the archive", "evil.sh"},
		},
		{
			name:    "absolute path",
			entries: with(entry{name: "/tmp/hearth-evil", body: "x"}),
			want:    []string{"escapes the archive"},
		},
		{
			name:    "absolute symlink",
			entries: with(entry{name: top + "conf", typeflag: tar.TypeSymlink, linkname: "/etc"}),
			want:    []string{"symlink", "escapes the archive"},
		},
		{
			name:    "relative symlink escaping",
			entries: with(entry{name: top + "jars/up", typeflag: tar.TypeSymlink, linkname: "../../../.."}),
			want:    []string{"symlink", "escapes the archive"},
		},
		{
			name: "write through symlink",
			entries: with(
				entry{name: top + "dir", typeflag: tar.TypeSymlink, linkname: "jars"},
				entry{name: top + "dir/x.jar", body: "x"},
			),
			want: []string{"is a symlink"},
		},
		{
			name:    "hard link escaping",
			entries: with(entry{name: top + "passwd", typeflag: tar.TypeLink, linkname: "../../etc/passwd"}),
			want:    []string{"hard link", "escapes the archive"},
		},
		{
			name:    "wrong version inside",
			entries: fakeDistEntries("9.9.8"),
			want:    []string{"holds Spark 9.9.8, not " + fakeVersion},
		},
		{
			name:    "not a distribution",
			entries: []entry{{name: top + "README", body: "hi"}},
			want:    []string{"not a Spark distribution", "bin/spark-class"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string][]byte{}
			if !tc.missing {
				archive := makeTarGz(t, tc.entries)
				tgzPath, sumPath := archivePaths(fakeVersion)
				files[tgzPath] = archive
				if tc.sum != nil {
					files[sumPath] = tc.sum(archive)
				} else {
					files[sumPath] = sha512sumFile(archive, filepath.Base(tgzPath))
				}
			}
			srv := serveArchive(t, files)
			l := testLocator(t, srv)
			_, err := l.Install(context.Background(), fakeVersion, nil)
			if err == nil {
				t.Fatal("Install succeeded, want error")
			}
			if errors.Is(err, spark.ErrNotInstalled) {
				t.Errorf("Install error wraps ErrNotInstalled; a failed install must say why: %v", err)
			}
			for _, want := range append(tc.want, srv.URL) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			entries, _ := os.ReadDir(l.CacheDir)
			if len(entries) != 0 {
				t.Errorf("cache holds %v after a failed install, want nothing", names(entries))
			}
			outside, _ := os.ReadDir(filepath.Dir(l.CacheDir))
			if len(outside) != 1 {
				t.Errorf("directory around the cache holds %v, want only the cache", names(outside))
			}
			if _, err := l.Locate(context.Background(), fakeVersion); !errors.Is(err, spark.ErrNotInstalled) {
				t.Errorf("Locate after failed install: %v, want ErrNotInstalled", err)
			}
		})
	}
}

func TestInstallConcurrent(t *testing.T) {
	archive := makeTarGz(t, fakeDistEntries(fakeVersion))
	tgzPath, sumPath := archivePaths(fakeVersion)
	srv := serveArchive(t, map[string][]byte{tgzPath: archive, sumPath: sha512sumFile(archive, "x.tgz")})
	l := testLocator(t, srv)

	const n = 6
	results := make([]spark.Distribution, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Separate Locators, as separate processes would have.
			li := *l
			results[i], errs[i] = li.Install(context.Background(), fakeVersion, nil)
		})
	}
	wg.Wait()
	want := filepath.Join(l.CacheDir, spark.PackageName(fakeVersion))
	for i := range n {
		if errs[i] != nil {
			t.Errorf("install %d: %v", i, errs[i])
			continue
		}
		if results[i].Home != want || results[i].Version != fakeVersion {
			t.Errorf("install %d = %+v, want Home %s", i, results[i], want)
		}
	}
	entries, _ := os.ReadDir(l.CacheDir)
	if len(entries) != 1 || entries[0].Name() != spark.PackageName(fakeVersion) {
		t.Errorf("cache holds %v, want only %s", names(entries), spark.PackageName(fakeVersion))
	}
	if v, err := spark.VersionOf(want); err != nil || v != fakeVersion {
		t.Errorf("VersionOf(%s) = %q, %v", want, v, err)
	}
}

// TestLocatePyspark finds the pyspark that pip installed on this machine.
func TestLocatePyspark(t *testing.T) {
	out, err := exec.Command("python3", "-c", "import pyspark;print(pyspark.__version__)").Output()
	if err != nil {
		t.Skipf("python3 cannot import pyspark (%v); install it with pip install pyspark==%s", err, spark.DefaultVersion)
	}
	version := strings.TrimSpace(string(out))
	l := &spark.Locator{CacheDir: t.TempDir()}
	d, err := l.Locate(context.Background(), version)
	if err != nil {
		t.Fatalf("Locate(%s): %v", version, err)
	}
	if d.Source != "pyspark" || d.Version != version {
		t.Errorf("Locate = %+v, want Source pyspark Version %s", d, version)
	}
	for _, f := range []string{"bin/spark-class", "bin/spark-submit", "jars"} {
		if _, err := os.Stat(filepath.Join(d.Home, f)); err != nil {
			t.Errorf("pyspark home lacks %s: %v", f, err)
		}
	}

	// The same Python is consulted but rejected for another version, and
	// the error says what it has.
	_, err = l.Locate(context.Background(), fakeVersion)
	if !errors.Is(err, spark.ErrNotInstalled) {
		t.Fatalf("Locate(%s) = %v, want ErrNotInstalled", fakeVersion, err)
	}
	if !strings.Contains(err.Error(), "python3 has pyspark "+version) {
		t.Errorf("error %q does not say which pyspark python3 has", err)
	}
}

func TestLocateNotInstalled(t *testing.T) {
	l := testLocator(t, nil)
	_, err := l.Locate(context.Background(), fakeVersion)
	if !errors.Is(err, spark.ErrNotInstalled) {
		t.Fatalf("Locate = %v, want ErrNotInstalled", err)
	}
	for _, want := range []string{"Spark " + fakeVersion, "pip install pyspark==" + fakeVersion, "hearth runtime install spark-" + fakeVersion, l.CacheDir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestLocateSparkHome(t *testing.T) {
	dist := func(t *testing.T, v string) string {
		dir := t.TempDir()
		if err := extractEntries(dir, fakeDistEntries(v)); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, spark.PackageName(v))
	}
	tests := []struct {
		name    string
		home    func(t *testing.T) string
		want    []string // error substrings; nil means success
		wantErr error
	}{
		{name: "right version", home: func(t *testing.T) string { return dist(t, fakeVersion) }},
		{name: "wrong version", home: func(t *testing.T) string { return dist(t, "1.2.3") },
			want: []string{"holds Spark 1.2.3", "Spark " + fakeVersion + " is wanted", "spark-home"}},
		{name: "not a distribution", home: func(t *testing.T) string { return t.TempDir() },
			want: []string{"not a Spark distribution", "bin/spark-class"}, wantErr: fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := tc.home(t)
			// A cache holding the wanted version must not mask a bad SparkHome.
			l := testLocator(t, nil)
			if err := extractEntries(l.CacheDir, fakeDistEntries(fakeVersion)); err != nil {
				t.Fatal(err)
			}
			l.SparkHome = home
			d, err := l.Locate(context.Background(), fakeVersion)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Locate: %v", err)
				}
				if !reflect.DeepEqual(d, spark.Distribution{Home: home, Version: fakeVersion, Source: "spark-home"}) {
					t.Errorf("Locate = %+v", d)
				}
				return
			}
			if err == nil {
				t.Fatalf("Locate = %+v, want error", d)
			}
			for _, want := range append(tc.want, home) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if errors.Is(err, spark.ErrNotInstalled) {
				t.Errorf("a misconfigured spark-home must not read as 'not installed': %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tc.wantErr)
			}
		})
	}
}

func TestLocateBadVersion(t *testing.T) {
	l := testLocator(t, nil)
	for _, v := range []string{"../../etc", "4.0", "4.0.1/..", "latest"} {
		_, err := l.Locate(context.Background(), v)
		if err == nil || errors.Is(err, spark.ErrNotInstalled) || !strings.Contains(err.Error(), "not a version number") {
			t.Errorf("Locate(%q) = %v, want a 'not a version number' error", v, err)
		}
	}
}

func TestVersionOf(t *testing.T) {
	tests := []struct {
		name    string
		files   []entry
		want    string
		wantErr string
	}{
		{name: "RELEASE", want: "3.5.5", files: []entry{
			{name: "bin/spark-class", body: "#!/bin/sh"},
			{name: "RELEASE", body: "Spark 3.5.5 built for Hadoop 3.3.4\nBuild flags: -B\n"},
			{name: "jars/spark-core_2.12-3.5.5.jar"},
		}},
		{name: "pip layout without RELEASE", want: "4.0.1", files: []entry{
			{name: "bin/spark-class", body: "#!/bin/sh"},
			{name: "jars/spark-core_2.13-4.0.1.jar"},
			{name: "jars/spark-sql_2.13-4.0.1.jar"},
		}},
		{name: "no spark-class", wantErr: "bin/spark-class", files: []entry{
			{name: "RELEASE", body: "Spark 3.5.5 built for Hadoop 3.3.4\n"},
		}},
		{name: "no version anywhere", wantErr: "cannot tell the Spark version", files: []entry{
			{name: "bin/spark-class", body: "#!/bin/sh"},
			{name: "jars/other.jar"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := extractEntries(dir, tc.files); err != nil {
				t.Fatal(err)
			}
			got, err := spark.VersionOf(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("VersionOf = %q, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("VersionOf = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// extractEntries writes entries (regular files and dirs) under dir.
func extractEntries(dir string, entries []entry) error {
	for _, e := range entries {
		p := filepath.Join(dir, filepath.FromSlash(e.name))
		if e.typeflag == tar.TypeDir || strings.HasSuffix(e.name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(e.body), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func names(entries []os.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
