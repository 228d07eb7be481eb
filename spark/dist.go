package spark

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// ErrNotInstalled means no Spark distribution of the wanted version is
// available on this host; Locator.Install can fetch one.
var ErrNotInstalled = errors.New("spark runtime not installed")

// Distribution is an unpacked Spark distribution usable to run daemons and
// spark-submit.
type Distribution struct {
	Home    string // absolute SPARK_HOME: has bin/spark-class, bin/spark-submit, jars/
	Version string // e.g. "4.0.1"
	Source  string // where it was found: "spark-home", "pyspark", "cache" or "download"
	// S3AJars are the S3A connector's jars for this distribution's Hadoop
	// (set by Install when a Maven repository is configured).
	S3AJars []string
	// PythonPath must go on PYTHONPATH: "" for an Apache distribution
	// (spark-submit finds python/lib/*.zip itself); for a pip layout, the
	// directory holding the pyspark and py4j packages.
	PythonPath string
}

// Sources of a Distribution.
const (
	sourceSparkHome = "spark-home"
	sourcePyspark   = "pyspark"
	sourceCache     = "cache"
	sourceDownload  = "download"
)

// Locator finds Spark distributions on this host and installs missing ones
// into a cache. The zero value works (no SPARK_HOME, no cache); a Locator is
// safe for concurrent use, and so are several processes sharing a CacheDir.
type Locator struct {
	SparkHome  string       // configured SPARK_HOME (--spark-home / config); used first if set
	CacheDir   string       // e.g. $HEARTH_HOME/runtime; distributions live in CacheDir/<PackageName(v)>/
	ArchiveURL string       // default "https://archive.apache.org/dist/spark"
	Python     string       // interpreter used to find a pip-installed pyspark; default "python3"
	HTTPClient *http.Client // default http.DefaultClient
	Logger     *slog.Logger // may be nil
	// PipArgs are extra arguments for the PyPI fallback's `pip install`
	// (an --index-url, say); NoPyPI turns the fallback off.
	PipArgs []string
	NoPyPI  bool
	// MavenURL is the Maven repository Install fetches the S3A connector
	// from (DefaultMavenURL, say); "" installs no connector.
	MavenURL string
	// JarCacheDir holds the connector's jars (default CacheDir/maven).
	JarCacheDir string
}

// defaultArchiveURL is where Locator.Install downloads Spark from by default.
const defaultArchiveURL = "https://archive.apache.org/dist/spark"

const (
	pythonTimeout  = time.Minute        // importing pyspark can be slow on a cold disk
	maxExtracted   = int64(8 << 30)     // refuse archives that unpack to more than this
	staleTempAfter = 24 * time.Hour     // leftovers of crashed installs older than this are removed
	progressEvery  = 1 * time.Second    // how often Install reports download progress
	maxChecksum    = int64(64 << 10)    // a .sha512 file is a few hundred bytes
	tempPrefixDL   = ".download-"       // temp archive inside CacheDir
	tempPrefixX    = ".extract-"        // temp extraction dir inside CacheDir
	dirPerm        = fs.FileMode(0o755) // cache directories
)

