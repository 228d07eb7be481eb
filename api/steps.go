package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
)

// AddStepsRequest adds steps to a cluster.
type AddStepsRequest struct {
	Steps []hearth.StepConfig `json:"Steps"`
}

// AddStepsResult names the new steps, in order.
type AddStepsResult struct {
	StepIds []string `json:"StepIds"`
}

func (s *Server) addSteps(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	var req AddStepsRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ids, err := s.cp.AddSteps(r.Context(), r.PathValue("id"), req.Steps)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, AddStepsResult{StepIds: ids})
	return nil
}

// ListStepsResult is a cluster's steps, newest first.
type ListStepsResult struct {
	Steps []*hearth.Step `json:"Steps"`
}

func (s *Server) listSteps(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	var states []hearth.StepState
	for _, v := range r.URL.Query()["state"] {
		st := hearth.StepState(strings.ToUpper(v))
		valid := false
		for _, k := range hearth.AllStepStates {
			valid = valid || k == st
		}
		if !valid {
			return hearth.Invalid("step-states", v, "must be one of PENDING, CANCEL_PENDING, RUNNING, COMPLETED, CANCELLED, FAILED, INTERRUPTED")
		}
		states = append(states, st)
	}
	steps, err := s.cp.ListSteps(r.Context(), r.PathValue("id"), states, r.URL.Query()["id"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ListStepsResult{Steps: steps})
	return nil
}

// DescribeStepResult is one step.
type DescribeStepResult struct {
	Step *hearth.Step `json:"Step"`
}

func (s *Server) describeStep(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	st, err := s.cp.DescribeStep(r.Context(), r.PathValue("id"), r.PathValue("step"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, DescribeStepResult{Step: st})
	return nil
}

// CancelStepsRequest cancels steps.
type CancelStepsRequest struct {
	StepIds                []string `json:"StepIds"`
	StepCancellationOption string   `json:"StepCancellationOption,omitempty"`
}

// CancelStepsResult answers for each step.
type CancelStepsResult struct {
	CancelStepsInfoList []control.CancelStepsInfo `json:"CancelStepsInfoList"`
}

func (s *Server) cancelSteps(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	var req CancelStepsRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	infos, err := s.cp.CancelSteps(r.Context(), r.PathValue("id"), req.StepIds, req.StepCancellationOption)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, CancelStepsResult{CancelStepsInfoList: infos})
	return nil
}

func (s *Server) stepLog(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	offset, err := hearth.ParseLogOffset(r.URL.Query().Get("offset"))
	if err != nil {
		return err
	}
	read, err := s.cp.ReadStepLog(r.Context(), r.PathValue("id"), r.PathValue("step"), r.PathValue("stream"), offset, r.URL.Query().Get("wait") != "")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, read)
	return nil
}

// ClusterAttributes changes a cluster's settable attributes; nil members
// are left alone.
type ClusterAttributes struct {
	TerminationProtected *bool `json:"TerminationProtected,omitempty"`
	AutoTerminate        *bool `json:"AutoTerminate,omitempty"`
	StepConcurrencyLevel *int  `json:"StepConcurrencyLevel,omitempty"`
}

func (s *Server) modifyClusterAttributes(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	var req ClusterAttributes
	if err := decode(r, &req); err != nil {
		return err
	}
	c, err := s.cp.ModifyCluster(r.Context(), r.PathValue("id"), func(c *hearth.Cluster) error {
		if req.StepConcurrencyLevel != nil {
			if v := *req.StepConcurrencyLevel; v < 1 || v > hearth.MaxStepConcurrency {
				return hearth.Invalid("step-concurrency-level", strconv.Itoa(v), "must be between 1 and 256")
			}
			c.StepConcurrencyLevel = *req.StepConcurrencyLevel
		}
		if req.TerminationProtected != nil {
			c.TerminationProtected = *req.TerminationProtected
		}
		if req.AutoTerminate != nil {
			c.AutoTerminate = *req.AutoTerminate
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request, node *hearth.Node) error {
	var chunk hearth.LogChunk
	if err := decode(r, &chunk); err != nil {
		return err
	}
	size, err := s.cp.AppendStepLog(r.Context(), node, chunk)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{ Size int64 }{size})
	return nil
}
