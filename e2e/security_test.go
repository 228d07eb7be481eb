//go:build integration

package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
)

// asNobody runs argv as the unprivileged user nobody (an attacker on the
// same machine) and returns its combined output and exit error.
func asNobody(ctx context.Context, env []string, argv ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "setpriv", append([]string{"--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"}, argv...)...)
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp"}, env...)
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestLocalUserIsKeptOut attacks a running cluster as another local user
// (nobody): it cannot read $HEARTH_HOME, cannot read a page from any Spark
// UI port or JupyterLab directly, and cannot submit an application to the
// master without the cluster's secret. The same things through Hearth (a
// step, the gateway, hearth spark-client) work.
func TestLocalUserIsKeptOut(t *testing.T) {
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Fatalf("setpriv (util-linux) is needed: %v", err)
	}
	e := newEnv(t)
	// With network encryption on, which spark-client passes on to clients.
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.small", "--instance-count", "1",
		"--configurations", `[{"Classification":"spark-defaults","Properties":{"spark.network.crypto.enabled":"true"}}]`, "--wait")).ClusterId
	v := e.describe(id)
	s := v.Cluster.Spark
	if !strings.Contains(v.SubmitHint, "spark-client") {
		t.Errorf("describe-cluster does not say how to submit from outside: %q", v.SubmitHint)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	t.Run("files", func(t *testing.T) {
		for _, argv := range [][]string{
			{"ls", e.home},
			{"cat", filepath.Join(e.home, "admin.token")},
			{"cat", filepath.Join(e.home, "hearth.db")},
		} {
			if out, err := asNobody(ctx, nil, argv...); err == nil {
				t.Errorf("nobody ran %v: %s", argv, out)
			}
		}
	})

	t.Run("UI ports", func(t *testing.T) { e.uiPortsRefuseNobody(ctx, v) })

	t.Run("submit without the secret", func(t *testing.T) {
		// The attacker brings their own Spark: a hard-linked copy of the
		// installed one, which nobody can read.
		dir, err := os.MkdirTemp("", "attacker-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		os.Chmod(dir, 0o755)
		spark := filepath.Join(dir, "spark")
		if out, err := exec.Command("cp", "-al", sparkHome(t), spark).CombinedOutput(); err != nil {
			t.Fatalf("copy spark: %v: %s", err, out)
		}
		exec.Command("chmod", "-R", "a+rX", dir).Run()
		app := filepath.Join(dir, "attack.py")
		os.WriteFile(app, []byte("from pyspark.sql import SparkSession\n"+
			"spark = SparkSession.builder.appName('attack').getOrCreate()\n"+
			"print('PWNED', spark.range(10).count(), flush=True)\n"), 0o644)
		subCtx, stop := context.WithTimeout(ctx, 45*time.Second)
		defer stop()
		out, _ := asNobody(subCtx, []string{"SPARK_HOME=" + spark, "PYSPARK_PYTHON=/usr/bin/python3", "SPARK_LOCAL_DIRS=/tmp"},
			filepath.Join(spark, "bin", "spark-submit"), "--master", s.MasterURL, "--conf", "spark.driver.host=127.0.0.1", app)
		if strings.Contains(out, "PWNED") {
			t.Fatalf("an unauthenticated submission ran code on the cluster:\n%s", out)
		}
		if !strings.Contains(out, "Failed to connect to master") && !strings.Contains(out, "SASL") && !strings.Contains(out, "secret") {
			t.Errorf("the refused submission does not say why (want a failed connection to the master):\n%s", tailString(out, 3000))
		}
		if body := e.gatewayGet("/clusters/" + id + "/ui/json/"); strings.Contains(body, "attack") {
			t.Errorf("the master registered the attacker's application: %s", tailString(body, 500))
		}
	})

	t.Run("through Hearth", func(t *testing.T) { e.submitThroughHearth(ctx, id, sparkHome(t)) })
}

// uiPortsRefuseNobody checks that every Spark UI port of cluster v answers
// another local user 403, and the gateway 200.
func (e *env) uiPortsRefuseNobody(ctx context.Context, v *control.ClusterView) {
	t := e.t
	s := v.Cluster.Spark
	urls := []string{s.UIURL, s.UIURL + "json/", s.UIURL + "api/v1/applications", s.HistoryURL, s.HistoryURL + "api/v1/applications"}
	for _, n := range v.Nodes {
		if n.Ports.WorkerWebUI > 0 {
			urls = append(urls, "http://127.0.0.1:"+strconv.Itoa(n.Ports.WorkerWebUI)+"/")
		}
	}
	// The History Server starts after the cluster is ready: wait for it.
	e.gatewayAwait("/clusters/"+v.Cluster.Id+"/hs/api/v1/applications", 2*time.Minute)
	for _, u := range urls {
		out, err := asNobody(ctx, nil, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", u)
		if err != nil || strings.TrimSpace(out) != "403" {
			t.Errorf("nobody GET %s: %s (%v), want 403", u, out, err)
		}
	}
	if body := e.gatewayGet("/clusters/" + v.Cluster.Id + "/ui/json/"); !strings.Contains(body, `"status" : "ALIVE"`) && !strings.Contains(body, `"status":"ALIVE"`) {
		t.Errorf("the master's /json through the gateway: %s", tailString(body, 300))
	}
}

// submitThroughHearth runs a step on cluster id, then submits with the
// settings hearth spark-client writes, using the spark-submit of home.
func (e *env) submitThroughHearth(ctx context.Context, id, home string) {
	t := e.t
	step := e.stepAdd(id, "Type=SPARK,Name=ok,Args=[testdata/security/sum.py]")[0]
	e.stepAwaitEnd(id, step, hearth.StepCompleted, 3*time.Minute)
	if out := e.stepLog(id, step, "stdout"); !strings.Contains(out, "SUM 4950") {
		t.Errorf("step stdout: %q", out)
	}
	sc := decodeJSON[struct{ PropertiesFile, SubmitCommand string }](t, e.ok("spark-client", "--cluster-id", id, "--output-dir", t.TempDir()))
	if fi, err := os.Stat(sc.PropertiesFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("properties file %s: %v, %v; want mode 0600", sc.PropertiesFile, fi, err)
	}
	conf, _ := os.ReadFile(sc.PropertiesFile)
	v := e.describe(id)
	clusterCrypto := v.SparkDefaults[v.Cluster.InstanceGroups[0].Id]["spark.network.crypto.enabled"] == "true"
	if clientCrypto := strings.Contains(string(conf), "spark.network.crypto.enabled true"); clientCrypto != clusterCrypto {
		t.Errorf("the cluster encrypts its RPC: %v; spark-client's settings do: %v", clusterCrypto, clientCrypto)
	}
	if !strings.Contains(string(conf), "spark.authenticate.secret ") || strings.Contains(sc.SubmitCommand, "secret") {
		t.Errorf("spark-client: conf %q, command %q", conf, sc.SubmitCommand)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(home, "bin", "spark-submit"), "--properties-file", sc.PropertiesFile, "testdata/security/sum.py")
	cmd.Env = append(os.Environ(), "SPARK_HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUM 4950") {
		t.Errorf("spark-submit with spark-client's settings: %v\n%s", err, tailString(string(out), 2000))
	}
}

// spark3Home is the Spark 3.5 runtime make test-deps installs.
func spark3Home(t *testing.T) string {
	dir := os.Getenv("HEARTH_TEST_SPARK3")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "hearth-test", "pyspark-3.5.5")
	}
	home := filepath.Join(dir, "pyspark")
	if _, err := os.Stat(filepath.Join(home, "bin", "spark-class")); err != nil {
		t.Fatalf("no Spark 3.5 runtime at %s (make test-deps installs it): %v", home, err)
	}
	return home
}

