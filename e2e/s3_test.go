//go:build integration

package e2e

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/objstore"
	"github.com/hearthcluster/hearth/objstore/objstoretest"
)

// TestS3 runs the object-store stories against the built-in store, on one
// server, concurrently: the seed tutorial's S3 story with the real aws CLI,
// data outliving clusters, and URIs that cannot be read.
func TestS3(t *testing.T) {
	e := newEnv(t)
	keyID, secret := e.emrAccessKey()
	runConcurrently(t, []flow{
		{"SeedStory", func(t *testing.T) { s3SeedStory(t, e.subEnv(t), newAwsV2(t, e.subEnv(t), keyID, secret)) }},
		{"ParquetOutlivesClusters", func(t *testing.T) { s3Parquet(t, e.subEnv(t), newAwsV1(t, e.subEnv(t), keyID, secret)) }},
		{"BadURIs", func(t *testing.T) { s3BadURIs(t, e.subEnv(t), newAwsV2(t, e.subEnv(t), keyID, secret)) }},
		{"Conformance", func(t *testing.T) { s3Conformance(t, e.subEnv(t), newAwsV1(t, e.subEnv(t), keyID, secret)) }},
		{"ExternalStore", func(t *testing.T) { s3External(t, e.subEnv(t), keyID, secret) }},
	})
}

