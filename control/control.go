package control

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/objstore"
	"github.com/hearthcluster/hearth/spark"
)

// Config assembles a control plane.
type Config struct {
	Store        hearth.Store
	Provisioners []hearth.Provisioner
	Locator      *spark.Locator
	// URL is the address agents dial back to, e.g. http://127.0.0.1:8440.
	URL    string
	Logger *slog.Logger
	// FindJava checks the host's Java (default spark.FindJava); replaced in
	// tests to simulate a host without Java.
	FindJava func(context.Context) (spark.Java, error)
	// HeartbeatTimeout marks a silent node failed (default 30s).
	HeartbeatTimeout time.Duration
	// RegisterTimeout marks failed a launched node whose agent has not
	// registered in time (default 60s from its launch).
	RegisterTimeout time.Duration
	// ReadyTimeout fails a cluster that is not ready in time, counted from
	// its master's launch (default 10m).
	ReadyTimeout time.Duration
	// SweepInterval is how often provisioners that can lose track of
	// machines look for leftovers (default 5m; see hearth.Sweeper).
	SweepInterval time.Duration
	// Interval is the reconcile period (default 1s); changes also wake it.
	Interval time.Duration
	// MetricsInterval is how often agents sample their nodes
	// (DefaultMetricsInterval when 0; negative turns sampling off).
	MetricsInterval time.Duration
	// LogDir holds step logs: LogDir/<cluster>/steps/<step>/<stream>.
	LogDir string
	// MasterKey (32 bytes) seals access key secrets in the store.
	MasterKey []byte
	// S3 is the object store clusters reach s3:// URIs in (the built-in
	// store, or one given to the server); nil means none.
	S3 *hearth.S3Access
	// DefaultProvisioner runs clusters that name none ("" = local).
	DefaultProvisioner string
	// BundleDir keeps Spark runtimes packed for nodes on other machines.
	BundleDir string
	// ProbeHost connects to a host being added to the inventory, pins its
	// SSH host key (accepted by fingerprint, or listed in a known_hosts
	// file) and reads its capacity; nil when no ssh provisioner is set up.
	ProbeHost func(ctx context.Context, h *hearth.Host, acceptFingerprint, knownHostsFile string) error
	// CDSDir holds the class-data archives of host-bound nodes' daemons;
	// "" turns class-data sharing off.
	CDSDir string
	// CDSReadOnly uses the archives in CDSDir but builds none: a control
	// plane that lives for one `hearth run` would only abort the build.
	CDSReadOnly bool
	// WarmPool keeps idle single-node clusters ready for creates of their
	// shape to adopt (none when empty).
	WarmPool []PoolSpec
	// ReplicaID names this server among the replicas of a replicated
	// store (hearth.ReplicatedStore); AgentURL is where agents on other
	// machines reach it (--advertise-url), if anywhere.
	ReplicaID, AgentURL string
}

// ProvisionerTag, as a cluster tag, chooses the provisioner of a cluster
// created through the EMR API, which has no member for it.
const ProvisionerTag = "hearth:provisioner"

// Server is the control plane.
type Server struct {
	cfg     Config
	store   hearth.Store
	prov    map[string]hearth.Provisioner
	log     *slog.Logger
	started time.Time
	now     func() time.Time

	changes broadcaster
	logs    broadcaster // a step log grew

	stepLogs stepLogs
	// replicas is the store when replicas share it, else nil.
	replicas *replication

	busyMu sync.Mutex
	busy   map[string]bool // cluster id -> dirty, while a pass runs

	// locks serialise a cluster's reconcile pass with the recording of its
	// step outcomes, so no step is dispatched between a failure and the
	// cancellations its ActionOnFailure implies.
	locksMu sync.Mutex
	locks   map[string]*sync.Mutex

	runtimes *runtimes
	// objects reads and writes URIs: s3:// in the clusters' store.
	objects objstore.Store
	cds     *cdsArchives
	bundles *bundles
	// stopping holds the failed nodes being stopped in the background.
	stopping sync.Map

	history     history
	instruments *instruments
	pool        *pool
}

