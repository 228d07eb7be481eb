//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
)

// How long a step may take here. A PySpark step on a 2-core machine spends
// most of its time starting a driver and an executor JVM; other suites may
// share the machine.
const (
	sparkStepTimeout = 4 * time.Minute
	shellStepTimeout = time.Minute
)

// PySpark scripts the tests run as steps.
const (
	// raises in the driver before Spark starts
	failingPy = `print("about to fail", flush=True)
raise ValueError("bad input 42")
`
	// fails in the JVM: Spark's AnalysisException surfaces in Python
	missingParquetPy = `import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("missing-parquet").getOrCreate()
spark.read.parquet(sys.argv[1]).count()
`
	// an application whose only task sleeps for 5 minutes
	sleeperPy = `import time
from pyspark.sql import SparkSession
sc = SparkSession.builder.appName("sleeper").getOrCreate().sparkContext
print("HEARTH-MARKER the job starts", flush=True)
sc.parallelize([1], 1).map(lambda x: time.sleep(300)).collect()
print("HEARTH-MARKER the job ended", flush=True)
`
	tickPy = `import time
for i in range(1, 9):
    print(f"tick {i}", flush=True)
    time.sleep(1)
`
)

// wordcountText has more than 50 distinct words, ties across the top-50
// cut, capitals, punctuation and apostrophes.
const wordcountText = `It was the best of times, it was the worst of times, it was the age of
wisdom, it was the age of foolishness, it was the epoch of belief, it was the
epoch of incredulity, it was the season of Light, it was the season of
Darkness, it was the spring of hope, it was the winter of despair, we had
everything before us, we had nothing before us, we were all going direct to
Heaven, we were all going direct the other way - in short, the period was so
far like the present period, that some of its noisiest authorities insisted on
its being received, for good or for evil, in the superlative degree of
comparison only.
Don't 'quote' me: O'Brien's DON'T isn't the same as "dont"; ''' -- 42 times!
`

// stepsWordcount is examples/wordcount.py, run as the README's example does.
func stepsWordcount(t *testing.T) string {
	p, err := filepath.Abs(filepath.Join("..", "examples", "wordcount.py"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("example missing: %v", err)
	}
	return p
}

// expectedWordCounts computes what wordcount.py prints for text, as JSON
// decodes it: the top words by count, ties by word.
func expectedWordCounts(text string, top int) []any {
	counts := map[string]int{}
	word := regexp.MustCompile(`[a-z']+`)
	for _, line := range strings.Split(text, "\n") {
		for _, w := range word.FindAllString(strings.ToLower(line), -1) {
			if w = strings.Trim(w, "'"); w != "" {
				counts[w]++
			}
		}
	}
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	sort.Slice(words, func(i, j int) bool {
		if counts[words[i]] != counts[words[j]] {
			return counts[words[i]] > counts[words[j]]
		}
		return words[i] < words[j]
	})
	out := []any{}
	for _, w := range words[:min(top, len(words))] {
		out = append(out, []any{w, float64(counts[w])})
	}
	return out
}

// checkWordCounts fails unless stdout is the JSON wordcount.py prints for text.
func checkWordCounts(t *testing.T, stdout, text string) {
	t.Helper()
	want := expectedWordCounts(text, 50)
	if len(want) != 50 {
		t.Fatalf("fixture has %d distinct words; want more than 50 so the cut matters", len(want))
	}
	var got []any
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &got); err != nil {
		t.Fatalf("step stdout is not the JSON word counts: %v\n%s", err, stdout)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("word counts differ\n got: %s\nwant: %s", g, w)
	}
}

// writeFile writes content to name in dir and returns its absolute path.
func stepsWriteFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sparkStep is a --steps item that spark-submits args.
func sparkStep(name string, args ...string) string {
	return fmt.Sprintf("Type=SPARK,Name=%s,Args=[%s]", name, strings.Join(args, ","))
}

// shellStep is a --steps item that runs script with bash via command-runner.jar.
func shellStep(name, action, script string) string {
	return fmt.Sprintf("Type=CUSTOM_JAR,Name=%s,ActionOnFailure=%s,Jar=command-runner.jar,Args=[bash,-c,%s]", name, action, script)
}

// stepCreateCluster creates a cluster and returns its id.
func (e *env) stepCreateCluster(args ...string) string {
	e.t.Helper()
	return decodeJSON[struct{ ClusterId string }](e.t, e.ok(append([]string{"create-cluster"}, args...)...)).ClusterId
}

