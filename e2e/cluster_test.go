//go:build integration

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

// masterJSON is the part of the Spark master's /json this test reads.
type masterJSON struct {
	Status       string `json:"status"`
	AliveWorkers int    `json:"aliveworkers"`
	Workers      []struct {
		Cores  int    `json:"cores"`
		Memory int    `json:"memory"`
		State  string `json:"state"`
	} `json:"workers"`
}

// TestLocalCluster is the foundation's story: a 1+2 local cluster boots,
// the master sees both workers with the asked cores and memory, a real
// spark-submit of pi.py runs on it, and terminate leaves nothing behind.
func TestLocalCluster(t *testing.T) {
	e := newEnv(t)
	out := e.ok("create-cluster", "--name", "e2e", "--release-label", "spark-4.0.1",
		"--instance-groups",
		"InstanceGroupType=MASTER,InstanceCount=1,InstanceType=local.small",
		"InstanceGroupType=CORE,InstanceCount=2,InstanceType=local.medium",
		"--tags", "team=data", "env=test", "--wait")
	created := decodeJSON[struct{ ClusterId string }](t, out)
	if !regexp.MustCompile(`^j-[A-Z0-9]{13}$`).MatchString(created.ClusterId) {
		t.Fatalf("cluster id %q is not EMR-shaped", created.ClusterId)
	}
	v := e.describe(created.ClusterId)
	c := v.Cluster
	if c.Status.State != hearth.ClusterWaiting || c.Status.Timeline.ReadyDateTime == nil {
		t.Fatalf("state %s, ready %v; want WAITING with a ReadyDateTime", c.Status.State, c.Status.Timeline.ReadyDateTime)
	}
	if len(c.Tags) != 2 || c.Tags[0] != (hearth.Tag{Key: "team", Value: "data"}) {
		t.Errorf("tags = %+v", c.Tags)
	}
	if len(v.Nodes) != 3 {
		t.Fatalf("%d nodes, want 3", len(v.Nodes))
	}

	// The master's UI port answers only the gateway, which signs its
	// requests; the master's own account, through the gateway.
	resp, err := http.Get(c.Spark.UIURL + "json/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("the master UI answered a direct request with %s, want 403 Forbidden", resp.Status)
	}
	m := decodeJSON[masterJSON](t, e.gatewayGet("/clusters/"+created.ClusterId+"/ui/json/"))
	if m.Status != "ALIVE" || m.AliveWorkers != 2 || len(m.Workers) != 2 {
		t.Fatalf("master /json: status %s, aliveworkers %d, %d workers; want ALIVE, 2, 2", m.Status, m.AliveWorkers, len(m.Workers))
	}
	for i, w := range m.Workers {
		if w.Cores != 2 || w.Memory != 2048 || w.State != "ALIVE" {
			t.Errorf("worker %d: %d cores, %d MiB, %s; want 2 cores, 2048 MiB (local.medium), ALIVE", i, w.Cores, w.Memory, w.State)
		}
	}

	// A real application on the cluster, submitted from outside with the
	// settings hearth spark-client writes (the cluster's RPC is
	// authenticated).
	home := sparkHome(t)
	client := decodeJSON[struct{ PropertiesFile string }](t, e.ok("spark-client", "--cluster-id", created.ClusterId, "--output-dir", t.TempDir()))
	submit := exec.Command(filepath.Join(home, "bin", "spark-submit"), "--properties-file", client.PropertiesFile,
		"--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.ui.enabled=false",
		filepath.Join(home, "examples", "src", "main", "python", "pi.py"), "4")
	submit.Env = append(e.environ(), "SPARK_LOCAL_IP=127.0.0.1")
	piOut, err := submit.Output()
	if err != nil {
		t.Fatalf("spark-submit pi.py: %v\n%s", err, piOut)
	}
	match := regexp.MustCompile(`Pi is roughly (\d+\.\d+)`).FindStringSubmatch(string(piOut))
	if match == nil {
		t.Fatalf("pi.py printed no estimate:\n%s", piOut)
	}
	if pi, _ := strconv.ParseFloat(match[1], 64); pi < 3.0 || pi > 3.3 {
		t.Errorf("pi estimate %v out of range", pi)
	}

	e.checkNodeShell(created.ClusterId, c.Spark.MasterURL)

	// Terminate (twice: the second is a no-op) and check nothing is left.
	e.ok("terminate-clusters", "--cluster-ids", created.ClusterId)
	e.ok("terminate-clusters", "--cluster-ids", created.ClusterId)
	e.ok("wait", "cluster-terminated", "--cluster-id", created.ClusterId, "--timeout", "2m")
	v = e.describe(created.ClusterId)
	if v.Cluster.Status.State != hearth.ClusterTerminated || v.Cluster.Status.StateChangeReason.Code != hearth.ReasonUserRequest {
		t.Errorf("after terminate: %s %s", v.Cluster.Status.State, v.Cluster.Status.StateChangeReason.Code)
	}
	for _, n := range v.Nodes {
		if n.State != hearth.NodeTerminated {
			t.Errorf("node %s is %s, want TERMINATED", n.Id, n.State)
		}
	}
	if left := e.processes(); len(left) > 0 {
		t.Errorf("after terminate, still running:\n%s", strings.Join(left, "\n"))
	}
	if logs := e.file(filepath.Join("clusters", created.ClusterId, "nodes", v.Nodes[0].Id, "logs", "spark-master.out")); !strings.Contains(logs, "I have been elected leader") {
		t.Errorf("master log not kept after terminate")
	}
}

