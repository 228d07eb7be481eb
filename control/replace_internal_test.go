package control

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/spark"
	"github.com/hearthcluster/hearth/store/sqlite"
)

// inertProvisioner starts nothing: nodes are what the test makes them.
type inertProvisioner struct{}

func (inertProvisioner) Name() string                                               { return "inert" }
func (inertProvisioner) Place(context.Context, *hearth.Cluster, *hearth.Node) error { return nil }
func (inertProvisioner) Launch(context.Context, *hearth.Node, map[string]string) ([]byte, error) {
	return []byte(`{}`), nil
}
func (inertProvisioner) Terminate(context.Context, *hearth.Node) error     { return nil }
func (inertProvisioner) Alive(context.Context, *hearth.Node) (bool, error) { return true, nil }
func (inertProvisioner) Host() (hearth.HostCapacity, error) {
	return hearth.HostCapacity{CPUs: 64, MemoryMB: 256 << 10}, nil
}

// inertServer is a control plane on a fresh SQLite store whose only
// provisioner starts nothing.
func inertServer(t *testing.T) (*Server, hearth.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(Config{Store: st, Provisioners: []hearth.Provisioner{inertProvisioner{}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		FindJava: func(context.Context) (spark.Java, error) { return spark.Java{Path: "/usr/bin/java", Major: 17}, nil }})
	return s, st
}

// TestGivingUpReplacingWorkers: a cluster replaces a failed worker, but
// after maxReplacements failures it fails itself instead of replacing
// forever.
func TestGivingUpReplacingWorkers(t *testing.T) {
	ctx := context.Background()
	s, st := inertServer(t)
	s.runtimes = newRuntimes(func(context.Context, string, io.Writer) (spark.Distribution, error) {
		return spark.Distribution{Home: "/opt/spark", Version: "4.0.1"}, nil
	}, s.now, func() {})
	c, err := s.CreateCluster(ctx, hearth.ClusterSpec{Provisioner: "inert", InstanceGroups: []hearth.InstanceGroupConfig{
		{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1},
		{InstanceGroupType: hearth.RoleCore, InstanceType: "local.small", InstanceCount: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	// The runtime "installs" in the background: pass until nodes launch.
	waitFor(t, "the nodes to launch", func() bool {
		s.Reconcile(ctx, c.Id)
		nodes, _ := st.Nodes(ctx, c.Id)
		return nodes[0].Launched && nodes[1].Launched
	})
	runAll := func() {
		nodes, _ := st.Nodes(ctx, c.Id)
		for _, n := range nodes {
			if !n.State.Ended() {
				st.UpdateNode(ctx, n.Id, func(n *hearth.Node) error { n.SetState(hearth.NodeRunning, "test", s.now()); return nil })
			}
		}
	}
	runAll()
	if _, err := st.UpdateCluster(ctx, c.Id, func(c *hearth.Cluster) error { c.Status.State = hearth.ClusterWaiting; return nil }); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= maxReplacements+1; i++ {
		nodes, _ := st.Nodes(ctx, c.Id)
		for _, n := range nodes {
			if n.Role == hearth.RoleCore && !n.State.Ended() {
				st.UpdateNode(ctx, n.Id, func(n *hearth.Node) error { n.SetState(hearth.NodeFailed, "test: lost", s.now()); return nil })
			}
		}
		if err := s.Reconcile(ctx, c.Id); err != nil {
			t.Fatal(err)
		}
		cur, _ := st.Cluster(ctx, c.Id)
		if i <= maxReplacements {
			if cur.Status.State != hearth.ClusterWaiting {
				t.Fatalf("after failure %d the cluster is %s (%s); want WAITING with a replacement", i, cur.Status.State, cur.Status.StateChangeReason.Message)
			}
			s.Reconcile(ctx, c.Id) // launches the replacement
			runAll()
			continue
		}
		if cur.Status.State != hearth.ClusterTerminating || cur.Status.StateChangeReason.Code != hearth.ReasonInstanceFailure ||
			!strings.Contains(cur.Status.StateChangeReason.Message, "giving up") {
			t.Fatalf("after %d failures: %s %s %q; want TERMINATING, INSTANCE_FAILURE, giving up", i, cur.Status.State, cur.Status.StateChangeReason.Code, cur.Status.StateChangeReason.Message)
		}
	}
	nodes, _ := st.Nodes(ctx, c.Id)
	if len(nodes) != 2+maxReplacements {
		t.Errorf("%d nodes; want the 2 first and %d replacements", len(nodes), maxReplacements)
	}
}
