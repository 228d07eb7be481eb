// Command clusterready measures how long Hearth takes to make a local
// 1 master + 2 worker Spark cluster ready, against a floor measured in the
// same run: the same three Spark JVMs started directly, with the same
// environment, and timed the same way.
//
//	go run ./bench/clusterready -runs 5 [-hearth bin/hearth] [-out bench/results/clusterready.json]
//
// Hearth: one `hearth server` for the whole benchmark; per run, `hearth
// create-cluster --instance-type local.medium --instance-count 3`, timed from
// just before the CLI starts until describe-cluster (polled every 100ms)
// shows WAITING; then terminate-clusters and wait cluster-terminated.
//
// Floor: `spark-class ...Master` and two `...Worker`, each in its own process
// group, timed until the master's /json (polled every 100ms, directly: these
// JVMs have no RPC authentication and no UI filter) says ALIVE with 2 alive
// workers. Floor and Hearth runs alternate so that they share the machine's
// noise. Hearth's clock stops at WAITING; its master's /json, which that
// UI serves only to Hearth's gateway, is read through the gateway for the
// "spark rdy" phase. See bench/README.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

type config struct {
	runs, warmup int
	hearthBin    string
	out          string
	sparkHome    string
	strategy     string
	dialPoll     time.Duration
	timeout      time.Duration
	keep         bool
}

// result is the JSON document the benchmark writes.
type result struct {
	benchutil.Header
	FloorStrategy string             `json:"floor_strategy"`
	StrategyWhy   string             `json:"floor_strategy_reason"`
	Warmup        int                `json:"warmup_runs_discarded"`
	Floor         []floorRun         `json:"floor"`
	Hearth        []hearthRun        `json:"hearth"`
	Summary       summary            `json:"summary"`
	Warnings      benchutil.Warnings `json:"warnings,omitempty"`
	Dir           string             `json:"dir,omitempty"`
}

type stat struct {
	Median float64 `json:"median_s"`
	Min    float64 `json:"min_s"`
	Max    float64 `json:"max_s"`
}

type summary struct {
	Floor  stat `json:"floor"`
	Hearth stat `json:"hearth"`
	// Ratio is median(hearth)/median(floor): 1.0 means Hearth adds nothing
	// to what the JVMs themselves take.
	Ratio    float64 `json:"ratio_median"`
	RatioMin float64 `json:"ratio_min"`
	// Overhead is median(hearth) - median(floor), in seconds.
	Overhead float64 `json:"overhead_median_s"`
	// The machine's busy CPU over a run, and the peak summed RSS of the
	// benchmark's processes (Hearth's idle server counts in both).
	FloorCPU  stat    `json:"floor_machine_cpu_s"`
	HearthCPU stat    `json:"hearth_machine_cpu_s"`
	FloorRSS  stat    `json:"floor_peak_rss_mib"`
	HearthRSS stat    `json:"hearth_peak_rss_mib"`
	CPURatio  float64 `json:"cpu_ratio_median"`
	RSSRatio  float64 `json:"peak_rss_ratio_median"`
}

func main() {
	var c config
	flag.IntVar(&c.runs, "runs", 5, "timed runs of each (floor and Hearth, alternating)")
	flag.IntVar(&c.warmup, "warmup", 1, "untimed runs of each first (warm the page cache; detect Hearth's worker start strategy)")
	flag.StringVar(&c.hearthBin, "hearth", "bin/hearth", "the hearth binary to measure (build it first: go build -o bin/hearth ./cmd/hearth)")
	flag.StringVar(&c.out, "out", "bench/results/clusterready.json", "JSON result file")
	flag.StringVar(&c.sparkHome, "spark-home", os.Getenv("SPARK_HOME"), "Spark distribution for both (default $SPARK_HOME, else the pip-installed pyspark)")
	flag.StringVar(&c.strategy, "floor-strategy", "auto", "when the floor starts its workers: after-master-port, simultaneous, or auto (what Hearth does, seen in the warm-up run)")
	flag.DurationVar(&c.dialPoll, "floor-dial-poll", 25*time.Millisecond, "how often the floor tries the master's port (after-master-port)")
	flag.DurationVar(&c.timeout, "timeout", 3*time.Minute, "give up on a run after this long")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (logs) even on success")
	flag.Parse()
	os.Exit(run(c))
}

