package agent

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/internal/proc"
)

// The agent samples its host and its node's processes from /proc every
// MetricsInterval and ships the newest sample with its next report.

// clockTicks is the kernel's USER_HZ, the unit of /proc's CPU times: 100
// on every Linux architecture Hearth runs on.
const clockTicks = 100

// procStat is what /proc/<pid>/stat says of one process.
type procStat struct {
	ppid  int
	start uint64 // start time, in ticks since boot: tells a reused pid apart
	ticks uint64 // user + system CPU time
	rssKB uint64
}

// sampler turns successive readings of /proc into rates.
type sampler struct {
	dir  string // the node's directory: its filesystem is the node's disk
	last time.Time
	// host CPU: busy and total ticks at the last sample
	busy, total uint64
	rx, tx      uint64
	procs       map[int]procStat
	heap        func(daemon string) float64 // JVM heap in use, MB (0: unknown)
}

func newSampler(dir string, heap func(string) float64) *sampler {
	return &sampler{dir: dir, procs: map[int]procStat{}, heap: heap}
}

// sample reads the host and the processes under root (the agent) now;
// daemons maps each daemon's name to its pid. CPU figures are rates since
// the previous sample, and zero on the first.
func (s *sampler) sample(root int, daemons map[string]int) hearth.NodeMetrics {
	now := time.Now()
	m := hearth.NodeMetrics{Time: now.UTC(), HostCores: runtime.NumCPU()}
	elapsed := now.Sub(s.last).Seconds()
	first := s.last.IsZero()
	s.last = now

	if busy, total, ok := readCPU(); ok {
		if !first && total > s.total {
			m.HostCPUPercent = round1(100 * float64(busy-s.busy) / float64(total-s.total))
		}
		s.busy, s.total = busy, total
	}
	m.Load1 = readLoad1()
	m.MemTotalMB, m.MemUsedMB = readMemory()
	var fs syscall.Statfs_t
	if syscall.Statfs(s.dir, &fs) == nil {
		bs := uint64(fs.Bsize)
		m.DiskTotalMB = int64(fs.Blocks * bs >> 20)
		m.DiskUsedMB = int64((fs.Blocks - fs.Bfree) * bs >> 20)
	}
	if rx, tx, ok := readNet(); ok {
		if !first && elapsed > 0 && rx >= s.rx && tx >= s.tx {
			m.NetRxBytesPerSec = round1(float64(rx-s.rx) / elapsed)
			m.NetTxBytesPerSec = round1(float64(tx-s.tx) / elapsed)
		}
		s.rx, s.tx = rx, tx
	}

	procs := readProcs()
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	// tree sums the CPU rate and memory of pid and its descendants.
	tree := func(pid int) (cpu, rssMB float64) {
		var ticks uint64
		var rss uint64
		stack := []int{pid}
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			cur, ok := procs[p]
			if !ok {
				continue
			}
			rss += cur.rssKB
			if prev, seen := s.procs[p]; seen && prev.start == cur.start {
				ticks += cur.ticks - min(prev.ticks, cur.ticks)
			} else if !first {
				ticks += cur.ticks // started since the last sample
			}
			stack = append(stack, children[p]...)
		}
		if !first && elapsed > 0 {
			cpu = round1(100 * float64(ticks) / clockTicks / elapsed)
		}
		return cpu, round1(float64(rss) / 1024)
	}
	m.NodeCPUPercent, m.NodeRSSMB = tree(root)
	for _, name := range daemonNames {
		pid, ok := daemons[name]
		if !ok || pid <= 0 {
			continue
		}
		cpu, rss := tree(pid)
		pm := hearth.ProcessMetrics{Name: name, CPUPercent: cpu, RSSMB: rss}
		if s.heap != nil {
			pm.HeapUsedMB = s.heap(name)
		}
		m.Daemons = append(m.Daemons, pm)
	}
	s.procs = procs
	return m
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

