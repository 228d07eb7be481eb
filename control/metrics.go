package control

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics: what agents sample of their nodes, the EMR-style cluster
// figures derived from each cluster's active Spark master, and the control
// plane's own instruments, served as Prometheus metrics. Samples are kept
// in memory only, metricsHistory of them per node and per cluster: the
// store never grows with them.

// metricsHistory is how many samples are kept per node and per cluster:
// an hour at the default 5 s interval.
const metricsHistory = 720

// DefaultMetricsInterval is how often agents sample their nodes unless
// Config.MetricsInterval says otherwise.
const DefaultMetricsInterval = 5 * time.Second

type ring[T any] struct {
	buf  []T
	next int
	full bool
}

func (r *ring[T]) add(v T) {
	if r.buf == nil {
		r.buf = make([]T, metricsHistory)
	}
	r.buf[r.next] = v
	r.next = (r.next + 1) % len(r.buf)
	r.full = r.full || r.next == 0
}

// all returns the samples, oldest first.
func (r *ring[T]) all() []T {
	if !r.full {
		return append([]T(nil), r.buf[:r.next]...)
	}
	return append(append([]T(nil), r.buf[r.next:]...), r.buf[:r.next]...)
}

func (r *ring[T]) last() (T, bool) {
	var zero T
	if r.buf == nil || (!r.full && r.next == 0) {
		return zero, false
	}
	return r.buf[(r.next+len(r.buf)-1)%len(r.buf)], true
}

// history holds the samples.
type history struct {
	mu       sync.Mutex
	nodes    map[string]*ring[hearth.NodeMetrics]    // by node id
	clusters map[string]*ring[hearth.ClusterMetrics] // by cluster id
}

func (h *history) addNode(id string, m hearth.NodeMetrics) {
	h.mu.Lock()
	defer h.mu.Unlock()
	push(&h.nodes, id, m)
}

func (h *history) addCluster(id string, m hearth.ClusterMetrics) {
	h.mu.Lock()
	defer h.mu.Unlock()
	push(&h.clusters, id, m)
}

// push adds v to the ring of id in *rings, making either as needed.
func push[T any](rings *map[string]*ring[T], id string, v T) {
	if *rings == nil {
		*rings = map[string]*ring[T]{}
	}
	r := (*rings)[id]
	if r == nil {
		r = &ring[T]{}
		(*rings)[id] = r
	}
	r.add(v)
}

// forget drops the samples of an ended cluster and its nodes.
func (h *history) forget(clusterID string, nodeIDs []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clusters, clusterID)
	for _, id := range nodeIDs {
		delete(h.nodes, id)
	}
}

// recordMetrics keeps node n's new sample and, from the report of the
// cluster's active master, the cluster's figures.
func (s *Server) recordMetrics(ctx context.Context, n *hearth.Node, r hearth.Report) {
	if r.Metrics != nil {
		s.history.addNode(n.Id, *r.Metrics)
	}
	o := r.Observed.Master
	if r.Metrics == nil || o == nil || o.Status != "ALIVE" || n.Role != hearth.RoleMaster {
		return
	}
	running, err := s.store.Steps(ctx, n.ClusterId, hearth.StepRunning, hearth.StepCancelPending)
	if err != nil {
		return
	}
	m := hearth.ClusterMetrics{Time: r.Metrics.Time, AppsRunning: o.ActiveApps - o.AppsWaiting, AppsPending: o.AppsWaiting,
		StepsRunning: len(running), AliveWorkers: o.AliveWorkers,
		CoresTotal: o.Cores, CoresUsed: o.CoresUsed, MemoryTotal: o.MemoryMB, MemoryUsed: o.MemoryUsedMB}
	m.IsIdle = o.ActiveApps == 0 && len(running) == 0
	if nodes, err := s.store.Nodes(ctx, n.ClusterId); err == nil {
		m.WorkerCoresUsed = map[string]int{}
		for _, w := range o.Workers {
			for _, node := range nodes {
				if w.State == "ALIVE" && node.RunsWorker && node.Host == w.Host && node.Ports.WorkerPort == w.Port {
					m.WorkerCoresUsed[node.Id] = w.CoresUsed
				}
			}
		}
	}
	s.history.addCluster(n.ClusterId, m)
}

// NodeSeries is one node's samples.
type NodeSeries struct {
	NodeId  string               `json:"NodeId"`
	Role    hearth.Role          `json:"Role"`
	Host    string               `json:"Host"`
	State   hearth.NodeState     `json:"State"`
	Samples []hearth.NodeMetrics `json:"Samples"`
}

