package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

// Run runs the suite. open must return a new, empty store for each call and
// arrange (with t.Cleanup) for it to be closed when t ends.
func Run(t *testing.T, open func(t *testing.T) hearth.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s hearth.Store)
	}{
		{"CreateClusterReadBack", testCreateClusterReadBack},
		{"ClusterNotFound", testClusterNotFound},
		{"ClustersFilterAndOrder", testClustersFilterAndOrder},
		{"UpdateCluster", testUpdateCluster},
		{"UpdateClusterFnError", testUpdateClusterFnError},
		{"UpdateClusterNotFound", testUpdateClusterNotFound},
		{"UpdateNode", testUpdateNode},
		{"UpdateNodeFnError", testUpdateNodeFnError},
		{"NodeNotFound", testNodeNotFound},
		{"AddNode", testAddNode},
		{"AddNodeMissingCluster", testAddNodeMissingCluster},
		{"ConcurrentUpdateCluster", testConcurrentUpdateCluster},
		{"SecretsKeptOutOfTheDocument", testSecretsKept},
		{"CreateClusterAtomic", testCreateClusterAtomic},
		{"DocumentsKeepAnyText", testDocumentsKeepAnyText},
		{"ConcurrentUpdateNode", testConcurrentUpdateNode},

		{"CreateClusterWithSteps", testCreateClusterWithSteps},
		{"AddStepsSeq", testAddStepsSeq},
		{"AddStepsCheck", testAddStepsCheck},
		{"AddStepsMissingCluster", testAddStepsMissingCluster},
		{"AddStepsActiveLimit", testAddStepsActiveLimit},
		{"ConcurrentAddSteps", testConcurrentAddSteps},
		{"StepsFilterAndOrder", testStepsFilterAndOrder},
		{"StepNotFound", testStepNotFound},
		{"UpdateStep", testUpdateStep},
		{"UpdateStepFnError", testUpdateStepFnError},
		{"ConcurrentUpdateStep", testConcurrentUpdateStep},

		{"AccessKeyRoundTrip", testAccessKeyRoundTrip},
		{"AccessKeysOrderWithoutSecrets", testAccessKeysOrder},
		{"AccessKeyDuplicate", testAccessKeyDuplicate},
		{"DeleteAccessKey", testDeleteAccessKey},

		{"HostRoundTrip", testHostRoundTrip},
		{"HostsOrder", testHostsOrder},
		{"HostDuplicate", testHostDuplicate},
		{"UpdateHost", testUpdateHost},
		{"UpdateHostConflict", testUpdateHostConflict},
		{"UpdateHostFnError", testUpdateHostFnError},
		{"UpdateHostNotFound", testUpdateHostNotFound},
		{"ConcurrentUpdateHost", testConcurrentUpdateHost},
		{"DeleteHost", testDeleteHost},
		{"NodeHostId", testNodeHostId},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// epoch has microsecond precision: what every SQL backend keeps.
var epoch = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)

// newCluster builds a 1 master + 2 core cluster created at now, with every
// node carrying the members the store keeps outside the JSON document.
func newCluster(t *testing.T, name string, now time.Time) (*hearth.Cluster, []*hearth.Node) {
	t.Helper()
	c, nodes, err := hearth.NewCluster(hearth.ClusterSpec{
		Name:         name,
		ReleaseLabel: "emr-7.2.0",
		InstanceGroups: []hearth.InstanceGroupConfig{
			{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1},
			{InstanceGroupType: hearth.RoleCore, InstanceType: "local.medium", InstanceCount: 2},
		},
		Tags: []hearth.Tag{{Key: "team", Value: "data"}},
	}, "3.5.1", now)
	if err != nil {
		t.Fatalf("NewCluster: %v", err)
	}
	c.Notes = []string{"fixture"}
	c.Spark.JupyterToken = "jupyter-token-" + name
	c.Spark.AuthSecret, c.Spark.UIKey, c.Spark.ConnectToken = "auth-secret-"+name, "ui-key-"+name, "connect-token-"+name
	for i, n := range nodes {
		n.TokenHash = fmt.Sprintf("%064x", i+1)
		n.Launch = []byte(fmt.Sprintf(`{"pid":%d}`, 1000+i))
		n.Ports = hearth.NodePorts{WorkerPort: 7100 + i, WorkerWebUI: 8100 + i}
		checkFilled(t, "node", n)
	}
	checkFilled(t, "cluster", c)
	return c, nodes
}

