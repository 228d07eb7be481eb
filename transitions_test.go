package hearth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

// clusterIn returns a fresh cluster forced into state.
func clusterIn(t *testing.T, state hearth.ClusterState) *hearth.Cluster {
	t.Helper()
	c, _, err := hearth.NewCluster(hearth.ClusterSpec{
		InstanceGroups: []hearth.InstanceGroupConfig{group(hearth.RoleMaster, "local.small", 1)},
	}, "3.5.1", now)
	if err != nil {
		t.Fatalf("NewCluster: %v", err)
	}
	c.Status.State = state
	return c
}

func TestTransitionLifecycle(t *testing.T) {
	c := clusterIn(t, hearth.ClusterStarting)
	path := []hearth.ClusterState{
		hearth.ClusterBootstrapping, hearth.ClusterWaiting, hearth.ClusterRunning,
		hearth.ClusterWaiting, hearth.ClusterTerminating, hearth.ClusterTerminated,
	}
	var ready time.Time
	for i, to := range path {
		at := now.Add(time.Duration(i+1) * time.Minute)
		reason := hearth.StateChangeReason{Message: "to " + string(to)}
		if err := c.Transition(to, reason, at); err != nil {
			t.Fatalf("step %d: Transition to %s: %v", i, to, err)
		}
		if c.Status.State != to || c.Status.StateChangeReason != reason {
			t.Fatalf("step %d: status = %s %+v, want %s %+v", i, c.Status.State, c.Status.StateChangeReason, to, reason)
		}
		rt := c.Status.Timeline.ReadyDateTime
		switch {
		case i == 0 && rt != nil:
			t.Errorf("ReadyDateTime %v set on BOOTSTRAPPING", rt)
		case i == 1:
			if rt == nil || !rt.Equal(at) {
				t.Fatalf("ReadyDateTime = %v on first WAITING, want %v", rt, at)
			}
			ready = *rt
		case i > 1 && (rt == nil || !rt.Equal(ready)):
			t.Errorf("step %d (%s): ReadyDateTime = %v, want it kept at %v", i, to, rt, ready)
		}
		et := c.Status.Timeline.EndDateTime
		if to.Ended() {
			if et == nil || !et.Equal(at) {
				t.Errorf("EndDateTime = %v at %s, want %v", et, to, at)
			}
		} else if et != nil {
			t.Errorf("EndDateTime = %v at %s, want unset", et, to)
		}
	}
}

func TestTransitionSameStateUpdatesReason(t *testing.T) {
	c := clusterIn(t, hearth.ClusterRunning)
	reason := hearth.StateChangeReason{Message: "still running"}
	if err := c.Transition(hearth.ClusterRunning, reason, now); err != nil {
		t.Fatalf("Transition to the same state: %v", err)
	}
	if c.Status.StateChangeReason != reason {
		t.Errorf("reason = %+v, want %+v", c.Status.StateChangeReason, reason)
	}
}

func TestTransitionDisallowed(t *testing.T) {
	tests := []struct{ from, to hearth.ClusterState }{
		{hearth.ClusterStarting, hearth.ClusterWaiting},
		{hearth.ClusterStarting, hearth.ClusterRunning},
		{hearth.ClusterTerminated, hearth.ClusterRunning},
		{hearth.ClusterTerminatedWithErrors, hearth.ClusterStarting},
		{hearth.ClusterTerminating, hearth.ClusterWaiting},
		{hearth.ClusterWaiting, hearth.ClusterTerminated},
	}
	for _, tc := range tests {
		t.Run(string(tc.from)+"->"+string(tc.to), func(t *testing.T) {
			c := clusterIn(t, tc.from)
			before := c.Status
			err := c.Transition(tc.to, hearth.StateChangeReason{Message: "nope"}, now)
			if err == nil {
				t.Fatalf("Transition %s -> %s succeeded", tc.from, tc.to)
			}
			if !strings.Contains(err.Error(), string(tc.from)) || !strings.Contains(err.Error(), string(tc.to)) {
				t.Errorf("error %q does not name both states", err)
			}
			if c.Status.State != before.State || c.Status.StateChangeReason != before.StateChangeReason {
				t.Errorf("status changed to %+v by a refused transition", c.Status)
			}
		})
	}
}

