package control

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/spark"
)

// AddSteps validates cfgs and appends them to the cluster's queue, all or
// none. Steps can be added to a cluster that is not terminating or ended.
func (s *Server) AddSteps(ctx context.Context, clusterID string, cfgs []hearth.StepConfig) ([]string, error) {
	if len(cfgs) == 0 {
		return nil, hearth.Invalid("steps", "", "give at least one step")
	}
	c, err := s.store.Cluster(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	steps, err := s.newSteps(ctx, c, cfgs)
	if err != nil {
		return nil, err
	}
	err = s.store.AddSteps(ctx, clusterID, steps, func(c *hearth.Cluster) error {
		if !c.Status.State.Active() {
			return fmt.Errorf("%w: cluster %s is %s; steps can only be added to a cluster that is STARTING, BOOTSTRAPPING, RUNNING or WAITING", hearth.ErrConflict, c.Id, c.Status.State)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(steps))
	for i, st := range steps {
		ids[i] = st.Id
		s.log.Info("step added", "cluster", clusterID, "step", st.Id, "name", st.Name)
	}
	s.changes.notify()
	return ids, nil
}

func (s *Server) newSteps(ctx context.Context, c *hearth.Cluster, cfgs []hearth.StepConfig) ([]*hearth.Step, error) {
	var steps []*hearth.Step
	for i, cfg := range cfgs {
		st, err := hearth.NewStep(c, cfg, i, s.now())
		if err != nil {
			return nil, err
		}
		if _, local := s.prov[c.Provisioner].(hearth.HostBound); local {
			if err := checkStepFiles(st, i); err != nil {
				return nil, err
			}
		} else if err := s.stageStepFiles(ctx, c, st, i); err != nil {
			return nil, err
		}
		if err := s.checkStepObjects(ctx, st, i); err != nil {
			return nil, err
		}
		steps = append(steps, st)
	}
	return steps, nil
}

// checkStepFiles rejects a step naming a local file that does not exist:
// better now, with the field named, than as a failed step later. It checks
// file:// arguments, the script of script-runner.jar, and the application
// of spark-submit given as an absolute path.
func checkStepFiles(st *hearth.Step, i int) error {
	args := st.Config.Args
	for _, j := range localFileArgs(st) {
		a := args[j]
		if _, err := os.Stat(strings.TrimPrefix(a, "file://")); err != nil {
			return hearth.Invalid(fmt.Sprintf("steps[%d].HadoopJarStep.Args[%d]", i, j), a, "no such file on the Hearth server's host; give an existing path (absolute, or file://...)")
		}
	}
	if j := st.Config.Jar; !hearth.IsCommandRunner(j) && !hearth.IsScriptRunner(j) {
		path := strings.TrimPrefix(j, "file://")
		if _, err := os.Stat(path); err != nil && !strings.Contains(j, "://") {
			return hearth.Invalid(fmt.Sprintf("steps[%d].HadoopJarStep.Jar", i), j, "no such file on the Hearth server's host")
		}
	}
	return nil
}

// localFileArgs are the indexes of the arguments of st that name files on
// the control plane's machine: file:// arguments, the script of
// script-runner.jar, and the application of spark-submit given as an
// absolute path (EMR's /usr/lib/spark paths are the node's runtime).
func localFileArgs(st *hearth.Step) []int {
	args := st.Config.Args
	var out []int
	for j, a := range args {
		_, isURI := strings.CutPrefix(a, "file://")
		app := j > 0 && hearth.IsCommandRunner(st.Config.Jar) && spark.EMRCommand(args[0]) == "spark-submit" && j == hearth.SparkSubmitAppIndex(args)
		script := j == 0 && hearth.IsScriptRunner(st.Config.Jar)
		if (isURI || ((app || script) && filepath.IsAbs(a))) && !spark.IsEMRPath(a) {
			out = append(out, j)
		}
	}
	return out
}

// checkStepObjects refuses a step whose program (a custom jar, the
// application of spark-submit, the script of script-runner.jar) is an
// s3:// object that cannot be read. Data URIs are the program's business.
func (s *Server) checkStepObjects(ctx context.Context, st *hearth.Step, i int) error {
	args := st.Config.Args
	if j := st.Config.Jar; !hearth.IsCommandRunner(j) && !hearth.IsScriptRunner(j) {
		if err := s.checkObject(ctx, fmt.Sprintf("steps[%d].HadoopJarStep.Jar", i), j); err != nil {
			return err
		}
	}
	program := -1
	switch {
	case hearth.IsScriptRunner(st.Config.Jar):
		program = 0
	case hearth.IsCommandRunner(st.Config.Jar) && len(args) > 0 && spark.EMRCommand(args[0]) == "spark-submit":
		program = hearth.SparkSubmitAppIndex(args)
	}
	if program >= 0 && program < len(args) {
		return s.checkObject(ctx, fmt.Sprintf("steps[%d].HadoopJarStep.Args[%d]", i, program), args[program])
	}
	return nil
}

// ListSteps returns the cluster's steps, newest first, filtered by states
// and ids when given.
func (s *Server) ListSteps(ctx context.Context, clusterID string, states []hearth.StepState, ids []string) ([]*hearth.Step, error) {
	if _, err := s.store.Cluster(ctx, clusterID); err != nil {
		return nil, err
	}
	steps, err := s.store.Steps(ctx, clusterID, states...)
	if err != nil {
		return nil, err
	}
	slices.Reverse(steps)
	if len(ids) > 0 {
		steps = slices.DeleteFunc(steps, func(st *hearth.Step) bool { return !slices.Contains(ids, st.Id) })
	}
	if steps == nil {
		steps = []*hearth.Step{}
	}
	return steps, nil
}

// DescribeStep returns one step.
func (s *Server) DescribeStep(ctx context.Context, clusterID, stepID string) (*hearth.Step, error) {
	return s.store.Step(ctx, clusterID, stepID)
}

// CancelStepsInfo is EMR's per-step answer to CancelSteps.
type CancelStepsInfo struct {
	StepId string `json:"StepId"`
	Status string `json:"Status"` // SUBMITTED or FAILED
	Reason string `json:"Reason,omitempty"`
}

// Cancel options, as EMR names them.
const (
	CancelSendInterrupt    = "SEND_INTERRUPT"
	CancelTerminateProcess = "TERMINATE_PROCESS"
)

// CancelSteps cancels steps: a PENDING step is CANCELLED at once; a RUNNING
// one goes to CANCEL_PENDING and its agent stops its process tree. Each
// step gets its own answer, as in EMR.
func (s *Server) CancelSteps(ctx context.Context, clusterID string, ids []string, option string) ([]CancelStepsInfo, error) {
	option = strings.ToUpper(option)
	switch option {
	case "":
		option = CancelSendInterrupt
	case CancelSendInterrupt, CancelTerminateProcess:
	default:
		return nil, hearth.Invalid("step-cancellation-option", option, "must be SEND_INTERRUPT or TERMINATE_PROCESS")
	}
	if len(ids) == 0 {
		return nil, hearth.Invalid("step-ids", "", "give at least one step id")
	}
	if _, err := s.store.Cluster(ctx, clusterID); err != nil {
		return nil, err
	}
	var out []CancelStepsInfo
	for _, id := range ids {
		info := CancelStepsInfo{StepId: id, Status: "SUBMITTED"}
		_, err := s.store.UpdateStep(ctx, clusterID, id, func(st *hearth.Step) error {
			switch st.Status.State {
			case hearth.StepPending:
				st.SetState(hearth.StepCancelled, "Cancelled by user request", s.now())
			case hearth.StepRunning:
				st.SetState(hearth.StepCancelPending, "Cancel requested by user", s.now())
				st.CancelOption = option
			case hearth.StepCancelPending:
			default:
				return fmt.Errorf("step is %s", st.Status.State)
			}
			return nil
		})
		if err != nil {
			info.Status, info.Reason = "FAILED", err.Error()
		}
		out = append(out, info)
	}
	s.bumpMaster(ctx, clusterID)
	s.changes.notify()
	return out, nil
}

// bumpMaster increases the plan version of the cluster's master node, so
// its agent fetches the new step list.
func (s *Server) bumpMaster(ctx context.Context, clusterID string) {
	nodes, err := s.store.Nodes(ctx, clusterID)
	if err != nil {
		return
	}
	for _, n := range nodes {
		if n.Role == hearth.RoleMaster && !n.State.Ended() {
			s.store.UpdateNode(ctx, n.Id, func(n *hearth.Node) error { n.PlanVersion++; return nil })
		}
	}
}

// reconcileSteps dispatches pending steps up to the concurrency level, keeps
// the cluster RUNNING while steps run and WAITING otherwise, and applies
// auto-termination.
func (s *Server) reconcileSteps(ctx context.Context, c *hearth.Cluster) error {
	if st := c.Status.State; st != hearth.ClusterWaiting && st != hearth.ClusterRunning {
		return nil
	}
	steps, err := s.store.Steps(ctx, c.Id, hearth.StepPending, hearth.StepRunning, hearth.StepCancelPending)
	if err != nil {
		return err
	}
	running, dispatched := 0, false
	for _, st := range steps {
		if st.Status.State != hearth.StepPending {
			running++
		}
	}
	level := max(c.StepConcurrencyLevel, 1)
	nodes, err := s.store.Nodes(ctx, c.Id)
	if err != nil {
		return err
	}
	runner := stepRunner(nodes)
	for _, st := range steps {
		if st.Status.State != hearth.StepPending || running >= level || runner == nil {
			continue
		}
		if _, err := s.store.UpdateStep(ctx, c.Id, st.Id, func(st *hearth.Step) error {
			if st.Status.State == hearth.StepPending {
				st.SetState(hearth.StepRunning, "", s.now())
				st.RunsOn = runner.Id
			}
			return nil
		}); err != nil {
			return err
		}
		running++
		dispatched = true
		if created := st.Status.Timeline.CreationDateTime; created != nil {
			s.instruments.dispatch.Observe(s.now().Sub(*created).Seconds())
		}
		s.log.Info("step dispatched", "cluster", c.Id, "step", st.Id, "node", runner.Id)
	}
	if dispatched {
		s.bumpMaster(ctx, c.Id)
		s.changes.notify()
	}

	now := s.now()
	_, err = s.store.UpdateCluster(ctx, c.Id, func(c *hearth.Cluster) error {
		switch {
		case !c.Status.State.Active() || c.Status.State == hearth.ClusterStarting || c.Status.State == hearth.ClusterBootstrapping:
			return nil
		case running > 0 && c.Status.State == hearth.ClusterWaiting:
			return c.Transition(hearth.ClusterRunning, hearth.StateChangeReason{Message: "Running step"}, now)
		case running == 0 && len(steps) == 0 && c.AutoTerminate:
			return c.Terminate(s.stepsDoneReason(ctx, c.Id), now)
		case running == 0 && len(steps) == 0 && c.IdleTimeout > 0 && idleSince(c, now, s) > time.Duration(c.IdleTimeout)*time.Second:
			return c.Terminate(hearth.StateChangeReason{Code: hearth.ReasonAllStepsCompleted,
				Message: fmt.Sprintf("Cluster was idle for %ds (auto-termination policy)", c.IdleTimeout)}, now)
		case running == 0 && c.Status.State == hearth.ClusterRunning:
			return c.Transition(hearth.ClusterWaiting, hearth.StateChangeReason{Message: "Cluster ready to run steps."}, now)
		}
		return nil
	})
	return err
}

// stepsDoneReason is the reason an auto-terminating cluster ends with.
func (s *Server) stepsDoneReason(ctx context.Context, clusterID string) hearth.StateChangeReason {
	r := hearth.StateChangeReason{Code: hearth.ReasonAllStepsCompleted, Message: "Steps completed"}
	if failed, err := s.store.Steps(ctx, clusterID, hearth.StepFailed); err == nil && len(failed) > 0 {
		r.Message = "Steps completed with errors"
	}
	return r
}

// idleSince is how long the cluster has had nothing to do: since its last
// step ended, or since it became ready.
func idleSince(c *hearth.Cluster, now time.Time, s *Server) time.Duration {
	last := c.Status.Timeline.ReadyDateTime
	if steps, err := s.store.Steps(context.Background(), c.Id); err == nil {
		for _, st := range steps {
			if end := st.Status.Timeline.EndDateTime; end != nil && (last == nil || end.After(*last)) {
				last = end
			}
		}
	}
	if last == nil {
		return 0
	}
	return now.Sub(*last)
}

// stepReports applies the steps part of an agent's report: a step that is
// done becomes COMPLETED, FAILED or CANCELLED, and a failure applies the
// step's ActionOnFailure.
func (s *Server) stepReports(ctx context.Context, n *hearth.Node, reports []hearth.StepReport) error {
	locked := false
	for _, r := range reports {
		if !r.Done {
			continue
		}
		if !locked {
			unlock, err := s.lockCluster(ctx, n.ClusterId)
			if err != nil {
				return err
			}
			defer unlock()
			locked = true
		}
		var failed *hearth.Step
		ended := false
		logURI := ""
		if c, err := s.store.Cluster(ctx, n.ClusterId); err == nil {
			logURI = c.LogUri
		}
		st, err := s.store.UpdateStep(ctx, n.ClusterId, r.Id, func(st *hearth.Step) error {
			if st.Status.State.Ended() {
				return nil // reported again before the agent saw its new plan
			}
			if st.RunsOn != "" && st.RunsOn != n.Id {
				return nil // not this node's step
			}
			ended = true
			code := r.ExitCode
			st.ExitCode = &code
			switch {
			case r.Cancelled || st.Status.State == hearth.StepCancelPending:
				st.SetState(hearth.StepCancelled, "Cancelled by user request", s.now())
			case r.ExitCode == 0:
				st.SetState(hearth.StepCompleted, "", s.now())
			default:
				st.SetState(hearth.StepFailed, "", s.now())
				st.Status.FailureDetails = r.Failure
				if fd := st.Status.FailureDetails; fd != nil {
					stream := fd.LogFile
					if !validStream(stream) {
						stream = "stderr"
					}
					// EMR names the copy under the log URI; without one,
					// the control plane's own file.
					fd.LogFile = s.stepLogs.where(n.ClusterId, st.Id, stream)
					if logURI != "" {
						fd.LogFile = stepLogURI(logURI, n.ClusterId, st.Id, stream)
					}
				}
				failed = st
			}
			return nil
		})
		if errors.Is(err, hearth.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !ended {
			continue
		}
		s.log.Info("step ended", "cluster", n.ClusterId, "step", st.Id, "state", st.Status.State, "exit", r.ExitCode)
		s.bumpMaster(ctx, n.ClusterId) // the agent's next plan drops the step
		s.copyStepLogs(ctx, n.ClusterId, st.Id)
		if failed != nil {
			if err := s.onStepFailure(ctx, n.ClusterId, failed); err != nil {
				return err
			}
		}
		s.changes.notify()
	}
	return nil
}

// onStepFailure applies EMR's ActionOnFailure. A termination-protected
// cluster is not shut down by a failing step: it cancels its pending steps
// and waits, as EMR's does.
func (s *Server) onStepFailure(ctx context.Context, clusterID string, st *hearth.Step) error {
	c, err := s.store.Cluster(ctx, clusterID)
	if err != nil {
		return err
	}
	action := st.ActionOnFailure
	if c.TerminationProtected && (action == hearth.ActionTerminateCluster || action == hearth.ActionTerminateJobFlow) {
		s.log.Info("step failure would terminate a protected cluster; waiting instead", "cluster", clusterID, "step", st.Id)
		action = hearth.ActionCancelAndWait
	}
	switch action {
	case hearth.ActionContinue:
		return nil
	case hearth.ActionCancelAndWait, hearth.ActionTerminateCluster, hearth.ActionTerminateJobFlow:
		if err := s.cancelPending(ctx, clusterID, fmt.Sprintf("Cancelled because step %s failed", st.Id)); err != nil {
			return err
		}
	}
	if action == hearth.ActionCancelAndWait {
		return nil
	}
	_, err = s.store.UpdateCluster(ctx, clusterID, func(c *hearth.Cluster) error {
		return c.Terminate(hearth.StateChangeReason{Code: hearth.ReasonStepFailure, Message: fmt.Sprintf("Shut down as step %s failed", st.Id)}, s.now())
	})
	return err
}

func (s *Server) cancelPending(ctx context.Context, clusterID, why string) error {
	pending, err := s.store.Steps(ctx, clusterID, hearth.StepPending)
	if err != nil {
		return err
	}
	for _, p := range pending {
		if _, err := s.store.UpdateStep(ctx, clusterID, p.Id, func(st *hearth.Step) error {
			if st.Status.State == hearth.StepPending {
				st.SetState(hearth.StepCancelled, why, s.now())
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// endSteps settles the steps of a terminating cluster: pending ones are
// CANCELLED, running ones INTERRUPTED.
func (s *Server) endSteps(ctx context.Context, clusterID string) error {
	steps, err := s.store.Steps(ctx, clusterID, hearth.StepPending, hearth.StepRunning, hearth.StepCancelPending)
	if err != nil {
		return err
	}
	for _, st := range steps {
		if _, err := s.store.UpdateStep(ctx, clusterID, st.Id, func(st *hearth.Step) error {
			switch st.Status.State {
			case hearth.StepPending:
				st.SetState(hearth.StepCancelled, "Cancelled: the cluster terminated", s.now())
			case hearth.StepRunning, hearth.StepCancelPending:
				st.SetState(hearth.StepInterrupted, "Interrupted: the cluster terminated", s.now())
			}
			return nil
		}); err != nil {
			return err
		}
		s.copyStepLogs(ctx, clusterID, st.Id)
	}
	return nil
}

// stepRuns is the steps part of master node nodeID's plan: those it runs
// (and, if it is the first master node, any a server before RunsOn
// started).
func (s *Server) stepRuns(ctx context.Context, clusterID, nodeID string, first bool) ([]hearth.StepRun, error) {
	steps, err := s.store.Steps(ctx, clusterID, hearth.StepRunning, hearth.StepCancelPending)
	if err != nil {
		return nil, err
	}
	var out []hearth.StepRun
	for _, st := range steps {
		if st.RunsOn != nodeID && (st.RunsOn != "" || !first) {
			continue
		}
		out = append(out, hearth.StepRun{
			Id: st.Id, Name: st.Name, Config: st.Config,
			Cancel: st.Status.State == hearth.StepCancelPending, CancelOption: st.CancelOption,
		})
	}
	return out, nil
}

func validStream(stream string) bool { return slices.Contains(hearth.LogStreams, stream) }

// AppendStepLog stores a chunk an agent shipped and returns how many bytes
// of the stream the control plane now holds. Bytes it already has are
// skipped; a chunk that would leave a gap is refused with the size, so the
// agent resends from there.
func (s *Server) AppendStepLog(ctx context.Context, n *hearth.Node, chunk hearth.LogChunk) (int64, error) {
	if !validStream(chunk.Stream) {
		return 0, hearth.Invalid("Stream", chunk.Stream, "must be controller, stdout or stderr")
	}
	if chunk.Offset < 0 || chunk.Offset > hearth.MaxLogOffset {
		return 0, hearth.Invalid("Offset", strconv.FormatInt(chunk.Offset, 10), fmt.Sprintf("must be between 0 and %d", hearth.MaxLogOffset))
	}
	if _, err := s.store.Step(ctx, n.ClusterId, chunk.StepId); err != nil {
		return 0, err
	}
	size, grew, err := s.stepLogs.append(ctx, n.ClusterId, chunk.StepId, chunk.Stream, chunk.Offset, chunk.Data)
	if grew {
		s.logs.notify()
	}
	return size, err
}

// LogRead is a piece of a step's log.
type LogRead struct {
	Data []byte `json:"Data"`
	// Next is the offset to ask for next.
	Next int64 `json:"Next"`
	// Ended is true when the step has ended and Data reaches the end of
	// the stream: a follower can stop.
	Ended bool `json:"Ended"`
}

// ReadStepLog returns up to 1 MiB of a step's log stream from offset. With
// wait, it waits up to 20s for bytes past offset while the step runs.
func (s *Server) ReadStepLog(ctx context.Context, clusterID, stepID, stream string, offset int64, wait bool) (*LogRead, error) {
	if !validStream(stream) {
		return nil, hearth.Invalid("stream", stream, "must be controller, stdout or stderr")
	}
	deadline := time.After(20 * time.Second)
	for {
		notified := s.logs.wait()
		st, err := s.store.Step(ctx, clusterID, stepID)
		if err != nil {
			return nil, err
		}
		data, err := s.stepLogs.read(ctx, clusterID, stepID, stream, offset, 1<<20)
		if err != nil {
			return nil, err
		}
		r := &LogRead{Data: data, Next: offset + int64(len(data))}
		r.Ended = st.Status.State.Ended() && len(r.Data) == 0
		if len(r.Data) > 0 || r.Ended || !wait {
			return r, nil
		}
		select {
		case <-notified:
		case <-s.changes.wait():
		case <-deadline:
			return r, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
