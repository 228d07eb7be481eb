package hearth

import (
	"fmt"
	"time"
)

// clusterMoves lists the transitions EMR's cluster state machine allows.
var clusterMoves = map[ClusterState][]ClusterState{
	ClusterStarting:      {ClusterBootstrapping, ClusterTerminating},
	ClusterBootstrapping: {ClusterRunning, ClusterWaiting, ClusterTerminating},
	ClusterRunning:       {ClusterWaiting, ClusterTerminating},
	ClusterWaiting:       {ClusterRunning, ClusterTerminating},
	ClusterTerminating:   {ClusterTerminated, ClusterTerminatedWithErrors},
}

// Transition moves c to state with reason at now. Moving to the state c is
// already in only updates the reason. Any other move EMR does not allow is
// an error (a bug in the caller, never a user mistake).
func (c *Cluster) Transition(to ClusterState, reason StateChangeReason, now time.Time) error {
	from := c.Status.State
	if from != to {
		allowed := false
		for _, s := range clusterMoves[from] {
			allowed = allowed || s == to
		}
		if !allowed {
			return fmt.Errorf("cluster %s: no transition from %s to %s", c.Id, from, to)
		}
	}
	c.Status.State = to
	c.Status.StateChangeReason = reason
	t := now.UTC()
	switch {
	case (to == ClusterWaiting || to == ClusterRunning) && c.Status.Timeline.ReadyDateTime == nil:
		c.Status.Timeline.ReadyDateTime = &t
	case to.Ended() && c.Status.Timeline.EndDateTime == nil:
		c.Status.Timeline.EndDateTime = &t
	}
	return nil
}

// Terminate starts terminating c for reason. It is idempotent: a cluster
// already terminating or ended is left alone and no error is returned. A
// user request on a termination-protected cluster is refused with ErrConflict
// and EMR's message.
func (c *Cluster) Terminate(reason StateChangeReason, now time.Time) error {
	if !c.Status.State.Active() {
		return nil
	}
	if reason.Code == ReasonUserRequest && c.TerminationProtected {
		return fmt.Errorf("%w: Could not shut down one or more job flows since they are termination protected (%s); turn protection off first with `hearth modify-cluster-attributes --cluster-id %s --no-termination-protected`", ErrConflict, c.Id, c.Id)
	}
	return c.Transition(ClusterTerminating, reason, now)
}

// FinishTermination moves a TERMINATING cluster to its final state:
// TERMINATED_WITH_ERRORS when the reason is a failure, TERMINATED otherwise.
func (c *Cluster) FinishTermination(now time.Time) error {
	to := ClusterTerminated
	if c.Status.StateChangeReason.Code.Failure() {
		to = ClusterTerminatedWithErrors
	}
	return c.Transition(to, c.Status.StateChangeReason, now)
}

// SetNodeState moves n to state with message at now, stamping its timeline.
func (n *Node) SetState(state NodeState, message string, now time.Time) {
	t := now.UTC()
	if state == NodeRunning && n.Timeline.ReadyDateTime == nil {
		n.Timeline.ReadyDateTime = &t
	}
	if state.Ended() && n.Timeline.EndDateTime == nil {
		n.Timeline.EndDateTime = &t
	}
	n.State = state
	n.StateMessage = message
}
