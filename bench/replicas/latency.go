package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/api"
	"github.com/hearthcluster/hearth/bench/internal/benchutil"
	"github.com/hearthcluster/hearth/client"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/internal/pgtest"
	"github.com/hearthcluster/hearth/provision/local"
	"github.com/hearthcluster/hearth/spark"
	"github.com/hearthcluster/hearth/store/postgres"
	"github.com/hearthcluster/hearth/store/sqlite"
)

// stepsPerCluster are the PENDING steps each stored cluster is created with.
const stepsPerCluster = 10

// backend is a store to measure: SQLite in a file, or PostgreSQL.
type backend struct {
	name string
	open func(ctx context.Context) (hearth.Store, error)
	// server reads the memory of the database server's processes; nil
	// when the database lives in this process (SQLite).
	server func() procMemory
}

func sqliteBackend(path string) backend {
	return backend{name: "sqlite", open: func(ctx context.Context) (hearth.Store, error) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		return sqlite.Open(ctx, path)
	}}
}

func postgresBackend(pg *pgtest.Server, data string) backend {
	return backend{name: "postgres",
		open: func(ctx context.Context) (hearth.Store, error) {
			return postgres.Open(ctx, pg.URL("hearth"))
		},
		server: func() procMemory { return postgresMemory(data) }}
}

// Latency summarises call times in milliseconds; percentiles by nearest
// rank.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

func latencyOf(ms []float64) Latency {
	if len(ms) == 0 {
		return Latency{}
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	rank := func(p int) float64 { return s[max(0, (p*len(s)+99)/100-1)] } // ceil(p/100 * n)
	return Latency{N: len(s), P50: benchutil.Round3(rank(50)), P99: benchutil.Round3(rank(99)),
		Min: benchutil.Round3(s[0]), Max: benchutil.Round3(s[len(s)-1])}
}

// opResult is one operation on one backend through the three layers.
type opResult struct {
	Op      string  `json:"op"`
	Store   Latency `json:"store_ms"`
	Control Latency `json:"control_ms"`
	API     Latency `json:"api_ms"`
	// Ratio is API p50 ÷ store p50, the headline; RatioP99 the same of
	// the p99s; ControlRatio control p50 ÷ store p50, the part of the
	// ratio that is the control plane's own work (extra reads, defaults).
	Ratio        float64 `json:"api_over_store_p50"`
	RatioP99     float64 `json:"api_over_store_p99"`
	ControlRatio float64 `json:"control_over_store_p50"`
}

type backendResult struct {
	Backend string `json:"backend"`
	// PopulateS is the time to store the clusters with their nodes and
	// steps, one store.CreateCluster each.
	PopulateS float64    `json:"populate_s"`
	Ops       []opResult `json:"ops"`
	// BenchRSSMB is this process's VmRSS after the calls (after a GC that
	// returns free memory to the OS), with the ratio over its floor.
	BenchRSSMB    float64 `json:"bench_rss_mb"`
	BenchRSSRatio float64 `json:"bench_rss_over_floor"`
	// Postgres is PostgreSQL's processes after the calls, with the store's
	// connections still open.
	Postgres         procMemory `json:"postgres,omitzero"`
	PostgresRSSRatio float64    `json:"postgres_rss_over_floor,omitempty"`
	PostgresPSSRatio float64    `json:"postgres_pss_over_floor,omitempty"`
}

// layer is one way of making a call: the store in-process (the floor), the
// control plane in-process, or the API over loopback HTTP.
type layer int

const (
	layerStore layer = iota
	layerControl
	layerAPI
	layers
)

var layerNames = [layers]string{"store", "control", "API"}

type operation struct {
	name  string
	pick  func() string // the cluster of the next call
	calls [layers]func(ctx context.Context, id string) error
}

// stepConfig is the step every add-steps adds, as `hearth add-steps
// --steps Type=CUSTOM_JAR,Jar=command-runner.jar,Args=[true]` sends it.
func stepConfig() hearth.StepConfig {
	return hearth.StepConfig{Name: "bench", ActionOnFailure: hearth.ActionContinue,
		HadoopJarStep: hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: []string{"true"}}}
}

