// Command replicas measures what the choice of database costs Hearth's API,
// and how long a replicated control plane is without a leader:
//
//   - API latency: describe-cluster, list-steps and add-steps with 1,000
//     clusters and 10,000 steps stored, on SQLite and on PostgreSQL, each
//     call through the real API over loopback HTTP, against the same read
//     or write done by the store in-process (the floor), interleaved. It
//     also reports the resident memory of the benchmark process (which
//     holds the store, the control plane and the API) and of PostgreSQL.
//
//   - leader failover: two `hearth server` replicas on one PostgreSQL; the
//     leader is killed (SIGKILL), timed until the survivor's /api/v1/replicas
//     lists itself leading, against the time until PostgreSQL has released
//     the dead leader's advisory lock (the floor).
//
//     go run ./bench/replicas [-n 300] [-runs 5] [-hearth bin/hearth] [-out bench/results/replicas.json]
//
// See bench/README.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
	"github.com/hearthcluster/hearth/internal/pgtest"
)

type config struct {
	n, warmup int
	clusters  int
	runs      int
	hearthBin string
	out       string
	sparkHome string
	keep      bool
}

type result struct {
	benchutil.Header
	Clusters        int `json:"clusters"`
	StepsPerCluster int `json:"steps_per_cluster"`
	// N calls of each operation through each layer, after Warmup.
	N        int             `json:"n"`
	Warmup   int             `json:"warmup"`
	Backends []backendResult `json:"backends"`
	// PostgresOverSQLite compares the API's latencies of the two backends.
	PostgresOverSQLite []crossRatio       `json:"postgres_over_sqlite"`
	PopulateRatio      float64            `json:"populate_postgres_over_sqlite"`
	Memory             memoryFloors       `json:"memory_floors"`
	Failover           failoverResult     `json:"failover"`
	Warnings           benchutil.Warnings `json:"warnings,omitempty"`
}

// crossRatio is PostgreSQL's API latency over SQLite's, for one operation.
type crossRatio struct {
	Op       string  `json:"op"`
	P50Ratio float64 `json:"p50_ratio"`
	P99Ratio float64 `json:"p99_ratio"`
}

// memoryFloors are the resident memory figures measured before any work:
// the benchmark process at start, and PostgreSQL idle with an empty
// database (its server processes and the benchmark's admin connection).
type memoryFloors struct {
	BenchRSSMB    float64 `json:"bench_rss_at_start_mb"`
	PostgresRSSMB float64 `json:"postgres_idle_rss_mb"`
	PostgresPSSMB float64 `json:"postgres_idle_pss_mb"`
	PostgresProcs int     `json:"postgres_idle_processes"`
}

func main() {
	var c config
	flag.IntVar(&c.n, "n", 300, "timed calls of each operation through each layer, per backend")
	flag.IntVar(&c.warmup, "warmup", 20, "untimed calls of each operation through each layer first")
	flag.IntVar(&c.clusters, "clusters", 1000, "clusters stored (each with 10 steps)")
	flag.IntVar(&c.runs, "runs", 5, "timed leader failovers (after 1 untimed)")
	flag.StringVar(&c.hearthBin, "hearth", "bin/hearth", "the hearth binary whose replicas fail over")
	flag.StringVar(&c.out, "out", "bench/results/replicas.json", "JSON result file")
	flag.StringVar(&c.sparkHome, "spark-home", os.Getenv("SPARK_HOME"), "Spark distribution, recorded in the result (default $SPARK_HOME, else the pip-installed pyspark)")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (logs, the SQLite file) even on success")
	flag.Parse()
	os.Exit(bench(c))
}

