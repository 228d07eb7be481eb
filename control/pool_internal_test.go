package control

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/spark"
)

// sizedHost is the inert provisioner on a host of a given memory.
type sizedHost struct {
	inertProvisioner
	mb int
}

func (h sizedHost) Host() (hearth.HostCapacity, error) {
	return hearth.HostCapacity{CPUs: 8, MemoryMB: h.mb}, nil
}

// poolServer is an inert control plane whose warm pool runs on a host of
// mb MiB.
func poolServer(t *testing.T, mb int, specs ...PoolSpec) *Server {
	t.Helper()
	s, _ := inertServer(t)
	s.prov["inert"] = sizedHost{mb: mb}
	s.pool = newPool(specs)
	s.pool.provisioner = "inert"
	s.runtimes = newRuntimes(func(context.Context, string, io.Writer) (spark.Distribution, error) {
		return spark.Distribution{Home: "/opt/spark", Version: spark.DefaultVersion}, nil
	}, s.now, func() {})
	return s
}

// tend runs the pool's pass as the reconcile loop does.
func tend(t *testing.T, s *Server) {
	t.Helper()
	ctx := context.Background()
	live, err := s.store.Clusters(ctx, hearth.LiveClusterStates...)
	if err != nil {
		t.Fatal(err)
	}
	s.tendPool(ctx, live)
}

func warm(t *testing.T, s *Server) []*hearth.Cluster {
	t.Helper()
	cs, err := s.WarmPool(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(cs, func(c *hearth.Cluster) bool { return !c.Status.State.Active() })
}

// runSpec is what `hearth run` asks for.
func runSpec(name string) hearth.ClusterSpec {
	groups, _ := hearth.InstanceGroupsFromCount(PoolInstanceType, 1)
	return hearth.ClusterSpec{Name: name, Provisioner: "inert", InstanceGroups: groups, AutoTerminate: true,
		Tags:  []hearth.Tag{{Key: "team", Value: "data"}},
		Steps: []hearth.StepConfig{{Name: "pi", HadoopJarStep: hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: []string{"spark-submit", "/bin/sh"}}}}}
}

