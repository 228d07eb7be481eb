package emr_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/emr"
	"github.com/aws/aws-sdk-go-v2/service/emr/types"
	"github.com/aws/smithy-go"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/api"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/spark"
	"github.com/hearthcluster/hearth/store/sqlite"
)

// fakeProvisioner is a "local" provisioner that never starts anything.
// Without the reconcile loop running, clusters stay STARTING; a cluster
// asked to terminate is finished by an explicit cp.Reconcile.
type fakeProvisioner struct{}

func (fakeProvisioner) Name() string                                               { return "local" }
func (fakeProvisioner) Place(context.Context, *hearth.Cluster, *hearth.Node) error { return nil }
func (fakeProvisioner) Launch(context.Context, *hearth.Node, map[string]string) ([]byte, error) {
	return nil, errors.New("the fake provisioner launches nothing")
}
func (fakeProvisioner) Terminate(context.Context, *hearth.Node) error     { return nil }
func (fakeProvisioner) Alive(context.Context, *hearth.Node) (bool, error) { return false, nil }
func (fakeProvisioner) Host() (hearth.HostCapacity, error) {
	return hearth.HostCapacity{CPUs: 64, MemoryMB: 256 << 10}, nil
}

// tenv is an EMR endpoint over a control plane with a fake provisioner.
type tenv struct {
	cp            *control.Server
	url           string
	keyID, secret string
	client        *emr.Client
	now           time.Time
}

func newTestEnv(t *testing.T) *tenv {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cp := control.New(control.Config{
		Store:        store,
		Provisioners: []hearth.Provisioner{fakeProvisioner{}},
		Locator:      &spark.Locator{CacheDir: t.TempDir(), Logger: log},
		FindJava: func(context.Context) (spark.Java, error) {
			return spark.Java{Path: "/usr/bin/java", Home: "/usr", Major: 17, Version: "17.0.15"}, nil
		},
		LogDir:    t.TempDir(),
		MasterKey: key,
		URL:       "http://127.0.0.1:1",
		Logger:    log,
	})
	srv := httptest.NewServer(api.New(cp, "admin-token", "us-east-1", log).Handler())
	t.Cleanup(srv.Close)
	k, secret, err := cp.CreateAccessKey(ctx, "emr_test")
	if err != nil {
		t.Fatal(err)
	}
	e := &tenv{cp: cp, url: srv.URL, keyID: k.AccessKeyId, secret: secret, now: time.Now()}
	e.client = e.newClient(k.AccessKeyId, secret, "us-east-1")
	return e
}

func (e *tenv) newClient(keyID, secret, region string) *emr.Client {
	return emr.New(emr.Options{
		Region:       region,
		BaseEndpoint: aws.String(e.url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret, Source: "test"}, nil
		}),
		Retryer: aws.NopRetryer{},
	})
}

// apiErr asserts err is an AWS API error with code, HTTP status (0: any)
// and a message containing msg.
func apiErr(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got success", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want API error %s, got %T: %v", code, err, err)
	}
	if ae.ErrorCode() != code {
		t.Errorf("error code = %q, want %q (%v)", ae.ErrorCode(), code, err)
	}
	if !strings.Contains(ae.ErrorMessage(), msg) {
		t.Errorf("error message = %q, want it to contain %q", ae.ErrorMessage(), msg)
	}
	if status != 0 {
		var re *awshttp.ResponseError
		if !errors.As(err, &re) {
			t.Errorf("no HTTP response in %v", err)
		} else if re.HTTPStatusCode() != status {
			t.Errorf("HTTP status = %d, want %d", re.HTTPStatusCode(), status)
		}
	}
}

func instanceGroups(core int32) []types.InstanceGroupConfig {
	return []types.InstanceGroupConfig{
		{Name: aws.String("Master Instance Group"), InstanceRole: types.InstanceRoleTypeMaster, InstanceType: aws.String("local.small"), InstanceCount: aws.Int32(1)},
		{Name: aws.String("Core Instance Group"), InstanceRole: types.InstanceRoleTypeCore, InstanceType: aws.String("local.small"), InstanceCount: aws.Int32(core)},
	}
}

func (e *tenv) runJobFlow(t *testing.T, name string) string {
	t.Helper()
	out, err := e.client.RunJobFlow(context.Background(), &emr.RunJobFlowInput{
		Name:         aws.String(name),
		ReleaseLabel: aws.String("spark-4.0.1"),
		Instances:    &types.JobFlowInstancesConfig{InstanceGroups: instanceGroups(2), KeepJobFlowAliveWhenNoSteps: aws.Bool(true)},
	})
	if err != nil {
		t.Fatalf("RunJobFlow: %v", err)
	}
	return aws.ToString(out.JobFlowId)
}

func closeToNow(t *testing.T, what string, ts *time.Time) {
	t.Helper()
	if ts == nil {
		t.Errorf("%s is missing", what)
		return
	}
	if d := time.Since(*ts); d < -time.Minute || d > time.Minute {
		t.Errorf("%s = %v, not close to now (%v)", what, ts, time.Now())
	}
}