// New returns a control plane for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.FindJava == nil {
		cfg.FindJava = spark.FindJava
	}
	if cfg.HeartbeatTimeout == 0 {
		cfg.HeartbeatTimeout = 30 * time.Second
	}
	if cfg.RegisterTimeout == 0 {
		cfg.RegisterTimeout = 60 * time.Second
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 10 * time.Minute
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = 5 * time.Minute
	}
	s := &Server{
		cfg: cfg, store: cfg.Store, log: cfg.Logger, prov: map[string]hearth.Provisioner{},
		started: time.Now(), now: time.Now, busy: map[string]bool{}, locks: map[string]*sync.Mutex{},
	}
	s.changes.init()
	s.logs.init()
	s.stepLogs = logFiles{dir: cfg.LogDir}
	if rs, ok := cfg.Store.(hearth.ReplicatedStore); ok {
		s.replicas = newReplication(s, rs)
		s.stepLogs = logTable{store: rs}
		s.history.shared = rs
		s.history.keep = metricsHistory * max(s.metricsInterval(), time.Second)
	}
	s.instruments = newInstruments(s)
	install := func(context.Context, string, io.Writer) (spark.Distribution, error) {
		return spark.Distribution{}, errors.New("no Spark runtime locator configured")
	}
	if cfg.Locator != nil {
		install = cfg.Locator.Install
	}
	s.runtimes = newRuntimes(install, s.now, s.changes.notify)
	s.objects = objstore.ForAccess(cfg.S3)
	s.bundles = &bundles{dir: cfg.BundleDir, notify: s.changes.notify, byVers: map[string]*packing{}}
	s.pool = newPool(cfg.WarmPool)
	s.cds = &cdsArchives{dir: cfg.CDSDir, readOnly: cfg.CDSReadOnly, findJava: cfg.FindJava, log: cfg.Logger, ctx: context.Background(),
		paths: map[string]string{}, tried: map[string]time.Time{}, following: func() bool { return !s.leading() }}
	for _, p := range cfg.Provisioners {
		s.prov[p.Name()] = p
	}
	return s
}

// S3Access is how clusters, and users, reach the object store.
func (s *Server) S3Access() (*hearth.S3Access, error) {
	if s.cfg.S3 == nil {
		return nil, fmt.Errorf("%w: this server has no object store (it was started with --s3-listen none)", hearth.ErrNotFound)
	}
	return s.cfg.S3, nil
}

// Store returns the control plane's store.
func (s *Server) Store() hearth.Store { return s.store }

// ClusterView is a cluster with its nodes, as describe-cluster shows it.
type ClusterView struct {
	Cluster *hearth.Cluster `json:"Cluster"`
	Nodes   []*hearth.Node  `json:"Nodes"`
	// SparkDefaults are the effective spark-defaults of each instance
	// group's nodes, by group id.
	SparkDefaults map[string]map[string]string `json:"SparkDefaults"`
	// SubmitHint says how to submit to the cluster from outside Hearth.
	SubmitHint string `json:"SubmitHint,omitempty"`
}

// CreateCluster validates spec and stores the new cluster in STARTING; the
// reconcile loop takes it from there. A spec that cannot run (bad shape,
// unknown release, no Java, more than the host can hold) is rejected with
// an error wrapping hearth.ErrInvalid and nothing is stored.
//
// A spec of the warm pool's shape adopts a ready pool cluster instead.
func (s *Server) CreateCluster(ctx context.Context, spec hearth.ClusterSpec) (*hearth.Cluster, error) {
	return s.createCluster(ctx, spec, "")
}