// TestSpark3IsKeptOut: on Spark 3.5 (emr-7.x), which has no UI filter of
// its own, Hearth's filter keeps every UI port closed to other users while
// the gateway, steps and spark-client's settings work.
func TestSpark3IsKeptOut(t *testing.T) {
	home := spark3Home(t)
	e := newEnv(t, "SPARK_HOME="+home)
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--release-label", "emr-7.9.0", "--instance-type", "local.small", "--instance-count", "1", "--wait")).ClusterId
	v := e.describe(id)
	if v.Cluster.SparkVersion != "3.5.5" {
		t.Fatalf("SparkVersion %s", v.Cluster.SparkVersion)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	e.uiPortsRefuseNobody(ctx, v)
	e.submitThroughHearth(ctx, id, home)

	// Spark 3.5's own S3A connector (hadoop-aws 3.3.4, AWS SDK v1) reads
	// and writes the built-in store.
	vars := e.s3Env()
	aws := newAwsV2(t, e, vars["AWS_ACCESS_KEY_ID"], vars["AWS_SECRET_ACCESS_KEY"])
	aws.ok("s3", "mb", "s3://spark3")
	aws.ok("s3", "cp", stepsWriteFile(t, t.TempDir(), "book.txt", wordcountText), "s3://spark3/book.txt")
	step := e.stepAdd(id, sparkStep("s3", stepsWordcount(t), "s3://spark3/book.txt", "s3a://spark3/words.txt"))[0]
	e.stepAwaitEnd(id, step, hearth.StepCompleted, 3*time.Minute)
	checkWordCounts(t, e.stepLog(id, step, "stdout"), wordcountText)
	local := filepath.Join(t.TempDir(), "words.txt")
	aws.ok("s3", "cp", "s3://spark3/words.txt", local)
	words, _ := os.ReadFile(local)
	checkWordCounts(t, string(words), wordcountText)
}

// gatewayTry fetches a gateway path with the admin token and returns the
// status code (0 when nothing answered) and body, failing nothing.
func (e *env) gatewayTry(path string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, e.gateway+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.adminToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// gatewayAwait polls a gateway path until it answers 200.
func (e *env) gatewayAwait(path string, timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, body := e.gatewayTry(path)
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("GET %s through the gateway: no 200 after %s (last: %d %s)", path, timeout, code, tailString(body, 300))
		}
		time.Sleep(500 * time.Millisecond)
	}
}
