// Command resilience measures how fast a Hearth cluster recovers from
// losing a Spark master, a worker JVM and a worker node, each against the
// same recovery done by hand with no Hearth (see floor.go), measured in the
// same run and alternated:
//
//   - failover: kill -9 the active Spark master of a cluster with three
//     master nodes, until another master is ALIVE with the worker. Spark's
//     documentation puts a ZooKeeper failover at 1–2 minutes.
//   - worker restart: kill -9 the worker JVM, until a new worker is ALIVE
//     in the active master.
//   - node replacement: kill a worker node's agent and JVMs at once, until
//     the worker of the node that replaces it is ALIVE.
//
// The floor of both worker figures is a worker started by hand the instant
// the old one dies.
//
//	go run ./bench/resilience [-runs 5] [-hearth bin/hearth] [-out bench/results/resilience.json]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/bench/internal/benchutil"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/internal/proc"
)

type config struct {
	runs      int
	hearthBin string
	out       string
	sparkHome string
	keep      bool
}

type summary struct {
	Failover           benchutil.Dist `json:"failover_s"`
	FailoverFloor      benchutil.Dist `json:"failover_by_hand_s"`
	FailoverRatio      float64        `json:"failover_ratio"`
	WorkerRestart      benchutil.Dist `json:"worker_restart_s"`
	NodeReplacement    benchutil.Dist `json:"node_replacement_s"`
	WorkerFloor        benchutil.Dist `json:"worker_by_hand_s"`
	WorkerRestartRatio float64        `json:"worker_restart_ratio"`
	NodeRatio          float64        `json:"node_replacement_ratio"`
}

type result struct {
	benchutil.Header
	Failover        []float64          `json:"failover_s"`
	FailoverFloor   []float64          `json:"failover_by_hand_s"`
	WorkerRestart   []float64          `json:"worker_restart_s"`
	NodeReplacement []float64          `json:"node_replacement_s"`
	WorkerFloor     []float64          `json:"worker_by_hand_s"`
	Summary         summary            `json:"summary"`
	Warnings        benchutil.Warnings `json:"warnings,omitempty"`
}

func main() {
	var c config
	flag.IntVar(&c.runs, "runs", 5, "timed runs of each measurement (at most 5: a cluster replaces 5 nodes)")
	flag.StringVar(&c.hearthBin, "hearth", "bin/hearth", "the hearth binary to measure")
	flag.StringVar(&c.out, "out", "bench/results/resilience.json", "JSON result file")
	flag.StringVar(&c.sparkHome, "spark-home", os.Getenv("SPARK_HOME"), "Spark distribution (default $SPARK_HOME, else the pip-installed pyspark)")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (logs) even on success")
	flag.Parse()
	os.Exit(bench(c))
}

