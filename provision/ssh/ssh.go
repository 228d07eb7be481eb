// Package ssh is the provisioner of machines the user can SSH into (`hearth
// hosts add`). To launch a node it copies the hearth binary to the host over
// SFTP (once per binary), writes the node's credential into a file only the
// SSH user can read, and starts `hearth agent` detached in its own session.
// From then on the agent dials the control plane over TLS and nothing else
// needs SSH: liveness is the agent's heartbeat. Terminate asks the agent's
// host to stop the node's session (the agent has normally stopped itself on
// its plan's Stop already).
package ssh

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// unreachableGiveUp is how long Terminate keeps trying a host it cannot
// reach before it reports the node stopped anyway (and says so in the log):
// a machine that is gone must not hold its cluster in TERMINATING forever.
const unreachableGiveUp = 2 * time.Minute

// Provisioner places nodes on inventory hosts and starts their agents over
// SSH.
type Provisioner struct {
	Store hearth.Store
	// Executable is the hearth binary copied to hosts (default: this one).
	// It must be built for the hosts' OS and architecture.
	Executable string
	// ServerURL is the control plane's URL as agents on hosts reach it
	// (hearth server --advertise-url); CAPEM the certificate they pin.
	ServerURL string
	CAPEM     []byte
	Logger    *slog.Logger
	// Grace is how long a node's processes get to stop after SIGTERM
	// (default 20s).
	Grace time.Duration

	mu       sync.Mutex
	reserved map[string]string    // node id -> host id, placed but maybe not stored yet
	stopped  map[string]bool      // nodes whose processes are known gone
	failing  map[string]time.Time // node id -> first failure to reach its host in Terminate
	binary   *binaryInfo
}

type binaryInfo struct {
	path, sha string
}

var (
	_ hearth.Provisioner = (*Provisioner)(nil)
	_ hearth.Fitter      = (*Provisioner)(nil)
)

// handle finds a node's agent again after a control plane restart.
type handle struct {
	HostId    string `json:"HostId"`
	Pid       int    `json:"Pid"`
	StartTime uint64 `json:"StartTime"`
	Dir       string `json:"Dir"` // the node's directory on the host
	Bin       string `json:"Bin"` // the hearth binary on the host
}

// Name implements hearth.Provisioner.
func (p *Provisioner) Name() string { return "ssh" }

func (p *Provisioner) log() *slog.Logger {
	if p.Logger == nil {
		return slog.Default()
	}
	return p.Logger
}

// usage is how many live nodes each host carries, and how many of cluster
// c's nodes failed on each.
func (p *Provisioner) usage(ctx context.Context, clusterID string) (used, failed map[string]int, err error) {
	used, failed = map[string]int{}, map[string]int{}
	clusters, err := p.Store.Clusters(ctx, hearth.LiveClusterStates...)
	if err != nil {
		return nil, nil, err
	}
	stored := map[string]bool{}
	for _, c := range clusters {
		if c.Provisioner != p.Name() {
			continue
		}
		nodes, err := p.Store.Nodes(ctx, c.Id)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range nodes {
			if n.HostId == "" {
				continue
			}
			stored[n.Id] = true
			switch {
			case !n.State.Ended():
				used[n.HostId]++
			case n.State == hearth.NodeFailed && c.Id == clusterID:
				failed[n.HostId]++
			}
		}
	}
	for node, host := range p.reserved {
		if !stored[node] {
			// Not on a host of a live cluster: still being launched, or
			// its cluster ended (or its placement was never recorded).
			n, err := p.Store.Node(ctx, node)
			if err == nil && n.HostId == "" && !n.State.Ended() {
				used[host]++
				continue
			}
		}
		delete(p.reserved, node)
	}
	return used, failed, nil
}

// usable says why host h cannot take a node now, or "".
func usable(h *hearth.Host, used int) string {
	switch {
	case h.Facts.OS != "linux" || h.Facts.Arch != runtime.GOARCH:
		return fmt.Sprintf("%s/%s, not linux/%s like this hearth binary", h.Facts.OS, h.Facts.Arch, runtime.GOARCH)
	case used >= h.MaxNodes:
		return fmt.Sprintf("carries %d node(s), its --max-nodes", used)
	}
	return ""
}

