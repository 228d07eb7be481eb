package control

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearthcluster/hearth/spark"
)

// TestCDSReadOnly: hearth run's own control plane maps an archive that
// exists but never starts a training it would abort when the run ends.
func TestCDSReadOnly(t *testing.T) {
	dir := t.TempDir()
	java := spark.Java{Path: "/usr/bin/java", Home: "/usr", Major: 17, Version: "17"}
	c := &cdsArchives{dir: dir, readOnly: true, ctx: context.Background(), log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		findJava: func(context.Context) (spark.Java, error) { return java, nil },
		paths:    map[string]string{}, tried: map[string]time.Time{}}
	d := spark.Distribution{Home: t.TempDir(), Version: "4.0.1"}
	if got := c.archive(d); got != "" {
		t.Fatalf("archive = %q with none built", got)
	}
	c.builds.Wait()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a read-only control plane started a build: %v", entries)
	}
	path := spark.CDSArchive(dir, d, java)
	if err := os.WriteFile(path, []byte("archive"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := c.archive(d); got != path || filepath.Dir(got) != dir {
		t.Fatalf("archive = %q, want the one that exists, %s", got, path)
	}
}
