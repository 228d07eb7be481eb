package hearth

import "time"

// NodeMetrics is one sample of a node's resource use, taken by its agent
// every few seconds and shipped with its heartbeats.
type NodeMetrics struct {
	Time time.Time `json:"Time"`
	// Host: the machine the node runs on (shared by every node of a local
	// cluster). CPUPercent is of all its cores.
	HostCPUPercent float64 `json:"HostCpuPercent"`
	HostCores      int     `json:"HostCores"`
	Load1          float64 `json:"Load1"`
	MemUsedMB      int64   `json:"MemUsedMB"`
	MemTotalMB     int64   `json:"MemTotalMB"`
	// Disk is the filesystem of the node's directory.
	DiskUsedMB  int64 `json:"DiskUsedMB"`
	DiskTotalMB int64 `json:"DiskTotalMB"`
	// Network is every interface's traffic, in bytes per second.
	NetRxBytesPerSec float64 `json:"NetRxBytesPerSec"`
	NetTxBytesPerSec float64 `json:"NetTxBytesPerSec"`
	// Node: the agent and every process it started (daemons, their
	// executors, steps). CPUPercent is of one core (200 = two busy cores).
	NodeCPUPercent float64 `json:"NodeCpuPercent"`
	NodeRSSMB      float64 `json:"NodeRssMB"`
	// Daemons are the node's Spark daemons, one by one.
	Daemons []ProcessMetrics `json:"Daemons,omitempty"`
}

// ProcessMetrics is one daemon's share of a NodeMetrics sample.
type ProcessMetrics struct {
	Name       string  `json:"Name"`
	CPUPercent float64 `json:"CpuPercent"` // of one core, with its children
	RSSMB      float64 `json:"RssMB"`      // with its children
	// HeapUsedMB is the JVM's heap in use, from Spark's metrics (0 when
	// the daemon does not publish them).
	HeapUsedMB float64 `json:"HeapUsedMB,omitempty"`
}

// ClusterMetrics are a cluster's EMR-style CloudWatch metrics, derived from
// its active Spark master and its steps.
type ClusterMetrics struct {
	Time time.Time `json:"Time"`
	// IsIdle is true when no application and no step runs.
	IsIdle       bool `json:"IsIdle"`
	AppsRunning  int  `json:"AppsRunning"`
	AppsPending  int  `json:"AppsPending"`
	StepsRunning int  `json:"StepsRunning"`
	AliveWorkers int  `json:"AliveWorkers"`
	CoresTotal   int  `json:"CoresTotal"`
	CoresUsed    int  `json:"CoresUsed"`
	MemoryTotal  int  `json:"MemoryTotalMB"`
	MemoryUsed   int  `json:"MemoryUsedMB"`
	// WorkerCoresUsed is, by node id, the cores executors hold on each
	// node's worker.
	WorkerCoresUsed map[string]int `json:"WorkerCoresUsed,omitempty"`
}