func bench(c config) (code int) {
	const name = "resilience"
	c.runs = min(max(c.runs, 1), 5)
	res := &result{Header: benchutil.Header{Benchmark: name, Started: time.Now().UTC()}}
	var err error
	if res.Binary, res.Host, err = benchutil.Prepare(c.hearthBin, c.sparkHome, res.Warnings.Add); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		return 2
	}
	root, err := benchutil.TempRoot("hearth-bench-resilience-")
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		return 1
	}
	ctx, stop := benchutil.SignalContext(name)
	defer stop()
	fail := func(what string, err error) int { return benchutil.Fail(ctx, name, what, err) }

	h := &benchutil.Hearth{Bin: res.HearthBinary, Home: filepath.Join(root, "home"), SparkHome: res.Host.SparkHome}
	floor, err := newByHand(filepath.Join(root, "by-hand"), res.Host.SparkHome)
	if err != nil {
		return fail("prepare the by-hand cluster", err)
	}
	defer benchutil.Teardown(name, root, c.keep, &code, h.Cleanup, floor.stop)
	if err := h.Start(ctx); err != nil {
		return fail("start hearth server", err)
	}
	fmt.Fprintln(os.Stderr, "resilience: starting the by-hand ensemble, masters and worker")
	if err := floor.start(ctx); err != nil {
		return fail("start the by-hand cluster", err)
	}
	fmt.Fprintln(os.Stderr, "resilience: creating a Hearth cluster with 3 master nodes and 1 worker")
	id, err := h.CreateCluster(ctx, "--name", "resilience", "--instance-groups",
		"InstanceGroupType=MASTER,InstanceCount=3,InstanceType=local.small",
		"InstanceGroupType=CORE,InstanceCount=1,InstanceType=local.small")
	if err != nil {
		return fail("create the cluster", err)
	}
	hc := &hearthCluster{h: h, id: id}

	for i := range c.runs {
		f, err := floor.failover(ctx)
		if err != nil {
			return fail("by-hand failover", err)
		}
		x, err := hc.failover(ctx)
		if err != nil {
			return fail("Hearth failover", err)
		}
		res.FailoverFloor, res.Failover = append(res.FailoverFloor, f), append(res.Failover, x)
		fmt.Fprintf(os.Stderr, "failover run %d: by hand %.1fs, Hearth %.1fs\n", i+1, f, x)
	}
	for i := range c.runs {
		for _, node := range []bool{false, true} {
			f, err := floor.restartWorker(ctx)
			if err != nil {
				return fail("by-hand worker restart", err)
			}
			res.WorkerFloor = append(res.WorkerFloor, f)
			x, err := hc.loseWorker(ctx, node)
			if err != nil {
				return fail("Hearth worker recovery", err)
			}
			if node {
				res.NodeReplacement = append(res.NodeReplacement, x)
			} else {
				res.WorkerRestart = append(res.WorkerRestart, x)
			}
			fmt.Fprintf(os.Stderr, "worker run %d (node %v): by hand %.1fs, Hearth %.1fs\n", i+1, node, f, x)
		}
	}
	if err := h.Terminate(ctx, id); err != nil {
		return fail("terminate the cluster", err)
	}

	s := &res.Summary
	s.Failover, s.FailoverFloor = benchutil.DistOf(res.Failover), benchutil.DistOf(res.FailoverFloor)
	s.WorkerRestart, s.NodeReplacement, s.WorkerFloor = benchutil.DistOf(res.WorkerRestart), benchutil.DistOf(res.NodeReplacement), benchutil.DistOf(res.WorkerFloor)
	s.FailoverRatio = benchutil.Ratio(s.Failover.Median, s.FailoverFloor.Median)
	s.WorkerRestartRatio = benchutil.Ratio(s.WorkerRestart.Median, s.WorkerFloor.Median)
	s.NodeRatio = benchutil.Ratio(s.NodeReplacement.Median, s.WorkerFloor.Median)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tHearth median\tby hand median\tratio")
	fmt.Fprintf(tw, "master failover (kill -> new ALIVE master with the worker)\t%.1fs\t%.1fs\t%.2f\n", s.Failover.Median, s.FailoverFloor.Median, s.FailoverRatio)
	fmt.Fprintf(tw, "worker JVM restart (kill -> new worker ALIVE)\t%.1fs\t%.1fs\t%.2f\n", s.WorkerRestart.Median, s.WorkerFloor.Median, s.WorkerRestartRatio)
	fmt.Fprintf(tw, "worker node replacement (kill -> new node's worker ALIVE)\t%.1fs\t%.1fs\t%.2f\n", s.NodeReplacement.Median, s.WorkerFloor.Median, s.NodeRatio)
	tw.Flush()
	fmt.Println("Spark's documentation: a ZooKeeper failover takes 1-2 minutes.")
	return benchutil.Save(name, c.out, res, res.Warnings)
}

// hearthCluster is the Hearth side: one cluster with three master nodes
// and one CORE node, read through describe-cluster every 100 ms.
type hearthCluster struct {
	h  *benchutil.Hearth
	id string
}

