package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

// The trivial step of part 1, as the API takes it and as the CLI's
// shorthand writes it.
var (
	trivialArgs = []string{"bash", "-c", "echo started"}
	trivialStep = hearth.StepConfig{
		Name:            "Custom JAR", // what `hearth add-steps` names a CUSTOM_JAR step
		ActionOnFailure: hearth.ActionContinue,
		HadoopJarStep:   hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: trivialArgs},
	}
	trivialShorthand = "Type=CUSTOM_JAR,ActionOnFailure=CONTINUE,Jar=command-runner.jar,Args=[bash,-c,echo started]"
)

// stepRun is one trivial step, every time in ms from t0, the moment just
// before add-steps was sent. Server times come from the step's Timeline,
// agent times from the master node's agent.log (ns) and the step's
// controller log (ms, truncated); all are this host's wall clock.
type stepRun struct {
	StepId           string  `json:"step_id"`
	AddReturnedMs    float64 `json:"add_steps_returned_ms"`
	StoredMs         float64 `json:"stored_ms"`            // Timeline.CreationDateTime: the server stored the step PENDING
	DispatchedMs     float64 `json:"dispatched_ms"`        // Timeline.StartDateTime: the reconcile loop made it RUNNING
	PlanReceivedMs   float64 `json:"plan_received_ms"`     // agent.log "starting step": the agent's plan long-poll returned it
	AgentBeganMs     float64 `json:"agent_began_ms"`       // controller log's first line: step directory and log set up
	ProcessStartedMs float64 `json:"process_started_ms"`   // controller log "Started process <pid>": THE dispatch latency
	ProcessExitedMs  float64 `json:"process_exited_ms"`    // controller log "Step exited with status 0"
	CompletedMs      float64 `json:"completed_ms"`         // Timeline.EndDateTime: the server recorded COMPLETED
	CompletedSeenMs  float64 `json:"completed_seen_ms"`    // describe-step first showed COMPLETED
	GapBeforeMs      float64 `json:"random_gap_before_ms"` // the pause before this step
}

// floorExec is `bash -c 'echo started'` exec'd directly.
type floorExec struct {
	StartedMs float64 `json:"started_ms"` // exec.Cmd.Start returned
	ExitedMs  float64 `json:"exited_ms"`  // exec.Cmd.Wait returned
}

type phase struct {
	Name string         `json:"name"`
	Ms   benchutil.Dist `json:"ms"`
}

type dispatchResult struct {
	Step    string      `json:"step"`
	Runs    []stepRun   `json:"runs"`
	Floor   []floorExec `json:"floor"`
	Summary struct {
		ProcessStarted  benchutil.Dist `json:"process_started_ms"`    // add-steps -> step process started
		CompletedSeen   benchutil.Dist `json:"completed_seen_ms"`     // add-steps -> describe-step COMPLETED
		Completed       benchutil.Dist `json:"completed_recorded_ms"` // add-steps -> server recorded COMPLETED
		FloorStarted    benchutil.Dist `json:"floor_started_ms"`      // exec -> started, directly
		FloorExited     benchutil.Dist `json:"floor_exited_ms"`       // exec -> exited, directly
		OverheadStarted float64        `json:"overhead_started_ms"`   // median(process started) - median(floor started)
		OverheadSeen    float64        `json:"overhead_completed_seen_ms"`
		Phases          []phase        `json:"phases"` // where the time goes, per run, then summarised
	} `json:"summary"`
}

