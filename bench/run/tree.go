package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

// A run's process tree is the command this benchmark starts and everything
// started under it, whatever process group or session that joins: hearth
// run's agents have their own session, their JVMs and steps their own
// process groups, so neither the command's group nor its session holds the
// whole run.
//
// Its CPU time comes from rusage. When a process is reaped, the kernel
// adds its CPU time, and that of every descendant it had reaped, to its
// reaper's; so the rusage wait4 returns for the command is that of every
// process of the tree that was waited for by its parent. What that misses
// is an orphan: a process whose parent exited first is reparented, and its
// time goes to whoever reaps it. /usr/bin/time and
// exec.Cmd.ProcessState.SysUsage miss those. This benchmark therefore
// makes itself a child subreaper (prctl(PR_SET_CHILD_SUBREAPER)): orphans
// of the tree are reparented to it, not to init, and it reaps every child
// with wait4(-1) until none is left, summing their rusage. Each process's
// time is counted once: in its own rusage when this process reaps it, or
// in that of the ancestor that reaped it. It also means the run is over
// only when the last process of its tree has exited.
//
// One hole is left: a process whose parent ignores SIGCHLD is reaped by
// the kernel itself when it exits, and its time goes to nobody. pyspark's
// daemon.py does that to its Python workers, on both sides. Such a process
// is recognised in the samples (its parent's SigIgn in /proc/<pid>/status
// has SIGCHLD) and, unless this process reaped it after all (its parent
// exited first), its CPU time at its last sample, its reaped children's
// included, is added. What it used after that sample is lost: at most one
// sampling interval per such process.

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER of <linux/prctl.h>.
const prSetChildSubreaper = 36

// becomeSubreaper makes this process the reaper of every orphan among its
// descendants started from now on.
func becomeSubreaper() error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", e)
	}
	return nil
}

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux ABI Go supports).
const clockTick = 10 * time.Millisecond

// treeUsage is what one run of a command cost, its whole process tree
// included.
type treeUsage struct {
	WallS float64 `json:"wall_s"` // just before the command started -> it exited (reaped)
	TreeS float64 `json:"tree_s"` // just before the command started -> the last process of its tree was reaped
	// CPUS is UserS + SysS + AutoreapedS: the rusage of every process of
	// the tree, and the sampled time of those the kernel reaped.
	CPUS  float64 `json:"cpu_s"`
	UserS float64 `json:"user_s"`
	SysS  float64 `json:"sys_s"`
	// AutoreapedS is the CPU time, at their last sample, of the processes
	// whose parent ignored SIGCHLD (Autoreaped of them): no rusage has it.
	AutoreapedS float64 `json:"autoreaped_cpu_s"`
	Autoreaped  int     `json:"autoreaped"`
	// SampledCPUS cross-checks CPUS: utime+stime from /proc of every
	// process a sample saw, at its last sample. It misses processes that
	// lived between two samples and the time after the last one, so it is
	// a little below CPUS; above means the rusage missed a process.
	SampledCPUS float64 `json:"sampled_cpu_s"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"` // the largest sum of the tree's RSS at one sample
	Processes   int     `json:"processes"`    // distinct processes the samples saw
	MaxLive     int     `json:"max_live"`     // the most processes alive at one sample
	Samples     int     `json:"samples"`
	ExitCode    int     `json:"exit_code"` // -1: killed by a signal
}

// treeOptions say how runTree samples and when it gives up.
type treeOptions struct {
	sample  time.Duration // /proc sampling interval
	timeout time.Duration // the whole tree must be gone by then
	linger  time.Duration // how long the tree may outlive the command
}

// leftoverError is a run whose processes outlived it: they were killed,
// and the benchmark fails with status 3.
type leftoverError struct {
	what  string
	procs []string
}

func (e *leftoverError) Error() string {
	return fmt.Sprintf("%s: %d process(es) left behind (killed): %s", e.what, len(e.procs), strings.Join(e.procs, "; "))
}

