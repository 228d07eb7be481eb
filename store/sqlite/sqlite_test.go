package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/store/sqlite"
	"github.com/hearthcluster/hearth/store/storetest"
	_ "modernc.org/sqlite"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open %s: %v", path, err)
	}
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hearth.Store {
		s := open(t, filepath.Join(t.TempDir(), "hearth.db"))
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hearth.db")
	now := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	c, nodes, err := hearth.NewCluster(hearth.ClusterSpec{
		Name: "durable",
		InstanceGroups: []hearth.InstanceGroupConfig{
			{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1},
			{InstanceGroupType: hearth.RoleCore, InstanceType: "local.small", InstanceCount: 1},
		},
	}, "3.5.1", now)
	if err != nil {
		t.Fatalf("NewCluster: %v", err)
	}
	nodes[1].TokenHash = "hash-1"
	nodes[1].Launch = []byte("launch-1")

	s := open(t, path)
	if err := s.CreateCluster(t.Context(), c, nodes, nil); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	if _, err := s.UpdateCluster(t.Context(), c.Id, func(c *hearth.Cluster) error {
		return c.Transition(hearth.ClusterBootstrapping, hearth.StateChangeReason{}, now)
	}); err != nil {
		t.Fatalf("UpdateCluster: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Reopening runs the migrations again; they must be a no-op.
	s = open(t, path)
	defer s.Close()
	got, err := s.Cluster(t.Context(), c.Id)
	if err != nil {
		t.Fatalf("Cluster after reopen: %v", err)
	}
	if got.Name != "durable" || got.Status.State != hearth.ClusterBootstrapping || len(got.InstanceGroups) != 2 {
		t.Errorf("cluster after reopen = %+v, want %q in BOOTSTRAPPING with 2 groups", got, "durable")
	}
	if cs, err := s.Clusters(t.Context(), hearth.ClusterBootstrapping); err != nil || len(cs) != 1 {
		t.Errorf("Clusters(BOOTSTRAPPING) after reopen = %d clusters, %v; want 1", len(cs), err)
	}
	gotNodes, err := s.Nodes(t.Context(), c.Id)
	if err != nil {
		t.Fatalf("Nodes after reopen: %v", err)
	}
	if len(gotNodes) != 2 {
		t.Fatalf("got %d nodes after reopen, want 2", len(gotNodes))
	}
	for i, n := range gotNodes {
		if n.Id != nodes[i].Id || n.TokenHash != nodes[i].TokenHash || string(n.Launch) != string(nodes[i].Launch) {
			t.Errorf("node %d after reopen = {Id:%s TokenHash:%q Launch:%q}, want {Id:%s TokenHash:%q Launch:%q}",
				i, n.Id, n.TokenHash, n.Launch, nodes[i].Id, nodes[i].TokenHash, nodes[i].Launch)
		}
	}
}

func TestWALMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hearth.db")
	s := open(t, path)
	defer s.Close()

	// A plain connection without Hearth's pragmas: WAL is a property of the
	// file, so it must report it too.
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatalf("PRAGMA journal_mode: %v", err)
	}
	if !strings.EqualFold(mode, "wal") {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

// TestJupyterTokenOfOlderDocuments: a cluster written when the token was
// part of its JSON document (Spark.JupyterToken) keeps its token.
func TestJupyterTokenOfOlderDocuments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hearth.db")
	s := open(t, path)
	defer s.Close()
	c, nodes, err := hearth.NewCluster(hearth.ClusterSpec{
		InstanceGroups: []hearth.InstanceGroupConfig{{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1}},
	}, "3.5.1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCluster(t.Context(), c, nodes, nil); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := `{"Id":"` + c.Id + `","Name":"old","Status":{"State":"WAITING"},"Spark":{"JupyterURL":"http://127.0.0.1:8888/","JupyterToken":"old-token"}}`
	if _, err := db.ExecContext(t.Context(), `UPDATE clusters SET doc = ? WHERE id = ?`, old, c.Id); err != nil {
		t.Fatal(err)
	}
	got, err := s.Cluster(t.Context(), c.Id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Spark.JupyterToken != "old-token" || got.Spark.JupyterURL != "http://127.0.0.1:8888/" {
		t.Errorf("Spark = %+v, want the old document's URL and token", got.Spark)
	}
}
