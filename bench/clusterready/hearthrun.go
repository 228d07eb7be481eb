package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/client"
)

// hearthRun is one timing of `hearth create-cluster` to WAITING.
type hearthRun struct {
	ClusterId string  `json:"cluster_id"`
	Seconds   float64 `json:"seconds"` // create-cluster started to WAITING seen by describe-cluster
	// Phases, seconds from the start of create-cluster. Those from agent
	// logs are wall-clock timestamps of this host, millisecond precision.
	CreateReturned   float64 `json:"create_returned_s"`          // the CLI call returned
	Bootstrapping    float64 `json:"bootstrapping_seen_s"`       // describe first showed BOOTSTRAPPING
	AgentsRegistered float64 `json:"agents_registered_s"`        // last agent logged "registered"
	MasterStarted    float64 `json:"master_daemon_started_s"`    // agent started the master JVM
	WorkersStarted   float64 `json:"worker_daemons_started_s"`   // agents started the last worker JVM
	SparkReady       float64 `json:"spark_ready_s"`              // master /json: ALIVE, 2 workers (polled directly)
	ServerReady      float64 `json:"server_ready_s"`             // Timeline.ReadyDateTime - CreationDateTime, server clock
	AliveWorkers     int     `json:"alive_workers"`              // describe-cluster Nodes[].Observed.Master.AliveWorkers
	WorkerCores      []int   `json:"worker_cores,omitempty"`     // as the master reports them
	WorkerMemoryMB   []int   `json:"worker_memory_mb,omitempty"` //
	ConnectFailed    int     `json:"worker_connect_failures"`    // "Failed to connect to master" in worker logs
	TerminateSeconds float64 `json:"terminate_seconds"`          // terminate-clusters to TERMINATED
}

// hearthBench drives one `hearth server` through create/terminate cycles.
type hearthBench struct {
	bin, home, endpoint string
	sparkHome           string
	timeout             time.Duration

	server *group
	api    *client.Client

	mu     sync.Mutex
	active string // cluster that may be running, for cleanup
}

// env is the environment of the server and the CLI: HEARTH_HOME is what
// the CLI reads the admin token from.
func (h *hearthBench) env() []string {
	return append(cleanEnv(), "HEARTH_HOME="+h.home, "HEARTH_ENDPOINT="+h.endpoint, "SPARK_HOME="+h.sparkHome)
}

