//go:build integration

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetrics: while a CPU-heavy step runs, the worker node's CPU rises
// and falls back after, the cluster counts one running application and is
// not idle, then idle; the daemons' JVM heaps come from Spark's own
// metrics; /metrics answers only its scrape token (or the admin token) and
// parses as Prometheus text with the named series; `hearth top` shows it.
func TestMetrics(t *testing.T) {
	e := newEnvArgs(t, []string{"--node-metrics-interval", "1s"})
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.medium", "--instance-count", "2",
		"--applications", "Name=Ganglia", "--wait")).ClusterId
	v := e.describe(id)
	if !strings.Contains(strings.Join(v.Cluster.Notes, "\n"), "Ganglia") {
		t.Errorf("a cluster that asked for Ganglia says nothing of it: %q", v.Cluster.Notes)
	}
	if r := e.hearth("create-cluster", "--instance-type", "local.small", "--applications", "Name=Zeppelin"); r.code != 2 || !strings.Contains(r.stderr, "JupyterLab") {
		t.Errorf("Zeppelin: exit %d, %q; want 2, pointing to JupyterLab", r.code, r.stderr)
	}
	var worker string
	for _, n := range v.Nodes {
		if n.Role == hearth.RoleCore {
			worker = n.Id
		}
	}
	metrics := func() *control.MetricsView {
		return decodeJSON[*control.MetricsView](t, e.apiGet("/api/v1/clusters/"+id+"/metrics"))
	}
	latest := func(m *control.MetricsView, node string) (hearth.NodeMetrics, bool) {
		for _, n := range m.Nodes {
			if n.NodeId == node && len(n.Samples) > 0 {
				return n.Samples[len(n.Samples)-1], true
			}
		}
		return hearth.NodeMetrics{}, false
	}
	await := func(what string, ok func(*control.MetricsView) bool) *control.MetricsView {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			m := metrics()
			if ok(m) {
				return m
			}
			if time.Now().After(deadline) {
				b, _ := json.MarshalIndent(m, "", " ")
				t.Fatalf("timed out waiting for %s; metrics:\n%s", what, tailString(string(b), 3000))
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	m := await("an idle cluster with quiet nodes and the daemons' heaps", func(m *control.MetricsView) bool {
		s, ok := latest(m, worker)
		heap := 0.0
		for _, d := range s.Daemons {
			if d.Name == "worker" {
				heap = d.HeapUsedMB
			}
		}
		return ok && len(m.Cluster) > 0 && m.Cluster[len(m.Cluster)-1].IsIdle && s.NodeCPUPercent < 40 && heap > 0
	})
	if c := m.Cluster[len(m.Cluster)-1]; c.AliveWorkers != 1 || c.CoresTotal != 2 || c.AppsRunning != 0 {
		t.Errorf("idle cluster figures %+v; want 1 worker, 2 cores, no application", c)
	}

	busy, _ := filepath.Abs("testdata/metrics/busy.py")
	step := e.stepAdd(id, sparkStep("busy", busy, "15"))[0]
	m = await("the worker busy with one running application", func(m *control.MetricsView) bool {
		s, ok := latest(m, worker)
		c := m.Cluster[len(m.Cluster)-1]
		return ok && s.NodeCPUPercent > 80 && c.AppsRunning == 1 && !c.IsIdle && c.CoresUsed == 2
	})
	s, _ := latest(m, worker)
	t.Logf("worker node during the step: %.0f%% CPU, %.0f MB", s.NodeCPUPercent, s.NodeRSSMB)

	// /metrics, meanwhile: refused without the scrape token, then parsed.
	resp, err := http.Get(e.endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated /metrics: %s, want 401", resp.Status)
	}
	scrape, err := os.ReadFile(filepath.Join(e.home, "metrics.token"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.endpoint+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(scrape)))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("/metrics with the scrape token: %s, parse: %v\n%s", resp.Status, err, tailString(string(body), 2000))
	}
	for _, name := range []string{"hearth_clusters", "hearth_steps", "hearth_step_dispatch_seconds", "hearth_reconcile_pass_seconds",
		"hearth_agent_heartbeat_age_seconds", "hearth_api_request_seconds", "hearth_cluster_is_idle", "hearth_cluster_apps_running",
		"hearth_cluster_cores_used", "hearth_node_cpu_percent", "hearth_node_rss_mb"} {
		if families[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if f := families["hearth_cluster_apps_running"]; f != nil {
		found := false
		for _, mt := range f.Metric {
			for _, l := range mt.Label {
				found = found || (l.GetName() == "cluster" && l.GetValue() == id && mt.GetGauge().GetValue() == 1)
			}
		}
		if !found {
			t.Errorf("hearth_cluster_apps_running{cluster=%q} is not 1 during the step", id)
		}
	}
	// Spark's own metrics, through the gateway.
	if page := e.gatewayGet("/clusters/" + id + "/ui/metrics/master/prometheus"); !strings.Contains(page, "metrics_master_aliveWorkers") && !strings.Contains(page, "metrics_master_workers") {
		t.Errorf("the master's Prometheus page through the gateway:\n%s", tailString(page, 1500))
	}
	if top := e.ok("top", "--cluster-id", id, "--once"); !strings.Contains(top, worker) || !strings.Contains(top, "apps running 1") {
		t.Errorf("hearth top during the step:\n%s", top)
	}

	e.stepAwaitEnd(id, step, hearth.StepCompleted, 3*time.Minute)
	await("the worker quiet and the cluster idle again", func(m *control.MetricsView) bool {
		s, ok := latest(m, worker)
		c := m.Cluster[len(m.Cluster)-1]
		return ok && s.NodeCPUPercent < 40 && c.IsIdle && c.AppsRunning == 0
	})
	e.ok("terminate-clusters", "--cluster-ids", id)
}

// apiGet fetches a path of the API with the admin token; it fails the test
// unless the answer is 200.
func (e *env) apiGet(path string) string {
	e.t.Helper()
	status, body := e.authGet(e.endpoint + path)
	if status != http.StatusOK {
		e.t.Fatalf("GET %s: %d: %s", path, status, tailString(body, 500))
	}
	return body
}
