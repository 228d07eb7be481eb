package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestSecureHomeTightensAnExistingHome(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o755)
	for _, name := range []string{"admin.token", "hearth.db", "hearth.db-wal"} {
		if err := os.WriteFile(filepath.Join(home, name), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(home, name), 0o644)
	}
	old := umask(t)
	if err := secureHome(home, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	_ = old
	if fi, _ := os.Stat(home); fi.Mode().Perm() != 0o700 {
		t.Errorf("home is %v, want 0700", fi.Mode().Perm())
	}
	for _, name := range []string{"admin.token", "hearth.db", "hearth.db-wal"} {
		if fi, _ := os.Stat(filepath.Join(home, name)); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want 0600", name, fi.Mode().Perm())
		}
	}
}

func TestReadOrCreateIsAtomicAndAgreed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "admin.token")
	var wg sync.WaitGroup
	values := make([]string, 8)
	created := make([]bool, 8)
	for i := range values {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, c, err := readOrCreate(path, func() string { return "value-" + string(rune('a'+i)) })
			if err != nil {
				t.Error(err)
			}
			values[i], created[i] = v, c
		}()
	}
	wg.Wait()
	n := 0
	for i, v := range values {
		if v != values[0] {
			t.Errorf("starter %d read %q, starter 0 %q", i, v, values[0])
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d starters say they created the file, want 1", n)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	// An empty credential (from before atomic writes) is an error, not a
	// token that matches nothing.
	os.WriteFile(path, nil, 0o600)
	if _, _, err := readOrCreate(path, func() string { return "new" }); err == nil {
		t.Errorf("an empty credential file was accepted")
	}
}

// umask restores the process umask after a test that changes it.
func umask(t *testing.T) int {
	old := syscallUmask(0o022)
	syscallUmask(old)
	t.Cleanup(func() { syscallUmask(old) })
	return old
}
