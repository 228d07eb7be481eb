//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

// TestConfigBootstrapAndHistory: bootstrap actions run on every node and
// can branch on instance.json; configurations reach a running
// application's conf; maximizeResourceAllocation follows docs/sizing.md;
// the History Server lists the finished application.
func TestConfigBootstrapAndHistory(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "boot.sh")
	os.WriteFile(script, []byte(`#!/bin/sh
set -e
if python3 -c "import json,os,sys; sys.exit(0 if json.load(open(os.environ['HEARTH_INSTANCE_JSON']))['isMaster'] else 1)"; then
  role=master
else
  role=worker
fi
echo "$role $1" > "`+dir+`/marker-$(basename "$HEARTH_NODE_DIR")"
echo "bootstrapped as $role"
`), 0o755)
	app := filepath.Join(dir, "conf.py")
	os.WriteFile(app, []byte(`from pyspark.sql import SparkSession
s = SparkSession.builder.getOrCreate()
c = s.sparkContext.getConf()
print("TEST", c.get("spark.hearth.test"), c.get("spark.executor.memory"), c.get("spark.executor.cores"))
print("COUNT", s.range(1000).count())
`), 0o644)
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.small", "--instance-count", "3",
		"--bootstrap-actions", "Path="+script+",Name=Marker,Args=[hello]",
		"--configurations", `[{"Classification":"spark","Properties":{"maximizeResourceAllocation":"true"}},
			{"Classification":"spark-defaults","Properties":{"spark.hearth.test":"42"}}]`,
		"--wait")).ClusterId

	// Every node ran the action once and knew its role.
	v := e.describe(id)
	for _, n := range v.Nodes {
		b, err := os.ReadFile(filepath.Join(dir, "marker-"+n.Id))
		want := "worker hello\n"
		if n.Role == hearth.RoleMaster {
			want = "master hello\n"
		}
		if err != nil || string(b) != want {
			t.Errorf("node %s (%s) marker %q, %v; want %q", n.Id, n.Role, b, err, want)
		}
		if len(n.Observed.Bootstrap) != 1 || n.Observed.Bootstrap[0].ExitCode != 0 {
			t.Errorf("node %s bootstrap results %+v", n.Id, n.Observed.Bootstrap)
		}
	}
	if out := e.ok("logs", "--cluster-id", id, "--bootstrap"); strings.Count(out, "bootstrapped as") != 3 {
		t.Errorf("logs --bootstrap shows %d outputs, want 3:\n%s", strings.Count(out, "bootstrapped as"), out)
	}

	// maximizeResourceAllocation on 2 local.small workers (docs/sizing.md).
	for gid, conf := range v.SparkDefaults {
		if conf["spark.executor.memory"] != "640m" || conf["spark.executor.instances"] != "2" || conf["spark.default.parallelism"] != "4" || conf["spark.hearth.test"] != "42" {
			t.Errorf("group %s effective spark-defaults %v", gid, conf)
		}
	}

	// The properties reach a running application.
	step := decodeJSON[struct{ StepIds []string }](t, e.ok("add-steps", "--cluster-id", id, "--steps", "Type=SPARK,Name=conf,Args=["+app+"]")).StepIds[0]
	if st := e.waitStepEnd(id, step); st.Status.State != hearth.StepCompleted {
		t.Fatalf("conf step %s: %+v", st.Status.State, st.Status.FailureDetails)
	}
	out := e.ok("logs", "--cluster-id", id, "--step-id", step)
	if !strings.Contains(out, "TEST 42 640m 1") || !strings.Contains(out, "COUNT 1000") {
		t.Errorf("application saw: %q", out)
	}

	// The History Server lists it.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var apps []struct {
			Name     string `json:"name"`
			Attempts []struct {
				Completed bool `json:"completed"`
			} `json:"attempts"`
		}
		resp, err := http.Get(e.describe(id).Cluster.Spark.HistoryURL + "api/v1/applications")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("the History Server answered a direct request with %s, want 403 Forbidden", resp.Status)
			}
		}
		if code, body := e.gatewayTry("/clusters/" + id + "/hs/api/v1/applications"); code == http.StatusOK {
			json.Unmarshal([]byte(body), &apps)
		}
		if len(apps) == 1 && apps[0].Name == "conf.py" && apps[0].Attempts[0].Completed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history server lists %+v (err %v), want the completed conf.py", apps, err)
		}
		time.Sleep(time.Second)
	}
}

