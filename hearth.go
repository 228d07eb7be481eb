// Package hearth holds Hearth's domain: clusters, instance groups, nodes,
// their EMR state machines and the small interfaces (Store, Provisioner) the
// rest of the system is written against. Nothing in this package does I/O.
//
// Member names follow Amazon EMR's API (ClusterId, Status.State, ...) so the
// same values serve the native API, the CLI and the EMR-compatible endpoint.
package hearth

import "time"

// ClusterState is EMR's cluster state; the values and transitions are EMR's
// so SDK waiters work unchanged.
type ClusterState string

const (
	ClusterStarting             ClusterState = "STARTING"
	ClusterBootstrapping        ClusterState = "BOOTSTRAPPING"
	ClusterRunning              ClusterState = "RUNNING"
	ClusterWaiting              ClusterState = "WAITING"
	ClusterTerminating          ClusterState = "TERMINATING"
	ClusterTerminated           ClusterState = "TERMINATED"
	ClusterTerminatedWithErrors ClusterState = "TERMINATED_WITH_ERRORS"
)

// AllClusterStates lists every cluster state in lifecycle order.
var AllClusterStates = []ClusterState{
	ClusterStarting, ClusterBootstrapping, ClusterRunning, ClusterWaiting,
	ClusterTerminating, ClusterTerminated, ClusterTerminatedWithErrors,
}

// LiveClusterStates are the states of a cluster that has not ended: every
// state but the two final ones.
var LiveClusterStates = []ClusterState{
	ClusterStarting, ClusterBootstrapping, ClusterRunning, ClusterWaiting, ClusterTerminating,
}

// Active reports whether the cluster has not yet begun to terminate.
func (s ClusterState) Active() bool {
	switch s {
	case ClusterStarting, ClusterBootstrapping, ClusterRunning, ClusterWaiting:
		return true
	}
	return false
}

// Ended reports whether the state is final.
func (s ClusterState) Ended() bool {
	return s == ClusterTerminated || s == ClusterTerminatedWithErrors
}

// ReasonCode is EMR's ClusterStateChangeReasonCode.
type ReasonCode string

const (
	ReasonUserRequest       ReasonCode = "USER_REQUEST"
	ReasonAllStepsCompleted ReasonCode = "ALL_STEPS_COMPLETED"
	ReasonStepFailure       ReasonCode = "STEP_FAILURE"
	ReasonBootstrapFailure  ReasonCode = "BOOTSTRAP_FAILURE"
	ReasonInstanceFailure   ReasonCode = "INSTANCE_FAILURE"
	ReasonValidationError   ReasonCode = "VALIDATION_ERROR"
	ReasonInternalError     ReasonCode = "INTERNAL_ERROR"
)

// Failure reports whether a cluster ended for this reason ends
// TERMINATED_WITH_ERRORS rather than TERMINATED.
func (c ReasonCode) Failure() bool {
	switch c {
	case ReasonBootstrapFailure, ReasonInstanceFailure, ReasonValidationError, ReasonInternalError, ReasonStepFailure:
		return true
	}
	return false
}

// StateChangeReason says why a cluster is in its state.
type StateChangeReason struct {
	Code    ReasonCode `json:"Code,omitempty"`
	Message string     `json:"Message,omitempty"`
}

// ClusterTimeline records when a cluster was created, became ready and ended.
type ClusterTimeline struct {
	CreationDateTime *time.Time `json:"CreationDateTime,omitempty"`
	ReadyDateTime    *time.Time `json:"ReadyDateTime,omitempty"`
	EndDateTime      *time.Time `json:"EndDateTime,omitempty"`
}

// ClusterStatus is a cluster's state, why it is there, and its timeline.
type ClusterStatus struct {
	State             ClusterState      `json:"State"`
	StateChangeReason StateChangeReason `json:"StateChangeReason"`
	Timeline          ClusterTimeline   `json:"Timeline"`
}

// Tag is an EMR resource tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Application is an application installed on a cluster (EMR's Applications).
type Application struct {
	Name    string `json:"Name"`
	Version string `json:"Version,omitempty"`
}