func mustCreate(t *testing.T, s hearth.Store, c *hearth.Cluster, nodes []*hearth.Node) {
	t.Helper()
	if err := s.CreateCluster(t.Context(), c, nodes, nil); err != nil {
		t.Fatalf("CreateCluster %s: %v", c.Id, err)
	}
}

// sameJSON reports how got and want differ in their JSON form, or "".
func sameJSON(got, want any) string {
	g, err1 := json.Marshal(got)
	w, err2 := json.Marshal(want)
	if err := errors.Join(err1, err2); err != nil {
		return err.Error()
	}
	if !bytes.Equal(g, w) {
		return fmt.Sprintf("got  %s\nwant %s", g, w)
	}
	return ""
}

func checkCluster(t *testing.T, got, want *hearth.Cluster) {
	t.Helper()
	if got == nil {
		t.Fatalf("cluster %s: got nil", want.Id)
	}
	if d := sameJSON(got, want); d != "" {
		t.Errorf("cluster %s differs:\n%s", want.Id, d)
	}
	checkHidden(t, "cluster "+want.Id, got, want)
}

// checkNode compares the JSON document and the members JSON leaves out.
func checkNode(t *testing.T, got, want *hearth.Node) {
	t.Helper()
	if got == nil {
		t.Fatalf("node %s: got nil", want.Id)
	}
	if d := sameJSON(got, want); d != "" {
		t.Errorf("node %s differs:\n%s", want.Id, d)
	}
	checkHidden(t, "node "+want.Id, got, want)
}

func checkNodes(t *testing.T, got, want []*hearth.Node) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d nodes, want %d", len(got), len(want))
	}
	for i := range want {
		checkNode(t, got[i], want[i])
	}
}

func testCreateClusterReadBack(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "read back", epoch)
	mustCreate(t, s, c, nodes)

	got, err := s.Cluster(t.Context(), c.Id)
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	checkCluster(t, got, c)

	gotNodes, err := s.Nodes(t.Context(), c.Id)
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	checkNodes(t, gotNodes, nodes)

	for _, n := range nodes {
		got, err := s.Node(t.Context(), n.Id)
		if err != nil {
			t.Fatalf("Node %s: %v", n.Id, err)
		}
		checkNode(t, got, n)
	}
}

func testClusterNotFound(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "present", epoch)
	mustCreate(t, s, c, nodes)

	got, err := s.Cluster(t.Context(), "j-MISSING000000")
	if !errors.Is(err, hearth.ErrNotFound) {
		t.Fatalf("Cluster(missing) = %v, %v; want an error wrapping ErrNotFound", got, err)
	}
}

func testClustersFilterAndOrder(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	var ids []string // oldest first
	for i := range 4 {
		c, nodes := newCluster(t, fmt.Sprintf("c%d", i), epoch.Add(time.Duration(i)*time.Minute))
		mustCreate(t, s, c, nodes)
		ids = append(ids, c.Id)
	}
	// c1 goes to WAITING, c2 to TERMINATED; c0 and c3 stay STARTING.
	now := epoch.Add(time.Hour)
	if _, err := s.UpdateCluster(ctx, ids[1], func(c *hearth.Cluster) error {
		return errors.Join(
			c.Transition(hearth.ClusterBootstrapping, hearth.StateChangeReason{}, now),
			c.Transition(hearth.ClusterWaiting, hearth.StateChangeReason{}, now))
	}); err != nil {
		t.Fatalf("UpdateCluster to WAITING: %v", err)
	}
	if _, err := s.UpdateCluster(ctx, ids[2], func(c *hearth.Cluster) error {
		return errors.Join(
			c.Terminate(hearth.StateChangeReason{Code: hearth.ReasonUserRequest}, now),
			c.FinishTermination(now))
	}); err != nil {
		t.Fatalf("UpdateCluster to TERMINATED: %v", err)
	}

	tests := []struct {
		name   string
		states []hearth.ClusterState
		want   []string
	}{
		{"all", nil, []string{ids[3], ids[2], ids[1], ids[0]}},
		{"starting", []hearth.ClusterState{hearth.ClusterStarting}, []string{ids[3], ids[0]}},
		{"waiting or terminated", []hearth.ClusterState{hearth.ClusterWaiting, hearth.ClusterTerminated}, []string{ids[2], ids[1]}},
		{"running", []hearth.ClusterState{hearth.ClusterRunning}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := s.Clusters(ctx, tc.states...)
			if err != nil {
				t.Fatalf("Clusters(%v): %v", tc.states, err)
			}
			var got []string
			for _, c := range cs {
				if len(tc.states) > 0 && !slices.Contains(tc.states, c.Status.State) {
					t.Errorf("Clusters(%v) returned %s in state %s", tc.states, c.Id, c.Status.State)
				}
				got = append(got, c.Id)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Clusters(%v) = %v, want %v", tc.states, got, tc.want)
			}
		})
	}
}

