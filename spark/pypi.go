package spark

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// pypiHome is where the PyPI fallback keeps a version:
// CacheDir/pyspark-<v>/pyspark, a pyspark package installed with
// pip --target, whose directory is a complete SPARK_HOME.
func (l *Locator) pypiHome(version string) string {
	if l.CacheDir == "" || checkVersion(version) != nil {
		return ""
	}
	dir, err := filepath.Abs(filepath.Join(l.CacheDir, "pyspark-"+version))
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "pyspark")
}

// fromPyPI installs pyspark==version from PyPI into the cache with
// `pip install --no-deps --target`, into a temporary directory renamed into
// place once the Spark inside is verified to be that version. Hosts that
// reach PyPI but not the Apache archive still get any Spark release.
func (l *Locator) fromPyPI(ctx context.Context, version string, progress io.Writer) (Distribution, error) {
	if err := checkVersion(version); err != nil {
		return Distribution{}, err
	}
	home := l.pypiHome(version)
	final := filepath.Dir(home)
	tmp, err := os.MkdirTemp(filepath.Dir(final), ".pypi-"+version+"-")
	if err != nil {
		return Distribution{}, err
	}
	defer os.RemoveAll(tmp)
	python := l.interpreter(ctx)
	args := append([]string{"-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--no-compile", "--target", tmp}, l.PipArgs...)
	args = append(args, "pyspark=="+version)
	cmd := exec.CommandContext(ctx, python, args...)
	stop := reportElapsed(progress, pipProgressEvery)
	out, err := cmd.CombinedOutput()
	stop()
	if err != nil {
		return Distribution{}, fmt.Errorf("pip install pyspark==%s: %v: %s", version, err, lastLine(strings.TrimSpace(string(out))))
	}
	got, err := VersionOf(filepath.Join(tmp, "pyspark"))
	if err != nil {
		return Distribution{}, fmt.Errorf("pyspark==%s from PyPI is not a Spark distribution: %w", version, err)
	}
	if got != version {
		return Distribution{}, fmt.Errorf("pyspark==%s from PyPI carries Spark %s", version, got)
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(home); serr != nil { // not a lost race: a real failure
			return Distribution{}, fmt.Errorf("install into %s: %w", final, errors.Join(err, serr))
		}
	}
	l.logger().Info("spark runtime installed from PyPI", "version", version, "home", home)
	return Distribution{Home: home, Version: version, Source: sourceDownload}, nil
}

// interpreter is the Python that runs pip: the real executable behind
// l.Python, so that a version manager's shim (pyenv's) does not wrap the
// install in hooks of its own — pyenv's rehash after `pip install` waits a
// minute for a lock a killed process left behind, then fails the install.
func (l *Locator) interpreter(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, pythonTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, l.python(), "-c", "import sys;print(sys.executable)").Output()
	if exe := strings.TrimSpace(string(out)); err == nil && filepath.IsAbs(exe) {
		return exe
	}
	return l.python()
}

// pipProgressEvery is how often a pip install reports that it is still
// running: pip --quiet says nothing until it is done.
const pipProgressEvery = 5 * time.Second

// reportElapsed writes "  <elapsed> elapsed" to w every period until the
// returned stop is called.
func reportElapsed(w io.Writer, period time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				fmt.Fprintf(w, "  %s elapsed\n", now.Sub(start).Round(time.Second))
			}
		}
	}()
	return func() { close(done); <-finished }
}
