package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/spark"
)

// The warm pool: idle single-node clusters kept ready on the local
// provisioner, so that `hearth run` and a create-cluster of the same shape
// get a running cluster at once instead of waiting for its JVMs. A pool
// cluster is an ordinary cluster marked with the pool it belongs to;
// listings leave it out until a matching create adopts it, which makes it
// the caller's cluster: its name, tags, steps and termination settings.
// Nothing that decides how its daemons were started may differ (release,
// applications, instance groups, configurations), and a spec with
// bootstrap actions never adopts one: a pool cluster has run none.

// PoolSpec asks for Size warm clusters of one release.
type PoolSpec struct {
	ReleaseLabel string // "" is the default release
	Size         int
}

// ParsePoolSpec reads a --warm-pool value: N (clusters of the default
// release) or LABEL=N.
func ParsePoolSpec(v string) (PoolSpec, error) {
	label, n, found := strings.Cut(v, "=")
	if !found {
		label, n = "", v
	}
	size, err := strconv.Atoi(n)
	if err != nil || size < 0 {
		return PoolSpec{}, hearth.Invalid("warm-pool", v, "give N or RELEASE=N with N >= 0, e.g. --warm-pool 1 or --warm-pool emr-7.9.0=1")
	}
	if label != "" {
		if _, err := spark.ResolveRelease(label); err != nil {
			return PoolSpec{}, hearth.Invalid("warm-pool", v, err.Error())
		}
	}
	return PoolSpec{ReleaseLabel: label, Size: size}, nil
}

// AdoptedNote begins the note of a cluster adopted from the warm pool.
const AdoptedNote = "Adopted from the warm pool"

// PoolInstanceType is the instance type of a pool cluster's single node:
// hearth run's default.
const PoolInstanceType = "local.medium"

// poolRetry is how long a pool waits after a pool cluster could not be
// made, or failed, before it makes another.
const poolRetry = 30 * time.Second

func (p PoolSpec) label() string {
	if p.ReleaseLabel == "" {
		return "spark-" + spark.DefaultVersion
	}
	return p.ReleaseLabel
}

// clusterSpec is what a pool cluster is created from.
func (p PoolSpec) clusterSpec(provisioner string) hearth.ClusterSpec {
	groups, _ := hearth.InstanceGroupsFromCount(PoolInstanceType, 1)
	return hearth.ClusterSpec{Name: "hearth warm pool", ReleaseLabel: p.label(), InstanceGroups: groups, Provisioner: provisioner}
}

// shapeKey is what a cluster's daemons were started from: two clusters of
// one key are interchangeable until their steps run. Worker sizes are left
// out: they follow from the instance types (the host fit may shrink them,
// and adoption keeps the pool cluster's).
func shapeKey(c *hearth.Cluster) string {
	type group struct {
		Role           hearth.Role
		InstanceType   string
		Count          int
		Market         string
		Configurations []hearth.Configuration
	}
	k := struct {
		Provisioner, ReleaseLabel string
		Applications              []hearth.Application
		Groups                    []group
		Configurations            []hearth.Configuration
	}{Provisioner: c.Provisioner, ReleaseLabel: c.ReleaseLabel, Applications: c.Applications, Configurations: c.Configurations}
	for _, g := range c.InstanceGroups {
		k.Groups = append(k.Groups, group{g.InstanceGroupType, g.InstanceType, g.RequestedInstanceCount, g.Market, g.Configurations})
	}
	b, _ := json.Marshal(k)
	return string(b)
}

// pool is the control plane's warm pool state, kept by the reconcile
// loop's goroutine alone.
type pool struct {
	specs []PoolSpec
	// provisioner runs pool clusters: "local", whose nodes live on the
	// control plane's host.
	provisioner string
	failed      map[string]time.Time // release label -> when making one last failed
	alive       map[string]string    // pool cluster id -> release label, as last seen
}

func newPool(specs []PoolSpec) *pool {
	p := &pool{provisioner: "local", failed: map[string]time.Time{}, alive: map[string]string{}}
	for _, sp := range specs {
		// A label given twice: the last size wins.
		p.specs = slices.DeleteFunc(p.specs, func(o PoolSpec) bool { return o.label() == sp.label() })
		p.specs = append(p.specs, sp)
	}
	return p
}

