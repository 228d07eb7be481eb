//go:build integration

// Package e2e runs Hearth end to end: the real binary, real Spark JVMs,
// real SQLite. Run with `go test -tags integration ./e2e/` (make test does).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hearthcluster/hearth/control"
)

var hearthBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hearth-e2e-bin")
	if err != nil {
		panic(err)
	}
	hearthBin = filepath.Join(dir, "hearth")
	build := exec.Command("go", "build", "-o", hearthBin, "github.com/hearthcluster/hearth/cmd/hearth")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hearth:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one Hearth installation: a home directory and a server.
type env struct {
	t        *testing.T
	home     string
	endpoint string
	addr     string
	// gateway is the UI gateway's origin (its own listener).
	gateway string
	// s3 is the built-in S3 store's endpoint.
	s3       string
	server   *exec.Cmd
	extraEnv []string
	// serverArgs are extra flags for `hearth server`.
	serverArgs []string
	// logName is the server's log file in home ("" = server.log): the
	// replicas of one home each have their own.
	logName string
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// newEnv starts a server with a fresh home. Cleanup stops it and fails
// the test if any process of the installation is left.
func newEnv(t *testing.T, extraEnv ...string) *env {
	t.Helper()
	return newEnvArgs(t, nil, extraEnv...)
}

// newEnvArgs is newEnv with extra `hearth server` flags.
func newEnvArgs(t *testing.T, serverArgs []string, extraEnv ...string) *env {
	t.Helper()
	e := &env{t: t, home: t.TempDir(), extraEnv: extraEnv, serverArgs: serverArgs}
	e.addr = freeAddr(t)
	e.endpoint = "http://" + e.addr
	e.gateway = "http://" + freeAddr(t)
	e.s3 = "http://" + freeAddr(t)
	e.startServer()
	t.Cleanup(func() {
		e.terminateAll()
		e.stopServer()
		e.assertNoProcesses()
	})
	return e
}

func (e *env) environ() []string {
	return append(append(os.Environ(), "HEARTH_HOME="+e.home, "HEARTH_ENDPOINT="+e.endpoint, "HEARTH_JAR_CACHE="+jarCache(),
		"HEARTH_CDS_CACHE="+filepath.Join(filepath.Dir(jarCache()), "cds")), e.extraEnv...)
}

// jarCache is where every test's server keeps the S3A connector's jars
// (800 MB for both Spark versions): fetched once, by the first test that
// needs them, as a user's one server would. The daemons' class-data
// archives are kept beside it (cds/), built once too.
func jarCache() string {
	if d := os.Getenv("HEARTH_TEST_JAR_CACHE"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "hearth-test", "maven")
}

func (e *env) startServer() {
	e.t.Helper()
	name := e.logName
	if name == "" {
		name = "server.log"
	}
	log, err := os.OpenFile(filepath.Join(e.home, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		os.MkdirAll(e.home, 0o700)
		log, err = os.OpenFile(filepath.Join(e.home, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			e.t.Fatal(err)
		}
	}
	cmd := exec.Command(hearthBin, append([]string{"server", "--listen", e.addr, "--gateway-listen", strings.TrimPrefix(e.gateway, "http://"),
		"--s3-listen", strings.TrimPrefix(e.s3, "http://")}, e.serverArgs...)...)
	cmd.Env = e.environ()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.server = cmd
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("tcp", e.addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("server did not listen on %s; log:\n%s", e.addr, e.file(name))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) stopServer() {
	if e.server == nil {
		return
	}
	e.server.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { e.server.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		e.server.Process.Kill()
		<-done
	}
	e.server = nil
}

// killServer kills the server without letting it clean up.
func (e *env) killServer() {
	e.server.Process.Kill()
	e.server.Wait()
	e.server = nil
}

func (e *env) file(rel string) string {
	b, _ := os.ReadFile(filepath.Join(e.home, rel))
	return string(b)
}

// result is a finished CLI invocation.
type result struct {
	code           int
	stdout, stderr string
}

// hearth runs the CLI with args.
func (e *env) hearth(args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, hearthBin, args...)
	cmd.Env = e.environ()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("hearth %v: %v", args, err)
	}
	return result{code, out.String(), errb.String()}
}

// ok runs the CLI and fails the test unless it exits 0.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.hearth(args...)
	if r.code != 0 {
		e.t.Fatalf("hearth %s: exit %d\nstdout: %s\nstderr: %s\nserver log tail:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr, tailString(e.file("server.log"), 3000))
	}
	return r.stdout
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return v
}

func (e *env) describe(id string) *control.ClusterView {
	e.t.Helper()
	v := decodeJSON[control.ClusterView](e.t, e.ok("describe-cluster", "--cluster-id", id))
	return &v
}

// terminateAll terminates every active cluster and waits for them to end.
func (e *env) terminateAll() {
	if e.server == nil {
		return
	}
	r := e.hearth("list-clusters", "--active")
	if r.code != 0 {
		return
	}
	var list struct{ Clusters []struct{ Id string } }
	json.Unmarshal([]byte(r.stdout), &list)
	for _, c := range list.Clusters {
		e.hearth("terminate-clusters", "--cluster-ids", c.Id)
		e.hearth("wait", "cluster-terminated", "--cluster-id", c.Id, "--timeout", "2m")
	}
}

// processes lists live processes that belong to this installation, other
// than its server: any whose command line or environment names its home.
func (e *env) processes() []string {
	server := -1
	if e.server != nil {
		server = e.server.Process.Pid
	}
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == os.Getpid() || pid == server {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			continue
		}
		if f := strings.Fields(string(stat[i+1:])); len(f) > 1 && f[1] == strconv.Itoa(server) {
			continue // the server's own S3 store: part of the server
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if bytes.Contains(cmdline, []byte(e.home)) || bytes.Contains(environ, []byte("HEARTH_HOME="+e.home+"\x00")) {
			out = append(out, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		}
	}
	return out
}

// assertNoProcesses fails the test if anything of the installation still
// runs (after a short grace for exiting processes), and kills it.
func (e *env) assertNoProcesses() {
	var left []string
	for range 50 {
		if left = e.processes(); len(left) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range left {
		pid, _ := strconv.Atoi(strings.Fields(p)[0])
		syscall.Kill(pid, syscall.SIGKILL)
	}
	e.t.Errorf("processes left behind:\n%s", strings.Join(left, "\n"))
}

func sparkHome(t *testing.T) string {
	out, err := exec.Command("python3", "-c", "import pyspark,os;print(os.path.dirname(pyspark.__file__))").Output()
	if err != nil {
		t.Fatalf("pyspark not importable (make test installs it): %v", err)
	}
	return strings.TrimSpace(string(out))
}

type drivers struct {
	active    int
	completed string
}

// masterDrivers reads the drivers the Spark master of cluster id knows of
// from its /json, through the gateway.
func (e *env) masterDrivers(id string) drivers {
	e.t.Helper()
	m := decodeJSON[struct {
		ActiveDrivers    []struct{ State string } `json:"activedrivers"`
		CompletedDrivers []struct{ State string } `json:"completeddrivers"`
	}](e.t, e.gatewayGet("/clusters/"+id+"/ui/json/"))
	var states []string
	for _, d := range m.CompletedDrivers {
		states = append(states, d.State)
	}
	return drivers{active: len(m.ActiveDrivers), completed: strings.Join(states, ",")}
}

// flow is one subtest of runConcurrently.
type flow struct {
	name string
	run  func(t *testing.T)
}

// runConcurrently runs the flows as subtests at the same time (t.Run from
// goroutines, so -parallel does not cap it): flows that spend most of their
// time waiting on JVMs and polls share one server.
func runConcurrently(t *testing.T, flows []flow) {
	var wg sync.WaitGroup
	for _, f := range flows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(f.name, f.run)
		}()
	}
	wg.Wait()
}
