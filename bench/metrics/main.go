// Command metrics measures what node metrics cost: each agent's CPU time and
// resident memory over an idle minute with sampling on (every 5 s, the
// default) against off (--node-metrics-interval 0, the floor), alternated,
// and the size of an agent's report with a sample against without one.
//
//	go run ./bench/metrics [-runs 3] [-window 60s] [-hearth bin/hearth] [-out bench/results/metrics.json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/bench/internal/benchutil"
	"github.com/hearthcluster/hearth/internal/proc"
)

type config struct {
	runs      int
	window    time.Duration
	hearthBin string
	out       string
	sparkHome string
	keep      bool
}

type run struct {
	Metrics bool `json:"metrics_on"`
	// AgentCPUms is the CPU time (user + system) of each agent over the
	// window, in milliseconds; AgentRSSMB their resident memory after it.
	AgentCPUms []float64 `json:"agent_cpu_ms"`
	AgentRSSMB []float64 `json:"agent_rss_mb"`
	// ReportBytes is the JSON size of an agent's report without and with
	// its newest sample (metrics on only).
	ReportBytes       int `json:"report_bytes,omitempty"`
	ReportSampleBytes int `json:"report_with_sample_bytes,omitempty"`
}

type summary struct {
	CPUOn        benchutil.Dist `json:"agent_cpu_ms_on"`
	CPUOff       benchutil.Dist `json:"agent_cpu_ms_off"`
	CPURatio     float64        `json:"agent_cpu_ratio"`
	RSSOn        benchutil.Dist `json:"agent_rss_mb_on"`
	RSSOff       benchutil.Dist `json:"agent_rss_mb_off"`
	RSSRatio     float64        `json:"agent_rss_ratio"`
	ReportBytes  float64        `json:"report_bytes"`
	SampleBytes  float64        `json:"report_with_sample_bytes"`
	PayloadRatio float64        `json:"report_size_ratio"`
}

type result struct {
	benchutil.Header
	Window   string             `json:"window"`
	Runs     []run              `json:"runs"`
	Summary  summary            `json:"summary"`
	Warnings benchutil.Warnings `json:"warnings,omitempty"`
}

func main() {
	var c config
	flag.IntVar(&c.runs, "runs", 3, "runs with metrics on, and as many off, alternated")
	flag.DurationVar(&c.window, "window", time.Minute, "idle time measured in each run")
	flag.StringVar(&c.hearthBin, "hearth", "bin/hearth", "the hearth binary to measure")
	flag.StringVar(&c.out, "out", "bench/results/metrics.json", "JSON result file")
	flag.StringVar(&c.sparkHome, "spark-home", os.Getenv("SPARK_HOME"), "Spark distribution (default $SPARK_HOME, else the pip-installed pyspark)")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (logs) even on success")
	flag.Parse()
	os.Exit(bench(c))
}

