package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

// The warm experiment: `hearth run` against a server that keeps a warm
// pool of one cluster (hearth server --warm-pool 1), whose step therefore
// starts on a cluster already running, against its floor, the same
// program submitted with spark-submit to a cluster already running (one
// node of the same shape on the same server, through the settings
// `hearth spark-client` writes). Neither side's cluster start is timed.
// Both sides' drivers and executors are processes of the server's
// clusters, not of the command, so CPU is the whole machine's (from
// /proc/stat) while the command runs, and memory the summed RSS of every
// process of the experiment (server, clusters, command), sampled.

// adoptedLine is hearth run's line naming the pool cluster it adopted.
var adoptedLine = regexp.MustCompile(`hearth run: cluster (j-\S+) \(.*adopted from the server's warm pool`)

// warmResult is the warm experiment's part of the JSON document.
type warmResult struct {
	FloorCommand  string     `json:"floor_command"`
	HearthCommand string     `json:"hearth_command"`
	Measured      string     `json:"measured"`
	Runs          []warmPair `json:"runs"`
	Summary       struct {
		FloorWall  benchutil.Dist `json:"floor_wall_s"`
		HearthWall benchutil.Dist `json:"hearth_wall_s"`
		FloorCPU   benchutil.Dist `json:"floor_machine_cpu_s"`
		HearthCPU  benchutil.Dist `json:"hearth_machine_cpu_s"`
		FloorRSS   benchutil.Dist `json:"floor_peak_rss_mib"`
		HearthRSS  benchutil.Dist `json:"hearth_peak_rss_mib"`
		Ratio      float64        `json:"ratio_median"`
		RatioMin   float64        `json:"ratio_min"`
		CPURatio   float64        `json:"cpu_ratio_median"`
		RSSRatio   float64        `json:"peak_rss_ratio_median"`
	} `json:"summary"`
}

