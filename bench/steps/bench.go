package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
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
	id, err := b.hearth.CreateCluster(ctx, "--name", "bench-steps", "--instance-type", "local.medium", "--instance-count", "3")
	b.clusterID = id
	if err != nil {
		return err
	}
	b.readySeconds = time.Since(t).Seconds()
	v, err := b.hearth.DescribeWaiting(ctx, b.clusterID)
	if err != nil {
		return err
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
	return b.hearth.AddStep(ctx, b.clusterID, cfg)
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

// msSince is t - t0 in milliseconds on the wall clock (t may come from a
// log or from the server: same host, same clock); 0 when t is unknown.
func msSince(t0, t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return benchutil.Millis(t.Round(0).Sub(t0.Round(0)))
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
