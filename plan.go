package hearth

// Plan is a node's desired state, as the control plane hands it to the
// node's agent. Version increases with every change; an agent converges on
// the newest version it has seen.
type Plan struct {
	// NodeCredential, in the answer to a registration only, replaces the
	// credential the agent registered with: the one it was launched with
	// (in user data, an environment, a file) is good for one registration.
	NodeCredential string `json:"NodeCredential,omitempty"`
	Version        int64  `json:"Version"`
	ClusterId      string `json:"ClusterId"`
	NodeId         string `json:"NodeId"`
	Role           Role   `json:"Role"`
	// Stop asks the agent to stop every daemon and exit.
	Stop bool `json:"Stop"`
	// MetricsIntervalMs is how often the agent samples the node's resource
	// use (NodeMetrics) for its reports; 0 turns sampling off.
	MetricsIntervalMs int `json:"MetricsIntervalMs,omitempty"`
	// SparkVersion is the Spark release the node runs; SparkHome, when set,
	// is where the control plane knows it is installed on the node's host.
	SparkVersion string `json:"SparkVersion"`
	SparkHome    string `json:"SparkHome,omitempty"`
	// S3AJars, when set, are the Hadoop S3A connector and its AWS SDK on
	// the node's host, put on every driver's and executor's classpath.
	S3AJars []string `json:"S3AJars,omitempty"`
	// CDSArchive, when set, is the class-data archive of SparkHome on the
	// node's host, which daemons started from now on map.
	CDSArchive string `json:"CDSArchive,omitempty"`
	// Runtime, for a node on another machine, is the Spark runtime the
	// agent downloads from the control plane (and installs once per host)
	// instead of SparkHome and S3AJars.
	Runtime *RuntimeBundle `json:"Runtime,omitempty"`
	// Host is the address the node's daemons bind to.
	Host   string      `json:"Host"`
	Master *DaemonPlan `json:"Master,omitempty"`
	Worker *DaemonPlan `json:"Worker,omitempty"`
	// Conf is the node's Spark configuration, rendered into its conf dir
	// before any daemon or step starts.
	Conf NodeConf `json:"Conf"`
	// BootstrapActions run once, in order, before any daemon starts.
	BootstrapActions []BootstrapAction `json:"BootstrapActions,omitempty"`
	// Instance is written to the node's instance.json for scripts.
	Instance InstanceInfo `json:"Instance"`
	// History runs the Spark History Server (master node).
	History *DaemonPlan `json:"History,omitempty"`
	// Connect runs the Spark Connect server (master node, SparkConnect
	// application).
	Connect *DaemonPlan `json:"Connect,omitempty"`
	// Jupyter runs JupyterLab (master node, JupyterLab application).
	Jupyter *DaemonPlan `json:"Jupyter,omitempty"`
	// ZooKeeper runs a server of the ensemble that elects the active Spark
	// master (master nodes of a highly available cluster).
	ZooKeeper *ZooKeeperPlan `json:"ZooKeeper,omitempty"`
	// MasterURL is the cluster's Spark master, which steps submit to.
	MasterURL string `json:"MasterURL,omitempty"`
	// Secrets are the cluster's Spark credentials, written only into files
	// the node's user alone can read; nil for a cluster that has none.
	Secrets *NodeSecrets `json:"Secrets,omitempty"`
	// LogUri is the cluster's log URI: the node copies its logs under
	// <LogUri>/<ClusterId>/node/<NodeId>/.
	LogUri string `json:"LogUri,omitempty"`
	// Steps are the steps this node must run (or stop): those RUNNING or
	// CANCEL_PENDING. Only the master node runs steps.
	Steps []StepRun `json:"Steps,omitempty"`
	// Servers, from a replicated control plane, are the URLs of its live
	// replicas, the leader first: the agent turns to the next when the
	// one it uses cannot be reached. Every answer carries them, whatever
	// its Version.
	Servers []string `json:"Servers,omitempty"`
}

// StepRun is one step as an agent runs it.
type StepRun struct {
	Id     string              `json:"Id"`
	Name   string              `json:"Name"`
	Config HadoopJarStepConfig `json:"Config"`
	// Cancel asks the agent to stop the step; CancelOption is
	// SEND_INTERRUPT (SIGTERM, then SIGKILL after a grace period) or
	// TERMINATE_PROCESS (SIGKILL).
	Cancel       bool   `json:"Cancel,omitempty"`
	CancelOption string `json:"CancelOption,omitempty"`
}

// StepReport is an agent's account of one step.
type StepReport struct {
	Id        string          `json:"Id"`
	Pid       int             `json:"Pid,omitempty"`
	Started   bool            `json:"Started"`
	Done      bool            `json:"Done"`
	Cancelled bool            `json:"Cancelled,omitempty"`
	ExitCode  int             `json:"ExitCode"`
	Failure   *FailureDetails `json:"Failure,omitempty"`
}

// NodeSecrets are what a node's Spark needs to authenticate: the RPC
// secret every daemon, driver and executor of the cluster shares, and the
// key that signs requests to its UIs.
type NodeSecrets struct {
	AuthSecret string `json:"AuthSecret"`
	UIKey      string `json:"UIKey,omitempty"`
	// S3 is the object store the cluster's processes reach s3:// URIs in,
	// the way an EMR instance profile gives an instance S3 access.
	S3 *S3Access `json:"S3,omitempty"`
}

