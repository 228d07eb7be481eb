package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/bench/internal/benchutil"
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
	SparkReady       float64 `json:"spark_ready_s"`              // master /json: ALIVE, 2 workers (polled through the gateway)
	SparkReadyFetch  float64 `json:"spark_ready_fetch_ms"`       // round trip of the /json request that saw it, through the gateway
	ServerReady      float64 `json:"server_ready_s"`             // Timeline.ReadyDateTime - CreationDateTime, server clock
	AliveWorkers     int     `json:"alive_workers"`              // describe-cluster Nodes[].Observed.Master.AliveWorkers
	WorkerCores      []int   `json:"worker_cores,omitempty"`     // as the master reports them
	WorkerMemoryMB   []int   `json:"worker_memory_mb,omitempty"` //
	ConnectFailed    int     `json:"worker_connect_failures"`    // "Failed to connect to master" in worker logs
	MachineCPU       float64 `json:"machine_cpu_s"`              // as floorRun's
	PeakRSSMiB       float64 `json:"peak_rss_mib"`               //
	TerminateSeconds float64 `json:"terminate_seconds"`          // terminate-clusters to TERMINATED
}

// hearthBench drives one `hearth server` through create/terminate cycles.
type hearthBench struct {
	*benchutil.Hearth
	timeout time.Duration
}

// run creates a 1+2 local cluster, times it to WAITING, then terminates it
// and waits until it is TERMINATED and its processes are gone.
func (h *hearthBench) run(ctx context.Context) (r hearthRun, err error) {
	t0 := time.Now()
	since := func() float64 { return time.Since(t0).Seconds() }
	out, err := h.CLI(ctx, "create-cluster", "--name", "bench", "--instance-type", "local.medium", "--instance-count", "3")
	if err != nil {
		return r, err
	}
	r.CreateReturned = since()
	var created struct{ ClusterId string }
	if err := json.Unmarshal(out, &created); err != nil || created.ClusterId == "" {
		return r, fmt.Errorf("create-cluster: no ClusterId in %q", out)
	}
	r.ClusterId = created.ClusterId
	h.SetActive(r.ClusterId)
	defer func() {
		t := time.Now()
		if terr := h.Terminate(ctx, r.ClusterId); terr != nil && err == nil {
			err = terr
		}
		r.TerminateSeconds = time.Since(t).Seconds()
		h.readLogs(t0, &r)
	}()

	// Poll describe-cluster (the API call the CLI makes) and, once the
	// master is placed, the Spark master's /json: the difference is how
	// long Hearth takes to notice a ready cluster. The master's UI answers
	// only Hearth's gateway, so /json is read through it (with the admin
	// token). Its extra hop makes spark rdy later than a direct read
	// would: SparkReadyFetch, against the floor's direct ReadyFetch, says
	// by how much.
	hc := &http.Client{Timeout: 2 * time.Second}
	masterPlaced := false
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(h.timeout)
	for {
		if masterPlaced && r.SparkReady == 0 {
			t := time.Now()
			if j, err := h.FetchMaster(ctx, hc, r.ClusterId); err == nil && j.Status == "ALIVE" && j.AliveWorkers >= 2 {
				r.SparkReady = since()
				r.SparkReadyFetch = benchutil.Millis(time.Since(t))
			}
		}
		v, err := h.API.DescribeCluster(ctx, r.ClusterId)
		if err != nil && ctx.Err() != nil {
			return r, ctx.Err()
		}
		if err == nil {
			st := v.Cluster.Status
			if st.State == hearth.ClusterBootstrapping && r.Bootstrapping == 0 {
				r.Bootstrapping = since()
			}
			for _, n := range v.Nodes {
				if n.Role == hearth.RoleMaster && n.Ports.MasterWebUI != 0 {
					masterPlaced = true
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

// readLogs fills the phases Hearth's agents log: when each registered and
// when each started its Spark daemon.
func (h *hearthBench) readLogs(t0 time.Time, r *hearthRun) {
	nodes, _ := filepath.Glob(filepath.Join(h.Home, "clusters", r.ClusterId, "nodes", "*"))
	var registered, workers []float64
	for _, dir := range nodes {
		for _, ev := range benchutil.SlogLines(filepath.Join(dir, "agent.log")) {
			s := ev.At.Sub(t0).Seconds()
			switch {
			case ev.Msg == "registered":
				registered = append(registered, s)
			case ev.Msg == "started" && ev.Attrs["daemon"] == "master":
				if r.MasterStarted == 0 {
					r.MasterStarted = s
				}
			case ev.Msg == "started" && ev.Attrs["daemon"] == "worker":
				workers = append(workers, s)
			}
		}
		r.ConnectFailed += benchutil.CountInFile(filepath.Join(dir, "logs", "spark-worker.out"), "Failed to connect to master")
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