func bench(c config) (code int) {
	const name = "replicas"
	if c.n < 1 || c.warmup < 0 || c.clusters < 1 || c.runs < 1 {
		fmt.Fprintln(os.Stderr, name+": -n, -clusters and -runs must be at least 1, -warmup at least 0")
		return 2
	}
	res := &result{Header: benchutil.Header{Benchmark: name, Started: time.Now().UTC()},
		Clusters: c.clusters, StepsPerCluster: stepsPerCluster, N: c.n, Warmup: c.warmup}
	var err error
	if res.Binary, res.Host, err = benchutil.Prepare(c.hearthBin, c.sparkHome, res.Warnings.Add); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		return 2
	}
	res.Memory.BenchRSSMB = selfRSSMB()
	root, err := benchutil.TempRoot("hearth-bench-replicas-")
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		return 1
	}
	ctx, stop := benchutil.SignalContext(name)
	defer stop()
	fail := func(what string, err error) int { return benchutil.Fail(ctx, name, what, err) }

	// PostgreSQL runs outside root (its user must reach its directory), so
	// the /proc scan of Teardown cannot see it: pg.Stop checks that none of
	// its processes outlives it, and the first deferred check looks again
	// after Teardown.
	var pg *pgtest.Server
	var pgData string
	var closers []func() error // the backend being measured
	rs := &replicated{bin: res.HearthBinary, home: filepath.Join(root, "failover", "home")}
	defer func() {
		if left := pgtest.ProcessesIn(pgData); pgData != "" && len(left) > 0 {
			fmt.Fprintf(os.Stderr, "\n!!!!!!!! %s: PostgreSQL PROCESS(ES) %v LEFT BEHIND (working in %s)\n", name, left, pgData)
			code = 3
		}
	}()
	defer benchutil.Teardown(name, root, c.keep, &code,
		func() error {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
			return nil
		},
		rs.stop,
		func() error {
			if pg == nil {
				return nil
			}
			return pg.Stop()
		})

	fmt.Fprintln(os.Stderr, "replicas: starting PostgreSQL")
	if pg, err = pgtest.Start(); err != nil {
		return fail("start PostgreSQL", err)
	}
	if err := pg.Admin().QueryRow(ctx, "SHOW data_directory").Scan(&pgData); err != nil {
		return fail("read PostgreSQL's data directory", err)
	}
	idle := postgresMemory(pgData)
	res.Memory.PostgresRSSMB, res.Memory.PostgresPSSMB, res.Memory.PostgresProcs = idle.RSSMB, idle.PSSMB, idle.Procs

	for _, b := range []backend{sqliteBackend(filepath.Join(root, "sqlite", "hearth.db")), postgresBackend(pg, pgData)} {
		closers = nil
		br, err := measureBackend(ctx, c, b, filepath.Join(root, b.name), &closers)
		for i := len(closers) - 1; i >= 0; i-- {
			if cerr := closers[i](); cerr != nil && err == nil {
				err = cerr
			}
		}
		closers = nil
		if err != nil {
			return fail(b.name, err)
		}
		br.BenchRSSRatio = benchutil.Ratio(br.BenchRSSMB, res.Memory.BenchRSSMB)
		if br.Postgres.Procs > 0 {
			br.PostgresRSSRatio = benchutil.Ratio(br.Postgres.RSSMB, res.Memory.PostgresRSSMB)
			br.PostgresPSSRatio = benchutil.Ratio(br.Postgres.PSSMB, res.Memory.PostgresPSSMB)
		}
		res.Backends = append(res.Backends, br)
	}
	sq, pq := res.Backends[0], res.Backends[1]
	for i, op := range pq.Ops {
		res.PostgresOverSQLite = append(res.PostgresOverSQLite, crossRatio{Op: op.Op,
			P50Ratio: benchutil.Ratio(op.API.P50, sq.Ops[i].API.P50), P99Ratio: benchutil.Ratio(op.API.P99, sq.Ops[i].API.P99)})
	}
	res.PopulateRatio = benchutil.Ratio(pq.PopulateS, sq.PopulateS)

	fmt.Fprintln(os.Stderr, "replicas: leader failover, two hearth servers on PostgreSQL")
	if res.Failover, err = rs.bench(ctx, pg, c.runs, res.Warnings.Add); err != nil {
		return fail("leader failover", err)
	}
	res.Host.Load1End = benchutil.Load1()

	printTable(res)
	return benchutil.Save(name, c.out, res, res.Warnings)
}