// s3SeedStory is seed 000's S3 chapter, verbatim but for --endpoint-url,
// the bucket names and the release label: data, program and bootstrap
// script uploaded with `aws s3 cp`, an ephemeral cluster whose step reads
// and writes s3://, its logs under an s3n:// --log-uri, and the result
// fetched back with `aws s3 cp`.
func s3SeedStory(t *testing.T, e *env, aws *awsCLI) {
	dir := t.TempDir()
	bucket, logs := "oc-calculsdistribues", "aws-logs-hearth"
	aws.ok("s3", "mb", "s3://"+bucket)
	aws.ok("s3", "mb", "s3://"+logs)
	aws.ok("s3", "cp", stepsWordcount(t), "s3://"+bucket+"/")
	aws.ok("s3", "cp", stepsWriteFile(t, dir, "iliad.mb.txt", wordcountText), "s3://"+bucket+"/")
	// The seed's bootstrap installs nltk from PyPI on every node (into the
	// node's own directory: the "nodes" here share one disk).
	aws.ok("s3", "cp", stepsWriteFile(t, dir, "bootstrap-emr.sh", `#! /bin/bash
set -e
python3 -m pip install --quiet --disable-pip-version-check --target "$HEARTH_NODE_DIR/pylib" nltk
PYTHONPATH="$HEARTH_NODE_DIR/pylib" python3 -c "import nltk; print('nltk', nltk.__version__, 'on', '$1')"
`), "s3://"+bucket+"/")
	if ls := aws.ok("s3", "ls", "s3://"+bucket); !strings.Contains(ls, "wordcount.py") || !strings.Contains(ls, "iliad.mb.txt") || !strings.Contains(ls, "bootstrap-emr.sh") {
		t.Fatalf("aws s3 ls after the uploads:\n%s", ls)
	}

	id := aws.createCluster("--name", "Cluster OC",
		"--instance-groups", `[{"InstanceCount":1,"InstanceGroupType":"MASTER","InstanceType":"local.small","Name":"Master Instance Group"},{"InstanceCount":2,"InstanceGroupType":"CORE","InstanceType":"local.small","Name":"Core Instance Group"}]`,
		"--release-label", "spark-4.0.1",
		"--applications", "Name=Spark",
		"--log-uri", "s3n://"+logs+"/elasticmapreduce/",
		"--configurations", `[{"Classification":"spark","Properties":{"maximizeResourceAllocation":"true"},"Configurations":[]}]`,
		"--bootstrap-actions", "Path=s3://"+bucket+"/bootstrap-emr.sh,Args=[seed]",
		"--steps", fmt.Sprintf(`[{"Args":["spark-submit","--deploy-mode","cluster","s3://%[1]s/wordcount.py","s3://%[1]s/iliad.mb.txt","s3://%[1]s/words.txt"],"Type":"CUSTOM_JAR","ActionOnFailure":"CONTINUE","Jar":"command-runner.jar","Properties":"","Name":"Wordcount"}]`, bucket),
		"--auto-terminate")
	aws.ok("emr", "wait", "cluster-terminated", "--cluster-id", id)
	c := aws.describeCluster(id)
	if c.Status.State != "TERMINATED" || c.Status.StateChangeReason.Code != "ALL_STEPS_COMPLETED" {
		t.Fatalf("the ephemeral cluster ended %s (%s: %s)", c.Status.State, c.Status.StateChangeReason.Code, c.Status.StateChangeReason.Message)
	}
	steps := decodeJSON[struct{ Steps []cliStep }](t, aws.ok("emr", "list-steps", "--cluster-id", id)).Steps
	if len(steps) != 1 || steps[0].Status.State != "COMPLETED" {
		t.Fatalf("list-steps: %+v", steps)
	}

	// The tutorial's check: words.txt in the bucket, the top words first.
	aws.ok("s3", "cp", "s3://"+bucket+"/words.txt", filepath.Join(dir, "words.txt"))
	words, err := os.ReadFile(filepath.Join(dir, "words.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(words), "[\n  [\n    \"") {
		t.Errorf("words.txt is not the tutorial's indented JSON:\n%.200s", words)
	}
	checkWordCounts(t, string(words), wordcountText)

	// The step's stdout, read from the log URI as EMR writes it.
	prefix := "s3://" + logs + "/elasticmapreduce/" + id
	checkWordCounts(t, s3Gunzip(t, aws, dir, prefix+"/steps/"+steps[0].Id+"/stdout.gz"), wordcountText)
	if ctl := s3Gunzip(t, aws, dir, prefix+"/steps/"+steps[0].Id+"/controller.gz"); !strings.Contains(ctl, "Fetched s3://"+bucket+"/wordcount.py") {
		t.Errorf("the step's controller log does not say it fetched the program:\n%s", ctl)
	}
	// Every node ran the bootstrap action, and its output is under node/.
	v := e.describe(id)
	if len(v.Nodes) != 3 {
		t.Fatalf("%d nodes, want 3", len(v.Nodes))
	}
	for _, n := range v.Nodes {
		out := s3Gunzip(t, aws, dir, prefix+"/node/"+n.Id+"/bootstrap-actions/1/stdout.gz")
		if !strings.Contains(out, "nltk ") || !strings.Contains(out, "on seed") {
			t.Errorf("node %s: bootstrap stdout %q; want nltk's version", n.Id, out)
		}
	}
	master := v.Nodes[0].Id
	for _, n := range v.Nodes {
		if n.Role == hearth.RoleMaster {
			master = n.Id
		}
	}
	if log := s3Gunzip(t, aws, dir, prefix+"/node/"+master+"/daemons/spark-master.out.gz"); !strings.Contains(log, "I have been elected leader") {
		t.Errorf("the master's daemon log under node/ lacks its election:\n%.500s", log)
	}
}

// s3Gunzip fetches a gzipped object with the aws CLI and returns its text.
func s3Gunzip(t *testing.T, aws *awsCLI, dir, uri string) string {
	t.Helper()
	local := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_").Replace(uri))
	if r := aws.run("s3", "cp", uri, local); r.code != 0 {
		t.Errorf("aws s3 cp %s: exit %d: %s", uri, r.code, r.stderr)
		return ""
	}
	f, err := os.Open(local)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Errorf("%s is not gzipped: %v", uri, err)
		return ""
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Errorf("%s: %v", uri, err)
	}
	return string(b)
}

// s3Parquet: a step writes Parquet to s3a://, its cluster goes away, and a
// second cluster reads the table back from s3:// (data outlives clusters).
func s3Parquet(t *testing.T, e *env, aws *awsCLI) {
	dir := t.TempDir()
	aws.ok("s3", "mb", "s3://warehouse")
	write := stepsWriteFile(t, dir, "write.py", `import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("write").getOrCreate()
spark.range(0, 100000).selectExpr("id", "id % 7 AS k").write.mode("overwrite").parquet(sys.argv[1])
spark.stop()
`)
	read := stepsWriteFile(t, dir, "read.py", `import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("read").getOrCreate()
df = spark.read.parquet(sys.argv[1])
print("rows=%d sum=%d k6=%d" % (df.count(), df.groupBy().sum("id").first()[0], df.filter("k = 6").count()))
spark.stop()
`)
	run := func(script, uri string) string {
		t.Helper()
		id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.small", "--instance-count", "2",
			"--auto-terminate", "--steps", sparkStep("parquet", script, uri))).ClusterId
		e.ok("wait", "cluster-terminated", "--cluster-id", id, "--timeout", "5m")
		v := e.describe(id)
		if v.Cluster.Status.StateChangeReason.Code != hearth.ReasonAllStepsCompleted {
			steps := decodeJSON[struct{ Steps []*hearth.Step }](t, e.ok("list-steps", "--cluster-id", id)).Steps
			t.Fatalf("cluster %s ended %s: %s; steps: %+v\nstderr: %s", id, v.Cluster.Status.StateChangeReason.Code,
				v.Cluster.Status.StateChangeReason.Message, steps[0].Status, tailString(e.stepLog(id, steps[0].Id, "stderr"), 3000))
		}
		steps := decodeJSON[struct{ Steps []*hearth.Step }](t, e.ok("list-steps", "--cluster-id", id)).Steps
		return e.stepLog(id, steps[0].Id, "stdout")
	}
	run(write, "s3a://warehouse/tables/numbers")
	if ls := aws.ok("s3", "ls", "--recursive", "s3://warehouse/tables/numbers/"); !strings.Contains(ls, ".parquet") || !strings.Contains(ls, "_SUCCESS") {
		t.Fatalf("the table in the bucket:\n%s", ls)
	}
	// The objects are plain files under the server's home, too.
	if m, _ := filepath.Glob(filepath.Join(e.home, "s3", "buckets", "warehouse", "tables", "numbers", "*.parquet")); len(m) == 0 {
		t.Errorf("no Parquet file under %s", filepath.Join(e.home, "s3", "buckets", "warehouse"))
	}
	out := run(read, "s3://warehouse/tables/numbers")
	if want := fmt.Sprintf("rows=100000 sum=%d k6=%d", 99999*100000/2, 14285); !strings.Contains(out, want) {
		t.Errorf("the second cluster read %q; want %q", strings.TrimSpace(out), want)
	}
}

