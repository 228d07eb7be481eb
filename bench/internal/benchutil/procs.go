// Package benchutil holds what Hearth's benchmarks (bench/...) share:
// process groups and the /proc scan that proves nothing was left behind,
// the clean-up every run ends with, a `hearth server` driven through its
// CLI and API (clusters, steps and their logs), log parsing, sample
// statistics and result files.
package benchutil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hearthcluster/hearth/internal/proc"
)

// Group is a process started in its own process group (Setpgid), so that it
// and everything it forks can be signalled together.
type Group struct {
	Name   string
	Cmd    *exec.Cmd
	exited chan struct{} // closed when the leader has been waited for
}

// StartGroup starts cmd as the leader of a new process group, its output
// appended to logPath.
func StartGroup(name string, cmd *exec.Cmd, logPath string) (*Group, error) {
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own copy once started
	cmd.Stdout, cmd.Stderr = out, out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	g := &Group{Name: name, Cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(g.exited) }()
	return g, nil
}

// Pgid is the group's id (its leader's pid).
func (g *Group) Pgid() int { return g.Cmd.Process.Pid }

// Exited is closed once the group leader has exited and been waited for.
func (g *Group) Exited() <-chan struct{} { return g.exited }

// Running reports whether the group leader has not exited yet.
func (g *Group) Running() bool {
	select {
	case <-g.exited:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM to the group, SIGKILL after grace, and returns once
// no member of the group is left and the leader has been waited for (or an
// error naming the survivors).
func (g *Group) Stop(grace time.Duration) error {
	if err := proc.StopGroup(context.Background(), g.Pgid(), grace); err != nil {
		return fmt.Errorf("%s: %w", g.Name, err)
	}
	<-g.exited // the leader is gone or a zombie: Wait returns
	return nil
}

// Leftover is a process that still refers to a benchmark's directory.
type Leftover struct {
	Pid     int    `json:"pid"`
	Cmdline string `json:"cmdline"`
}

func (l Leftover) String() string {
	c := l.Cmdline
	if len(c) > 160 {
		c = c[:160] + "..."
	}
	return fmt.Sprintf("pid %d: %s", l.Pid, c)
}

// Referring lists the live processes other than this one whose command
// line or environment contains dir: every process a benchmark starts (the
// hearth server, its agents, their JVMs and steps, the floor's processes)
// has the benchmark's temporary directory in one or the other.
func Referring(dir string) []Leftover {
	needle := []byte(dir)
	self := os.Getpid()
	var out []Leftover
	for _, pid := range proc.Pids() {
		if pid == self || !proc.Alive(pid) {
			continue
		}
		base := "/proc/" + strconv.Itoa(pid)
		cmdline, _ := os.ReadFile(base + "/cmdline")
		environ, _ := os.ReadFile(base + "/environ")
		if bytes.Contains(cmdline, needle) || bytes.Contains(environ, needle) {
			out = append(out, Leftover{Pid: pid, Cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))})
		}
	}
	return out
}

// Reap stops every process referring to dir: SIGTERM, then SIGKILL after
// grace. It returns the processes it had to signal.
func Reap(dir string, grace time.Duration) []Leftover {
	found := Referring(dir)
	if len(found) == 0 {
		return nil
	}
	for _, p := range found {
		syscall.Kill(p.Pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && len(Referring(dir)) > 0 {
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range Referring(dir) {
		syscall.Kill(p.Pid, syscall.SIGKILL)
	}
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && len(Referring(dir)) > 0 {
		time.Sleep(100 * time.Millisecond)
	}
	return found
}

// Sweep is the last step of every benchmark's clean-up: it signals any
// process still referring to root (saying which) and then scans /proc once
// more. It returns false, having said so loudly, when something is left.
func Sweep(name, root string) bool {
	if reaped := Reap(root, 10*time.Second); len(reaped) > 0 {
		fmt.Fprintf(os.Stderr, "%s: cleanup: %d process(es) had to be signalled:\n", name, len(reaped))
		for _, p := range reaped {
			fmt.Fprintln(os.Stderr, "   ", p)
		}
	}
	if left := Referring(root); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "\n!!!!!!!! %s: %d PROCESS(ES) LEFT BEHIND (they refer to %s):\n", name, len(left), root)
		for _, p := range left {
			fmt.Fprintln(os.Stderr, "!!!!!!!!   ", p)
		}
		return false
	}
	fmt.Fprintf(os.Stderr, "%s: no process left behind (scanned /proc for %s)\n", name, root)
	return true
}

// CleanEnv is this process's environment without the variables the
// benchmarks set themselves, so an outer Hearth or Spark setup cannot leak
// in.
func CleanEnv() []string {
	drop := []string{"HEARTH_", "SPARK_CONF_DIR=", "SPARK_LOG_DIR=", "SPARK_LOCAL_DIRS=", "SPARK_WORKER_DIR=",
		"SPARK_LOCAL_IP=", "SPARK_DAEMON_MEMORY=", "SPARK_HOME=", "SPARK_MASTER", "SPARK_WORKER"}
	var out []string
next:
	for _, kv := range os.Environ() {
		for _, p := range drop {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}