// Place implements hearth.Provisioner: n goes to a host with a free slot,
// preferring hosts where none of the cluster's nodes failed, then the least
// used. Its ports are chosen by its agent, on the host.
func (p *Provisioner) Place(ctx context.Context, c *hearth.Cluster, n *hearth.Node) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	hosts, err := p.Store.Hosts(ctx)
	if err != nil {
		return err
	}
	used, failed, err := p.usage(ctx, c.Id)
	if err != nil {
		return err
	}
	var free []*hearth.Host
	var why []string
	for _, h := range hosts {
		if reason := usable(h, used[h.Id]); reason != "" {
			why = append(why, h.Name+": "+reason)
			continue
		}
		free = append(free, h)
	}
	if len(free) == 0 {
		return fmt.Errorf("no host can take node %s (%s); add one with `hearth hosts add`", n.Id, strings.Join(why, "; "))
	}
	sort.SliceStable(free, func(i, j int) bool {
		a, b := free[i], free[j]
		if failed[a.Id] != failed[b.Id] {
			return failed[a.Id] < failed[b.Id]
		}
		return used[a.Id] < used[b.Id]
	})
	h := free[0]
	n.Host, n.HostId, n.Ports = h.Address, h.Id, hearth.NodePorts{}
	if p.reserved == nil {
		p.reserved = map[string]string{}
	}
	p.reserved[n.Id] = h.Id
	return nil
}

