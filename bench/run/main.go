// Command run measures what a new user's first command costs: `hearth run
// examples/wordcount.py <text>` with no server running (so hearth run
// starts a control plane in its own process and a one-node cluster, runs
// the application as its only step and terminates the cluster), against
// the floor, the same application run by Spark alone:
//
//	go run ./bench/run [-hearth bin/hearth] [-text-kib 419] [-runs 5] [-out bench/results/run.json]
//
// The floor is `$SPARK_HOME/bin/spark-submit --master local[2]
// wordcount.py <text>`. Floor and Hearth runs alternate; each is timed from
// just before its process starts until it exits, and its CPU time is that
// of its whole process tree: the rusage of every process of the tree as
// this program (a child subreaper) or an ancestor reaped it, and, from
// /proc samples, that of the processes the kernel reaped (tree.go). Peak
// RSS is the largest sum of RSS over the tree, sampled from /proc. The
// headline is median(hearth wall) / median(floor wall); both must print
// the same top-50 word list, exit 0 and leave no process behind.
//
// See bench/README.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

type config struct {
	hearthBin string
	out       string
	sparkHome string
	wordcount string
	gentext   string
	textKiB   int
	runs      int
	warmup    int
	sample    time.Duration
	timeout   time.Duration
	linger    time.Duration
	keep      bool
	cold      bool // the cold experiment: hearth run with no server
	warm      bool // the warm one: hearth run on a server's warm pool (warm.go)
}

// result is the JSON document the benchmark writes.
type result struct {
	benchutil.Header
	Text          textFacts `json:"text"`
	Program       string    `json:"program"`
	ProgramSHA256 string    `json:"program_sha256"`
	FloorCommand  string    `json:"floor_command"`
	HearthCommand string    `json:"hearth_command"`
	// HearthHome says where each Hearth run's HEARTH_HOME was, and its
	// caches (installed untimed before the runs).
	HearthHome     string             `json:"hearth_home"`
	RuntimeInstall float64            `json:"runtime_install_s"` // `hearth runtime install`, untimed
	SampleMs       float64            `json:"sample_interval_ms"`
	Measured       string             `json:"measured"`
	Checked        string             `json:"checked"`
	Output         string             `json:"output"` // the JSON list every run printed
	Warmup         int                `json:"warmup_pairs_discarded"`
	Runs           []pair             `json:"runs"`
	Summary        summary            `json:"summary"`
	Warnings       benchutil.Warnings `json:"warnings,omitempty"`
	Dir            string             `json:"dir,omitempty"`
	Warm           *warmResult        `json:"warm,omitempty"`
}

type summary struct {
	FloorWall  benchutil.Dist `json:"floor_wall_s"`
	HearthWall benchutil.Dist `json:"hearth_wall_s"`
	FloorCPU   benchutil.Dist `json:"floor_cpu_s"`
	HearthCPU  benchutil.Dist `json:"hearth_cpu_s"`
	FloorRSS   benchutil.Dist `json:"floor_peak_rss_mib"`
	HearthRSS  benchutil.Dist `json:"hearth_peak_rss_mib"`
	// HearthCluster and HearthStep are what hearth run says on stderr:
	// create-cluster until RUNNING, and the step from then until it ended.
	HearthCluster benchutil.Dist `json:"hearth_cluster_s"`
	HearthStep    benchutil.Dist `json:"hearth_step_s"`
	Ratio         float64        `json:"ratio_median"` // median(hearth wall) / median(floor wall): the headline
	RatioMin      float64        `json:"ratio_min"`
	OverheadS     float64        `json:"overhead_median_s"` // median(hearth wall) - median(floor wall)
	CPURatio      float64        `json:"cpu_ratio_median"`  // median(hearth CPU) / median(floor CPU)
	RSSRatio      float64        `json:"peak_rss_ratio_median"`
}

