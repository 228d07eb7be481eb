package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

// sparkApp is the trivial PySpark application of part 2.
const sparkApp = `from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("hearth-bench-steps").getOrCreate()
print(spark.range(100).count())
spark.stop()
`

// sparkStep is one run of the application as a Type=SPARK step; seconds
// from just before add-steps was sent.
type sparkStep struct {
	StepId           string  `json:"step_id"`
	Seconds          float64 `json:"seconds"` // add-steps sent -> describe-step COMPLETED
	DispatchedS      float64 `json:"dispatched_s"`
	ProcessStartedS  float64 `json:"process_started_s"`
	ProcessExitedS   float64 `json:"process_exited_s"`
	CompletedS       float64 `json:"completed_recorded_s"`
	ProcessRunS      float64 `json:"process_run_s"` // spark-submit's own run inside the step
	MasterIdleWaitMs float64 `json:"master_idle_wait_ms"`
}

// sparkDirect is one run of the application with spark-submit directly.
type sparkDirect struct {
	Seconds          float64 `json:"seconds"` // exec -> exit
	Dir              string  `json:"dir"`
	MasterIdleWaitMs float64 `json:"master_idle_wait_ms"`
}

type sparkPair struct {
	Direct sparkDirect `json:"direct"`
	Step   sparkStep   `json:"step"`
}

type sparkResult struct {
	App           string      `json:"app"`
	Step          string      `json:"step"`
	DirectCommand string      `json:"direct_command"`
	Warmup        int         `json:"warmup_pairs_discarded"`
	Runs          []sparkPair `json:"runs"`
	Summary       struct {
		Step        benchutil.Dist `json:"step_s"`         // add-steps -> COMPLETED seen
		Direct      benchutil.Dist `json:"direct_s"`       // spark-submit exec -> exit
		StepProcess benchutil.Dist `json:"step_process_s"` // the step's spark-submit process, started -> exited
		Ratio       float64        `json:"ratio_median"`   // median(step) / median(direct)
		RatioMin    float64        `json:"ratio_min"`
		OverheadS   float64        `json:"overhead_median_s"` // median(step) - median(direct)
		// ProcessOverheadS is median(step process) - median(direct): how
		// much slower spark-submit itself runs inside a step (environment,
		// conf dir, load); the rest of OverheadS is Hearth's step path.
		ProcessOverheadS float64 `json:"process_overhead_median_s"`
	} `json:"summary"`
}

func (b *bench) sparkSubmitPath() string {
	return filepath.Join(b.cfg.sparkHome, "bin", "spark-submit")
}

// sparkClient runs `hearth spark-client`, as a user submitting from outside
// the cluster would, and checks that the properties file it wrote sends
// spark-submit to this cluster's master (with the cluster's RPC secret,
// which the master requires): the direct run then differs from the step
// only by what Hearth's step path adds.
func (b *bench) sparkClient(ctx context.Context) error {
	out, err := b.hearth.CLI(ctx, "spark-client", "--cluster-id", b.clusterID)
	if err != nil {
		return err
	}
	var sc struct{ PropertiesFile, MasterURL string }
	if err := json.Unmarshal(out, &sc); err != nil || sc.PropertiesFile == "" {
		return fmt.Errorf("spark-client: no PropertiesFile in %q", out)
	}
	props, err := readProperties(sc.PropertiesFile)
	if err != nil {
		return fmt.Errorf("spark-client: %w", err)
	}
	if m := props["spark.master"]; m != b.masterURL {
		return fmt.Errorf("spark-client: %s sets spark.master %q, but the cluster's master is %s", sc.PropertiesFile, m, b.masterURL)
	}
	if props["spark.authenticate"] != "true" || props["spark.authenticate.secret"] == "" {
		b.warn("spark-client: %s sets no spark.authenticate secret: the cluster's RPC is not authenticated, unlike Hearth's default", sc.PropertiesFile)
	}
	b.propsFile = sc.PropertiesFile
	return nil
}

// readProperties reads the "key value" lines of a Spark properties file
// (the form `hearth spark-client` writes; "key=value" is also read).
func readProperties(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, " \t=:")
		if i < 0 {
			out[line] = ""
			continue
		}
		out[line[:i]] = strings.TrimLeft(line[i:], " \t=:")
	}
	return out, nil
}

// runDirect runs the application with spark-submit against the cluster's
// master, with nothing of Hearth in between but the properties file
// `hearth spark-client` wrote (master and RPC secret).
func (b *bench) runDirect(ctx context.Context, app, dir string) (sparkDirect, error) {
	r := sparkDirect{Dir: dir}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, err
	}
	idle, err := b.hearth.WaitMasterIdle(ctx, b.clusterID, b.warn)
	if err != nil {
		return r, err
	}
	r.MasterIdleWaitMs = benchutil.Millis(idle)
	cmd := exec.Command(b.sparkSubmitPath(), "--properties-file", b.propsFile, app)
	cmd.Env = append(benchutil.CleanEnv(), "SPARK_HOME="+b.cfg.sparkHome, "SPARK_LOCAL_IP=127.0.0.1")
	cmd.Dir = dir
	out := filepath.Join(dir, "output.log")
	t0 := time.Now()
	g, err := benchutil.StartGroup("spark-submit", cmd, out)
	if err != nil {
		return r, err
	}
	b.trackDirect(g)
	select {
	case <-g.Exited():
	case <-ctx.Done():
		return r, ctx.Err()
	case <-time.After(b.cfg.timeout):
		return r, fmt.Errorf("direct spark-submit has not exited after %s (output in %s)", b.cfg.timeout, out)
	}
	r.Seconds = benchutil.Round3(time.Since(t0).Seconds())
	if err := b.stopDirect(); err != nil { // whatever the run left in its group
		return r, err
	}
	if code := g.Cmd.ProcessState.ExitCode(); code != 0 {
		return r, fmt.Errorf("direct spark-submit exited with status %d: %s", code, benchutil.TailFile(out, 2000))
	}
	if b, _ := os.ReadFile(out); !hasLine(string(b), "100") {
		return r, fmt.Errorf("direct spark-submit did not print 100 (output in %s)", out)
	}
	return r, nil
}

