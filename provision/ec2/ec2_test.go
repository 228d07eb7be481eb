package ec2

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hearthcluster/hearth"
)

func testCluster(t *testing.T) (*hearth.Cluster, []*hearth.Node) {
	t.Helper()
	spec := hearth.ClusterSpec{Name: "seed", ReleaseLabel: "spark-4.0.1", Provisioner: "ec2",
		Tags: []hearth.Tag{{Key: "team", Value: "data"}, {Key: "hearth:provisioner", Value: "ec2"}},
		InstanceGroups: []hearth.InstanceGroupConfig{
			{InstanceGroupType: hearth.RoleMaster, InstanceType: "m5.xlarge", InstanceCount: 1},
			{InstanceGroupType: hearth.RoleCore, InstanceType: "m5.xlarge", InstanceCount: 2, Market: "SPOT", BidPrice: "0.10",
				EbsConfiguration: map[string]any{"EbsBlockDeviceConfigs": []any{map[string]any{
					"VolumeSpecification": map[string]any{"VolumeType": "gp3", "SizeInGB": 100}, "VolumesPerInstance": 2}}}},
		}}
	c, nodes, err := hearth.NewCluster(spec, "4.0.1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c, nodes
}

// TestRunInstancesInput: the exact request a spot core node gets.
func TestRunInstancesInput(t *testing.T) {
	c, nodes := testCluster(t)
	var core *hearth.Node
	for _, n := range nodes {
		if n.Role == hearth.RoleCore {
			core = n
		}
	}
	g := c.Group(core.InstanceGroupId)
	cfg := Config{Subnet: "subnet-1", KeyName: "seed-key", InstanceProfile: "EMR_EC2_DefaultRole", Owner: "SHA256:abc"}
	in := RunInstancesInput(cfg, c, g, core, "sg-w", "#!/bin/bash\n")
	switch {
	case aws.ToString(in.ImageId) != DefaultAMI, in.InstanceType != "m5.xlarge", aws.ToInt32(in.MinCount) != 1, aws.ToInt32(in.MaxCount) != 1:
		t.Errorf("image %s type %s count %d..%d", aws.ToString(in.ImageId), in.InstanceType, aws.ToInt32(in.MinCount), aws.ToInt32(in.MaxCount))
	case aws.ToString(in.SubnetId) != "subnet-1" || len(in.SecurityGroupIds) != 1 || in.SecurityGroupIds[0] != "sg-w":
		t.Errorf("subnet %s groups %v", aws.ToString(in.SubnetId), in.SecurityGroupIds)
	case aws.ToString(in.KeyName) != "seed-key" || aws.ToString(in.IamInstanceProfile.Name) != "EMR_EC2_DefaultRole":
		t.Errorf("key %s profile %+v", aws.ToString(in.KeyName), in.IamInstanceProfile)
	case aws.ToString(in.ClientToken) != core.Id:
		t.Errorf("client token %s: a retried launch must not start a second instance", aws.ToString(in.ClientToken))
	case in.MetadataOptions == nil || in.MetadataOptions.HttpTokens != types.HttpTokensStateRequired:
		t.Errorf("IMDSv2 not required: %+v", in.MetadataOptions)
	}
	mo := in.InstanceMarketOptions
	if mo == nil || mo.MarketType != types.MarketTypeSpot || aws.ToString(mo.SpotOptions.MaxPrice) != "0.10" ||
		mo.SpotOptions.InstanceInterruptionBehavior != types.InstanceInterruptionBehaviorTerminate {
		t.Errorf("spot options %+v", mo)
	}
	if len(in.BlockDeviceMappings) != 2 || aws.ToString(in.BlockDeviceMappings[1].DeviceName) != "/dev/sdg" ||
		aws.ToInt32(in.BlockDeviceMappings[0].Ebs.VolumeSize) != 100 || in.BlockDeviceMappings[0].Ebs.VolumeType != "gp3" ||
		!aws.ToBool(in.BlockDeviceMappings[0].Ebs.DeleteOnTermination) {
		t.Errorf("block devices %+v", in.BlockDeviceMappings)
	}
	tags := map[string]string{}
	for _, ts := range in.TagSpecifications {
		if ts.ResourceType == types.ResourceTypeInstance {
			for _, tg := range ts.Tags {
				tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
		}
	}
	if tags[TagCluster] != c.Id || tags[TagNode] != core.Id || tags[TagOwner] != "SHA256:abc" || tags["team"] != "data" || tags["hearth:provisioner"] != "" {
		t.Errorf("instance tags %v", tags)
	}
	if ud, _ := base64.StdEncoding.DecodeString(aws.ToString(in.UserData)); string(ud) != "#!/bin/bash\n" {
		t.Errorf("user data %q", ud)
	}
	// The master is on demand, without volumes.
	master := nodes[0]
	if m := RunInstancesInput(Config{Subnet: "subnet-1"}, c, c.Group(master.InstanceGroupId), master, "sg-m", ""); m.InstanceMarketOptions != nil ||
		m.BlockDeviceMappings != nil || m.KeyName != nil || m.IamInstanceProfile != nil {
		t.Errorf("master request %+v", m)
	}
}

// TestIngressRules: nothing from 0.0.0.0/0 unless asked; the cluster's
// groups and the control plane only.
func TestIngressRules(t *testing.T) {
	rules := IngressRules(groupPair{Master: "sg-m", Worker: "sg-w"}, "10.1.2.3/32", "")
	for _, r := range rules {
		for _, ip := range r.IpRanges {
			if aws.ToString(ip.CidrIp) == "0.0.0.0/0" {
				t.Fatalf("rule open to the world: %+v", r)
			}
		}
	}
	if len(rules) != 2 || len(rules[0].UserIdGroupPairs) != 2 || aws.ToString(rules[1].IpRanges[0].CidrIp) != "10.1.2.3/32" {
		t.Errorf("rules %+v", rules)
	}
	ssh := IngressRules(groupPair{Master: "sg-m", Worker: "sg-w"}, "10.1.2.3/32", "198.51.100.0/24")
	if len(ssh) != 3 || aws.ToInt32(ssh[2].FromPort) != 22 || aws.ToInt32(ssh[2].ToPort) != 22 {
		t.Errorf("ssh rule %+v", ssh)
	}
}

// TestFit: refusals name what to set; a cluster without an idle timeout
// gets one, said in a note.
func TestFit(t *testing.T) {
	c, _ := testCluster(t)
	for _, tc := range []struct {
		p    *Provisioner
		want string
	}{
		{&Provisioner{Cfg: Config{Subnet: "subnet-1"}}, "--advertise-url"},
		{&Provisioner{ServerURL: "https://10.0.0.5:8443"}, "--ec2-subnet"},
		{&Provisioner{ServerURL: "https://hearth.example:8443", Cfg: Config{Subnet: "subnet-1"}}, "--ec2-control-cidr"},
	} {
		if _, err := tc.p.Fit(t.Context(), c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Fit: %v; want a refusal naming %s", err, tc.want)
		}
	}
	p := &Provisioner{ServerURL: "https://10.0.0.5:8443", Cfg: Config{Subnet: "subnet-1"}}
	notes, err := p.Fit(t.Context(), c)
	if err != nil || c.IdleTimeout != DefaultIdleTimeout || len(notes) != 1 {
		t.Errorf("Fit: %v, idle timeout %d, notes %v", err, c.IdleTimeout, notes)
	}
	if cidr, _ := p.controlCIDR(); cidr != "10.0.0.5/32" {
		t.Errorf("control CIDR %s", cidr)
	}
	local, _ := testCluster(t)
	local.InstanceGroups[0].InstanceType = "local.small"
	if _, err := p.Fit(t.Context(), local); err == nil || !strings.Contains(err.Error(), "local.small") {
		t.Errorf("Fit of a local size: %v", err)
	}
}

// TestUserData: the agent comes from the control plane over TLS with only
// its CA trusted; the script installs Java only when it is missing.
func TestUserData(t *testing.T) {
	ud := UserData("https://10.0.0.5:8443", []byte("-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n"), "i-0123", "hnt_secret")
	for _, want := range []string{"#!/bin/bash", "--cacert ca.pem", "https://10.0.0.5:8443/agent/v1/binary", "HEARTH_AGENT_TOKEN=hnt_secret",
		"if ! command -v java", "--retry-all-errors", "java-17-amazon-corretto-headless", "--env-file agent.env", "-----BEGIN CERTIFICATE-----", "umask 077"} {
		if !strings.Contains(ud, want) {
			t.Errorf("user data lacks %q:\n%s", want, ud)
		}
	}
	if strings.Contains(ud, "-k ") || strings.Contains(ud, "--insecure") {
		t.Errorf("user data skips TLS verification:\n%s", ud)
	}
}