// s3BadURIs: a program or bootstrap script that cannot be read is refused
// at request time, naming the field, the URI and why; data that is not
// there fails the step, naming the URI.
func s3BadURIs(t *testing.T, e *env, aws *awsCLI) {
	aws.ok("s3", "mb", "s3://scripts")
	aws.ok("s3", "cp", stepsWordcount(t), "s3://scripts/wordcount.py")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no such bucket", []string{"--steps", sparkStep("x", "s3://no-such-bucket/app.py")},
			[]string{"steps[0].HadoopJarStep.Args[1]", "s3://no-such-bucket/app.py", "no such bucket"}},
		{"no such key", []string{"--steps", sparkStep("x", "s3://scripts/missing.py")},
			[]string{"steps[0].HadoopJarStep.Args[1]", "s3://scripts/missing.py", "aws s3 cp"}},
		{"unsupported scheme", []string{"--steps", sparkStep("x", "gs://scripts/app.py")},
			[]string{"steps[0].HadoopJarStep.Args[1]", "gs://scripts/app.py", "s3://"}},
		{"bootstrap script missing", []string{"--bootstrap-actions", "Path=s3://scripts/nope.sh,Name=b"},
			[]string{"bootstrap-actions[0].Path", "s3://scripts/nope.sh"}},
	} {
		r := e.hearth(append([]string{"create-cluster", "--name", "refused", "--instance-type", "local.small"}, tc.args...)...)
		if r.code != exitInvalid {
			t.Errorf("%s: exit %d, stderr %q; want %d", tc.name, r.code, r.stderr, exitInvalid)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr %q does not name %q", tc.name, r.stderr, w)
			}
		}
	}
	for _, c := range decodeJSON[struct{ Clusters []*hearth.Cluster }](t, e.ok("list-clusters")).Clusters {
		if c.Name == "refused" {
			t.Errorf("a refused request created cluster %s", c.Id)
		}
	}

	// Data that is not there: the step runs, and fails naming the URI.
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--name", "bad data", "--instance-type", "local.small", "--auto-terminate",
		"--steps", sparkStep("missing-input", "s3://scripts/wordcount.py", "s3://scripts/no-such-text.txt"))).ClusterId
	e.ok("wait", "cluster-terminated", "--cluster-id", id, "--timeout", "5m")
	steps := decodeJSON[struct{ Steps []*hearth.Step }](t, e.ok("list-steps", "--cluster-id", id)).Steps
	fd := steps[0].Status.FailureDetails
	if steps[0].Status.State != hearth.StepFailed || fd == nil || !strings.Contains(fd.Message, "s3://scripts/no-such-text.txt") {
		t.Errorf("the step reading missing data: %s %+v; want FAILED naming the URI", steps[0].Status.State, fd)
	}
}

