package hearth

// Plan is a node's desired state, as the control plane hands it to the
// node's agent. Version increases with every change; an agent converges on
// the newest version it has seen.
type Plan struct {
	Version   int64  `json:"Version"`
	ClusterId string `json:"ClusterId"`
	NodeId    string `json:"NodeId"`
	Role      Role   `json:"Role"`
	// Stop asks the agent to stop every daemon and exit.
	Stop bool `json:"Stop"`
	// SparkVersion is the Spark release the node runs; SparkHome, when set,
	// is where the control plane knows it is installed on the node's host.
	SparkVersion string `json:"SparkVersion"`
	SparkHome    string `json:"SparkHome,omitempty"`
	// Host is the address the node's daemons bind to.
	Host   string      `json:"Host"`
	Master *DaemonPlan `json:"Master,omitempty"`
	Worker *DaemonPlan `json:"Worker,omitempty"`
}

// DaemonPlan is one Spark daemon the node must run.
type DaemonPlan struct {
	Port      int    `json:"Port"`
	WebUIPort int    `json:"WebUIPort"`
	MasterURL string `json:"MasterURL,omitempty"` // workers: the master to join
	Cores     int    `json:"Cores,omitempty"`
	MemoryMB  int    `json:"MemoryMB,omitempty"`
}

// Report is what an agent tells the control plane about its node, on every
// change and as a heartbeat.
type Report struct {
	Observed
	// Stopped is sent once, last, when the agent has stopped every daemon.
	Stopped bool `json:"Stopped,omitempty"`
}

// Registration is an agent's first call.
type Registration struct {
	NodeId   string `json:"NodeId"`
	Pid      int    `json:"Pid"`
	Hostname string `json:"Hostname"`
}