// runTree starts cmd in a new process group, samples its tree every
// o.sample and reaps it, and returns what it cost once no process of the
// tree is left. It must be the only thing starting processes while it
// runs, in a process that is a subreaper (becomeSubreaper): it reaps every
// child of this process. A tree that outlives cmd by more than o.linger
// is killed and is a *leftoverError; one that outlives o.timeout or ctx
// is stopped (SIGTERM to cmd's group, then SIGKILL to the whole tree) and
// is an error.
func runTree(ctx context.Context, what string, cmd *exec.Cmd, o treeOptions) (treeUsage, error) {
	var u treeUsage
	if err := reapStale(); err != nil {
		return u, err
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	smp := newSampler()
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return u, fmt.Errorf("start %s: %w", what, err)
	}
	defer cmd.Process.Release() // reaped below, never by cmd.Wait
	root := cmd.Process.Pid

	var (
		mu             sync.Mutex
		user, sys      time.Duration
		rootAt, lastAt time.Time
		status         syscall.WaitStatus
		reaped         = map[int]bool{}
	)
	rootExited := make(chan struct{})
	treeGone := make(chan struct{})
	go func() {
		defer close(treeGone)
		for {
			var ws syscall.WaitStatus
			var ru syscall.Rusage
			pid, err := syscall.Wait4(-1, &ws, 0, &ru)
			if err == syscall.EINTR {
				continue
			}
			if err != nil { // ECHILD: no child, so no descendant, is left
				return
			}
			now := time.Now()
			mu.Lock()
			user += time.Duration(ru.Utime.Nano())
			sys += time.Duration(ru.Stime.Nano())
			lastAt = now
			reaped[pid] = true
			if pid == root {
				rootAt, status = now, ws
			}
			mu.Unlock()
			if pid == root {
				close(rootExited)
			}
		}
	}()

	tick := time.NewTicker(o.sample)
	defer tick.Stop()
	deadline := time.NewTimer(o.timeout)
	defer deadline.Stop()
	var lingered <-chan time.Time
	var err error
	smp.sample()
wait:
	for {
		select {
		case <-treeGone:
			break wait
		case <-rootExited:
			rootExited = nil
			lingered = time.After(o.linger)
		case <-tick.C:
			smp.sample()
		case <-lingered:
			var procs []string
			for _, pid := range smp.sample() {
				procs = append(procs, describe(pid))
			}
			err = &leftoverError{what: what + " exited, but its tree lives on after " + o.linger.String(), procs: procs}
			break wait
		case <-deadline.C:
			err = fmt.Errorf("%s has not ended after %s", what, o.timeout)
			break wait
		case <-ctx.Done():
			err = ctx.Err()
			break wait
		}
	}
	if err != nil {
		if !stopTree(root, rootExited == nil, treeGone, 30*time.Second, smp) {
			return u, fmt.Errorf("%w; and processes of its tree survive SIGKILL: %v", err, smp.sample())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	lost, n := smp.autoreaped(reaped)
	u.UserS, u.SysS, u.AutoreapedS, u.Autoreaped = round(user), round(sys), round(lost), n
	u.CPUS = round(user + sys + lost)
	u.WallS, u.TreeS = round(rootAt.Sub(t0)), round(lastAt.Sub(t0))
	u.ExitCode = status.ExitStatus() // -1 when signalled
	u.SampledCPUS = round(smp.cpu())
	u.PeakRSSMiB = benchutil.Round3(float64(smp.peakRSS) / (1 << 20))
	u.Processes, u.MaxLive, u.Samples = len(smp.last), smp.maxLive, smp.n
	return u, err
}

func round(d time.Duration) float64 { return float64(d.Round(time.Millisecond)) / float64(time.Second) }

// stopTree stops a run's tree that has to end now: SIGTERM to the
// command's process group while it runs (hearth run then terminates its
// cluster itself), else to every process of the tree; after grace, SIGKILL
// to every process of the tree until none is left. It reports whether the
// tree is gone.
func stopTree(root int, rootGone bool, treeGone <-chan struct{}, grace time.Duration, smp *sampler) bool {
	if rootGone {
		for _, pid := range smp.sample() {
			syscall.Kill(pid, syscall.SIGTERM)
		}
	} else {
		syscall.Kill(-root, syscall.SIGTERM)
	}
	select {
	case <-treeGone:
		return true
	case <-time.After(grace):
	}
	for range 100 { // 10s: a process may fork while being killed
		for _, pid := range smp.sample() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-treeGone:
			return true
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false
}

// reapStale reaps children that exited before a run (an orphan of an
// untimed command), so that their time is not counted in it, and refuses
// to start a run while a child is still alive.
func reapStale() error {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		switch {
		case err == syscall.EINTR:
		case err != nil: // ECHILD: none
			return nil
		case pid == 0:
			var live []string
			for _, p := range newSampler().sample() {
				live = append(live, describe(p))
			}
			return fmt.Errorf("a process started before this run is still running and would be counted in it: %s", strings.Join(live, "; "))
		}
	}
}

// procKey names a process across pid reuse.
type procKey struct {
	pid   int
	start uint64 // starttime, field 22 of /proc/<pid>/stat
}

// sampler reads /proc for the descendants of this process.
type sampler struct {
	self    int
	page    int64
	last    map[procKey]seen // each process at the last sample that saw it
	peakRSS int64            // bytes
	maxLive int
	n       int
}

// seen is a process as a sample saw it.
type seen struct {
	pid         int
	cpu         uint64 // utime+stime, clock ticks
	childrenCPU uint64 // cutime+cstime: its reaped children's
	// parentIgnoresChld: its parent ignored SIGCHLD, so the kernel reaps
	// it if it exits before its parent.
	parentIgnoresChld bool
}

func newSampler() *sampler {
	return &sampler{self: os.Getpid(), page: int64(os.Getpagesize()), last: map[procKey]seen{}}
}

// sample reads every process's stat, finds this process's descendants by
// their parent pids (orphans of a run are this process's children, since
// it is their subreaper), records their CPU time and the sum of their RSS,
// and returns the live ones.
func (s *sampler) sample() []int {
	entries, _ := os.ReadDir("/proc")
	stats := map[int]procStat{}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == s.self {
			continue
		}
		st, ok := readStat(pid)
		if !ok {
			continue
		}
		stats[pid] = st
		children[st.ppid] = append(children[st.ppid], pid)
	}
	var live []int
	var rss int64
	ignores := map[int]bool{} // parent pid -> ignores SIGCHLD, read once a sample
	queue := append([]int(nil), children[s.self]...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = append(queue[1:], children[pid]...)
		st := stats[pid]
		ign, ok := ignores[st.ppid]
		if !ok {
			ign = st.ppid != s.self && ignoresSIGCHLD(st.ppid)
			ignores[st.ppid] = ign
		}
		s.last[procKey{pid, st.start}] = seen{pid: pid, cpu: st.utime + st.stime, childrenCPU: st.cutime + st.cstime, parentIgnoresChld: ign}
		if st.state != 'Z' && st.state != 'X' {
			live = append(live, pid)
			rss += st.rss * s.page
		}
	}
	s.n++
	s.peakRSS = max(s.peakRSS, rss)
	s.maxLive = max(s.maxLive, len(live))
	return live
}

// cpu is the sum of the last CPU time sampled of every process seen.
func (s *sampler) cpu() time.Duration {
	var t uint64
	for _, p := range s.last {
		t += p.cpu
	}
	return time.Duration(t) * clockTick
}

// autoreaped is the CPU time, its reaped children's included, of every
// process seen whose parent ignored SIGCHLD at its last sample and which
// is not in reaped (the pids this process reaped), and how many there
// were: the kernel reaped those, and no rusage counts them.
func (s *sampler) autoreaped(reaped map[int]bool) (time.Duration, int) {
	var t uint64
	n := 0
	for _, p := range s.last {
		if p.parentIgnoresChld && !reaped[p.pid] {
			t += p.cpu + p.childrenCPU
			n++
		}
	}
	return time.Duration(t) * clockTick, n
}

// sigchld is SIGCHLD's bit in the signal masks of /proc/<pid>/status.
const sigchld = 1 << (syscall.SIGCHLD - 1)

// ignoresSIGCHLD reports whether process pid ignores SIGCHLD (SigIgn in
// its /proc/<pid>/status).
func ignoresSIGCHLD(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	_, rest, ok := bytes.Cut(b, []byte("\nSigIgn:"))
	if !ok {
		return false
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	mask, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 16, 64)
	return err == nil && mask&sigchld != 0
}

// procStat is what the benchmark reads of /proc/<pid>/stat.
type procStat struct {
	state          byte
	ppid           int
	utime, stime   uint64 // clock ticks, the process's own (all its threads)
	cutime, cstime uint64 // clock ticks, of the children it reaped
	start          uint64 // clock ticks after boot
	rss            int64  // pages
}

func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	return parseStat(b)
}

// parseStat parses a /proc/<pid>/stat line. The command name (field 2) is
// in parentheses and may itself contain spaces and parentheses, so the
// fields are counted from the last ')'.
func parseStat(b []byte) (procStat, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3
	if len(f) < 22 || len(f[0]) != 1 {
		return procStat{}, false
	}
	num := func(field int) uint64 { n, _ := strconv.ParseUint(f[field-3], 10, 64); return n }
	st := procStat{state: f[0][0], utime: num(14), stime: num(15), cutime: num(16), cstime: num(17), start: num(22), rss: int64(num(24))}
	st.ppid, _ = strconv.Atoi(f[1])
	return st, true
}

// describe is pid and its command line, for messages.
func describe(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	c := strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	if len(c) > 160 {
		c = c[:160] + "..."
	}
	return fmt.Sprintf("pid %d: %s", pid, c)
}
