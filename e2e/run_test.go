//go:build integration

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

// TestRun: `hearth run` on a server (a single-node cluster by default,
// its stdout streamed, the step's exit status its own), and with no server,
// as make demo runs it (a control plane in the process, gone afterwards).
func TestRun(t *testing.T) {
	text := stepsWriteFile(t, t.TempDir(), "book.txt", wordcountText)
	failing := stepsWriteFile(t, t.TempDir(), "fail.py", "import sys\nprint('about to fail')\nsys.exit(3)\n")
	runConcurrently(t, []flow{
		{"OnAServer", func(t *testing.T) {
			e := newEnv(t)
			r := e.hearth("run", stepsWordcount(t), text)
			if r.code != 0 || !strings.Contains(r.stderr, "1 local.medium node running the master and a worker") {
				t.Fatalf("hearth run: exit %d\nstderr: %s", r.code, r.stderr)
			}
			checkWordCounts(t, r.stdout, wordcountText)
			e.ok("wait", "cluster-terminated", "--cluster-id", clusterOf(t, r.stderr), "--timeout", "2m") // the server ends it after run exits
			clusters := decodeJSON[struct{ Clusters []*hearth.Cluster }](t, e.ok("list-clusters")).Clusters
			if len(clusters) != 1 || clusters[0].Status.State != hearth.ClusterTerminated {
				t.Fatalf("after hearth run: %+v", clusters)
			}
			if v := e.describe(clusters[0].Id); len(v.Nodes) != 1 {
				t.Errorf("hearth run's cluster had %d nodes, want 1", len(v.Nodes))
			}
			r = e.hearth("run", failing)
			if r.code != 3 || !strings.Contains(r.stdout, "about to fail") {
				t.Errorf("hearth run of a script exiting 3: exit %d, stdout %q", r.code, r.stdout)
			}
		}},
		{"WarmPool", func(t *testing.T) {
			e := newEnvArgs(t, []string{"--warm-pool", "1"})
			pooled := e.awaitWarm("")
			if listed := decodeJSON[struct{ Clusters []*hearth.Cluster }](t, e.ok("list-clusters")).Clusters; len(listed) != 0 {
				t.Fatalf("list-clusters shows the warm pool: %+v", listed)
			}
			r := e.hearth("run", stepsWordcount(t), text)
			if r.code != 0 || !strings.Contains(r.stderr, "cluster "+pooled+" (") || !strings.Contains(r.stderr, "adopted from the server's warm pool") {
				t.Fatalf("hearth run with a warm pool: exit %d, want the pool's %s adopted\nstderr: %s", r.code, pooled, r.stderr)
			}
			checkWordCounts(t, r.stdout, wordcountText)
			e.ok("wait", "cluster-terminated", "--cluster-id", pooled, "--timeout", "2m")
			// The adopted cluster is the user's: listed, named, ended by the run.
			listed := decodeJSON[struct{ Clusters []*hearth.Cluster }](t, e.ok("list-clusters")).Clusters
			if len(listed) != 1 || listed[0].Id != pooled || listed[0].Name != "hearth run" || listed[0].Status.State != hearth.ClusterTerminated {
				t.Fatalf("after hearth run on the pool: %+v", listed)
			}
			// The pool refills, and a run of another shape does not adopt.
			refill := e.awaitWarm(pooled)
			failing := e.hearth("run", "--instance-count", "2", failing)
			if failing.code != 3 || strings.Contains(failing.stderr, "warm pool") {
				t.Fatalf("a 2-node run: exit %d\nstderr: %s", failing.code, failing.stderr)
			}
			if now := e.awaitWarm(pooled); now != refill {
				t.Fatalf("a 2-node run took the pool's %s (now %s)", refill, now)
			}
			// A server restarted without a pool ends the pool's cluster.
			e.stopServer()
			e.serverArgs = nil
			e.startServer()
			deadline := time.Now().Add(2 * time.Minute)
			for len(decodeJSON[struct{ Clusters []*hearth.Cluster }](t, e.ok("warm-pool")).Clusters) > 0 {
				if time.Now().After(deadline) {
					t.Fatal("the pool's cluster outlived a server started without --warm-pool")
				}
				time.Sleep(500 * time.Millisecond)
			}
		}},
		{"InProcess", func(t *testing.T) {
			e := &env{t: t, home: t.TempDir(), endpoint: "http://" + freeAddr(t)} // nothing listens there
			r := e.hearth("run", "--instance-count", "2", stepsWordcount(t), text)
			if r.code != 0 || !strings.Contains(r.stderr, "running a control plane in this process") || !strings.Contains(r.stderr, "2 local.medium nodes: 1 master, 1 worker") {
				t.Fatalf("hearth run with no server: exit %d\nstderr: %s", r.code, r.stderr)
			}
			checkWordCounts(t, r.stdout, wordcountText)
			e.assertNoProcesses() // the in-process server's store and cluster went with it
		}},
	})
}

// awaitWarm waits for the warm pool to hold a WAITING cluster other than
// not, and returns its id.
func (e *env) awaitWarm(not string) string {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		for _, c := range decodeJSON[struct{ Clusters []*hearth.Cluster }](e.t, e.ok("warm-pool")).Clusters {
			if c.Id != not && c.Status.State == hearth.ClusterWaiting {
				return c.Id
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no warm pool cluster became WAITING; server log tail:\n%s", tailString(e.file("server.log"), 3000))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// clusterOf reads the cluster id from hearth run's "hearth run: cluster
// j-... (" line.
func clusterOf(t *testing.T, stderr string) string {
	t.Helper()
	_, rest, ok := strings.Cut(stderr, "hearth run: cluster ")
	id, _, _ := strings.Cut(rest, " ")
	if !ok || !strings.HasPrefix(id, "j-") {
		t.Fatalf("hearth run named no cluster: %s", stderr)
	}
	return id
}