func testUpdateCluster(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "before", epoch)
	mustCreate(t, s, c, nodes)

	now := epoch.Add(time.Minute)
	updated, err := s.UpdateCluster(t.Context(), c.Id, func(c *hearth.Cluster) error {
		c.Name = "after"
		c.MasterPublicDnsName = "127.0.0.1"
		c.Spark.MasterURL = "spark://127.0.0.1:7077"
		return c.Transition(hearth.ClusterBootstrapping, hearth.StateChangeReason{Message: "bootstrapping"}, now)
	})
	if err != nil {
		t.Fatalf("UpdateCluster: %v", err)
	}
	if updated == nil || updated.Name != "after" || updated.Status.State != hearth.ClusterBootstrapping {
		t.Fatalf("UpdateCluster returned %+v, want the updated cluster", updated)
	}
	got, err := s.Cluster(t.Context(), c.Id)
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	checkCluster(t, got, updated)
	if got.Name != "after" || got.Spark.MasterURL != "spark://127.0.0.1:7077" || got.Status.StateChangeReason.Message != "bootstrapping" {
		t.Errorf("stored cluster %+v does not carry the update", got)
	}
	// The state is kept outside the document too: filtering must see it.
	cs, err := s.Clusters(t.Context(), hearth.ClusterBootstrapping)
	if err != nil {
		t.Fatalf("Clusters: %v", err)
	}
	if len(cs) != 1 || cs[0].Id != c.Id {
		t.Errorf("Clusters(BOOTSTRAPPING) = %d clusters, want just %s", len(cs), c.Id)
	}
}

func testUpdateClusterFnError(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "unchanged", epoch)
	mustCreate(t, s, c, nodes)

	errRefused := errors.New("refused by fn")
	_, err := s.UpdateCluster(t.Context(), c.Id, func(c *hearth.Cluster) error {
		c.Name = "changed"
		c.Status.State = hearth.ClusterRunning
		return errRefused
	})
	if !errors.Is(err, errRefused) {
		t.Fatalf("UpdateCluster = %v, want the error fn returned", err)
	}
	got, err := s.Cluster(t.Context(), c.Id)
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	checkCluster(t, got, c)
	if cs, err := s.Clusters(t.Context(), hearth.ClusterRunning); err != nil || len(cs) != 0 {
		t.Errorf("Clusters(RUNNING) = %d clusters, %v; want none", len(cs), err)
	}
}

func testUpdateClusterNotFound(t *testing.T, s hearth.Store) {
	called := false
	_, err := s.UpdateCluster(t.Context(), "j-MISSING000000", func(*hearth.Cluster) error {
		called = true
		return nil
	})
	if !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("UpdateCluster(missing) = %v, want an error wrapping ErrNotFound", err)
	}
	if called {
		t.Error("UpdateCluster(missing) called fn")
	}
}

