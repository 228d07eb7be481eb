package control

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
	"golang.org/x/sync/errgroup"
)

// maxReplacements bounds how many failed workers a cluster replaces before
// it gives up and fails: a worker that dies every time is not transient.
const maxReplacements = 5

// Run reconciles every live cluster until ctx is cancelled, on a timer and
// whenever something changes. Clusters are reconciled concurrently, each by
// at most one goroutine at a time. A replica of a replicated control plane
// reconciles only while it leads, and serves (in other goroutines) either
// way.
func (s *Server) Run(ctx context.Context) error {
	s.runtimes.setContext(ctx)
	s.cds.mu.Lock()
	s.cds.ctx = ctx // builds end with the server, which waits for them
	s.cds.mu.Unlock()
	defer s.cds.builds.Wait()
	if s.replicas != nil {
		s.replicas.run(ctx)
		return nil
	}
	s.lead(ctx)
	return nil
}

// lead runs the reconcile loops until ctx ends.
func (s *Server) lead(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	wg.Add(1)
	go func() { defer wg.Done(); s.sweep(ctx) }()
	for {
		wake := s.changes.wait()
		clusters, err := s.store.Clusters(ctx,
			hearth.LiveClusterStates...)
		if err != nil && ctx.Err() == nil {
			s.log.Error("list clusters", "err", err)
		}
		if err == nil {
			s.tendPool(ctx, clusters)
		}
		for _, c := range clusters {
			if !s.claim(c.Id) {
				continue
			}
			wg.Add(1)
			go func(id string) {
				defer wg.Done()
				for again := true; again; again = s.release(id) {
					start := time.Now()
					err := s.reconcile(ctx, id)
					s.instruments.reconcile.Observe(time.Since(start).Seconds())
					if err != nil && ctx.Err() == nil {
						s.log.Error("reconcile", "cluster", id, "err", err)
					}
				}
			}(c.Id)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
			// Coalesce bursts of agent reports into one pass.
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// sweep asks each provisioner that can lose track of machines to stop
// those of ended clusters, every SweepInterval, until ctx ends.
func (s *Server) sweep(ctx context.Context) {
	for {
		for _, p := range s.prov {
			if sw, ok := p.(hearth.Sweeper); ok {
				if err := sw.Sweep(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("sweep for leftover machines", "provisioner", p.Name(), "err", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.cfg.SweepInterval):
		}
	}
}

// claim marks cluster id as being reconciled. If it already is, it marks
// it dirty instead, so the running pass goes round once more: a change that
// arrives mid-pass is never left for the next tick.
func (s *Server) claim(id string) bool {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	if _, busy := s.busy[id]; busy {
		s.busy[id] = true
		return false
	}
	s.busy[id] = false
	return true
}

// release ends a pass; it returns true, keeping the claim, if the cluster
// became dirty meanwhile and needs another pass.
func (s *Server) release(id string) bool {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	if s.busy[id] {
		s.busy[id] = false
		return true
	}
	delete(s.busy, id)
	return false
}

// Reconcile runs one reconcile pass over cluster id (for tests and tools).
func (s *Server) Reconcile(ctx context.Context, id string) error { return s.reconcile(ctx, id) }

func (s *Server) reconcile(ctx context.Context, id string) error {
	unlock, err := s.lockCluster(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	c, err := s.store.Cluster(ctx, id)
	if err != nil {
		return err
	}
	nodes, err := s.store.Nodes(ctx, id)
	if err != nil {
		return err
	}
	if c.Status.State.Ended() {
		return nil
	}
	prov, ok := s.prov[c.Provisioner]
	if !ok {
		return s.fail(ctx, c, hearth.ReasonInternalError, fmt.Sprintf("provisioner %q is not configured on this server", c.Provisioner))
	}
	if c.Status.State == hearth.ClusterTerminating {
		return s.terminate(ctx, c, nodes, prov)
	}

	// Nodes start once the runtime is installed here (and, for nodes on
	// other machines, packed for them to download).
	if _, local := prov.(hearth.HostBound); !s.runtimeReady(ctx, c) || (!local && !s.bundleReady(ctx, c)) {
		return nil // woken again when the install progresses or ends
	}

	// Launch what is not launched: the master first (workers' plans name
	// it), then the others at once, since a launch may wait on a network.
	sort.SliceStable(nodes, func(i, j int) bool {
		return nodes[i].Role == hearth.RoleMaster && nodes[j].Role != hearth.RoleMaster
	})
	var launches errgroup.Group
	for i, n := range nodes {
		if n.State != hearth.NodeProvisioning || n.Launched {
			continue
		}
		if n.Role == hearth.RoleMaster {
			if nodes[i], err = s.launch(ctx, c, n, prov); err != nil {
				return err
			}
			if nodes[i].State == hearth.NodeFailed {
				break // the cluster fails below: start nothing more
			}
			if c, err = s.store.Cluster(ctx, id); err != nil {
				return err
			}
			continue
		}
		launches.Go(func() (err error) {
			nodes[i], err = s.launch(ctx, c, n, prov)
			return err
		})
	}
	if err := launches.Wait(); err != nil {
		return err
	}

	// Health: a node whose agent is gone or silent has failed.
	for i, n := range nodes {
		if n.State.Ended() || !n.Launched {
			continue
		}
		if why := s.unhealthy(ctx, n, prov); why != "" {
			if nodes[i], err = s.setNode(ctx, n.Id, hearth.NodeFailed, why); err != nil {
				return err
			}
		}
	}

	// Failed nodes: the master, or anything before the cluster is ready,
	// fails the cluster; a worker of a ready cluster is replaced.
	replaced := 0
	for _, n := range nodes {
		if n.State != hearth.NodeFailed {
			continue
		}
		if n.Launched {
			s.stopFailed(ctx, n, prov)
		}
		if n.Observed.BootstrapFailed != "" {
			return s.fail(ctx, c, hearth.ReasonBootstrapFailure, n.Observed.BootstrapFailed)
		}
		if n.Role == hearth.RoleMaster && c.HighlyAvailable() {
			fatal, err := s.lostMaster(ctx, c, nodes, n)
			if err != nil {
				return err
			}
			if fatal != "" {
				return s.fail(ctx, c, hearth.ReasonInstanceFailure, fatal)
			}
			continue
		}
		if n.Role == hearth.RoleMaster || c.Status.State == hearth.ClusterStarting || c.Status.State == hearth.ClusterBootstrapping {
			return s.fail(ctx, c, hearth.ReasonInstanceFailure, fmt.Sprintf("Node %s (%s) failed: %s", n.Id, n.Role, firstLine(n.StateMessage)))
		}
		replaced++
	}
	if replaced > maxReplacements {
		return s.fail(ctx, c, hearth.ReasonInstanceFailure, fmt.Sprintf("%d worker nodes failed; giving up replacing them", replaced))
	}
	if st := c.Status.State; st == hearth.ClusterWaiting || st == hearth.ClusterRunning {
		if err := s.shrinkGroups(ctx, c, nodes, prov); err != nil {
			return err
		}
		if err := s.replaceMissing(ctx, c, nodes); err != nil {
			return err
		}
	}

	if err := s.advance(ctx, c, nodes); err != nil {
		return err
	}
	if c, err = s.store.Cluster(ctx, id); err != nil {
		return err
	}
	return s.reconcileSteps(ctx, c)
}

// stopFailed stops what is left of failed node n, in the background: its
// machine may be unreachable (a dead host takes a connect timeout to say
// so), and the pass must not wait for it. Terminate is idempotent and cheap
// once the node's processes are gone; a failure is tried again next pass.
func (s *Server) stopFailed(ctx context.Context, n *hearth.Node, prov hearth.Provisioner) {
	if _, busy := s.stopping.LoadOrStore(n.Id, true); busy {
		return
	}
	go func() {
		defer s.stopping.Delete(n.Id)
		if err := prov.Terminate(ctx, n); err != nil && ctx.Err() == nil {
			s.log.Warn("stop failed node", "node", n.Id, "err", err)
		}
	}()
}

// replaceMissing adds a node to every group that has fewer live nodes than
// it asks for (a failed worker's replacement).
func (s *Server) replaceMissing(ctx context.Context, c *hearth.Cluster, nodes []*hearth.Node) error {
	live := map[string]int{}
	for _, n := range nodes {
		if !n.State.Ended() {
			live[n.InstanceGroupId]++
		}
	}
	for i := range c.InstanceGroups {
		g := &c.InstanceGroups[i]
		if g.InstanceGroupType == hearth.RoleMaster {
			continue // a lost master node fails its cluster, or leaves two of three
		}
		for k := live[g.Id]; k < g.RequestedInstanceCount; k++ {
			n := hearth.NewNode(c, g, s.now())
			if err := s.store.AddNode(ctx, n); err != nil {
				return err
			}
			s.log.Info("replacing failed node", "cluster", c.Id, "group", g.Id, "node", n.Id)
			s.changes.notify()
		}
	}
	return nil
}

// advance moves the cluster along STARTING -> BOOTSTRAPPING -> WAITING as
// its nodes report, and fails it if it is not ready in time.
func (s *Server) advance(ctx context.Context, c *hearth.Cluster, nodes []*hearth.Node) error {
	master := activeMaster(nodes)
	registered, running, live := 0, 0, 0
	for _, n := range nodes {
		if n.State.Ended() {
			continue
		}
		live++
		if n.State != hearth.NodeProvisioning {
			registered++
		}
		if n.State == hearth.NodeRunning {
			running++
		}
	}
	alive := 0
	if master != nil && master.Observed.Master != nil && master.Observed.Master.Status == "ALIVE" {
		alive = master.Observed.Master.AliveWorkers
	}
	now := s.now()
	_, err := s.store.UpdateCluster(ctx, c.Id, func(c *hearth.Cluster) error {
		for i := range c.InstanceGroups {
			g := &c.InstanceGroups[i]
			g.RunningInstanceCount = 0
			for _, n := range nodes {
				if n.InstanceGroupId == g.Id && n.State == hearth.NodeRunning {
					g.RunningInstanceCount++
				}
			}
		}
		switch c.Status.State {
		case hearth.ClusterStarting:
			if registered == live {
				setGroups(c, hearth.GroupBootstrapping)
				return c.Transition(hearth.ClusterBootstrapping, hearth.StateChangeReason{Message: "Starting Spark daemons"}, now)
			}
		case hearth.ClusterBootstrapping:
			if running == live && alive >= c.ExpectedWorkers() {
				setGroups(c, hearth.GroupRunning)
				c.MasterPublicDnsName = master.Host
				s.log.Info("cluster ready", "cluster", c.Id, "workers", alive)
				return c.Transition(hearth.ClusterWaiting, hearth.StateChangeReason{Message: "Cluster ready to run steps."}, now)
			}
			c.Status.StateChangeReason.Message = fmt.Sprintf("Starting Spark daemons: %d of %d nodes running, %d of %d workers registered with the master", running, live, alive, c.ExpectedWorkers())
		}
		return nil
	})
	if err != nil {
		return err
	}
	if st := c.Status.State; st == hearth.ClusterStarting || st == hearth.ClusterBootstrapping {
		// The clock starts when the master is launched: waiting for the
		// runtime to install is not the cluster being slow to start.
		if started := launchTime(master); started != nil && now.Sub(*started) > s.cfg.ReadyTimeout {
			return s.fail(ctx, c, hearth.ReasonInternalError, fmt.Sprintf("cluster not ready after %s: %d of %d nodes running, %d of %d workers registered", s.cfg.ReadyTimeout, running, live, alive, c.ExpectedWorkers()))
		}
	}
	return nil
}

// launchTime is when n was launched, nil if it was not (or n is nil).
func launchTime(n *hearth.Node) *time.Time {
	switch {
	case n == nil || !n.Launched:
		return nil
	case n.Timeline.LaunchDateTime != nil:
		return n.Timeline.LaunchDateTime
	default: // launched by an older server
		return n.Timeline.CreationDateTime
	}
}

func setGroups(c *hearth.Cluster, st hearth.InstanceGroupState) {
	for i := range c.InstanceGroups {
		c.InstanceGroups[i].State = st
	}
}

// launch places node n, mints its credential and starts its agent. A node
// that cannot be placed, or whose agent cannot be started, is FAILED.
func (s *Server) launch(ctx context.Context, c *hearth.Cluster, n *hearth.Node, prov hearth.Provisioner) (*hearth.Node, error) {
	token := hearth.NewSecret("hnt_")
	// Placement reads the inventory (and may take time): outside the store
	// transaction that records it.
	placed := *n
	if err := prov.Place(ctx, c, &placed); err != nil {
		return s.setNode(ctx, n.Id, hearth.NodeFailed, "placement: "+err.Error())
	}
	n, err := s.store.UpdateNode(ctx, n.Id, func(n *hearth.Node) error {
		n.TokenHash = hashToken(token)
		n.Host, n.HostId, n.Ports = placed.Host, placed.HostId, placed.Ports
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n.Role == hearth.RoleMaster && n.Ports.MasterPort > 0 {
		if err := s.setMasterURLs(ctx, c.Id, n); err != nil {
			return nil, err
		}
	}
	// A host-bound node's agent gets every replica's URL, and turns to the
	// next when one is gone. Elsewhere the provisioner names the advertised
	// URL, and the agent's plans tell it about the other replicas.
	server := s.cfg.URL
	if _, local := prov.(hearth.HostBound); local {
		if urls := s.serverURLs(ctx, true); len(urls) > 0 {
			server = strings.Join(urls, ",")
		}
	}
	env := map[string]string{
		"HEARTH_SERVER":      server,
		"HEARTH_NODE_ID":     n.Id,
		"HEARTH_CLUSTER_ID":  n.ClusterId,
		"HEARTH_AGENT_TOKEN": token,
	}
	handle, lerr := prov.Launch(ctx, n, env)
	n, err = s.store.UpdateNode(ctx, n.Id, func(n *hearth.Node) error {
		if lerr != nil {
			n.SetState(hearth.NodeFailed, "launch: "+lerr.Error(), s.now())
			return nil
		}
		now := s.now().UTC()
		n.Launched, n.Launch, n.Timeline.LaunchDateTime = true, handle, &now
		return nil
	})
	if lerr == nil {
		s.log.Info("node launched", "cluster", c.Id, "node", n.Id, "role", n.Role)
	}
	return n, err
}

// unhealthy says why a launched, live node should be considered failed, or "".
func (s *Server) unhealthy(ctx context.Context, n *hearth.Node, prov hearth.Provisioner) string {
	if ok, err := prov.Alive(ctx, n); err == nil && !ok {
		return "agent process exited"
	}
	return liveness(n, s.now(), s.started, s.cfg.RegisterTimeout, s.cfg.HeartbeatTimeout)
}

// liveness judges a launched node by its agent's clock: an agent has
// registerTimeout from its launch to register, then must be heard from
// every heartbeatTimeout. Both count from the launch (never from the node's
// creation: a node may wait long for its runtime before it is launched) and
// from the control plane's own start (a restarted server gives agents time
// to find it again). It returns why the node is dead, or "".
func liveness(n *hearth.Node, now, serverStart time.Time, registerTimeout, heartbeatTimeout time.Duration) string {
	launched := launchTime(n)
	since := serverStart
	if launched != nil && launched.After(since) {
		since = *launched
	}
	if n.State == hearth.NodeProvisioning {
		if d := now.Sub(since); d > registerTimeout {
			return fmt.Sprintf("its agent did not register within %s of its launch", d.Round(time.Second))
		}
		return ""
	}
	last := since
	if n.LastHeartbeat != nil && n.LastHeartbeat.After(last) {
		last = *n.LastHeartbeat
	}
	if d := now.Sub(last); d > heartbeatTimeout {
		return fmt.Sprintf("no heartbeat from its agent for %s", d.Round(time.Second))
	}
	return ""
}

func (s *Server) setNode(ctx context.Context, id string, st hearth.NodeState, msg string) (*hearth.Node, error) {
	return s.store.UpdateNode(ctx, id, func(n *hearth.Node) error {
		n.SetState(st, msg, s.now())
		return nil
	})
}

// fail starts terminating c with a failure reason.
func (s *Server) fail(ctx context.Context, c *hearth.Cluster, code hearth.ReasonCode, msg string) error {
	s.log.Warn("cluster failed", "cluster", c.Id, "code", code, "reason", firstLine(msg))
	_, err := s.store.UpdateCluster(ctx, c.Id, func(c *hearth.Cluster) error {
		return c.Terminate(hearth.StateChangeReason{Code: code, Message: msg}, s.now())
	})
	s.changes.notify()
	return err
}

// terminate stops every node of a TERMINATING cluster and, once all are
// gone, moves the cluster to its final state.
func (s *Server) terminate(ctx context.Context, c *hearth.Cluster, nodes []*hearth.Node, prov hearth.Provisioner) error {
	if err := s.endSteps(ctx, c.Id); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		if n.State == hearth.NodeTerminated || (n.State == hearth.NodeFailed && !n.Launched) {
			continue
		}
		if !n.Stop {
			var err error
			n, err = s.store.UpdateNode(ctx, n.Id, func(n *hearth.Node) error {
				n.Stop = true
				n.PlanVersion++
				return nil
			})
			if err != nil {
				return err
			}
			s.changes.notify() // the agent's long poll sees Stop
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n.Launched {
				if err := prov.Terminate(ctx, n); err != nil {
					errs[i] = err
					return
				}
			}
			if n.State != hearth.NodeFailed {
				_, errs[i] = s.setNode(ctx, n.Id, hearth.NodeTerminated, "Cluster terminated")
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err // retried on the next pass
	}
	if r, ok := prov.(hearth.Releaser); ok {
		if err := r.Release(ctx, c); err != nil {
			return err // retried on the next pass
		}
	}
	_, err := s.store.UpdateCluster(ctx, c.Id, func(c *hearth.Cluster) error {
		setGroups(c, hearth.GroupTerminated)
		for i := range c.InstanceGroups {
			c.InstanceGroups[i].RunningInstanceCount = 0
		}
		return c.FinishTermination(s.now())
	})
	if err == nil {
		var ids []string
		for _, n := range nodes {
			ids = append(ids, n.Id)
		}
		s.history.forget(ctx, c.Id, ids)
		s.log.Info("cluster terminated", "cluster", c.Id, "reason", c.Status.StateChangeReason.Code)
		s.changes.notify()
	}
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
