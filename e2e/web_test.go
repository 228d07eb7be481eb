//go:build integration

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

// TestWebConsoleInBrowser drives the console and the UI gateway in headless
// Chromium (e2e/browser/console.test.mjs, run with `node --test`): log in,
// create a 1+2 local cluster from the form, watch it reach WAITING, open
// the proxied Spark master UI (2 ALIVE workers), follow a worker link, an
// executor's stdout link and an application UI without leaving the
// gateway, see a failed step's reason, cancel a step, watch a step's
// output arrive live, terminate, log out. Screenshots go to
// e2e/browser/artifacts/. Needs scripts/browser-deps.sh (Chromium, npm ci).
func TestWebConsoleInBrowser(t *testing.T) {
	dir, err := filepath.Abs("browser")
	if err != nil {
		t.Fatal(err)
	}
	chromium := envOr("CHROMIUM", "/usr/bin/chromium")
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("no Chromium at %s: run scripts/browser-deps.sh (apt-get install chromium)", chromium)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed in %s: run scripts/browser-deps.sh (npm ci)", dir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on PATH: the browser tests need Node.js 18+")
	}

	e := newEnv(t)
	token := strings.TrimSpace(e.file("admin.token"))
	if token == "" {
		t.Fatal("the server wrote no admin.token")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "console.test.mjs")
	cmd.Dir = dir
	// HEARTH_HOME marks the browser and everything it starts as this
	// installation's, so the harness finds anything left running.
	cmd.Env = append(os.Environ(), "HEARTH_URL="+e.endpoint, "HEARTH_GATEWAY="+e.gateway, "HEARTH_TOKEN="+token,
		"HEARTH_SCRATCH="+t.TempDir(), "HEARTH_HOME="+e.home, "CHROMIUM="+chromium)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	if err != nil {
		t.Fatalf("browser test failed: %v\nserver log tail:\n%s", err, tailString(e.file("server.log"), 4000))
	}
}

// TestGatewayIsolationInBrowser: a script inside a proxied page (the real
// master UI of a running cluster, on the gateway's origin) cannot read the
// console's pages or CSRF token, call /api/v1, frame the console or post to
// it, and cross-origin WebSockets to the gateway are refused with 403
// (e2e/browser/isolation.test.mjs, in headless Chromium).
func TestGatewayIsolationInBrowser(t *testing.T) {
	chromium, node := browserDeps(t)
	e := newEnv(t)
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.small", "--instance-count", "1", "--wait")).ClusterId
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "isolation.test.mjs")
	cmd.Dir = "browser"
	cmd.Env = append(os.Environ(), "HEARTH_URL="+e.endpoint, "HEARTH_GATEWAY="+e.gateway, "HEARTH_TOKEN="+e.adminToken(),
		"HEARTH_CLUSTER="+id, "HEARTH_HOME="+e.home, "CHROMIUM="+chromium)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	if err != nil {
		t.Fatalf("browser test failed: %v\nserver log tail:\n%s", err, tailString(e.file("server.log"), 4000))
	}
	// What the page tried to change, it did not.
	if st := e.describe(id).Cluster.Status.State; st != hearth.ClusterWaiting {
		t.Errorf("the cluster is %s after the attack, want WAITING", st)
	}
	if log := e.file("server.log"); strings.Contains(log, "grant=") {
		t.Errorf("a grant reached the server's log")
	}
}

// browserDeps finds Chromium, playwright-core and node, or fails saying
// how to install them.
func browserDeps(t *testing.T) (chromium, node string) {
	t.Helper()
	chromium = envOr("CHROMIUM", "/usr/bin/chromium")
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("no Chromium at %s: run scripts/browser-deps.sh (apt-get install chromium)", chromium)
	}
	if _, err := os.Stat(filepath.Join("browser", "node_modules", "playwright-core")); err != nil {
		t.Fatal("playwright-core is not installed in e2e/browser: run scripts/browser-deps.sh (npm ci)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on PATH: the browser tests need Node.js 18+")
	}
	return chromium, node
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