// TestServerRestart: clusters outlive the control plane; a restarted server
// finds them, hears their heartbeats again, and can terminate them.
func TestServerRestart(t *testing.T) {
	e := newEnv(t)
	created := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.small", "--instance-count", "2", "--wait"))
	before := e.describe(created.ClusterId)
	e.killServer()
	time.Sleep(time.Second)
	if len(e.processes()) < 3 { // 2 agents + master + worker JVMs survive
		t.Fatalf("cluster processes did not survive the server: %v", e.processes())
	}
	e.startServer()
	deadline := time.Now().Add(30 * time.Second)
	for {
		after := e.describe(created.ClusterId)
		if after.Cluster.Status.State != hearth.ClusterWaiting {
			t.Fatalf("after restart: %s (%s)", after.Cluster.Status.State, after.Cluster.Status.StateChangeReason.Message)
		}
		fresh := 0
		for i, n := range after.Nodes {
			if n.LastHeartbeat.After(*before.Nodes[i].LastHeartbeat) && n.State == hearth.NodeRunning {
				fresh++
			}
		}
		if fresh == len(after.Nodes) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agents did not report to the restarted server")
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Killed while a step runs and writes: the step goes on without the
	// control plane, and after the restart it is COMPLETED once, with every
	// line of its output exactly once.
	step := e.stepAdd(created.ClusterId, shellStep("lines", "CONTINUE", `for i in $(seq 1 30); do echo line-$i; sleep 0.2; done`))[0]
	e.stepAwait(created.ClusterId, step, "the step to run", time.Minute, func(st *hearth.Step) bool { return st.Status.State == hearth.StepRunning })
	time.Sleep(time.Second)
	e.killServer()
	time.Sleep(3 * time.Second)
	e.startServer()
	e.stepAwaitEnd(created.ClusterId, step, hearth.StepCompleted, 2*time.Minute)
	out := e.stepLog(created.ClusterId, step, "stdout")
	for i := 1; i <= 30; i++ {
		if n := strings.Count(out, fmt.Sprintf("line-%d\n", i)); n != 1 {
			t.Errorf("line-%d appears %d times in the step's stdout after a server restart:\n%s", i, n, out)
			break
		}
	}

	// Killed while a cluster is STARTING: the restarted server takes it on.
	starting := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.small", "--instance-count", "1")).ClusterId
	time.Sleep(300 * time.Millisecond)
	e.killServer()
	e.startServer()
	e.ok("wait", "cluster-running", "--cluster-id", starting, "--timeout", "3m")

	e.ok("terminate-clusters", "--cluster-ids", created.ClusterId, starting)
	e.ok("wait", "cluster-terminated", "--cluster-id", created.ClusterId, "--timeout", "2m")
	e.ok("wait", "cluster-terminated", "--cluster-id", starting, "--timeout", "2m")
	if left := e.processes(); len(left) > 0 {
		t.Errorf("after terminate, still running:\n%s", strings.Join(left, "\n"))
	}
}

// checkNodeShell: hearth ssh runs a command on the master node with its
// Spark's environment, hearth put and get copy a file there and back.
func (e *env) checkNodeShell(id, masterURL string) {
	t := e.t
	t.Helper()
	out := e.ok("ssh", "--cluster-id", id, "--command", `echo "$MASTER"; test -x "$SPARK_HOME/bin/spark-submit" && echo has-spark-submit; test -r "$SPARK_CONF_DIR/spark-defaults.conf" && echo has-conf; cat instance.json`)
	if !strings.Contains(out, masterURL) || !strings.Contains(out, "has-spark-submit") || !strings.Contains(out, "has-conf") || !strings.Contains(out, `"isMaster": true`) {
		t.Errorf("hearth ssh --command on the master node printed:\n%s", out)
	}
	if r := e.hearth("ssh", "--cluster-id", id, "--command", "exit 7"); r.code != 7 {
		t.Errorf("hearth ssh --command 'exit 7': exit %d, want 7", r.code)
	}
	dir := t.TempDir()
	src := stepsWriteFile(t, dir, "hello.txt", "hello from "+id+"\n")
	e.ok("put", "--cluster-id", id, "--src", src, "--dest", "hello-put.txt")
	if out := e.ok("ssh", "--cluster-id", id, "--command", "cat hello-put.txt"); out != "hello from "+id+"\n" {
		t.Errorf("after hearth put, the node has %q", out)
	}
	back := filepath.Join(dir, "back.txt")
	e.ok("get", "--cluster-id", id, "--src", "hello-put.txt", "--dest", back)
	if b, _ := os.ReadFile(back); string(b) != "hello from "+id+"\n" {
		t.Errorf("hearth get brought back %q", b)
	}
	if r := e.hearth("get", "--cluster-id", id, "--src", "no-such-file", "--dest", back); r.code != 2 || !strings.Contains(r.stderr, "--src") {
		t.Errorf("hearth get of a missing file: exit %d, %q; want 2 naming --src", r.code, r.stderr)
	}
}
