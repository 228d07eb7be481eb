package emr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
)

type runJobFlowInput struct {
	Name                  string                  `json:"Name"`
	LogUri                string                  `json:"LogUri"`
	ReleaseLabel          string                  `json:"ReleaseLabel"`
	Instances             jobFlowInstances        `json:"Instances"`
	Steps                 []stepConfig            `json:"Steps"`
	BootstrapActions      []bootstrapActionConfig `json:"BootstrapActions"`
	Applications          []application           `json:"Applications"`
	Configurations        []hearth.Configuration  `json:"Configurations"`
	VisibleToAllUsers     *bool                   `json:"VisibleToAllUsers"`
	JobFlowRole           string                  `json:"JobFlowRole"`
	ServiceRole           string                  `json:"ServiceRole"`
	AutoScalingRole       string                  `json:"AutoScalingRole"`
	Tags                  []tag                   `json:"Tags"`
	ScaleDownBehavior     string                  `json:"ScaleDownBehavior"`
	StepConcurrencyLevel  int                     `json:"StepConcurrencyLevel"`
	AutoTerminationPolicy *autoTermination        `json:"AutoTerminationPolicy"`
	EbsRootVolumeSize     int                     `json:"EbsRootVolumeSize"`
	SecurityConfiguration string                  `json:"SecurityConfiguration"`
	AdditionalInfo        string                  `json:"AdditionalInfo"`
	CustomAmiId           string                  `json:"CustomAmiId"`
	OSReleaseLabel        string                  `json:"OSReleaseLabel"`
	RepoUpgradeOnBoot     string                  `json:"RepoUpgradeOnBoot"`
}

type jobFlowInstances struct {
	MasterInstanceType             string                `json:"MasterInstanceType"`
	SlaveInstanceType              string                `json:"SlaveInstanceType"`
	InstanceCount                  *int                  `json:"InstanceCount"`
	InstanceGroups                 []instanceGroupConfig `json:"InstanceGroups"`
	Ec2KeyName                     string                `json:"Ec2KeyName"`
	Placement                      json.RawMessage       `json:"Placement"`
	KeepJobFlowAliveWhenNoSteps    bool                  `json:"KeepJobFlowAliveWhenNoSteps"`
	TerminationProtected           bool                  `json:"TerminationProtected"`
	UnhealthyNodeReplacement       *bool                 `json:"UnhealthyNodeReplacement"`
	HadoopVersion                  string                `json:"HadoopVersion"`
	Ec2SubnetId                    string                `json:"Ec2SubnetId"`
	Ec2SubnetIds                   []string              `json:"Ec2SubnetIds"`
	EmrManagedMasterSecurityGroup  string                `json:"EmrManagedMasterSecurityGroup"`
	EmrManagedSlaveSecurityGroup   string                `json:"EmrManagedSlaveSecurityGroup"`
	ServiceAccessSecurityGroup     string                `json:"ServiceAccessSecurityGroup"`
	AdditionalMasterSecurityGroups []string              `json:"AdditionalMasterSecurityGroups"`
	AdditionalSlaveSecurityGroups  []string              `json:"AdditionalSlaveSecurityGroups"`
}

type autoTermination struct {
	IdleTimeout int64 `json:"IdleTimeout"`
}