// createCluster is CreateCluster; a pool cluster names its pool (a release
// label) and is made only if the host can give it its full size.
func (s *Server) createCluster(ctx context.Context, spec hearth.ClusterSpec, pool string) (*hearth.Cluster, error) {
	if spec.ReleaseLabel == "" {
		spec.ReleaseLabel = "spark-" + spark.DefaultVersion
	}
	rel, err := spark.ResolveRelease(spec.ReleaseLabel)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", hearth.ErrInvalid, err) // the message names the field and value
	}
	if spec.Provisioner == "" {
		// EMR API callers pick it with a tag; otherwise the server's default.
		spec.Provisioner = s.cfg.DefaultProvisioner
		for _, t := range spec.Tags {
			if t.Key == ProvisionerTag {
				spec.Provisioner = t.Value
			}
		}
	}
	if spec.Provisioner == "" {
		spec.Provisioner = "local"
	}
	prov, ok := s.prov[spec.Provisioner]
	if !ok {
		return nil, hearth.Invalid("provisioner", spec.Provisioner, fmt.Sprintf("not configured on this server; available: %v", s.provisionerNames()))
	}
	c, nodes, err := hearth.NewCluster(spec, rel.SparkVersion, s.now())
	if err != nil {
		return nil, err
	}
	c.Spark.AuthSecret, c.Spark.UIKey = hearth.NewSecret(""), spark.NewUIKey()
	if c.HasApplication("SparkConnect") {
		c.Spark.ConnectToken = hearth.NewSecret("")
	}
	if _, local := prov.(hearth.HostBound); !local {
		if err := s.stageBootstrapScripts(ctx, c); err != nil {
			return nil, err
		}
	}
	steps, err := s.newSteps(ctx, c, spec.Steps)
	if err != nil {
		return nil, err
	}
	for i, a := range c.BootstrapActions {
		if err := s.checkObject(ctx, fmt.Sprintf("bootstrap-actions[%d].Path", i), a.ScriptBootstrapAction.Path); err != nil {
			return nil, err
		}
	}
	var drain []*hearth.Cluster // pool clusters that make room for c
	if pool == "" {
		adopted, err := s.adopt(ctx, c, steps)
		if !errors.Is(err, errNoWarmCluster) {
			return adopted, err
		}
	}
	if hb, ok := prov.(hearth.HostBound); ok {
		java, err := s.cfg.FindJava(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", hearth.ErrInvalid, err)
		}
		if err := rel.CheckJava(java); err != nil {
			return nil, fmt.Errorf("%w: %v", hearth.ErrInvalid, err)
		}
		host, err := hb.Host()
		if err != nil {
			return nil, fmt.Errorf("read host resources: %w", err)
		}
		// Every node of every cluster on this provisioner shares the host.
		live, err := s.store.Clusters(ctx, hearth.LiveClusterStates...)
		if err != nil {
			return nil, err
		}
		var warm []*hearth.Cluster // the pool's, which yield to a user's cluster
		for _, other := range live {
			if other.Provisioner != c.Provisioner {
				continue
			}
			if other.WarmPool != "" && other.Status.State.Active() && pool == "" {
				warm = append(warm, other)
				continue
			}
			host.CommittedMB += other.HostMemoryMB()
			host.CommittedBy++
		}
		sized := c.HostMemoryMB()
		probe := *c
		probe.InstanceGroups = slices.Clone(c.InstanceGroups)
		notes, err := hearth.FitToHost(c, host)
		if err != nil {
			return nil, err
		}
		if len(warm) > 0 {
			// The pool never shrinks a user's cluster: when it would, its
			// clusters end, and it refills once the host has room again.
			withWarm := host
			for _, w := range warm {
				withWarm.CommittedMB += w.HostMemoryMB()
				withWarm.CommittedBy++
			}
			if _, err := hearth.FitToHost(&probe, withWarm); err != nil || probe.HostMemoryMB() < c.HostMemoryMB() {
				drain = warm
			}
		}
		if pool != "" && c.HostMemoryMB() < sized {
			return nil, fmt.Errorf("%w: the host has no room for a full-size pool cluster", hearth.ErrConflict)
		}
		c.Notes = append(c.Notes, notes...)
	}
	if c.HasApplication("Ganglia") {
		c.Notes = append(c.Notes, hearth.GangliaNote)
	}
	if f, ok := prov.(hearth.Fitter); ok {
		notes, err := f.Fit(ctx, c)
		if err != nil {
			return nil, err
		}
		c.Notes = append(c.Notes, notes...)
	}
	c.WarmPool = pool
	if err := s.store.CreateCluster(ctx, c, nodes, steps); err != nil {
		return nil, err
	}
	s.log.Info("cluster created", "cluster", c.Id, "name", c.Name, "release", c.ReleaseLabel, "nodes", len(nodes), "steps", len(steps))
	if len(drain) > 0 {
		s.drainPool(ctx, drain, c.Id)
	}
	s.changes.notify()
	return c, nil
}

func (s *Server) provisionerNames() []string {
	var out []string
	for n := range s.prov {
		out = append(out, n)
	}
	return out
}

// DescribeCluster returns the cluster and its nodes.
func (s *Server) DescribeCluster(ctx context.Context, id string) (*ClusterView, error) {
	c, err := s.store.Cluster(ctx, id)
	if err != nil {
		return nil, err
	}
	nodes, err := s.store.Nodes(ctx, id)
	if err != nil {
		return nil, err
	}
	c.NormalizedInstanceHours = hearth.NormalizedInstanceHours(nodes, s.now())
	v := &ClusterView{Cluster: c, Nodes: nodes, SparkDefaults: EffectiveSparkDefaults(c)}
	if c.Spark.AuthSecret != "" && c.Status.State.Active() {
		v.SubmitHint = fmt.Sprintf("Spark RPC is authenticated: `hearth spark-client --cluster-id %s` writes the settings spark-submit needs and prints the command", c.Id)
	}
	return v, nil
}