// Cluster is the desired and observed state of one Spark cluster.
type Cluster struct {
	Id                   string          `json:"Id"`
	Name                 string          `json:"Name"`
	ClusterArn           string          `json:"ClusterArn"`
	Status               ClusterStatus   `json:"Status"`
	ReleaseLabel         string          `json:"ReleaseLabel"`
	Applications         []Application   `json:"Applications"`
	InstanceGroups       []InstanceGroup `json:"InstanceGroups"`
	Tags                 []Tag           `json:"Tags"`
	AutoTerminate        bool            `json:"AutoTerminate"`
	TerminationProtected bool            `json:"TerminationProtected"`
	StepConcurrencyLevel int             `json:"StepConcurrencyLevel"`
	LogUri               string          `json:"LogUri,omitempty"`
	// AutoTerminationPolicy: terminate after this many idle seconds (0: never).
	IdleTimeout         int64             `json:"IdleTimeoutSeconds,omitempty"`
	Configurations      []Configuration   `json:"Configurations,omitempty"`
	BootstrapActions    []BootstrapAction `json:"BootstrapActions,omitempty"`
	MasterPublicDnsName string            `json:"MasterPublicDnsName,omitempty"`
	// NormalizedInstanceHours follows EMR's rounding: each node counts whole
	// hours, scaled by its instance type's normalization factor.
	NormalizedInstanceHours int `json:"NormalizedInstanceHours"`

	// Hearth's own members (EMR's API has no place for them).
	Provisioner  string      `json:"Provisioner"`
	SparkVersion string      `json:"SparkVersion"`
	Spark        SparkAccess `json:"Spark"`
	Notes        []string    `json:"Notes,omitempty"`
	// WarmPool names the warm pool (a release label) a pool cluster waits
	// in; "" for every cluster a user created or adopted.
	WarmPool string `json:"WarmPool,omitempty"`
}

// SparkAccess says where the cluster's Spark master listens once it runs.
type SparkAccess struct {
	// MasterURL is spark://host:port, or spark://h1:p1,h2:p2,h3:p3 for a
	// cluster with three master nodes.
	MasterURL string `json:"MasterURL,omitempty"`
	UIURL     string `json:"UIURL,omitempty"` // the active master's web UI
	// ActiveMaster is the node whose Spark master is ALIVE (the others of a
	// highly available cluster are STANDBY).
	ActiveMaster string `json:"ActiveMaster,omitempty"`
	// ZooKeeperURL is the ZooKeeper ensemble on the master nodes of a
	// highly available cluster (host:port,host:port,host:port).
	ZooKeeperURL string `json:"ZooKeeperURL,omitempty"`
	// HistoryURL is the Spark History Server's UI on the master node.
	HistoryURL string `json:"HistoryURL,omitempty"`
	// ConnectURL is the Spark Connect endpoint (sc://host:port), when the
	// cluster has the SparkConnect application.
	ConnectURL string `json:"ConnectURL,omitempty"`
	// JupyterURL is JupyterLab's address, when the cluster has the
	// JupyterLab application.
	JupyterURL string `json:"JupyterURL,omitempty"`
	// JupyterToken is JupyterLab's token. It is a credential: no API shows
	// it (users reach JupyterLab through the gateway, which adds it); the
	// store keeps it beside the cluster's JSON document.
	JupyterToken string `json:"-"`
	// AuthSecret is the cluster's Spark RPC secret (spark.authenticate),
	// UIKey signs the gateway's requests to its Spark UIs, and ConnectToken
	// is what Spark Connect clients present. Credentials, kept like
	// JupyterToken. A cluster created before Hearth had them has none, and
	// runs as it did.
	AuthSecret   string `json:"-"`
	UIKey        string `json:"-"`
	ConnectToken string `json:"-"`
}

// Group returns the instance group with the given id, or nil.
func (c *Cluster) Group(id string) *InstanceGroup {
	for i := range c.InstanceGroups {
		if c.InstanceGroups[i].Id == id {
			return &c.InstanceGroups[i]
		}
	}
	return nil
}

// ExpectedWorkers is the number of Spark workers the cluster must have
// registered to be ready: one per CORE and TASK node, or one on the master
// node when the cluster has no others (EMR's single-node clusters also run
// executors on the master).
func (c *Cluster) ExpectedWorkers() int {
	if n := c.workerNodes(); n > 0 {
		return n
	}
	return 1
}

// MasterRunsWorker reports whether the master node also runs a Spark worker,
// which it does when the cluster has no CORE or TASK nodes.
func (c *Cluster) MasterRunsWorker() bool { return c.workerNodes() == 0 }

// HAMasters is how many master nodes a highly available cluster has: a
// ZooKeeper ensemble on them elects the active Spark master, and survives
// the loss of any one.
const HAMasters = 3

// HighlyAvailable reports whether c has HAMasters master nodes.
func (c *Cluster) HighlyAvailable() bool {
	for _, g := range c.InstanceGroups {
		if g.InstanceGroupType == RoleMaster {
			return g.RequestedInstanceCount == HAMasters
		}
	}
	return false
}

func (c *Cluster) workerNodes() int {
	n := 0
	for _, g := range c.InstanceGroups {
		if g.InstanceGroupType != RoleMaster {
			n += g.RequestedInstanceCount
		}
	}
	return n
}