// Fit implements hearth.Fitter: the cluster needs a free slot for each of
// its nodes, and its Spark sizes are capped to the smallest host free now.
func (p *Provisioner) Fit(ctx context.Context, c *hearth.Cluster) ([]string, error) {
	if p.ServerURL == "" {
		return nil, hearth.Invalid("provisioner", p.Name(), "agents on other machines need an address of this server: start hearth server with --advertise-url https://<an address the hosts reach>:<port>")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	hosts, err := p.Store.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	used, _, err := p.usage(ctx, c.Id)
	if err != nil {
		return nil, err
	}
	need, slots := 0, 0
	for _, g := range c.InstanceGroups {
		need += g.RequestedInstanceCount
	}
	var fewestCPUs, leastMemory *hearth.Host
	var why []string
	for _, h := range hosts {
		if reason := usable(h, used[h.Id]); reason != "" {
			why = append(why, h.Name+": "+reason)
			continue
		}
		slots += h.MaxNodes - used[h.Id]
		if fewestCPUs == nil || h.Facts.CPUs < fewestCPUs.Facts.CPUs {
			fewestCPUs = h
		}
		if leastMemory == nil || h.Facts.MemoryMB < leastMemory.Facts.MemoryMB {
			leastMemory = h
		}
	}
	if slots < need {
		msg := fmt.Sprintf("the cluster has %d nodes but the ssh provisioner's hosts have %d free slots", need, slots)
		if len(hosts) == 0 {
			msg += " (the inventory is empty)"
		}
		if len(why) > 0 {
			msg += " (" + strings.Join(why, "; ") + ")"
		}
		return nil, hearth.Invalid("instance-groups", strconv.Itoa(need)+" nodes", msg+"; add hosts with `hearth hosts add` or ask for fewer instances")
	}
	// A node keeps 1 GiB of its host for the OS and Hearth, and 512 MiB for
	// each Spark daemon besides the worker's executors.
	var notes []string
	maxMem := leastMemory.Facts.MemoryMB - 1024 - 512*2
	for i := range c.InstanceGroups {
		g := &c.InstanceGroups[i]
		if g.Spark.Cores > fewestCPUs.Facts.CPUs {
			notes = append(notes, fmt.Sprintf("%s workers offer %d cores, not %d: the free host with the fewest, %s, has %d", g.Id, fewestCPUs.Facts.CPUs, g.Spark.Cores, fewestCPUs.Name, fewestCPUs.Facts.CPUs))
			g.Spark.Cores = fewestCPUs.Facts.CPUs
		}
		if g.Spark.MemoryMB > maxMem && maxMem >= 512 {
			notes = append(notes, fmt.Sprintf("%s workers offer %d MiB, not %d: the free host with the least memory, %s, has %d MiB", g.Id, maxMem, g.Spark.MemoryMB, leastMemory.Name, leastMemory.Facts.MemoryMB))
			g.Spark.MemoryMB = maxMem
		}
	}
	return notes, nil
}

// Launch implements hearth.Provisioner.
func (p *Provisioner) Launch(ctx context.Context, n *hearth.Node, env map[string]string) ([]byte, error) {
	h, err := p.Store.Host(ctx, n.HostId)
	if err != nil {
		return nil, fmt.Errorf("node %s: its host %s: %w", n.Id, n.HostId, err)
	}
	bin, err := p.binaryInfo()
	if err != nil {
		return nil, err
	}
	c, err := dial(ctx, h)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	out, err := run(c, `uname -s; uname -m; printf '%s\n' "$HOME"`)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h, err)
	}
	f := strings.Split(strings.TrimSpace(out), "\n")
	if len(f) < 3 {
		return nil, fmt.Errorf("%s: unexpected answer to uname: %q", h, out)
	}
	if osName, arch := strings.ToLower(f[0]), goArch(f[1]); osName != "linux" || arch != runtime.GOARCH {
		return nil, fmt.Errorf("%s runs %s/%s, but this hearth binary is linux/%s: nodes need a host of the same OS and architecture as the control plane (or a hearth server built for theirs)",
			h, osName, arch, runtime.GOARCH)
	}
	work := h.WorkDir
	if !path.IsAbs(work) {
		work = path.Join(f[2], work)
	}
	h2 := handle{HostId: h.Id, Dir: path.Join(work, "nodes", n.Id), Bin: path.Join(work, "bin", "hearth-"+bin.sha[:16])}
	if _, err := run(c, fmt.Sprintf("umask 077 && mkdir -p %s %s", shellQuote(path.Dir(h2.Bin)), shellQuote(h2.Dir))); err != nil {
		return nil, fmt.Errorf("%s: create %s: %w", h, h2.Dir, err)
	}
	fs, err := sftp.NewClient(c)
	if err != nil {
		return nil, fmt.Errorf("%s: sftp: %w", h, err)
	}
	defer fs.Close()
	if err := upload(fs, bin.path, h2.Bin, 0o755, false); err != nil {
		return nil, fmt.Errorf("%s: copy the hearth binary: %w", h, err)
	}
	caFile := path.Join(work, "ca.pem")
	if err := writeFile(fs, caFile, p.CAPEM); err != nil {
		return nil, fmt.Errorf("%s: write %s: %w", h, caFile, err)
	}
	env = maps(env, map[string]string{
		"HEARTH_SERVER":      p.ServerURL,
		"HEARTH_CA_FILE":     caFile,
		"HEARTH_RUNTIME_DIR": path.Join(work, "runtime"),
		"HEARTH_NODE_HOST":   h.Address,
	})
	var lines strings.Builder
	for _, k := range slices.Sorted(mapsKeys(env)) {
		if strings.ContainsAny(env[k], "\n\x00") {
			return nil, fmt.Errorf("agent environment %s: value has a newline", k)
		}
		fmt.Fprintf(&lines, "%s=%s\n", k, env[k])
	}
	// The node directory is 0700: the credential is never readable by
	// another user, even for the instant before a chmod.
	if err := writeFile(fs, path.Join(h2.Dir, "agent.env"), []byte(lines.String())); err != nil {
		return nil, fmt.Errorf("%s: write the agent's environment: %w", h, err)
	}
	start := fmt.Sprintf("cd %s && { setsid %s agent --env-file agent.env </dev/null >>agent.log 2>&1 & } && pid=$! && sleep 0.1 && cat /proc/$pid/stat",
		shellQuote(h2.Dir), shellQuote(h2.Bin))
	out, err = run(c, start)
	if err != nil {
		return nil, fmt.Errorf("%s: start the agent: %w", h, err)
	}
	if h2.Pid, h2.StartTime, err = parseStat(out); err != nil {
		return nil, fmt.Errorf("%s: start the agent: %w (see %s/agent.log on the host)", h, err, h2.Dir)
	}
	p.log().Info("agent started over ssh", "node", n.Id, "host", h.Name, "pid", h2.Pid)
	return json.Marshal(h2)
}