// TestWarmPoolAdoption: a create of the pool's shape gets the pool's
// cluster, made the caller's; list-clusters never shows a pool cluster;
// the pool refills; a spec with bootstrap actions, or of another shape,
// never adopts.
func TestWarmPoolAdoption(t *testing.T) {
	ctx := context.Background()
	s := poolServer(t, 64<<10, PoolSpec{Size: 1})
	tend(t, s)
	tend(t, s) // a second pass adds nothing: the pool is full
	pool := warm(t, s)
	if len(pool) != 1 || pool[0].WarmPool != "spark-"+spark.DefaultVersion {
		t.Fatalf("warm pool = %v, want one cluster of the default release", pool)
	}
	if listed, _ := s.ListClusters(ctx); len(listed) != 0 {
		t.Fatalf("list-clusters shows the pool: %v", listed)
	}

	// Bootstrap actions never adopt: the pool cluster ran none.
	withBA := runSpec("with bootstrap")
	withBA.Steps = nil
	withBA.BootstrapActions = []hearth.BootstrapAction{{Name: "setup", ScriptBootstrapAction: hearth.ScriptAction{Path: "/bin/true"}}}
	other, err := s.CreateCluster(ctx, withBA)
	if err != nil {
		t.Fatal(err)
	}
	// Nor does another shape.
	bigger := runSpec("bigger")
	bigger.Steps = nil
	bigger.InstanceGroups[0].InstanceType = "local.large"
	third, err := s.CreateCluster(ctx, bigger)
	if err != nil {
		t.Fatal(err)
	}
	if other.Id == pool[0].Id || third.Id == pool[0].Id {
		t.Fatal("a spec with bootstrap actions or of another shape adopted the pool's cluster")
	}

	c, err := s.CreateCluster(ctx, runSpec("my run"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Id != pool[0].Id {
		t.Fatalf("hearth run's spec made %s, want the pool's %s", c.Id, pool[0].Id)
	}
	got, err := s.store.Cluster(ctx, c.Id)
	if err != nil {
		t.Fatal(err)
	}
	if got.WarmPool != "" || got.Name != "my run" || !got.AutoTerminate || len(got.Tags) != 1 || got.Tags[0].Value != "data" {
		t.Fatalf("adopted cluster = %+v, want the caller's name, tags and auto-termination", got)
	}
	if !slices.ContainsFunc(got.Notes, func(n string) bool { return strings.HasPrefix(n, AdoptedNote) }) {
		t.Fatalf("notes %q say nothing of the adoption", got.Notes)
	}
	steps, err := s.store.Steps(ctx, c.Id)
	if err != nil || len(steps) != 1 || steps[0].ClusterId != c.Id || steps[0].Status.State != hearth.StepPending {
		t.Fatalf("adopted cluster's steps = %v, %v; want its one PENDING step", steps, err)
	}
	if listed, _ := s.ListClusters(ctx); len(listed) != 3 {
		t.Fatalf("list-clusters shows %d clusters, want the 3 the caller made", len(listed))
	}
	if len(warm(t, s)) != 0 {
		t.Fatal("the adopted cluster is still in the pool")
	}
	// The pool refills once no step would compete with the new cluster.
	tend(t, s)
	if n := len(warm(t, s)); n != 0 {
		t.Fatalf("the pool refilled while the adopted cluster's step waited to run (%d)", n)
	}
	if _, err := s.store.UpdateStep(ctx, c.Id, steps[0].Id, func(st *hearth.Step) error {
		st.Status.State = hearth.StepCompleted
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tend(t, s)
	if refilled := warm(t, s); len(refilled) != 1 || refilled[0].Id == c.Id {
		t.Fatalf("the pool did not refill: %v", refilled)
	}
}

// TestWarmPoolCapacity: the pool never holds more than the host can give
// its clusters at full size; a user's cluster that the pool would crowd
// out makes it yield; a smaller pool terminates the extras; a failed pool
// cluster holds its pool off instead of looping.
func TestWarmPoolCapacity(t *testing.T) {
	ctx := context.Background()
	probe, _, err := hearth.NewCluster(runSpec("probe"), spark.DefaultVersion, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	per := probe.HostMemoryMB()
	s := poolServer(t, hearth.HostReserveMB+3*per+per/2, PoolSpec{Size: 10})
	for range 12 {
		tend(t, s)
	}
	if n := len(warm(t, s)); n != 3 {
		t.Fatalf("pool of 10 on a host with room for 3 holds %d clusters", n)
	}

	// A user's 1+1 of local.large does not fit beside three pool clusters:
	// the pool makes room, and the user's cluster gets its full size.
	big := hearth.ClusterSpec{Name: "big", Provisioner: "inert", InstanceGroups: []hearth.InstanceGroupConfig{
		{InstanceGroupType: hearth.RoleMaster, InstanceType: PoolInstanceType, InstanceCount: 1},
		{InstanceGroupType: hearth.RoleCore, InstanceType: PoolInstanceType, InstanceCount: 2}}}
	c, err := s.CreateCluster(ctx, big)
	if err != nil {
		t.Fatalf("a user's cluster was refused while the pool held the host: %v", err)
	}
	if len(c.Notes) != 0 {
		t.Fatalf("the user's cluster was shrunk for the pool: %q", c.Notes)
	}
	if n := len(warm(t, s)); n != 0 {
		t.Fatalf("%d pool clusters still active after yielding", n)
	}

	// A smaller pool ends the extras.
	s2 := poolServer(t, 64<<10, PoolSpec{Size: 2})
	tend(t, s2)
	tend(t, s2)
	if n := len(warm(t, s2)); n != 2 {
		t.Fatalf("pool of 2 holds %d", n)
	}
	s2.pool = newPool([]PoolSpec{{Size: 1}})
	s2.pool.provisioner = "inert"
	tend(t, s2)
	if n := len(warm(t, s2)); n != 1 {
		t.Fatalf("after shrinking to 1 the pool holds %d", n)
	}

	// A pool cluster that fails holds the pool off for poolRetry.
	failed := warm(t, s2)[0]
	if err := s2.fail(ctx, failed, hearth.ReasonBootstrapFailure, "no Java"); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.store.UpdateCluster(ctx, failed.Id, func(c *hearth.Cluster) error {
		return c.Transition(hearth.ClusterTerminatedWithErrors, c.Status.StateChangeReason, s2.now())
	}); err != nil {
		t.Fatal(err)
	}
	tend(t, s2)
	tend(t, s2)
	if n := len(warm(t, s2)); n != 0 {
		t.Fatalf("a failed pool cluster was replaced at once (%d in the pool)", n)
	}
}

func TestParsePoolSpec(t *testing.T) {
	for v, want := range map[string]PoolSpec{"2": {Size: 2}, "emr-7.9.0=1": {ReleaseLabel: "emr-7.9.0", Size: 1}, "0": {}} {
		got, err := ParsePoolSpec(v)
		if err != nil || got != want {
			t.Errorf("ParsePoolSpec(%q) = %+v, %v; want %+v", v, got, err, want)
		}
	}
	for _, v := range []string{"-1", "x", "spark-0.1=1", "emr-7.9.0=two"} {
		if _, err := ParsePoolSpec(v); err == nil || !strings.Contains(err.Error(), "warm-pool") {
			t.Errorf("ParsePoolSpec(%q) = %v, want an error naming warm-pool", v, err)
		}
	}
}
