package control

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearthcluster/hearth"
)

// replication is a server's part in a replicated control plane: every
// replica serves the API, the console and agents; the one that holds the
// store's leadership also runs the reconcile loops (lead). Changes are
// announced to the other replicas, whose waiters (agents' long polls,
// followed logs) wake as if the change were theirs.
type replication struct {
	s       *Server
	store   hearth.ReplicatedStore
	id      string
	started time.Time
	leading atomic.Bool

	mu     sync.Mutex
	dirty  map[string]bool // topics to announce
	signal chan struct{}
}

const (
	// replicaBeat is how often a replica records that it is alive;
	// replicaMaxAge is how long one is listed after its last beat.
	replicaBeat   = 2 * time.Second
	replicaMaxAge = 10 * time.Second

	topicChanges = "changes"
	topicLogs    = "logs"
)

func newReplication(s *Server, store hearth.ReplicatedStore) *replication {
	r := &replication{s: s, store: store, id: s.cfg.ReplicaID, started: time.Now().UTC(),
		dirty: map[string]bool{}, signal: make(chan struct{}, 1)}
	if r.id == "" {
		r.id = "r-" + strings.ToLower(hearth.NewSecret("")[:10])
	}
	s.changes.publish = func() { r.announce(topicChanges) }
	s.logs.publish = func() { r.announce(topicLogs) }
	return r
}

// announce queues topic for the other replicas; bursts coalesce.
func (r *replication) announce(topic string) {
	r.mu.Lock()
	r.dirty[topic] = true
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

func (r *replication) publish(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.signal:
		}
		r.mu.Lock()
		topics := r.dirty
		r.dirty = map[string]bool{}
		r.mu.Unlock()
		for topic := range topics {
			if err := r.store.Publish(ctx, r.id+" "+topic); err != nil && ctx.Err() == nil {
				r.s.log.Warn("announce a change to the other replicas", "err", err)
			}
		}
	}
}

// heard wakes this replica's waiters for another replica's announcement.
func (r *replication) heard(payload string) {
	from, topic, _ := strings.Cut(payload, " ")
	if payload != "" && from == r.id {
		return
	}
	switch topic {
	case topicChanges:
		r.s.changes.wake()
	case topicLogs:
		r.s.logs.wake()
	default: // announcements may have been lost
		r.s.changes.wake()
		r.s.logs.wake()
	}
}

func (r *replication) beat(ctx context.Context) {
	now := time.Now().UTC()
	err := r.store.PutReplica(ctx, &hearth.Replica{Id: r.id, URL: r.s.cfg.URL, AgentURL: r.s.cfg.AgentURL,
		Started: r.started, Seen: now, Leading: r.leading.Load()})
	if err != nil && ctx.Err() == nil {
		r.s.log.Warn("record this replica", "err", err)
	}
}

// run takes part until ctx ends: it announces and hears changes, records
// the replica, and leads whenever the store makes it the leader.
func (r *replication) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(3)
	go func() { defer wg.Done(); r.publish(ctx) }()
	go func() { defer wg.Done(); r.store.Subscribe(ctx, r.heard) }()
	go func() {
		defer wg.Done()
		for {
			r.beat(ctx)
			select {
			case <-ctx.Done():
				return
			case <-time.After(replicaBeat):
			}
		}
	}()
	r.s.log.Info("replica serving; it runs the reconcile loops once it holds the lead (one replica at a time does)", "replica", r.id)
	for {
		lost, err := r.store.Lead(ctx)
		if err != nil {
			return // ctx ended
		}
		r.leading.Store(true)
		r.beat(ctx)
		r.s.log.Info("replica leading: this one runs the reconcile loops", "replica", r.id)
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lost:
			case <-lctx.Done():
			}
			cancel()
		}()
		r.s.lead(lctx)
		cancel()
		r.leading.Store(false)
		if ctx.Err() != nil {
			return
		}
		r.beat(ctx)
		r.s.log.Warn("replica lost the lead (its database session ended): following again", "replica", r.id)
	}
}

// ReplicaView is a replica as `hearth replicas` shows it.
type ReplicaView struct {
	hearth.Replica
	// This is the replica that answered.
	This bool `json:"This"`
}

// Replicas lists the replicas of this control plane seen lately, the
// leader first. A server with a store of its own has none.
func (s *Server) Replicas(ctx context.Context) ([]ReplicaView, error) {
	if s.replicas == nil {
		return nil, fmt.Errorf("%w: this server has no replicas: its database is its own (SQLite); replicas share a PostgreSQL database (hearth server --database postgres://...)", hearth.ErrNotFound)
	}
	rs, err := s.replicas.store.Replicas(ctx, replicaMaxAge)
	if err != nil {
		return nil, err
	}
	out := make([]ReplicaView, len(rs))
	for i, r := range rs {
		out[i] = ReplicaView{Replica: *r, This: r.Id == s.replicas.id}
	}
	return out, nil
}

// leading reports whether this server runs the reconcile loops.
func (s *Server) leading() bool { return s.replicas == nil || s.replicas.leading.Load() }

// serverURLs are the control plane's addresses a node's agent may use:
// every live replica's (its own host's URL for a host-bound node, its
// advertised one for a node elsewhere), the leader first; nil without
// replicas.
func (s *Server) serverURLs(ctx context.Context, hostBound bool) []string {
	if s.replicas == nil {
		return nil
	}
	rs, err := s.replicas.store.Replicas(ctx, replicaMaxAge)
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range rs {
		u := r.AgentURL
		if hostBound {
			u = r.URL
		}
		if u != "" && !slices.Contains(out, u) { // a restarted replica is listed twice for a while
			out = append(out, u)
		}
	}
	return out
}

// runtimeHere checks that cluster c's Spark runtime (and, for nodes on
// other machines, its bundle) is ready on this replica before a plan
// names it. The leader has it: nodes launch once it does. A follower that
// has not located or packed it yet starts now, and the agent, told to
// retry, is answered once it is done (a moment, when the replicas share a
// runtime cache).
func (s *Server) runtimeHere(c *hearth.Cluster, hostBound bool) error {
	st := s.runtimes.get(c.SparkVersion, time.Time{})
	if st.Err != nil {
		return fmt.Errorf("%w: Spark %s on this replica: %v", hearth.ErrUnavailable, c.SparkVersion, st.Err)
	}
	if !st.Ready {
		return fmt.Errorf("%w: this replica is still locating Spark %s; retry", hearth.ErrUnavailable, c.SparkVersion)
	}
	if hostBound {
		return nil
	}
	if _, ok, err := s.bundles.get(st.Dist, time.Time{}); !ok {
		if err != nil {
			return fmt.Errorf("%w: Spark %s's bundle on this replica: %v", hearth.ErrUnavailable, c.SparkVersion, err)
		}
		return fmt.Errorf("%w: this replica is still packing Spark %s; retry", hearth.ErrUnavailable, c.SparkVersion)
	}
	return nil
}