// parseStat reads the pid (field 1) and start time (field 22) of a
// /proc/<pid>/stat line.
func parseStat(s string) (int, uint64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 || strings.IndexByte(s, ' ') <= 0 {
		return 0, 0, fmt.Errorf("agent exited at once")
	}
	pid, err := strconv.Atoi(strings.Fields(s[:strings.IndexByte(s, ' ')+1])[0])
	f := strings.Fields(s[i+1:])
	if err != nil || len(f) < 20 || f[0] == "Z" {
		return 0, 0, fmt.Errorf("agent exited at once")
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	return pid, st, err
}

// Alive implements hearth.Provisioner. The control plane never asks a host
// over SSH: an ssh node is alive while its agent's heartbeats arrive.
func (p *Provisioner) Alive(ctx context.Context, n *hearth.Node) (bool, error) { return true, nil }

// Terminate implements hearth.Provisioner: the node's session on its host
// is stopped (SIGTERM to the agent, which stops its JVMs; SIGKILL to
// anything left after the grace period). A host that stays unreachable for
// unreachableGiveUp is given up on.
func (p *Provisioner) Terminate(ctx context.Context, n *hearth.Node) error {
	var h2 handle
	if len(n.Launch) == 0 {
		return nil
	}
	if err := json.Unmarshal(n.Launch, &h2); err != nil {
		return fmt.Errorf("node %s: bad launch handle: %w", n.Id, err)
	}
	p.mu.Lock()
	done := p.stopped[n.Id]
	p.mu.Unlock()
	if done || h2.Pid == 0 {
		return nil
	}
	err := p.stopOnHost(ctx, n, h2)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped == nil {
		p.stopped, p.failing = map[string]bool{}, map[string]time.Time{}
	}
	if err == nil {
		p.stopped[n.Id] = true
		delete(p.failing, n.Id)
		return nil
	}
	first, ok := p.failing[n.Id]
	if !ok {
		first = time.Now()
		p.failing[n.Id] = first
	}
	if time.Since(first) > unreachableGiveUp {
		p.log().Warn("giving up stopping a node: its host stays unreachable; its processes may still run there", "node", n.Id, "host", h2.HostId, "err", err)
		p.stopped[n.Id] = true
		return nil
	}
	return err
}

func (p *Provisioner) stopOnHost(ctx context.Context, n *hearth.Node, h2 handle) error {
	h, err := p.Store.Host(ctx, h2.HostId)
	if errors.Is(err, hearth.ErrNotFound) {
		return nil // removed from the inventory: nothing to reach
	}
	if err != nil {
		return err
	}
	c, err := dial(ctx, h)
	if err != nil {
		return err
	}
	defer c.Close()
	grace := p.Grace
	if grace == 0 {
		grace = 20 * time.Second
	}
	cmd := fmt.Sprintf("%s proc-stop --session %d --start-time %d --grace %s", shellQuote(h2.Bin), h2.Pid, h2.StartTime, grace)
	if _, err := run(c, cmd); err != nil {
		return fmt.Errorf("stop node %s on %s: %w", n.Id, h, err)
	}
	return nil
}

// binaryInfo is the binary copied to hosts and its SHA-256 (which names it
// there, so a host keeps one copy per build).
func (p *Provisioner) binaryInfo() (*binaryInfo, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.binary != nil {
		return p.binary, nil
	}
	exe := p.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	f, err := os.Open(exe)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return nil, err
	}
	p.binary = &binaryInfo{path: exe, sha: hex.EncodeToString(sum.Sum(nil))}
	return p.binary, nil
}

// upload copies the local file src to dst on the host unless dst exists
// (or always, if replace), through a temporary name: a copy cut short never
// leaves a truncated binary under the real name.
func upload(fs *sftp.Client, src, dst string, mode os.FileMode, replace bool) error {
	if _, err := fs.Stat(dst); err == nil && !replace {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".part-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	out, err := fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Chmod(tmp, mode)
	}
	if err == nil {
		err = fs.PosixRename(tmp, dst)
	}
	if err != nil {
		fs.Remove(tmp)
	}
	return err
}

// writeFile writes b to path on the host (in a directory only the SSH user
// can enter).
func writeFile(fs *sftp.Client, name string, b []byte) error {
	f, err := fs.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func maps(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Compile-time check that the ssh package's Client is what dial returns.
var _ = (*ssh.Client)(nil)