// stepAdd adds steps (shorthand items) in one add-steps call.
func (e *env) stepAdd(cluster string, steps ...string) []string {
	e.t.Helper()
	args := []string{"add-steps", "--cluster-id", cluster}
	for _, s := range steps {
		args = append(args, "--steps", s)
	}
	ids := decodeJSON[struct{ StepIds []string }](e.t, e.ok(args...)).StepIds
	if len(ids) != len(steps) {
		e.t.Fatalf("add-steps returned %d ids for %d steps", len(ids), len(steps))
	}
	return ids
}

func (e *env) stepDescribe(cluster, step string) *hearth.Step {
	e.t.Helper()
	return decodeJSON[struct{ Step *hearth.Step }](e.t, e.ok("describe-step", "--cluster-id", cluster, "--step-id", step)).Step
}

func (e *env) stepList(cluster string) []*hearth.Step {
	e.t.Helper()
	return decodeJSON[struct{ Steps []*hearth.Step }](e.t, e.ok("list-steps", "--cluster-id", cluster)).Steps
}

// stepLog returns a step's log stream as `hearth logs` prints it.
func (e *env) stepLog(cluster, step, stream string) string {
	e.t.Helper()
	return e.ok("logs", "--cluster-id", cluster, "--step-id", step, "--log-type", stream)
}

// stepCancel cancels steps and fails unless each was SUBMITTED.
func (e *env) stepCancel(cluster string, steps ...string) {
	e.t.Helper()
	out := decodeJSON[struct {
		CancelStepsInfoList []control.CancelStepsInfo
	}](e.t, e.ok("cancel-steps", "--cluster-id", cluster, "--step-ids", strings.Join(steps, ",")))
	if len(out.CancelStepsInfoList) != len(steps) {
		e.t.Fatalf("cancel-steps answered for %d steps, want %d", len(out.CancelStepsInfoList), len(steps))
	}
	for _, info := range out.CancelStepsInfoList {
		if info.Status != "SUBMITTED" {
			e.t.Errorf("cancel %s: %s (%s), want SUBMITTED", info.StepId, info.Status, info.Reason)
		}
	}
}

