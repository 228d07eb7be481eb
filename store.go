package hearth

import (
	"context"
	"time"
)

// Store keeps clusters and nodes. Every method is one transaction: a caller
// killed at any instant leaves the store either before or after the change.
// Lookups of missing records return an error wrapping ErrNotFound. A store
// keeps every member of a record, including those its JSON form leaves out
// (Node.TokenHash, Node.Launch, Cluster.Spark.JupyterToken).
type Store interface {
	// CreateCluster stores a new cluster together with its nodes and its
	// first steps, atomically.
	CreateCluster(ctx context.Context, c *Cluster, nodes []*Node, steps []*Step) error
	// Cluster returns the cluster with the given id.
	Cluster(ctx context.Context, id string) (*Cluster, error)
	// Clusters returns the clusters in any of the given states (all when
	// states is empty), newest first.
	Clusters(ctx context.Context, states ...ClusterState) ([]*Cluster, error)
	// UpdateCluster reads the cluster, applies fn, and writes the result in
	// one transaction. If fn returns an error nothing is written and that
	// error is returned.
	UpdateCluster(ctx context.Context, id string, fn func(*Cluster) error) (*Cluster, error)

	// AddNode stores a new node of an existing cluster.
	AddNode(ctx context.Context, n *Node) error
	// Node returns the node with the given id.
	Node(ctx context.Context, id string) (*Node, error)
	// Nodes returns the nodes of a cluster, oldest first.
	Nodes(ctx context.Context, clusterID string) ([]*Node, error)
	// UpdateNode reads the node, applies fn and writes it back atomically,
	// like UpdateCluster.
	UpdateNode(ctx context.Context, id string, fn func(*Node) error) (*Node, error)

	// AddSteps appends steps to a cluster's queue atomically: check runs on
	// the cluster inside the transaction, then CheckActiveSteps on the
	// cluster's PENDING and RUNNING steps, and if either returns an error no
	// step is stored. Steps get increasing Seq numbers in the order given.
	AddSteps(ctx context.Context, clusterID string, steps []*Step, check func(*Cluster) error) error
	// Step returns one step of a cluster.
	Step(ctx context.Context, clusterID, stepID string) (*Step, error)
	// Steps returns a cluster's steps in the given states (all when none),
	// in queue order (oldest first).
	Steps(ctx context.Context, clusterID string, states ...StepState) ([]*Step, error)
	// UpdateStep reads, applies fn and writes back atomically.
	UpdateStep(ctx context.Context, clusterID, stepID string, fn func(*Step) error) (*Step, error)

	// PutAccessKey stores a new access key.
	PutAccessKey(ctx context.Context, k *AccessKey) error
	// AccessKey returns one access key, with its sealed secret.
	AccessKey(ctx context.Context, id string) (*AccessKey, error)
	// AccessKeys lists access keys, oldest first, without secrets.
	AccessKeys(ctx context.Context) ([]*AccessKey, error)
	// DeleteAccessKey removes an access key; a missing one is ErrNotFound.
	DeleteAccessKey(ctx context.Context, id string) error

	// PutHost stores a new inventory host. A host whose Name, or whose
	// Address and Port, another host already has is ErrConflict.
	PutHost(ctx context.Context, h *Host) error
	// Host returns one inventory host by id.
	Host(ctx context.Context, id string) (*Host, error)
	// Hosts lists the inventory, oldest first.
	Hosts(ctx context.Context) ([]*Host, error)
	// UpdateHost reads, applies fn and writes back atomically.
	UpdateHost(ctx context.Context, id string, fn func(*Host) error) (*Host, error)
	// DeleteHost removes a host; a missing one is ErrNotFound.
	DeleteHost(ctx context.Context, id string) error

	// Close releases the store.
	Close() error
}