func run(c config) (code int) {
	if c.runs < 1 {
		fmt.Fprintln(os.Stderr, "clusterready: -runs must be at least 1")
		return 2
	}
	switch c.strategy {
	case "auto", afterMasterPort, simultaneous:
	default:
		fmt.Fprintf(os.Stderr, "clusterready: -floor-strategy %q: want auto, %s or %s\n", c.strategy, afterMasterPort, simultaneous)
		return 2
	}
	res := &result{Header: benchutil.Header{Benchmark: "clusterready", Started: time.Now().UTC()}, Warmup: c.warmup}
	warn := res.Warnings.Add
	var err error
	if res.Binary, res.Host, err = benchutil.Prepare(c.hearthBin, c.sparkHome, warn); err != nil {
		fmt.Fprintln(os.Stderr, "clusterready:", err)
		return 2
	}
	bin := res.HearthBinary
	c.sparkHome = res.Host.SparkHome

	root, err := benchutil.TempRoot("hearth-bench-clusterready-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterready:", err)
		return 1
	}

	ctx, stopSignals := benchutil.SignalContext("clusterready")
	defer stopSignals()

	hb := &hearthBench{Hearth: &benchutil.Hearth{Bin: bin, Home: filepath.Join(root, "home"), SparkHome: c.sparkHome}, timeout: c.timeout}
	fb := &floorBench{sparkHome: c.sparkHome, strategy: c.strategy, dialPoll: c.dialPoll, timeout: c.timeout}

	// Every exit path from here on goes through this.
	defer benchutil.Teardown("clusterready", root, c.keep, &code, fb.stopAll, hb.Cleanup)

	fmt.Fprintf(os.Stderr, "clusterready: %s, SPARK_HOME=%s, dir %s\n", bin, c.sparkHome, root)
	if err := hb.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "clusterready:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "clusterready: hearth server up at %s\n", hb.Endpoint)

	floorN := 0
	doFloor := func() (floorRun, error) {
		floorN++
		return fb.run(ctx, filepath.Join(root, fmt.Sprintf("floor-%d", floorN)))
	}
	fail := func(what string, err error) int { return benchutil.Fail(ctx, "clusterready", what, err) }

	// Warm-up: Hearth first, so that "auto" knows how Hearth starts workers
	// before the first floor run.
	var evidence []hearthRun
	for i := range c.warmup {
		h, err := hb.run(ctx)
		if err != nil {
			return fail(fmt.Sprintf("warm-up hearth run %d", i+1), err)
		}
		evidence = append(evidence, h)
		fmt.Fprintf(os.Stderr, "warm-up %d: hearth %.2fs\n", i+1, h.Seconds)
	}
	switch {
	case c.strategy != "auto":
		res.FloorStrategy, res.StrategyWhy = c.strategy, "chosen with -floor-strategy"
	case len(evidence) > 0:
		res.FloorStrategy, res.StrategyWhy = detectStrategy(evidence)
	default:
		res.FloorStrategy, res.StrategyWhy = afterMasterPort, "-warmup 0: assumed (Hearth's agent waits for the master's port); checked after the runs"
	}
	fb.strategy = res.FloorStrategy
	fmt.Fprintf(os.Stderr, "floor strategy: %s (%s)\n", res.FloorStrategy, res.StrategyWhy)
	for i := range c.warmup {
		f, err := doFloor()
		if err != nil {
			return fail(fmt.Sprintf("warm-up floor run %d", i+1), err)
		}
		fmt.Fprintf(os.Stderr, "warm-up %d: floor %.2fs\n", i+1, f.Seconds)
	}

	for i := range c.runs {
		m := benchutil.StartMeter(root, 100*time.Millisecond)
		f, err := doFloor()
		f.MachineCPU, f.PeakRSSMiB = m.Stop()
		if err != nil {
			return fail(fmt.Sprintf("floor run %d", i+1), err)
		}
		res.Floor = append(res.Floor, f)
		fmt.Fprintf(os.Stderr, "run %d: floor %.2fs (machine CPU %.2fs, %.0f MiB)\n", i+1, f.Seconds, f.MachineCPU, f.PeakRSSMiB)
		m = benchutil.StartMeter(root, 100*time.Millisecond)
		h, err := hb.run(ctx)
		h.MachineCPU, h.PeakRSSMiB = m.Stop()
		if err != nil {
			return fail(fmt.Sprintf("hearth run %d", i+1), err)
		}
		res.Hearth = append(res.Hearth, h)
		fmt.Fprintf(os.Stderr, "run %d: hearth %.2fs (machine CPU %.2fs, %.0f MiB)\n", i+1, h.Seconds, h.MachineCPU, h.PeakRSSMiB)
	}

	// Checks.
	for i, h := range res.Hearth {
		if h.AliveWorkers != 2 {
			warn("hearth run %d: the master reports %d alive workers, not 2", i+1, h.AliveWorkers)
		}
	}
	for i, f := range res.Floor {
		if f.AliveWorkers != 2 {
			warn("floor run %d: %d alive workers, not 2", i+1, f.AliveWorkers)
		}
	}
	if c.strategy == "auto" {
		if s, why := detectStrategy(res.Hearth); s != res.FloorStrategy {
			warn("floor strategy %s, but the timed Hearth runs look like %s (%s): the ratio is not like for like", res.FloorStrategy, s, why)
		}
	}

	res.Summary = summarize(res.Floor, res.Hearth)
	printTable(res)
	return benchutil.Save("clusterready", c.out, res, res.Warnings)
}

