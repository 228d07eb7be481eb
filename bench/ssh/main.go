// Command ssh measures how the ssh provisioner scales: the time from
// create-cluster to WAITING of 1 master + 3 workers on 4 hosts, against
// 1 master + 1 worker on 2 hosts, measured in the same run and alternated.
// Each shape runs cold (nothing of Hearth on the hosts: the binary and the
// Spark runtime are copied) and warm (both already there). Provisioning is
// parallel, so the ratio of the two shapes should stay near 1 (target ≤
// 1.3). It also reports the bytes each host received while its cluster
// started.
//
//	sudo go run ./bench/ssh [-runs 3] [-hearth bin/hearth] [-out bench/results/ssh.json]
//
// The hosts are network namespaces running the real sshd
// (internal/testhosts), so it needs root, sshd and ip; they share this
// machine's cores, so what it measures is Hearth's own serial work (SSH,
// SFTP, the runtime download and unpack), not a network. See
// bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
	"github.com/hearthcluster/hearth/internal/testhosts"
)

type config struct {
	runs      int
	hearthBin string
	out       string
	sparkHome string
	keep      bool
}

type run struct {
	Shape    string   `json:"shape"` // "1+1" or "1+3"
	Cold     bool     `json:"cold"`
	WaitingS float64  `json:"create_to_waiting_s"`
	BytesIn  []uint64 `json:"bytes_received_per_host"`
	// LaunchedS is, from the server's log, the time from "cluster created"
	// to its last "node launched": Hearth's own serial provisioning (SSH,
	// SFTP, starting agents), before the hosts' CPUs start Spark.
	LaunchedS float64 `json:"created_to_last_launch_s"`
}

type summary struct {
	ColdSmall           benchutil.Dist `json:"cold_1_1_s"`
	ColdLarge           benchutil.Dist `json:"cold_1_3_s"`
	WarmSmall           benchutil.Dist `json:"warm_1_1_s"`
	WarmLarge           benchutil.Dist `json:"warm_1_3_s"`
	ColdRatio           float64        `json:"cold_ratio_large_over_small"`
	WarmRatio           float64        `json:"warm_ratio_large_over_small"`
	ColdBytesPerHostMiB float64        `json:"cold_mib_received_per_host_median"`
	WarmLaunchSmall     benchutil.Dist `json:"warm_1_1_launch_s"`
	WarmLaunchLarge     benchutil.Dist `json:"warm_1_3_launch_s"`
	WarmLaunchRatio     float64        `json:"warm_launch_ratio_large_over_small"`
	WarmBytesPerHostMiB float64        `json:"warm_mib_received_per_host_median"`
}

type result struct {
	benchutil.Header
	Runs     []run              `json:"runs"`
	Summary  summary            `json:"summary"`
	Warnings benchutil.Warnings `json:"warnings,omitempty"`
	Dir      string             `json:"dir,omitempty"`
}

func main() {
	var c config
	flag.IntVar(&c.runs, "runs", 3, "timed runs of each shape and temperature")
	flag.StringVar(&c.hearthBin, "hearth", "bin/hearth", "the hearth binary to measure")
	flag.StringVar(&c.out, "out", "bench/results/ssh.json", "JSON result file")
	flag.StringVar(&c.sparkHome, "spark-home", os.Getenv("SPARK_HOME"), "Spark distribution for the server (default $SPARK_HOME, else the pip-installed pyspark)")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (logs) even on success")
	flag.Parse()
	os.Exit(bench(c))
}