// ReplicatedStore is a Store that several control planes (replicas of
// `hearth server`) share. Any replica serves the API, the console and the
// agents; exactly one at a time leads, running the reconcile loops. What a
// replica must see of another's work lives here, not in a process: which
// replicas there are, change announcements, cluster locks, step logs and
// console sessions.
type ReplicatedStore interface {
	Store

	// Lead blocks until this process leads, or ctx ends. The returned
	// channel is closed when leadership is lost (this process's session
	// with the database ended); the caller must stop acting as leader at
	// once. Leadership ends with Close.
	Lead(ctx context.Context) (lost <-chan struct{}, err error)

	// Publish tells every replica that topic changed. Subscribe calls fn
	// with each topic another replica publishes, and with "" when
	// announcements may have been missed (the listening session was
	// lost), until ctx ends.
	Publish(ctx context.Context, topic string) error
	Subscribe(ctx context.Context, fn func(topic string)) error

	// LockCluster takes cluster id's lock, held across replicas until
	// unlock is called.
	LockCluster(ctx context.Context, id string) (unlock func(), err error)

	// PutReplica records a replica's presence (it calls it periodically);
	// Replicas lists those seen within maxAge, the leader first, then
	// oldest first.
	PutReplica(ctx context.Context, r *Replica) error
	Replicas(ctx context.Context, maxAge time.Duration) ([]*Replica, error)

	// CheckShared records the digest of a setting every replica must
	// share (a key, a token) the first time, and is ErrConflict when a
	// later replica's differs.
	CheckShared(ctx context.Context, name, digest string) error

	// AppendStepLog stores data at offset of a step's log stream and
	// returns the stream's size, and whether it grew: bytes it holds
	// already are skipped, and data past the end (a gap) is not stored.
	AppendStepLog(ctx context.Context, clusterID, stepID, stream string, offset int64, data []byte) (size int64, grew bool, err error)
	// ReadStepLog returns up to limit bytes of a stream from offset.
	ReadStepLog(ctx context.Context, clusterID, stepID, stream string, offset, limit int64) ([]byte, error)

	// AddMetrics stores a sample of a node's (or its cluster's) metrics
	// and drops that series' samples taken before keepSince; Metrics
	// returns a cluster's samples, its nodes' and its own, taken after
	// since, oldest first; DeleteMetrics drops them all.
	AddMetrics(ctx context.Context, m *MetricsSample, keepSince time.Time) error
	Metrics(ctx context.Context, clusterID string, since time.Time) ([]*MetricsSample, error)
	DeleteMetrics(ctx context.Context, clusterID string) error

	// PutSession stores a console session (and forgets expired ones);
	// Session returns a live one by key; DeleteSession ends one.
	PutSession(ctx context.Context, s *Session) error
	Session(ctx context.Context, key string) (*Session, error)
	DeleteSession(ctx context.Context, key string) error
	// SetSessionFlash leaves a notice for the session's next page;
	// TakeSessionFlash returns it and clears it.
	SetSessionFlash(ctx context.Context, key, flash string) error
	TakeSessionFlash(ctx context.Context, key string) (string, error)
}

// Replica is one `hearth server` of a replicated control plane.
type Replica struct {
	Id string `json:"Id"`
	// URL is where the replica serves the API, the console and the
	// agents of its own host's nodes; AgentURL, when set, is where agents
	// on other machines reach it (--advertise-url).
	URL      string    `json:"Url"`
	AgentURL string    `json:"AgentUrl,omitempty"`
	Started  time.Time `json:"Started"`
	Seen     time.Time `json:"Seen"`
	Leading  bool      `json:"Leading"`
}

// MetricsSample is one sample an agent reported: a node's figures (Node),
// or its cluster's (Cluster, from the active master's report).
type MetricsSample struct {
	ClusterId string
	NodeId    string // "" for the cluster's own figures
	Node      *NodeMetrics
	Cluster   *ClusterMetrics
}

// Time is when the sample was taken.
func (m *MetricsSample) Time() time.Time {
	if m.Node != nil {
		return m.Node.Time
	}
	if m.Cluster != nil {
		return m.Cluster.Time
	}
	return time.Time{}
}

// Session is a console login. Key is the SHA-256 of its cookie (hex): the
// cookie itself is never stored.
type Session struct {
	Key string
	// Who is "admin" or the access key id; AccessKey is the access key
	// the session was opened with, if any (deleting it ends the session).
	Who, AccessKey string
	CSRF           string
	Expires        time.Time
}