func testUpdateNode(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "nodes", epoch)
	mustCreate(t, s, c, nodes)
	target := nodes[1]

	now := epoch.Add(time.Minute)
	updated, err := s.UpdateNode(t.Context(), target.Id, func(n *hearth.Node) error {
		n.SetState(hearth.NodeRunning, "worker registered", now)
		n.TokenHash = "rotated"
		n.Launch = []byte("relaunched")
		n.Launched = true
		n.Host = "127.0.0.1"
		n.LastHeartbeat = &now
		n.PlanVersion++
		n.Observed = hearth.Observed{
			AgentPID:    4242,
			Daemons:     []hearth.DaemonStatus{{Name: "worker", PID: 4243, Running: true}},
			Converged:   true,
			PlanVersion: 2,
		}
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateNode: %v", err)
	}
	if updated == nil || updated.TokenHash != "rotated" || updated.State != hearth.NodeRunning {
		t.Fatalf("UpdateNode returned %+v, want the updated node", updated)
	}
	got, err := s.Node(t.Context(), target.Id)
	if err != nil {
		t.Fatalf("Node: %v", err)
	}
	checkNode(t, got, updated)
	if got.PlanVersion != 2 || got.Observed.AgentPID != 4242 || string(got.Launch) != "relaunched" {
		t.Errorf("stored node %+v does not carry the update", got)
	}

	// The other nodes are untouched, and the list shows the update in place.
	all, err := s.Nodes(t.Context(), c.Id)
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	checkNodes(t, all, []*hearth.Node{nodes[0], updated, nodes[2]})
}

func testUpdateNodeFnError(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "nodes", epoch)
	mustCreate(t, s, c, nodes)

	errRefused := errors.New("refused by fn")
	_, err := s.UpdateNode(t.Context(), nodes[0].Id, func(n *hearth.Node) error {
		n.State = hearth.NodeFailed
		n.TokenHash = "changed"
		n.Launch = []byte("changed")
		return errRefused
	})
	if !errors.Is(err, errRefused) {
		t.Fatalf("UpdateNode = %v, want the error fn returned", err)
	}
	got, err := s.Node(t.Context(), nodes[0].Id)
	if err != nil {
		t.Fatalf("Node: %v", err)
	}
	checkNode(t, got, nodes[0])
}

func testNodeNotFound(t *testing.T, s hearth.Store) {
	if _, err := s.Node(t.Context(), "i-0123456789abcdef0"); !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("Node(missing) = %v, want an error wrapping ErrNotFound", err)
	}
	called := false
	_, err := s.UpdateNode(t.Context(), "i-0123456789abcdef0", func(*hearth.Node) error {
		called = true
		return nil
	})
	if !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("UpdateNode(missing) = %v, want an error wrapping ErrNotFound", err)
	}
	if called {
		t.Error("UpdateNode(missing) called fn")
	}
}

func testAddNode(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "grow", epoch)
	mustCreate(t, s, c, nodes)

	n := hearth.NewNode(c, c.Group(nodes[1].InstanceGroupId), epoch.Add(time.Minute))
	n.TokenHash = "added"
	n.Launch = []byte("added-launch")
	if err := s.AddNode(t.Context(), n); err != nil {
		t.Fatalf("AddNode: %v", err)
	}
	got, err := s.Nodes(t.Context(), c.Id)
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	checkNodes(t, got, append(nodes, n)) // oldest first: the new node last
}

func testAddNodeMissingCluster(t *testing.T, s hearth.Store) {
	c, _ := newCluster(t, "never stored", epoch)
	g := c.InstanceGroups[1]
	n := hearth.NewNode(c, &g, epoch)
	err := s.AddNode(t.Context(), n)
	if err == nil {
		t.Fatal("AddNode to a missing cluster succeeded")
	}
	if !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("AddNode to a missing cluster = %v, want an error wrapping ErrNotFound", err)
	}
	if _, err := s.Node(t.Context(), n.Id); !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("Node after failed AddNode = %v, want ErrNotFound", err)
	}
}

func testConcurrentUpdateCluster(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "contended", epoch)
	mustCreate(t, s, c, nodes)

	// Each writer appends its own tags; a read-modify-write that is not one
	// transaction loses some of them.
	const writers, rounds = 8, 5
	contend(t, writers, rounds, func(w, r int) error {
		_, err := s.UpdateCluster(t.Context(), c.Id, func(c *hearth.Cluster) error {
			c.Tags = append(c.Tags, hearth.Tag{Key: fmt.Sprintf("writer-%d-%d", w, r), Value: "x"})
			return nil
		})
		return err
	})

	got, err := s.Cluster(t.Context(), c.Id)
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	if want := len(c.Tags) + writers*rounds; len(got.Tags) != want {
		t.Errorf("got %d tags, want %d", len(got.Tags), want)
	}
	for w := range writers {
		for r := range rounds {
			key := fmt.Sprintf("writer-%d-%d", w, r)
			if !slices.ContainsFunc(got.Tags, func(tag hearth.Tag) bool { return tag.Key == key }) {
				t.Errorf("update %s lost", key)
			}
		}
	}
}

