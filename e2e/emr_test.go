//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

// The EMR-compatible API driven by real AWS clients: the aws CLI v2
// (Debian's awscli at /usr/bin/aws), the aws CLI v1 (pip's awscli, run as
// `python3 -m awscli`) and boto3, each against a real server and real Spark
// clusters. scripts/test-deps.sh (run by `make test`) installs all three.

const awsV2Path = "/usr/bin/aws"

// awsCLI is one aws CLI, run with an access key against one server.
type awsCLI struct {
	e       *env
	t       *testing.T
	name    string
	argv    []string // the command before "emr ..."
	environ []string
}

// emrAccessKey creates an access key with the hearth CLI.
func (e *env) emrAccessKey() (id, secret string) {
	e.t.Helper()
	k := decodeJSON[struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey string }
	}](e.t, e.ok("access-keys", "create", "--description", "e2e emr"))
	if !strings.HasPrefix(k.AccessKey.AccessKeyId, "AKIA") || len(k.AccessKey.SecretAccessKey) != 40 {
		e.t.Fatalf("access-keys create printed %+v", k)
	}
	return k.AccessKey.AccessKeyId, k.AccessKey.SecretAccessKey
}

// awsEnviron is the environment of an AWS client: only the given key, no
// config or credentials file of this machine.
func awsEnviron(keyID, secret string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(append(env,
		"AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER="), extra...)
}

// newAwsV2 is Debian's aws CLI v2.
func newAwsV2(t *testing.T, e *env, keyID, secret string) *awsCLI {
	t.Helper()
	if _, err := os.Stat(awsV2Path); err != nil {
		t.Fatalf("the aws CLI v2 is missing at %s (%v); `make test` installs it (scripts/test-deps.sh: apt-get install -y awscli)", awsV2Path, err)
	}
	a := &awsCLI{e: e, t: t, name: "aws v2", argv: []string{awsV2Path}}
	a.environ = awsEnviron(keyID, secret, fastWaiters(t, interpreterOf(awsV2Path), "awscli.botocore")...)
	a.checkVersion("aws-cli/2.")
	return a
}

// newAwsV1 is pip's aws CLI v1.
func newAwsV1(t *testing.T, e *env, keyID, secret string) *awsCLI {
	t.Helper()
	if err := exec.Command("python3", "-c", "import awscli").Run(); err != nil {
		t.Fatalf("the aws CLI v1 (pip awscli) is not importable by python3 (%v); `make test` installs it (scripts/test-deps.sh)", err)
	}
	a := &awsCLI{e: e, t: t, name: "aws v1", argv: []string{"python3", "-m", "awscli"}}
	a.environ = awsEnviron(keyID, secret, fastWaiters(t, "python3", "botocore")...)
	a.checkVersion("aws-cli/1.")
	return a
}

func (a *awsCLI) checkVersion(prefix string) {
	a.t.Helper()
	r := a.run("--version")
	if v := strings.TrimSpace(r.stdout + r.stderr); r.code != 0 || !strings.HasPrefix(v, prefix) {
		a.t.Fatalf("%s --version: exit %d, %q; want %s...", a.name, r.code, v, prefix)
	} else {
		a.t.Logf("%s: %s", a.name, v)
	}
}

// interpreterOf is the #! interpreter of a script ("" if it is not one).
func interpreterOf(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte("#!")) {
		return ""
	}
	line, _, _ := bytes.Cut(b[2:], []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) == 0 {
		return ""
	}
	if filepath.Base(f[0]) == "env" && len(f) > 1 {
		return f[1]
	}
	return f[0]
}

