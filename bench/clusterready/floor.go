package main

import (
	"context"
	"fmt"
	"github.com/hearthcluster/hearth/provision/local"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

// Floor strategies: how the floor starts the workers relative to the master.
const (
	// afterMasterPort starts the workers as soon as the master's RPC port
	// accepts a TCP connection, as Hearth's agent does; a worker that finds
	// its master listening registers at its first attempt.
	afterMasterPort = "after-master-port"
	// simultaneous starts all three JVMs at once; workers that come up
	// before the master fall into Spark's registration retry backoff.
	simultaneous = "simultaneous"
)

// floorRun is one timing of three bare Spark JVMs.
type floorRun struct {
	Seconds       float64 `json:"seconds"`                 // start to master ALIVE with 2 workers
	MasterPort    float64 `json:"master_port_open_s"`      // master RPC port accepts TCP
	WorkersStart  float64 `json:"workers_started_s"`       // both worker JVMs spawned
	MasterAlive   float64 `json:"master_alive_s"`          // /json first says ALIVE
	AliveWorkers  int     `json:"alive_workers"`           // at the end
	ReadyFetch    float64 `json:"ready_fetch_ms"`          // round trip of the /json request that saw it ready (direct)
	StopSeconds   float64 `json:"stop_seconds"`            // SIGTERM to every process gone
	ConnectFailed int     `json:"worker_connect_failures"` // "Failed to connect to master" in worker logs
	Dir           string  `json:"dir"`
	// The whole machine's busy CPU over the run, and the peak summed RSS of
	// the benchmark's processes (benchutil.Meter).
	MachineCPU float64 `json:"machine_cpu_s"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

// sparkNode is the directory layout Hearth gives a node (spark.NodeDirs).
type sparkNode struct {
	name                  string
	conf, logs, work, tmp string
}

func newSparkNode(root, name string) (sparkNode, error) {
	n := sparkNode{name: name}
	dir := filepath.Join(root, name)
	n.conf, n.logs, n.work, n.tmp = filepath.Join(dir, "conf"), filepath.Join(dir, "logs"), filepath.Join(dir, "work"), filepath.Join(dir, "tmp")
	for _, d := range []string{n.conf, n.logs, n.work, n.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return n, err
		}
	}
	return n, nil
}

// env is exactly what spark.Distribution.Env sets for a node.
func (n sparkNode) env(sparkHome string) []string {
	return append(benchutil.CleanEnv(),
		"SPARK_HOME="+sparkHome,
		"SPARK_CONF_DIR="+n.conf,
		"SPARK_LOG_DIR="+n.logs,
		"SPARK_LOCAL_DIRS="+n.tmp,
		"SPARK_WORKER_DIR="+n.work,
		"SPARK_LOCAL_IP=127.0.0.1",
		"SPARK_DAEMON_MEMORY=512m",
	)
}

func (n sparkNode) logPath() string { return filepath.Join(n.logs, "spark-"+n.name+".out") }

func (n sparkNode) command(sparkHome string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(sparkHome, "bin", "spark-class"), args...)
	cmd.Env = n.env(sparkHome)
	cmd.Dir = filepath.Dir(n.conf)
	return cmd
}

// floorBench runs the floor measurements; groups holds the JVM process
// groups of the run in progress, for cleanup on any exit path.
type floorBench struct {
	sparkHome string
	strategy  string
	dialPoll  time.Duration
	timeout   time.Duration

	mu     sync.Mutex
	groups []*benchutil.Group
}

func (f *floorBench) track(g *benchutil.Group) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups = append(f.groups, g)
}

// stopAll stops every tracked process group, in parallel, and forgets them.
func (f *floorBench) stopAll() error {
	f.mu.Lock()
	gs := f.groups
	f.groups = nil
	f.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(gs))
	for i, g := range gs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = g.Stop(10 * time.Second) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// run starts a master and two workers directly and times them until the
// master is ALIVE with both workers registered; then stops them.
func (f *floorBench) run(ctx context.Context, dir string) (r floorRun, err error) {
	r.Dir = dir
	ports, err := local.FreePorts(6)
	if err != nil {
		return r, err
	}
	mPort, mUI := ports[0], ports[1]
	masterURL := "spark://127.0.0.1:" + strconv.Itoa(mPort)
	master, err := newSparkNode(dir, "master")
	if err != nil {
		return r, err
	}
	var workers []sparkNode
	var workerCmds []*exec.Cmd
	for i := range 2 {
		w, err := newSparkNode(dir, fmt.Sprintf("worker%d", i+1))
		if err != nil {
			return r, err
		}
		cmd := w.command(f.sparkHome, "org.apache.spark.deploy.worker.Worker",
			"--host", "127.0.0.1", "--port", strconv.Itoa(ports[2+2*i]), "--webui-port", strconv.Itoa(ports[3+2*i]),
			"--cores", "2", "--memory", "2048m", "--work-dir", w.work, masterURL)
		workers = append(workers, w)
		workerCmds = append(workerCmds, cmd)
	}
	masterCmd := master.command(f.sparkHome, "org.apache.spark.deploy.master.Master",
		"--host", "127.0.0.1", "--port", strconv.Itoa(mPort), "--webui-port", strconv.Itoa(mUI))

	ctx, cancel := context.WithCancel(ctx)
	portOpen := make(chan error, 1) // the dialer sends exactly once
	dialing, portDone := false, false
	defer func() {
		cancel()
		if dialing && !portDone {
			<-portOpen // the dialer may be starting workers: let it finish first
		}
		t := time.Now()
		if serr := f.stopAll(); serr != nil && err == nil {
			err = serr
		}
		r.StopSeconds = time.Since(t).Seconds()
		for _, w := range workers {
			r.ConnectFailed += benchutil.CountInFile(w.logPath(), "Failed to connect to master")
		}
	}()

	// Everything below is timed from t0.
	t0 := time.Now()
	startWorkers := func() error {
		for i, cmd := range workerCmds {
			g, err := benchutil.StartGroup(workers[i].name, cmd, workers[i].logPath())
			if err != nil {
				return err
			}
			f.track(g)
		}
		r.WorkersStart = time.Since(t0).Seconds()
		return nil
	}
	mg, err := benchutil.StartGroup("master", masterCmd, master.logPath())
	if err != nil {
		return r, err
	}
	f.track(mg)
	if f.strategy == simultaneous {
		if err := startWorkers(); err != nil {
			return r, err
		}
	}
	dialing = true
	go func() {
		addr := "127.0.0.1:" + strconv.Itoa(mPort)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				r.MasterPort = time.Since(t0).Seconds()
				if f.strategy == afterMasterPort {
					portOpen <- startWorkers()
				} else {
					portOpen <- nil
				}
				return
			}
			select {
			case <-ctx.Done():
				portOpen <- ctx.Err()
				return
			case <-time.After(f.dialPoll):
			}
		}
	}()

	hc := &http.Client{Timeout: 2 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/json/", mUI)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(f.timeout)
	for {
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-deadline:
			return r, fmt.Errorf("floor: master not ALIVE with 2 workers after %s (logs in %s)", f.timeout, dir)
		case err := <-portOpen:
			portDone = true
			if err != nil {
				return r, err
			}
			continue
		case <-tick.C:
		}
		if !mg.Running() {
			return r, fmt.Errorf("floor: master exited: %s", benchutil.TailFile(master.logPath(), 1500))
		}
		tf := time.Now()
		j, err := benchutil.FetchMaster(ctx, hc, url, "") // no auth, no gateway: bare Spark
		if err != nil {
			continue
		}
		if j.Status == "ALIVE" && r.MasterAlive == 0 {
			r.MasterAlive = time.Since(t0).Seconds()
		}
		r.AliveWorkers = j.AliveWorkers
		if j.Status == "ALIVE" && j.AliveWorkers >= 2 {
			r.Seconds = time.Since(t0).Seconds()
			r.ReadyFetch = benchutil.Millis(time.Since(tf))
			if !portDone {
				portDone = true
				if err := <-portOpen; err != nil { // the dialer has recorded the port time by now
					return r, err
				}
			}
			return r, nil
		}
	}
}
