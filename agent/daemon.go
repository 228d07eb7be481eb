package agent

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/internal/proc"
	"github.com/hearthcluster/hearth/spark"
)

// Supervision tuning.
const (
	stopGrace      = 10 * time.Second // SIGTERM to SIGKILL
	maxBackoff     = 30 * time.Second
	minBackoff     = time.Second
	healthyUptime  = 60 * time.Second // a run this long resets the backoff
	crashLoopAfter = 5                // consecutive quick exits that mean "failed"
	// A run that served (its address accepted connections) was healthy
	// too, however short: a JVM killed after it served is not a crash loop,
	// and comes back at once; quick exits after that wait minBackoff,
	// doubling up to maxBackoff.
)

// daemon supervises one Spark JVM: it starts it in its own process group
// (so executors and drivers it forks stop with it), restarts it with
// exponential backoff when it exits, and re-adopts a JVM a previous run of
// the agent left running.
type daemon struct {
	name string
	// cmd is what the plan asks for (a change restarts the daemon); launch
	// is how it is started: cmd, or the same JVM without the launcher JVM.
	cmd     spark.Command
	launch  spark.Command
	nodeID  string
	logPath string
	pidPath string
	log     *slog.Logger
	// waitFor, when set, is a host:port that must accept connections before
	// the daemon starts: a worker started before its master is listening
	// falls into Spark's registration retry backoff (seconds).
	waitFor string
	// readyAddr, when set, is the host:port the daemon serves on: it counts
	// as ready only once that accepts connections.
	readyAddr string
	// nice runs the daemon at a lower CPU priority (nice 10).
	nice bool
	// auxiliary daemons do not hold up the node's readiness.
	auxiliary bool

	mu          sync.Mutex
	pid         int
	running     bool
	restarts    int
	consecutive int
	lastExit    string
	// served is set once the current run's readyAddr accepted a
	// connection.
	served bool

	stopOnce sync.Once
	stopCh   chan struct{}
	done     chan struct{}
}

func newDaemon(name string, cmd spark.Command, dir, nodeID string, log *slog.Logger) *daemon {
	return &daemon{
		name: name, cmd: cmd, launch: cmd, nodeID: nodeID,
		logPath: filepath.Join(dir, "logs", "spark-"+name+".out"),
		pidPath: filepath.Join(dir, "run", name+".pid"),
		log:     log.With("daemon", name),
		stopCh:  make(chan struct{}),
		done:    make(chan struct{}),
	}
}

func (d *daemon) same(cmd spark.Command) bool {
	return slices.Equal(d.cmd.Args, cmd.Args) && slices.Equal(d.cmd.Env, cmd.Env)
}

func (d *daemon) status() hearth.DaemonStatus {
	d.mu.Lock()
	st := hearth.DaemonStatus{Name: d.name, PID: d.pid, Running: d.running, Restarts: d.restarts, LastExit: d.lastExit, Log: d.logPath}
	d.mu.Unlock()
	st.Ready = st.Running
	if st.Running && d.readyAddr != "" {
		c, err := net.DialTimeout("tcp", d.readyAddr, 200*time.Millisecond)
		if st.Ready = err == nil; st.Ready {
			c.Close()
			d.mu.Lock()
			if d.pid == st.PID {
				d.served = true
			}
			d.mu.Unlock()
		}
	}
	return st
}

// currentPID is the pid of the daemon's JVM, 0 while none runs.
func (d *daemon) currentPID() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.running {
		return 0
	}
	return d.pid
}

func (d *daemon) crashLooping() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.running && d.consecutive >= crashLoopAfter
}

// stop stops the daemon and waits until its process group is gone.
func (d *daemon) stop() {
	d.stopOnce.Do(func() { close(d.stopCh) })
	<-d.done
}