// detectStrategy says how Hearth started its workers in runs, from its
// agents' logs: a worker JVM started well after the master JVM, with no
// failed connection to the master, means Hearth waited for the master's
// port.
func detectStrategy(runs []hearthRun) (string, string) {
	var gaps []float64
	failures := 0
	for _, h := range runs {
		if h.MasterStarted == 0 || h.WorkersStarted == 0 {
			return afterMasterPort, "no daemon start times in the agent logs: assumed"
		}
		gaps = append(gaps, h.WorkersStarted-h.MasterStarted)
		failures += h.ConnectFailed
	}
	g := slices.Min(gaps)
	if g >= 0.5 && failures == 0 {
		return afterMasterPort, fmt.Sprintf("Hearth's agents started the workers %.2fs or more after the master, and no worker failed to connect: they wait for the master's port", g)
	}
	return simultaneous, fmt.Sprintf("Hearth's agents started the workers %.2fs after the master; %d failed connection(s) to the master", g, failures)
}

func summarize(floor []floorRun, hr []hearthRun) summary {
	var f, h, fc, hc, fm, hm []float64
	for _, r := range floor {
		f, fc, fm = append(f, r.Seconds), append(fc, r.MachineCPU), append(fm, r.PeakRSSMiB)
	}
	for _, r := range hr {
		h, hc, hm = append(h, r.Seconds), append(hc, r.MachineCPU), append(hm, r.PeakRSSMiB)
	}
	s := summary{Floor: stats(f), Hearth: stats(h), FloorCPU: stats(fc), HearthCPU: stats(hc), FloorRSS: stats(fm), HearthRSS: stats(hm)}
	s.CPURatio = benchutil.Ratio(s.HearthCPU.Median, s.FloorCPU.Median)
	s.RSSRatio = benchutil.Ratio(s.HearthRSS.Median, s.FloorRSS.Median)
	s.Ratio = benchutil.Ratio(s.Hearth.Median, s.Floor.Median)
	s.RatioMin = benchutil.Ratio(s.Hearth.Min, s.Floor.Min)
	s.Overhead = benchutil.Round3(s.Hearth.Median - s.Floor.Median)
	return s
}

