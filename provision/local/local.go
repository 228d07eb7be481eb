// Package local is the default provisioner: every node of a cluster is a
// `hearth agent` process on this host, in its own session and work
// directory, with free loopback ports for its Spark daemons.
package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/internal/proc"
)

// Provisioner runs nodes as local processes.
type Provisioner struct {
	// Home is $HEARTH_HOME; node directories live in
	// Home/clusters/<cluster-id>/nodes/<node-id>.
	Home string
	// Executable is the hearth binary to run as agent (default: this one).
	Executable string
	// Grace is how long Terminate waits for a node's processes to stop after
	// SIGTERM before it kills them (default 20s).
	Grace time.Duration
}

var (
	_ hearth.Provisioner = (*Provisioner)(nil)
	_ hearth.HostBound   = (*Provisioner)(nil)
)

// handle identifies a launched agent across control-plane restarts: the
// start time guards against the pid being reused.
type handle struct {
	Pid       int    `json:"Pid"`
	StartTime uint64 `json:"StartTime"`
	Dir       string `json:"Dir"`
}

// Name implements hearth.Provisioner.
func (p *Provisioner) Name() string { return "local" }

// NodeDir is where the node's agent keeps its files.
func (p *Provisioner) NodeDir(clusterID, nodeID string) string {
	return filepath.Join(p.Home, "clusters", clusterID, "nodes", nodeID)
}

// Place implements hearth.Provisioner: every node is on loopback, on ports
// the OS reports free now.
func (p *Provisioner) Place(ctx context.Context, c *hearth.Cluster, n *hearth.Node) error {
	n.Host = "127.0.0.1"
	ports, err := FreePorts(hearth.PortsNeeded)
	if err != nil {
		return fmt.Errorf("place %s: %w", n.Id, err)
	}
	return hearth.AssignPorts(c, n, ports)
}

// FreePorts returns k distinct loopback ports the OS reports free now
// (another process may still take one before it is bound).
func FreePorts(k int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range k {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Launch implements hearth.Provisioner.
func (p *Provisioner) Launch(ctx context.Context, n *hearth.Node, env map[string]string) ([]byte, error) {
	dir := p.NodeDir(n.ClusterId, n.Id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	exe := p.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	logf, err := os.OpenFile(filepath.Join(dir, "agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, "agent", "--node-id", n.Id, "--dir", dir)
	cmd.Dir = dir
	cmd.Env = agentEnviron(os.Environ())
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // its own session: Terminate finds every descendant
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start agent for %s: %w", n.Id, err)
	}
	go cmd.Wait() // reap it if it exits while we run
	h := handle{Pid: cmd.Process.Pid, Dir: dir}
	h.StartTime, _ = proc.StartTime(h.Pid)
	return json.Marshal(h)
}

// Alive implements hearth.Provisioner.
func (p *Provisioner) Alive(ctx context.Context, n *hearth.Node) (bool, error) {
	h, err := decode(n)
	if err != nil || h.Pid == 0 {
		return false, err
	}
	return h.ref().Alive(), nil
}

func (h handle) ref() proc.Ref { return proc.Ref{Pid: h.Pid, StartTime: h.StartTime} }

// Terminate implements hearth.Provisioner: SIGTERM to the agent (which stops
// its JVMs gracefully), then, after the grace period, SIGKILL to every
// process left in the agent's session. It returns when none is left.
func (p *Provisioner) Terminate(ctx context.Context, n *hearth.Node) error {
	h, err := decode(n)
	if err != nil || h.Pid == 0 {
		return err
	}
	grace := p.Grace
	if grace == 0 {
		grace = 20 * time.Second
	}
	err = proc.StopSession(ctx, h.ref(), grace)
	var survivors *proc.SurvivorsError
	if errors.As(err, &survivors) {
		return fmt.Errorf("terminate %s: %w", n.Id, err)
	}
	return err
}

// Host implements hearth.HostBound.
func (p *Provisioner) Host() (hearth.HostCapacity, error) {
	mem, err := memTotalMB()
	return hearth.HostCapacity{CPUs: runtime.NumCPU(), MemoryMB: mem}, err
}

func decode(n *hearth.Node) (handle, error) {
	var h handle
	if len(n.Launch) == 0 {
		return h, nil
	}
	if err := json.Unmarshal(n.Launch, &h); err != nil {
		return h, fmt.Errorf("node %s: bad launch handle: %w", n.Id, err)
	}
	return h, nil
}

func memTotalMB() (int, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("/proc/meminfo: no MemTotal")
}

// agentEnviron is the server's environment without the control plane's
// database settings: a node's steps and bootstrap actions inherit the
// agent's environment, and must not find the database's URL or password.
func agentEnviron(environ []string) []string {
	return slices.DeleteFunc(slices.Clone(environ), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == "HEARTH_DATABASE" || name == "PGPASSWORD"
	})
}