func printTable(res *result) {
	fmt.Printf("\nAPI latency, %d clusters and %d steps stored; %d calls of each through each layer (ms, nearest rank)\n",
		res.Clusters, res.Clusters*res.StepsPerCluster, res.N)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "backend\top\tstore p50\tp99\tcontrol p50\tp99\tAPI p50\tp99\tAPI÷store p50\tp99\t")
	for _, b := range res.Backends {
		for _, op := range b.Ops {
			fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.2f\t%.2f\t\n", b.Backend, op.Op,
				op.Store.P50, op.Store.P99, op.Control.P50, op.Control.P99, op.API.P50, op.API.P99, op.Ratio, op.RatioP99)
		}
	}
	tw.Flush()

	sq, pq := res.Backends[0], res.Backends[1]
	fmt.Println("\nPostgreSQL ÷ SQLite, through the API")
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tp50\tp99\t")
	for _, x := range res.PostgresOverSQLite {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t\n", x.Op, x.P50Ratio, x.P99Ratio)
	}
	tw.Flush()
	fmt.Printf("populate (%d x store.CreateCluster): PostgreSQL %.2fs ÷ SQLite %.2fs = %.2f\n", res.Clusters, pq.PopulateS, sq.PopulateS, res.PopulateRatio)

	fmt.Println("\nResident memory (MB) after each backend's calls (ratio over the floor, measured before any work)")
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tfloor\tSQLite\tPostgreSQL\t")
	m := res.Memory
	fmt.Fprintf(tw, "benchmark process (store, control plane, API, client) RSS\t%.1f\t%.1f (%.2f)\t%.1f (%.2f)\t\n",
		m.BenchRSSMB, sq.BenchRSSMB, sq.BenchRSSRatio, pq.BenchRSSMB, pq.BenchRSSRatio)
	fmt.Fprintf(tw, "PostgreSQL server, summed RSS (%d processes idle, %d after)\t%.1f\t-\t%.1f (%.2f)\t\n",
		m.PostgresProcs, pq.Postgres.Procs, m.PostgresRSSMB, pq.Postgres.RSSMB, pq.PostgresRSSRatio)
	fmt.Fprintf(tw, "PostgreSQL server, summed PSS (shared pages divided)\t%.1f\t-\t%.1f (%.2f)\t\n",
		m.PostgresPSSMB, pq.Postgres.PSSMB, pq.PostgresPSSRatio)
	tw.Flush()

	f := res.Failover.Summary
	fmt.Printf("\nLeader failover, %d runs (ms; the floor polls every %v, Hearth's side every %v)\n", f.Hearth.N, floorPoll, hearthPoll)
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tmedian\tmin\tmax\t")
	fmt.Fprintf(tw, "floor: kill -> PostgreSQL has released the leader's lock\t%.1f\t%.1f\t%.1f\t\n", f.Floor.Median, f.Floor.Min, f.Floor.Max)
	fmt.Fprintf(tw, "Hearth: kill -> the survivor lists itself leading\t%.1f\t%.1f\t%.1f\t\n", f.Hearth.Median, f.Hearth.Min, f.Hearth.Max)
	fmt.Fprintf(tw, "  of which until its log says %q\t%.1f\t%.1f\t%.1f\t\n", leadingMsg, f.Logged.Median, f.Logged.Min, f.Logged.Max)
	fmt.Fprintf(tw, "ratio of the medians\t%.1f\t\t\t\n", f.Ratio)
	fmt.Fprintf(tw, "each run's ratio\t%.1f\t%.1f\t%.1f\t\n", f.RunRatio.Median, f.RunRatio.Min, f.RunRatio.Max)
	tw.Flush()
}