// Role is an instance group type: MASTER, CORE or TASK.
type Role string

const (
	RoleMaster Role = "MASTER"
	RoleCore   Role = "CORE"
	RoleTask   Role = "TASK"
)

// InstanceGroupState is EMR's instance group state (the subset Hearth uses).
type InstanceGroupState string

const (
	GroupProvisioning  InstanceGroupState = "PROVISIONING"
	GroupBootstrapping InstanceGroupState = "BOOTSTRAPPING"
	GroupRunning       InstanceGroupState = "RUNNING"
	GroupResizing      InstanceGroupState = "RESIZING"
	GroupTerminating   InstanceGroupState = "TERMINATING"
	GroupTerminated    InstanceGroupState = "TERMINATED"
)

// InstanceGroup is a set of identical nodes with one role.
type InstanceGroup struct {
	Id                string `json:"Id"`
	Name              string `json:"Name"`
	InstanceGroupType Role   `json:"InstanceGroupType"`
	InstanceType      string `json:"InstanceType"`
	Market            string `json:"Market"`
	// BidPrice is the most a SPOT instance may cost per hour, in USD (""
	// means up to the on-demand price).
	BidPrice string `json:"BidPrice,omitempty"`
	// EbsConfiguration is the EBS volumes each instance gets (EC2).
	EbsConfiguration       *EbsConfiguration  `json:"EbsConfiguration,omitempty"`
	RequestedInstanceCount int                `json:"RequestedInstanceCount"`
	RunningInstanceCount   int                `json:"RunningInstanceCount"`
	State                  InstanceGroupState `json:"State"`
	// Spark is what each node of the group gives Spark: for workers the
	// --cores and --memory they register with.
	Spark          NodeResources   `json:"Spark"`
	Configurations []Configuration `json:"Configurations,omitempty"`
}

// EbsConfiguration is EMR's: the EBS volumes each instance of a group gets.
type EbsConfiguration struct {
	EbsBlockDeviceConfigs []EbsBlockDeviceConfig `json:"EbsBlockDeviceConfigs,omitempty"`
	EbsOptimized          *bool                  `json:"EbsOptimized,omitempty"`
}

// EbsBlockDeviceConfig is VolumesPerInstance volumes of one specification.
type EbsBlockDeviceConfig struct {
	VolumeSpecification VolumeSpecification `json:"VolumeSpecification"`
	VolumesPerInstance  int                 `json:"VolumesPerInstance,omitempty"`
}

// VolumeSpecification is one EBS volume.
type VolumeSpecification struct {
	VolumeType string `json:"VolumeType"`
	SizeInGB   int32  `json:"SizeInGB"`
	Iops       int32  `json:"Iops,omitempty"`
	Throughput int32  `json:"Throughput,omitempty"`
}

// NodeResources is what one node offers Spark.
type NodeResources struct {
	Cores    int `json:"Cores"`
	MemoryMB int `json:"MemoryMB"`
}

// NodeState is a node's lifecycle state.
type NodeState string

const (
	NodeProvisioning  NodeState = "PROVISIONING"
	NodeBootstrapping NodeState = "BOOTSTRAPPING"
	NodeRunning       NodeState = "RUNNING"
	NodeTerminated    NodeState = "TERMINATED"
	NodeFailed        NodeState = "FAILED"
)

// Ended reports whether the node is gone for good.
func (s NodeState) Ended() bool { return s == NodeTerminated || s == NodeFailed }

// Node is one machine (or, on the local provisioner, one agent process) of a
// cluster. Its agent runs the Spark master or a worker on it.
type Node struct {
	Id              string       `json:"Id"`
	ClusterId       string       `json:"ClusterId"`
	InstanceGroupId string       `json:"InstanceGroupId"`
	Role            Role         `json:"InstanceGroupType"`
	InstanceType    string       `json:"InstanceType"`
	State           NodeState    `json:"State"`
	StateMessage    string       `json:"StateMessage,omitempty"`
	Timeline        NodeTimeline `json:"Timeline"`
	// RunsWorker is true for CORE/TASK nodes and for the master of a cluster
	// without them.
	RunsWorker bool `json:"RunsWorker"`
	// Host is the address Spark binds to and peers reach the node on.
	Host string `json:"PrivateIpAddress,omitempty"`
	// HostId is the inventory host the node was placed on (ssh
	// provisioner), "" elsewhere.
	HostId string `json:"HostId,omitempty"`
	// Ports are the Spark ports the node's daemons use.
	Ports NodePorts `json:"Ports"`
	// Launch is the provisioner's handle (opaque to everyone else).
	Launch   []byte `json:"-"`
	Launched bool   `json:"Launched"`
	// TokenHash is the SHA-256 of the node's agent credential.
	TokenHash     string     `json:"-"`
	LastHeartbeat *time.Time `json:"LastHeartbeat,omitempty"`
	Observed      Observed   `json:"Observed"`
	// PlanVersion increases whenever the node's desired state changes.
	PlanVersion int64 `json:"PlanVersion"`
	// Stop asks the agent to stop its daemons and exit.
	Stop bool `json:"Stop"`
}