// errNoWarmCluster means no pool cluster could be adopted.
var errNoWarmCluster = errors.New("no warm cluster to adopt")

// adopt gives the caller a ready pool cluster of want's shape, when the
// pool has one: the pool cluster takes want's name, tags, termination
// settings, log URI and steps, and keeps its id, nodes and daemons. It
// returns errNoWarmCluster when none matches or all were taken.
func (s *Server) adopt(ctx context.Context, want *hearth.Cluster, steps []*hearth.Step) (*hearth.Cluster, error) {
	if len(want.BootstrapActions) > 0 || want.Provisioner != s.pool.provisioner {
		return nil, errNoWarmCluster
	}
	key := shapeKey(want)
	warm, err := s.WarmPool(ctx)
	if err != nil {
		return nil, err
	}
	// Oldest first: the store lists newest first, and the oldest is the
	// likeliest to be ready.
	slices.Reverse(warm)
	slices.SortStableFunc(warm, func(a, b *hearth.Cluster) int { return readyFirst(a) - readyFirst(b) })
	for _, pc := range warm {
		if !pc.Status.State.Active() || shapeKey(pc) != key {
			continue
		}
		c, err := s.claimWarm(ctx, pc.Id, key, want, steps)
		if errors.Is(err, errNoWarmCluster) {
			continue // another create took it first
		}
		return c, err
	}
	return nil, errNoWarmCluster
}

// readyFirst orders WAITING pool clusters before those still starting.
func readyFirst(c *hearth.Cluster) int {
	if c.Status.State == hearth.ClusterWaiting {
		return 0
	}
	return 1
}

