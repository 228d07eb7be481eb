// Package pgtest runs a PostgreSQL server of a test binary's own, for the
// tests of the PostgreSQL store and of replicated control planes.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// installHint is what to do when PostgreSQL is missing.
const installHint = "`make test` installs it (scripts/test-deps.sh: apt-get install -y postgresql)"

// Server is a PostgreSQL server of the test binary's own: initdb'd into a
// temporary directory, listening on a free loopback port, with trust
// authentication, and without fsync (a crash loses only test data).
type Server struct {
	dir   string // the data directory (data/), the socket and the log
	port  int
	cmd   *exec.Cmd
	done  chan struct{} // closed when the server process has exited
	admin *pgxpool.Pool // on the database hearth, to create schemas
	// schemas counts the schemas made, to name the next.
	schemas atomic.Int64
}

// binDir finds the directory holding initdb and postgres: Debian's newest
// /usr/lib/postgresql/<version>/bin, else $PATH.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if executable(filepath.Join(d, "initdb")) && executable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && executable(filepath.Join(filepath.Dir(p), "postgres")) {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL's initdb and postgres are not installed (looked in /usr/lib/postgresql/*/bin and $PATH): %s", installHint)
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// unprivileged returns the credential to run PostgreSQL with, which
// refuses to run as root: Debian's postgres user when we are root, else
// nil (we are unprivileged already).
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses root: it runs as the postgres user, which Debian's postgresql package creates, but %v; %s", err, installHint)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// Start initdb's and starts a server. On error it leaves nothing
// behind.
func Start() (_ *Server, err error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := unprivileged()
	if err != nil {
		return nil, err
	}
	// The postgres user must reach the directory: under /tmp, not under
	// a $TMPDIR in root's home.
	parent := ""
	if cred != nil {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "hearth-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	initdb.Env = append(os.Environ(), "LC_ALL=C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}

	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.port = port
	logPath := filepath.Join(dir, "postgres.log")
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the server has its own copy of the descriptor
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	s.cmd.Dir = dir
	s.cmd.Env = append(os.Environ(), "LC_ALL=C")
	s.cmd.Stdout, s.cmd.Stderr = log, log
	// Should this process die without stopping it (a panic skips
	// TestMain's cleanup), the server shuts down at once too.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s.done = make(chan struct{})
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	boot, err := pgxpool.New(ctx, s.URL("postgres"))
	if err != nil {
		return nil, err
	}
	defer boot.Close()
	for {
		err := boot.Ping(ctx)
		if err == nil {
			break
		}
		select {
		case <-s.done:
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("postgres exited at start: %s\n%s", s.cmd.ProcessState, out)
		case <-ctx.Done():
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("postgres did not answer on port %d within a minute: %v\n%s", port, err, out)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if _, err := boot.Exec(ctx, "CREATE DATABASE hearth"); err != nil {
		return nil, fmt.Errorf("create database hearth: %w", err)
	}
	if s.admin, err = pgxpool.New(ctx, s.URL("hearth")); err != nil {
		return nil, err
	}
	return s, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Admin is a pool on the database hearth, as its superuser.
func (s *Server) Admin() *pgxpool.Pool { return s.admin }

func (s *Server) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, database)
}

// NewSchema creates an empty schema in the database hearth and returns a
// URL whose connections work in it (their search_path is that schema
// alone): a new, empty store for each test. A schema takes milliseconds to
// make, a database a third of a second.
func (s *Server) NewSchema(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("hearth_test_%d", s.schemas.Add(1))
	if _, err := s.admin.Exec(t.Context(), "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	return s.URL("hearth") + "&search_path=" + name
}

// Stop shuts the server down (fast shutdown: sessions are ended, then it
// exits once all its processes have), harder if it does not, checks that
// no process of it is left, and removes its directory.
func (s *Server) Stop() error {
	if s.admin != nil {
		s.admin.Close()
	}
	var errs []error
	if s.cmd != nil && s.cmd.Process != nil {
	signals:
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGKILL} {
			s.cmd.Process.Signal(sig)
			select {
			case <-s.done:
				break signals
			case <-time.After(10 * time.Second):
				errs = append(errs, fmt.Errorf("postgres (pid %d) still running 10s after %v", s.cmd.Process.Pid, sig))
			}
		}
	}
	if left := ProcessesIn(filepath.Join(s.dir, "data")); len(left) > 0 {
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		errs = append(errs, fmt.Errorf("processes %v of the server outlived it (killed now)", left))
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ProcessesIn lists the processes working in dir (or in dir after its
// removal, which the kernel shows with " (deleted)"). Every process of a
// PostgreSQL server works in its data directory, and its backends are
// process group leaders of their own: this finds them where a process
// group would not.
func ProcessesIn(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && (cwd == dir || cwd == dir+" (deleted)") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// One server can serve every test of a binary, each in a schema of its
// own: the first test to need it starts it (Shared), TestMain stops it
// (Main).
var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared returns the test binary's server, starting it on first use.
func Shared(t *testing.T) *Server {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		t.Fatalf("start a PostgreSQL server for the tests: %v", sharedErr)
	}
	return shared
}

// Main runs the tests and stops the shared server, if one started: call
// it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop the test PostgreSQL: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
