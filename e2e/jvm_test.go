//go:build integration

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

// helloJar compiles a tiny Java application: it prints its arguments; with
// "fail" it throws, with "sleep" it sleeps five minutes.
func helloJar(t *testing.T) string {
	dir := t.TempDir()
	src := filepath.Join(dir, "Hello.java")
	os.WriteFile(src, []byte(`public class Hello {
    public static void main(String[] args) throws Exception {
        System.out.println("hello from the driver " + String.join(",", args));
        if (args.length > 0 && args[0].equals("sleep")) Thread.sleep(300000);
        if (args.length > 0 && args[0].equals("fail")) throw new IllegalStateException("driver failed on purpose");
    }
}
`), 0o644)
	for _, c := range [][]string{{"javac", src}, {"jar", "cf", "hello.jar", "Hello.class"}} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s (a JDK is needed to build the test jar; make test installs one): %v\n%s", c[0], err, out)
		}
	}
	return filepath.Join(dir, "hello.jar")
}

// waitStepEnd polls describe-step until the step has ended.
func (e *env) waitStepEnd(clusterID, stepID string) *hearth.Step {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st := decodeJSON[struct{ Step *hearth.Step }](e.t, e.ok("describe-step", "--cluster-id", clusterID, "--step-id", stepID)).Step
		if st.Status.State.Ended() {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("step %s still %s", stepID, st.Status.State)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestStepJVMClusterMode: a jar submitted with --deploy-mode cluster runs
// its driver on a worker; the step waits for it, shows its output, fails
// when the driver fails, and cancelling kills the driver.
func TestStepJVMClusterMode(t *testing.T) {
	jar := helloJar(t)
	e := newEnv(t)
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.small", "--instance-count", "2", "--wait")).ClusterId
	submit := "Type=CUSTOM_JAR,Name=%s,Jar=command-runner.jar,Args=[spark-submit,--deploy-mode,cluster,--class,Hello," + jar + ",%s]"
	ids := decodeJSON[struct{ StepIds []string }](t, e.ok("add-steps", "--cluster-id", id, "--steps",
		strings.ReplaceAll(strings.Replace(submit, "%s", "ok", 1), "%s", "a,b"),
		strings.ReplaceAll(strings.Replace(submit, "%s", "fail", 1), "%s", "fail"),
		strings.ReplaceAll(strings.Replace(submit, "%s", "sleep", 1), "%s", "sleep"),
	)).StepIds

	ok := e.waitStepEnd(id, ids[0])
	if ok.Status.State != hearth.StepCompleted {
		t.Errorf("ok step %s, want COMPLETED", ok.Status.State)
	}
	if out := e.ok("logs", "--cluster-id", id, "--step-id", ids[0]); !strings.Contains(out, "hello from the driver a,b") {
		t.Errorf("the driver's output is not in the step's stdout: %q", out)
	}

	failed := e.waitStepEnd(id, ids[1])
	fd := failed.Status.FailureDetails
	if failed.Status.State != hearth.StepFailed || fd == nil || fd.Reason != "java.lang.IllegalStateException" || fd.Message != "driver failed on purpose" {
		t.Errorf("fail step: %s %+v; want FAILED naming java.lang.IllegalStateException", failed.Status.State, fd)
	}

	// The sleeping driver: wait until it runs on a worker, then cancel.
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(e.ok("logs", "--cluster-id", id, "--step-id", ids[2], "--log-type", "stderr"), "Driver running on") {
		if time.Now().After(deadline) {
			t.Fatal("the sleeping driver never started")
		}
		time.Sleep(500 * time.Millisecond)
	}
	e.ok("cancel-steps", "--cluster-id", id, "--step-ids", ids[2])
	if st := e.waitStepEnd(id, ids[2]); st.Status.State != hearth.StepCancelled {
		t.Errorf("sleep step %s after cancel, want CANCELLED", st.Status.State)
	}
	resp := e.masterDrivers(id)
	if resp.active != 0 || !strings.Contains(resp.completed, "KILLED") {
		t.Errorf("after cancel the master has %d active drivers, completed %s; want 0 and a KILLED one", resp.active, resp.completed)
	}
}