// readCPU returns the host's busy and total CPU ticks (/proc/stat).
func readCPU() (busy, total uint64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, false
	}
	var idle uint64
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i >= 8 { // guest time is already in user and nice
			break
		}
		total += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	return total - idle, total, true
}

func readLoad1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	l, _ := strconv.ParseFloat(f[0], 64)
	return l
}

// readMemory returns the host's memory and what is in use (all but
// MemAvailable), in MB.
func readMemory() (total, used int64) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	var avail int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "MemTotal":
			total = n >> 10
		case "MemAvailable":
			avail = n >> 10
		}
	}
	return total, total - avail
}

// readNet sums the bytes every interface but loopback received and sent
// (/proc/net/dev of the agent's network namespace).
func readNet() (rx, tx uint64, ok bool) {
	b, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, found := strings.Cut(line, ":")
		if !found || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue
		}
		r, _ := strconv.ParseUint(f[0], 10, 64)
		t, _ := strconv.ParseUint(f[8], 10, 64)
		rx, tx = rx+r, tx+t
	}
	return rx, tx, true
}

// readProcs reads every process's /proc/<pid>/stat.
func readProcs() map[int]procStat {
	out := map[int]procStat{}
	page := uint64(os.Getpagesize()) / 1024
	for _, pid := range proc.Pids() {
		f, err := proc.Stat(pid)
		if err != nil || len(f) < 22 { // f[0] is field 3 (state)
			continue
		}
		num := func(k int) uint64 { n, _ := strconv.ParseUint(f[k-3], 10, 64); return n }
		out[pid] = procStat{ppid: int(num(4)), ticks: num(14) + num(15), start: num(22), rssKB: num(24) * page}
	}
	return out
}

// sparkHeap returns a function that reads a daemon's JVM heap in use from
// its Spark metrics (the PrometheusServlet sink Hearth configures), signed
// for the daemon's UI filter. It returns 0 when it cannot.
func (a *Agent) sparkHeap() func(string) float64 {
	hc := &http.Client{Timeout: time.Second}
	return func(name string) float64 {
		a.mu.Lock()
		p := a.plan
		a.mu.Unlock()
		var url string
		switch {
		case name == "master" && p.Master != nil:
			url = "http://" + p.Host + ":" + strconv.Itoa(p.Master.WebUIPort) + "/metrics/master/prometheus"
		case name == "worker" && p.Worker != nil:
			url = "http://" + p.Host + ":" + strconv.Itoa(p.Worker.WebUIPort) + "/metrics/prometheus"
		default:
			return 0
		}
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return 0
		}
		a.authorizeUI(req)
		resp, err := hc.Do(req)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		return heapFromPrometheus(resp.Body)
	}
}

// heapFromPrometheus finds the JVM's heap in use (JvmSource's
// jvm.heap.used gauge, in bytes) in a PrometheusServlet page, in MB.
func heapFromPrometheus(r io.Reader) float64 {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, _, _ := strings.Cut(line, "{")
		if !strings.HasSuffix(name, "jvm_heap_used_Value") {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			return round1(v / (1 << 20))
		}
	}
	return 0
}

// sampleMetrics samples the node every MetricsIntervalMs of the current
// plan (not at all while it is 0) until ctx ends; report sends the newest
// sample.
func (a *Agent) sampleMetrics(ctx context.Context) {
	s := newSampler(a.cfg.Dir, a.sparkHeap())
	for {
		a.mu.Lock()
		every := time.Duration(a.plan.MetricsIntervalMs) * time.Millisecond
		pids := map[string]int{}
		for name, d := range a.daemons {
			pids[name] = d.currentPID()
		}
		a.mu.Unlock()
		if every > 0 {
			m := s.sample(os.Getpid(), pids)
			a.metricsMu.Lock()
			a.metrics = &m
			a.metricsMu.Unlock()
		} else {
			every = 5 * time.Second // look again: a new plan may turn it on
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}