// stats is benchutil.DistOf(xs) as this benchmark's results have it.
func stats(xs []float64) stat {
	d := benchutil.DistOf(xs)
	return stat{Median: d.Median, Min: d.Min, Max: d.Max}
}

func printTable(res *result) {
	fmt.Printf("\ncluster ready: 1 master + 2 workers, local (%d CPUs, load %.2f at start)\n", res.Host.CPUs, res.Host.Load1)
	fmt.Printf("floor strategy: %s — %s\n\n", res.FloorStrategy, res.StrategyWhy)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tfloor s\t| port\twrk start\talive\t|\thearth s\t| create\tregist.\tmaster\twrk start\tspark rdy\tWAITING\tterm s\t")
	for i := range res.Floor {
		f := res.Floor[i]
		fmt.Fprintf(tw, "%d\t%.2f\t| %.2f\t%.2f\t%.2f\t|\t", i+1, f.Seconds, f.MasterPort, f.WorkersStart, f.MasterAlive)
		if i < len(res.Hearth) {
			h := res.Hearth[i]
			fmt.Fprintf(tw, "%.2f\t| %.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t", h.Seconds, h.CreateReturned, h.AgentsRegistered, h.MasterStarted, h.WorkersStarted, h.SparkReady, h.Seconds, h.TerminateSeconds)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	s := res.Summary
	fmt.Printf("\n%-8s median %6.2fs   min %6.2fs   max %6.2fs\n", "floor", s.Floor.Median, s.Floor.Min, s.Floor.Max)
	fmt.Printf("%-8s median %6.2fs   min %6.2fs   max %6.2fs\n", "hearth", s.Hearth.Median, s.Hearth.Min, s.Hearth.Max)
	fmt.Printf("ratio    median(hearth)/median(floor) = %.2f   (min/min %.2f; overhead %+.2fs)\n", s.Ratio, s.RatioMin, s.Overhead)
	fmt.Printf("CPU      median machine CPU over a run: hearth %.2fs, floor %.2fs, ratio %.2f\n", s.HearthCPU.Median, s.FloorCPU.Median, s.CPURatio)
	fmt.Printf("memory   median peak summed RSS (the benchmark's processes, Hearth's idle server in both): hearth %.0f MiB, floor %.0f MiB, ratio %.2f\n",
		s.HearthRSS.Median, s.FloorRSS.Median, s.RSSRatio)
	fmt.Println("\nfloor phases: master RPC port open, workers started, master ALIVE (seconds from start).")
	fmt.Println("hearth phases: create-cluster returned, last agent registered, master JVM started, last worker JVM")
	fmt.Println("started (agent logs), Spark master /json ALIVE+2 workers (spark rdy), WAITING seen; term = terminate to TERMINATED.")
	var viaGateway, direct []float64
	for _, h := range res.Hearth {
		if h.SparkReadyFetch > 0 {
			viaGateway = append(viaGateway, h.SparkReadyFetch)
		}
	}
	for _, f := range res.Floor {
		if f.ReadyFetch > 0 {
			direct = append(direct, f.ReadyFetch)
		}
	}
	if len(viaGateway) > 0 {
		fmt.Printf("spark rdy reads the master's /json through Hearth's UI gateway (its UI answers nothing else): the request\n"+
			"that saw it ready took median %.1fms (the floor's, direct to its master: %.1fms); spark rdy is stamped when it returns.\n",
			stats(viaGateway).Median, stats(direct).Median)
	}
	for _, w := range res.Warnings {
		fmt.Println("WARNING:", w)
	}
}
