package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

// bench holds the one server and cluster every measurement uses.
type bench struct {
	cfg    config
	root   string
	hearth *benchutil.Hearth
	warn   func(format string, a ...any)

	clusterID    string
	masterURL    string // spark://...
	masterNode   string // node id of the master, whose agent runs the steps
	propsFile    string // `hearth spark-client`'s properties file, for the direct spark-submit
	readySeconds float64

	mu     sync.Mutex
	direct []*benchutil.Group // direct spark-submit runs, for cleanup
}

// createCluster runs `hearth create-cluster ... --wait` and reads the
// cluster's Spark master from describe-cluster.
func (b *bench) createCluster(ctx context.Context) error {
	t := time.Now()
	out, err := b.hearth.CLI(ctx, "create-cluster", "--name", "bench-steps",
		"--instance-type", "local.medium", "--instance-count", "3", "--wait")
	var created struct{ ClusterId string }
	json.Unmarshal(out, &created)
	if created.ClusterId != "" {
		b.clusterID = created.ClusterId
		b.hearth.SetActive(created.ClusterId)
	}
	if err != nil {
		return err
	}
	if b.clusterID == "" {
		return fmt.Errorf("create-cluster: no ClusterId in %q", out)
	}
	b.readySeconds = time.Since(t).Seconds()
	v, err := b.hearth.API.DescribeCluster(ctx, b.clusterID)
	if err != nil {
		return err
	}
	if st := v.Cluster.Status.State; st != hearth.ClusterWaiting {
		return fmt.Errorf("cluster %s is %s after create-cluster --wait", b.clusterID, st)
	}
	b.masterURL = v.Cluster.Spark.MasterURL
	for _, n := range v.Nodes {
		if n.Role == hearth.RoleMaster && !n.State.Ended() {
			b.masterNode = n.Id
		}
	}
	if b.masterURL == "" || b.masterNode == "" {
		return fmt.Errorf("describe-cluster %s: no Spark.MasterURL or no master node", b.clusterID)
	}
	return nil
}

// addStep adds one step and returns its id and when the request was about
// to be sent (t0) and when it returned.
func (b *bench) addStep(ctx context.Context, cfg hearth.StepConfig, shorthand string) (id string, t0, returned time.Time, err error) {
	if b.cfg.via == "cli" {
		t0 = time.Now()
		out, err := b.hearth.CLI(ctx, "add-steps", "--cluster-id", b.clusterID, "--steps", shorthand)
		returned = time.Now()
		if err != nil {
			return "", t0, returned, err
		}
		var r struct{ StepIds []string }
		if err := json.Unmarshal(out, &r); err != nil || len(r.StepIds) != 1 {
			return "", t0, returned, fmt.Errorf("add-steps: want one step id in %q", out)
		}
		return r.StepIds[0], t0, returned, nil
	}
	t0 = time.Now()
	ids, err := b.hearth.API.AddSteps(ctx, b.clusterID, []hearth.StepConfig{cfg})
	returned = time.Now()
	if err != nil {
		return "", t0, returned, err
	}
	if len(ids) != 1 {
		return "", t0, returned, fmt.Errorf("add-steps: want one step id, got %v", ids)
	}
	return ids[0], t0, returned, nil
}

// waitStep polls describe-step every cfg.poll until the step has ended; it
// returns the step and when its end was first seen.
func (b *bench) waitStep(ctx context.Context, id string) (*hearth.Step, time.Time, error) {
	tick := time.NewTicker(b.cfg.poll)
	defer tick.Stop()
	deadline := time.After(b.cfg.timeout)
	for {
		st, err := b.hearth.API.DescribeStep(ctx, b.clusterID, id)
		seen := time.Now()
		if err != nil && ctx.Err() != nil {
			return nil, seen, ctx.Err()
		}
		if err == nil && st.Status.State.Ended() {
			return st, seen, nil
		}
		select {
		case <-ctx.Done():
			return nil, seen, ctx.Err()
		case <-deadline:
			return st, seen, fmt.Errorf("step %s has not ended after %s", id, b.cfg.timeout)
		case <-tick.C:
		}
	}
}

// stepFailed describes a step that did not complete.
func stepFailed(st *hearth.Step) error {
	msg := string(st.Status.State)
	if fd := st.Status.FailureDetails; fd != nil {
		msg += ": " + fd.Reason + ": " + fd.Message
	} else if m := st.Status.StateChangeReason.Message; m != "" {
		msg += ": " + m
	}
	return fmt.Errorf("step %s ended %s", st.Id, msg)
}

// controllerTimes are the events of a step's controller log.
type controllerTimes struct {
	Began, Started, Exited time.Time
	ExitStatus             string
}