// start runs `hearth server` and waits until it answers an authenticated
// request.
func (h *hearthBench) start(ctx context.Context) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", ports[0])
	h.endpoint = "http://" + listen
	if err := os.MkdirAll(h.home, 0o700); err != nil {
		return err
	}
	cmd := exec.Command(h.bin, "server", "--listen", listen)
	cmd.Env = h.env()
	cmd.Dir = h.home
	if h.server, err = startGroup("hearth server", cmd, filepath.Join(h.home, "..", "server.log")); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if !h.server.running() {
			return fmt.Errorf("hearth server exited: %s", tailFile(filepath.Join(h.home, "..", "server.log"), 1500))
		}
		if token, err := client.ReadToken(h.home); err == nil && token != "" {
			c := client.New(h.endpoint, token)
			c.HTTP = &http.Client{Timeout: 5 * time.Second}
			if _, err := c.ListClusters(ctx); err == nil {
				h.api = c
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hearth server does not answer on %s after 60s", h.endpoint)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cli runs the hearth CLI and returns its stdout.
func (h *hearthBench) cli(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = h.env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("hearth %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

func (h *hearthBench) setActive(id string) {
	h.mu.Lock()
	h.active = id
	h.mu.Unlock()
}

// run creates a 1+2 local cluster, times it to WAITING, then terminates it
// and waits until it is TERMINATED and its processes are gone.
func (h *hearthBench) run(ctx context.Context) (r hearthRun, err error) {
	t0 := time.Now()
	since := func() float64 { return time.Since(t0).Seconds() }
	out, err := h.cli(ctx, "create-cluster", "--name", "bench", "--instance-type", "local.medium", "--instance-count", "3")
	if err != nil {
		return r, err
	}
	r.CreateReturned = since()
	var created struct{ ClusterId string }
	if err := json.Unmarshal(out, &created); err != nil || created.ClusterId == "" {
		return r, fmt.Errorf("create-cluster: no ClusterId in %q", out)
	}
	r.ClusterId = created.ClusterId
	h.setActive(r.ClusterId)
	defer func() {
		t := time.Now()
		if terr := h.terminate(ctx, r.ClusterId); terr != nil && err == nil {
			err = terr
		}
		r.TerminateSeconds = time.Since(t).Seconds()
		h.readLogs(t0, &r)
	}()

	// Poll describe-cluster (the API call the CLI makes) and, once the
	// master's UI port is known, the Spark master's /json directly: the
	// difference is how long Hearth takes to notice a ready cluster.
	hc := &http.Client{Timeout: 2 * time.Second}
	masterUI := ""
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(h.timeout)
	for {
		if masterUI != "" && r.SparkReady == 0 {
			if j, err := fetchMaster(ctx, hc, masterUI); err == nil && j.Status == "ALIVE" && j.AliveWorkers >= 2 {
				r.SparkReady = since()
			}
		}
		v, err := h.api.DescribeCluster(ctx, r.ClusterId)
		if err != nil && ctx.Err() != nil {
			return r, ctx.Err()
		}
		if err == nil {
			st := v.Cluster.Status
			if st.State == hearth.ClusterBootstrapping && r.Bootstrapping == 0 {
				r.Bootstrapping = since()
			}
			for _, n := range v.Nodes {
				if n.Role == hearth.RoleMaster && n.Ports.MasterWebUI != 0 && masterUI == "" {
					masterUI = fmt.Sprintf("http://%s:%d/json/", n.Host, n.Ports.MasterWebUI)
				}
			}
			if st.State == hearth.ClusterWaiting || st.State == hearth.ClusterRunning {
				r.Seconds = since()
				if r.Bootstrapping == 0 {
					r.Bootstrapping = r.Seconds
				}
				if r.SparkReady == 0 {
					r.SparkReady = r.Seconds
				}
				if tl := st.Timeline; tl.CreationDateTime != nil && tl.ReadyDateTime != nil {
					r.ServerReady = tl.ReadyDateTime.Sub(*tl.CreationDateTime).Seconds()
				}
				for _, n := range v.Nodes {
					if m := n.Observed.Master; n.Role == hearth.RoleMaster && m != nil {
						r.AliveWorkers = m.AliveWorkers
						for _, w := range m.Workers {
							r.WorkerCores = append(r.WorkerCores, w.Cores)
							r.WorkerMemoryMB = append(r.WorkerMemoryMB, w.MemoryMB)
						}
					}
				}
				return r, nil
			}
			if st.State.Ended() || st.State == hearth.ClusterTerminating {
				return r, fmt.Errorf("cluster %s is %s: %s", r.ClusterId, st.State, st.StateChangeReason.Message)
			}
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-deadline:
			return r, fmt.Errorf("cluster %s not WAITING after %s", r.ClusterId, h.timeout)
		case <-tick.C:
		}
	}
}

// terminate runs terminate-clusters and `wait cluster-terminated`, then
// checks that no process of the cluster is left.
func (h *hearthBench) terminate(ctx context.Context, id string) error {
	if ctx.Err() != nil { // interrupted: cleanup() terminates with its own deadline
		return ctx.Err()
	}
	if _, err := h.cli(ctx, "terminate-clusters", "--cluster-ids", id); err != nil {
		return err
	}
	if _, err := h.cli(ctx, "wait", "cluster-terminated", "--cluster-id", id, "--timeout", "2m"); err != nil {
		return err
	}
	h.setActive("")
	dir := filepath.Join(h.home, "clusters", id)
	// The cluster is TERMINATED once every agent's session is empty; give
	// the kernel a moment to reap, then insist.
	for range 20 {
		if len(referring(dir)) == 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("cluster %s is TERMINATED but its processes remain: %v", id, referring(dir))
}

// cleanup terminates a cluster left running by an interrupted or failed
// run, then stops the server.
func (h *hearthBench) cleanup() error {
	var errs []error
	h.mu.Lock()
	id := h.active
	h.mu.Unlock()
	if id != "" && h.api != nil && h.server != nil && h.server.running() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		if err := h.api.TerminateClusters(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("terminate %s: %w", id, err))
		} else if _, err := h.api.WaitCluster(ctx, id, nil, hearth.ClusterTerminated, hearth.ClusterTerminatedWithErrors); err != nil {
			errs = append(errs, fmt.Errorf("wait for %s to terminate: %w", id, err))
		}
		cancel()
	}
	if h.server != nil {
		if err := h.server.stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// readLogs fills the phases Hearth's agents log: when each registered and
// when each started its Spark daemon.
func (h *hearthBench) readLogs(t0 time.Time, r *hearthRun) {
	nodes, _ := filepath.Glob(filepath.Join(h.home, "clusters", r.ClusterId, "nodes", "*"))
	var registered, workers []float64
	for _, dir := range nodes {
		for _, ev := range agentEvents(filepath.Join(dir, "agent.log")) {
			s := ev.at.Sub(t0).Seconds()
			switch {
			case ev.msg == "registered":
				registered = append(registered, s)
			case ev.msg == "started" && ev.daemon == "master":
				if r.MasterStarted == 0 {
					r.MasterStarted = s
				}
			case ev.msg == "started" && ev.daemon == "worker":
				workers = append(workers, s)
			}
		}
		r.ConnectFailed += countInFile(filepath.Join(dir, "logs", "spark-worker.out"), "Failed to connect to master")
	}
	if len(registered) > 0 {
		sort.Float64s(registered)
		r.AgentsRegistered = registered[len(registered)-1]
	}
	if len(workers) > 0 {
		sort.Float64s(workers)
		r.WorkersStarted = workers[len(workers)-1]
	}
}

type agentEvent struct {
	at          time.Time
	msg, daemon string
}

// agentEvents parses the slog text lines of an agent log.
func agentEvents(path string) []agentEvent {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []agentEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev agentEvent
		for _, field := range strings.Fields(sc.Text()) {
			k, v, ok := strings.Cut(field, "=")
			if !ok {
				continue
			}
			switch k {
			case "time":
				ev.at, _ = time.Parse(time.RFC3339Nano, v)
			case "msg":
				ev.msg = strings.Trim(v, `"`)
			case "daemon":
				ev.daemon = v
			}
		}
		if !ev.at.IsZero() {
			out = append(out, ev)
		}
	}
	return out
}