func bench(c config) (code int) {
	const name = "metrics"
	res := &result{Header: benchutil.Header{Benchmark: name, Started: time.Now().UTC()}, Window: c.window.String()}
	var err error
	if res.Binary, res.Host, err = benchutil.Prepare(c.hearthBin, c.sparkHome, res.Warnings.Add); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		return 2
	}
	root, err := benchutil.TempRoot("hearth-bench-metrics-")
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		return 1
	}
	ctx, stop := benchutil.SignalContext(name)
	defer stop()
	var current *benchutil.Hearth
	defer benchutil.Teardown(name, root, c.keep, &code, func() error {
		if current != nil {
			return current.Cleanup()
		}
		return nil
	})
	for i := range 2 * c.runs {
		on := i%2 == 0
		interval := "0"
		if on {
			interval = "5s"
		}
		h := &benchutil.Hearth{Bin: res.HearthBinary, Home: filepath.Join(root, fmt.Sprintf("run%d", i), "home"), SparkHome: res.Host.SparkHome,
			ServerArgs: []string{"--node-metrics-interval", interval}}
		current = h
		r, err := measure(ctx, h, on, c.window)
		if err != nil {
			return benchutil.Fail(ctx, name, fmt.Sprintf("run %d (metrics on: %v)", i+1, on), err)
		}
		if err := h.Cleanup(); err != nil {
			return benchutil.Fail(ctx, name, "stop the server", err)
		}
		current = nil
		res.Runs = append(res.Runs, r)
		fmt.Fprintf(os.Stderr, "run %d, metrics on %v: agent CPU %v ms, RSS %v MB\n", i+1, on, r.AgentCPUms, r.AgentRSSMB)
	}
	var cpuOn, cpuOff, rssOn, rssOff, rep, repS []float64
	for _, r := range res.Runs {
		if r.Metrics {
			cpuOn, rssOn = append(cpuOn, r.AgentCPUms...), append(rssOn, r.AgentRSSMB...)
			rep, repS = append(rep, float64(r.ReportBytes)), append(repS, float64(r.ReportSampleBytes))
		} else {
			cpuOff, rssOff = append(cpuOff, r.AgentCPUms...), append(rssOff, r.AgentRSSMB...)
		}
	}
	s := &res.Summary
	s.CPUOn, s.CPUOff, s.RSSOn, s.RSSOff = benchutil.DistOf(cpuOn), benchutil.DistOf(cpuOff), benchutil.DistOf(rssOn), benchutil.DistOf(rssOff)
	s.CPURatio, s.RSSRatio = benchutil.Ratio(s.CPUOn.Median, s.CPUOff.Median), benchutil.Ratio(s.RSSOn.Median, s.RSSOff.Median)
	s.ReportBytes, s.SampleBytes = benchutil.DistOf(rep).Median, benchutil.DistOf(repS).Median
	s.PayloadRatio = benchutil.Ratio(s.SampleBytes, s.ReportBytes)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "per agent, idle cluster\tmetrics on (median)\toff (median)\tratio")
	fmt.Fprintf(tw, "CPU over %s\t%.0f ms\t%.0f ms\t%.2f\n", c.window, s.CPUOn.Median, s.CPUOff.Median, s.CPURatio)
	fmt.Fprintf(tw, "resident memory\t%.1f MB\t%.1f MB\t%.2f\n", s.RSSOn.Median, s.RSSOff.Median, s.RSSRatio)
	fmt.Fprintf(tw, "report size (with a sample / without)\t%.0f B\t%.0f B\t%.2f\n", s.SampleBytes, s.ReportBytes, s.PayloadRatio)
	tw.Flush()
	return benchutil.Save(name, c.out, res, res.Warnings)
}

// measure starts a server, creates an idle 1+2 local cluster, and measures
// its agents over window.
func measure(ctx context.Context, h *benchutil.Hearth, on bool, window time.Duration) (run, error) {
	r := run{Metrics: on}
	if err := h.Start(ctx); err != nil {
		return r, err
	}
	id, err := h.CreateCluster(ctx, "--name", "metrics", "--instance-type", "local.small", "--instance-count", "3")
	if err != nil {
		return r, err
	}
	time.Sleep(10 * time.Second) // past start-up
	v, err := h.DescribeWaiting(ctx, id)
	if err != nil {
		return r, err
	}
	before := map[int]float64{}
	for _, n := range v.Nodes {
		before[n.Observed.AgentPID] = cpuMillis(n.Observed.AgentPID)
	}
	select {
	case <-ctx.Done():
		return r, ctx.Err()
	case <-time.After(window):
	}
	for pid, t0 := range before {
		r.AgentCPUms = append(r.AgentCPUms, benchutil.Round3(cpuMillis(pid)-t0))
		r.AgentRSSMB = append(r.AgentRSSMB, rssMB(pid))
	}
	if on {
		m, err := h.API.ClusterMetrics(ctx, id, time.Time{})
		if err != nil {
			return r, err
		}
		for _, ns := range m.Nodes {
			if len(ns.Samples) == 0 {
				continue
			}
			for _, n := range v.Nodes {
				if n.Id == ns.NodeId {
					without, _ := json.Marshal(hearth.Report{Observed: n.Observed})
					sample := ns.Samples[len(ns.Samples)-1]
					with, _ := json.Marshal(hearth.Report{Observed: n.Observed, Metrics: &sample})
					r.ReportBytes, r.ReportSampleBytes = len(without), len(with)
				}
			}
		}
		if r.ReportSampleBytes == 0 {
			return r, fmt.Errorf("metrics on, but no node has a sample after %s", window)
		}
	}
	return r, h.Terminate(ctx, id)
}

// cpuMillis is pid's user + system CPU time in milliseconds.
func cpuMillis(pid int) float64 {
	f, err := proc.Stat(pid) // f[0] is field 3; utime and stime are 14 and 15
	if err != nil || len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	sys, _ := strconv.ParseFloat(f[12], 64)
	return (u + sys) * 10 // 100 ticks a second
}

// rssMB is pid's resident memory in MB (VmRSS).
func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return benchutil.Round3(kb / 1024)
		}
	}
	return 0
}