func (d *daemon) supervise() {
	defer close(d.done)
	if pid := d.adoptable(); pid > 0 {
		d.log.Info("re-adopted running daemon", "pid", pid)
		d.setRunning(pid, true)
		if d.watchAdopted(pid) {
			return
		}
	}
	backoff := minBackoff
	for {
		if !d.awaitDependency() {
			return
		}
		started := time.Now()
		exited, pid, err := d.start()
		if err != nil {
			d.exited(err.Error(), false)
		} else {
			select {
			case <-d.stopCh:
				terminateGroup(pid, exited)
				os.Remove(d.pidPath)
				d.setRunning(0, false)
				return
			case err := <-exited:
				if d.exited(exitText(err), time.Since(started) > healthyUptime) {
					backoff = 0
				}
			}
		}
		d.log.Warn("daemon exited; restarting", "in", backoff)
		select {
		case <-time.After(backoff):
			backoff = min(max(backoff*2, minBackoff), maxBackoff)
		case <-d.stopCh:
			os.Remove(d.pidPath)
			return
		}
	}
}

// awaitDependency waits until d.waitFor (host:port, or several separated
// by commas: any one will do) accepts a TCP connection. It returns false if
// the daemon is stopped first.
func (d *daemon) awaitDependency() bool {
	for d.waitFor != "" {
		for _, addr := range strings.Split(d.waitFor, ",") {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				return true
			}
		}
		select {
		case <-d.stopCh:
			return false
		case <-time.After(25 * time.Millisecond):
		}
	}
	return true
}

// start launches the JVM; exited receives its Wait result.
func (d *daemon) start() (exited chan error, pid int, err error) {
	out, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, 0, err
	}
	defer out.Close()
	args := d.launch.Args
	if d.nice {
		if nice, err := exec.LookPath("nice"); err == nil {
			args = append([]string{nice, "-n", "10"}, args...)
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(append(os.Environ(), d.launch.Env...), "HEARTH_NODE_ID="+d.nodeID, "HEARTH_DAEMON="+d.name)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("start %s: %w", d.name, err)
	}
	pid = cmd.Process.Pid
	os.WriteFile(d.pidPath, []byte(strconv.Itoa(pid)), 0o644)
	d.setRunning(pid, true)
	exited = make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	d.log.Info("started", "pid", pid)
	return exited, pid, nil
}

func (d *daemon) setRunning(pid int, running bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pid != pid {
		d.served = false // a new run
	}
	d.pid, d.running = pid, running
}

// exited records that the daemon's run ended, and reports whether the
// run was healthy: long (longLived), or it served.
func (d *daemon) exited(why string, longLived bool) (healthy bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.running = false
	d.restarts++
	d.lastExit = why
	healthy = longLived || d.served
	if healthy {
		d.consecutive = 0
	}
	d.consecutive++
	d.served = false
	return healthy
}

func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// adoptable returns the pid of a JVM this node's agent started before it
// was restarted, if that process is still alive and really is ours.
func (d *daemon) adoptable() int {
	b, err := os.ReadFile(d.pidPath)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return 0
	}
	if !bytes.Contains(env, []byte("\x00HEARTH_NODE_ID="+d.nodeID+"\x00")) || !bytes.Contains(env, []byte("HEARTH_DAEMON="+d.name+"\x00")) {
		return 0
	}
	return pid
}

// watchAdopted polls an adopted process (not our child, so it cannot be
// waited on). It returns true if the daemon was asked to stop.
func (d *daemon) watchAdopted(pid int) bool {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-d.stopCh:
			terminateGroup(pid, nil)
			os.Remove(d.pidPath)
			d.setRunning(0, false)
			return true
		case <-t.C:
			if !proc.Alive(pid) {
				d.exited("adopted process exited", true)
				return false
			}
		}
	}
}

// terminateGroup sends SIGTERM to the process group pgid, then SIGKILL
// after stopGrace, and returns once the group leader has exited. exited,
// when not nil, receives the leader's Wait result.
func terminateGroup(pgid int, exited chan error) {
	proc.SignalGroup(pgid, syscall.SIGTERM)
	deadline := time.After(stopGrace)
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case <-exited:
			exited = nil
			proc.SignalGroup(pgid, syscall.SIGKILL) // children that ignored SIGTERM
			return
		case <-deadline:
			proc.SignalGroup(pgid, syscall.SIGKILL)
			if exited != nil {
				<-exited
			}
			return
		case <-poll.C:
			if exited == nil && !proc.Alive(pgid) {
				proc.SignalGroup(pgid, syscall.SIGKILL)
				return
			}
		}
	}
}
