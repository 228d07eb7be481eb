//go:build integration

package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/internal/proc"
)

// haTrials is how many times TestHighAvailability kills the active master
// in the middle of a step.
const haTrials = 5

// TestHighAvailability: a cluster with three master nodes runs a ZooKeeper
// ensemble that takes only authenticated clients, one ALIVE Spark master
// and two STANDBY. Killing the active master's JVM in the middle of a step,
// haTrials times, elects another each time, which recovers the worker and
// the running application; every step completes with the right answer.
// Then a whole master node dies: the cluster runs on with two.
func TestHighAvailability(t *testing.T) {
	e := newEnv(t)
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-groups",
		"InstanceGroupType=MASTER,InstanceCount=3,InstanceType=local.small",
		"InstanceGroupType=CORE,InstanceCount=1,InstanceType=local.medium", "--wait")).ClusterId
	v := e.describe(id)
	masters := map[string]*hearth.Node{}
	for _, n := range v.Nodes {
		if n.Role == hearth.RoleMaster {
			masters[n.Id] = n
		}
	}
	sp := v.Cluster.Spark
	if len(masters) != 3 || strings.Count(sp.MasterURL, ",") != 2 || strings.Count(sp.ZooKeeperURL, ",") != 2 || masters[sp.ActiveMaster] == nil {
		t.Fatalf("masters %d, Spark %+v; want 3 masters, a spark:// URL naming all three, the ensemble and the active master", len(masters), sp)
	}
	if st := haStatuses(v); st["ALIVE"] != 1 || st["STANDBY"] != 2 {
		t.Fatalf("master statuses %v, want one ALIVE and two STANDBY", st)
	}
	if a := masters[sp.ActiveMaster]; sp.UIURL != fmt.Sprintf("http://%s:%d/", a.Host, a.Ports.MasterWebUI) {
		t.Errorf("UI URL %s is not the active master's (%s)", sp.UIURL, a.Id)
	}

	// The ensemble refuses a client without the cluster's credentials.
	zk := strings.Split(sp.ZooKeeperURL, ",")[0]
	out, _ := exec.Command("java", "-cp", filepath.Join(sparkHome(t), "jars", "*"), "org.apache.zookeeper.ZooKeeperMain", "-server", zk, "ls", "/").CombinedOutput()
	if !strings.Contains(string(out), "failed to authenticate") {
		t.Errorf("an unauthenticated ZooKeeper client was not refused:\n%s", tailString(string(out), 2000))
	}

	slow, _ := filepath.Abs("testdata/ssh/slowsum.py")
	for trial := 1; trial <= haTrials; trial++ {
		step := e.stepAdd(id, sparkStep(fmt.Sprintf("slowsum-%d", trial), slow, "30"))[0]
		e.stepAwait(id, step, "the step to run", 2*time.Minute, func(st *hearth.Step) bool { return st.Status.State == hearth.StepRunning })
		before := e.waitFor(id, "the application to register with the active master", func(v *control.ClusterView) bool {
			m := haNode(v, v.Cluster.Spark.ActiveMaster)
			return m != nil && m.Observed.Master != nil && m.Observed.Master.ActiveApps == 1
		})
		old := haNode(before, before.Cluster.Spark.ActiveMaster)
		jvm := daemonPID(old, "master")
		if jvm == 0 || syscall.Kill(jvm, syscall.SIGKILL) != nil {
			t.Fatalf("trial %d: kill the active master JVM of %s: %+v", trial, old.Id, old.Observed.Daemons)
		}
		killed := time.Now()
		after := e.waitFor(id, "another master to take over with the worker and the application", func(v *control.ClusterView) bool {
			m := haNode(v, v.Cluster.Spark.ActiveMaster)
			return v.Cluster.Spark.ActiveMaster != old.Id && m != nil && m.Observed.Master != nil &&
				m.Observed.Master.Status == "ALIVE" && m.Observed.Master.AliveWorkers == 1 && m.Observed.Master.ActiveApps == 1
		})
		t.Logf("trial %d: master %s killed, %s ALIVE with the worker and the application after %.1fs", trial, old.Id, after.Cluster.Spark.ActiveMaster, time.Since(killed).Seconds())
		e.stepAwaitEnd(id, step, hearth.StepCompleted, 4*time.Minute)
		if out := e.stepLog(id, step, "stdout"); !strings.Contains(out, "SUM 435") {
			t.Errorf("trial %d: slowsum across a failover: %q; want SUM 435", trial, out)
		}
		e.waitFor(id, "the killed master to stand by again", func(v *control.ClusterView) bool {
			st := haStatuses(v)
			return st["ALIVE"] == 1 && st["STANDBY"] == 2
		})
	}

	// A whole master node dies (its agent, ZooKeeper and Spark master at
	// once): not the one running steps, so nothing is lost; the cluster
	// runs on with two and a step still completes.
	v = e.describe(id)
	var victim *hearth.Node
	for _, n := range v.Nodes {
		if n.Role == hearth.RoleMaster && n.Id != v.Cluster.Spark.ActiveMaster && victim == nil {
			victim = n
		}
	}
	steps := decodeJSON[struct{ Steps []hearth.Step }](t, e.ok("list-steps", "--cluster-id", id)).Steps
	if len(steps) > 0 && steps[0].RunsOn == victim.Id {
		for _, n := range v.Nodes { // spare the step runner
			if n.Role == hearth.RoleMaster && n.Id != victim.Id && n.Id != v.Cluster.Spark.ActiveMaster {
				victim = n
			}
		}
	}
	killSession(t, victim.Observed.AgentPID)
	v = e.waitFor(id, "the dead master node to fail", func(v *control.ClusterView) bool {
		n := haNode(v, victim.Id)
		return n.State == hearth.NodeFailed
	})
	if st := v.Cluster.Status.State; st != hearth.ClusterWaiting {
		t.Fatalf("cluster %s after losing one master node of three, want WAITING (%s)", st, v.Cluster.Status.StateChangeReason.Message)
	}
	step := e.stepAdd(id, sparkStep("slowsum-two-masters", slow, "10"))[0]
	e.stepAwaitEnd(id, step, hearth.StepCompleted, 4*time.Minute)
	if out := e.stepLog(id, step, "stdout"); !strings.Contains(out, "SUM 45") {
		t.Errorf("slowsum on two masters: %q; want SUM 45", out)
	}
	e.ok("terminate-clusters", "--cluster-ids", id)
}

// haNode is node id of v, nil if v has none.
func haNode(v *control.ClusterView, id string) *hearth.Node {
	for _, n := range v.Nodes {
		if n.Id == id {
			return n
		}
	}
	return nil
}

// haStatuses counts the live master nodes of v by their Spark master's
// status (ALIVE, STANDBY, RECOVERING, ...).
func haStatuses(v *control.ClusterView) map[string]int {
	st := map[string]int{}
	for _, n := range v.Nodes {
		if n.Role == hearth.RoleMaster && !n.State.Ended() && n.Observed.Master != nil {
			st[n.Observed.Master.Status]++
		}
	}
	return st
}

// daemonPID is the pid of node n's daemon name, 0 if it runs none.
func daemonPID(n *hearth.Node, name string) int {
	for _, d := range n.Observed.Daemons {
		if d.Name == name && d.Running {
			return d.PID
		}
	}
	return 0
}

// killSession kills every process of the session led by pid at once (a
// local node: its agent and every daemon and step it started), as a
// machine's sudden death would.
func killSession(t *testing.T, pid int) {
	t.Helper()
	if killed := proc.KillSession(pid); len(killed) < 2 {
		t.Fatalf("session %d had %d processes; want the agent and its daemons", pid, len(killed))
	}
}