func TestTerminate(t *testing.T) {
	user := hearth.StateChangeReason{Code: hearth.ReasonUserRequest, Message: "Terminated by user request"}

	t.Run("protected", func(t *testing.T) {
		c := clusterIn(t, hearth.ClusterWaiting)
		c.TerminationProtected = true
		err := c.Terminate(user, now)
		if !errors.Is(err, hearth.ErrConflict) {
			t.Fatalf("Terminate = %v, want ErrConflict", err)
		}
		if !strings.Contains(err.Error(), "termination protected") || !strings.Contains(err.Error(), c.Id) {
			t.Errorf("error %q does not say the cluster is termination protected", err)
		}
		if c.Status.State != hearth.ClusterWaiting {
			t.Errorf("State = %s, want WAITING unchanged", c.Status.State)
		}
	})

	t.Run("protected but failed", func(t *testing.T) {
		c := clusterIn(t, hearth.ClusterBootstrapping)
		c.TerminationProtected = true
		if err := c.Terminate(hearth.StateChangeReason{Code: hearth.ReasonBootstrapFailure}, now); err != nil {
			t.Fatalf("Terminate for a bootstrap failure: %v", err)
		}
		if c.Status.State != hearth.ClusterTerminating {
			t.Errorf("State = %s, want TERMINATING", c.Status.State)
		}
	})

	t.Run("active", func(t *testing.T) {
		c := clusterIn(t, hearth.ClusterRunning)
		if err := c.Terminate(user, now); err != nil {
			t.Fatalf("Terminate: %v", err)
		}
		if c.Status.State != hearth.ClusterTerminating || c.Status.StateChangeReason != user {
			t.Errorf("status = %s %+v, want TERMINATING %+v", c.Status.State, c.Status.StateChangeReason, user)
		}
	})

	for _, state := range []hearth.ClusterState{hearth.ClusterTerminating, hearth.ClusterTerminated, hearth.ClusterTerminatedWithErrors} {
		t.Run("idempotent "+string(state), func(t *testing.T) {
			c := clusterIn(t, state)
			c.TerminationProtected = true // even a protected cluster: nothing left to refuse
			prior := hearth.StateChangeReason{Code: hearth.ReasonAllStepsCompleted, Message: "earlier"}
			c.Status.StateChangeReason = prior
			if err := c.Terminate(user, now); err != nil {
				t.Fatalf("Terminate: %v", err)
			}
			if c.Status.State != state || c.Status.StateChangeReason != prior {
				t.Errorf("status = %s %+v, want %s %+v unchanged", c.Status.State, c.Status.StateChangeReason, state, prior)
			}
		})
	}
}

func TestFinishTermination(t *testing.T) {
	tests := []struct {
		code hearth.ReasonCode
		want hearth.ClusterState
	}{
		{hearth.ReasonBootstrapFailure, hearth.ClusterTerminatedWithErrors},
		{hearth.ReasonInstanceFailure, hearth.ClusterTerminatedWithErrors},
		{hearth.ReasonStepFailure, hearth.ClusterTerminatedWithErrors},
		{hearth.ReasonUserRequest, hearth.ClusterTerminated},
		{hearth.ReasonAllStepsCompleted, hearth.ClusterTerminated},
	}
	for _, tc := range tests {
		t.Run(string(tc.code), func(t *testing.T) {
			c := clusterIn(t, hearth.ClusterWaiting)
			reason := hearth.StateChangeReason{Code: tc.code, Message: "because"}
			if err := c.Terminate(reason, now); err != nil {
				t.Fatalf("Terminate: %v", err)
			}
			end := now.Add(time.Minute)
			if err := c.FinishTermination(end); err != nil {
				t.Fatalf("FinishTermination: %v", err)
			}
			if c.Status.State != tc.want {
				t.Errorf("State = %s, want %s", c.Status.State, tc.want)
			}
			if c.Status.StateChangeReason != reason {
				t.Errorf("reason = %+v, want the termination reason %+v kept", c.Status.StateChangeReason, reason)
			}
			if et := c.Status.Timeline.EndDateTime; et == nil || !et.Equal(end) {
				t.Errorf("EndDateTime = %v, want %v", et, end)
			}
		})
	}

	t.Run("not terminating", func(t *testing.T) {
		c := clusterIn(t, hearth.ClusterWaiting)
		if err := c.FinishTermination(now); err == nil {
			t.Errorf("FinishTermination of a WAITING cluster succeeded; state now %s", c.Status.State)
		}
	})
}

func TestNodeSetState(t *testing.T) {
	c := clusterIn(t, hearth.ClusterStarting)
	n := hearth.NewNode(c, &c.InstanceGroups[0], now)
	t1, t2, t3 := now.Add(time.Minute), now.Add(2*time.Minute), now.Add(3*time.Minute)
	n.SetState(hearth.NodeRunning, "up", t1)
	n.SetState(hearth.NodeRunning, "still up", t2)
	if n.State != hearth.NodeRunning || n.StateMessage != "still up" {
		t.Errorf("node = %s %q, want RUNNING %q", n.State, n.StateMessage, "still up")
	}
	if rt := n.Timeline.ReadyDateTime; rt == nil || !rt.Equal(t1) {
		t.Errorf("ReadyDateTime = %v, want the first RUNNING %v", rt, t1)
	}
	if n.Timeline.EndDateTime != nil {
		t.Errorf("EndDateTime = %v before the node ended", n.Timeline.EndDateTime)
	}
	n.SetState(hearth.NodeTerminated, "stopped", t3)
	if et := n.Timeline.EndDateTime; et == nil || !et.Equal(t3) {
		t.Errorf("EndDateTime = %v, want %v", et, t3)
	}
}