func (c *hearthCluster) await(ctx context.Context, timeout time.Duration, what string, ok func(v *control.ClusterView) bool) (*control.ClusterView, error) {
	deadline := time.Now().Add(timeout)
	for {
		v, err := c.h.API.DescribeCluster(ctx, c.id)
		if err == nil && ok(v) {
			return v, nil
		}
		if err == nil && v.Cluster.Status.State.Ended() {
			return nil, fmt.Errorf("cluster %s %s: %s", c.id, v.Cluster.Status.State, v.Cluster.Status.StateChangeReason.Message)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("Hearth: no %s after %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func node(v *control.ClusterView, id string) *hearth.Node {
	for _, n := range v.Nodes {
		if n.Id == id {
			return n
		}
	}
	return nil
}

// ready is a cluster with one ALIVE master (its worker registered) and two
// STANDBY.
func ready(v *control.ClusterView) bool {
	alive, standby := 0, 0
	for _, n := range v.Nodes {
		if m := n.Observed.Master; n.Role == hearth.RoleMaster && m != nil {
			switch {
			case m.Status == "ALIVE" && m.AliveWorkers == 1:
				alive++
			case m.Status == "STANDBY":
				standby++
			}
		}
	}
	return alive == 1 && standby == 2
}

func daemonPID(n *hearth.Node, name string) int {
	for _, d := range n.Observed.Daemons {
		if d.Name == name && d.Running {
			return d.PID
		}
	}
	return 0
}

// failover kills the active master's JVM and times until another master
// node's Spark master is ALIVE with the worker; then waits (untimed) for
// the killed one to be restarted and stand by.
func (c *hearthCluster) failover(ctx context.Context) (float64, error) {
	v, err := c.await(ctx, 2*time.Minute, "cluster with one ALIVE and two STANDBY masters", ready)
	if err != nil {
		return 0, err
	}
	old := node(v, v.Cluster.Spark.ActiveMaster)
	pid := daemonPID(old, "master")
	if pid == 0 {
		return 0, fmt.Errorf("active master node %s runs no master JVM", old.Id)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t0 := time.Now()
	if _, err := c.await(ctx, 3*time.Minute, "new ALIVE master", func(v *control.ClusterView) bool {
		n := node(v, v.Cluster.Spark.ActiveMaster)
		return n != nil && n.Id != old.Id && n.Observed.Master != nil && n.Observed.Master.Status == "ALIVE" && n.Observed.Master.AliveWorkers == 1
	}); err != nil {
		return 0, err
	}
	took := time.Since(t0).Seconds()
	_, err = c.await(ctx, 2*time.Minute, "killed master standing by again", ready)
	return took, err
}

// loseWorker kills the CORE node's worker JVM (or, if wholeNode, its agent
// and every process it started) and times until the active master has a
// new worker ALIVE.
func (c *hearthCluster) loseWorker(ctx context.Context, wholeNode bool) (float64, error) {
	v, err := c.await(ctx, 2*time.Minute, "cluster ready", ready)
	if err != nil {
		return 0, err
	}
	before := map[string]bool{}
	var core *hearth.Node
	for _, n := range v.Nodes {
		if m := n.Observed.Master; m != nil && m.Status == "ALIVE" {
			for _, w := range m.Workers {
				before[w.Id] = true
			}
		}
		if n.Role == hearth.RoleCore && n.State == hearth.NodeRunning {
			core = n
		}
	}
	if core == nil {
		return 0, fmt.Errorf("no running CORE node")
	}
	if wholeNode {
		proc.KillSession(core.Observed.AgentPID)
	} else if pid := daemonPID(core, "worker"); pid > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	} else {
		return 0, fmt.Errorf("CORE node %s runs no worker JVM", core.Id)
	}
	t0 := time.Now()
	if _, err := c.await(ctx, 3*time.Minute, "new worker", func(v *control.ClusterView) bool {
		n := node(v, v.Cluster.Spark.ActiveMaster)
		if n == nil || n.Observed.Master == nil || n.Observed.Master.Status != "ALIVE" {
			return false
		}
		for _, w := range n.Observed.Master.Workers {
			if w.State == "ALIVE" && !before[w.Id] {
				return true
			}
		}
		return false
	}); err != nil {
		return 0, err
	}
	return time.Since(t0).Seconds(), nil
}