func main() {
	var c config
	flag.StringVar(&c.hearthBin, "hearth", "bin/hearth", "the hearth binary to measure (build it first: go build -o bin/hearth ./cmd/hearth)")
	flag.StringVar(&c.out, "out", "bench/results/run.json", "JSON result file")
	flag.StringVar(&c.sparkHome, "spark-home", os.Getenv("SPARK_HOME"), "Spark distribution for both sides (default $SPARK_HOME, else the pip-installed pyspark)")
	flag.StringVar(&c.wordcount, "wordcount", "examples/wordcount.py", "the application both sides run (copied into the temporary directory first)")
	flag.StringVar(&c.gentext, "gentext", "examples/gentext.py", "the text generator")
	flag.IntVar(&c.textKiB, "text-kib", 419, "size of the generated text in KiB")
	flag.IntVar(&c.runs, "runs", 5, "timed runs of each side (floor and Hearth, alternating)")
	flag.IntVar(&c.warmup, "warmup", 1, "untimed pairs first (warm the page cache, the JVMs' class data)")
	flag.DurationVar(&c.sample, "sample", 100*time.Millisecond, "how often /proc is sampled for the tree's RSS")
	flag.DurationVar(&c.timeout, "timeout", 5*time.Minute, "give up on a run after this long")
	flag.DurationVar(&c.linger, "linger", 10*time.Second, "how long a run's processes may outlive the command before they count as left behind")
	flag.BoolVar(&c.cold, "cold", true, "run the cold experiment: hearth run with no server against spark-submit --master local[2]")
	flag.BoolVar(&c.warm, "warm", true, "run the warm experiment: hearth run on a server with --warm-pool 1 against spark-submit to a running cluster")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (logs, every run's HEARTH_HOME) even on success")
	flag.Parse()
	os.Exit(run(c))
}

func run(c config) (code int) {
	const name = "run"
	if c.runs < 1 || c.warmup < 0 || c.textKiB < 1 || c.sample <= 0 || c.linger < 0 {
		fmt.Fprintln(os.Stderr, "run: -runs and -text-kib must be at least 1, -warmup and -linger at least 0, -sample positive")
		return 2
	}
	res := &result{Header: benchutil.Header{Benchmark: name, Started: time.Now().UTC()}, Warmup: c.warmup,
		SampleMs: benchutil.Millis(c.sample)}
	warn := res.Warnings.Add
	var err error
	if res.Binary, res.Host, err = benchutil.Prepare(c.hearthBin, c.sparkHome, warn); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		return 2
	}
	c.sparkHome = res.Host.SparkHome
	for _, p := range []*string{&c.wordcount, &c.gentext} {
		if *p, err = filepath.Abs(*p); err == nil {
			_, err = os.Stat(*p)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "run:", err, "(run from the repository root, or set -wordcount and -gentext)")
			return 2
		}
	}

	root, err := benchutil.TempRoot("hearth-bench-run-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		return 1
	}
	ctx, stopSignals := benchutil.SignalContext(name)
	defer stopSignals()

	b := &bench{cfg: c, root: root, bin: res.HearthBinary, warn: warn}

	// Every exit path from here on goes through this. Each run stops its
	// own process tree; the sweep catches whatever refers to root.
	defer benchutil.Teardown(name, root, c.keep, &code)
	fail := func(what string, err error) int {
		code := benchutil.Fail(ctx, name, what, err)
		if left := (*leftoverError)(nil); errors.As(err, &left) && code == 1 {
			code = 3
		}
		return code
	}

	fmt.Fprintf(os.Stderr, "run: %s, SPARK_HOME=%s, dir %s\n", res.HearthBinary, c.sparkHome, root)
	if err := b.prepare(ctx, res); err != nil {
		return fail("prepare", err)
	}
	// From here on this process reaps every orphan of the runs, so their
	// CPU time is counted; see tree.go.
	if err := becomeSubreaper(); err != nil {
		return fail("prepare", err)
	}
	if c.cold {
		pair := func(what string) (pair, error) { return b.pair(ctx, what) }
		if res.Runs, err = benchutil.Runs("word count", c.warmup, c.runs, pair); err != nil {
			return fail("word count", err)
		}
		res.Output = b.reference
		res.Summary = summarise(res.Runs)
	}
	if c.warm {
		if res.Warm, err = b.warm(ctx); err != nil {
			return fail("warm word count", err)
		}
	}
	res.Host.Load1End = benchutil.Load1()
	if c.keep {
		res.Dir = root
	}

	printReport(res)
	return benchutil.Save(name, c.out, res, res.Warnings)
}

func summarise(runs []pair) summary {
	var fw, hw, fc, hc, fr, hr, cl, st []float64
	for _, p := range runs {
		fw, hw = append(fw, p.Floor.WallS), append(hw, p.Hearth.WallS)
		fc, hc = append(fc, p.Floor.CPUS), append(hc, p.Hearth.CPUS)
		fr, hr = append(fr, p.Floor.PeakRSSMiB), append(hr, p.Hearth.PeakRSSMiB)
		cl, st = append(cl, p.Hearth.ClusterS), append(st, p.Hearth.StepS)
	}
	s := summary{
		FloorWall: benchutil.DistOf(fw), HearthWall: benchutil.DistOf(hw),
		FloorCPU: benchutil.DistOf(fc), HearthCPU: benchutil.DistOf(hc),
		FloorRSS: benchutil.DistOf(fr), HearthRSS: benchutil.DistOf(hr),
		HearthCluster: benchutil.DistOf(cl), HearthStep: benchutil.DistOf(st),
	}
	s.Ratio = benchutil.Ratio(s.HearthWall.Median, s.FloorWall.Median)
	s.RatioMin = benchutil.Ratio(s.HearthWall.Min, s.FloorWall.Min)
	s.OverheadS = benchutil.Round3(s.HearthWall.Median - s.FloorWall.Median)
	s.CPURatio = benchutil.Ratio(s.HearthCPU.Median, s.FloorCPU.Median)
	s.RSSRatio = benchutil.Ratio(s.HearthRSS.Median, s.FloorRSS.Median)
	return s
}
