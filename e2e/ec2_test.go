//go:build integration

package e2e

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/internal/fakeec2"
	"github.com/hearthcluster/hearth/pki"
	ec2prov "github.com/hearthcluster/hearth/provision/ec2"
)

// ec2Env is a server whose ec2 provisioner uses cloud (a FAKE of EC2:
// moto, with instances booted as network namespaces), in subnet.
func ec2Env(t *testing.T, cloud *fakeec2.Cloud, subnet string) *env {
	gw := cloud.GatewayIP
	s3Addr := net.JoinHostPort(gw, freePortOn(t, gw))
	e := newEnvArgs(t, []string{
		"--advertise-url", "https://" + net.JoinHostPort(gw, freePortOn(t, gw)),
		"--s3-listen", s3Addr,
		"--heartbeat-timeout", "10s",
		"--ec2-subnet", subnet, "--ec2-endpoint", cloud.Endpoint, "--ec2-region", cloud.Region,
	},
		// Static keys (the fake takes any) and no instance metadata: the
		// SDK must talk to nothing but the fake.
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_EC2_METADATA_DISABLED=true")
	e.s3 = "http://" + s3Addr
	return e
}

// clusterInstances are the fake's instances tagged for cluster id.
func clusterInstances(t *testing.T, cloud *fakeec2.Cloud, id string) []fakeec2.Instance {
	t.Helper()
	all, err := cloud.Instances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []fakeec2.Instance
	for _, in := range all {
		if in.Tags[ec2prov.TagCluster] == id {
			out = append(out, in)
		}
	}
	return out
}

// assertNothingLeft fails unless every instance of cluster id is
// terminated and its security groups are gone, as EC2 reports them.
func assertNothingLeft(t *testing.T, cloud *fakeec2.Cloud, api *ec2.Client, id string) {
	t.Helper()
	for _, in := range clusterInstances(t, cloud, id) {
		if in.State != "terminated" {
			t.Errorf("cluster %s: instance %s is %s, want terminated", id, in.Id, in.State)
		}
		if left := cloud.Processes(in.Id); len(left) > 0 {
			t.Errorf("cluster %s: instance %s still runs %v", id, in.Id, left)
		}
	}
	sgs, err := api.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{
		Filters: []types.Filter{{Name: aws.String("tag:" + ec2prov.TagCluster), Values: []string{id}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sgs.SecurityGroups) > 0 {
		t.Errorf("cluster %s: %d security groups left", id, len(sgs.SecurityGroups))
	}
}

// TestEC2Provisioner runs clusters on EC2 as the ec2 provisioner sees it,
// against a FAKE of EC2 (moto's server) whose instances a harness boots:
// each becomes a network namespace at its private IP running its user
// data, which fetches the agent from the control plane over TLS.
func TestEC2Provisioner(t *testing.T) {
	ctx := context.Background()
	cloud, err := fakeec2.Start(ctx, t.TempDir(), fakeec2.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // last: after the envs have terminated their clusters
		if err := cloud.Close(); err != nil {
			t.Error(err)
		}
	})
	api := ec2.New(ec2.Options{Region: cloud.Region, BaseEndpoint: aws.String(cloud.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")})

	// A subnet EC2 does not know: the cluster fails naming it, and no
	// instance was started.
	func() {
		bad := ec2Env(t, cloud, "subnet-0123456789abcdef0")
		id := bad.stepCreateCluster("--provisioner", "ec2", "--instance-type", "m5.xlarge", "--instance-count", "2")
		v := bad.waitFor(id, "the cluster to fail", func(v *control.ClusterView) bool { return v.Cluster.Status.State.Ended() })
		if r := v.Cluster.Status.StateChangeReason; v.Cluster.Status.State != hearth.ClusterTerminatedWithErrors || !strings.Contains(r.Message, "subnet") {
			t.Errorf("cluster in a bad subnet: %s %s %q; want TERMINATED_WITH_ERRORS naming the subnet", v.Cluster.Status.State, r.Code, r.Message)
		}
		if left := clusterInstances(t, cloud, id); len(left) > 0 {
			t.Errorf("instances started in a bad subnet: %+v", left)
		}
		bad.stopServer()
	}()

	e := ec2Env(t, cloud, cloud.SubnetId)

	// hearth ec2 check: every permission, by DryRun, against the fake.
	check := []string{"ec2", "check", "--ec2-endpoint", cloud.Endpoint, "--ec2-region", cloud.Region}
	if out := e.ok(append(check, "--ec2-subnet", cloud.SubnetId)...); strings.Contains(out, "FAILED") || strings.Count(out, "ok") < 5 {
		t.Errorf("ec2 check of a good setup:\n%s", out)
	}
	if r := e.hearth(append(check, "--ec2-subnet", "subnet-0123456789abcdef0")...); r.code == 0 || !strings.Contains(r.stdout, "FAILED") || !strings.Contains(r.stdout, "subnet") {
		t.Errorf("ec2 check of a bad subnet: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// EC2 has no capacity: the cluster fails with EC2's reason; nothing is
	// left running, and no security group.
	cloud.FailNext("RunInstances", "InsufficientInstanceCapacity", "We currently do not have sufficient m5.xlarge capacity in the Availability Zone you requested (us-east-1a).")
	failed := e.stepCreateCluster("--provisioner", "ec2", "--instance-type", "m5.xlarge", "--instance-count", "2")
	v := e.waitFor(failed, "the cluster to fail", func(v *control.ClusterView) bool { return v.Cluster.Status.State.Ended() })
	if r := v.Cluster.Status.StateChangeReason; v.Cluster.Status.State != hearth.ClusterTerminatedWithErrors || !strings.Contains(r.Message, "InsufficientInstanceCapacity") {
		t.Errorf("cluster without capacity: %s %s %q", v.Cluster.Status.State, r.Code, r.Message)
	}
	assertNothingLeft(t, cloud, api, failed)

	// 1 master + 2 spot workers, from instance groups.
	id := e.stepCreateCluster("--provisioner", "ec2", "--name", "seed on ec2",
		"--instance-groups", "InstanceGroupType=MASTER,InstanceCount=1,InstanceType=m5.xlarge",
		"InstanceGroupType=CORE,InstanceCount=2,InstanceType=m5.xlarge,Market=SPOT,BidPrice=0.10", "--wait")
	v = e.describe(id)
	if v.Cluster.Status.State != hearth.ClusterWaiting || aliveWorkers(v) != 2 {
		t.Fatalf("cluster %s with %d workers; want WAITING with 2", v.Cluster.Status.State, aliveWorkers(v))
	}
	if v.Cluster.IdleTimeout != ec2prov.DefaultIdleTimeout || !strings.Contains(strings.Join(v.Cluster.Notes, " "), "idle") {
		t.Errorf("idle timeout %d, notes %q: an EC2 cluster without a policy gets one, and says so", v.Cluster.IdleTimeout, v.Cluster.Notes)
	}
	insts := clusterInstances(t, cloud, id)
	spot := 0
	for _, in := range insts {
		if in.State != "running" || in.InstanceType != "m5.xlarge" || in.Tags[ec2prov.TagNode] == "" {
			t.Errorf("instance %+v", in)
		}
		if in.Market == "spot" {
			spot++
		}
	}
	if len(insts) != 3 || spot != 2 {
		t.Fatalf("%d instances, %d spot; want 3 with 2 spot", len(insts), spot)
	}
	for _, n := range v.Nodes {
		if !slicesContainsIP(insts, n.Host) {
			t.Errorf("node %s on %q, not an instance's address", n.Id, n.Host)
		}
	}
	for _, r := range cloud.Requests() {
		for k, vals := range r.Params {
			if strings.HasSuffix(k, "CidrIp") && vals[0] == "0.0.0.0/0" {
				t.Errorf("%s opened %s to the world", r.Action, k)
			}
		}
	}

	// Word count of a local script on S3 data.
	s3env := e.s3Env()
	cli := newAwsV2(t, e, s3env["AWS_ACCESS_KEY_ID"], s3env["AWS_SECRET_ACCESS_KEY"])
	text := stepsWriteFile(t, t.TempDir(), "book.txt", wordcountText)
	cli.ok("s3", "mb", "s3://ec2-data")
	cli.ok("s3", "cp", text, "s3://ec2-data/book.txt")
	wc := e.stepAdd(id, sparkStep("wc", stepsWordcount(t), "s3://ec2-data/book.txt"))[0]
	e.stepAwaitEnd(id, wc, hearth.StepCompleted, 4*time.Minute)
	checkWordCounts(t, e.stepLog(id, wc, "stdout"), wordcountText)

	// AWS reclaims a spot worker mid-step: the node is replaced by a new
	// instance and the step completes with the right answer.
	slow, _ := filepath.Abs("testdata/ssh/slowsum.py")
	step := e.stepAdd(id, sparkStep("slowsum", slow, "80"))[0]
	e.stepAwait(id, step, "the step to run", 2*time.Minute, func(st *hearth.Step) bool { return st.Status.State == hearth.StepRunning })
	time.Sleep(8 * time.Second)
	var victim fakeec2.Instance
	for _, in := range insts {
		if in.Market == "spot" {
			victim = in
		}
	}
	if err := cloud.Interrupt(ctx, victim.Id); err != nil {
		t.Fatal(err)
	}
	e.waitFor(id, "a replacement worker", func(v *control.ClusterView) bool {
		failed, replaced := false, false
		for _, n := range v.Nodes {
			failed = failed || (n.Id == victim.Tags[ec2prov.TagNode] && n.State == hearth.NodeFailed)
			replaced = replaced || (n.State == hearth.NodeRunning && n.Host != "" && !slicesContainsIP(insts, n.Host))
		}
		return failed && replaced && aliveWorkers(v) == 2
	})
	e.stepAwaitEnd(id, step, hearth.StepCompleted, 4*time.Minute)
	if out := e.stepLog(id, step, "stdout"); !strings.Contains(out, "SUM 3160") {
		t.Errorf("slowsum after losing a spot worker: %q; want SUM 3160", out)
	}

	e.ok("terminate-clusters", "--cluster-ids", id)
	e.ok("wait", "cluster-terminated", "--cluster-id", id)
	if n := len(clusterInstances(t, cloud, id)); n != 4 {
		t.Errorf("%d instances for the cluster, want 4 (3 and a replacement)", n)
	}
	assertNothingLeft(t, cloud, api, id)

	// An instance of this control plane's that the store does not account
	// for (its launch was never recorded) is terminated by the sweep, which
	// runs when the server starts.
	ca, err := pki.LoadOrCreate(filepath.Join(e.home, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	tag := func(k, v string) types.Tag { return types.Tag{Key: &k, Value: &v} }
	run, err := api.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ec2prov.DefaultAMI), InstanceType: "m5.xlarge",
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(cloud.SubnetId),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{
			tag(ec2prov.TagCluster, id), tag(ec2prov.TagOwner, ca.Fingerprint()[:len("SHA256:")+16])}}}})
	if err != nil {
		t.Fatal(err)
	}
	// Another control plane's instance is left alone.
	other, err := api.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ec2prov.DefaultAMI), InstanceType: "m5.xlarge",
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(cloud.SubnetId),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{
			tag(ec2prov.TagCluster, "j-SOMEONEELSES1"), tag(ec2prov.TagOwner, "SHA256:0000000000000000")}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.stopServer()
	e.startServer()
	orphan, bystander := aws.ToString(run.Instances[0].InstanceId), aws.ToString(other.Instances[0].InstanceId)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		states := map[string]string{}
		all, _ := cloud.Instances(ctx)
		for _, in := range all {
			states[in.Id] = in.State
		}
		if states[orphan] == "terminated" {
			if states[bystander] != "running" {
				t.Errorf("another control plane's instance is %s", states[bystander])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the orphaned instance is still %s 30 s after the server started", states[orphan])
		}
	}
	if _, err := api.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{bystander}}); err != nil {
		t.Fatal(err)
	}
}

func slicesContainsIP(insts []fakeec2.Instance, ip string) bool {
	for _, in := range insts {
		if in.PrivateIP == ip {
			return true
		}
	}
	return false
}
