package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/internal/pgtest"
	"github.com/hearthcluster/hearth/spark"
	"github.com/hearthcluster/hearth/store/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// replicaPair returns two control planes on one real PostgreSQL, with
// their announcements flowing (publish and subscribe) but no reconcile
// loop: a is marked leading, b follows. Their runtimes install at once.
func replicaPair(t *testing.T) (a, b *Server) {
	t.Helper()
	url := pgtest.Shared(t).NewSchema(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	mk := func(name string) *Server {
		st, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		s := New(Config{Store: st, Provisioners: []hearth.Provisioner{inertProvisioner{}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			FindJava:  func(context.Context) (spark.Java, error) { return spark.Java{Path: "/usr/bin/java", Major: 17}, nil },
			ReplicaID: "r-" + name, URL: "http://" + name})
		s.runtimes = newRuntimes(func(context.Context, string, io.Writer) (spark.Distribution, error) {
			return spark.Distribution{Home: "/opt/spark", Version: spark.DefaultVersion}, nil
		}, s.now, func() {})
		wg.Add(2)
		go func() { defer wg.Done(); s.replicas.publish(ctx) }()
		go func() { defer wg.Done(); s.replicas.store.Subscribe(ctx, s.replicas.heard) }()
		return s
	}
	a, b = mk("a"), mk("b")
	a.replicas.leading.Store(true)
	a.replicas.beat(ctx)
	b.replicas.beat(ctx)
	// b hears a once its subscription is live.
	for deadline := time.Now().Add(10 * time.Second); ; {
		woken := b.changes.wait()
		a.changes.notify()
		select {
		case <-woken:
			return a, b
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("b never heard a's announcement")
		}
	}
}

// storedCluster stores a cluster of one node with one step.
func storedCluster(t *testing.T, s *Server) (*hearth.Cluster, *hearth.Node, *hearth.Step) {
	t.Helper()
	c, nodes, err := hearth.NewCluster(hearth.ClusterSpec{Provisioner: "inert", InstanceGroups: []hearth.InstanceGroupConfig{
		{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1}}}, spark.DefaultVersion, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st, err := hearth.NewStep(c, hearth.StepConfig{Name: "s", HadoopJarStep: hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: []string{"true"}}}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.CreateCluster(t.Context(), c, nodes, []*hearth.Step{st}); err != nil {
		t.Fatal(err)
	}
	return c, nodes[0], st
}

// TestFollowerPlans: a follower answers an agent's long poll when the
// leader changes the node's plan, and its plans name every replica.
func TestFollowerPlans(t *testing.T) {
	a, b := replicaPair(t)
	_, n, _ := storedCluster(t, a)
	b.runtimes.get(spark.DefaultVersion, time.Time{}) // located by the time the plan changes
	type answer struct {
		p   hearth.Plan
		err error
	}
	got := make(chan answer, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // the poll itself lasts 25 s
	defer cancel()
	go func() {
		p, err := b.NextPlan(ctx, n, n.PlanVersion)
		got <- answer{p, err}
	}()
	time.Sleep(200 * time.Millisecond) // b is waiting
	if _, err := a.store.UpdateNode(t.Context(), n.Id, func(n *hearth.Node) error { n.PlanVersion++; return nil }); err != nil {
		t.Fatal(err)
	}
	a.changes.notify()
	r := <-got
	if r.err != nil || r.p.Version != n.PlanVersion+1 {
		t.Fatalf("the follower's long poll: version %d, %v; want version %d when the leader changed the plan", r.p.Version, r.err, n.PlanVersion+1)
	}
	if r.p.SparkHome != "/opt/spark" || fmt.Sprint(r.p.Servers) != "[http://a http://b]" {
		t.Errorf("plan: SparkHome %q, Servers %v; want the runtime and both replicas, the leader first", r.p.SparkHome, r.p.Servers)
	}
}

// TestFollowerLogs: a log followed on one replica gets the bytes an agent
// shipped to another.
func TestFollowerLogs(t *testing.T) {
	a, b := replicaPair(t)
	c, n, st := storedCluster(t, a)
	got := make(chan string, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // a read waits 20 s for bytes
	defer cancel()
	go func() {
		r, err := b.ReadStepLog(ctx, c.Id, st.Id, "stdout", 0, true)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(r.Data)
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := a.AppendStepLog(t.Context(), n, hearth.LogChunk{StepId: st.Id, Stream: "stdout", Data: []byte("hello\n")}); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "hello\n" {
		t.Errorf("followed on the other replica: %q, want hello", s)
	}
}

// TestFollowerLocatesRuntime: a follower asked for a plan before it has
// located the cluster's runtime says to retry, then plans.
func TestFollowerLocatesRuntime(t *testing.T) {
	_, b := replicaPair(t)
	_, n, _ := storedCluster(t, b)
	_, err := b.planFor(t.Context(), n)
	if !errors.Is(err, hearth.ErrUnavailable) {
		t.Fatalf("first plan on the follower: %v, want ErrUnavailable (locating the runtime)", err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		p, err := b.planFor(t.Context(), n)
		if err == nil {
			if p.SparkHome != "/opt/spark" {
				t.Errorf("SparkHome %q", p.SparkHome)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the follower still cannot plan: %v", err)
		}
	}
}