func (h *Handler) runJobFlow(ctx context.Context, body []byte) (any, error) {
	var in runJobFlowInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("name", in.Name); err != nil {
		return nil, err
	}
	spec := hearth.ClusterSpec{
		Name: in.Name, ReleaseLabel: in.ReleaseLabel, LogUri: in.LogUri,
		Tags: tagsIn(in.Tags), Steps: stepsIn(in.Steps),
		AutoTerminate:        !in.Instances.KeepJobFlowAliveWhenNoSteps,
		TerminationProtected: in.Instances.TerminationProtected,
		StepConcurrencyLevel: in.StepConcurrencyLevel,
		Configurations:       in.Configurations,
	}
	for _, b := range in.BootstrapActions {
		spec.BootstrapActions = append(spec.BootstrapActions, hearth.BootstrapAction{Name: b.Name,
			ScriptBootstrapAction: hearth.ScriptAction{Path: b.ScriptBootstrapAction.Path, Args: b.ScriptBootstrapAction.Args}})
	}
	if in.AutoTerminationPolicy != nil {
		spec.IdleTimeout = in.AutoTerminationPolicy.IdleTimeout
	}
	for _, a := range in.Applications {
		spec.Applications = append(spec.Applications, hearth.Application{Name: a.Name, Version: a.Version})
	}
	switch {
	case len(in.Instances.InstanceGroups) > 0:
		spec.InstanceGroups = groupsIn(in.Instances.InstanceGroups)
	case in.Instances.MasterInstanceType != "":
		// The aws CLI's --instance-type/--instance-count: checked as the
		// hearth CLI checks it. Omitted, the count is 1 (the CLI's default).
		count := 1
		if in.Instances.InstanceCount != nil {
			count = *in.Instances.InstanceCount
		}
		groups, err := hearth.InstanceGroupsFromCount(in.Instances.MasterInstanceType, count)
		if err != nil {
			return nil, err
		}
		if len(groups) > 1 && in.Instances.SlaveInstanceType != "" {
			groups[1].InstanceType = in.Instances.SlaveInstanceType
		}
		spec.InstanceGroups = groups
	}
	c, err := h.cp.CreateCluster(ctx, spec)
	if err != nil {
		return nil, err
	}
	return map[string]string{"JobFlowId": c.Id, "ClusterArn": c.ClusterArn}, nil
}

type clusterIDInput struct {
	ClusterId string `json:"ClusterId"`
	Marker    string `json:"Marker"`
}

func (h *Handler) describeCluster(ctx context.Context, body []byte) (any, error) {
	var in clusterIDInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("clusterId", in.ClusterId); err != nil {
		return nil, err
	}
	v, err := h.cp.DescribeCluster(ctx, in.ClusterId)
	if err != nil {
		return nil, notValid(in.ClusterId, err)
	}
	return map[string]any{"Cluster": clusterOut(v.Cluster)}, nil
}

// notValid words a missing cluster as EMR does.
func notValid(id string, err error) error {
	if strings.Contains(err.Error(), hearth.ErrNotFound.Error()) && strings.HasPrefix(err.Error(), "cluster ") {
		return &apiError{400, "InvalidRequestException", fmt.Sprintf("Cluster id '%s' is not valid.", id)}
	}
	return err
}