// S3Access is how to reach an S3 store: Hearth's built-in one, another
// S3-compatible store, or Amazon S3 itself (no Endpoint).
type S3Access struct {
	Endpoint        string `json:"Endpoint,omitempty"`
	Region          string `json:"Region"`
	AccessKeyId     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
}

// DaemonPlan is one Spark daemon the node must run.
type DaemonPlan struct {
	Port      int    `json:"Port"`
	WebUIPort int    `json:"WebUIPort"`
	MasterURL string `json:"MasterURL,omitempty"` // workers: the master to join
	Cores     int    `json:"Cores,omitempty"`
	MemoryMB  int    `json:"MemoryMB,omitempty"`
	// ProxyBase is the path the daemon's UI is served under by the gateway.
	ProxyBase string `json:"ProxyBase,omitempty"`
	// Token is the daemon's access token (JupyterLab).
	Token string `json:"Token,omitempty"`
}

// ZooKeeperPlan is one server of a ZooKeeper ensemble: its id (myid) and
// client port, and every server of the ensemble, itself included.
type ZooKeeperPlan struct {
	Id      int               `json:"Id"`
	Port    int               `json:"Port"`
	Servers []ZooKeeperServer `json:"Servers"`
}

// ZooKeeperServer is a member of an ensemble as zoo.cfg names it:
// server.<Id>=<Host>:<PeerPort>:<ElectionPort>.
type ZooKeeperServer struct {
	Id           int    `json:"Id"`
	Host         string `json:"Host"`
	PeerPort     int    `json:"PeerPort"`
	ElectionPort int    `json:"ElectionPort"`
}

// InstanceInfo is what a node's instance.json says, in the spirit of EMR's
// /mnt/var/lib/info/instance.json, so bootstrap scripts can branch on role.
type InstanceInfo struct {
	IsMaster        bool   `json:"isMaster"`
	ClusterId       string `json:"clusterId"`
	JobFlowId       string `json:"jobFlowId"`
	InstanceGroupId string `json:"instanceGroupId"`
	InstanceRole    string `json:"instanceRole"` // Master, Core or Task
	InstanceId      string `json:"instanceId"`
}

// BootstrapResult is how one bootstrap action went on a node.
type BootstrapResult struct {
	Index    int     `json:"Index"`
	Name     string  `json:"Name"`
	Path     string  `json:"Path"`
	ExitCode int     `json:"ExitCode"`
	Seconds  float64 `json:"Seconds"`
	Stdout   string  `json:"Stdout"` // the last 8 KiB
	Stderr   string  `json:"Stderr"` // the last 8 KiB
}

// Report is what an agent tells the control plane about its node, on every
// change and as a heartbeat.
type Report struct {
	Observed
	// Stopped is sent once, last, when the agent has stopped every daemon.
	Stopped bool `json:"Stopped,omitempty"`
	// Steps reports every step the agent runs or has just finished.
	Steps []StepReport `json:"Steps,omitempty"`
	// Metrics is the newest sample of the node's resource use, sent once.
	Metrics *NodeMetrics `json:"Metrics,omitempty"`
}

// Registration is an agent's first call.
type Registration struct {
	NodeId   string `json:"NodeId"`
	Pid      int    `json:"Pid"`
	Hostname string `json:"Hostname"`
	// Ports are ports free on the node's host, chosen by the agent, for the
	// node's Spark daemons when the provisioner placed none (hosts the
	// control plane does not share).
	Ports []int `json:"Ports,omitempty"`
	// Host, for a node whose provisioner did not know its address when it
	// launched it (EC2 assigns it), is the address the agent reaches the
	// control plane from: where its daemons bind and peers reach it.
	Host string `json:"Host,omitempty"`
}

// RuntimeBundle names a packed Spark runtime the control plane serves to
// agents at GET /agent/v1/runtime?sha256=SHA256.
type RuntimeBundle struct {
	Version string `json:"Version"`
	SHA256  string `json:"SHA256"`
	Size    int64  `json:"Size"`
}

// LogChunk is a piece of a step's log stream, shipped by the agent. Offset
// makes shipping idempotent: the control plane appends only bytes past what
// it has, and answers with the size it holds.
type LogChunk struct {
	StepId string `json:"StepId"`
	Stream string `json:"Stream"` // controller | stdout | stderr
	Offset int64  `json:"Offset"`
	Data   []byte `json:"Data"`
}

// Unheld is what of a chunk's data (shipped at offset) a stream of size
// bytes lacks: nil when the stream holds it all already, or when the
// chunk starts past the stream's end (a gap: the agent resends from size).
func Unheld(size, offset int64, data []byte) []byte {
	if offset > size || offset+int64(len(data)) <= size {
		return nil
	}
	return data[size-offset:]
}

// LogStreams are the per-step logs, as EMR names them.
var LogStreams = []string{"controller", "stdout", "stderr"}

// NodeConf is the content of a node's Spark configuration directory, as
// key/value pairs per file. Every process of the node (daemons, steps,
// applications they submit) reads it through SPARK_CONF_DIR.
type NodeConf struct {
	SparkDefaults map[string]string `json:"SparkDefaults,omitempty"` // spark-defaults.conf
	SparkEnv      map[string]string `json:"SparkEnv,omitempty"`      // exported by spark-env.sh
	Log4j2        map[string]string `json:"Log4j2,omitempty"`        // log4j2.properties
	Metrics       map[string]string `json:"Metrics,omitempty"`       // metrics.properties
	HiveSite      map[string]string `json:"HiveSite,omitempty"`      // hive-site.xml
}