// measureBackend opens b, stores the clusters, serves the API on it and
// times the operations. What it opens it appends to closers, which the
// caller runs in reverse order.
func measureBackend(ctx context.Context, c config, b backend, dir string, closers *[]func() error) (backendResult, error) {
	res := backendResult{Backend: b.name}
	st, err := b.open(ctx)
	if err != nil {
		return res, fmt.Errorf("open the store: %w", err)
	}
	*closers = append(*closers, st.Close)
	fmt.Fprintf(os.Stderr, "replicas: %s: storing %d clusters with %d steps each\n", b.name, c.clusters, stepsPerCluster)
	ids, took, err := populate(ctx, st, c.clusters)
	if err != nil {
		return res, err
	}
	res.PopulateS = benchutil.Round3(took.Seconds())
	if err := checkStored(ctx, st, ids); err != nil {
		return res, err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	url := "http://" + ln.Addr().String()
	key := make([]byte, 32)
	rand.Read(key)
	token := hearth.NewSecret("")
	discard := slog.New(slog.DiscardHandler)
	// No cp.Run: nothing reconciles the stored clusters, which have no
	// processes behind them.
	cp := control.New(control.Config{Store: st, Provisioners: []hearth.Provisioner{&local.Provisioner{Home: filepath.Join(dir, "home")}},
		LogDir: filepath.Join(dir, "logs"), MasterKey: key, URL: url, Logger: discard})
	srv := &http.Server{Handler: api.New(cp, token, "us-east-1", discard).Handler()}
	go srv.Serve(ln)
	*closers = append(*closers, func() error {
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shut)
	})
	cl := client.New(url, token)

	rng := mrand.New(mrand.NewPCG(1, 2)) // the same sequence on both backends
	random := func() string { return ids[rng.IntN(len(ids))] }
	// Adds go round a shuffled order, so that no cluster nears
	// hearth.MaxActiveSteps.
	order := slices.Clone(ids)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	next := 0
	spread := func() string { next++; return order[(next-1)%len(order)] }
	for _, op := range operations(st, cp, cl, random, spread) {
		fmt.Fprintf(os.Stderr, "replicas: %s: %s, %d + %d calls through each layer\n", b.name, op.name, c.warmup, c.n)
		r, err := measure(ctx, op, c.warmup, c.n)
		if err != nil {
			return res, err
		}
		res.Ops = append(res.Ops, r)
	}
	runtime.GC()
	debug.FreeOSMemory()
	res.BenchRSSMB = selfRSSMB()
	if b.server != nil {
		res.Postgres = b.server()
	}
	return res, nil
}

// populate stores n WAITING clusters of one master node, each with
// stepsPerCluster PENDING steps, one store.CreateCluster each, and returns
// their ids and the time it took.
func populate(ctx context.Context, st hearth.Store, n int) ([]string, time.Duration, error) {
	spec := hearth.ClusterSpec{ReleaseLabel: "spark-4.0.1",
		InstanceGroups: []hearth.InstanceGroupConfig{{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1}}}
	cfg := stepConfig()
	ids := make([]string, 0, n)
	start := time.Now()
	for i := range n {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		now := time.Now()
		spec.Name = fmt.Sprintf("bench-%04d", i)
		c, nodes, err := hearth.NewCluster(spec, "4.0.1", now)
		if err != nil {
			return nil, 0, err
		}
		c.Status.State = hearth.ClusterWaiting
		c.Spark.AuthSecret, c.Spark.UIKey = hearth.NewSecret(""), spark.NewUIKey()
		for _, nd := range nodes {
			nd.State = hearth.NodeRunning
		}
		steps := make([]*hearth.Step, stepsPerCluster)
		for j := range steps {
			if steps[j], err = hearth.NewStep(c, cfg, j, now); err != nil {
				return nil, 0, err
			}
		}
		if err := st.CreateCluster(ctx, c, nodes, steps); err != nil {
			return nil, 0, fmt.Errorf("store cluster %d: %w", i+1, err)
		}
		ids = append(ids, c.Id)
	}
	return ids, time.Since(start), nil
}

// checkStored checks, untimed, that the store holds the clusters and all
// their steps.
func checkStored(ctx context.Context, st hearth.Store, ids []string) error {
	cs, err := st.Clusters(ctx)
	if err != nil {
		return err
	}
	if len(cs) != len(ids) {
		return fmt.Errorf("the store lists %d clusters, want %d", len(cs), len(ids))
	}
	total := 0
	for _, id := range ids {
		steps, err := st.Steps(ctx, id)
		if err != nil {
			return err
		}
		total += len(steps)
	}
	if total != len(ids)*stepsPerCluster {
		return fmt.Errorf("the store holds %d steps, want %d", total, len(ids)*stepsPerCluster)
	}
	return nil
}

