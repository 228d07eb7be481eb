// Package storetest is the conformance suite every hearth.Store
// implementation runs: the same tests for SQLite, PostgreSQL and any
// backend to come.
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
		{"AddStepsActiveLimit", testAddStepsActiveLimit},
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
	}
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
	if got.Spark.AuthSecret != want.Spark.AuthSecret || got.Spark.UIKey != want.Spark.UIKey || got.Spark.ConnectToken != want.Spark.ConnectToken {
		t.Errorf("cluster %s: Spark secrets not kept: got %q/%q/%q", want.Id, got.Spark.AuthSecret, got.Spark.UIKey, got.Spark.ConnectToken)
	}
	if got.Spark.JupyterToken != want.Spark.JupyterToken {
		t.Errorf("cluster %s: Spark.JupyterToken = %q, want %q", want.Id, got.Spark.JupyterToken, want.Spark.JupyterToken)
	}
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
	if got.TokenHash != want.TokenHash {
		t.Errorf("node %s: TokenHash = %q, want %q", want.Id, got.TokenHash, want.TokenHash)
	}
	if !bytes.Equal(got.Launch, want.Launch) {
		t.Errorf("node %s: Launch = %q, want %q", want.Id, got.Launch, want.Launch)
	}
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
	var wg sync.WaitGroup
	start := make(chan struct{}) // release all writers at once to contend
	for w := range writers {
		wg.Go(func() {
			<-start
			for r := range rounds {
				_, err := s.UpdateCluster(t.Context(), c.Id, func(c *hearth.Cluster) error {
					c.Tags = append(c.Tags, hearth.Tag{Key: fmt.Sprintf("writer-%d-%d", w, r), Value: "x"})
					return nil
				})
				if err != nil {
					t.Errorf("writer %d round %d: UpdateCluster: %v", w, r, err)
				}
			}
		})
	}
	close(start)
	wg.Wait()

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
	got, err := s.Cluster(t.Context(), c.Id)
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	if got.Spark.JupyterToken != c.Spark.JupyterToken {
		t.Errorf("after an update, Spark.JupyterToken = %q, want %q", got.Spark.JupyterToken, c.Spark.JupyterToken)
	}
	all, err := s.Clusters(t.Context())
	if err != nil || len(all) != 1 {
		t.Fatalf("Clusters = %d, %v", len(all), err)
	}
	if all[0].Spark.JupyterToken != c.Spark.JupyterToken {
		t.Errorf("Clusters: Spark.JupyterToken = %q, want %q", all[0].Spark.JupyterToken, c.Spark.JupyterToken)
	}
}

func newSteps(t *testing.T, c *hearth.Cluster, n int) []*hearth.Step {
	t.Helper()
	var steps []*hearth.Step
	for i := range n {
		st, err := hearth.NewStep(c, hearth.StepConfig{Name: fmt.Sprintf("s%d", i), HadoopJarStep: hearth.HadoopJarStepConfig{Jar: "app.jar"}}, i, epoch)
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, st)
	}
	return steps
}

// testAddStepsActiveLimit: AddSteps refuses, atomically, steps that would
// leave a cluster more than MaxActiveSteps PENDING or RUNNING; ended steps
// do not count.
func testAddStepsActiveLimit(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "steps", epoch)
	mustCreate(t, s, c, nodes)
	ctx := t.Context()
	if err := s.AddSteps(ctx, c.Id, newSteps(t, c, hearth.MaxActiveSteps-1), nil); err != nil {
		t.Fatalf("AddSteps up to the limit: %v", err)
	}
	stored, err := s.Steps(ctx, c.Id)
	if err != nil {
		t.Fatal(err)
	}
	// One RUNNING and one CANCEL_PENDING still count.
	for i, state := range []hearth.StepState{hearth.StepRunning, hearth.StepCancelPending} {
		if _, err := s.UpdateStep(ctx, c.Id, stored[i].Id, func(st *hearth.Step) error { st.SetState(state, "", epoch); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	err = s.AddSteps(ctx, c.Id, newSteps(t, c, 2), nil)
	var ve *hearth.ValidationError
	if !errors.As(err, &ve) || ve.Field != "steps" || !errors.Is(err, hearth.ErrInvalid) {
		t.Fatalf("AddSteps past the limit = %v, want a validation error on steps", err)
	}
	if got, _ := s.Steps(ctx, c.Id); len(got) != hearth.MaxActiveSteps-1 {
		t.Errorf("a refused AddSteps stored steps: %d, want %d", len(got), hearth.MaxActiveSteps-1)
	}
	if err := s.AddSteps(ctx, c.Id, newSteps(t, c, 1), nil); err != nil {
		t.Fatalf("AddSteps of the last one: %v", err)
	}
	// An ended step frees its place.
	if _, err := s.UpdateStep(ctx, c.Id, stored[0].Id, func(st *hearth.Step) error { st.SetState(hearth.StepCompleted, "", epoch); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSteps(ctx, c.Id, newSteps(t, c, 1), nil); err != nil {
		t.Errorf("AddSteps after a step ended: %v", err)
	}
	if err := s.AddSteps(ctx, c.Id, newSteps(t, c, 1), nil); err == nil {
		t.Errorf("AddSteps past the limit again succeeded")
	}
}
