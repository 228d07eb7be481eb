//go:build integration

package e2e

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
)

// waitFor polls describe-cluster until ok holds or a minute passes.
func (e *env) waitFor(id, what string, ok func(*control.ClusterView) bool) *control.ClusterView {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		v := e.describe(id)
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s; cluster %s (%s)", what, v.Cluster.Status.State, v.Cluster.Status.StateChangeReason.Message)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// aliveWorkers is how many workers the cluster's ALIVE Spark master has,
// -1 while none is ALIVE.
func aliveWorkers(v *control.ClusterView) int {
	for _, n := range v.Nodes {
		if m := n.Observed.Master; n.Role == hearth.RoleMaster && !n.State.Ended() && m != nil && m.Status == "ALIVE" {
			return m.AliveWorkers
		}
	}
	return -1
}

// TestNodeFailures: a killed worker JVM is restarted by its agent; a node
// whose agent dies is marked FAILED and replaced; the cluster stays WAITING
// with all its workers throughout.
func TestNodeFailures(t *testing.T) {
	e := newEnv(t)
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.small", "--instance-count", "3", "--wait")).ClusterId
	v := e.describe(id)
	var worker *hearth.Node
	for _, n := range v.Nodes {
		if n.Role == hearth.RoleCore {
			worker = n
			break
		}
	}

	// 1. The worker JVM dies: the agent restarts it.
	jvm := worker.Observed.Daemons[0].PID
	if err := syscall.Kill(jvm, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	v = e.waitFor(id, "the worker JVM to be restarted and re-registered", func(v *control.ClusterView) bool {
		for _, n := range v.Nodes {
			if n.Id == worker.Id && len(n.Observed.Daemons) == 1 {
				d := n.Observed.Daemons[0]
				return d.Running && d.Restarts == 1 && d.PID != jvm && aliveWorkers(v) == 2
			}
		}
		return false
	})
	if v.Cluster.Status.State != hearth.ClusterWaiting {
		t.Errorf("cluster %s after a worker restart, want WAITING", v.Cluster.Status.State)
	}

	// 2. The node's agent dies: the node fails and is replaced.
	if err := syscall.Kill(worker.Observed.AgentPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	v = e.waitFor(id, "the failed node to be replaced", func(v *control.ClusterView) bool {
		failed, running := false, 0
		for _, n := range v.Nodes {
			if n.Id == worker.Id {
				failed = n.State == hearth.NodeFailed
			} else if n.State == hearth.NodeRunning {
				running++
			}
		}
		return failed && running == 3 && aliveWorkers(v) == 2
	})
	if len(v.Nodes) != 4 || v.Cluster.Status.State != hearth.ClusterWaiting {
		t.Errorf("%d nodes, cluster %s; want 4 nodes (one replaced), WAITING", len(v.Nodes), v.Cluster.Status.State)
	}
	for _, n := range v.Nodes {
		if n.Id == worker.Id && n.StateMessage != "agent process exited" {
			t.Errorf("failed node message %q", n.StateMessage)
		}
	}
}

// TestMasterRecovery: the master JVM of a single-master cluster dies in the
// middle of a step; the agent restarts it, it recovers its workers and the
// step's application from its recovery directory, and the step completes
// with the right answer.
func TestMasterRecovery(t *testing.T) {
	e := newEnv(t)
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.small", "--instance-count", "3", "--wait")).ClusterId
	slow, _ := filepath.Abs("testdata/ssh/slowsum.py")
	step := e.stepAdd(id, sparkStep("slowsum", slow, "40"))[0]
	e.stepAwait(id, step, "the step to run", 2*time.Minute, func(st *hearth.Step) bool { return st.Status.State == hearth.StepRunning })
	time.Sleep(6 * time.Second)
	var master *hearth.Node
	for _, n := range e.describe(id).Nodes {
		if n.Role == hearth.RoleMaster {
			master = n
		}
	}
	jvm := master.Observed.Daemons[0].PID
	if master.Observed.Daemons[0].Name != "master" || syscall.Kill(jvm, syscall.SIGKILL) != nil {
		t.Fatalf("kill the master JVM %+v", master.Observed.Daemons)
	}
	v := e.waitFor(id, "the master to be restarted and to recover its workers", func(v *control.ClusterView) bool {
		for _, n := range v.Nodes {
			if n.Id == master.Id && len(n.Observed.Daemons) > 0 {
				d := n.Observed.Daemons[0]
				return d.Running && d.Restarts == 1 && d.PID != jvm && aliveWorkers(v) == 2
			}
		}
		return false
	})
	if v.Cluster.Status.State.Ended() {
		t.Fatalf("cluster %s after a master restart", v.Cluster.Status.State)
	}
	e.stepAwaitEnd(id, step, hearth.StepCompleted, 4*time.Minute)
	if out := e.stepLog(id, step, "stdout"); !strings.Contains(out, "SUM 780") {
		t.Errorf("slowsum across a master restart: %q; want SUM 780", out)
	}
	if logs := e.file(filepath.Join("clusters", id, "nodes", master.Id, "logs", "spark-master.out")); !strings.Contains(logs, "recovery") && !strings.Contains(logs, "Recovery") {
		t.Errorf("the restarted master did not recover from its directory:\n%s", tailString(logs, 2000))
	}

	// The whole master node dies (agent and JVMs at once): a single-master
	// cluster cannot go on, and says why.
	killSession(t, master.Observed.AgentPID)
	v = e.clusterAwait(id, "the cluster to fail", 2*time.Minute, func(v *control.ClusterView) bool { return v.Cluster.Status.State.Ended() })
	if r := v.Cluster.Status.StateChangeReason; v.Cluster.Status.State != hearth.ClusterTerminatedWithErrors || r.Code != hearth.ReasonInstanceFailure || !strings.Contains(r.Message, master.Id) {
		t.Errorf("after its master node died: %s %+v; want TERMINATED_WITH_ERRORS, INSTANCE_FAILURE naming %s", v.Cluster.Status.State, r, master.Id)
	}
}