// fastWaiters returns AWS_DATA_PATH=dir where dir holds a copy of the CLI's
// own EMR waiter definitions (same acceptors) polling every 2 s instead of
// 30 s, so `aws emr wait` does not idle for half a minute per poll. It is
// botocore's documented data-path override; the CLI's code is unchanged.
// If the definitions cannot be found, the CLI's defaults are used.
func fastWaiters(t *testing.T, python, pkg string) []string {
	t.Helper()
	if python == "" {
		t.Logf("%s is not a Python script: aws emr wait polls every 30 s", pkg)
		return nil
	}
	out, err := exec.Command(python, "-c", "import os, "+pkg+" as b; print(os.path.join(os.path.dirname(b.__file__), 'data', 'emr'))").Output()
	if err != nil {
		t.Logf("locate %s's data with %s: %v; aws emr wait polls every 30 s", pkg, python, err)
		return nil
	}
	src := strings.TrimSpace(string(out))
	versions, _ := filepath.Glob(filepath.Join(src, "*", "waiters-2.json"))
	if len(versions) == 0 {
		t.Logf("no EMR waiters under %s; aws emr wait polls every 30 s", src)
		return nil
	}
	slices.Sort(versions)
	file := versions[len(versions)-1]
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version int                                   `json:"version"`
		Waiters map[string]map[string]json.RawMessage `json:"waiters"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, name := range []string{"ClusterRunning", "ClusterTerminated", "StepComplete"} {
		w, ok := doc.Waiters[name]
		if !ok {
			t.Fatalf("%s has no %s waiter", file, name)
		}
		w["delay"] = json.RawMessage("2")
		w["maxAttempts"] = json.RawMessage("150")
	}
	dir := t.TempDir()
	dst := filepath.Join(dir, "emr", filepath.Base(filepath.Dir(file)), "waiters-2.json")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	nb, _ := json.Marshal(doc)
	if err := os.WriteFile(dst, nb, 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"AWS_DATA_PATH=" + dir}
}

// run runs `<cli> args... --endpoint-url <server>` (no endpoint for
// --version).
func (a *awsCLI) run(args ...string) result {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	full := append(slices.Clone(a.argv), args...)
	switch args[0] {
	case "--version":
	case "s3", "s3api": // the built-in store: test traffic stays on loopback
		full = append(full, "--endpoint-url", a.e.s3, "--output", "json")
	default:
		full = append(full, "--endpoint-url", a.e.endpoint, "--output", "json")
	}
	cmd := exec.CommandContext(ctx, full[0], full[1:]...)
	cmd.Env = a.environ
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		a.t.Fatalf("%s %v: %v", a.name, args, err)
	}
	return result{code, out.String(), errb.String()}
}

// ok runs the CLI and fails the test unless it exits 0.
func (a *awsCLI) ok(args ...string) string {
	a.t.Helper()
	r := a.run(args...)
	if r.code != 0 {
		a.t.Fatalf("%s %s: exit %d\nstdout: %s\nstderr: %s\nserver log tail:\n%s", a.name, strings.Join(args, " "), r.code, r.stdout, r.stderr, tailString(a.e.file("server.log"), 3000))
	}
	return r.stdout
}

// cliTime is a timestamp as a client prints it: the aws CLI v2 as ISO 8601
// text, v1 as epoch seconds (a JSON number), the boto3 script as str().
type cliTime string

func (c *cliTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*c = ""
		return nil
	}
	*c = cliTime(strings.Trim(string(b), `"`))
	return nil
}

// Output shapes as the aws CLIs and the boto3 script print them.
type (
	cliStep struct {
		Id     string
		Name   string
		Config struct {
			Jar        string
			Properties map[string]string
			Args       []string
		}
		ActionOnFailure string
		Status          struct {
			State             string
			StateChangeReason map[string]string
			Timeline          struct{ CreationDateTime, StartDateTime, EndDateTime cliTime }
		}
	}
	cliCluster struct {
		Id, Name, ReleaseLabel, ClusterArn, LogUri string
		AutoTerminate                              bool
		Status                                     struct {
			State             string
			StateChangeReason struct{ Code, Message string }
			Timeline          struct{ CreationDateTime, ReadyDateTime, EndDateTime cliTime }
		}
		Applications   []struct{ Name, Version string }
		Tags           []struct{ Key, Value string }
		InstanceGroups []struct {
			Id, Name, InstanceGroupType, InstanceType    string
			RequestedInstanceCount, RunningInstanceCount int
		}
	}
)