// testSecretsKept: members no API may show (their JSON tag is "-") are
// kept by every read and survive updates that do not touch them.
func testSecretsKept(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "secrets", epoch)
	mustCreate(t, s, c, nodes)
	for _, secret := range []string{c.Spark.JupyterToken, c.Spark.AuthSecret, c.Spark.UIKey, c.Spark.ConnectToken} {
		if doc, _ := json.Marshal(c); bytes.Contains(doc, []byte(secret)) {
			t.Fatalf("the cluster's JSON shows a secret: %s", doc)
		}
	}
	if _, err := s.UpdateCluster(t.Context(), c.Id, func(c *hearth.Cluster) error { c.Name = "renamed"; return nil }); err != nil {
		t.Fatalf("UpdateCluster: %v", err)
	}
	want := *c
	want.Name = "renamed"
	got, err := s.Cluster(t.Context(), c.Id)
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	checkCluster(t, got, &want)
	all, err := s.Clusters(t.Context())
	if err != nil || len(all) != 1 {
		t.Fatalf("Clusters = %d, %v", len(all), err)
	}
	checkCluster(t, all[0], &want)

	// Nodes keep theirs through an update that does not touch them.
	if _, err := s.UpdateNode(t.Context(), nodes[0].Id, func(n *hearth.Node) error { n.StateMessage = "touched"; return nil }); err != nil {
		t.Fatalf("UpdateNode: %v", err)
	}
	wantNode := *nodes[0]
	wantNode.StateMessage = "touched"
	gotNodes, err := s.Nodes(t.Context(), c.Id)
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	checkNodes(t, gotNodes, []*hearth.Node{&wantNode, nodes[1], nodes[2]})
}