// claimWarm makes pool cluster id want's, with want's steps, under the
// cluster's lock so no reconcile pass sees it adopted without its steps.
func (s *Server) claimWarm(ctx context.Context, id, key string, want *hearth.Cluster, steps []*hearth.Step) (*hearth.Cluster, error) {
	unlock, err := s.lockCluster(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	now := s.now().UTC()
	c, err := s.store.UpdateCluster(ctx, id, func(c *hearth.Cluster) error {
		if c.WarmPool == "" || !c.Status.State.Active() || shapeKey(c) != key {
			return errNoWarmCluster
		}
		since := *c.Status.Timeline.CreationDateTime
		c.WarmPool = ""
		c.Name, c.Tags = want.Name, want.Tags
		c.AutoTerminate, c.TerminationProtected, c.IdleTimeout = want.AutoTerminate, want.TerminationProtected, want.IdleTimeout
		c.LogUri, c.StepConcurrencyLevel = want.LogUri, want.StepConcurrencyLevel
		c.Status.Timeline.CreationDateTime = &now
		if c.Status.Timeline.ReadyDateTime != nil {
			c.Status.Timeline.ReadyDateTime = &now // idle from now, not from when the pool made it
		}
		c.Notes = append(append(c.Notes, want.Notes...), fmt.Sprintf("%s: its node had been running since %s.", AdoptedNote, since.Format(time.RFC3339)))
		return nil
	})
	if err != nil {
		if errors.Is(err, hearth.ErrNotFound) {
			return nil, errNoWarmCluster
		}
		return nil, err
	}
	if len(steps) > 0 {
		for _, st := range steps {
			st.ClusterId = id
		}
		if err := s.store.AddSteps(ctx, id, steps, func(*hearth.Cluster) error { return nil }); err != nil {
			// The cluster is the caller's but has no steps: end it rather
			// than leave an orphan the caller never heard of.
			s.store.UpdateCluster(ctx, id, func(c *hearth.Cluster) error {
				return c.Terminate(hearth.StateChangeReason{Code: hearth.ReasonInternalError, Message: "Adopting the cluster failed: " + err.Error()}, s.now())
			})
			s.changes.notify()
			return nil, err
		}
	}
	s.log.Info("cluster adopted from the warm pool", "cluster", id, "name", c.Name, "release", c.ReleaseLabel, "steps", len(steps))
	s.changes.notify()
	return c, nil
}

// tendPool keeps each pool at its size: it makes the pool clusters that
// are missing, one per pass, only where the host has room for one at full
// size and only while no step runs or waits on the host; and it
// terminates those beyond the size (a server restarted with a smaller
// pool). live are the active clusters.
func (s *Server) tendPool(ctx context.Context, live []*hearth.Cluster) {
	want := map[string]int{}
	for _, sp := range s.pool.specs {
		want[sp.label()] = sp.Size
	}
	have := map[string]int{}
	seen := map[string]string{}
	for _, c := range slices.Backward(live) { // oldest first: those are kept
		if c.WarmPool == "" || !c.Status.State.Active() {
			continue
		}
		seen[c.Id] = c.WarmPool
		have[c.WarmPool]++
		if have[c.WarmPool] > want[c.WarmPool] {
			s.log.Info("warm pool: terminating a cluster beyond the pool's size", "cluster", c.Id, "release", c.WarmPool, "size", want[c.WarmPool])
			s.store.UpdateCluster(ctx, c.Id, func(c *hearth.Cluster) error {
				return c.Terminate(hearth.StateChangeReason{Code: hearth.ReasonUserRequest, Message: "Warm pool is smaller"}, s.now())
			})
			s.changes.notify()
		}
	}
	// A pool cluster that ended with errors holds its pool off for a
	// while: a release that cannot start is not retried in a loop.
	for id, label := range s.pool.alive {
		if _, ok := seen[id]; ok {
			continue
		}
		if c, err := s.store.Cluster(ctx, id); err == nil && c.WarmPool != "" && c.Status.State == hearth.ClusterTerminatedWithErrors {
			s.log.Warn("warm pool: a pool cluster failed", "cluster", id, "release", label, "reason", c.Status.StateChangeReason.Message, "retry_in", poolRetry)
			s.pool.failed[label] = time.Now()
		}
	}
	s.pool.alive = seen
	var short []PoolSpec
	for _, sp := range s.pool.specs {
		if have[sp.label()] < sp.Size && time.Since(s.pool.failed[sp.label()]) >= poolRetry {
			short = append(short, sp)
		}
	}
	if len(short) == 0 || s.hostBusy(ctx, live) {
		return // refill when no job would compete with it for the host
	}
	for _, sp := range short {
		label := sp.label()
		c, err := s.createCluster(ctx, sp.clusterSpec(s.pool.provisioner), label)
		if err != nil {
			s.pool.failed[label] = time.Now()
			if ctx.Err() == nil {
				s.log.Info("warm pool: cannot add a cluster now", "release", label, "err", err, "retry_in", poolRetry)
			}
			continue
		}
		s.pool.alive[c.Id] = label
		s.log.Info("warm pool: cluster started", "cluster", c.Id, "release", label, "size", sp.Size)
	}
}

// drainPool terminates the pool clusters warm to make room for cluster
// id, a user's.
func (s *Server) drainPool(ctx context.Context, warm []*hearth.Cluster, id string) {
	for _, w := range warm {
		s.log.Info("warm pool: terminating a pool cluster to make room", "cluster", w.Id, "for", id)
		s.store.UpdateCluster(ctx, w.Id, func(c *hearth.Cluster) error {
			if c.WarmPool == "" || !c.Status.State.Active() {
				return nil // adopted meanwhile
			}
			return c.Terminate(hearth.StateChangeReason{Code: hearth.ReasonUserRequest, Message: "Warm pool made room for " + id}, s.now())
		})
	}
	s.changes.notify()
}

// hostBusy reports whether a cluster on the pool's provisioner runs or
// waits to run a step: starting a pool cluster's JVMs then would take CPU
// from that job, on the very host the pool is meant to speed up.
func (s *Server) hostBusy(ctx context.Context, live []*hearth.Cluster) bool {
	for _, c := range live {
		if c.Provisioner != s.pool.provisioner || c.WarmPool != "" || !c.Status.State.Active() {
			continue
		}
		if c.Status.State == hearth.ClusterRunning {
			return true
		}
		if steps, err := s.store.Steps(ctx, c.Id, hearth.StepPending, hearth.StepRunning); err != nil || len(steps) > 0 {
			return true
		}
	}
	return false
}

// WarmPool lists the pool's clusters that have not ended.
func (s *Server) WarmPool(ctx context.Context) ([]*hearth.Cluster, error) {
	cs, err := s.store.Clusters(ctx, hearth.LiveClusterStates...)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(cs, func(c *hearth.Cluster) bool { return c.WarmPool == "" }), nil
}