func (a *awsCLI) describeCluster(id string) cliCluster {
	a.t.Helper()
	return decodeJSON[struct{ Cluster cliCluster }](a.t, a.ok("emr", "describe-cluster", "--cluster-id", id)).Cluster
}

func (a *awsCLI) createCluster(args ...string) string {
	a.t.Helper()
	out := decodeJSON[struct{ ClusterId, ClusterArn string }](a.t, a.ok(append([]string{"emr", "create-cluster"}, args...)...))
	if !strings.HasPrefix(out.ClusterId, "j-") || out.ClusterArn != hearth.ClusterARN("us-east-1", out.ClusterId) {
		a.t.Fatalf("%s create-cluster printed %+v", a.name, out)
	}
	return out.ClusterId
}

// subEnv is e for a subtest: failures go to t.
func (e *env) subEnv(t *testing.T) *env {
	se := *e
	se.t = t
	return &se
}

// TestEMRClients runs the EMR tutorial's flows through the real aws CLIs
// and boto3, in parallel on one server.
func TestEMRClients(t *testing.T) {
	e := newEnv(t)
	keyID, secret := e.emrAccessKey()
	dir := t.TempDir()
	text := stepsWriteFile(t, dir, "book.txt", wordcountText)
	wordcount := stepsWordcount(t)

	// Concurrently (t.Run from goroutines, so -parallel does not cap it):
	// the flows spend most of their time waiting on JVMs and polls.
	runConcurrently(t, []flow{
		{"AwsV2Ephemeral", func(t *testing.T) {
			emrV2Ephemeral(t, e.subEnv(t), newAwsV2(t, e.subEnv(t), keyID, secret), wordcount, text)
		}},
		{"AwsV2LongRunning", func(t *testing.T) {
			emrV2LongRunning(t, e.subEnv(t), newAwsV2(t, e.subEnv(t), keyID, secret), wordcount, text)
		}},
		{"AwsV1", func(t *testing.T) { emrV1(t, newAwsV1(t, e.subEnv(t), keyID, secret)) }},
		{"Boto3", func(t *testing.T) { emrBoto3(t, e.subEnv(t), keyID, secret, wordcount, text) }},
	})
}

