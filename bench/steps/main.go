// Command steps measures Hearth's step path on one local 1 master + 2
// worker cluster, created once:
//
//		go run ./bench/steps [-hearth bin/hearth] [-n 20] [-spark-runs 5] [-out bench/results/steps.json]
//
//	 1. Dispatch latency: n trivial steps (command-runner.jar running
//	    `bash -c 'echo started'`), one at a time. For each, the time from just
//	    before the add-steps request to the moment the agent started the
//	    step's process (the "Started process <pid>" line of the step's
//	    controller log, read with `hearth logs --log-type controller`), and to
//	    COMPLETED as seen by polling describe-step every 50ms. The floor is the
//	    same command exec'd directly; the overhead is reported in ms.
//	 2. A trivial PySpark application (spark.range(100).count()) run as a
//	    Type=SPARK step, from add-steps to COMPLETED, against the same
//	    application run directly, from exec to exit, with
//	    $SPARK_HOME/bin/spark-submit --properties-file <the file `hearth
//	    spark-client` writes: the cluster's master and RPC secret>;
//	    interleaved, reported as medians and their ratio. Before each run the
//	    master's /json, read through Hearth's UI gateway, must list no
//	    active application.
//
// See bench/README.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

type config struct {
	hearthBin   string
	out         string
	sparkHome   string
	n           int
	warmup      int
	sparkRuns   int
	sparkWarmup int
	poll        time.Duration
	gap         time.Duration
	via         string
	timeout     time.Duration
	keep        bool
}

// result is the JSON document the benchmark writes.
type result struct {
	benchutil.Header
	ClusterId     string  `json:"cluster_id"`
	MasterURL     string  `json:"master_url"`
	ClusterReadyS float64 `json:"cluster_ready_s"` // create-cluster --wait, start to exit
	// AddStepsVia says how steps were added: through the client package
	// (one HTTP request from this process) or by running the hearth CLI.
	AddStepsVia    string             `json:"add_steps_via"`
	PollIntervalMs float64            `json:"describe_step_poll_interval_ms"`
	Dispatch       *dispatchResult    `json:"dispatch"`
	Spark          *sparkResult       `json:"spark"`
	ServerLog      serverLogFacts     `json:"server_log"`
	Warnings       benchutil.Warnings `json:"warnings,omitempty"`
	Dir            string             `json:"dir,omitempty"`
}

func main() {
	var c config
	flag.StringVar(&c.hearthBin, "hearth", "bin/hearth", "the hearth binary to measure (build it first: go build -o bin/hearth ./cmd/hearth)")
	flag.StringVar(&c.out, "out", "bench/results/steps.json", "JSON result file")
	flag.StringVar(&c.sparkHome, "spark-home", os.Getenv("SPARK_HOME"), "Spark distribution for the server and the direct spark-submit (default $SPARK_HOME, else the pip-installed pyspark)")
	flag.IntVar(&c.n, "n", 20, "timed trivial steps (dispatch latency)")
	flag.IntVar(&c.warmup, "warmup", 1, "untimed trivial steps first")
	flag.IntVar(&c.sparkRuns, "spark-runs", 5, "timed Spark runs of each (direct spark-submit and step, interleaved); 0 skips part 2")
	flag.IntVar(&c.sparkWarmup, "spark-warmup", 1, "untimed Spark pairs first (warm the page cache and the JVMs' class data)")
	flag.DurationVar(&c.poll, "poll", 50*time.Millisecond, "describe-step poll interval")
	flag.DurationVar(&c.gap, "gap", time.Second, "pause a random time in [0, gap) before each trivial step, so that steps land at different phases of the server's 1s reconcile tick and the agents' 2s heartbeat")
	flag.StringVar(&c.via, "add-steps-via", "client", "client (the client package's AddSteps: one HTTP request) or cli (run `hearth add-steps`; includes the CLI's start-up)")
	flag.DurationVar(&c.timeout, "timeout", 3*time.Minute, "give up on a step or run after this long")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (logs) even on success")
	flag.Parse()
	os.Exit(run(c))
}

func run(c config) (code int) {
	const name = "steps"
	if c.n < 1 || c.sparkRuns < 0 || c.warmup < 0 || c.sparkWarmup < 0 {
		fmt.Fprintln(os.Stderr, "steps: -n must be at least 1; -spark-runs, -warmup, -spark-warmup at least 0")
		return 2
	}
	if c.via != "client" && c.via != "cli" {
		fmt.Fprintf(os.Stderr, "steps: -add-steps-via %q: want client or cli\n", c.via)
		return 2
	}
	res := &result{Header: benchutil.Header{Benchmark: name, Started: time.Now().UTC()}, PollIntervalMs: benchutil.Millis(c.poll)}
	warn := res.Warnings.Add
	var err error
	if res.Binary, res.Host, err = benchutil.Prepare(c.hearthBin, c.sparkHome, warn); err != nil {
		fmt.Fprintln(os.Stderr, "steps:", err)
		return 2
	}
	bin := res.HearthBinary
	c.sparkHome = res.Host.SparkHome
	switch c.via {
	case "client":
		res.AddStepsVia = "client package (client.AddSteps: one POST /api/v1/clusters/{id}/steps from this process; step configs built as `hearth add-steps --steps Type=...` builds them)"
	case "cli":
		res.AddStepsVia = "hearth CLI (`hearth add-steps --cluster-id ... --steps ...`, timed from just before the CLI process starts)"
	}

	root, err := benchutil.TempRoot("hearth-bench-steps-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "steps:", err)
		return 1
	}
	ctx, stopSignals := benchutil.SignalContext(name)
	defer stopSignals()

	b := &bench{
		cfg:    c,
		root:   root,
		hearth: &benchutil.Hearth{Bin: bin, Home: filepath.Join(root, "home"), SparkHome: c.sparkHome},
		warn:   warn,
	}

	// Every exit path from here on goes through this.
	defer benchutil.Teardown(name, root, c.keep, &code, b.stopDirect, b.hearth.Cleanup)
	fail := func(what string, err error) int { return benchutil.Fail(ctx, name, what, err) }

	fmt.Fprintf(os.Stderr, "steps: %s, SPARK_HOME=%s, dir %s\n", bin, c.sparkHome, root)
	if err := b.hearth.Start(ctx); err != nil {
		return fail("start hearth server", err)
	}
	fmt.Fprintf(os.Stderr, "steps: hearth server up at %s\n", b.hearth.Endpoint)
	if err := b.createCluster(ctx); err != nil {
		return fail("create-cluster", err)
	}
	res.ClusterId, res.MasterURL, res.ClusterReadyS = b.clusterID, b.masterURL, benchutil.Round3(b.readySeconds)
	fmt.Fprintf(os.Stderr, "steps: cluster %s WAITING after %.1fs; Spark master %s\n", b.clusterID, b.readySeconds, b.masterURL)

	if res.Dispatch, err = b.dispatch(ctx); err != nil {
		return fail("dispatch", err)
	}
	if c.sparkRuns > 0 {
		if res.Spark, err = b.spark(ctx); err != nil {
			return fail("spark", err)
		}
	}
	if err := b.hearth.Terminate(ctx, b.clusterID); err != nil {
		return fail("terminate the cluster", err)
	}
	res.Host.Load1End = benchutil.Load1()
	res.ServerLog = readServerLog(b.hearth.ServerLog())

	printReport(res)
	return benchutil.Save(name, c.out, res, res.Warnings)
}
