package spark_test

import (
	"archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthcluster/hearth/spark"
)

// fakeWheel writes a pyspark wheel of version v that carries a minimal
// Spark distribution, into dir.
func fakeWheel(t *testing.T, dir, v string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "pyspark-"+v+"-py3-none-any.whl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	files := map[string]string{
		"pyspark/__init__.py":                        "__version__ = '" + v + "'\n",
		"pyspark/bin/spark-class":                    "#!/bin/sh\n",
		"pyspark/bin/spark-submit":                   "#!/bin/sh\n",
		"pyspark/jars/spark-core_2.13-" + v + ".jar": "jar",
		"pyspark-" + v + ".dist-info/METADATA":       "Metadata-Version: 2.1\nName: pyspark\nVersion: " + v + "\n",
		"pyspark-" + v + ".dist-info/WHEEL":          "Wheel-Version: 1.0\nGenerator: hearth-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
	}
	var record strings.Builder
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
		record.WriteString(name + ",,\n")
	}
	w, _ := zw.Create("pyspark-" + v + ".dist-info/RECORD")
	w.Write([]byte(record.String() + "pyspark-" + v + ".dist-info/RECORD,,\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestInstallFallsBackToPyPI: with the Apache archive unreachable, Install
// gets the release from a (local, here) package index, and the second
// Install is a cache hit.
func TestInstallFallsBackToPyPI(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 with pip is needed")
	}
	const v = "9.9.8"
	index := t.TempDir()
	fakeWheel(t, index, v)
	l := &spark.Locator{
		CacheDir:   filepath.Join(t.TempDir(), "runtime"),
		ArchiveURL: "http://127.0.0.1:1/dist/spark", // refused at once
		Python:     "python3",
		PipArgs:    []string{"--no-index", "--find-links", index},
	}
	var progress strings.Builder
	d, err := l.Install(t.Context(), v, &progress)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, progress.String())
	}
	if d.Version != v || d.Source != "download" || !strings.HasSuffix(d.Home, filepath.Join("pyspark-"+v, "pyspark")) {
		t.Errorf("got %+v", d)
	}
	if !strings.Contains(progress.String(), "Installing Spark "+v+" from PyPI") {
		t.Errorf("progress does not say it fell back to PyPI: %q", progress.String())
	}
	again, err := l.Install(t.Context(), v, nil)
	if err != nil || again.Source != "cache" || again.Home != d.Home {
		t.Errorf("second install: %+v, %v; want a cache hit at %s", again, err, d.Home)
	}
	entries, _ := os.ReadDir(l.CacheDir)
	if len(entries) != 1 {
		t.Errorf("cache holds %d entries, want 1 (no temporary left)", len(entries))
	}

	// A version the index does not have: a clear error naming both sources.
	if _, err := l.Install(t.Context(), "9.9.7", nil); err == nil || !strings.Contains(err.Error(), "Apache archive") || !strings.Contains(err.Error(), "PyPI") {
		t.Errorf("missing version: %v", err)
	}
}
