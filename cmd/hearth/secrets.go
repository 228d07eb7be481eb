package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hearthcluster/hearth"
)

// privateFiles are the files of $HEARTH_HOME that hold credentials or the
// whole state; secureHome makes each 0600 even in a home that existed
// before, with looser modes.
var privateFiles = []string{"admin.token", "master.key", "hearth.db", "hearth.db-wal", "hearth.db-shm", "hearth.db-journal"}

// secureHome creates home (0700) or tightens an existing one, and makes
// the server create every later file private: the umask is 077, so the
// database's WAL and anything an agent or a Spark daemon writes is
// readable by this user only.
func secureHome(home string, log *slog.Logger) error {
	syscall.Umask(0o077)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	if err := tighten(home, 0o700, log); err != nil {
		return err
	}
	for _, name := range privateFiles {
		if err := tighten(filepath.Join(home, name), 0o600, log); err != nil {
			return err
		}
	}
	return nil
}

// tighten removes permission bits of path beyond want; a missing path is
// fine.
func tighten(path string, want fs.FileMode, log *slog.Logger) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&^want == 0 {
		return nil
	}
	if err := os.Chmod(path, fi.Mode().Perm()&want); err != nil {
		return fmt.Errorf("make %s private: %w", path, err)
	}
	log.Warn("made a file private", "path", path, "was", fi.Mode().Perm().String())
	return nil
}

// adminToken reads the admin credential, creating it on first start.
func adminToken(home string) (token string, created bool, err error) {
	return readOrCreate(filepath.Join(home, "admin.token"), func() string { return hearth.NewSecret("hat_") })
}

// secretFile returns the 32-byte key kept hex-encoded at path, creating it.
func secretFile(path string, gen func() string) ([]byte, error) {
	v, _, err := readOrCreate(path, gen)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%s: not a hex-encoded 32-byte key; if the server never started with it, remove it and start again", path)
	}
	return key, nil
}

// readOrCreate reads a secret file (mode 0600), writing gen() to it first if
// it does not exist. The file appears whole or not at all: the value is
// written to a temporary file, synced, and linked into place, so a crash
// never leaves an empty credential, and of two concurrent starters the
// second reads the first one's value.
func readOrCreate(path string, gen func() string) (value string, created bool, err error) {
	if b, err := os.ReadFile(path); err == nil {
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", false, fmt.Errorf("%s is empty; remove it and start the server again to make a new one", path)
		}
		return v, false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	token := gen()
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return "", false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", false, err
	}
	if _, err := tmp.WriteString(token + "\n"); err != nil {
		tmp.Close()
		return "", false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", false, err
	}
	if err := tmp.Close(); err != nil {
		return "", false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) { // another server won the race
			b, err := os.ReadFile(path)
			return strings.TrimSpace(string(b)), false, err
		}
		return "", false, err
	}
	syncDir(filepath.Dir(path))
	return token, true, nil
}

// syncDir makes a new directory entry durable; failure only weakens that.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func syscallUmask(mask int) int { return syscall.Umask(mask) }