// emrV2Ephemeral: the seed tutorial's create-cluster with a step and
// --auto-terminate, then wait, list-steps, describe-step and the output.
func emrV2Ephemeral(t *testing.T, e *env, aws *awsCLI, wordcount, text string) {
	logURI := t.TempDir()
	steps := fmt.Sprintf(`[{"Args":["spark-submit","--deploy-mode","cluster",%q,%q],"Type":"CUSTOM_JAR","ActionOnFailure":"CONTINUE","Jar":"command-runner.jar","Properties":"","Name":"Wordcount"}]`, wordcount, text)
	id := aws.createCluster("--name", "Cluster OC", "--release-label", "spark-4.0.1",
		"--applications", "Name=Spark", "--log-uri", logURI,
		"--instance-groups", `[{"InstanceCount":1,"InstanceGroupType":"MASTER","InstanceType":"local.small","Name":"Master Instance Group"},{"InstanceCount":2,"InstanceGroupType":"CORE","InstanceType":"local.small","Name":"Core Instance Group"}]`,
		"--steps", steps, "--auto-terminate")

	c := aws.describeCluster(id)
	if c.Name != "Cluster OC" || c.ReleaseLabel != "spark-4.0.1" || !c.AutoTerminate || c.LogUri != logURI {
		t.Errorf("describe-cluster: name %q release %q auto-terminate %v log-uri %q", c.Name, c.ReleaseLabel, c.AutoTerminate, c.LogUri)
	}
	if len(c.Applications) != 1 || c.Applications[0].Name != "Spark" || c.Applications[0].Version != "4.0.1" {
		t.Errorf("Applications = %+v", c.Applications)
	}
	groups := map[string]int{}
	for _, g := range c.InstanceGroups { // the CLI merges ListInstanceGroups into describe-cluster
		groups[g.InstanceGroupType+"/"+g.Name] = g.RequestedInstanceCount
	}
	if len(groups) != 2 || groups["MASTER/Master Instance Group"] != 1 || groups["CORE/Core Instance Group"] != 2 {
		t.Errorf("InstanceGroups = %v", groups)
	}

	aws.ok("emr", "wait", "cluster-terminated", "--cluster-id", id)
	c = aws.describeCluster(id)
	if c.Status.State != "TERMINATED" || c.Status.StateChangeReason.Code != "ALL_STEPS_COMPLETED" || c.Status.Timeline.EndDateTime == "" || c.Status.Timeline.ReadyDateTime == "" {
		t.Errorf("after wait cluster-terminated: %+v", c.Status)
	}

	list := decodeJSON[struct{ Steps []cliStep }](t, aws.ok("emr", "list-steps", "--cluster-id", id)).Steps
	if len(list) != 1 {
		t.Fatalf("list-steps: %d steps, want 1", len(list))
	}
	s := list[0]
	if s.Name != "Wordcount" || s.Status.State != "COMPLETED" || s.ActionOnFailure != "CONTINUE" || s.Config.Jar != "command-runner.jar" {
		t.Errorf("list-steps: %+v", s)
	}
	if s.Config.Properties == nil || len(s.Config.Properties) != 0 {
		t.Errorf(`Config.Properties = %v; want {} for "Properties":""`, s.Config.Properties)
	}
	if !slices.Equal(s.Config.Args, []string{"spark-submit", "--deploy-mode", "cluster", wordcount, text}) {
		t.Errorf("Config.Args = %q", s.Config.Args)
	}
	d := decodeJSON[struct{ Step cliStep }](t, aws.ok("emr", "describe-step", "--cluster-id", id, "--step-id", s.Id)).Step
	if d.Id != s.Id || d.Status.State != "COMPLETED" || d.Status.Timeline.StartDateTime == "" || d.Status.Timeline.EndDateTime == "" {
		t.Errorf("describe-step: %+v", d)
	}

	checkWordCounts(t, e.stepLog(id, s.Id, "stdout"), wordcountText)
	copied, err := os.ReadFile(filepath.Join(logURI, id, "steps", s.Id, "stdout"))
	if err != nil {
		t.Errorf("the --log-uri copy of stdout: %v", err)
	} else {
		checkWordCounts(t, string(copied), wordcountText)
	}
}

