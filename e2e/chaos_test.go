//go:build integration

package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
)

// Chaos trials: each takes something away in the middle of a job and checks
// the job's exact answer.
const (
	workerJVMTrials  = 6
	workerNodeTrials = 4
	chaosTasks       = 16 // per job: SUM 120
)

// TestWorkerChaos: one application runs workerJVMTrials+workerNodeTrials
// jobs on two workers. In the middle of each of the first jobs a worker JVM
// is killed (its agent restarts it); in the middle of each of the others a
// whole worker node dies at once, agent and JVMs (it is replaced). Every job
// gets the right answer and the step completes.
func TestWorkerChaos(t *testing.T) {
	e := newEnv(t)
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-groups",
		"InstanceGroupType=MASTER,InstanceCount=1,InstanceType=local.small",
		"InstanceGroupType=CORE,InstanceCount=2,InstanceType=local.small", "--wait")).ClusterId
	gate := t.TempDir()
	script, _ := filepath.Abs("testdata/chaos/jobs.py")
	jobs := workerJVMTrials + workerNodeTrials
	step := e.stepAdd(id, sparkStep("chaos", script, fmt.Sprint(jobs), fmt.Sprint(chaosTasks), gate))[0]
	want := fmt.Sprint(chaosTasks * (chaosTasks - 1) / 2)
	for j := 1; j <= jobs; j++ {
		v := e.waitFor(id, "two workers before the next job", func(v *control.ClusterView) bool {
			return aliveWorkers(v) == 2 && liveCoreNodes(v, hearth.NodeRunning) == 2
		})
		os.WriteFile(filepath.Join(gate, fmt.Sprintf("go-%d", j)), nil, 0o644)
		awaitFile(t, filepath.Join(gate, fmt.Sprintf("started-%d", j)), 3*time.Minute)
		time.Sleep(time.Second) // tasks are running on both workers
		victim := coreNodes(v)[j%2]
		if j <= workerJVMTrials {
			pid := daemonPID(victim, "worker")
			if pid == 0 || syscall.Kill(pid, syscall.SIGKILL) != nil {
				t.Fatalf("job %d: kill the worker JVM of %s: %+v", j, victim.Id, victim.Observed.Daemons)
			}
		} else {
			killSession(t, victim.Observed.AgentPID)
		}
		got := awaitFile(t, filepath.Join(gate, fmt.Sprintf("done-%d", j)), 3*time.Minute)
		if got != want {
			t.Errorf("job %d: SUM %s, want %s", j, got, want)
		}
	}
	e.stepAwaitEnd(id, step, hearth.StepCompleted, 2*time.Minute)
	out := e.stepLog(id, step, "stdout")
	for j := 1; j <= jobs; j++ {
		if !strings.Contains(out, fmt.Sprintf("JOB %d SUM %s\n", j, want)) {
			t.Errorf("stdout lacks job %d's answer:\n%s", j, out)
		}
	}
	v := e.describe(id)
	failed := 0
	for _, n := range v.Nodes {
		if n.State == hearth.NodeFailed {
			failed++
		}
	}
	if failed != workerNodeTrials || !v.Cluster.Status.State.Active() {
		t.Errorf("%d failed nodes, cluster %s; want %d replaced and the cluster running", failed, v.Cluster.Status.State, workerNodeTrials)
	}
}

// coreNodes are the live CORE nodes of v.
func coreNodes(v *control.ClusterView) []*hearth.Node {
	var out []*hearth.Node
	for _, n := range v.Nodes {
		if n.Role == hearth.RoleCore && !n.State.Ended() {
			out = append(out, n)
		}
	}
	return out
}

func liveCoreNodes(v *control.ClusterView, st hearth.NodeState) int {
	k := 0
	for _, n := range coreNodes(v) {
		if n.State == st {
			k++
		}
	}
	return k
}

// awaitFile waits for path to exist and returns its content.
func awaitFile(t *testing.T, path string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if b, err := os.ReadFile(path); err == nil {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s", path, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// controlPlaneSteps is how many step lifecycles TestControlPlaneChaos runs
// while it kills the control plane.
const controlPlaneSteps = 20

// TestControlPlaneChaos: kill -9 `hearth server` at random moments while
// controlPlaneSteps steps are added, run and finish, and start it again
// each time. Afterwards every step COMPLETED, each ran exactly once, and
// each log holds its output exactly once.
func TestControlPlaneChaos(t *testing.T) {
	e := newEnv(t)
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.small", "--instance-count", "1", "--wait")).ClusterId
	runs := t.TempDir()
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	var steps []string
	add := func() {
		i := len(steps) + 1
		script := fmt.Sprintf("'echo ran >> %s/%d; sleep 0.%d; echo output-%d'", runs, i, rng.IntN(10), i)
		steps = append(steps, e.stepAdd(id, shellStep(fmt.Sprintf("s%d", i), "CONTINUE", script))...)
	}
	kills := 0
	for len(steps) < controlPlaneSteps {
		for k := rng.IntN(4); k >= 0 && len(steps) < controlPlaneSteps; k-- {
			add()
		}
		time.Sleep(time.Duration(rng.IntN(2500)) * time.Millisecond)
		e.killServer()
		kills++
		e.startServer()
	}
	for kills < 8 { // and while the last steps run and end
		time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
		e.killServer()
		kills++
		e.startServer()
	}
	for i, st := range steps {
		e.stepAwaitEnd(id, st, hearth.StepCompleted, 2*time.Minute)
		b, err := os.ReadFile(filepath.Join(runs, fmt.Sprint(i+1)))
		if err != nil || string(b) != "ran\n" {
			t.Errorf("step %d ran %d times; want exactly once (err %v)", i+1, strings.Count(string(b), "ran"), err)
		}
		if out := e.stepLog(id, st, "stdout"); out != fmt.Sprintf("output-%d\n", i+1) {
			t.Errorf("step %d stdout %q; want its output exactly once", i+1, out)
		}
	}
	t.Logf("%d steps across %d kills of the control plane", len(steps), kills)
}
