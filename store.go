package hearth

import "context"

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