// versionRE is what Hearth accepts as a Spark version: it becomes part of
// file names and URLs, so nothing else gets through.
var versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$`)

func checkVersion(v string) error {
	if !versionRE.MatchString(v) || strings.Contains(v, "..") {
		return fmt.Errorf("spark version %q: not a version number; want X.Y.Z, e.g. %s", v, DefaultVersion)
	}
	return nil
}

// Locate finds an installed Spark distribution of version ("" means
// DefaultVersion), looking in order at:
//
//  1. SparkHome, if set. It must hold exactly that version; otherwise Locate
//     fails with an error naming the path, the version found and the one
//     wanted, and looks nowhere else.
//  2. A pip-installed pyspark of exactly that version, found by running
//     Python (pyspark wheels are complete distributions).
//  3. CacheDir/<PackageName(version)>.
//
// When none has it, the error wraps ErrNotInstalled, names the version and
// what was seen, and says how to get it. Locate never modifies anything.
func (l *Locator) Locate(ctx context.Context, version string) (Distribution, error) {
	if version == "" {
		version = DefaultVersion
	}
	if err := checkVersion(version); err != nil {
		return Distribution{}, err
	}
	if l.SparkHome != "" {
		return l.fromSparkHome(version)
	}
	d, pyMiss := l.fromPyspark(ctx, version)
	if pyMiss == "" {
		return d, nil
	}
	d, cacheMiss := l.fromCache(version)
	if cacheMiss == "" {
		return d, nil
	}
	return Distribution{}, fmt.Errorf("%w: Spark %s not found (%s; %s); get it with `pip install pyspark==%s` or `hearth runtime install spark-%s`",
		ErrNotInstalled, version, pyMiss, cacheMiss, version, version)
}

func (l *Locator) fromSparkHome(version string) (Distribution, error) {
	home, err := filepath.Abs(l.SparkHome)
	if err != nil {
		return Distribution{}, fmt.Errorf("spark-home %s: %w", l.SparkHome, err)
	}
	got, err := VersionOf(home)
	if err != nil {
		return Distribution{}, fmt.Errorf("spark-home %s: %w; point spark-home at an unpacked Spark %s distribution, or unset it to let Hearth find or install one",
			l.SparkHome, err, version)
	}
	if got != version {
		return Distribution{}, fmt.Errorf("spark-home %s holds Spark %s, but Spark %s is wanted; point spark-home at a Spark %s distribution, or unset it to let Hearth find or install one",
			l.SparkHome, got, version, version)
	}
	return Distribution{Home: home, Version: got, Source: sourceSparkHome}, nil
}

// python is the configured interpreter, python3 by default.
func (l *Locator) python() string {
	if l.Python == "" {
		return "python3"
	}
	return l.Python
}

// pysparkProbe prints pyspark's directory and version, one per line.
const pysparkProbe = "import pyspark,os;print(os.path.dirname(pyspark.__file__));print(pyspark.__version__)"

// fromPyspark returns the pip-installed pyspark if it is the wanted version;
// otherwise miss says what was found instead.
func (l *Locator) fromPyspark(ctx context.Context, version string) (d Distribution, miss string) {
	python := l.python()
	ctx, cancel := context.WithTimeout(ctx, pythonTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, "-c", pysparkProbe)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		l.logger().Debug("no usable pyspark", "python", python, "err", err, "stderr", lastLine(stderr.String()))
		switch {
		case errors.Is(err, exec.ErrNotFound):
			return d, fmt.Sprintf("no %s to look for pyspark", python)
		case strings.Contains(stderr.String(), "No module named"):
			return d, fmt.Sprintf("%s has no pyspark", python)
		default:
			return d, fmt.Sprintf("%s could not import pyspark: %s", python, lastLine(stderr.String()+" "+err.Error()))
		}
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) < 2 {
		return d, fmt.Sprintf("%s printed no pyspark location", python)
	}
	dir, pv := strings.TrimSpace(lines[len(lines)-2]), strings.TrimSpace(lines[len(lines)-1])
	if pv != version {
		return d, fmt.Sprintf("%s has pyspark %s", python, pv)
	}
	got, err := VersionOf(dir)
	if err != nil {
		return d, fmt.Sprintf("pyspark %s at %s is unusable: %v", pv, dir, err)
	}
	if got != version {
		return d, fmt.Sprintf("pyspark %s at %s carries Spark jars %s", pv, dir, got)
	}
	return Distribution{Home: dir, Version: got, Source: sourcePyspark}, ""
}

func (l *Locator) fromCache(version string) (d Distribution, miss string) {
	if l.CacheDir == "" {
		return d, "no runtime cache configured"
	}
	if home := l.pypiHome(version); home != "" {
		if got, err := VersionOf(home); err == nil && got == version {
			return Distribution{Home: home, Version: got, Source: sourceCache}, ""
		}
	}
	dir, err := filepath.Abs(filepath.Join(l.CacheDir, PackageName(version)))
	if err != nil {
		return d, fmt.Sprintf("runtime cache %s: %v", l.CacheDir, err)
	}
	got, err := VersionOf(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return d, fmt.Sprintf("not in runtime cache %s", l.CacheDir)
	case err != nil:
		return d, fmt.Sprintf("cache entry %s is unusable (%v); remove it", dir, err)
	case got != version:
		return d, fmt.Sprintf("cache entry %s holds Spark %s; remove it", dir, got)
	}
	return Distribution{Home: dir, Version: got, Source: sourceCache}, ""
}

// Install returns a distribution of version ("" means DefaultVersion),
// downloading it into CacheDir if Locate reports ErrNotInstalled. It fetches
// <ArchiveURL>/spark-<v>/<PackageName(v)>.tgz and its .sha512, verifies the
// SHA-512, unpacks into a temporary directory inside CacheDir and renames it
// to CacheDir/<PackageName(v)> in one step, so the cache never holds a
// partial distribution. Concurrent installs of one version (goroutines or
// processes) each download, and all but the first rename use the winner's
// copy. On any failure nothing is left in the cache. progress may be nil;
// otherwise human-readable progress lines are written to it.
func (l *Locator) Install(ctx context.Context, version string, progress io.Writer) (Distribution, error) {
	if progress == nil {
		progress = io.Discard
	}
	d, err := l.installSpark(ctx, version, progress)
	if err != nil {
		return d, err
	}
	if d.S3AJars, err = l.installS3A(ctx, d, progress); err != nil {
		return Distribution{}, fmt.Errorf("install the S3A connector for Spark %s: %w", d.Version, err)
	}
	return d, nil
}

func (l *Locator) installSpark(ctx context.Context, version string, progress io.Writer) (Distribution, error) {
	if version == "" {
		version = DefaultVersion
	}
	d, err := l.Locate(ctx, version)
	if err == nil || !errors.Is(err, ErrNotInstalled) {
		return d, err
	}
	if l.CacheDir == "" {
		return Distribution{}, fmt.Errorf("install Spark %s: no runtime cache directory configured; set the Hearth home or the runtime cache path", version)
	}
	d, err = l.download(ctx, version, progress)
	if err == nil || l.NoPyPI || ctx.Err() != nil {
		return d, err
	}
	fmt.Fprintf(progress, "Apache archive: %v\nInstalling Spark %s from PyPI (pip install pyspark==%s)\n", err, version, version)
	d, perr := l.fromPyPI(ctx, version, progress)
	if perr != nil {
		return d, fmt.Errorf("install Spark %s: from the Apache archive: %v; from PyPI: %w", version, err, perr)
	}
	return d, nil
}

func (l *Locator) download(ctx context.Context, version string, progress io.Writer) (Distribution, error) {
	log := l.logger().With("version", version)
	if err := os.MkdirAll(l.CacheDir, dirPerm); err != nil {
		return Distribution{}, fmt.Errorf("create runtime cache: %w", err)
	}
	cache, err := filepath.Abs(l.CacheDir)
	if err != nil {
		return Distribution{}, fmt.Errorf("runtime cache %s: %w", l.CacheDir, err)
	}
	removeStaleTemps(cache, log)

	name := PackageName(version)
	base := l.ArchiveURL
	if base == "" {
		base = defaultArchiveURL
	}
	url := fmt.Sprintf("%s/spark-%s/%s.tgz", strings.TrimRight(base, "/"), version, name)

	fmt.Fprintf(progress, "Downloading Spark %s from %s\n", version, url)
	log.Info("downloading spark", "url", url)
	want, err := l.fetchChecksum(ctx, url+".sha512", version, base)
	if err != nil {
		return Distribution{}, err
	}

	archive, err := os.CreateTemp(cache, tempPrefixDL+name+"-*.tgz")
	if err != nil {
		return Distribution{}, fmt.Errorf("download %s: %w", url, err)
	}
	defer os.Remove(archive.Name())
	defer archive.Close()

	got, err := l.fetchArchive(ctx, url, archive, progress, version, base)
	if err != nil {
		return Distribution{}, err
	}
	if got != want {
		return Distribution{}, fmt.Errorf("verify %s: SHA-512 mismatch: expected %s…, got %s…; the download is corrupt or the mirror is inconsistent, retry or check %s.sha512",
			url, want[:16], got[:16], url)
	}
	fmt.Fprintf(progress, "Verified SHA-512 %s…\n", got[:16])

	tmpDir, err := os.MkdirTemp(cache, tempPrefixX+name+"-*")
	if err != nil {
		return Distribution{}, fmt.Errorf("extract %s: %w", url, err)
	}
	defer os.RemoveAll(tmpDir)
	if _, err := archive.Seek(0, io.SeekStart); err != nil {
		return Distribution{}, fmt.Errorf("extract %s: %w", url, err)
	}
	if err := extractTarGz(archive, tmpDir); err != nil {
		return Distribution{}, fmt.Errorf("extract %s: %w", url, err)
	}
	top, err := archiveTop(tmpDir)
	if err != nil {
		return Distribution{}, fmt.Errorf("extract %s: %w", url, err)
	}
	gotVersion, err := VersionOf(top)
	if err != nil {
		return Distribution{}, fmt.Errorf("extract %s: archive is not a Spark distribution: %w", url, err)
	}
	if gotVersion != version {
		return Distribution{}, fmt.Errorf("extract %s: archive holds Spark %s, not %s", url, gotVersion, version)
	}

	final := filepath.Join(cache, name)
	if err := os.Rename(top, final); err != nil {
		// Another install of the same version won the race: use its copy.
		if v, verr := VersionOf(final); verr == nil && v == version {
			log.Info("spark installed concurrently; using that copy", "home", final)
			fmt.Fprintf(progress, "Spark %s was installed concurrently in %s\n", version, final)
			return Distribution{Home: final, Version: version, Source: sourceCache}, nil
		}
		return Distribution{}, fmt.Errorf("install %s into %s: %w; if %s is a broken leftover, remove it and retry", url, final, err, final)
	}
	log.Info("spark installed", "home", final)
	fmt.Fprintf(progress, "Installed Spark %s in %s\n", version, final)
	return Distribution{Home: final, Version: version, Source: sourceDownload}, nil
}

// get issues a GET and fails on any status but 200, explaining a 404.
func (l *Locator) get(ctx context.Context, url, version, base string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	client := l.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("download %s: HTTP %s: Spark %s is not published at %s; check the version, or point the archive URL at a mirror that has it",
				url, resp.Status, version, base)
		}
		return nil, fmt.Errorf("download %s: HTTP %s", url, resp.Status)
	}
	return resp, nil
}

func (l *Locator) fetchChecksum(ctx context.Context, url, version, base string) (string, error) {
	resp, err := l.get(ctx, url, version, base)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxChecksum))
	if err != nil {
		return "", fmt.Errorf("download %s: %w", url, err)
	}
	sum, err := parseSHA512(body)
	if err != nil {
		return "", fmt.Errorf("read checksum %s: %w", url, err)
	}
	return sum, nil
}

// fetchArchive streams url into dst and returns its hex SHA-512.
func (l *Locator) fetchArchive(ctx context.Context, url string, dst io.Writer, progress io.Writer, version, base string) (string, error) {
	resp, err := l.get(ctx, url, version, base)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	h := sha512.New()
	pw := &progressWriter{w: progress, total: resp.ContentLength, start: time.Now()}
	pw.last = pw.start
	if _, err := io.Copy(io.MultiWriter(dst, h, pw), resp.Body); err != nil {
		return "", fmt.Errorf("download %s: %w", url, err)
	}
	pw.done()
	return hex.EncodeToString(h.Sum(nil)), nil
}

// parseSHA512 reads the digest from a .sha512 file in any of the formats the
// Apache archive has used:
//
//	<hex>  spark-x.tgz                            (sha512sum)
//	spark-x.tgz: ABCD 1234 ...\n    EF56 ...        (gpg --print-md, older releases)
//	SHA512 (spark-x.tgz) = <hex>                  (BSD)
func parseSHA512(b []byte) (string, error) {
	s := strings.TrimSpace(string(b))
	switch {
	case strings.HasPrefix(s, "SHA512 (") || strings.HasPrefix(s, "SHA2-512("):
		if i := strings.LastIndex(s, "= "); i >= 0 {
			s = s[i+2:]
		}
	case strings.Contains(s, ":"):
		s = s[strings.Index(s, ":")+1:]
	default:
		if f := strings.Fields(s); len(f) > 0 {
			s = f[0]
		}
	}
	sum := strings.ToLower(strings.Join(strings.Fields(s), ""))
	if len(sum) != 2*sha512.Size {
		return "", fmt.Errorf("no SHA-512 digest found (want %d hex digits, got %q)", 2*sha512.Size, truncate(sum, 40))
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return "", fmt.Errorf("no SHA-512 digest found: %q is not hex", truncate(sum, 40))
	}
	return sum, nil
}

// extractTarGz unpacks a gzipped tar into dst, which must be empty. Every
// entry must stay inside dst: absolute names, ".." components, entries below
// a symlink, and symlinks that are absolute or contain ".." are rejected, so
// no file is written, and no link points, outside dst. Special files
// (devices, fifos) are skipped.
func extractTarGz(r io.Reader, dst string) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	defer gz.Close()
	root, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer root.Close()

	var total int64
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(filepath.FromSlash(hdr.Name))
		if name == "." {
			continue
		}
		if !filepath.IsLocal(name) {
			return fmt.Errorf("entry %q: path escapes the archive directory", hdr.Name)
		}
		if err := noSymlinkParents(root, name); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		mode := hdr.FileInfo().Mode().Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, mode|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			total += hdr.Size
			if total > maxExtracted {
				return fmt.Errorf("archive unpacks to more than %d bytes", maxExtracted)
			}
			if err := writeEntry(root, name, mode|0o600, tr, hdr.Size); err != nil {
				return fmt.Errorf("entry %q: %w", hdr.Name, err)
			}
		case tar.TypeSymlink:
			target := hdr.Linkname
			if filepath.IsAbs(target) || hasDotDot(target) {
				return fmt.Errorf("entry %q: symlink to %q escapes the archive directory", hdr.Name, target)
			}
			if err := root.MkdirAll(filepath.Dir(name), dirPerm); err != nil {
				return err
			}
			if err := root.Symlink(target, name); err != nil {
				return fmt.Errorf("entry %q: %w", hdr.Name, err)
			}
		case tar.TypeLink:
			old := filepath.Clean(filepath.FromSlash(hdr.Linkname))
			if !filepath.IsLocal(old) {
				return fmt.Errorf("entry %q: hard link to %q escapes the archive directory", hdr.Name, hdr.Linkname)
			}
			if err := root.MkdirAll(filepath.Dir(name), dirPerm); err != nil {
				return err
			}
			if err := root.Link(old, name); err != nil {
				return fmt.Errorf("entry %q: %w", hdr.Name, err)
			}
		default:
			// Devices, fifos and the like have no place in a Spark distribution.
		}
	}
}

// writeEntry writes one regular file, replacing (never writing through) a
// file or link an earlier entry left at the same name.
func writeEntry(root *os.Root, name string, mode fs.FileMode, r io.Reader, size int64) error {
	if err := root.MkdirAll(filepath.Dir(name), dirPerm); err != nil {
		return err
	}
	if fi, err := root.Lstat(name); err == nil && !fi.IsDir() {
		if err := root.Remove(name); err != nil {
			return err
		}
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, r, size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// noSymlinkParents fails if any directory above name (inside root) is a
// symlink. With real parent directories, the lexical checks on names and
// link targets are sound.
func noSymlinkParents(root *os.Root, name string) error {
	dir := filepath.Dir(name)
	for dir != "." {
		fi, err := root.Lstat(dir)
		if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("parent %q is a symlink", filepath.ToSlash(dir))
		}
		dir = filepath.Dir(dir)
	}
	return nil
}

func hasDotDot(p string) bool {
	for _, c := range strings.Split(filepath.ToSlash(p), "/") {
		if c == ".." {
			return true
		}
	}
	return false
}

// archiveTop is the distribution root inside an extraction directory: the
// single top-level directory Apache archives have, or dir itself if the
// archive was flat.
func archiveTop(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	if len(entries) == 0 {
		return "", errors.New("archive is empty")
	}
	if len(entries) == 1 && entries[0].IsDir() {
		return filepath.Join(dir, entries[0].Name()), nil
	}
	return dir, nil
}

// removeStaleTemps deletes temp files and directories of installs that died
// long ago. Recent ones may belong to a running install and are kept.
func removeStaleTemps(cache string, log *slog.Logger) {
	entries, err := os.ReadDir(cache)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefixDL) && !strings.HasPrefix(e.Name(), tempPrefixX) {
			continue
		}
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < staleTempAfter {
			continue
		}
		p := filepath.Join(cache, e.Name())
		if err := os.RemoveAll(p); err == nil {
			log.Info("removed leftover of an interrupted install", "path", p)
		}
	}
}

// releaseRE matches the RELEASE file of a binary distribution:
// "Spark 4.0.1 built for Hadoop 3.4.1".
var releaseRE = regexp.MustCompile(`(?m)^Spark (\S+)`)

// VersionOf reports the Spark version of the distribution at home. home must
// contain bin/spark-class (else the error wraps fs.ErrNotExist). The version
// comes from home/RELEASE or, for pip-installed pyspark which has none, from
// the name of jars/spark-core_<scala>-<version>.jar.
func VersionOf(home string) (string, error) {
	fi, err := os.Stat(filepath.Join(home, "bin", "spark-class"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s is not a Spark distribution: bin/spark-class: %w", home, fs.ErrNotExist)
	}
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		return "", fmt.Errorf("%s is not a Spark distribution: bin/spark-class is a directory", home)
	}
	if b, err := os.ReadFile(filepath.Join(home, "RELEASE")); err == nil {
		if m := releaseRE.FindSubmatch(b); m != nil && checkVersion(string(m[1])) == nil {
			return string(m[1]), nil
		}
	}
	jars, _ := filepath.Glob(filepath.Join(home, "jars", "spark-core_*.jar"))
	for _, j := range jars {
		rest := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(j), "spark-core_"), ".jar")
		if i := strings.IndexByte(rest, '-'); i >= 0 && checkVersion(rest[i+1:]) == nil {
			return rest[i+1:], nil
		}
	}
	return "", fmt.Errorf("%s: cannot tell the Spark version: no RELEASE file and no jars/spark-core_*.jar", home)
}

func (l *Locator) logger() *slog.Logger {
	if l.Logger != nil {
		return l.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// progressWriter counts downloaded bytes and reports them at most once per
// progressEvery. Errors writing the report are ignored: progress display
// must not fail a download.
type progressWriter struct {
	w           io.Writer
	total, n    int64
	start, last time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if now := time.Now(); now.Sub(p.last) >= progressEvery {
		p.last = now
		p.report()
	}
	return len(b), nil
}

func (p *progressWriter) report() {
	if p.total > 0 {
		fmt.Fprintf(p.w, "  %s of %s (%d%%)\n", HumanBytes(p.n), HumanBytes(p.total), p.n*100/p.total)
	} else {
		fmt.Fprintf(p.w, "  %s\n", HumanBytes(p.n))
	}
}

func (p *progressWriter) done() {
	fmt.Fprintf(p.w, "Downloaded %s in %s\n", HumanBytes(p.n), time.Since(p.start).Round(100*time.Millisecond))
}

// HumanBytes formats a byte count for people (KiB, MiB, GiB).
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