// NodeTimeline records a node's life.
type NodeTimeline struct {
	CreationDateTime *time.Time `json:"CreationDateTime,omitempty"`
	// LaunchDateTime is when its agent was started: the liveness clocks
	// (registration, heartbeats, readiness) count from it.
	LaunchDateTime *time.Time `json:"LaunchDateTime,omitempty"`
	ReadyDateTime  *time.Time `json:"ReadyDateTime,omitempty"`
	EndDateTime    *time.Time `json:"EndDateTime,omitempty"`
}

// NodePorts are the ports of a node's Spark daemons. Zero means "not used".
type NodePorts struct {
	MasterPort   int `json:"MasterPort,omitempty"`
	MasterWebUI  int `json:"MasterWebUIPort,omitempty"`
	WorkerPort   int `json:"WorkerPort,omitempty"`
	WorkerWebUI  int `json:"WorkerWebUIPort,omitempty"`
	HistoryWebUI int `json:"HistoryWebUIPort,omitempty"`
	ConnectPort  int `json:"ConnectPort,omitempty"`
	JupyterPort  int `json:"JupyterPort,omitempty"`
	// A master node of a highly available cluster runs a ZooKeeper
	// server: clients, followers and leader election on these.
	ZooKeeperPort         int `json:"ZooKeeperPort,omitempty"`
	ZooKeeperPeerPort     int `json:"ZooKeeperPeerPort,omitempty"`
	ZooKeeperElectionPort int `json:"ZooKeeperElectionPort,omitempty"`
}

// Observed is what a node's agent last reported.
type Observed struct {
	AgentPID  int            `json:"AgentPid,omitempty"`
	Daemons   []DaemonStatus `json:"Daemons,omitempty"`
	Master    *MasterStatus  `json:"Master,omitempty"`
	Error     string         `json:"Error,omitempty"`
	Converged bool           `json:"Converged"`
	// Bootstrap is how the node's bootstrap actions went; BootstrapFailed
	// says which failed and why (the node then fails the cluster with
	// BOOTSTRAP_FAILURE).
	Bootstrap       []BootstrapResult `json:"Bootstrap,omitempty"`
	BootstrapFailed string            `json:"BootstrapFailed,omitempty"`
	// PlanVersion is the plan version the report describes.
	PlanVersion int64 `json:"PlanVersion"`
}

// DaemonStatus is one supervised Spark process.
type DaemonStatus struct {
	Name     string `json:"Name"` // master | worker
	PID      int    `json:"Pid,omitempty"`
	Running  bool   `json:"Running"`
	Ready    bool   `json:"Ready"` // serving on its port
	Restarts int    `json:"Restarts"`
	LastExit string `json:"LastExit,omitempty"`
	Log      string `json:"Log,omitempty"`
}

// MasterStatus is the Spark master's own view (its /json endpoint).
type MasterStatus struct {
	URL          string        `json:"Url"`
	Status       string        `json:"Status"` // ALIVE, STANDBY, ...
	AliveWorkers int           `json:"AliveWorkers"`
	Workers      []SparkWorker `json:"Workers"`
	ActiveApps   int           `json:"ActiveApps"`
	// AppsWaiting are the active applications that have no executor yet.
	AppsWaiting int `json:"AppsWaiting,omitempty"`
	// Cores and memory of the alive workers, and what executors use.
	Cores        int `json:"Cores,omitempty"`
	CoresUsed    int `json:"CoresUsed,omitempty"`
	MemoryMB     int `json:"MemoryMB,omitempty"`
	MemoryUsedMB int `json:"MemoryUsedMB,omitempty"`
}

// SparkWorker is one worker as the master sees it.
type SparkWorker struct {
	Id       string `json:"Id"`
	Host     string `json:"Host"`
	Port     int    `json:"Port"`
	WebUI    string `json:"WebUIAddress"`
	Cores    int    `json:"Cores"`
	MemoryMB int    `json:"MemoryMB"`
	State    string `json:"State"`
	// CoresUsed and MemoryUsedMB are what executors hold on the worker.
	CoresUsed    int `json:"CoresUsed,omitempty"`
	MemoryUsedMB int `json:"MemoryUsedMB,omitempty"`
}