type warmSide struct {
	WallS      float64 `json:"wall_s"`
	CPUS       float64 `json:"machine_cpu_s"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// PoolWaitS is how long, untimed, the run waited for the pool to
	// hold a ready cluster (Hearth only).
	PoolWaitS float64 `json:"pool_wait_s,omitempty"`
}

type warmPair struct {
	Floor  warmSide `json:"floor"`
	Hearth warmSide `json:"hearth"`
}

// warm runs the warm experiment on a server of its own.
func (b *bench) warm(ctx context.Context) (res *warmResult, err error) {
	dir := filepath.Join(b.root, "warm")
	h := &benchutil.Hearth{Bin: b.bin, Home: filepath.Join(dir, "home"), SparkHome: b.cfg.sparkHome,
		ServerArgs: []string{"--warm-pool", "1"}, ExtraEnv: []string{"BENCH_RUN_DIR=" + dir}}
	if err := h.Start(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if cerr := b.drainAndStop(ctx, h); err == nil {
			err = cerr
		}
	}()
	// The floor's cluster: the pool's shape, so it adopts the pool's first
	// cluster; the pool then makes another.
	id, err := h.CreateCluster(ctx, "--name", "floor", "--instance-type", "local.medium", "--instance-count", "1")
	if err != nil {
		return nil, err
	}
	out, err := h.CLI(ctx, "spark-client", "--cluster-id", id)
	if err != nil {
		return nil, err
	}
	var sc struct{ PropertiesFile string }
	if err := json.Unmarshal(out, &sc); err != nil || sc.PropertiesFile == "" {
		return nil, fmt.Errorf("hearth spark-client printed no properties file: %s", out)
	}
	res = &warmResult{
		FloorCommand:  filepath.Join(b.cfg.sparkHome, "bin", "spark-submit") + " --properties-file <hearth spark-client's> " + b.prog + " " + b.text,
		HearthCommand: b.bin + " run " + b.prog + " " + b.text + "   (HEARTH_ENDPOINT: the server with --warm-pool 1)",
		Measured: "wall: the command's start to its exit; CPU: the whole machine's user+nice+system+irq+softirq time (/proc/stat) over that span; " +
			"RSS: the peak of the summed RSS of every process of the experiment (server, clusters, command), sampled every 250ms; " +
			"untimed before each side: the pool holds a WAITING cluster (its refill never overlaps a side), and the cluster hearth run used has terminated",
	}
	n := 0
	pair := func(what string) (warmPair, error) {
		var p warmPair
		var err error
		n++
		// Quiet before each side: the pool full and ready (its refill
		// would take CPU from whichever side ran during it).
		if err := awaitPool(ctx, h); err != nil {
			return p, err
		}
		floor := exec.Command(filepath.Join(b.cfg.sparkHome, "bin", "spark-submit"), "--properties-file", sc.PropertiesFile, b.prog, b.text)
		floor.Env = append(benchutil.CleanEnv(), "SPARK_HOME="+b.cfg.sparkHome, "BENCH_RUN_DIR="+dir)
		if p.Floor, err = b.warmOne(ctx, what+", floor", floor, dir, filepath.Join(dir, fmt.Sprintf("floor-%d", n))); err != nil {
			return p, err
		}
		t := time.Now()
		if err := awaitPool(ctx, h); err != nil {
			return p, err
		}
		wait := time.Since(t).Seconds()
		run := exec.Command(b.bin, "run", b.prog, b.text)
		run.Env = h.Env()
		if p.Hearth, err = b.warmOne(ctx, what+", hearth", run, dir, filepath.Join(dir, fmt.Sprintf("hearth-%d", n))); err != nil {
			return p, err
		}
		p.Hearth.PoolWaitS = benchutil.Round3(wait)
		stderr, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("hearth-%d", n), "stderr"))
		m := adoptedLine.FindSubmatch(stderr)
		if m == nil {
			return p, fmt.Errorf("%s: hearth run did not adopt the pool's cluster: %s", what, stderr)
		}
		// The server ends the cluster after hearth run exits: untimed, and
		// over before the next run.
		if _, err := h.CLI(ctx, "wait", "cluster-terminated", "--cluster-id", string(m[1]), "--timeout", "2m"); err != nil {
			return p, err
		}
		fmt.Fprintf(os.Stderr, "%s: floor %.2fs (machine CPU %.2fs, %.0f MiB), hearth %.2fs (machine CPU %.2fs, %.0f MiB; pool ready after %.1fs)\n",
			what, p.Floor.WallS, p.Floor.CPUS, p.Floor.PeakRSSMiB, p.Hearth.WallS, p.Hearth.CPUS, p.Hearth.PeakRSSMiB, wait)
		return p, nil
	}
	if res.Runs, err = benchutil.Runs("warm word count", b.cfg.warmup, b.cfg.runs, pair); err != nil {
		return nil, err
	}
	var fw, hw, fc, hc, fr, hr []float64
	for _, p := range res.Runs {
		fw, hw = append(fw, p.Floor.WallS), append(hw, p.Hearth.WallS)
		fc, hc = append(fc, p.Floor.CPUS), append(hc, p.Hearth.CPUS)
		fr, hr = append(fr, p.Floor.PeakRSSMiB), append(hr, p.Hearth.PeakRSSMiB)
	}
	s := &res.Summary
	s.FloorWall, s.HearthWall = benchutil.DistOf(fw), benchutil.DistOf(hw)
	s.FloorCPU, s.HearthCPU = benchutil.DistOf(fc), benchutil.DistOf(hc)
	s.FloorRSS, s.HearthRSS = benchutil.DistOf(fr), benchutil.DistOf(hr)
	s.Ratio = benchutil.Ratio(s.HearthWall.Median, s.FloorWall.Median)
	s.RatioMin = benchutil.Ratio(s.HearthWall.Min, s.FloorWall.Min)
	s.CPURatio = benchutil.Ratio(s.HearthCPU.Median, s.FloorCPU.Median)
	s.RSSRatio = benchutil.Ratio(s.HearthRSS.Median, s.FloorRSS.Median)
	return res, nil
}

// warmOne runs cmd with its output in out (created), and measures it.
func (b *bench) warmOne(ctx context.Context, what string, cmd *exec.Cmd, dir, out string) (warmSide, error) {
	var s warmSide
	if err := os.MkdirAll(out, 0o755); err != nil {
		return s, err
	}
	stdout, err := os.Create(filepath.Join(out, "stdout"))
	if err != nil {
		return s, err
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(out, "stderr"))
	if err != nil {
		return s, err
	}
	defer stderr.Close()
	cmd.Dir, cmd.Stdout, cmd.Stderr = out, stdout, stderr

	meter := benchutil.StartMeter(dir, 250*time.Millisecond)
	start := time.Now()
	err = runWithTimeout(ctx, cmd, b.cfg.timeout)
	s.WallS = benchutil.Round3(time.Since(start).Seconds())
	s.CPUS, s.PeakRSSMiB = meter.Stop()
	if err != nil {
		return s, fmt.Errorf("%s: %v; its stderr ends:\n%s", what, err, benchutil.TailFile(filepath.Join(out, "stderr"), 3000))
	}
	data, _ := os.ReadFile(filepath.Join(out, "stdout"))
	got, err := topList(string(data))
	switch {
	case err != nil:
		b.warn("%s: %v", what, err)
	case b.reference != "" && got != b.reference:
		b.warn("%s printed %.300s; the cold runs printed %.300s", what, got, b.reference)
	}
	return s, nil
}

func runWithTimeout(ctx context.Context, cmd *exec.Cmd, timeout time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	case <-time.After(timeout):
	}
	cmd.Process.Kill()
	<-done
	return fmt.Errorf("stopped after %s or an interrupt", timeout)
}

// awaitPool waits until the server's warm pool holds a WAITING cluster.
func awaitPool(ctx context.Context, h *benchutil.Hearth) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		cs, err := h.API.WarmPool(ctx)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.Status.State == hearth.ClusterWaiting {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the warm pool held no WAITING cluster after 3 minutes: %s", benchutil.TailFile(h.ServerLog(), 1500))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// drainAndStop ends the experiment's clusters, the pool's included: the
// server is restarted without a pool, which terminates the pool's
// clusters, then cleaned up as every benchmark's server is.
func (b *bench) drainAndStop(ctx context.Context, h *benchutil.Hearth) error {
	if h.Server != nil {
		h.Server.Stop(10 * time.Second)
	}
	h.ServerArgs = nil
	if err := h.Start(context.WithoutCancel(ctx)); err == nil {
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if cs, err := h.API.WarmPool(context.Background()); err == nil && len(cs) == 0 {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	return h.Cleanup()
}