// runFloor execs the trivial command directly.
func (b *bench) runFloor() (floorExec, error) {
	var f floorExec
	var out bytes.Buffer
	cmd := exec.Command(trivialArgs[0], trivialArgs[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdout = benchutil.CleanEnv(), b.root, &out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return f, err
	}
	f.StartedMs = benchutil.Millis(time.Since(t0))
	err := cmd.Wait()
	f.ExitedMs = benchutil.Millis(time.Since(t0))
	if err != nil || out.String() != "started\n" {
		return f, fmt.Errorf("floor: bash -c 'echo started': %v, output %q", err, out.String())
	}
	return f, nil
}

// runTrivial adds the trivial step and times it to COMPLETED.
func (b *bench) runTrivial(ctx context.Context) (stepRun, time.Time, error) {
	var r stepRun
	id, t0, returned, err := b.addStep(ctx, trivialStep, trivialShorthand)
	if err != nil {
		return r, t0, err
	}
	r.StepId, r.AddReturnedMs = id, msSince(t0, returned)
	st, seen, err := b.hearth.WaitStep(ctx, b.clusterID, id, b.cfg.poll, b.cfg.timeout)
	if err != nil {
		return r, t0, err
	}
	r.CompletedSeenMs = msSince(t0, seen)
	if st.Status.State != hearth.StepCompleted {
		return r, t0, benchutil.StepFailed(st)
	}
	tl := st.Status.Timeline
	r.StoredMs, r.DispatchedMs, r.CompletedMs = msSince(t0, timeOr(tl.CreationDateTime)), msSince(t0, timeOr(tl.StartDateTime)), msSince(t0, timeOr(tl.EndDateTime))
	ct, err := b.hearth.ControllerLog(ctx, b.clusterID, id)
	if err != nil {
		return r, t0, err
	}
	if ct.ExitStatus != "0" {
		return r, t0, fmt.Errorf("step %s: exited with status %s", id, ct.ExitStatus)
	}
	r.AgentBeganMs, r.ProcessStartedMs, r.ProcessExitedMs = msSince(t0, ct.Began), msSince(t0, ct.Started), msSince(t0, ct.Exited)
	return r, t0, nil
}

// dispatch is part 1: warm-up steps, then n timed steps interleaved with
// n direct execs.
func (b *bench) dispatch(ctx context.Context) (*dispatchResult, error) {
	res := &dispatchResult{Step: trivialShorthand}
	for i := range b.cfg.warmup {
		r, _, err := b.runTrivial(ctx)
		if err != nil {
			return nil, fmt.Errorf("warm-up step %d: %w", i+1, err)
		}
		fmt.Fprintf(os.Stderr, "warm-up step: process started %.0fms, COMPLETED seen %.0fms\n", r.ProcessStartedMs, r.CompletedSeenMs)
	}
	t0s := map[string]time.Time{}
	for i := range b.cfg.n {
		f, err := b.runFloor()
		if err != nil {
			return nil, err
		}
		res.Floor = append(res.Floor, f)
		var gap time.Duration
		if b.cfg.gap > 0 {
			gap = rand.N(b.cfg.gap)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(gap):
			}
		}
		r, t0, err := b.runTrivial(ctx)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
		r.GapBeforeMs = benchutil.Millis(gap)
		res.Runs = append(res.Runs, r)
		t0s[r.StepId] = t0
		fmt.Fprintf(os.Stderr, "step %2d: process started %6.1fms  COMPLETED seen %6.1fms   (direct exec: started %.2fms, exited %.2fms)\n",
			i+1, r.ProcessStartedMs, r.CompletedSeenMs, f.StartedMs, f.ExitedMs)
	}
	// The agent's log says when its plan long-poll delivered each step.
	plans := b.planReceived()
	for i := range res.Runs {
		r := &res.Runs[i]
		r.PlanReceivedMs = msSince(t0s[r.StepId], plans[r.StepId])
		if r.PlanReceivedMs == 0 {
			b.warn("step %s: no \"starting step\" line in the master agent's log", r.StepId)
		}
	}

	col := func(f func(stepRun) float64) []float64 {
		var out []float64
		for _, r := range res.Runs {
			out = append(out, f(r))
		}
		return out
	}
	s := &res.Summary
	s.ProcessStarted = benchutil.DistOf(col(func(r stepRun) float64 { return r.ProcessStartedMs }))
	s.CompletedSeen = benchutil.DistOf(col(func(r stepRun) float64 { return r.CompletedSeenMs }))
	s.Completed = benchutil.DistOf(col(func(r stepRun) float64 { return r.CompletedMs }))
	var fs, fe []float64
	for _, f := range res.Floor {
		fs, fe = append(fs, f.StartedMs), append(fe, f.ExitedMs)
	}
	s.FloorStarted, s.FloorExited = benchutil.DistOf(fs), benchutil.DistOf(fe)
	s.OverheadStarted = benchutil.Round3(s.ProcessStarted.Median - s.FloorStarted.Median)
	s.OverheadSeen = benchutil.Round3(s.CompletedSeen.Median - s.FloorExited.Median)
	for _, p := range []struct {
		name string
		f    func(stepRun) float64
	}{
		{"add-steps sent -> step stored PENDING (API request)", func(r stepRun) float64 { return r.StoredMs }},
		{"stored -> dispatched RUNNING (reconcile loop)", func(r stepRun) float64 { return r.DispatchedMs - r.StoredMs }},
		{"dispatched -> agent has it (plan long-poll)", func(r stepRun) float64 { return r.PlanReceivedMs - r.DispatchedMs }},
		{"agent has it -> step set up (dir, controller log)", func(r stepRun) float64 { return r.AgentBeganMs - r.PlanReceivedMs }},
		{"set up -> process started", func(r stepRun) float64 { return r.ProcessStartedMs - r.AgentBeganMs }},
		{"process ran (started -> exited)", func(r stepRun) float64 { return r.ProcessExitedMs - r.ProcessStartedMs }},
		{"exited -> COMPLETED recorded (log shipping, report)", func(r stepRun) float64 { return r.CompletedMs - r.ProcessExitedMs }},
		{"recorded -> seen by describe-step poll", func(r stepRun) float64 { return r.CompletedSeenMs - r.CompletedMs }},
	} {
		s.Phases = append(s.Phases, phase{Name: p.name, Ms: benchutil.DistOf(col(p.f))})
	}
	return res, nil
}