// stepAwait polls describe-step until ok holds, or fails the test after
// timeout with the step's logs.
func (e *env) stepAwait(cluster, step, what string, timeout time.Duration, ok func(*hearth.Step) bool) *hearth.Step {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := e.stepDescribe(cluster, step)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("step %s (%s): timed out after %s waiting for %s; it is %s\ncontroller:\n%s\nstderr tail:\n%s", step, st.Name, timeout, what,
				st.Status.State, e.stepLog(cluster, step, "controller"), tailString(e.stepLog(cluster, step, "stderr"), 3000))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// stepAwaitEnd waits until the step has ended and checks it ended in want.
func (e *env) stepAwaitEnd(cluster, step string, want hearth.StepState, timeout time.Duration) *hearth.Step {
	e.t.Helper()
	st := e.stepAwait(cluster, step, "the step to end", timeout, func(st *hearth.Step) bool { return st.Status.State.Ended() })
	if st.Status.State != want {
		e.t.Fatalf("step %s (%s) ended %s, want %s; failure %+v\nstderr tail:\n%s", step, st.Name, st.Status.State, want,
			st.Status.FailureDetails, tailString(e.stepLog(cluster, step, "stderr"), 3000))
	}
	return st
}

// clusterAwait polls describe-cluster until ok holds.
func (e *env) clusterAwait(cluster, what string, timeout time.Duration, ok func(*control.ClusterView) bool) *control.ClusterView {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := e.describe(cluster)
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s; cluster %s (%s)", what, v.Cluster.Status.State, v.Cluster.Status.StateChangeReason.Message)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// stepDrain cancels whatever still runs or waits on the cluster, so a
// failed subtest does not block the queue of the next one.
func (e *env) stepDrain(cluster string) {
	r := e.hearth("list-steps", "--cluster-id", cluster, "--step-states", "PENDING,RUNNING,CANCEL_PENDING")
	var list struct{ Steps []*hearth.Step }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &list) != nil || len(list.Steps) == 0 {
		return
	}
	var ids []string
	for _, st := range list.Steps {
		ids = append(ids, st.Id)
	}
	e.hearth("cancel-steps", "--cluster-id", cluster, "--step-ids", strings.Join(ids, ","), "--step-cancellation-option", "TERMINATE_PROCESS")
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		r := e.hearth("list-steps", "--cluster-id", cluster, "--step-states", "PENDING,RUNNING,CANCEL_PENDING")
		if r.code != 0 || strings.Count(r.stdout, `"Id"`) == 0 {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// masterStatus is the Spark master's view as the master node last reported it.
func stepsMasterStatus(v *control.ClusterView) *hearth.MasterStatus {
	for _, n := range v.Nodes {
		if n.Role == hearth.RoleMaster && !n.State.Ended() {
			return n.Observed.Master
		}
	}
	return nil
}

// stepProcesses lists live processes started for a step: the agent puts
// HEARTH_STEP_ID in the environment of the step's command, which every
// process of its tree inherits.
func stepProcesses(step string) []string {
	needle := []byte("HEARTH_STEP_ID=" + step)
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			continue
		}
		environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if bytes.Contains(environ, needle) {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			out = append(out, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		}
	}
	return out
}

// eventually polls cond every 250ms until it returns "" or timeout passes,
// and returns the last complaint.
func stepsEventually(timeout time.Duration, cond func() string) string {
	deadline := time.Now().Add(timeout)
	for {
		msg := cond()
		if msg == "" || time.Now().After(deadline) {
			return msg
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func checkStepTimeline(t *testing.T, st *hearth.Step) {
	t.Helper()
	tl := st.Status.Timeline
	if tl.CreationDateTime == nil || tl.StartDateTime == nil || tl.EndDateTime == nil {
		t.Fatalf("step %s timeline %+v: want Creation, Start and End set", st.Id, tl)
	}
	if tl.StartDateTime.Before(*tl.CreationDateTime) || tl.EndDateTime.Before(*tl.StartDateTime) {
		t.Errorf("step %s timeline out of order: created %s, started %s, ended %s", st.Id, tl.CreationDateTime, tl.StartDateTime, tl.EndDateTime)
	}
}

// TestStepLifecycle runs EMR's step semantics on one 1+1 cluster with the
// default concurrency of 1: a word count, Python and JVM failures, cancel
// of running and pending steps, live logs, ActionOnFailure, rejected
// requests, and finally a TERMINATE_CLUSTER failure that ends the cluster.
func TestStepLifecycle(t *testing.T) {
	e := newEnv(t)
	cluster := e.stepCreateCluster("--name", "steps", "--instance-type", "local.small", "--instance-count", "2", "--wait")
	var added []string // every step id, in the order the steps were added
	add := func(steps ...string) []string {
		ids := e.stepAdd(cluster, steps...)
		added = append(added, ids...)
		return ids
	}
	drain := func(t *testing.T) { t.Cleanup(func() { e.stepDrain(cluster) }) }

	t.Run("wordcount completes", func(t *testing.T) {
		drain(t)
		text := stepsWriteFile(t, t.TempDir(), "tale.txt", wordcountText)
		id := add(sparkStep("wc", stepsWordcount(t), text))[0]
		st := e.stepAwaitEnd(cluster, id, hearth.StepCompleted, sparkStepTimeout)
		checkStepTimeline(t, st)
		if st.ExitCode == nil || *st.ExitCode != 0 || st.Status.FailureDetails != nil {
			t.Errorf("completed step: exit %v, failure %+v", st.ExitCode, st.Status.FailureDetails)
		}
		checkWordCounts(t, e.stepLog(cluster, id, "stdout"), wordcountText)
		if ctl := e.stepLog(cluster, id, "controller"); !strings.Contains(ctl, id) || !strings.Contains(ctl, "spark-submit") {
			t.Errorf("controller log does not name the step and its spark-submit:\n%s", ctl)
		}
	})

	t.Run("failures name their exception", func(t *testing.T) {
		drain(t)
		dir := t.TempDir()
		missing := filepath.Join(dir, "no-such-table.parquet")
		ids := add(
			sparkStep("python-error", stepsWriteFile(t, dir, "fail.py", failingPy)),
			sparkStep("jvm-error", stepsWriteFile(t, dir, "missing.py", missingParquetPy), missing))
		for i, tc := range []struct {
			reason, message string
		}{
			{"ValueError", "bad input 42"},
			{"AnalysisException", missing},
		} {
			st := e.stepAwaitEnd(cluster, ids[i], hearth.StepFailed, sparkStepTimeout)
			checkStepTimeline(t, st)
			fd := st.Status.FailureDetails
			if fd == nil {
				t.Errorf("step %s (%s): FAILED without FailureDetails", st.Id, st.Name)
				continue
			}
			// The Python exception's own name, or the qualified class name
			// pyspark gives a JVM error (pyspark.errors...AnalysisException).
			if fd.Reason != tc.reason && !strings.HasSuffix(fd.Reason, "."+tc.reason) {
				t.Errorf("step %s (%s): Reason %q, want %s", st.Id, st.Name, fd.Reason, tc.reason)
			}
			if !strings.Contains(fd.Message, tc.message) {
				t.Errorf("step %s (%s): Message %q lacks %q", st.Id, st.Name, fd.Message, tc.message)
			}
			if fd.LogFile == "" {
				t.Errorf("step %s (%s): no LogFile", st.Id, st.Name)
			} else if _, err := os.Stat(fd.LogFile); err != nil {
				t.Errorf("step %s (%s): LogFile: %v", st.Id, st.Name, err)
			}
			if st.ExitCode == nil || *st.ExitCode == 0 {
				t.Errorf("step %s (%s): exit code %v, want non-zero", st.Id, st.Name, st.ExitCode)
			}
		}
		if v := e.describe(cluster); v.Cluster.Status.State != hearth.ClusterWaiting && v.Cluster.Status.State != hearth.ClusterRunning {
			t.Errorf("after CONTINUE failures the cluster is %s", v.Cluster.Status.State)
		}
	})

	t.Run("cancel running and pending", func(t *testing.T) {
		drain(t)
		ids := add(
			sparkStep("sleeper", stepsWriteFile(t, t.TempDir(), "sleeper.py", sleeperPy)),
			shellStep("queued", "CONTINUE", "echo should-not-run"))
		sleeper, queued := ids[0], ids[1]

		// PENDING behind the sleeper (concurrency 1): cancelled at once.
		if st := e.stepDescribe(cluster, queued); st.Status.State != hearth.StepPending {
			t.Fatalf("queued step is %s, want PENDING", st.Status.State)
		}
		e.stepCancel(cluster, queued)
		st := e.stepDescribe(cluster, queued)
		if st.Status.State != hearth.StepCancelled || st.Status.Timeline.StartDateTime != nil || st.Status.Timeline.EndDateTime == nil {
			t.Errorf("cancelled pending step: %s, started %v, ended %v; want CANCELLED at once, never started",
				st.Status.State, st.Status.Timeline.StartDateTime, st.Status.Timeline.EndDateTime)
		}

		// RUNNING, inside a Spark job.
		e.stepAwait(cluster, sleeper, "RUNNING with its marker in stdout", sparkStepTimeout, func(st *hearth.Step) bool {
			if st.Status.State.Ended() {
				t.Fatalf("sleeper ended %s before it was cancelled", st.Status.State)
			}
			return st.Status.State == hearth.StepRunning && strings.Contains(e.stepLog(cluster, sleeper, "stdout"), "HEARTH-MARKER the job starts")
		})
		if procs := stepProcesses(sleeper); len(procs) == 0 {
			t.Fatalf("no process carries HEARTH_STEP_ID=%s while the step runs", sleeper)
		}
		e.clusterAwait(cluster, "the sleeper's application to be active", time.Minute, func(v *control.ClusterView) bool {
			m := stepsMasterStatus(v)
			return m != nil && m.ActiveApps == 1
		})
		e.stepCancel(cluster, sleeper)
		st = e.stepAwaitEnd(cluster, sleeper, hearth.StepCancelled, time.Minute)
		checkStepTimeline(t, st)
		if msg := stepsEventually(5*time.Second, func() string {
			if p := stepProcesses(sleeper); len(p) > 0 {
				return strings.Join(p, "\n")
			}
			return ""
		}); msg != "" {
			t.Errorf("processes of the cancelled step still run:\n%s", msg)
		}
		if msg := stepsEventually(time.Minute, func() string {
			if m := stepsMasterStatus(e.describe(cluster)); m == nil || m.ActiveApps != 0 {
				return fmt.Sprintf("master reports %+v", m)
			}
			return ""
		}); msg != "" {
			t.Errorf("the cancelled step's Spark application did not finish: %s", msg)
		}
		if msg := stepsEventually(time.Minute, func() string {
			var left []string
			for _, p := range e.processes() {
				if strings.Contains(p, "CoarseGrainedExecutorBackend") {
					left = append(left, p)
				}
			}
			return strings.Join(left, "\n")
		}); msg != "" {
			t.Errorf("the cancelled application's executors still run:\n%s", msg)
		}
		if out := e.stepLog(cluster, sleeper, "stdout"); strings.Contains(out, "the job ended") {
			t.Errorf("the sleeper's job finished instead of being cancelled:\n%s", out)
		}
		if st := e.stepDescribe(cluster, queued); st.Status.State != hearth.StepCancelled || st.Status.Timeline.StartDateTime != nil {
			t.Errorf("cancelled pending step ran after all: %s, started %v", st.Status.State, st.Status.Timeline.StartDateTime)
		}
	})

	t.Run("logs follow a running step", func(t *testing.T) {
		drain(t)
		id := add(sparkStep("ticker", stepsWriteFile(t, t.TempDir(), "tick.py", tickPy)))[0]
		follow := exec.Command(hearthBin, "logs", "--follow", "--cluster-id", cluster, "--step-id", id)
		follow.Env = e.environ()
		var stderr bytes.Buffer
		follow.Stderr = &stderr
		stdout, err := follow.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := follow.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
			exited <- follow.Wait()
		}()
		t.Cleanup(func() {
			follow.Process.Kill()
			for range lines {
			}
		})

		var got []string
		timeout := time.After(sparkStepTimeout)
	read:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break read
				}
				if len(got) == 0 && strings.HasPrefix(line, "tick") {
					// The first line came while the step still runs: it has
					// seven more seconds to go.
					if st := e.stepDescribe(cluster, id); st.Status.State != hearth.StepRunning {
						t.Errorf("first line %q arrived when the step was already %s; want RUNNING", line, st.Status.State)
					}
				}
				got = append(got, line)
			case <-timeout:
				t.Fatalf("logs --follow still running after %s; read %q", sparkStepTimeout, got)
			}
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("logs --follow: %v; stderr: %s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("logs --follow did not exit after closing its output")
		}
		var want []string
		for i := 1; i <= 8; i++ {
			want = append(want, fmt.Sprintf("tick %d", i))
		}
		if !slices.Equal(got, want) {
			t.Errorf("logs --follow printed %q, want %q", got, want)
		}
		st := e.stepDescribe(cluster, id)
		if st.Status.State != hearth.StepCompleted {
			t.Errorf("follow exited while the step is %s", st.Status.State)
		}
	})

	t.Run("action on failure", func(t *testing.T) {
		drain(t)
		waiting := func(v *control.ClusterView) bool { return v.Cluster.Status.State == hearth.ClusterWaiting }

		ids := add(shellStep("fail-continue", "CONTINUE", "exit 3"), shellStep("after-continue", "CONTINUE", "echo ok"))
		st := e.stepAwaitEnd(cluster, ids[0], hearth.StepFailed, shellStepTimeout)
		if st.ExitCode == nil || *st.ExitCode != 3 {
			t.Errorf("exit 3 step: ExitCode %v", st.ExitCode)
		}
		e.stepAwaitEnd(cluster, ids[1], hearth.StepCompleted, shellStepTimeout)
		if out := e.stepLog(cluster, ids[1], "stdout"); out != "ok\n" {
			t.Errorf("step after a CONTINUE failure printed %q, want \"ok\\n\"", out)
		}
		e.clusterAwait(cluster, "WAITING after CONTINUE", 30*time.Second, waiting)

		ids = add(shellStep("fail-cancel", "CANCEL_AND_WAIT", "exit 3"),
			shellStep("pending-1", "CONTINUE", "echo ran"), shellStep("pending-2", "CONTINUE", "echo ran"))
		e.stepAwaitEnd(cluster, ids[0], hearth.StepFailed, shellStepTimeout)
		for _, id := range ids[1:] {
			st := e.stepAwaitEnd(cluster, id, hearth.StepCancelled, 30*time.Second)
			if st.Status.Timeline.StartDateTime != nil {
				t.Errorf("step %s after a CANCEL_AND_WAIT failure started at %s", id, st.Status.Timeline.StartDateTime)
			}
		}
		e.clusterAwait(cluster, "WAITING after CANCEL_AND_WAIT", 30*time.Second, waiting)
		// The cluster still takes and runs steps.
		id := add(shellStep("after-cancel", "CONTINUE", "echo ok"))[0]
		e.stepAwaitEnd(cluster, id, hearth.StepCompleted, shellStepTimeout)
	})

	t.Run("bad input queues nothing", func(t *testing.T) {
		drain(t)
		missing := filepath.Join(t.TempDir(), "no-such-script.py")
		before := len(e.stepList(cluster))
		for _, tc := range []struct {
			name    string
			cluster string
			steps   []string
			code    int
			want    []string
		}{
			{"malformed shorthand", cluster, []string{"Type=SPARK,Args=[a,b"}, exitInvalid, []string{"--steps[0].Args", "]"}},
			{"unknown step type", cluster, []string{"Type=MAPREDUCE,Name=h,Args=[q.hql]"}, exitInvalid, []string{"MAPREDUCE", "SPARK", "CUSTOM_JAR"}},
			{"a Hadoop-only step type", cluster, []string{"Type=HIVE,Name=h,Args=[q.hql]"}, exitInvalid, []string{"--steps[0].Type", "step type HIVE", "spark-sql"}},
			{"custom jar without jar", cluster, []string{"Type=CUSTOM_JAR,Name=j,Args=[x]"}, exitInvalid, []string{"--steps[0].Jar"}},
			{"missing script", cluster, []string{shellStep("fine", "CONTINUE", "echo ok"), sparkStep("missing", missing, "x")},
				exitInvalid, []string{"steps[1].HadoopJarStep.Args[1]", missing}},
			{"unknown action", cluster, []string{"Type=CUSTOM_JAR,Name=a,ActionOnFailure=EXPLODE,Jar=command-runner.jar,Args=[true]"},
				exitInvalid, []string{"ActionOnFailure", "EXPLODE", "CANCEL_AND_WAIT"}},
			{"unknown cluster", "j-NOSUCHCLUSTER1", []string{shellStep("x", "CONTINUE", "echo ok")}, exitNotFound, []string{"j-NOSUCHCLUSTER1"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				args := []string{"add-steps", "--cluster-id", tc.cluster}
				for _, s := range tc.steps {
					args = append(args, "--steps", s)
				}
				r := e.hearth(args...)
				if r.code != tc.code {
					t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
				}
				for _, w := range tc.want {
					if !strings.Contains(r.stderr, w) {
						t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
					}
				}
			})
		}
		if after := len(e.stepList(cluster)); after != before {
			t.Errorf("rejected add-steps changed the step list: %d steps, had %d", after, before)
		}
	})

	t.Run("list-steps is newest first", func(t *testing.T) {
		var got []string
		for _, st := range e.stepList(cluster) {
			got = append(got, st.Id)
		}
		want := slices.Clone(added)
		slices.Reverse(want)
		if !slices.Equal(got, want) {
			t.Errorf("list-steps ids %v, want the added steps newest first %v", got, want)
		}
		r := e.hearth("list-steps", "--cluster-id", cluster, "--step-states", "CANCELLED")
		list := decodeJSON[struct{ Steps []*hearth.Step }](t, r.stdout)
		for _, st := range list.Steps {
			if st.Status.State != hearth.StepCancelled {
				t.Errorf("--step-states CANCELLED listed a %s step", st.Status.State)
			}
		}
		if len(list.Steps) != 4 { // queued, sleeper, pending-1, pending-2
			t.Errorf("%d CANCELLED steps, want 4", len(list.Steps))
		}
	})

	t.Run("terminate cluster on failure", func(t *testing.T) {
		ids := add(shellStep("fail-terminate", "TERMINATE_CLUSTER", "exit 3"), shellStep("never", "CONTINUE", "echo ran"))
		v := e.clusterAwait(cluster, "TERMINATED_WITH_ERRORS", 2*time.Minute, func(v *control.ClusterView) bool {
			return v.Cluster.Status.State == hearth.ClusterTerminatedWithErrors
		})
		if code := v.Cluster.Status.StateChangeReason.Code; code != hearth.ReasonStepFailure {
			t.Errorf("StateChangeReason %+v, want Code STEP_FAILURE", v.Cluster.Status.StateChangeReason)
		}
		e.stepAwaitEnd(cluster, ids[0], hearth.StepFailed, 10*time.Second)
		st := e.stepAwaitEnd(cluster, ids[1], hearth.StepCancelled, 10*time.Second)
		if st.Status.Timeline.StartDateTime != nil {
			t.Errorf("step after a TERMINATE_CLUSTER failure started at %s", st.Status.Timeline.StartDateTime)
		}
		r := e.hearth("add-steps", "--cluster-id", cluster, "--steps", shellStep("late", "CONTINUE", "echo ok"))
		if r.code != exitConflict || !strings.Contains(r.stderr, "TERMINATED_WITH_ERRORS") {
			t.Errorf("add-steps to an ended cluster: exit %d, stderr %q; want %d naming its state", r.code, r.stderr, exitConflict)
		}
		if msg := stepsEventually(30*time.Second, func() string { return strings.Join(e.processes(), "\n") }); msg != "" {
			t.Errorf("after the cluster terminated, still running:\n%s", msg)
		}
	})
}

// TestStepConcurrencyAndProtection: with StepConcurrencyLevel 2 two steps
// run at once and the actions that need a serial queue are refused; a
// termination-protected cluster refuses terminate-clusters until the
// protection is removed.
func TestStepConcurrencyAndProtection(t *testing.T) {
	e := newEnv(t)
	cluster := e.stepCreateCluster("--name", "concurrent", "--instance-type", "local.small", "--instance-count", "1",
		"--step-concurrency-level", "2", "--termination-protected", "--wait")
	t.Cleanup(func() { // let the harness terminate it if the test stops early
		e.hearth("modify-cluster-attributes", "--cluster-id", cluster, "--no-termination-protected")
	})
	v := e.describe(cluster)
	if v.Cluster.StepConcurrencyLevel != 2 || !v.Cluster.TerminationProtected {
		t.Fatalf("StepConcurrencyLevel %d, TerminationProtected %v; want 2, true", v.Cluster.StepConcurrencyLevel, v.Cluster.TerminationProtected)
	}

	t.Run("two steps overlap", func(t *testing.T) {
		t.Cleanup(func() { e.stepDrain(cluster) })
		script := "date +%s.%N; sleep 6; date +%s.%N"
		ids := e.stepAdd(cluster, shellStep("sleep-a", "CONTINUE", script), shellStep("sleep-b", "CONTINUE", script))
		bothRunning := false
		deadline := time.Now().Add(shellStepTimeout)
		for {
			running, ended := 0, 0
			for _, st := range e.stepList(cluster) {
				switch {
				case st.Status.State == hearth.StepRunning:
					running++
				case st.Status.State.Ended():
					ended++
				}
			}
			bothRunning = bothRunning || running == 2
			if ended == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("steps did not end within %s", shellStepTimeout)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if !bothRunning {
			t.Errorf("list-steps never showed both steps RUNNING")
		}
		type span struct{ start, end float64 }
		var spans []span
		for _, id := range ids {
			st := e.stepAwaitEnd(cluster, id, hearth.StepCompleted, 10*time.Second)
			checkStepTimeline(t, st)
			var s span
			if _, err := fmt.Sscanf(e.stepLog(cluster, id, "stdout"), "%f\n%f\n", &s.start, &s.end); err != nil || s.end-s.start < 6 {
				t.Fatalf("step %s stdout %q: want two times 6s apart (%v)", id, e.stepLog(cluster, id, "stdout"), err)
			}
			spans = append(spans, s)
		}
		a, b := spans[0], spans[1]
		if !(a.start < b.end && b.start < a.end) {
			t.Errorf("the steps' processes did not overlap: %+v, %+v", a, b)
		}
		sa, sb := e.stepDescribe(cluster, ids[0]).Status.Timeline, e.stepDescribe(cluster, ids[1]).Status.Timeline
		if !(sa.StartDateTime.Before(*sb.EndDateTime) && sb.StartDateTime.Before(*sa.EndDateTime)) {
			t.Errorf("step timelines do not overlap: %s-%s and %s-%s", sa.StartDateTime, sa.EndDateTime, sb.StartDateTime, sb.EndDateTime)
		}
	})

	t.Run("serial-only actions are refused", func(t *testing.T) {
		before := len(e.stepList(cluster))
		for _, action := range []string{"CANCEL_AND_WAIT", "TERMINATE_CLUSTER"} {
			r := e.hearth("add-steps", "--cluster-id", cluster, "--steps", shellStep("refused", action, "echo ok"))
			if r.code != exitInvalid {
				t.Errorf("%s: exit %d, want %d; stderr %s", action, r.code, exitInvalid, r.stderr)
			}
			for _, w := range []string{"ActionOnFailure", "StepConcurrencyLevel", action} {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("%s: stderr lacks %q: %s", action, w, r.stderr)
				}
			}
		}
		if after := len(e.stepList(cluster)); after != before {
			t.Errorf("refused steps were queued: %d steps, had %d", after, before)
		}
	})

	t.Run("termination protection", func(t *testing.T) {
		r := e.hearth("terminate-clusters", "--cluster-ids", cluster)
		if r.code != exitConflict || !strings.Contains(r.stderr, "termination protected") {
			t.Fatalf("terminate a protected cluster: exit %d, stderr %q; want %d, \"termination protected\"", r.code, r.stderr, exitConflict)
		}
		time.Sleep(time.Second)
		if v := e.describe(cluster); v.Cluster.Status.State != hearth.ClusterWaiting {
			t.Fatalf("protected cluster is %s after a refused terminate, want WAITING", v.Cluster.Status.State)
		}
		e.ok("modify-cluster-attributes", "--cluster-id", cluster, "--no-termination-protected")
		if v := e.describe(cluster); v.Cluster.TerminationProtected {
			t.Fatalf("TerminationProtected still true after --no-termination-protected")
		}
		e.ok("terminate-clusters", "--cluster-ids", cluster)
		e.ok("wait", "cluster-terminated", "--cluster-id", cluster, "--timeout", "2m")
		v := e.describe(cluster)
		if v.Cluster.Status.State != hearth.ClusterTerminated || v.Cluster.Status.StateChangeReason.Code != hearth.ReasonUserRequest {
			t.Errorf("after terminate: %s %s, want TERMINATED USER_REQUEST", v.Cluster.Status.State, v.Cluster.Status.StateChangeReason.Code)
		}
	})
}

// TestStepEphemeralCluster: a cluster created with its steps and
// --auto-terminate runs them, copies their logs to --log-uri, and
// terminates itself; an ended cluster takes no more steps.
func TestStepEphemeralCluster(t *testing.T) {
	e := newEnv(t)
	dir, logDir := t.TempDir(), t.TempDir()
	text := stepsWriteFile(t, dir, "tale.txt", wordcountText)
	cluster := e.stepCreateCluster("--name", "ephemeral", "--instance-type", "local.small", "--instance-count", "2",
		"--steps", sparkStep("wc", stepsWordcount(t), text), "--auto-terminate", "--log-uri", logDir)
	e.ok("wait", "cluster-terminated", "--cluster-id", cluster, "--timeout", "5m")

	v := e.describe(cluster)
	if v.Cluster.Status.State != hearth.ClusterTerminated || v.Cluster.Status.StateChangeReason.Code != hearth.ReasonAllStepsCompleted {
		t.Errorf("cluster %s %+v, want TERMINATED with ALL_STEPS_COMPLETED", v.Cluster.Status.State, v.Cluster.Status.StateChangeReason)
	}
	steps := e.stepList(cluster)
	if len(steps) != 1 {
		t.Fatalf("%d steps, want 1", len(steps))
	}
	st := steps[0]
	if st.Status.State != hearth.StepCompleted || st.Name != "wc" {
		t.Fatalf("step %s %q is %s, want COMPLETED; failure %+v", st.Id, st.Name, st.Status.State, st.Status.FailureDetails)
	}
	checkStepTimeline(t, st)

	stepDir := filepath.Join(logDir, cluster, "steps", st.Id)
	for _, stream := range []string{"stdout", "stderr", "controller"} {
		b, err := os.ReadFile(filepath.Join(stepDir, stream))
		if err != nil {
			t.Errorf("log-uri copy: %v", err)
			continue
		}
		if len(b) == 0 {
			t.Errorf("log-uri copy of %s is empty", stream)
		}
		if stream == "stdout" {
			checkWordCounts(t, string(b), wordcountText)
		}
	}

	r := e.hearth("add-steps", "--cluster-id", cluster, "--steps", shellStep("late", "CONTINUE", "echo ok"))
	if r.code != exitConflict || !strings.Contains(r.stderr, "TERMINATED") {
		t.Errorf("add-steps to a TERMINATED cluster: exit %d, stderr %q; want %d naming the state", r.code, r.stderr, exitConflict)
	}
	if n := len(e.stepList(cluster)); n != 1 {
		t.Errorf("a refused step was queued: %d steps", n)
	}
}

// exitConflict is the CLI's exit code for a conflict (see `hearth --help`).
const exitConflict = 4