// s3Env runs `hearth s3 env` and returns its exports.
func (e *env) s3Env() map[string]string {
	e.t.Helper()
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(e.ok("s3", "env")), "\n") {
		kv, ok := strings.CutPrefix(line, "export ")
		k, v, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 {
			e.t.Fatalf("hearth s3 env printed %q", line)
		}
		vars[k] = strings.Trim(v, "'")
	}
	return vars
}

// s3Conformance: objstore's conformance suite against the built-in store,
// with the key `hearth s3 env` prints, which the aws CLI also takes.
func s3Conformance(t *testing.T, e *env, aws *awsCLI) {
	vars := e.s3Env()
	if vars["AWS_ENDPOINT_URL_S3"] != e.s3 || vars["AWS_DEFAULT_REGION"] != "us-east-1" || !strings.HasPrefix(vars["AWS_ACCESS_KEY_ID"], "AKIA") || len(vars["AWS_SECRET_ACCESS_KEY"]) != 40 {
		t.Fatalf("hearth s3 env: %v; want the store at %s and a key", vars, e.s3)
	}
	clusters := newAwsV1(t, e, vars["AWS_ACCESS_KEY_ID"], vars["AWS_SECRET_ACCESS_KEY"])
	clusters.ok("s3", "mb", "s3://conformance")
	if ls := aws.ok("s3", "ls"); !strings.Contains(ls, "conformance") { // another key sees it: one store
		t.Errorf("aws s3 ls with the EMR key does not list the bucket made with the clusters' key:\n%s", ls)
	}
	cfg := objstore.S3Config{Endpoint: e.s3, Region: "us-east-1", AccessKeyID: vars["AWS_ACCESS_KEY_ID"], SecretAccessKey: vars["AWS_SECRET_ACCESS_KEY"], PathStyle: true}
	objstoretest.Run(t, objstoretest.Target{Store: objstore.New(cfg), Base: "s3://conformance/suite/"})

	cfg.SecretAccessKey = strings.Repeat("x", 40)
	err := objstore.New(cfg).Put(context.Background(), "s3://conformance/denied", strings.NewReader("no"))
	if !errors.Is(err, objstore.ErrDenied) || !strings.Contains(err.Error(), "s3://conformance/denied") {
		t.Errorf("put with a wrong secret: %v; want ErrDenied naming the URI", err)
	}
}

// s3External: a server pointed at another S3 store (--s3-endpoint; here
// the first server's) uses it for its clusters; a key the store refuses
// makes a step's s3:// program fail at create-cluster, saying so.
func s3External(t *testing.T, e *env, keyID, secret string) {
	aws := newAwsV2(t, e, keyID, secret)
	aws.ok("s3", "mb", "s3://elsewhere")
	aws.ok("s3", "cp", stepsWordcount(t), "s3://elsewhere/wordcount.py")
	good := newEnvArgs(t, []string{"--s3-endpoint", e.s3}, "HEARTH_S3_ACCESS_KEY_ID="+keyID, "HEARTH_S3_SECRET_ACCESS_KEY="+secret)
	if vars := good.s3Env(); vars["AWS_ENDPOINT_URL_S3"] != e.s3 || vars["AWS_ACCESS_KEY_ID"] != keyID {
		t.Errorf("hearth s3 env of a server with --s3-endpoint: %v", vars)
	}
	r := good.hearth("create-cluster", "--name", "checked", "--instance-type", "local.small", "--steps", sparkStep("wc", "s3://elsewhere/wordcount.py", "s3://elsewhere/in.txt"))
	if r.code != 0 {
		t.Errorf("create-cluster with a readable s3:// program on the external store: exit %d: %s", r.code, r.stderr)
	} else {
		good.ok("terminate-clusters", "--cluster-ids", decodeJSON[struct{ ClusterId string }](t, r.stdout).ClusterId)
	}

	denied := newEnvArgs(t, []string{"--s3-endpoint", e.s3}, "HEARTH_S3_ACCESS_KEY_ID="+keyID, "HEARTH_S3_SECRET_ACCESS_KEY="+strings.Repeat("x", 40))
	r = denied.hearth("create-cluster", "--name", "refused", "--instance-type", "local.small", "--steps", sparkStep("wc", "s3://elsewhere/wordcount.py"))
	if r.code != exitInvalid || !strings.Contains(r.stderr, "steps[0].HadoopJarStep.Args[1]") || !strings.Contains(r.stderr, "access denied") {
		t.Errorf("create-cluster whose store refuses the key: exit %d, %q; want %d naming the field and the denial", r.code, r.stderr, exitInvalid)
	}
}
