package hearth

import "context"

// Provisioner starts and stops the machines (or processes) that carry a
// cluster's nodes. Each implementation lives in provision/<name>.
type Provisioner interface {
	// Name is the value of ClusterSpec.Provisioner that selects it.
	Name() string
	// Place fills in n.Host and n.Ports before the node is launched, so every
	// node's plan can name its peers. It is called once per node, in the same
	// transaction that marks the node placed.
	Place(ctx context.Context, c *Cluster, n *Node) error
	// Launch starts the node's agent with the given environment, returning
	// an opaque handle that Terminate and Alive understand. It must not
	// block until the agent registers.
	Launch(ctx context.Context, n *Node, env map[string]string) (handle []byte, err error)
	// Terminate stops everything the node runs; it returns once no process
	// of the node is left. Terminating a node already gone is not an error.
	Terminate(ctx context.Context, n *Node) error
	// Alive reports whether the node's agent still exists.
	Alive(ctx context.Context, n *Node) (bool, error)
}

// HostBound is implemented by provisioners whose nodes share one host; the
// control plane then fits the cluster's Spark resources to that host.
type HostBound interface {
	Host() (HostCapacity, error)
}
