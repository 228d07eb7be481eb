package hearth

import (
	"context"
	"fmt"
)

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

// Fitter is implemented by provisioners that place nodes on a limited set
// of machines. Fit, at create time, refuses a cluster that cannot be
// placed, saying what is missing, and caps each group's Spark sizes to the
// machines its nodes will get; it returns notes for Cluster.Notes.
type Fitter interface {
	Fit(ctx context.Context, c *Cluster) (notes []string, err error)
}

// Releaser is implemented by provisioners that hold resources per cluster
// (EC2 security groups): Release frees them once every node of c is gone.
// It is idempotent; an error is retried on the next pass.
type Releaser interface {
	Release(ctx context.Context, c *Cluster) error
}

// Sweeper is implemented by provisioners whose machines can outlive what
// the store knows (an instance whose launch was never recorded): Sweep
// stops those of ended or unknown clusters. The control plane calls it
// every few minutes.
type Sweeper interface {
	Sweep(ctx context.Context) error
}

// PortsNeeded is how many ports AssignPorts takes.
const PortsNeeded = 10

// AssignPorts gives node n of cluster c the ports its daemons need, out of
// PortsNeeded free ports on its host.
func AssignPorts(c *Cluster, n *Node, ports []int) error {
	if len(ports) < PortsNeeded {
		return fmt.Errorf("node %s: %d free ports given, %d needed", n.Id, len(ports), PortsNeeded)
	}
	n.Ports = NodePorts{}
	if n.Role == RoleMaster {
		n.Ports.MasterPort, n.Ports.MasterWebUI, n.Ports.HistoryWebUI = ports[0], ports[1], ports[4]
		if c.HasApplication("SparkConnect") {
			n.Ports.ConnectPort = ports[5]
		}
		if c.HasApplication("JupyterLab") {
			n.Ports.JupyterPort = ports[6]
		}
		if c.HighlyAvailable() {
			n.Ports.ZooKeeperPort, n.Ports.ZooKeeperPeerPort, n.Ports.ZooKeeperElectionPort = ports[7], ports[8], ports[9]
		}
	}
	if n.RunsWorker {
		n.Ports.WorkerPort, n.Ports.WorkerWebUI = ports[2], ports[3]
	}
	return nil
}