func bench(c config) (code int) {
	const name = "ssh"
	res := &result{Header: benchutil.Header{Benchmark: name, Started: time.Now().UTC()}}
	var err error
	if res.Binary, res.Host, err = benchutil.Prepare(c.hearthBin, c.sparkHome, res.Warnings.Add); err != nil {
		fmt.Fprintln(os.Stderr, "ssh:", err)
		return 2
	}
	root, err := benchutil.TempRoot("hearth-bench-ssh-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ssh:", err)
		return 1
	}
	ctx, stop := benchutil.SignalContext(name)
	defer stop()
	fail := func(what string, err error) int { return benchutil.Fail(ctx, name, what, err) }

	hosts, err := testhosts.Start(ctx, filepath.Join(root, "hosts"), testhosts.Options{Hosts: 4})
	if err != nil {
		return fail("start the hosts", err)
	}
	gw := hosts.GatewayIP
	port := func() string {
		l, err := net.Listen("tcp", net.JoinHostPort(gw, "0"))
		if err != nil {
			return "0"
		}
		defer l.Close()
		return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	}
	h := &benchutil.Hearth{Bin: res.HearthBinary, Home: filepath.Join(root, "home"), SparkHome: res.Host.SparkHome,
		ServerArgs: []string{"--advertise-url", "https://" + net.JoinHostPort(gw, port()), "--s3-listen", net.JoinHostPort(gw, port())}}
	defer benchutil.Teardown(name, root, c.keep, &code, h.Cleanup, hosts.Close)
	if err := h.Start(ctx); err != nil {
		return fail("start hearth server", err)
	}
	work := func(th *testhosts.Host) string { return filepath.Join(th.WorkRoot, "hearth") }
	for _, th := range hosts.Hosts {
		if out, err := h.CLI(ctx, "hosts", "add", th.Addr, "--name", th.Name, "--user", th.User, "--key-file", hosts.ClientKeyFile,
			"--work-dir", work(th), "--accept-host-key", th.HostKeyFingerprint); err != nil {
			return fail("hosts add", fmt.Errorf("%v: %s", err, out))
		}
	}
	// The runtime packed for hosts, as after a server's first ssh cluster:
	// one untimed cluster packs it.
	fmt.Fprintln(os.Stderr, "ssh: packing the runtime (one untimed 1+1 cluster)")
	if _, err := once(ctx, h, hosts, 2, false); err != nil {
		return fail("warm-up", err)
	}
	for i := range c.runs {
		for _, cold := range []bool{true, false} {
			for _, n := range []int{2, 4} {
				if cold { // a fresh machine: neither the binary nor the runtime
					for _, th := range hosts.Hosts {
						os.RemoveAll(filepath.Join(work(th), "bin"))
						os.RemoveAll(filepath.Join(work(th), "runtime"))
					}
					exec.Command("sync").Run()
				}
				r, err := once(ctx, h, hosts, n, cold)
				if err != nil {
					return fail(fmt.Sprintf("run %d (%s)", i+1, r.Shape), err)
				}
				fmt.Fprintf(os.Stderr, "ssh: run %d %s cold=%v: %.2fs (last node launched after %.2fs), received %v\n", i+1, r.Shape, cold, r.WaitingS, r.LaunchedS, r.BytesIn)
				res.Runs = append(res.Runs, r)
			}
		}
	}
	res.Summary = summarize(res.Runs)
	res.Host.Load1End = benchutil.Load1()
	report(res)
	return benchutil.Save(name, c.out, res, res.Warnings)
}

// once creates a cluster of n nodes on the ssh provisioner, times it to
// WAITING, counts what each of its hosts received, and terminates it.
func once(ctx context.Context, h *benchutil.Hearth, hosts *testhosts.Cluster, n int, cold bool) (run, error) {
	r := run{Shape: fmt.Sprintf("1+%d", n-1), Cold: cold}
	before := make([]uint64, len(hosts.Hosts))
	for i, th := range hosts.Hosts {
		before[i], _ = th.ReceivedBytes()
	}
	start := time.Now()
	id, err := h.CreateCluster(ctx, "--provisioner", "ssh", "--instance-type", "m5.xlarge", "--instance-count", strconv.Itoa(n))
	if err != nil {
		return r, err
	}
	r.WaitingS = benchutil.Round3(time.Since(start).Seconds())
	var created, launched time.Time
	for _, l := range benchutil.SlogLines(h.ServerLog()) {
		switch {
		case l.Attrs["cluster"] != id:
		case l.Msg == "cluster created":
			created = l.At
		case l.Msg == "node launched" && l.At.After(launched):
			launched = l.At
		}
	}
	if !created.IsZero() && !launched.IsZero() {
		r.LaunchedS = benchutil.Round3(launched.Sub(created).Seconds())
	}
	v, err := h.DescribeWaiting(ctx, id)
	if err != nil {
		return r, err
	}
	used := map[string]bool{}
	for _, node := range v.Nodes {
		used[node.Host] = true
	}
	for i, th := range hosts.Hosts {
		if after, err := th.ReceivedBytes(); err == nil && used[th.Addr] {
			r.BytesIn = append(r.BytesIn, after-before[i])
		}
	}
	if _, err := h.CLI(ctx, "terminate-clusters", "--cluster-ids", id); err != nil {
		return r, err
	}
	if _, err := h.CLI(ctx, "wait", "cluster-terminated", "--cluster-id", id, "--timeout", "3m"); err != nil {
		return r, err
	}
	h.SetActive("")
	return r, nil
}