// ListClusters returns the clusters in the given states, newest first,
// leaving out the warm pool's (WarmPool lists those).
func (s *Server) ListClusters(ctx context.Context, states ...hearth.ClusterState) ([]*hearth.Cluster, error) {
	cs, err := s.store.Clusters(ctx, states...)
	if err != nil {
		return nil, err
	}
	cs = slices.DeleteFunc(cs, func(c *hearth.Cluster) bool { return c.WarmPool != "" })
	for _, c := range cs {
		nodes, err := s.store.Nodes(ctx, c.Id)
		if err != nil {
			return nil, err
		}
		c.NormalizedInstanceHours = hearth.NormalizedInstanceHours(nodes, s.now())
	}
	return cs, nil
}

// TerminateClusters asks each cluster to terminate. It is all or nothing
// for validation: an unknown id or a protected cluster rejects the whole
// request before any cluster is touched. Terminating a cluster already
// terminating or ended is a no-op.
func (s *Server) TerminateClusters(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return hearth.Invalid("cluster-ids", "", "give at least one cluster id")
	}
	reason := hearth.StateChangeReason{Code: hearth.ReasonUserRequest, Message: "Terminated by user request"}
	for _, id := range ids {
		c, err := s.store.Cluster(ctx, id)
		if err != nil {
			return err
		}
		if err := c.Terminate(reason, s.now()); err != nil {
			return err
		}
	}
	for _, id := range ids {
		if _, err := s.store.UpdateCluster(ctx, id, func(c *hearth.Cluster) error {
			return c.Terminate(reason, s.now())
		}); err != nil {
			return err
		}
		s.log.Info("cluster terminating", "cluster", id, "reason", reason.Code)
	}
	s.changes.notify()
	return nil
}

// hashToken is how node credentials are stored.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// errNodeCredential is the one answer for an unknown node and a wrong
// credential: telling them apart would let anyone probe for node ids.
var errNodeCredential = fmt.Errorf("%w: unknown node or bad node credential", hearth.ErrUnauthorized)

// AuthenticateNode returns the node whose credential token is, or an error
// wrapping hearth.ErrUnauthorized. Ended nodes are refused.
func (s *Server) AuthenticateNode(ctx context.Context, nodeID, token string) (*hearth.Node, error) {
	n, err := s.store.Node(ctx, nodeID)
	if err != nil {
		if errors.Is(err, hearth.ErrNotFound) {
			// Compare anyway, so an unknown node takes as long to refuse.
			subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(hashToken("")))
			return nil, errNodeCredential
		}
		return nil, err
	}
	if n.TokenHash == "" || subtle.ConstantTimeCompare([]byte(n.TokenHash), []byte(hashToken(token))) != 1 {
		return nil, errNodeCredential
	}
	if n.State.Ended() {
		return nil, fmt.Errorf("%w: node %s is %s", hearth.ErrUnauthorized, n.Id, n.State)
	}
	return n, nil
}

// broadcaster wakes every waiter on each notify. With replicas, notify
// also publishes, and the other replicas wake their waiters.
type broadcaster struct {
	mu      sync.Mutex
	ch      chan struct{}
	publish func() // nil on a server of its own
}

func (b *broadcaster) init() { b.ch = make(chan struct{}) }

func (b *broadcaster) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *broadcaster) notify() {
	b.wake()
	if b.publish != nil {
		b.publish()
	}
}

// wake wakes this process's waiters only.
func (b *broadcaster) wake() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
}

// ModifyCluster applies fn to a cluster that has not ended.
func (s *Server) ModifyCluster(ctx context.Context, id string, fn func(*hearth.Cluster) error) (*hearth.Cluster, error) {
	c, err := s.store.UpdateCluster(ctx, id, func(c *hearth.Cluster) error {
		if c.Status.State.Ended() {
			return fmt.Errorf("%w: cluster %s is %s", hearth.ErrConflict, c.Id, c.Status.State)
		}
		return fn(c)
	})
	if err == nil {
		s.changes.notify()
	}
	return c, err
}

// lockCluster takes cluster id's lock and returns its unlock. With
// replicas, the lock holds across them too.
func (s *Server) lockCluster(ctx context.Context, id string) (func(), error) {
	s.locksMu.Lock()
	m := s.locks[id]
	if m == nil {
		m = &sync.Mutex{}
		s.locks[id] = m
	}
	s.locksMu.Unlock()
	m.Lock()
	if s.replicas == nil {
		return m.Unlock, nil
	}
	unlock, err := s.replicas.store.LockCluster(ctx, id)
	if err != nil {
		m.Unlock()
		return nil, err
	}
	return func() { unlock(); m.Unlock() }, nil
}
