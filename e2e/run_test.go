//go:build integration

package e2e

import (
	"strings"
	"testing"

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