// TestBootstrapFailure: a failing action ends the cluster with
// BOOTSTRAP_FAILURE and a message naming the node, the action and its stderr.
func TestBootstrapFailure(t *testing.T) {
	e := newEnv(t)
	script := filepath.Join(t.TempDir(), "fail.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho 'cannot install nltk' >&2\nexit 7\n"), 0o755)
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.small", "--instance-count", "2",
		"--bootstrap-actions", "Path="+script+",Name=Install")).ClusterId
	r := e.hearth("wait", "cluster-running", "--cluster-id", id, "--timeout", "2m")
	if r.code == 0 {
		t.Fatal("cluster-running succeeded for a cluster whose bootstrap fails")
	}
	// The EMR waiter fails on TERMINATED_WITH_ERRORS, and says why.
	if r := e.hearth("wait", "cluster-terminated", "--cluster-id", id, "--timeout", "2m"); r.code == 0 || !strings.Contains(r.stderr, "BOOTSTRAP_FAILURE") {
		t.Errorf("wait cluster-terminated: exit %d, %s", r.code, r.stderr)
	}
	c := e.describe(id).Cluster
	reason := c.Status.StateChangeReason
	if c.Status.State != hearth.ClusterTerminatedWithErrors || reason.Code != hearth.ReasonBootstrapFailure {
		t.Fatalf("%s %s, want TERMINATED_WITH_ERRORS BOOTSTRAP_FAILURE", c.Status.State, reason.Code)
	}
	for _, want := range []string{"bootstrap action 1", "Install", "return code 7", "cannot install nltk", "instance (i-"} {
		if !strings.Contains(reason.Message, want) {
			t.Errorf("reason %q lacks %q", reason.Message, want)
		}
	}
}

// TestSparkConnect: the SparkConnect application runs a Spark Connect
// server on the master; a thin client (pyspark --remote) runs a query on
// the cluster through it.
func TestSparkConnect(t *testing.T) {
	e := newEnv(t)
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.small", "--instance-count", "2",
		"--applications", "Name=Spark", "Name=SparkConnect", "--wait")).ClusterId
	if url := e.describe(id).Cluster.Spark.ConnectURL; !strings.HasPrefix(url, "sc://127.0.0.1:") {
		t.Fatalf("ConnectURL %q", url)
	}
	// The server wants the cluster's Connect token, which spark-client
	// writes into a private env file.
	sc := decodeJSON[struct{ ConnectURL, ConnectEnvFile string }](t, e.ok("spark-client", "--cluster-id", id, "--output-dir", t.TempDir()))
	envFile, err := os.ReadFile(sc.ConnectEnvFile)
	if err != nil || !strings.HasPrefix(string(envFile), "SPARK_CONNECT_AUTHENTICATE_TOKEN=") {
		t.Fatalf("spark-client env file %s: %q, %v", sc.ConnectEnvFile, envFile, err)
	}
	if fi, _ := os.Stat(sc.ConnectEnvFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("%s is %v, want 0600", sc.ConnectEnvFile, fi.Mode().Perm())
	}
	client := filepath.Join(t.TempDir(), "client.py")
	os.WriteFile(client, []byte(`import os, sys, time
from pyspark.sql import SparkSession
for attempt in range(60):  # the server is a Spark application: it may still be starting
    try:
        spark = SparkSession.builder.remote(sys.argv[1]).getOrCreate()
        print("CONNECT", spark.range(100).selectExpr("sum(id) AS s").collect()[0]["s"], flush=True)
        spark.stop()
        os._exit(0)
    except Exception as e:
        print("retry:", type(e).__name__, str(e)[:300].replace("\n", " "), flush=True)
        if sys.argv[2] == "once":
            os._exit(3)
        time.sleep(2)
os._exit(1)
`), 0o644)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", client, sc.ConnectURL, "retry")
	cmd.Env = append(os.Environ(), strings.TrimSpace(string(envFile)))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "CONNECT 4950") {
		t.Fatalf("spark connect client: %v\n%s", err, out)
	}
	// Without the token the server, now up, refuses the client.
	out, err = exec.CommandContext(ctx, "python3", client, sc.ConnectURL, "once").CombinedOutput()
	if err == nil || strings.Contains(string(out), "CONNECT") || !strings.Contains(strings.ToLower(string(out)), "unauthenticated") {
		t.Errorf("a Connect client without the token: %v\n%s", err, out)
	}
}

