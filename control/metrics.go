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

// gaugeMaxAge is how old a sample /metrics still shows: a series whose
// agent stopped reporting leaves the scrape.
const gaugeMaxAge = 2 * time.Minute

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

// history holds the samples: in this process, or in the store when
// replicas share it (an agent reports to one replica, and every replica's
// console, hearth top and /metrics show its samples).
type history struct {
	shared hearth.ReplicatedStore // nil: the rings
	keep   time.Duration          // how long the store keeps a series

	mu       sync.Mutex
	nodes    map[string]*ring[hearth.NodeMetrics]    // by node id
	clusters map[string]*ring[hearth.ClusterMetrics] // by cluster id
}

func (h *history) add(ctx context.Context, m *hearth.MetricsSample) {
	if h.shared != nil {
		h.shared.AddMetrics(ctx, m, m.Time().Add(-h.keep)) // a lost sample is a gap in a chart
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if m.Node != nil {
		push(&h.nodes, m.NodeId, *m.Node)
	} else {
		push(&h.clusters, m.ClusterId, *m.Cluster)
	}
}

// series returns cluster clusterID's samples taken after since, oldest
// first: the cluster's own, and those of nodes by node id.
func (h *history) series(ctx context.Context, clusterID string, nodeIDs []string, since time.Time) ([]hearth.ClusterMetrics, map[string][]hearth.NodeMetrics, error) {
	cluster, nodes := []hearth.ClusterMetrics{}, map[string][]hearth.NodeMetrics{}
	if h.shared != nil {
		ms, err := h.shared.Metrics(ctx, clusterID, since)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range ms {
			if m.Node != nil {
				nodes[m.NodeId] = append(nodes[m.NodeId], *m.Node)
			} else if m.Cluster != nil {
				cluster = append(cluster, *m.Cluster)
			}
		}
		return cluster, nodes, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.clusters[clusterID]; r != nil {
		for _, m := range r.all() {
			if m.Time.After(since) {
				cluster = append(cluster, m)
			}
		}
	}
	for _, id := range nodeIDs {
		if r := h.nodes[id]; r != nil {
			for _, m := range r.all() {
				if m.Time.After(since) {
					nodes[id] = append(nodes[id], m)
				}
			}
		}
	}
	return cluster, nodes, nil
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

func nodeIDs(nodes []*hearth.Node) []string {
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.Id
	}
	return ids
}

// forget drops the samples of an ended cluster and its nodes.
func (h *history) forget(ctx context.Context, clusterID string, nodeIDs []string) {
	if h.shared != nil {
		h.shared.DeleteMetrics(ctx, clusterID) // kept otherwise until the next sample of the series, which never comes
		return
	}
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
		s.history.add(ctx, &hearth.MetricsSample{ClusterId: n.ClusterId, NodeId: n.Id, Node: r.Metrics})
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
	s.history.add(ctx, &hearth.MetricsSample{ClusterId: n.ClusterId, Cluster: &m})
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
	cluster, byNode, err := s.history.series(ctx, c.Id, nodeIDs(nodes), since)
	if err != nil {
		return nil, err
	}
	v := &MetricsView{ClusterId: c.Id, Interval: s.metricsInterval().Seconds(), Cluster: cluster, Nodes: []NodeSeries{}}
	for _, n := range nodes {
		ns := NodeSeries{NodeId: n.Id, Role: n.Role, Host: n.Host, State: n.State, Samples: byNode[n.Id]}
		if ns.Samples == nil {
			ns.Samples = []hearth.NodeMetrics{}
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
		// The newest sample of each series, if one came lately.
		cluster, byNode, err := s.history.series(ctx, cl.Id, nodeIDs(nodes), now.Add(-gaugeMaxAge))
		if err != nil {
			continue
		}
		if len(cluster) > 0 {
			m := cluster[len(cluster)-1]
			for _, g := range clusterGauges {
				ch <- prometheus.MustNewConstMetric(descCluster[g.name], prometheus.GaugeValue, g.value(m), cl.Id)
			}
		}
		for _, n := range nodes {
			if n.State.Ended() {
				continue
			}
			if n.LastHeartbeat != nil {
				ch <- prometheus.MustNewConstMetric(descHeartbeatAge, prometheus.GaugeValue, now.Sub(*n.LastHeartbeat).Seconds(), cl.Id, n.Id)
			}
			if ms := byNode[n.Id]; len(ms) > 0 {
				for _, g := range nodeGauges {
					ch <- prometheus.MustNewConstMetric(descNode[g.name], prometheus.GaugeValue, g.value(ms[len(ms)-1]), cl.Id, n.Id, string(n.Role))
				}
			}
		}
	}
	for st, k := range byState {
		ch <- prometheus.MustNewConstMetric(descClusters, prometheus.GaugeValue, float64(k), string(st))
	}
	for st, k := range steps {
		ch <- prometheus.MustNewConstMetric(descSteps, prometheus.GaugeValue, float64(k), string(st))
	}
}
