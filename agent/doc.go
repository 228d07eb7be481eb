// Package agent is the only part of Hearth that touches a node. It registers
// with the control plane using the node's credential, long-polls the node's
// plan, converges on it (starting the Spark master or worker with the java
// command bin/spark-class would run, in the foreground, supervised with
// restart backoff),
// and reports what it observes as a heartbeat. The agent always dials out,
// so nodes behind NAT work; stopping it stops every process it started.
package agent