// controllerLog reads a step's controller log with `hearth logs --log-type
// controller`. Its lines start with a UTC timestamp with milliseconds:
//
//	2025-01-02T03:04:05.678Z INFO Step s-... (name) on node ...
//	2025-01-02T03:04:05.690Z INFO Started process 1234
//	2025-01-02T03:04:05.701Z INFO Step exited with status 0
func (b *bench) controllerLog(ctx context.Context, stepID string) (controllerTimes, error) {
	var ct controllerTimes
	out, err := b.hearth.CLI(ctx, "logs", "--cluster-id", b.clusterID, "--step-id", stepID, "--log-type", "controller")
	if err != nil {
		return ct, err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		ts, rest, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		at, err := time.Parse("2006-01-02T15:04:05.000Z", ts)
		if err != nil {
			continue
		}
		rest = strings.TrimPrefix(rest, "INFO ")
		switch {
		case strings.HasPrefix(rest, "Step "+stepID) && ct.Began.IsZero():
			ct.Began = at
		case strings.HasPrefix(rest, "Started process "):
			ct.Started = at
		case strings.HasPrefix(rest, "Step exited with status "):
			ct.Exited, ct.ExitStatus = at, strings.TrimPrefix(rest, "Step exited with status ")
		}
	}
	if ct.Started.IsZero() || ct.Exited.IsZero() {
		return ct, fmt.Errorf("step %s: no \"Started process\" or \"Step exited\" line in its controller log:\n%s", stepID, out)
	}
	return ct, nil
}

// planReceived returns, per step id, when the master's agent logged
// "starting step": it had received a plan listing the step.
func (b *bench) planReceived() map[string]time.Time {
	out := map[string]time.Time{}
	log := filepath.Join(b.hearth.Home, "clusters", b.clusterID, "nodes", b.masterNode, "agent.log")
	for _, l := range benchutil.SlogLines(log) {
		if l.Msg == "starting step" && l.Attrs["step"] != "" {
			if _, ok := out[l.Attrs["step"]]; !ok {
				out[l.Attrs["step"]] = l.At
			}
		}
	}
	return out
}

// stepLog returns all of a step's stdout.
func (b *bench) stepStdout(ctx context.Context, stepID string) (string, error) {
	var buf bytes.Buffer
	var off int64
	for {
		r, err := b.hearth.API.StepLog(ctx, b.clusterID, stepID, "stdout", off, false)
		if err != nil {
			return buf.String(), err
		}
		if len(r.Data) == 0 {
			return buf.String(), nil
		}
		buf.Write(r.Data)
		off = r.Next
	}
}

func (b *bench) trackDirect(g *benchutil.Group) {
	b.mu.Lock()
	b.direct = append(b.direct, g)
	b.mu.Unlock()
}

// stopDirect stops every direct spark-submit process group still tracked.
func (b *bench) stopDirect() error {
	b.mu.Lock()
	gs := b.direct
	b.direct = nil
	b.mu.Unlock()
	var errs []error
	for _, g := range gs {
		if err := g.Stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// dist summarises a sample.
type dist struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// distOf: median (mean of the middle two for even n), p90 by nearest rank.
func distOf(xs []float64) dist {
	if len(xs) == 0 {
		return dist{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	p90 := s[max(0, int(math.Ceil(0.9*float64(len(s))))-1)]
	return dist{N: len(s), Median: benchutil.Round3(med), P90: benchutil.Round3(p90), Min: benchutil.Round3(s[0]), Max: benchutil.Round3(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return benchutil.Round3(float64(d) / float64(time.Millisecond)) }

// msSince is t - t0 in milliseconds on the wall clock (t may come from a
// log or from the server: same host, same clock); 0 when t is unknown.
func msSince(t0, t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return ms(t.Round(0).Sub(t0.Round(0)))
}

func timeOr(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}

// serverLogFacts is what the server's log says about the steps.
type serverLogFacts struct {
	StepsEnded int `json:"steps_ended"`
	// StepEndedLines counts "step ended" lines: one per step would be the
	// minimum; more mean the server handled the same ending again.
	StepEndedLines int    `json:"step_ended_lines"`
	MostLines      int    `json:"most_step_ended_lines_for_one_step"`
	MostLinesStep  string `json:"most_step_ended_lines_step"`
	// Span of that step's "step ended" lines, first to last.
	MostLinesSpanS float64 `json:"most_step_ended_lines_span_s"`
}

func readServerLog(path string) serverLogFacts {
	var f serverLogFacts
	count := map[string]int{}
	first, last := map[string]time.Time{}, map[string]time.Time{}
	for _, l := range benchutil.SlogLines(path) {
		if l.Msg != "step ended" {
			continue
		}
		id := l.Attrs["step"]
		count[id]++
		f.StepEndedLines++
		if first[id].IsZero() {
			first[id] = l.At
		}
		last[id] = l.At
	}
	f.StepsEnded = len(count)
	for id, n := range count {
		if n > f.MostLines {
			f.MostLines, f.MostLinesStep = n, id
			f.MostLinesSpanS = benchutil.Round3(last[id].Sub(first[id]).Seconds())
		}
	}
	return f
}