// operations are the three measured operations, each as the store does it
// (the floor), as the control plane does it, and through the API. Each
// call checks its answer.
func operations(st hearth.Store, cp *control.Server, cl *client.Client, random, spread func() string) []operation {
	cfg := stepConfig()
	checkView := func(v *control.ClusterView, id string) error {
		if v.Cluster.Id != id || v.Cluster.Status.State != hearth.ClusterWaiting || len(v.Nodes) != 1 {
			return fmt.Errorf("describe %s: got cluster %s in %s with %d nodes", id, v.Cluster.Id, v.Cluster.Status.State, len(v.Nodes))
		}
		return nil
	}
	checkSteps := func(steps []*hearth.Step, id string) error {
		if len(steps) < stepsPerCluster || steps[0].ClusterId != id {
			return fmt.Errorf("list steps of %s: got %d steps", id, len(steps))
		}
		return nil
	}
	checkAdded := func(ids []string) error {
		if len(ids) != 1 {
			return fmt.Errorf("add-steps: %d step ids, want 1", len(ids))
		}
		return nil
	}
	return []operation{
		{name: "describe-cluster", pick: random, calls: [layers]func(context.Context, string) error{
			func(ctx context.Context, id string) error {
				c, err := st.Cluster(ctx, id)
				if err != nil {
					return err
				}
				nodes, err := st.Nodes(ctx, id)
				if err != nil {
					return err
				}
				return checkView(&control.ClusterView{Cluster: c, Nodes: nodes}, id)
			},
			func(ctx context.Context, id string) error {
				v, err := cp.DescribeCluster(ctx, id)
				if err != nil {
					return err
				}
				return checkView(v, id)
			},
			func(ctx context.Context, id string) error {
				v, err := cl.DescribeCluster(ctx, id)
				if err != nil {
					return err
				}
				return checkView(v, id)
			},
		}},
		{name: "list-steps", pick: random, calls: [layers]func(context.Context, string) error{
			func(ctx context.Context, id string) error {
				steps, err := st.Steps(ctx, id)
				if err != nil {
					return err
				}
				return checkSteps(steps, id)
			},
			func(ctx context.Context, id string) error {
				steps, err := cp.ListSteps(ctx, id, nil, nil)
				if err != nil {
					return err
				}
				return checkSteps(steps, id)
			},
			func(ctx context.Context, id string) error {
				steps, err := cl.ListSteps(ctx, id, nil, nil)
				if err != nil {
					return err
				}
				return checkSteps(steps, id)
			},
		}},
		{name: "add-steps", pick: spread, calls: [layers]func(context.Context, string) error{
			func(ctx context.Context, id string) error {
				s, err := hearth.NewStep(&hearth.Cluster{Id: id, StepConcurrencyLevel: 1}, cfg, 0, time.Now())
				if err != nil {
					return err
				}
				return st.AddSteps(ctx, id, []*hearth.Step{s}, func(*hearth.Cluster) error { return nil })
			},
			func(ctx context.Context, id string) error {
				ids, err := cp.AddSteps(ctx, id, []hearth.StepConfig{cfg})
				if err != nil {
					return err
				}
				return checkAdded(ids)
			},
			func(ctx context.Context, id string) error {
				ids, err := cl.AddSteps(ctx, id, []hearth.StepConfig{cfg})
				if err != nil {
					return err
				}
				return checkAdded(ids)
			},
		}},
	}
}

// measure makes warmup, then n timed, calls of op through each layer,
// interleaved (the layer that goes first rotates) so that the layers share
// the machine's noise, each call on a cluster of its own.
func measure(ctx context.Context, op operation, warmup, n int) (opResult, error) {
	var ms [layers][]float64
	for i := range warmup + n {
		for k := range layers {
			l := (layer(i) + k) % layers
			id := op.pick()
			start := time.Now()
			err := op.calls[l](ctx, id)
			took := time.Since(start)
			if err != nil {
				if ctx.Err() != nil {
					return opResult{}, ctx.Err()
				}
				return opResult{}, fmt.Errorf("%s of %s through the %s: %w", op.name, id, layerNames[l], err)
			}
			if i >= warmup {
				ms[l] = append(ms[l], benchutil.Millis(took))
			}
		}
	}
	r := opResult{Op: op.name, Store: latencyOf(ms[layerStore]), Control: latencyOf(ms[layerControl]), API: latencyOf(ms[layerAPI])}
	r.Ratio = benchutil.Ratio(r.API.P50, r.Store.P50)
	r.RatioP99 = benchutil.Ratio(r.API.P99, r.Store.P99)
	r.ControlRatio = benchutil.Ratio(r.Control.P50, r.Store.P50)
	return r, nil
}