// MetricsView is what GET /api/v1/clusters/{id}/metrics answers.
type MetricsView struct {
	ClusterId string                  `json:"ClusterId"`
	Interval  float64                 `json:"IntervalSeconds"`
	Cluster   []hearth.ClusterMetrics `json:"Cluster"`
	Nodes     []NodeSeries            `json:"Nodes"`
}

// ClusterMetrics returns cluster clusterID's samples taken after since
// (all kept, for the zero time), oldest first.
func (s *Server) ClusterMetrics(ctx context.Context, clusterID string, since time.Time) (*MetricsView, error) {
	c, err := s.store.Cluster(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	nodes, err := s.store.Nodes(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	v := &MetricsView{ClusterId: c.Id, Interval: s.metricsInterval().Seconds(), Cluster: []hearth.ClusterMetrics{}, Nodes: []NodeSeries{}}
	s.history.mu.Lock()
	defer s.history.mu.Unlock()
	if r := s.history.clusters[c.Id]; r != nil {
		for _, m := range r.all() {
			if m.Time.After(since) {
				v.Cluster = append(v.Cluster, m)
			}
		}
	}
	for _, n := range nodes {
		ns := NodeSeries{NodeId: n.Id, Role: n.Role, Host: n.Host, State: n.State, Samples: []hearth.NodeMetrics{}}
		if r := s.history.nodes[n.Id]; r != nil {
			for _, m := range r.all() {
				if m.Time.After(since) {
					ns.Samples = append(ns.Samples, m)
				}
			}
		}
		v.Nodes = append(v.Nodes, ns)
	}
	return v, nil
}

func (s *Server) metricsInterval() time.Duration {
	switch {
	case s.cfg.MetricsInterval < 0:
		return 0
	case s.cfg.MetricsInterval == 0:
		return DefaultMetricsInterval
	}
	return s.cfg.MetricsInterval
}

// instruments are the control plane's own Prometheus instruments.
type instruments struct {
	registry  *prometheus.Registry
	dispatch  prometheus.Histogram
	reconcile prometheus.Histogram
	requests  *prometheus.HistogramVec
}

func newInstruments(s *Server) *instruments {
	in := &instruments{
		registry: prometheus.NewRegistry(),
		dispatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hearth_step_dispatch_seconds", Help: "Time from a step's creation to its dispatch to a node.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}),
		reconcile: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hearth_reconcile_pass_seconds", Help: "Duration of one cluster's reconcile pass.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hearth_api_request_seconds", Help: "API request durations, by route and status code.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"route", "code"}),
	}
	in.registry.MustRegister(in.dispatch, in.reconcile, in.requests, &stateCollector{s: s},
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return in
}

// ObserveRequest records one API request's duration under its route
// pattern and status code.
func (s *Server) ObserveRequest(route string, code int, d time.Duration) {
	s.instruments.requests.WithLabelValues(route, fmt.Sprint(code)).Observe(d.Seconds())
}

// MetricsHandler serves the Prometheus metrics (the caller authenticates).
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.instruments.registry, promhttp.HandlerOpts{})
}

// stateCollector reads, at each scrape, what the store and the samples
// say now: clusters and steps by state, heartbeat ages, and the latest
// figures of every live cluster and node.
type stateCollector struct{ s *Server }

var (
	descClusters     = prometheus.NewDesc("hearth_clusters", "Clusters by state.", []string{"state"}, nil)
	descSteps        = prometheus.NewDesc("hearth_steps", "Steps of live clusters by state.", []string{"state"}, nil)
	descHeartbeatAge = prometheus.NewDesc("hearth_agent_heartbeat_age_seconds", "Time since each live node's agent was last heard from.", []string{"cluster", "node"}, nil)
	descCluster      = map[string]*prometheus.Desc{}
	descNode         = map[string]*prometheus.Desc{}
)

// Per-cluster gauges (EMR's CloudWatch names, snake-cased) and per-node.
var (
	clusterGauges = []struct {
		name, help string
		value      func(hearth.ClusterMetrics) float64
	}{
		{"is_idle", "1 when no application and no step runs (EMR IsIdle).", func(m hearth.ClusterMetrics) float64 { return b2f(m.IsIdle) }},
		{"apps_running", "Spark applications running (EMR AppsRunning).", func(m hearth.ClusterMetrics) float64 { return float64(m.AppsRunning) }},
		{"apps_pending", "Spark applications waiting for executors (EMR AppsPending).", func(m hearth.ClusterMetrics) float64 { return float64(m.AppsPending) }},
		{"steps_running", "Steps running.", func(m hearth.ClusterMetrics) float64 { return float64(m.StepsRunning) }},
		{"alive_workers", "Spark workers alive in the active master.", func(m hearth.ClusterMetrics) float64 { return float64(m.AliveWorkers) }},
		{"cores_total", "Cores the alive workers offer.", func(m hearth.ClusterMetrics) float64 { return float64(m.CoresTotal) }},
		{"cores_used", "Cores executors hold.", func(m hearth.ClusterMetrics) float64 { return float64(m.CoresUsed) }},
		{"memory_total_mb", "Memory the alive workers offer, MB.", func(m hearth.ClusterMetrics) float64 { return float64(m.MemoryTotal) }},
		{"memory_used_mb", "Memory executors hold, MB.", func(m hearth.ClusterMetrics) float64 { return float64(m.MemoryUsed) }},
	}
	nodeGauges = []struct {
		name, help string
		value      func(hearth.NodeMetrics) float64
	}{
		{"cpu_percent", "CPU of the node's processes, percent of one core.", func(m hearth.NodeMetrics) float64 { return m.NodeCPUPercent }},
		{"rss_mb", "Resident memory of the node's processes, MB.", func(m hearth.NodeMetrics) float64 { return m.NodeRSSMB }},
		{"host_cpu_percent", "CPU of the node's host, percent of all its cores.", func(m hearth.NodeMetrics) float64 { return m.HostCPUPercent }},
		{"host_memory_used_mb", "Memory in use on the node's host, MB.", func(m hearth.NodeMetrics) float64 { return float64(m.MemUsedMB) }},
		{"disk_used_mb", "Space used on the filesystem of the node's directory, MB.", func(m hearth.NodeMetrics) float64 { return float64(m.DiskUsedMB) }},
		{"network_receive_bytes_per_second", "Bytes received by the host's interfaces (not loopback).", func(m hearth.NodeMetrics) float64 { return m.NetRxBytesPerSec }},
		{"network_transmit_bytes_per_second", "Bytes sent by the host's interfaces (not loopback).", func(m hearth.NodeMetrics) float64 { return m.NetTxBytesPerSec }},
	}
)

func init() {
	for _, g := range clusterGauges {
		descCluster[g.name] = prometheus.NewDesc("hearth_cluster_"+g.name, g.help, []string{"cluster"}, nil)
	}
	for _, g := range nodeGauges {
		descNode[g.name] = prometheus.NewDesc("hearth_node_"+g.name, g.help, []string{"cluster", "node", "role"}, nil)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descClusters
	ch <- descSteps
	ch <- descHeartbeatAge
	for _, d := range descCluster {
		ch <- d
	}
	for _, d := range descNode {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clusters, err := s.store.Clusters(ctx)
	if err != nil {
		s.log.Warn("metrics: list clusters", "err", err)
		return
	}
	byState := map[hearth.ClusterState]int{}
	for _, st := range hearth.AllClusterStates {
		byState[st] = 0
	}
	steps := map[hearth.StepState]int{}
	for _, st := range []hearth.StepState{hearth.StepPending, hearth.StepRunning, hearth.StepCancelPending, hearth.StepCompleted, hearth.StepCancelled, hearth.StepFailed, hearth.StepInterrupted} {
		steps[st] = 0
	}
	now := s.now()
	for _, cl := range clusters {
		byState[cl.Status.State]++
		if !cl.Status.State.Active() {
			continue
		}
		if sts, err := s.store.Steps(ctx, cl.Id); err == nil {
			for _, st := range sts {
				steps[st.Status.State]++
			}
		}
		nodes, err := s.store.Nodes(ctx, cl.Id)
		if err != nil {
			continue
		}
		s.history.mu.Lock()
		if r := s.history.clusters[cl.Id]; r != nil {
			if m, ok := r.last(); ok {
				for _, g := range clusterGauges {
					ch <- prometheus.MustNewConstMetric(descCluster[g.name], prometheus.GaugeValue, g.value(m), cl.Id)
				}
			}
		}
		for _, n := range nodes {
			if n.State.Ended() {
				continue
			}
			if n.LastHeartbeat != nil {
				ch <- prometheus.MustNewConstMetric(descHeartbeatAge, prometheus.GaugeValue, now.Sub(*n.LastHeartbeat).Seconds(), cl.Id, n.Id)
			}
			if r := s.history.nodes[n.Id]; r != nil {
				if m, ok := r.last(); ok {
					for _, g := range nodeGauges {
						ch <- prometheus.MustNewConstMetric(descNode[g.name], prometheus.GaugeValue, g.value(m), cl.Id, n.Id, string(n.Role))
					}
				}
			}
		}
		s.history.mu.Unlock()
	}
	for st, k := range byState {
		ch <- prometheus.MustNewConstMetric(descClusters, prometheus.GaugeValue, float64(k), string(st))
	}
	for st, k := range steps {
		ch <- prometheus.MustNewConstMetric(descSteps, prometheus.GaugeValue, float64(k), string(st))
	}
}