// TestJupyter: the JupyterLab application installs JupyterLab from PyPI on
// the master, refuses anyone but the gateway, and a notebook kernel's
// PySpark session, driven through the gateway (REST and the kernel's
// WebSocket) with Hearth's credential only, runs on the cluster.
func TestJupyter(t *testing.T) {
	e := newEnv(t)
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.small", "--instance-count", "2",
		"--applications", "Name=JupyterLab", "--wait")).ClusterId
	v := e.describe(id)
	s := v.Cluster.Spark
	if s.JupyterURL == "" {
		t.Fatalf("no JupyterLab in %+v", s)
	}
	// Directly, without Jupyter's token (which only the gateway holds),
	// JupyterLab refuses the API.
	resp, err := http.Get(s.JupyterURL + "api/kernels")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("JupyterLab without a token answered %s", resp.Status)
	}
	var master string
	for _, n := range v.Nodes {
		if n.Role == hearth.RoleMaster {
			master = n.Id
		}
	}
	python := filepath.Join(e.home, "clusters", id, "nodes", master, "jupyter-venv", "bin", "python")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	gw := e.gateway + "/clusters/" + id + "/jupyter/"
	out, err := exec.CommandContext(ctx, python, filepath.Join("testdata", "jupyter", "kernel.py"), gw, "Bearer "+e.adminToken()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "JUPYTER "+v.Cluster.Spark.MasterURL+" 4950") {
		t.Fatalf("kernel through the gateway: %v\n%s", err, tailString(string(out), 3000))
	}
	if body := e.gatewayGet("/clusters/" + id + "/jupyter/api/status"); !strings.Contains(body, `"started"`) {
		t.Errorf("JupyterLab through the gateway: %q", body)
	}

	// A kernel WebSocket opened from another origin (the console's, a
	// foreign site's) is refused by the gateway, credential or not.
	for _, origin := range []string{e.endpoint, "https://evil.example"} {
		req, _ := http.NewRequest(http.MethodGet, gw+"api/kernels/nope/channels", nil)
		for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
			"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": origin, "Authorization": "Bearer " + e.adminToken()} {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a WebSocket from %s through the gateway: %s, want 403", origin, resp.Status)
		}
	}
}

// adminToken is the server's admin credential.
func (e *env) adminToken() string {
	e.t.Helper()
	token, err := os.ReadFile(filepath.Join(e.home, "admin.token"))
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.TrimSpace(string(token))
}

// gatewayGet fetches a path of the UI gateway (its own origin) with the
// admin token; it fails the test unless the answer is 200.
func (e *env) gatewayGet(path string) string {
	e.t.Helper()
	status, body := e.authGet(e.gateway + path)
	if status != http.StatusOK {
		e.t.Errorf("GET %s: %d: %s", path, status, tailString(body, 500))
	}
	return body
}

// authGet fetches url with the admin token and returns the status and body.
func (e *env) authGet(url string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+e.adminToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