// TestEMRSDKOperations drives every operation of the endpoint with the
// real AWS SDK for Go v2.
func TestEMRSDKOperations(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client

	run, err := c.RunJobFlow(ctx, &emr.RunJobFlowInput{
		Name:              aws.String("Cluster OC"),
		ReleaseLabel:      aws.String("spark-4.0.1"),
		Applications:      []types.Application{{Name: aws.String("Spark")}},
		JobFlowRole:       aws.String("EMR_EC2_DefaultRole"),
		ServiceRole:       aws.String("EMR_DefaultRole"),
		VisibleToAllUsers: aws.Bool(true),
		Instances: &types.JobFlowInstancesConfig{
			InstanceGroups:              instanceGroups(2),
			KeepJobFlowAliveWhenNoSteps: aws.Bool(true),
		},
		Steps: []types.StepConfig{{
			Name:            aws.String("Wordcount"),
			ActionOnFailure: types.ActionOnFailureContinue,
			HadoopJarStep: &types.HadoopJarStepConfig{
				Jar:  aws.String("command-runner.jar"),
				Args: []string{"spark-submit", "--deploy-mode", "cluster", "wordcount.py", "book.txt"},
				Properties: []types.KeyValue{
					{Key: aws.String(""), Value: aws.String("")}, // what the aws CLI sends for "Properties":""
					{Key: aws.String("spark.hearth.test"), Value: aws.String("1")},
				},
			},
		}},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("data")}, {Key: aws.String("env"), Value: aws.String("test")}},
	})
	if err != nil {
		t.Fatalf("RunJobFlow: %v", err)
	}
	id := aws.ToString(run.JobFlowId)
	if !strings.HasPrefix(id, "j-") || aws.ToString(run.ClusterArn) != hearth.ClusterARN("us-east-1", id) {
		t.Fatalf("RunJobFlow = %s, %s", id, aws.ToString(run.ClusterArn))
	}

	// DescribeCluster: the members round-trip.
	dc, err := c.DescribeCluster(ctx, &emr.DescribeClusterInput{ClusterId: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeCluster: %v", err)
	}
	cl := dc.Cluster
	if aws.ToString(cl.Id) != id || aws.ToString(cl.Name) != "Cluster OC" || aws.ToString(cl.ReleaseLabel) != "spark-4.0.1" {
		t.Errorf("DescribeCluster: Id %q Name %q ReleaseLabel %q", aws.ToString(cl.Id), aws.ToString(cl.Name), aws.ToString(cl.ReleaseLabel))
	}
	if aws.ToString(cl.ClusterArn) != aws.ToString(run.ClusterArn) {
		t.Errorf("ClusterArn = %q, want %q", aws.ToString(cl.ClusterArn), aws.ToString(run.ClusterArn))
	}
	if st := cl.Status.State; st != types.ClusterStateStarting && st != types.ClusterStateBootstrapping {
		t.Errorf("State = %s, want STARTING", st)
	}
	closeToNow(t, "Status.Timeline.CreationDateTime", cl.Status.Timeline.CreationDateTime)
	if aws.ToInt32(cl.StepConcurrencyLevel) != 1 {
		t.Errorf("StepConcurrencyLevel = %d, want 1", aws.ToInt32(cl.StepConcurrencyLevel))
	}
	if got := tagMap(cl.Tags); len(got) != 2 || got["team"] != "data" || got["env"] != "test" {
		t.Errorf("Tags = %v", got)
	}
	if len(cl.Applications) != 1 || aws.ToString(cl.Applications[0].Name) != "Spark" || aws.ToString(cl.Applications[0].Version) != "4.0.1" {
		t.Errorf("Applications = %+v", cl.Applications)
	}
	if cl.AutoTerminate == nil || *cl.AutoTerminate || cl.TerminationProtected == nil || *cl.TerminationProtected {
		t.Errorf("AutoTerminate %v TerminationProtected %v, want false, false", cl.AutoTerminate, cl.TerminationProtected)
	}
	if cl.InstanceCollectionType != types.InstanceCollectionTypeInstanceGroup {
		t.Errorf("InstanceCollectionType = %q", cl.InstanceCollectionType)
	}

	// ListSteps / DescribeStep: Properties come back as a map without the
	// empty pair.
	ls, err := c.ListSteps(ctx, &emr.ListStepsInput{ClusterId: aws.String(id)})
	if err != nil {
		t.Fatalf("ListSteps: %v", err)
	}
	if len(ls.Steps) != 1 {
		t.Fatalf("ListSteps: %d steps, want 1", len(ls.Steps))
	}
	s0 := ls.Steps[0]
	if aws.ToString(s0.Name) != "Wordcount" || s0.Status.State != types.StepStatePending || s0.ActionOnFailure != types.ActionOnFailureContinue {
		t.Errorf("step = %s %s %s", aws.ToString(s0.Name), s0.Status.State, s0.ActionOnFailure)
	}
	if p := s0.Config.Properties; len(p) != 1 || p["spark.hearth.test"] != "1" {
		t.Errorf("Config.Properties = %v, want {spark.hearth.test: 1}", p)
	}
	if aws.ToString(s0.Config.Jar) != "command-runner.jar" || !slices.Equal(s0.Config.Args, []string{"spark-submit", "--deploy-mode", "cluster", "wordcount.py", "book.txt"}) {
		t.Errorf("Config = %s %v", aws.ToString(s0.Config.Jar), s0.Config.Args)
	}
	closeToNow(t, "step CreationDateTime", s0.Status.Timeline.CreationDateTime)

	// AddJobFlowSteps, then CancelSteps on a PENDING step.
	as, err := c.AddJobFlowSteps(ctx, &emr.AddJobFlowStepsInput{JobFlowId: aws.String(id), Steps: []types.StepConfig{{
		Name:          aws.String("shell"),
		HadoopJarStep: &types.HadoopJarStepConfig{Jar: aws.String("command-runner.jar"), Args: []string{"bash", "-c", "echo hi"}},
	}}})
	if err != nil {
		t.Fatalf("AddJobFlowSteps: %v", err)
	}
	if len(as.StepIds) != 1 {
		t.Fatalf("AddJobFlowSteps: %v", as.StepIds)
	}
	sid := as.StepIds[0]
	ds, err := c.DescribeStep(ctx, &emr.DescribeStepInput{ClusterId: aws.String(id), StepId: aws.String(sid)})
	if err != nil {
		t.Fatalf("DescribeStep: %v", err)
	}
	if aws.ToString(ds.Step.Id) != sid || aws.ToString(ds.Step.Name) != "shell" || ds.Step.Status.State != types.StepStatePending || ds.Step.ActionOnFailure != types.ActionOnFailureContinue {
		t.Errorf("DescribeStep = %s %s %s %s", aws.ToString(ds.Step.Id), aws.ToString(ds.Step.Name), ds.Step.Status.State, ds.Step.ActionOnFailure)
	}
	if ds.Step.Config.Properties == nil {
		t.Errorf("DescribeStep: Config.Properties is nil, want an empty map")
	}
	ls, err = c.ListSteps(ctx, &emr.ListStepsInput{ClusterId: aws.String(id)})
	if err != nil || len(ls.Steps) != 2 || aws.ToString(ls.Steps[0].Id) != sid {
		t.Fatalf("ListSteps after add: err %v, %d steps (want 2, newest first)", err, len(ls.Steps))
	}
	ls, err = c.ListSteps(ctx, &emr.ListStepsInput{ClusterId: aws.String(id), StepIds: []string{sid}})
	if err != nil || len(ls.Steps) != 1 {
		t.Fatalf("ListSteps StepIds filter: err %v, %d steps", err, len(ls.Steps))
	}
	cs, err := c.CancelSteps(ctx, &emr.CancelStepsInput{ClusterId: aws.String(id), StepIds: []string{sid}, StepCancellationOption: types.StepCancellationOptionSendInterrupt})
	if err != nil {
		t.Fatalf("CancelSteps: %v", err)
	}
	if len(cs.CancelStepsInfoList) != 1 || aws.ToString(cs.CancelStepsInfoList[0].StepId) != sid || cs.CancelStepsInfoList[0].Status != types.CancelStepsRequestStatusSubmitted {
		t.Errorf("CancelSteps = %+v", cs.CancelStepsInfoList)
	}
	ds, err = c.DescribeStep(ctx, &emr.DescribeStepInput{ClusterId: aws.String(id), StepId: aws.String(sid)})
	if err != nil || ds.Step.Status.State != types.StepStateCancelled {
		t.Errorf("after CancelSteps: %v, state %v", err, ds.Step.Status.State)
	}
	ls, err = c.ListSteps(ctx, &emr.ListStepsInput{ClusterId: aws.String(id), StepStates: []types.StepState{types.StepStateCancelled}})
	if err != nil || len(ls.Steps) != 1 || aws.ToString(ls.Steps[0].Id) != sid {
		t.Errorf("ListSteps StepStates=CANCELLED: %v, %d steps", err, len(ls.Steps))
	}

	// ListInstanceGroups / ListInstances / ListBootstrapActions.
	groups := listGroups(t, c, id)
	if len(groups) != 2 {
		t.Fatalf("ListInstanceGroups: %d groups, want 2", len(groups))
	}
	byType := map[types.InstanceGroupType]types.InstanceGroup{}
	for _, g := range groups {
		byType[g.InstanceGroupType] = g
		if !strings.HasPrefix(aws.ToString(g.Id), "ig-") || aws.ToString(g.InstanceType) != "local.small" || g.Market != types.MarketTypeOnDemand {
			t.Errorf("group %s: type %s market %s", aws.ToString(g.Id), aws.ToString(g.InstanceType), g.Market)
		}
	}
	master, core := byType[types.InstanceGroupTypeMaster], byType[types.InstanceGroupTypeCore]
	if aws.ToInt32(master.RequestedInstanceCount) != 1 || aws.ToInt32(core.RequestedInstanceCount) != 2 {
		t.Errorf("requested counts: master %d core %d", aws.ToInt32(master.RequestedInstanceCount), aws.ToInt32(core.RequestedInstanceCount))
	}
	if aws.ToString(master.Name) != "Master Instance Group" || aws.ToString(core.Name) != "Core Instance Group" {
		t.Errorf("group names: %q %q", aws.ToString(master.Name), aws.ToString(core.Name))
	}
	li, err := c.ListInstances(ctx, &emr.ListInstancesInput{ClusterId: aws.String(id)})
	if err != nil {
		t.Fatalf("ListInstances: %v", err)
	}
	if len(li.Instances) != 3 {
		t.Errorf("ListInstances: %d instances, want 3", len(li.Instances))
	}
	for _, in := range li.Instances {
		if in.Status == nil || in.Status.State != types.InstanceStateProvisioning || aws.ToString(in.InstanceType) != "local.small" {
			t.Errorf("instance %s: %+v", aws.ToString(in.Id), in.Status)
		}
	}
	li, err = c.ListInstances(ctx, &emr.ListInstancesInput{ClusterId: aws.String(id), InstanceGroupTypes: []types.InstanceGroupType{types.InstanceGroupTypeCore}})
	if err != nil || len(li.Instances) != 2 {
		t.Errorf("ListInstances CORE: %v, %d instances, want 2", err, len(li.Instances))
	}
	li, err = c.ListInstances(ctx, &emr.ListInstancesInput{ClusterId: aws.String(id), InstanceGroupId: master.Id})
	if err != nil || len(li.Instances) != 1 {
		t.Errorf("ListInstances master group: %v, %d instances, want 1", err, len(li.Instances))
	}
	lb, err := c.ListBootstrapActions(ctx, &emr.ListBootstrapActionsInput{ClusterId: aws.String(id)})
	if err != nil || len(lb.BootstrapActions) != 0 {
		t.Errorf("ListBootstrapActions: %v, %v", err, lb)
	}

	// SetKeepJobFlowAliveWhenNoSteps, ModifyCluster.
	if _, err := c.SetKeepJobFlowAliveWhenNoSteps(ctx, &emr.SetKeepJobFlowAliveWhenNoStepsInput{JobFlowIds: []string{id}, KeepJobFlowAliveWhenNoSteps: aws.Bool(false)}); err != nil {
		t.Fatalf("SetKeepJobFlowAliveWhenNoSteps: %v", err)
	}
	if cl := describe(t, c, id); !aws.ToBool(cl.AutoTerminate) {
		t.Errorf("AutoTerminate = false after KeepJobFlowAliveWhenNoSteps=false")
	}
	if _, err := c.SetKeepJobFlowAliveWhenNoSteps(ctx, &emr.SetKeepJobFlowAliveWhenNoStepsInput{JobFlowIds: []string{id}, KeepJobFlowAliveWhenNoSteps: aws.Bool(true)}); err != nil {
		t.Fatalf("SetKeepJobFlowAliveWhenNoSteps: %v", err)
	}
	if cl := describe(t, c, id); aws.ToBool(cl.AutoTerminate) {
		t.Errorf("AutoTerminate = true after KeepJobFlowAliveWhenNoSteps=true")
	}
	mc, err := c.ModifyCluster(ctx, &emr.ModifyClusterInput{ClusterId: aws.String(id), StepConcurrencyLevel: aws.Int32(5)})
	if err != nil || aws.ToInt32(mc.StepConcurrencyLevel) != 5 {
		t.Fatalf("ModifyCluster: %v, %v", err, mc)
	}
	if cl := describe(t, c, id); aws.ToInt32(cl.StepConcurrencyLevel) != 5 {
		t.Errorf("StepConcurrencyLevel = %d after ModifyCluster, want 5", aws.ToInt32(cl.StepConcurrencyLevel))
	}
	_, err = c.ModifyCluster(ctx, &emr.ModifyClusterInput{ClusterId: aws.String(id), StepConcurrencyLevel: aws.Int32(300)})
	apiErr(t, err, "InvalidRequestException", 400, "StepConcurrencyLevel")

	// Auto-termination policy.
	if _, err := c.PutAutoTerminationPolicy(ctx, &emr.PutAutoTerminationPolicyInput{ClusterId: aws.String(id), AutoTerminationPolicy: &types.AutoTerminationPolicy{IdleTimeout: aws.Int64(3600)}}); err != nil {
		t.Fatalf("PutAutoTerminationPolicy: %v", err)
	}
	gp, err := c.GetAutoTerminationPolicy(ctx, &emr.GetAutoTerminationPolicyInput{ClusterId: aws.String(id)})
	if err != nil || gp.AutoTerminationPolicy == nil || aws.ToInt64(gp.AutoTerminationPolicy.IdleTimeout) != 3600 {
		t.Errorf("GetAutoTerminationPolicy: %v, %+v", err, gp)
	}
	_, err = c.PutAutoTerminationPolicy(ctx, &emr.PutAutoTerminationPolicyInput{ClusterId: aws.String(id), AutoTerminationPolicy: &types.AutoTerminationPolicy{IdleTimeout: aws.Int64(10)}})
	apiErr(t, err, "InvalidRequestException", 400, "IdleTimeout")
	if _, err := c.RemoveAutoTerminationPolicy(ctx, &emr.RemoveAutoTerminationPolicyInput{ClusterId: aws.String(id)}); err != nil {
		t.Fatalf("RemoveAutoTerminationPolicy: %v", err)
	}
	gp, err = c.GetAutoTerminationPolicy(ctx, &emr.GetAutoTerminationPolicyInput{ClusterId: aws.String(id)})
	if err != nil || gp.AutoTerminationPolicy != nil {
		t.Errorf("GetAutoTerminationPolicy after remove: %v, %+v", err, gp.AutoTerminationPolicy)
	}

	// Tags.
	if _, err := c.AddTags(ctx, &emr.AddTagsInput{ResourceId: aws.String(id), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ml")}, {Key: aws.String("owner"), Value: aws.String("me")}}}); err != nil {
		t.Fatalf("AddTags: %v", err)
	}
	if got := tagMap(describe(t, c, id).Tags); len(got) != 3 || got["team"] != "ml" || got["owner"] != "me" || got["env"] != "test" {
		t.Errorf("Tags after AddTags = %v", got)
	}
	if _, err := c.RemoveTags(ctx, &emr.RemoveTagsInput{ResourceId: aws.String(id), TagKeys: []string{"env", "owner"}}); err != nil {
		t.Fatalf("RemoveTags: %v", err)
	}
	if got := tagMap(describe(t, c, id).Tags); len(got) != 1 || got["team"] != "ml" {
		t.Errorf("Tags after RemoveTags = %v", got)
	}

	// AddInstanceGroups: a TASK group.
	ag, err := c.AddInstanceGroups(ctx, &emr.AddInstanceGroupsInput{JobFlowId: aws.String(id), InstanceGroups: []types.InstanceGroupConfig{
		{Name: aws.String("Task"), InstanceRole: types.InstanceRoleTypeTask, InstanceType: aws.String("local.small"), InstanceCount: aws.Int32(1)},
	}})
	if err != nil {
		t.Fatalf("AddInstanceGroups: %v", err)
	}
	if len(ag.InstanceGroupIds) != 1 || aws.ToString(ag.JobFlowId) != id || aws.ToString(ag.ClusterArn) != aws.ToString(run.ClusterArn) {
		t.Errorf("AddInstanceGroups = %v %s %s", ag.InstanceGroupIds, aws.ToString(ag.JobFlowId), aws.ToString(ag.ClusterArn))
	}
	groups = listGroups(t, c, id)
	var task *types.InstanceGroup
	for i := range groups {
		if aws.ToString(groups[i].Id) == ag.InstanceGroupIds[0] {
			task = &groups[i]
		}
	}
	if len(groups) != 3 || task == nil || task.InstanceGroupType != types.InstanceGroupTypeTask || aws.ToInt32(task.RequestedInstanceCount) != 1 {
		t.Errorf("after AddInstanceGroups: %d groups, task %+v", len(groups), task)
	}
	_, err = c.AddInstanceGroups(ctx, &emr.AddInstanceGroupsInput{JobFlowId: aws.String(id), InstanceGroups: []types.InstanceGroupConfig{
		{InstanceRole: types.InstanceRoleTypeMaster, InstanceType: aws.String("local.small"), InstanceCount: aws.Int32(1)},
	}})
	apiErr(t, err, "InvalidRequestException", 400, "MASTER")

	// ModifyInstanceGroups needs a RUNNING or WAITING cluster.
	_, err = c.ModifyInstanceGroups(ctx, &emr.ModifyInstanceGroupsInput{ClusterId: aws.String(id), InstanceGroups: []types.InstanceGroupModifyConfig{{InstanceGroupId: core.Id, InstanceCount: aws.Int32(3)}}})
	apiErr(t, err, "InvalidRequestException", 400, "resize a RUNNING or WAITING cluster")
	// Pretend the cluster came up (no Spark here), then resize: with the
	// cluster id, and as the aws CLI does, with group ids only.
	if _, err := e.cp.Store().UpdateCluster(ctx, id, func(c *hearth.Cluster) error { c.Status.State = hearth.ClusterWaiting; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyInstanceGroups(ctx, &emr.ModifyInstanceGroupsInput{ClusterId: aws.String(id), InstanceGroups: []types.InstanceGroupModifyConfig{{InstanceGroupId: core.Id, InstanceCount: aws.Int32(3)}}}); err != nil {
		t.Fatalf("ModifyInstanceGroups: %v", err)
	}
	if _, err := c.ModifyInstanceGroups(ctx, &emr.ModifyInstanceGroupsInput{InstanceGroups: []types.InstanceGroupModifyConfig{{InstanceGroupId: aws.String(ag.InstanceGroupIds[0]), InstanceCount: aws.Int32(2)}}}); err != nil {
		t.Fatalf("ModifyInstanceGroups without ClusterId: %v", err)
	}
	counts := map[string]int32{}
	for _, g := range listGroups(t, c, id) {
		counts[aws.ToString(g.Id)] = aws.ToInt32(g.RequestedInstanceCount)
	}
	if counts[aws.ToString(core.Id)] != 3 || counts[ag.InstanceGroupIds[0]] != 2 {
		t.Errorf("requested counts after ModifyInstanceGroups = %v", counts)
	}
	_, err = c.ModifyInstanceGroups(ctx, &emr.ModifyInstanceGroupsInput{ClusterId: aws.String(id), InstanceGroups: []types.InstanceGroupModifyConfig{{InstanceGroupId: master.Id, InstanceCount: aws.Int32(2)}}})
	apiErr(t, err, "InvalidRequestException", 400, "MASTER")
	_, err = c.ModifyInstanceGroups(ctx, &emr.ModifyInstanceGroupsInput{InstanceGroups: []types.InstanceGroupModifyConfig{{InstanceGroupId: aws.String("ig-NOPE"), InstanceCount: aws.Int32(2)}}})
	apiErr(t, err, "InvalidRequestException", 400, "is not valid")

	// Termination protection: TerminateJobFlows is refused, then allowed.
	if _, err := c.SetTerminationProtection(ctx, &emr.SetTerminationProtectionInput{JobFlowIds: []string{id}, TerminationProtected: aws.Bool(true)}); err != nil {
		t.Fatalf("SetTerminationProtection: %v", err)
	}
	if cl := describe(t, c, id); !aws.ToBool(cl.TerminationProtected) {
		t.Errorf("TerminationProtected = false after SetTerminationProtection(true)")
	}
	_, err = c.TerminateJobFlows(ctx, &emr.TerminateJobFlowsInput{JobFlowIds: []string{id}})
	apiErr(t, err, "ValidationException", 400, "termination protected")
	if st := describe(t, c, id).Status.State; st != types.ClusterStateWaiting {
		t.Errorf("a refused terminate changed the state to %s", st)
	}
	if _, err := c.SetTerminationProtection(ctx, &emr.SetTerminationProtectionInput{JobFlowIds: []string{id}, TerminationProtected: aws.Bool(false)}); err != nil {
		t.Fatalf("SetTerminationProtection: %v", err)
	}
	if _, err := c.TerminateJobFlows(ctx, &emr.TerminateJobFlowsInput{JobFlowIds: []string{id}}); err != nil {
		t.Fatalf("TerminateJobFlows: %v", err)
	}
	if st := describe(t, c, id).Status.State; st != types.ClusterStateTerminating {
		t.Errorf("after TerminateJobFlows: %s, want TERMINATING", st)
	}
	if _, err := c.TerminateJobFlows(ctx, &emr.TerminateJobFlowsInput{JobFlowIds: []string{id}}); err != nil {
		t.Errorf("TerminateJobFlows twice: %v", err)
	}
	if err := e.cp.Reconcile(ctx, id); err != nil {
		t.Fatal(err)
	}
	cl = describe(t, c, id)
	if cl.Status.State != types.ClusterStateTerminated || cl.Status.StateChangeReason == nil || cl.Status.StateChangeReason.Code != types.ClusterStateChangeReasonCodeUserRequest {
		t.Errorf("after reconcile: %s %+v, want TERMINATED USER_REQUEST", cl.Status.State, cl.Status.StateChangeReason)
	}
	closeToNow(t, "Timeline.EndDateTime", cl.Status.Timeline.EndDateTime)
	li, err = c.ListInstances(ctx, &emr.ListInstancesInput{ClusterId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range li.Instances {
		if in.Status.State != types.InstanceStateTerminated {
			t.Errorf("instance %s is %s after the cluster terminated", aws.ToString(in.Id), in.Status.State)
		}
	}
	_, err = c.AddJobFlowSteps(ctx, &emr.AddJobFlowStepsInput{JobFlowId: aws.String(id), Steps: []types.StepConfig{{Name: aws.String("x"), HadoopJarStep: &types.HadoopJarStepConfig{Jar: aws.String("command-runner.jar"), Args: []string{"true"}}}}})
	apiErr(t, err, "InvalidRequestException", 400, "TERMINATED")

	// ListClusters with a state filter.
	other := e.runJobFlow(t, "other")
	lc, err := c.ListClusters(ctx, &emr.ListClustersInput{ClusterStates: []types.ClusterState{types.ClusterStateTerminated}})
	if err != nil || len(lc.Clusters) != 1 || aws.ToString(lc.Clusters[0].Id) != id || aws.ToString(lc.Clusters[0].Name) != "Cluster OC" {
		t.Errorf("ListClusters TERMINATED: %v %+v", err, lc)
	}
	lc, err = c.ListClusters(ctx, &emr.ListClustersInput{ClusterStates: []types.ClusterState{types.ClusterStateStarting, types.ClusterStateWaiting}})
	if err != nil || len(lc.Clusters) != 1 || aws.ToString(lc.Clusters[0].Id) != other || aws.ToString(lc.Clusters[0].ClusterArn) == "" {
		t.Errorf("ListClusters active: %v %+v", err, lc)
	}
}

// TestEMRRunJobFlowShapes: the other ways SDK users describe a cluster.
func TestEMRRunJobFlowShapes(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client
	// boto3's classic form: MasterInstanceType, SlaveInstanceType, InstanceCount.
	run, err := c.RunJobFlow(ctx, &emr.RunJobFlowInput{
		Name: aws.String("classic"),
		Instances: &types.JobFlowInstancesConfig{
			MasterInstanceType: aws.String("local.small"), SlaveInstanceType: aws.String("local.medium"), InstanceCount: aws.Int32(3),
			KeepJobFlowAliveWhenNoSteps: aws.Bool(true), TerminationProtected: aws.Bool(true),
		},
		StepConcurrencyLevel:  aws.Int32(4),
		AutoTerminationPolicy: &types.AutoTerminationPolicy{IdleTimeout: aws.Int64(600)},
	})
	if err != nil {
		t.Fatalf("RunJobFlow: %v", err)
	}
	id := aws.ToString(run.JobFlowId)
	cl := describe(t, c, id)
	if aws.ToString(cl.ReleaseLabel) != "spark-4.0.1" || aws.ToInt32(cl.StepConcurrencyLevel) != 4 || !aws.ToBool(cl.TerminationProtected) || aws.ToBool(cl.AutoTerminate) {
		t.Errorf("classic cluster: release %q level %d protected %v auto-terminate %v", aws.ToString(cl.ReleaseLabel), aws.ToInt32(cl.StepConcurrencyLevel), aws.ToBool(cl.TerminationProtected), aws.ToBool(cl.AutoTerminate))
	}
	got := map[types.InstanceGroupType]string{}
	for _, g := range listGroups(t, c, id) {
		got[g.InstanceGroupType] = fmt.Sprintf("%s x%d", aws.ToString(g.InstanceType), aws.ToInt32(g.RequestedInstanceCount))
	}
	if got[types.InstanceGroupTypeMaster] != "local.small x1" || got[types.InstanceGroupTypeCore] != "local.medium x2" || len(got) != 2 {
		t.Errorf("groups = %v", got)
	}
	gp, err := c.GetAutoTerminationPolicy(ctx, &emr.GetAutoTerminationPolicyInput{ClusterId: aws.String(id)})
	if err != nil || gp.AutoTerminationPolicy == nil || aws.ToInt64(gp.AutoTerminationPolicy.IdleTimeout) != 600 {
		t.Errorf("GetAutoTerminationPolicy: %v %+v", err, gp)
	}
	// Bootstrap actions and configurations round-trip.
	ba, err := c.RunJobFlow(ctx, &emr.RunJobFlowInput{
		Name:      aws.String("bootstrapped"),
		Instances: &types.JobFlowInstancesConfig{InstanceGroups: instanceGroups(1), KeepJobFlowAliveWhenNoSteps: aws.Bool(true)},
		BootstrapActions: []types.BootstrapActionConfig{{Name: aws.String("setup"),
			ScriptBootstrapAction: &types.ScriptBootstrapActionConfig{Path: aws.String("file:///bin/true"), Args: []string{"a", "b"}}}},
		Configurations: []types.Configuration{{Classification: aws.String("spark-defaults"), Properties: map[string]string{"spark.sql.shuffle.partitions": "7"}}},
	})
	if err != nil {
		t.Fatalf("RunJobFlow with BootstrapActions and Configurations: %v", err)
	}
	lb, err := c.ListBootstrapActions(ctx, &emr.ListBootstrapActionsInput{ClusterId: ba.JobFlowId})
	if err != nil || len(lb.BootstrapActions) != 1 || aws.ToString(lb.BootstrapActions[0].Name) != "setup" ||
		aws.ToString(lb.BootstrapActions[0].ScriptPath) != "file:///bin/true" || !slices.Equal(lb.BootstrapActions[0].Args, []string{"a", "b"}) {
		t.Errorf("ListBootstrapActions: %v %+v", err, lb)
	}
	if cfg := describe(t, c, aws.ToString(ba.JobFlowId)).Configurations; len(cfg) != 1 || aws.ToString(cfg[0].Classification) != "spark-defaults" || cfg[0].Properties["spark.sql.shuffle.partitions"] != "7" {
		t.Errorf("Configurations = %+v", cfg)
	}

	// A protected cluster named with another in one request: nothing is terminated.
	other := e.runJobFlow(t, "other")
	_, err = c.TerminateJobFlows(ctx, &emr.TerminateJobFlowsInput{JobFlowIds: []string{other, id}})
	apiErr(t, err, "ValidationException", 400, "termination protected")
	if st := describe(t, c, other).Status.State; st != types.ClusterStateStarting {
		t.Errorf("a refused TerminateJobFlows changed %s to %s", other, st)
	}
	_, err = c.TerminateJobFlows(ctx, &emr.TerminateJobFlowsInput{JobFlowIds: []string{other, "j-NOSUCHCLUSTER"}})
	apiErr(t, err, "InvalidRequestException", 400, "j-NOSUCHCLUSTER")

	// Bad input is refused with the field named.
	_, err = c.RunJobFlow(ctx, &emr.RunJobFlowInput{Name: aws.String("bad"), ReleaseLabel: aws.String("emr-0.0.1"),
		Instances: &types.JobFlowInstancesConfig{InstanceGroups: instanceGroups(1)}})
	apiErr(t, err, "InvalidRequestException", 400, "emr-0.0.1")
	_, err = c.RunJobFlow(ctx, &emr.RunJobFlowInput{Name: aws.String("bad"),
		Instances: &types.JobFlowInstancesConfig{InstanceGroups: []types.InstanceGroupConfig{{InstanceRole: types.InstanceRoleTypeMaster, InstanceType: aws.String("x9.huge"), InstanceCount: aws.Int32(1)}}}})
	apiErr(t, err, "InvalidRequestException", 400, "x9.huge")
	_, err = c.ListClusters(ctx, &emr.ListClustersInput{ClusterStates: []types.ClusterState{"SLEEPING"}})
	apiErr(t, err, "ValidationException", 400, "SLEEPING")

	// Cancelling a step that does not exist is a FAILED entry, not an error.
	cs, err := c.CancelSteps(ctx, &emr.CancelStepsInput{ClusterId: aws.String(id), StepIds: []string{"s-NOSUCHSTEP"}})
	if err != nil || len(cs.CancelStepsInfoList) != 1 || cs.CancelStepsInfoList[0].Status != types.CancelStepsRequestStatusFailed {
		t.Errorf("CancelSteps of an unknown step: %v %+v", err, cs)
	}
}

// TestEMRUnknownCluster: every operation naming a missing cluster answers
// EMR's InvalidRequestException.
func TestEMRUnknownCluster(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client
	const id = "j-NOSUCHCLUSTER"
	var err error
	_, err = c.DescribeCluster(ctx, &emr.DescribeClusterInput{ClusterId: aws.String(id)})
	var ire *types.InvalidRequestException
	if !errors.As(err, &ire) {
		t.Errorf("DescribeCluster: want *types.InvalidRequestException, got %T %v", err, err)
	}
	apiErr(t, err, "InvalidRequestException", 400, "Cluster id 'j-NOSUCHCLUSTER' is not valid.")
	calls := map[string]func() error{
		"TerminateJobFlows": func() error {
			_, err := c.TerminateJobFlows(ctx, &emr.TerminateJobFlowsInput{JobFlowIds: []string{id}})
			return err
		},
		"AddJobFlowSteps": func() error {
			_, err := c.AddJobFlowSteps(ctx, &emr.AddJobFlowStepsInput{JobFlowId: aws.String(id), Steps: []types.StepConfig{{Name: aws.String("x"), HadoopJarStep: &types.HadoopJarStepConfig{Jar: aws.String("command-runner.jar"), Args: []string{"true"}}}}})
			return err
		},
		"ListSteps": func() error {
			_, err := c.ListSteps(ctx, &emr.ListStepsInput{ClusterId: aws.String(id)})
			return err
		},
		"DescribeStep": func() error {
			_, err := c.DescribeStep(ctx, &emr.DescribeStepInput{ClusterId: aws.String(id), StepId: aws.String("s-X")})
			return err
		},
		"CancelSteps": func() error {
			_, err := c.CancelSteps(ctx, &emr.CancelStepsInput{ClusterId: aws.String(id), StepIds: []string{"s-X"}})
			return err
		},
		"ListInstanceGroups": func() error {
			_, err := c.ListInstanceGroups(ctx, &emr.ListInstanceGroupsInput{ClusterId: aws.String(id)})
			return err
		},
		"ListInstances": func() error {
			_, err := c.ListInstances(ctx, &emr.ListInstancesInput{ClusterId: aws.String(id)})
			return err
		},
		"ListBootstrapActions": func() error {
			_, err := c.ListBootstrapActions(ctx, &emr.ListBootstrapActionsInput{ClusterId: aws.String(id)})
			return err
		},
		"SetTerminationProtection": func() error {
			_, err := c.SetTerminationProtection(ctx, &emr.SetTerminationProtectionInput{JobFlowIds: []string{id}, TerminationProtected: aws.Bool(true)})
			return err
		},
		"SetKeepJobFlowAliveWhenNoSteps": func() error {
			_, err := c.SetKeepJobFlowAliveWhenNoSteps(ctx, &emr.SetKeepJobFlowAliveWhenNoStepsInput{JobFlowIds: []string{id}, KeepJobFlowAliveWhenNoSteps: aws.Bool(true)})
			return err
		},
		"ModifyCluster": func() error {
			_, err := c.ModifyCluster(ctx, &emr.ModifyClusterInput{ClusterId: aws.String(id), StepConcurrencyLevel: aws.Int32(2)})
			return err
		},
		"PutAutoTerminationPolicy": func() error {
			_, err := c.PutAutoTerminationPolicy(ctx, &emr.PutAutoTerminationPolicyInput{ClusterId: aws.String(id), AutoTerminationPolicy: &types.AutoTerminationPolicy{IdleTimeout: aws.Int64(3600)}})
			return err
		},
		"GetAutoTerminationPolicy": func() error {
			_, err := c.GetAutoTerminationPolicy(ctx, &emr.GetAutoTerminationPolicyInput{ClusterId: aws.String(id)})
			return err
		},
		"RemoveAutoTerminationPolicy": func() error {
			_, err := c.RemoveAutoTerminationPolicy(ctx, &emr.RemoveAutoTerminationPolicyInput{ClusterId: aws.String(id)})
			return err
		},
		"AddInstanceGroups": func() error {
			_, err := c.AddInstanceGroups(ctx, &emr.AddInstanceGroupsInput{JobFlowId: aws.String(id), InstanceGroups: []types.InstanceGroupConfig{{InstanceRole: types.InstanceRoleTypeTask, InstanceType: aws.String("local.small"), InstanceCount: aws.Int32(1)}}})
			return err
		},
		"ModifyInstanceGroups": func() error {
			_, err := c.ModifyInstanceGroups(ctx, &emr.ModifyInstanceGroupsInput{ClusterId: aws.String(id), InstanceGroups: []types.InstanceGroupModifyConfig{{InstanceGroupId: aws.String("ig-X"), InstanceCount: aws.Int32(1)}}})
			return err
		},
		"AddTags": func() error {
			_, err := c.AddTags(ctx, &emr.AddTagsInput{ResourceId: aws.String(id), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		},
		"RemoveTags": func() error {
			_, err := c.RemoveTags(ctx, &emr.RemoveTagsInput{ResourceId: aws.String(id), TagKeys: []string{"k"}})
			return err
		},
	}
	names := make([]string, 0, len(calls))
	for n := range calls {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			apiErr(t, calls[n](), "InvalidRequestException", 400, "Cluster id 'j-NOSUCHCLUSTER' is not valid.")
		})
	}

	// An unknown step of a known cluster.
	known := e.runJobFlow(t, "known")
	_, err = c.DescribeStep(ctx, &emr.DescribeStepInput{ClusterId: aws.String(known), StepId: aws.String("s-NOSUCHSTEP")})
	apiErr(t, err, "InvalidRequestException", 400, "s-NOSUCHSTEP")
	// A missing required member.
	_, err = c.DescribeCluster(ctx, &emr.DescribeClusterInput{ClusterId: aws.String("")})
	if err == nil {
		t.Errorf("DescribeCluster with an empty ClusterId succeeded")
	}
}

// TestEMRListClustersPaging: 50 clusters a page, Marker to the next.
func TestEMRListClustersPaging(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	const n = 57
	want := map[string]bool{}
	for i := range n {
		c, err := e.cp.CreateCluster(ctx, hearth.ClusterSpec{
			Name:           fmt.Sprintf("c%02d", i),
			InstanceGroups: []hearth.InstanceGroupConfig{{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1}},
		})
		if err != nil {
			t.Fatal(err)
		}
		want[c.Id] = true
	}
	p1, err := e.client.ListClusters(ctx, &emr.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Clusters) != 50 || p1.Marker == nil || *p1.Marker == "" {
		t.Fatalf("first page: %d clusters, Marker %v; want 50 and a Marker", len(p1.Clusters), p1.Marker)
	}
	p2, err := e.client.ListClusters(ctx, &emr.ListClustersInput{Marker: p1.Marker})
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.Clusters) != n-50 || p2.Marker != nil {
		t.Fatalf("second page: %d clusters, Marker %v; want %d and none", len(p2.Clusters), aws.ToString(p2.Marker), n-50)
	}
	seen := map[string]bool{}
	var prev time.Time
	for i, c := range append(p1.Clusters, p2.Clusters...) {
		id := aws.ToString(c.Id)
		if seen[id] || !want[id] {
			t.Errorf("cluster %s listed twice or unknown", id)
		}
		seen[id] = true
		created := aws.ToTime(c.Status.Timeline.CreationDateTime)
		if i > 0 && created.After(prev) {
			t.Errorf("clusters not newest first at %d", i)
		}
		prev = created
	}
	if len(seen) != n {
		t.Errorf("listed %d distinct clusters, want %d", len(seen), n)
	}

	// The SDK's paginator walks the same pages.
	pg := emr.NewListClustersPaginator(e.client, &emr.ListClustersInput{})
	pages, total := 0, 0
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		total += len(out.Clusters)
	}
	if pages != 2 || total != n {
		t.Errorf("paginator: %d pages, %d clusters; want 2, %d", pages, total, n)
	}

	// CreatedAfter in the future lists nothing; a bad Marker is refused.
	out, err := e.client.ListClusters(ctx, &emr.ListClustersInput{CreatedAfter: aws.Time(time.Now().Add(time.Hour))})
	if err != nil || len(out.Clusters) != 0 {
		t.Errorf("CreatedAfter future: %v, %d clusters", err, len(out.Clusters))
	}
	out, err = e.client.ListClusters(ctx, &emr.ListClustersInput{CreatedBefore: aws.Time(time.Now().Add(time.Hour))})
	if err != nil || len(out.Clusters) != 50 {
		t.Errorf("CreatedBefore future: %v, %d clusters", err, len(out.Clusters))
	}
	_, err = e.client.ListClusters(ctx, &emr.ListClustersInput{Marker: aws.String("garbage")})
	apiErr(t, err, "InvalidRequestException", 400, "Marker")
}

// TestEMRWaiters: the SDK's waiters end at once on a failure state.
func TestEMRWaiters(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id := e.runJobFlow(t, "waiters")
	as, err := e.client.AddJobFlowSteps(ctx, &emr.AddJobFlowStepsInput{JobFlowId: aws.String(id), Steps: []types.StepConfig{{
		Name: aws.String("never"), HadoopJarStep: &types.HadoopJarStepConfig{Jar: aws.String("command-runner.jar"), Args: []string{"true"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CancelSteps(ctx, &emr.CancelStepsInput{ClusterId: aws.String(id), StepIds: as.StepIds}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = emr.NewStepCompleteWaiter(e.client).Wait(ctx, &emr.DescribeStepInput{ClusterId: aws.String(id), StepId: aws.String(as.StepIds[0])}, 2*time.Minute)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Errorf("StepCompleteWaiter on a CANCELLED step: err %v after %v; want an error at once", err, time.Since(start))
	}

	if _, err := e.client.TerminateJobFlows(ctx, &emr.TerminateJobFlowsInput{JobFlowIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	err = emr.NewClusterRunningWaiter(e.client).Wait(ctx, &emr.DescribeClusterInput{ClusterId: aws.String(id)}, 2*time.Minute)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Errorf("ClusterRunningWaiter on a TERMINATING cluster: err %v after %v; want an error at once", err, time.Since(start))
	}
	if err := e.cp.Reconcile(ctx, id); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	err = emr.NewClusterRunningWaiter(e.client).Wait(ctx, &emr.DescribeClusterInput{ClusterId: aws.String(id)}, 2*time.Minute)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Errorf("ClusterRunningWaiter on a TERMINATED cluster: err %v after %v; want an error at once", err, time.Since(start))
	}
	start = time.Now()
	if err := emr.NewClusterTerminatedWaiter(e.client).Wait(ctx, &emr.DescribeClusterInput{ClusterId: aws.String(id)}, 2*time.Minute); err != nil || time.Since(start) > 10*time.Second {
		t.Errorf("ClusterTerminatedWaiter on a TERMINATED cluster: %v after %v", err, time.Since(start))
	}
}

// TestEMRSignatures: what the endpoint says to unsigned, badly signed and
// unknown requests.
func TestEMRSignatures(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	good := aws.Credentials{AccessKeyID: e.keyID, SecretAccessKey: e.secret}
	body := []byte(`{"ClusterStates":["WAITING"]}`)

	t.Run("good raw request", func(t *testing.T) {
		st, typ, _ := e.raw(t, "ListClusters", body, &good, "us-east-1", time.Now(), nil)
		if st != 200 || typ != "" {
			t.Fatalf("signed ListClusters: %d %s", st, typ)
		}
	})
	t.Run("unknown operation raw", func(t *testing.T) {
		st, typ, msg := e.raw(t, "DescribeJobFlows", []byte(`{}`), &good, "us-east-1", time.Now(), nil)
		if st != 400 || typ != "UnknownOperationException" || !strings.Contains(msg, "DescribeJobFlows") {
			t.Errorf("DescribeJobFlows: %d %s %q", st, typ, msg)
		}
	})
	t.Run("unknown operation SDK", func(t *testing.T) {
		_, err := e.client.ListSecurityConfigurations(ctx, &emr.ListSecurityConfigurationsInput{})
		apiErr(t, err, "UnknownOperationException", 400, "ListSecurityConfigurations")
	})
	t.Run("wrong secret", func(t *testing.T) {
		_, err := e.newClient(e.keyID, "wrong"+e.secret[5:], "us-east-1").ListClusters(ctx, &emr.ListClustersInput{})
		apiErr(t, err, "InvalidSignatureException", 403, "signature")
	})
	t.Run("unknown access key", func(t *testing.T) {
		_, err := e.newClient("AKIAUNKNOWNUNKNOWN00", e.secret, "us-east-1").ListClusters(ctx, &emr.ListClustersInput{})
		apiErr(t, err, "UnrecognizedClientException", 403, "security token")
	})
	t.Run("wrong region", func(t *testing.T) {
		_, err := e.newClient(e.keyID, e.secret, "eu-west-1").ListClusters(ctx, &emr.ListClustersInput{})
		apiErr(t, err, "InvalidSignatureException", 403, "eu-west-1")
		st, typ, _ := e.raw(t, "ListClusters", body, &good, "us-west-2", time.Now(), nil)
		if st != 403 || typ != "InvalidSignatureException" {
			t.Errorf("raw us-west-2: %d %s", st, typ)
		}
	})
	t.Run("tampered body", func(t *testing.T) {
		st, typ, msg := e.raw(t, "ListClusters", body, &good, "us-east-1", time.Now(), func(r *http.Request) {
			b := bytes.Replace(body, []byte("WAITING"), []byte("RUNNING"), 1)
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.ContentLength = int64(len(b))
		})
		if st != 403 || typ != "InvalidSignatureException" || !strings.Contains(msg, "signature") {
			t.Errorf("tampered body: %d %s %q", st, typ, msg)
		}
	})
	t.Run("tampered target", func(t *testing.T) {
		st, typ, _ := e.raw(t, "ListClusters", []byte(`{"JobFlowIds":["j-X"]}`), &good, "us-east-1", time.Now(), func(r *http.Request) {
			r.Header.Set("X-Amz-Target", "ElasticMapReduce.TerminateJobFlows")
		})
		if st != 403 || typ != "InvalidSignatureException" {
			t.Errorf("tampered target: %d %s", st, typ)
		}
	})
	t.Run("stale date", func(t *testing.T) {
		st, typ, msg := e.raw(t, "ListClusters", body, &good, "us-east-1", time.Now().Add(-20*time.Minute), nil)
		if st != 403 || typ != "InvalidSignatureException" || !strings.Contains(msg, "Signature expired") {
			t.Errorf("stale date: %d %s %q", st, typ, msg)
		}
	})
	t.Run("date in the future", func(t *testing.T) {
		st, _, msg := e.raw(t, "ListClusters", body, &good, "us-east-1", time.Now().Add(20*time.Minute), nil)
		if st != 403 || !strings.Contains(msg, "Signature expired") {
			t.Errorf("future date: %d %q", st, msg)
		}
	})
	t.Run("within skew", func(t *testing.T) {
		st, typ, _ := e.raw(t, "ListClusters", body, &good, "us-east-1", time.Now().Add(-5*time.Minute), nil)
		if st != 200 {
			t.Errorf("5 minutes old: %d %s", st, typ)
		}
	})
	t.Run("missing signature", func(t *testing.T) {
		st, typ, _ := e.raw(t, "ListClusters", body, nil, "us-east-1", time.Now(), nil)
		if st != 403 || typ != "MissingAuthenticationTokenException" {
			t.Errorf("unsigned: %d %s", st, typ)
		}
	})
	t.Run("admin token is not an EMR credential", func(t *testing.T) {
		st, typ, _ := e.raw(t, "ListClusters", body, nil, "us-east-1", time.Now(), func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer admin-token")
		})
		if st < 400 || st > 403 || typ == "" {
			t.Errorf("bearer token on the EMR endpoint: %d %s", st, typ)
		}
	})
	t.Run("deleted key", func(t *testing.T) {
		k, secret, err := e.cp.CreateAccessKey(ctx, "to delete")
		if err != nil {
			t.Fatal(err)
		}
		c := e.newClient(k.AccessKeyId, secret, "us-east-1")
		if _, err := c.ListClusters(ctx, &emr.ListClustersInput{}); err != nil {
			t.Fatalf("new key: %v", err)
		}
		if err := e.cp.DeleteAccessKey(ctx, k.AccessKeyId); err != nil {
			t.Fatal(err)
		}
		_, err = c.ListClusters(ctx, &emr.ListClustersInput{})
		apiErr(t, err, "UnrecognizedClientException", 403, "")
	})
	t.Run("unknown member", func(t *testing.T) {
		st, typ, msg := e.raw(t, "ListClusters", []byte(`{"Bogus":1}`), &good, "us-east-1", time.Now(), nil)
		if st != 400 || typ != "SerializationException" || !strings.Contains(msg, "Bogus") {
			t.Errorf("unknown member: %d %s %q", st, typ, msg)
		}
	})
	t.Run("empty body", func(t *testing.T) {
		st, typ, _ := e.raw(t, "ListClusters", nil, &good, "us-east-1", time.Now(), nil)
		if st != 200 {
			t.Errorf("empty body: %d %s", st, typ)
		}
	})
}

// raw sends a request for op, signed with creds (nil: unsigned) for region
// at signTime; tamper changes it after signing. It returns the status and
// the error's __type and message.
func (e *tenv) raw(t *testing.T, op string, body []byte, creds *aws.Credentials, region string, signTime time.Time, tamper func(*http.Request)) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "ElasticMapReduce."+op)
	if creds != nil {
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), *creds, req, hex.EncodeToString(sum[:]), "elasticmapreduce", region, signTime); err != nil {
			t.Fatal(err)
		}
	}
	if tamper != nil {
		tamper(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
			t.Errorf("Content-Type = %q", ct)
		}
		return 200, "", ""
	}
	var eb struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(b, &eb); err != nil {
		t.Errorf("error body is not JSON: %q", b)
	}
	return resp.StatusCode, eb.Type, eb.Message
}

func describe(t *testing.T, c *emr.Client, id string) *types.Cluster {
	t.Helper()
	out, err := c.DescribeCluster(context.Background(), &emr.DescribeClusterInput{ClusterId: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeCluster: %v", err)
	}
	return out.Cluster
}

func listGroups(t *testing.T, c *emr.Client, id string) []types.InstanceGroup {
	t.Helper()
	out, err := c.ListInstanceGroups(context.Background(), &emr.ListInstanceGroupsInput{ClusterId: aws.String(id)})
	if err != nil {
		t.Fatalf("ListInstanceGroups: %v", err)
	}
	return out.InstanceGroups
}

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, tg := range tags {
		m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return m
}