// emrV2LongRunning: a cluster kept alive, a Spark step added with the
// CLI's shorthand, a core group grown from 1 to 2, then terminated.
func emrV2LongRunning(t *testing.T, e *env, aws *awsCLI, wordcount, text string) {
	id := aws.createCluster("--name", "long running", "--release-label", "spark-4.0.1",
		"--instance-type", "local.small", "--instance-count", "2")
	aws.ok("emr", "wait", "cluster-running", "--cluster-id", id)
	c := aws.describeCluster(id)
	if c.Status.State != "WAITING" || c.AutoTerminate {
		t.Fatalf("after wait cluster-running: %s, auto-terminate %v", c.Status.State, c.AutoTerminate)
	}
	var core string
	for _, g := range c.InstanceGroups {
		if g.InstanceGroupType == "CORE" {
			core = g.Id
			if g.RequestedInstanceCount != 1 || g.RunningInstanceCount != 1 {
				t.Errorf("core group: requested %d running %d, want 1, 1", g.RequestedInstanceCount, g.RunningInstanceCount)
			}
		}
	}
	if core == "" {
		t.Fatalf("no CORE group in %+v", c.InstanceGroups)
	}

	// add-steps reads the cluster's ReleaseLabel first (DescribeCluster) to
	// build the Spark step with command-runner.jar.
	added := decodeJSON[struct{ StepIds []string }](t, aws.ok("emr", "add-steps", "--cluster-id", id,
		"--steps", fmt.Sprintf("Type=Spark,Name=wc,ActionOnFailure=CONTINUE,Args=[%s,%s]", wordcount, text))).StepIds
	if len(added) != 1 {
		t.Fatalf("add-steps: %v", added)
	}
	aws.ok("emr", "wait", "step-complete", "--cluster-id", id, "--step-id", added[0])
	d := decodeJSON[struct{ Step cliStep }](t, aws.ok("emr", "describe-step", "--cluster-id", id, "--step-id", added[0])).Step
	if d.Status.State != "COMPLETED" || d.Config.Jar != "command-runner.jar" || !slices.Equal(d.Config.Args, []string{"spark-submit", wordcount, text}) {
		t.Errorf("the Spark step: %+v", d)
	}
	checkWordCounts(t, e.stepLog(id, added[0], "stdout"), wordcountText)

	// Grow the core group; the master must see both workers.
	aws.ok("emr", "modify-instance-groups", "--instance-groups", fmt.Sprintf("InstanceGroupId=%s,InstanceCount=2", core))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		v := e.describe(id)
		alive := 0
		if m := stepsMasterStatus(v); m != nil {
			alive = m.AliveWorkers
		}
		insts := decodeJSON[struct {
			Instances []struct {
				Id     string
				Status struct{ State string }
			}
		}](t, aws.ok("emr", "list-instances", "--cluster-id", id)).Instances
		running := 0
		for _, in := range insts {
			if in.Status.State == "RUNNING" {
				running++
			}
		}
		if alive == 2 && running == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after modify-instance-groups: the master sees %d alive workers, list-instances %d RUNNING of %d; want 2 and 3", alive, running, len(insts))
		}
		time.Sleep(time.Second)
	}
	c = aws.describeCluster(id)
	for _, g := range c.InstanceGroups {
		if g.Id == core && (g.RequestedInstanceCount != 2 || g.RunningInstanceCount != 2) {
			t.Errorf("core group after resize: requested %d running %d, want 2, 2", g.RequestedInstanceCount, g.RunningInstanceCount)
		}
	}

	aws.ok("emr", "terminate-clusters", "--cluster-ids", id)
	aws.ok("emr", "wait", "cluster-terminated", "--cluster-id", id)
	if c := aws.describeCluster(id); c.Status.State != "TERMINATED" || c.Status.StateChangeReason.Code != "USER_REQUEST" {
		t.Errorf("after terminate-clusters: %+v", c.Status)
	}
}

// emrV1: the aws CLI v1 creates, waits for, lists and terminates a
// single-node cluster, and reports a bad signature.
func emrV1(t *testing.T, aws *awsCLI) {
	id := aws.createCluster("--name", "v1", "--release-label", "spark-4.0.1", "--applications", "Name=Spark",
		"--instance-type", "local.small", "--instance-count", "1", "--tags", "cli=v1")
	aws.ok("emr", "wait", "cluster-running", "--cluster-id", id)
	list := decodeJSON[struct {
		Clusters []struct {
			Id, Name, ClusterArn string
			Status               struct{ State string }
		}
	}](t, aws.ok("emr", "list-clusters", "--active")).Clusters
	found := false
	for _, c := range list {
		if c.Id == id {
			found = true
			if c.Name != "v1" || c.Status.State != "WAITING" || c.ClusterArn == "" {
				t.Errorf("list-clusters: %+v", c)
			}
		}
	}
	if !found {
		t.Errorf("list-clusters --active does not list %s: %+v", id, list)
	}
	c := aws.describeCluster(id)
	if len(c.Tags) != 1 || c.Tags[0].Key != "cli" || c.Tags[0].Value != "v1" {
		t.Errorf("Tags = %+v", c.Tags)
	}
	aws.ok("emr", "terminate-clusters", "--cluster-ids", id)
	aws.ok("emr", "wait", "cluster-terminated", "--cluster-id", id)

	bad := *aws
	bad.environ = append(slices.Clone(aws.environ), "AWS_SECRET_ACCESS_KEY=wrong-secret-wrong-secret-wrong-secret00")
	r := bad.run("emr", "list-clusters")
	if r.code == 0 || !strings.Contains(r.stderr, "InvalidSignatureException") {
		t.Errorf("wrong secret: exit %d, stderr %q; want non-zero and InvalidSignatureException", r.code, r.stderr)
	}
	r = aws.run("emr", "describe-cluster", "--cluster-id", "j-NOSUCHCLUSTER0")
	if r.code == 0 || !strings.Contains(r.stderr, "InvalidRequestException") || !strings.Contains(r.stderr, "is not valid") {
		t.Errorf("unknown cluster: exit %d, stderr %q", r.code, r.stderr)
	}
}

