package control

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

func TestRingKeepsTheNewest(t *testing.T) {
	var r ring[int]
	if len(r.all()) != 0 {
		t.Fatal("an empty ring has samples")
	}
	for i := range metricsHistory + 5 {
		r.add(i)
	}
	all := r.all()
	if len(all) != metricsHistory || all[0] != 5 || all[len(all)-1] != metricsHistory+4 {
		t.Errorf("ring holds %d samples from %d to %d", len(all), all[0], all[len(all)-1])
	}
}

// TestReportsMakeMetrics: agents' samples become a node's series, the
// active master's report the cluster's EMR-style figures, both served by
// ClusterMetrics (with since) and as Prometheus gauges; a terminated
// cluster's samples are dropped. With replicas, the samples agents report
// to one replica are served by another.
func TestReportsMakeMetrics(t *testing.T) {
	t.Run("one server", func(t *testing.T) {
		s, _ := inertServer(t)
		testReportsMakeMetrics(t, s, s)
	})
	t.Run("replicas", func(t *testing.T) {
		a, b := replicaPair(t)
		testReportsMakeMetrics(t, a, b)
	})
}

// testReportsMakeMetrics reports to s and reads from r.
func testReportsMakeMetrics(t *testing.T, s, r *Server) {
	ctx := context.Background()
	st := s.store
	c, err := s.CreateCluster(ctx, hearth.ClusterSpec{Provisioner: "inert", InstanceGroups: []hearth.InstanceGroupConfig{
		{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1},
		{InstanceGroupType: hearth.RoleCore, InstanceType: "local.small", InstanceCount: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	nodes, _ := st.Nodes(ctx, c.Id)
	var master, core *hearth.Node
	for _, n := range nodes {
		if n.Role == hearth.RoleMaster {
			master = n
		} else {
			core = n
		}
	}
	t0 := time.Now().UTC()
	for i := range 3 {
		at := t0.Add(time.Duration(i) * time.Second)
		if err := s.Report(ctx, core, hearth.Report{Metrics: &hearth.NodeMetrics{Time: at, NodeCPUPercent: float64(100 * i)}}); err != nil {
			t.Fatal(err)
		}
		mst := &hearth.MasterStatus{Status: "ALIVE", AliveWorkers: 1, ActiveApps: 2, AppsWaiting: 1, Cores: 4, CoresUsed: 3}
		if err := s.Report(ctx, master, hearth.Report{Observed: hearth.Observed{Master: mst}, Metrics: &hearth.NodeMetrics{Time: at}}); err != nil {
			t.Fatal(err)
		}
	}
	v, err := r.ClusterMetrics(ctx, c.Id, t0)
	if err != nil {
		t.Fatal(err)
	}
	var coreSeries []hearth.NodeMetrics
	for _, ns := range v.Nodes {
		if ns.NodeId == core.Id {
			coreSeries = ns.Samples
		}
	}
	if len(v.Cluster) != 2 || len(coreSeries) != 2 || coreSeries[1].NodeCPUPercent != 200 {
		t.Fatalf("since the first sample: %d cluster samples, core series %+v; want the 2 later ones", len(v.Cluster), coreSeries)
	}
	if m := v.Cluster[1]; m.AppsRunning != 1 || m.AppsPending != 1 || m.IsIdle || m.CoresUsed != 3 || m.AliveWorkers != 1 {
		t.Errorf("cluster figures %+v", m)
	}
	rec := httptest.NewRecorder()
	r.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	page := rec.Body.String()
	for _, want := range []string{`hearth_cluster_apps_running{cluster="` + c.Id + `"} 1`, `hearth_node_cpu_percent{cluster="` + c.Id + `",node="` + core.Id + `",role="CORE"} 200`, `hearth_clusters{state="STARTING"} 1`} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	s.history.forget(ctx, c.Id, []string{master.Id, core.Id})
	if v, _ := r.ClusterMetrics(ctx, c.Id, time.Time{}); len(v.Cluster) != 0 || len(v.Nodes[0].Samples) != 0 {
		t.Errorf("samples left after forget: %+v", v)
	}
}
