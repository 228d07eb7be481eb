package benchutil

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
)

// AddStep adds one step to cluster clusterID with the client package's
// AddSteps (one request, the step config as `hearth add-steps` builds it)
// and returns its id, when the request was about to be sent and when it
// returned.
func (h *Hearth) AddStep(ctx context.Context, clusterID string, cfg hearth.StepConfig) (id string, sent, returned time.Time, err error) {
	sent = time.Now()
	ids, err := h.API.AddSteps(ctx, clusterID, []hearth.StepConfig{cfg})
	returned = time.Now()
	if err != nil {
		return "", sent, returned, err
	}
	if len(ids) != 1 {
		return "", sent, returned, fmt.Errorf("add-steps: want one step id, got %v", ids)
	}
	return ids[0], sent, returned, nil
}

// WaitStep polls describe-step every poll until step id of cluster
// clusterID has ended, and returns the step and when its end was first
// seen. After timeout it returns an error (and the last step it read, if
// any); when ctx is done, ctx's error.
func (h *Hearth) WaitStep(ctx context.Context, clusterID, id string, poll, timeout time.Duration) (*hearth.Step, time.Time, error) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	deadline := time.After(timeout)
	for {
		st, err := h.API.DescribeStep(ctx, clusterID, id)
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
			return st, seen, fmt.Errorf("step %s has not ended after %s", id, timeout)
		case <-tick.C:
		}
	}
}

// StepFailed describes a step that ended without completing: its state and
// its failure details, else its state change reason.
func StepFailed(st *hearth.Step) error {
	msg := string(st.Status.State)
	if fd := st.Status.FailureDetails; fd != nil {
		msg += ": " + fd.Reason + ": " + fd.Message
	} else if m := st.Status.StateChangeReason.Message; m != "" {
		msg += ": " + m
	}
	return fmt.Errorf("step %s ended %s", st.Id, msg)
}

// StepLog returns all of stream ("stdout" or "stderr") of step stepID of
// cluster clusterID, read through the API; on error, what it read before.
func (h *Hearth) StepLog(ctx context.Context, clusterID, stepID, stream string) (string, error) {
	var buf bytes.Buffer
	var off int64
	for {
		r, err := h.API.StepLog(ctx, clusterID, stepID, stream, off, false)
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

// ControllerTimes are the events of a step's controller log.
type ControllerTimes struct {
	Began      time.Time // its first line: step directory and logs ready
	Started    time.Time // "Started process <pid>"
	Exited     time.Time // "Step exited with status <status>"
	ExitStatus string
}

// ControllerLog reads the controller log of step stepID of cluster
// clusterID with `hearth logs --log-type controller`; it is an error if
// the log has no "Started process" or no "Step exited" line. Its lines
// start with a UTC timestamp with milliseconds:
//
//	2025-01-02T03:04:05.678Z INFO Step s-... (name) on node ...
//	2025-01-02T03:04:05.690Z INFO Started process 1234
//	2025-01-02T03:04:05.701Z INFO Step exited with status 0
func (h *Hearth) ControllerLog(ctx context.Context, clusterID, stepID string) (ControllerTimes, error) {
	var ct ControllerTimes
	out, err := h.CLI(ctx, "logs", "--cluster-id", clusterID, "--step-id", stepID, "--log-type", "controller")
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

// WaitMasterIdle waits until the Spark master of cluster clusterID lists
// no active application, so that a run does not share the workers with
// the previous run's executors, and returns how long it waited. After 30s
// it warns and returns with no error; when ctx is done, ctx's error. The
// master's /json is read through the gateway (FetchMaster).
func (h *Hearth) WaitMasterIdle(ctx context.Context, clusterID string, warn func(format string, a ...any)) (time.Duration, error) {
	hc := &http.Client{Timeout: 2 * time.Second}
	t := time.Now()
	for {
		j, err := h.FetchMaster(ctx, hc, clusterID)
		if err == nil && len(j.ActiveApps) == 0 {
			return time.Since(t), nil
		}
		if time.Since(t) > 30*time.Second {
			warn("the Spark master still lists %d active application(s) after 30s (err %v); running anyway", len(j.ActiveApps), err)
			return time.Since(t), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