const boto3Script = `import json, sys
import boto3

endpoint, script, text = sys.argv[1:4]
emr = boto3.client("emr", endpoint_url=endpoint, region_name="us-east-1")
r = emr.run_job_flow(
    Name="boto3 wordcount",
    ReleaseLabel="spark-4.0.1",
    Applications=[{"Name": "Spark"}],
    Instances={
        "InstanceGroups": [
            {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "local.small", "InstanceCount": 1},
            {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "local.small", "InstanceCount": 1},
        ],
        "KeepJobFlowAliveWhenNoSteps": False,
    },
    Steps=[{
        "Name": "Wordcount",
        "ActionOnFailure": "TERMINATE_CLUSTER",
        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", script, text]},
    }],
    Tags=[{"Key": "via", "Value": "boto3"}],
    VisibleToAllUsers=True,
    JobFlowRole="EMR_EC2_DefaultRole",
    ServiceRole="EMR_DefaultRole",
)
cid = r["JobFlowId"]
emr.get_waiter("cluster_terminated").wait(ClusterId=cid, WaiterConfig={"Delay": 2, "MaxAttempts": 150})
steps = emr.list_steps(ClusterId=cid)["Steps"]
step = emr.describe_step(ClusterId=cid, StepId=steps[0]["Id"])["Step"]
cluster = emr.describe_cluster(ClusterId=cid)["Cluster"]
print(json.dumps({"JobFlowId": cid, "ClusterArn": r["ClusterArn"], "Steps": steps, "Step": step, "Cluster": cluster}, default=str))
`

// emrBoto3: run_job_flow with a step, the cluster_terminated waiter,
// list_steps and describe_step from boto3.
func emrBoto3(t *testing.T, e *env, keyID, secret, wordcount, text string) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Fatalf("boto3 is not importable by python3 (%v); `make test` installs it (scripts/test-deps.sh)", err)
	}
	script := stepsWriteFile(t, t.TempDir(), "emr_boto3.py", boto3Script)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", script, e.endpoint, wordcount, text)
	cmd.Env = awsEnviron(keyID, secret)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("boto3 script: %v\nstdout: %s\nstderr: %s\nserver log tail:\n%s", err, out.String(), errb.String(), tailString(e.file("server.log"), 3000))
	}
	res := decodeJSON[struct {
		JobFlowId, ClusterArn string
		Steps                 []cliStep
		Step                  cliStep
		Cluster               cliCluster
	}](t, out.String())
	if res.ClusterArn != hearth.ClusterARN("us-east-1", res.JobFlowId) || res.Cluster.Id != res.JobFlowId {
		t.Errorf("run_job_flow: %s %s", res.JobFlowId, res.ClusterArn)
	}
	if c := res.Cluster; c.Status.State != "TERMINATED" || c.Status.StateChangeReason.Code != "ALL_STEPS_COMPLETED" || !c.AutoTerminate {
		t.Errorf("cluster after the waiter: %+v auto-terminate %v", c.Status, c.AutoTerminate)
	}
	if len(res.Cluster.Tags) != 1 || res.Cluster.Tags[0].Key != "via" || res.Cluster.Tags[0].Value != "boto3" {
		t.Errorf("Tags = %+v", res.Cluster.Tags)
	}
	if len(res.Steps) != 1 || res.Steps[0].Id != res.Step.Id {
		t.Fatalf("list_steps: %+v", res.Steps)
	}
	if s := res.Step; s.Name != "Wordcount" || s.Status.State != "COMPLETED" || s.ActionOnFailure != "TERMINATE_CLUSTER" ||
		!slices.Equal(s.Config.Args, []string{"spark-submit", wordcount, text}) || s.Status.Timeline.EndDateTime == "" {
		t.Errorf("describe_step: %+v", s)
	}
	checkWordCounts(t, e.stepLog(res.JobFlowId, res.Step.Id, "stdout"), wordcountText)
}