func summarize(runs []run) summary {
	var s summary
	pick := func(cold bool, shape string) []float64 {
		var xs []float64
		for _, r := range runs {
			if r.Cold == cold && r.Shape == shape {
				xs = append(xs, r.WaitingS)
			}
		}
		return xs
	}
	s.ColdSmall, s.ColdLarge = benchutil.DistOf(pick(true, "1+1")), benchutil.DistOf(pick(true, "1+3"))
	s.WarmSmall, s.WarmLarge = benchutil.DistOf(pick(false, "1+1")), benchutil.DistOf(pick(false, "1+3"))
	s.ColdRatio = benchutil.Ratio(s.ColdLarge.Median, s.ColdSmall.Median)
	s.WarmRatio = benchutil.Ratio(s.WarmLarge.Median, s.WarmSmall.Median)
	mib := func(cold bool) float64 {
		var xs []float64
		for _, r := range runs {
			if r.Cold == cold {
				for _, b := range r.BytesIn {
					xs = append(xs, float64(b)/(1<<20))
				}
			}
		}
		return benchutil.Round3(benchutil.DistOf(xs).Median)
	}
	s.ColdBytesPerHostMiB, s.WarmBytesPerHostMiB = mib(true), mib(false)
	launches := func(shape string) []float64 {
		var xs []float64
		for _, r := range runs {
			if !r.Cold && r.Shape == shape {
				xs = append(xs, r.LaunchedS)
			}
		}
		return xs
	}
	s.WarmLaunchSmall, s.WarmLaunchLarge = benchutil.DistOf(launches("1+1")), benchutil.DistOf(launches("1+3"))
	s.WarmLaunchRatio = benchutil.Ratio(s.WarmLaunchLarge.Median, s.WarmLaunchSmall.Median)
	return s
}

func report(res *result) {
	s := res.Summary
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "\tcreate → WAITING, median (min)\t\t1+3 on 4 hosts ÷ 1+1 on 2\tMiB received per host")
	fmt.Fprintln(w, "\t1+1 on 2 hosts\t1+3 on 4 hosts\t\t")
	fmt.Fprintf(w, "cold (binary and runtime copied)\t%.2fs (%.2f)\t%.2fs (%.2f)\t%.2f\t%.1f\n", s.ColdSmall.Median, s.ColdSmall.Min, s.ColdLarge.Median, s.ColdLarge.Min, s.ColdRatio, s.ColdBytesPerHostMiB)
	fmt.Fprintf(w, "warm (already on the hosts)\t%.2fs (%.2f)\t%.2fs (%.2f)\t%.2f\t%.1f\n", s.WarmSmall.Median, s.WarmSmall.Min, s.WarmLarge.Median, s.WarmLarge.Min, s.WarmRatio, s.WarmBytesPerHostMiB)
	fmt.Fprintf(w, "warm, created → last node launched\t%.2fs (%.2f)\t%.2fs (%.2f)\t%.2f\t\n", s.WarmLaunchSmall.Median, s.WarmLaunchSmall.Min, s.WarmLaunchLarge.Median, s.WarmLaunchLarge.Min, s.WarmLaunchRatio)
	w.Flush()
}