func (h *Handler) listClusters(ctx context.Context, body []byte) (any, error) {
	var in struct {
		CreatedAfter  *epoch   `json:"CreatedAfter"`
		CreatedBefore *epoch   `json:"CreatedBefore"`
		ClusterStates []string `json:"ClusterStates"`
		Marker        string   `json:"Marker"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var states []hearth.ClusterState
	for _, s := range in.ClusterStates {
		st := hearth.ClusterState(s)
		if !slices.Contains(hearth.AllClusterStates, st) {
			return nil, &apiError{400, "ValidationException", fmt.Sprintf("Value '%s' at 'clusterStates' failed to satisfy constraint: Member must satisfy enum value set: %v", s, hearth.AllClusterStates)}
		}
		states = append(states, st)
	}
	cs, err := h.cp.ListClusters(ctx, states...)
	if err != nil {
		return nil, err
	}
	var out []clusterSummary
	for _, c := range cs {
		created := c.Status.Timeline.CreationDateTime
		if in.CreatedAfter != nil && created != nil && created.Before(time.Time(*in.CreatedAfter)) {
			continue
		}
		if in.CreatedBefore != nil && created != nil && !created.Before(time.Time(*in.CreatedBefore)) {
			continue
		}
		out = append(out, clusterSummary{Id: c.Id, Name: c.Name, Status: statusOut(c.Status), NormalizedInstanceHours: c.NormalizedInstanceHours, ClusterArn: c.ClusterArn})
	}
	return pageOf("Clusters", out, in.Marker)
}

func (h *Handler) terminateJobFlows(ctx context.Context, body []byte) (any, error) {
	var in struct {
		JobFlowIds []string `json:"JobFlowIds"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := h.cp.TerminateClusters(ctx, in.JobFlowIds); err != nil {
		if len(in.JobFlowIds) == 1 {
			return nil, notValid(in.JobFlowIds[0], err)
		}
		return nil, err
	}
	return struct{}{}, nil
}

func (h *Handler) addJobFlowSteps(ctx context.Context, body []byte) (any, error) {
	var in struct {
		JobFlowId        string       `json:"JobFlowId"`
		Steps            []stepConfig `json:"Steps"`
		ExecutionRoleArn string       `json:"ExecutionRoleArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("jobFlowId", in.JobFlowId); err != nil {
		return nil, err
	}
	ids, err := h.cp.AddSteps(ctx, in.JobFlowId, stepsIn(in.Steps))
	if err != nil {
		return nil, notValid(in.JobFlowId, err)
	}
	return map[string][]string{"StepIds": ids}, nil
}

func (h *Handler) listSteps(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ClusterId  string   `json:"ClusterId"`
		StepStates []string `json:"StepStates"`
		StepIds    []string `json:"StepIds"`
		Marker     string   `json:"Marker"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("clusterId", in.ClusterId); err != nil {
		return nil, err
	}
	var states []hearth.StepState
	for _, s := range in.StepStates {
		states = append(states, hearth.StepState(s))
	}
	steps, err := h.cp.ListSteps(ctx, in.ClusterId, states, in.StepIds)
	if err != nil {
		return nil, notValid(in.ClusterId, err)
	}
	out := []step{}
	for _, s := range steps {
		out = append(out, stepOut(s))
	}
	return pageOf("Steps", out, in.Marker)
}

func (h *Handler) describeStep(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ClusterId string `json:"ClusterId"`
		StepId    string `json:"StepId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("clusterId", in.ClusterId); err != nil {
		return nil, err
	}
	if err := required("stepId", in.StepId); err != nil {
		return nil, err
	}
	if _, err := h.cp.DescribeCluster(ctx, in.ClusterId); err != nil {
		return nil, notValid(in.ClusterId, err)
	}
	s, err := h.cp.DescribeStep(ctx, in.ClusterId, in.StepId)
	if errors.Is(err, hearth.ErrNotFound) {
		return nil, &apiError{400, "InvalidRequestException", fmt.Sprintf("Step id '%s' is not valid.", in.StepId)}
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"Step": stepOut(s)}, nil
}

func (h *Handler) cancelSteps(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ClusterId              string   `json:"ClusterId"`
		StepIds                []string `json:"StepIds"`
		StepCancellationOption string   `json:"StepCancellationOption"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	infos, err := h.cp.CancelSteps(ctx, in.ClusterId, in.StepIds, in.StepCancellationOption)
	if err != nil {
		return nil, notValid(in.ClusterId, err)
	}
	return map[string]any{"CancelStepsInfoList": infos}, nil
}

func (h *Handler) listInstanceGroups(ctx context.Context, body []byte) (any, error) {
	var in clusterIDInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	v, err := h.cp.DescribeCluster(ctx, in.ClusterId)
	if err != nil {
		return nil, notValid(in.ClusterId, err)
	}
	out := []instanceGroup{}
	for _, g := range v.Cluster.InstanceGroups {
		out = append(out, instanceGroup{
			Id: g.Id, Name: g.Name, Market: g.Market, InstanceGroupType: string(g.InstanceGroupType), InstanceType: g.InstanceType,
			RequestedInstanceCount: g.RequestedInstanceCount, RunningInstanceCount: g.RunningInstanceCount,
			Status:         groupStatus{State: string(g.State), Timeline: timeline{CreationDateTime: ts(v.Cluster.Status.Timeline.CreationDateTime)}},
			Configurations: []any{}, EbsBlockDevices: []any{},
		})
	}
	return pageOf("InstanceGroups", out, in.Marker)
}

func (h *Handler) listInstances(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ClusterId          string   `json:"ClusterId"`
		InstanceGroupId    string   `json:"InstanceGroupId"`
		InstanceGroupTypes []string `json:"InstanceGroupTypes"`
		InstanceStates     []string `json:"InstanceStates"`
		InstanceFleetId    string   `json:"InstanceFleetId"`
		InstanceFleetType  string   `json:"InstanceFleetType"`
		Marker             string   `json:"Marker"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	v, err := h.cp.DescribeCluster(ctx, in.ClusterId)
	if err != nil {
		return nil, notValid(in.ClusterId, err)
	}
	out := []instance{}
	for _, n := range v.Nodes {
		market := "ON_DEMAND"
		if g := v.Cluster.Group(n.InstanceGroupId); g != nil {
			market = g.Market
		}
		i := instanceOut(n, market)
		switch {
		case in.InstanceGroupId != "" && n.InstanceGroupId != in.InstanceGroupId:
		case len(in.InstanceGroupTypes) > 0 && !slices.Contains(in.InstanceGroupTypes, string(n.Role)):
		case len(in.InstanceStates) > 0 && !slices.Contains(in.InstanceStates, i.Status.State):
		default:
			out = append(out, i)
		}
	}
	return pageOf("Instances", out, in.Marker)
}

type bootstrapActionConfig struct {
	Name                  string `json:"Name"`
	ScriptBootstrapAction struct {
		Path string   `json:"Path"`
		Args []string `json:"Args"`
	} `json:"ScriptBootstrapAction"`
}

func (h *Handler) listBootstrapActions(ctx context.Context, body []byte) (any, error) {
	var in clusterIDInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	v, err := h.cp.DescribeCluster(ctx, in.ClusterId)
	if err != nil {
		return nil, notValid(in.ClusterId, err)
	}
	type command struct {
		Name       string   `json:"Name"`
		ScriptPath string   `json:"ScriptPath"`
		Args       []string `json:"Args"`
	}
	out := []command{}
	for _, b := range v.Cluster.BootstrapActions {
		args := b.ScriptBootstrapAction.Args
		if args == nil {
			args = []string{}
		}
		out = append(out, command{Name: b.Name, ScriptPath: b.ScriptBootstrapAction.Path, Args: args})
	}
	return pageOf("BootstrapActions", out, in.Marker)
}

// modifyEach applies fn to every cluster in ids, validating all first.
func (h *Handler) modifyEach(ctx context.Context, ids []string, fn func(*hearth.Cluster) error) error {
	if len(ids) == 0 {
		return required("jobFlowIds", "")
	}
	for _, id := range ids {
		if _, err := h.cp.DescribeCluster(ctx, id); err != nil {
			return notValid(id, err)
		}
	}
	for _, id := range ids {
		if _, err := h.cp.ModifyCluster(ctx, id, fn); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) setTerminationProtection(ctx context.Context, body []byte) (any, error) {
	var in struct {
		JobFlowIds           []string `json:"JobFlowIds"`
		TerminationProtected bool     `json:"TerminationProtected"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return struct{}{}, h.modifyEach(ctx, in.JobFlowIds, func(c *hearth.Cluster) error {
		c.TerminationProtected = in.TerminationProtected
		return nil
	})
}

func (h *Handler) setKeepAlive(ctx context.Context, body []byte) (any, error) {
	var in struct {
		JobFlowIds                  []string `json:"JobFlowIds"`
		KeepJobFlowAliveWhenNoSteps bool     `json:"KeepJobFlowAliveWhenNoSteps"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return struct{}{}, h.modifyEach(ctx, in.JobFlowIds, func(c *hearth.Cluster) error {
		c.AutoTerminate = !in.KeepJobFlowAliveWhenNoSteps
		return nil
	})
}

func (h *Handler) modifyCluster(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ClusterId            string          `json:"ClusterId"`
		StepConcurrencyLevel *int            `json:"StepConcurrencyLevel"`
		ExtendedSupport      json.RawMessage `json:"ExtendedSupport"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, err := h.cp.ModifyCluster(ctx, in.ClusterId, func(c *hearth.Cluster) error {
		if in.StepConcurrencyLevel != nil {
			if v := *in.StepConcurrencyLevel; v < 1 || v > hearth.MaxStepConcurrency {
				return hearth.Invalid("StepConcurrencyLevel", fmt.Sprint(v), "must be between 1 and 256")
			}
			c.StepConcurrencyLevel = *in.StepConcurrencyLevel
		}
		return nil
	})
	if err != nil {
		return nil, notValid(in.ClusterId, err)
	}
	return map[string]int{"StepConcurrencyLevel": max(c.StepConcurrencyLevel, 1)}, nil
}

func (h *Handler) putAutoTerminationPolicy(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ClusterId             string          `json:"ClusterId"`
		AutoTerminationPolicy autoTermination `json:"AutoTerminationPolicy"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	_, err := h.cp.ModifyCluster(ctx, in.ClusterId, func(c *hearth.Cluster) error {
		if t := in.AutoTerminationPolicy.IdleTimeout; t < 60 || t > 7*24*3600 {
			return hearth.Invalid("AutoTerminationPolicy.IdleTimeout", fmt.Sprint(t), "must be between 60 and 604800 seconds")
		}
		c.IdleTimeout = in.AutoTerminationPolicy.IdleTimeout
		return nil
	})
	return struct{}{}, notValidOrNil(in.ClusterId, err)
}

func notValidOrNil(id string, err error) error {
	if err == nil {
		return nil
	}
	return notValid(id, err)
}

func (h *Handler) getAutoTerminationPolicy(ctx context.Context, body []byte) (any, error) {
	var in clusterIDInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	v, err := h.cp.DescribeCluster(ctx, in.ClusterId)
	if err != nil {
		return nil, notValid(in.ClusterId, err)
	}
	if v.Cluster.IdleTimeout == 0 {
		return struct{}{}, nil
	}
	return map[string]any{"AutoTerminationPolicy": autoTermination{IdleTimeout: v.Cluster.IdleTimeout}}, nil
}

func (h *Handler) removeAutoTerminationPolicy(ctx context.Context, body []byte) (any, error) {
	var in clusterIDInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	_, err := h.cp.ModifyCluster(ctx, in.ClusterId, func(c *hearth.Cluster) error { c.IdleTimeout = 0; return nil })
	return struct{}{}, notValidOrNil(in.ClusterId, err)
}

func (h *Handler) addInstanceGroups(ctx context.Context, body []byte) (any, error) {
	var in struct {
		JobFlowId      string                `json:"JobFlowId"`
		InstanceGroups []instanceGroupConfig `json:"InstanceGroups"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ids, err := h.cp.AddInstanceGroups(ctx, in.JobFlowId, groupsIn(in.InstanceGroups))
	if err != nil {
		return nil, notValid(in.JobFlowId, err)
	}
	return map[string]any{"JobFlowId": in.JobFlowId, "InstanceGroupIds": ids, "ClusterArn": hearth.ClusterARN("", in.JobFlowId)}, nil
}

func (h *Handler) modifyInstanceGroups(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ClusterId      string `json:"ClusterId"`
		InstanceGroups []struct {
			InstanceGroupId           string          `json:"InstanceGroupId"`
			InstanceCount             *int            `json:"InstanceCount"`
			EC2InstanceIdsToTerminate []string        `json:"EC2InstanceIdsToTerminate"`
			ShrinkPolicy              json.RawMessage `json:"ShrinkPolicy"`
			ReconfigurationType       string          `json:"ReconfigurationType"`
			Configurations            json.RawMessage `json:"Configurations"`
		} `json:"InstanceGroups"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	for _, g := range in.InstanceGroups {
		if g.InstanceCount == nil {
			continue
		}
		clusterID := in.ClusterId
		if clusterID == "" { // the aws CLI sends only group ids: find the cluster
			var err error
			if clusterID, err = h.clusterOfGroup(ctx, g.InstanceGroupId); err != nil {
				return nil, err
			}
		}
		if err := h.cp.ResizeInstanceGroup(ctx, clusterID, g.InstanceGroupId, *g.InstanceCount); err != nil {
			return nil, notValid(clusterID, err)
		}
	}
	return struct{}{}, nil
}

func (h *Handler) clusterOfGroup(ctx context.Context, groupID string) (string, error) {
	cs, err := h.cp.ListClusters(ctx)
	if err != nil {
		return "", err
	}
	for _, c := range cs {
		if c.Group(groupID) != nil {
			return c.Id, nil
		}
	}
	return "", &apiError{400, "InvalidRequestException", fmt.Sprintf("Instance group id '%s' is not valid.", groupID)}
}

func (h *Handler) addTags(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ResourceId string `json:"ResourceId"`
		ClusterId  string `json:"ClusterId"`
		Tags       []tag  `json:"Tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	id := in.ResourceId
	if id == "" {
		id = in.ClusterId
	}
	_, err := h.cp.ModifyCluster(ctx, id, func(c *hearth.Cluster) error { return c.AddTags(tagsIn(in.Tags)) })
	return struct{}{}, notValidOrNil(id, err)
}

func (h *Handler) removeTags(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ResourceId string   `json:"ResourceId"`
		ClusterId  string   `json:"ClusterId"`
		TagKeys    []string `json:"TagKeys"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	id := in.ResourceId
	if id == "" {
		id = in.ClusterId
	}
	_, err := h.cp.ModifyCluster(ctx, id, func(c *hearth.Cluster) error {
		c.Tags = slices.DeleteFunc(c.Tags, func(o hearth.Tag) bool { return slices.Contains(in.TagKeys, o.Key) })
		return nil
	})
	return struct{}{}, notValidOrNil(id, err)
}