// runSparkStep runs the application as a Type=SPARK step.
func (b *bench) runSparkStep(ctx context.Context, app string) (sparkStep, error) {
	var r sparkStep
	idle, err := b.hearth.WaitMasterIdle(ctx, b.clusterID, b.warn)
	if err != nil {
		return r, err
	}
	r.MasterIdleWaitMs = benchutil.Millis(idle)
	cfg := hearth.StepConfig{ // what `hearth add-steps --steps Type=SPARK,Args=[app]` sends
		Name:            "Spark application",
		ActionOnFailure: hearth.ActionContinue,
		HadoopJarStep:   hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: []string{"spark-submit", app}},
	}
	id, t0, _, err := b.addStep(ctx, cfg, "Type=SPARK,ActionOnFailure=CONTINUE,Args=["+app+"]")
	if err != nil {
		return r, err
	}
	r.StepId = id
	st, seen, err := b.hearth.WaitStep(ctx, b.clusterID, id, b.cfg.poll, b.cfg.timeout)
	if err != nil {
		return r, err
	}
	sec := func(t time.Time) float64 { return benchutil.Round3(msSince(t0, t) / 1000) }
	r.Seconds = sec(seen)
	if st.Status.State != hearth.StepCompleted {
		return r, benchutil.StepFailed(st)
	}
	tl := st.Status.Timeline
	r.DispatchedS, r.CompletedS = sec(timeOr(tl.StartDateTime)), sec(timeOr(tl.EndDateTime))
	ct, err := b.hearth.ControllerLog(ctx, b.clusterID, id)
	if err != nil {
		return r, err
	}
	r.ProcessStartedS, r.ProcessExitedS = sec(ct.Started), sec(ct.Exited)
	r.ProcessRunS = benchutil.Round3(r.ProcessExitedS - r.ProcessStartedS)
	if out, err := b.hearth.StepLog(ctx, b.clusterID, id, "stdout"); err != nil || !hasLine(out, "100") {
		return r, fmt.Errorf("step %s did not print 100 (stdout %q, %v)", id, out, err)
	}
	return r, nil
}

func hasLine(s, line string) bool {
	return slices.Contains(strings.Split(strings.ReplaceAll(s, "\r", ""), "\n"), line)
}

// spark is part 2: warm-up pairs, then interleaved direct/step runs.
func (b *bench) spark(ctx context.Context) (*sparkResult, error) {
	app := filepath.Join(b.root, "app.py")
	if err := os.WriteFile(app, []byte(sparkApp), 0o644); err != nil {
		return nil, err
	}
	if err := b.sparkClient(ctx); err != nil {
		return nil, err
	}
	res := &sparkResult{
		App:           sparkApp,
		Step:          "Type=SPARK,Args=[" + app + "]",
		DirectCommand: "SPARK_LOCAL_IP=127.0.0.1 " + b.sparkSubmitPath() + " --properties-file " + b.propsFile + " " + app,
		Warmup:        b.cfg.sparkWarmup,
	}
	n := 0
	pair := func(what string) (sparkPair, error) {
		var p sparkPair
		var err error
		n++
		if p.Direct, err = b.runDirect(ctx, app, filepath.Join(b.root, fmt.Sprintf("direct-%d", n))); err != nil {
			return p, fmt.Errorf("%s, direct: %w", what, err)
		}
		if p.Step, err = b.runSparkStep(ctx, app); err != nil {
			return p, fmt.Errorf("%s, step: %w", what, err)
		}
		fmt.Fprintf(os.Stderr, "%s: direct %.2fs, step %.2fs (step process %.2fs)\n", what, p.Direct.Seconds, p.Step.Seconds, p.Step.ProcessRunS)
		return p, nil
	}
	var err error
	if res.Runs, err = benchutil.Runs("spark", b.cfg.sparkWarmup, b.cfg.sparkRuns, pair); err != nil {
		return nil, err
	}
	var st, di, pr []float64
	for _, p := range res.Runs {
		st, di, pr = append(st, p.Step.Seconds), append(di, p.Direct.Seconds), append(pr, p.Step.ProcessRunS)
	}
	s := &res.Summary
	s.Step, s.Direct, s.StepProcess = benchutil.DistOf(st), benchutil.DistOf(di), benchutil.DistOf(pr)
	s.Ratio = benchutil.Ratio(s.Step.Median, s.Direct.Median)
	s.RatioMin = benchutil.Ratio(s.Step.Min, s.Direct.Min)
	s.OverheadS = benchutil.Round3(s.Step.Median - s.Direct.Median)
	s.ProcessOverheadS = benchutil.Round3(s.StepProcess.Median - s.Direct.Median)
	return res, nil
}