// contend runs fn(w, r) for rounds rounds in each of writers goroutines,
// all released at once so that they race, and fails t for every error.
func contend(t *testing.T, writers, rounds int, fn func(w, r int) error) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			<-start
			for r := range rounds {
				if err := fn(w, r); err != nil {
					t.Errorf("writer %d round %d: %v", w, r, err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
}

func testConcurrentUpdateNode(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "contended nodes", epoch)
	mustCreate(t, s, c, nodes)
	target := nodes[1]

	// Heartbeats and plan changes race on one node; each bumps a counter
	// and adds its own daemon, so a lost update shows in both.
	const writers, rounds = 8, 5
	contend(t, writers, rounds, func(w, r int) error {
		_, err := s.UpdateNode(t.Context(), target.Id, func(n *hearth.Node) error {
			n.PlanVersion++
			n.Observed.Daemons = append(n.Observed.Daemons, hearth.DaemonStatus{Name: fmt.Sprintf("writer-%d-%d", w, r)})
			return nil
		})
		return err
	})

	got, err := s.Node(t.Context(), target.Id)
	if err != nil {
		t.Fatalf("Node: %v", err)
	}
	if want := target.PlanVersion + writers*rounds; got.PlanVersion != want {
		t.Errorf("PlanVersion = %d, want %d: updates were lost", got.PlanVersion, want)
	}
	for w := range writers {
		for r := range rounds {
			name := fmt.Sprintf("writer-%d-%d", w, r)
			if !slices.ContainsFunc(got.Observed.Daemons, func(d hearth.DaemonStatus) bool { return d.Name == name }) {
				t.Errorf("update %s lost", name)
			}
		}
	}
	if got.TokenHash != target.TokenHash || !bytes.Equal(got.Launch, target.Launch) {
		t.Errorf("after concurrent updates TokenHash, Launch = %q, %q; want %q, %q", got.TokenHash, got.Launch, target.TokenHash, target.Launch)
	}
}

// testCreateClusterAtomic: a CreateCluster that fails part way stores
// nothing of the cluster, its nodes or its steps, and one that reuses an
// id leaves the stored records as they were.
func testCreateClusterAtomic(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	c, nodes := newCluster(t, "first", epoch)
	mustCreate(t, s, c, nodes)

	// The last node reuses a stored node's id: the failure comes after the
	// cluster and its first nodes were written.
	c2, nodes2 := newCluster(t, "second", epoch.Add(time.Minute))
	nodes2[2].Id = nodes[0].Id
	if err := s.CreateCluster(ctx, c2, nodes2, newSteps(t, c2, 2)); err == nil {
		t.Fatal("CreateCluster with a node id already stored succeeded")
	}
	if _, err := s.Cluster(ctx, c2.Id); !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("Cluster after a failed CreateCluster = %v, want ErrNotFound: the cluster was stored", err)
	}
	for _, n := range nodes2[:2] {
		if _, err := s.Node(ctx, n.Id); !errors.Is(err, hearth.ErrNotFound) {
			t.Errorf("Node %s after a failed CreateCluster = %v, want ErrNotFound", n.Id, err)
		}
	}
	if got, _ := s.Nodes(ctx, c2.Id); len(got) != 0 {
		t.Errorf("Nodes after a failed CreateCluster = %d nodes, want none", len(got))
	}
	if got, _ := s.Steps(ctx, c2.Id); len(got) != 0 {
		t.Errorf("Steps after a failed CreateCluster = %d steps, want none", len(got))
	}
	if cs, err := s.Clusters(ctx); err != nil || len(cs) != 1 {
		t.Errorf("Clusters after a failed CreateCluster = %d clusters, %v; want 1", len(cs), err)
	}

	// A cluster id already stored.
	dup, dupNodes := newCluster(t, "duplicate", epoch.Add(2*time.Minute))
	dup.Id = c.Id
	for _, n := range dupNodes {
		n.ClusterId = c.Id
	}
	if err := s.CreateCluster(ctx, dup, dupNodes, nil); err == nil {
		t.Fatal("CreateCluster with a cluster id already stored succeeded")
	}
	got, err := s.Cluster(ctx, c.Id)
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	checkCluster(t, got, c)
	gotNodes, err := s.Nodes(ctx, c.Id)
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	checkNodes(t, gotNodes, nodes)
}

// odd is text a user may type into a name, an argument or a message:
// quotes, backslashes, control characters, letters beyond ASCII, and a
// NUL, which JSON carries (as \u0000) though some database types refuse it.
const odd = "it's \"quoted\", back\\slashed,\nover lines,\ttabbed, Ünïcödé 日本語 🚀, <html>&amp;, NUL\x00end"

// testDocumentsKeepAnyText: whatever text the user gave comes back as it
// was.
func testDocumentsKeepAnyText(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	c, nodes := newCluster(t, "odd", epoch)
	c.Name = odd
	c.Tags = append(c.Tags, hearth.Tag{Key: "odd", Value: odd})
	c.Status.StateChangeReason.Message = odd
	nodes[0].StateMessage = odd
	steps := newSteps(t, c, 1)
	steps[0].Name = odd
	steps[0].Config.Args = []string{"spark-submit", odd}
	if err := s.CreateCluster(ctx, c, nodes, steps); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	got, err := s.Cluster(ctx, c.Id)
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	checkCluster(t, got, c)
	if got.Name != odd {
		t.Errorf("Name = %q, want %q", got.Name, odd)
	}
	n, err := s.Node(ctx, nodes[0].Id)
	if err != nil {
		t.Fatalf("Node: %v", err)
	}
	checkNode(t, n, nodes[0])
	gotSteps, err := s.Steps(ctx, c.Id)
	if err != nil {
		t.Fatalf("Steps: %v", err)
	}
	checkSteps(t, gotSteps, steps)
	if len(gotSteps) == 1 && (gotSteps[0].Name != odd || !slices.Equal(gotSteps[0].Config.Args, steps[0].Config.Args)) {
		t.Errorf("step Name, Args = %q, %q; want %q, %q", gotSteps[0].Name, gotSteps[0].Config.Args, odd, steps[0].Config.Args)
	}
}
