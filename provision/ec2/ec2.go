// Package ec2 is the provisioner of Amazon EC2 instances. Each node is one
// instance of its instance group's type (on demand or spot), in the
// configured subnet, in a security group pair of its cluster like EMR's
// managed groups: every node of the cluster reaches every other, the
// control plane's address reaches them all, and nothing else gets in
// unless the user asks for SSH. The instance's user data installs Java if
// it is missing, fetches the hearth binary from the control plane over TLS
// (pinning the control plane's CA, with the node's launch credential,
// which its first registration spends) and starts the agent. From then on
// the node is the agent's, as on every provisioner: liveness is its
// heartbeat.
package ec2

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/hearthcluster/hearth"
)

// DefaultAMI is Amazon Linux 2023's latest AMI, resolved by EC2 itself from
// AWS's public SSM parameter.
const DefaultAMI = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

// Tags Hearth puts on what it creates, to find it again after a restart.
const (
	TagCluster = "hearth:cluster"
	TagNode    = "hearth:node"
	// TagOwner names the control plane that started an instance: Sweep
	// touches only its own, so servers sharing an account leave each
	// other's alone.
	TagOwner = "hearth:control-plane"
)

// Config is where and how instances are started.
type Config struct {
	Region string
	// Subnet is the subnet instances start in (its VPC holds the security
	// groups); required.
	Subnet string
	// AMI is the image (default DefaultAMI).
	AMI string
	// KeyName is an EC2 key pair for SSH to the instances (optional: nodes
	// need no inbound SSH).
	KeyName string
	// InstanceProfile is an IAM instance profile name or ARN (optional).
	InstanceProfile string
	// ControlCIDR is the control plane's address as the instances see it;
	// default: the advertised URL's host, /32.
	ControlCIDR string
	// SSHCIDR, when set, may reach the instances' port 22.
	SSHCIDR string
	// Endpoint overrides the EC2 endpoint (an EC2 stand-in in tests).
	Endpoint string
	// Owner identifies this control plane in the TagOwner tag (the
	// server sets its CA's fingerprint).
	Owner string
}

// Provisioner starts nodes as EC2 instances.
type Provisioner struct {
	Cfg   Config
	Store hearth.Store
	// ServerURL is where agents reach the control plane (hearth server
	// --advertise-url); CAPEM the certificate they pin.
	ServerURL string
	CAPEM     []byte
	Logger    *slog.Logger
	// Client, when set, is used instead of one built from Cfg (tests).
	Client *ec2.Client

	mu     sync.Mutex
	groups map[string]groupPair // cluster id -> its security groups
}

// groupPair is a cluster's security groups, as EMR has a master's and the
// others'.
type groupPair struct{ Master, Worker string }

var (
	_ hearth.Provisioner = (*Provisioner)(nil)
	_ hearth.Fitter      = (*Provisioner)(nil)
	_ hearth.Releaser    = (*Provisioner)(nil)
	_ hearth.Sweeper     = (*Provisioner)(nil)
)

// handle finds a node's instance again.
type handle struct {
	InstanceId string `json:"InstanceId"`
	Dir        string `json:"Dir"` // the node's directory on the instance
}

// Name implements hearth.Provisioner.
func (p *Provisioner) Name() string { return "ec2" }

func (p *Provisioner) log() *slog.Logger {
	if p.Logger == nil {
		return slog.Default()
	}
	return p.Logger
}

func (p *Provisioner) client(ctx context.Context) (*ec2.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Client != nil {
		return p.Client, nil
	}
	opts := []func(*awsconfig.LoadOptions) error{}
	if p.Cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(p.Cfg.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	p.Client = ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if p.Cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(p.Cfg.Endpoint)
		}
	})
	return p.Client, nil
}

// Place implements hearth.Provisioner: EC2 chooses the address when the
// instance starts, and the agent its ports; both are reported when it
// registers.
func (p *Provisioner) Place(ctx context.Context, c *hearth.Cluster, n *hearth.Node) error {
	n.Host, n.HostId, n.Ports = "", "", hearth.NodePorts{}
	return nil
}

// DefaultIdleTimeout is the auto-termination policy of an EC2 cluster that
// sets none: instances cost money until someone terminates them.
const DefaultIdleTimeout = 3600

// Fit implements hearth.Fitter: it refuses what EC2 would refuse later,
// without calling AWS, and gives a cluster without an auto-termination
// policy one.
func (p *Provisioner) Fit(ctx context.Context, c *hearth.Cluster) ([]string, error) {
	switch {
	case p.ServerURL == "":
		return nil, hearth.Invalid("provisioner", p.Name(), "instances need an address of this server: start hearth server with --advertise-url https://<an address the instances reach>:<port>")
	case p.Cfg.Subnet == "":
		return nil, hearth.Invalid("provisioner", p.Name(), "no subnet: start hearth server with --ec2-subnet subnet-... (hearth ec2 check verifies it)")
	}
	if _, err := p.controlCIDR(); err != nil {
		return nil, err
	}
	for i, g := range c.InstanceGroups {
		if strings.HasPrefix(g.InstanceType, "local.") {
			return nil, hearth.Invalid(fmt.Sprintf("instance-groups[%d].InstanceType", i), g.InstanceType, "local sizes are for the local provisioner; give an EC2 type such as m5.xlarge")
		}
	}
	var notes []string
	if c.IdleTimeout == 0 && !c.AutoTerminate {
		c.IdleTimeout = DefaultIdleTimeout
		notes = append(notes, fmt.Sprintf("EC2 clusters terminate after %d s without steps unless --auto-termination-policy says otherwise: idle instances cost money", DefaultIdleTimeout))
	}
	return notes, nil
}

// controlCIDR is the address range that may reach the instances' ports.
func (p *Provisioner) controlCIDR() (string, error) {
	if p.Cfg.ControlCIDR != "" {
		if _, _, err := net.ParseCIDR(p.Cfg.ControlCIDR); err != nil {
			return "", hearth.Invalid("ec2-control-cidr", p.Cfg.ControlCIDR, "a CIDR such as 203.0.113.7/32")
		}
		return p.Cfg.ControlCIDR, nil
	}
	u, err := url.Parse(p.ServerURL)
	if err == nil {
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.To4() != nil {
			return ip.String() + "/32", nil
		}
	}
	return "", hearth.Invalid("ec2-control-cidr", "", fmt.Sprintf("--advertise-url %s names no IPv4 address: give the control plane's address as the instances see it with --ec2-control-cidr", p.ServerURL))
}

// Launch implements hearth.Provisioner: one RunInstances for the node.
func (p *Provisioner) Launch(ctx context.Context, n *hearth.Node, env map[string]string) ([]byte, error) {
	c, err := p.Store.Cluster(ctx, n.ClusterId)
	if err != nil {
		return nil, err
	}
	g := c.Group(n.InstanceGroupId)
	if g == nil {
		return nil, fmt.Errorf("node %s: instance group %s gone", n.Id, n.InstanceGroupId)
	}
	cl, err := p.client(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := p.securityGroups(ctx, cl, c)
	if err != nil {
		return nil, err
	}
	sg := groups.Worker
	if n.Role == hearth.RoleMaster {
		sg = groups.Master
	}
	in := RunInstancesInput(p.Cfg, c, g, n, sg, UserData(p.ServerURL, p.CAPEM, n.Id, env["HEARTH_AGENT_TOKEN"]))
	out, err := cl.RunInstances(ctx, in)
	if err != nil {
		return nil, describe("RunInstances", err)
	}
	if len(out.Instances) != 1 {
		return nil, fmt.Errorf("RunInstances started %d instances, want 1", len(out.Instances))
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	p.log().Info("instance started", "node", n.Id, "instance", id, "type", g.InstanceType, "market", g.Market)
	return json.Marshal(handle{InstanceId: id, Dir: NodeDir(n.Id)})
}

// RunInstancesInput is the request that starts node n of group g of
// cluster c in security group sg.
func RunInstancesInput(cfg Config, c *hearth.Cluster, g *hearth.InstanceGroup, n *hearth.Node, sg, userData string) *ec2.RunInstancesInput {
	ami := cfg.AMI
	if ami == "" {
		ami = DefaultAMI
	}
	tags := []types.Tag{
		{Key: aws.String("Name"), Value: aws.String(fmt.Sprintf("hearth %s %s", c.Id, strings.ToLower(string(n.Role))))},
		{Key: aws.String(TagCluster), Value: aws.String(c.Id)},
		{Key: aws.String(TagNode), Value: aws.String(n.Id)},
		{Key: aws.String("hearth:instance-group"), Value: aws.String(g.Id)},
	}
	if cfg.Owner != "" {
		tags = append(tags, types.Tag{Key: aws.String(TagOwner), Value: aws.String(cfg.Owner)})
	}
	for _, t := range c.Tags {
		if !strings.HasPrefix(t.Key, "hearth:") && t.Key != "Name" {
			tags = append(tags, types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
		}
	}
	in := &ec2.RunInstancesInput{
		ImageId:          aws.String(ami),
		InstanceType:     types.InstanceType(g.InstanceType),
		MinCount:         aws.Int32(1),
		MaxCount:         aws.Int32(1),
		SubnetId:         aws.String(cfg.Subnet),
		SecurityGroupIds: []string{sg},
		UserData:         aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
		ClientToken:      aws.String(n.Id), // a retried launch starts no second instance
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: tags},
			{ResourceType: types.ResourceTypeVolume, Tags: tags},
		},
		MetadataOptions:                   &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateRequired},
		InstanceInitiatedShutdownBehavior: types.ShutdownBehaviorTerminate,
	}
	if cfg.KeyName != "" {
		in.KeyName = aws.String(cfg.KeyName)
	}
	if pr := cfg.InstanceProfile; pr != "" {
		if strings.HasPrefix(pr, "arn:") {
			in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Arn: aws.String(pr)}
		} else {
			in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Name: aws.String(pr)}
		}
	}
	if g.Market == "SPOT" {
		spot := &types.SpotMarketOptions{SpotInstanceType: types.SpotInstanceTypeOneTime,
			InstanceInterruptionBehavior: types.InstanceInterruptionBehaviorTerminate}
		if g.BidPrice != "" {
			spot.MaxPrice = aws.String(g.BidPrice)
		}
		in.InstanceMarketOptions = &types.InstanceMarketOptionsRequest{MarketType: types.MarketTypeSpot, SpotOptions: spot}
	}
	if ebs := g.EbsConfiguration; ebs != nil {
		in.EbsOptimized = ebs.EbsOptimized
		dev := 'f' // EMR's data volumes start at /dev/sdf
		for _, d := range ebs.EbsBlockDeviceConfigs {
			for range max(d.VolumesPerInstance, 1) {
				vs := d.VolumeSpecification
				e := &types.EbsBlockDevice{VolumeType: types.VolumeType(vs.VolumeType), VolumeSize: aws.Int32(vs.SizeInGB),
					DeleteOnTermination: aws.Bool(true), Encrypted: aws.Bool(true)}
				if vs.Iops > 0 {
					e.Iops = aws.Int32(vs.Iops)
				}
				if vs.Throughput > 0 {
					e.Throughput = aws.Int32(vs.Throughput)
				}
				in.BlockDeviceMappings = append(in.BlockDeviceMappings, types.BlockDeviceMapping{DeviceName: aws.String("/dev/sd" + string(dev)), Ebs: e})
				dev++
			}
		}
	}
	return in
}

// securityGroups returns cluster c's security group pair, creating it (in
// the subnet's VPC) the first time: each group admits everything from
// both, and TCP from the control plane; SSH only from Cfg.SSHCIDR.
func (p *Provisioner) securityGroups(ctx context.Context, cl *ec2.Client, c *hearth.Cluster) (groupPair, error) {
	p.mu.Lock()
	if g, ok := p.groups[c.Id]; ok {
		p.mu.Unlock()
		return g, nil
	}
	p.mu.Unlock()
	pair, err := p.findGroups(ctx, cl, c.Id)
	if err != nil {
		return pair, err
	}
	if pair.Master == "" || pair.Worker == "" {
		subnets, err := cl.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{p.Cfg.Subnet}})
		if err != nil {
			return pair, describe("DescribeSubnets", err)
		}
		if len(subnets.Subnets) != 1 {
			return pair, hearth.Invalid("ec2-subnet", p.Cfg.Subnet, "no such subnet in this region")
		}
		vpc := subnets.Subnets[0].VpcId
		for _, r := range []struct {
			id   *string
			role string
		}{{&pair.Master, "master"}, {&pair.Worker, "worker"}} {
			if *r.id != "" {
				continue
			}
			out, err := cl.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
				GroupName:   aws.String(groupName(c.Id, r.role)),
				Description: aws.String(fmt.Sprintf("Hearth cluster %s, %s node: the cluster's nodes and its control plane only", c.Id, r.role)),
				VpcId:       vpc,
				TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup,
					Tags: []types.Tag{{Key: aws.String(TagCluster), Value: aws.String(c.Id)}}}},
			})
			if err != nil {
				return pair, describe("CreateSecurityGroup", err)
			}
			*r.id = aws.ToString(out.GroupId)
		}
		control, err := p.controlCIDR()
		if err != nil {
			return pair, err
		}
		for _, sg := range []string{pair.Master, pair.Worker} {
			if _, err := cl.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
				GroupId: aws.String(sg), IpPermissions: IngressRules(pair, control, p.Cfg.SSHCIDR),
			}); err != nil && errorCode(err) != "InvalidPermission.Duplicate" {
				return pair, describe("AuthorizeSecurityGroupIngress", err)
			}
		}
	}
	p.mu.Lock()
	if p.groups == nil {
		p.groups = map[string]groupPair{}
	}
	p.groups[c.Id] = pair
	p.mu.Unlock()
	return pair, nil
}

// IngressRules are what a cluster's security groups admit: all traffic from
// both of its groups, TCP from the control plane, SSH from sshCIDR if set.
// Never 0.0.0.0/0 unless the user gave it as sshCIDR.
func IngressRules(pair groupPair, controlCIDR, sshCIDR string) []types.IpPermission {
	rules := []types.IpPermission{{
		IpProtocol: aws.String("-1"),
		UserIdGroupPairs: []types.UserIdGroupPair{
			{GroupId: aws.String(pair.Master), Description: aws.String("the cluster's master node")},
			{GroupId: aws.String(pair.Worker), Description: aws.String("the cluster's other nodes")},
		},
	}, {
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(0), ToPort: aws.Int32(65535),
		IpRanges: []types.IpRange{{CidrIp: aws.String(controlCIDR), Description: aws.String("the Hearth control plane (UI gateway, spark-client)")}},
	}}
	if sshCIDR != "" {
		rules = append(rules, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []types.IpRange{{CidrIp: aws.String(sshCIDR), Description: aws.String("SSH, as the user asked")}}})
	}
	return rules
}

func groupName(clusterID, role string) string { return "hearth-" + clusterID + "-" + role }

// findGroups looks up cluster id's security groups by their tag.
func (p *Provisioner) findGroups(ctx context.Context, cl *ec2.Client, clusterID string) (groupPair, error) {
	var pair groupPair
	out, err := cl.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("tag:" + TagCluster), Values: []string{clusterID}},
	}})
	if err != nil {
		return pair, describe("DescribeSecurityGroups", err)
	}
	for _, g := range out.SecurityGroups {
		switch aws.ToString(g.GroupName) {
		case groupName(clusterID, "master"):
			pair.Master = aws.ToString(g.GroupId)
		case groupName(clusterID, "worker"):
			pair.Worker = aws.ToString(g.GroupId)
		}
	}
	return pair, nil
}

// Alive implements hearth.Provisioner: the heartbeat decides; a reclaimed
// spot instance's agent falls silent like any other.
func (p *Provisioner) Alive(ctx context.Context, n *hearth.Node) (bool, error) { return true, nil }

// Terminate implements hearth.Provisioner: TerminateInstances, then wait
// until EC2 reports the instance terminated.
func (p *Provisioner) Terminate(ctx context.Context, n *hearth.Node) error {
	var h handle
	if len(n.Launch) == 0 {
		return nil
	}
	if err := json.Unmarshal(n.Launch, &h); err != nil || h.InstanceId == "" {
		return fmt.Errorf("node %s: bad launch handle: %v", n.Id, err)
	}
	cl, err := p.client(ctx)
	if err != nil {
		return err
	}
	return terminate(ctx, cl, []string{h.InstanceId})
}

// terminate terminates instances and waits (up to 5 minutes) until EC2
// reports each terminated; an instance EC2 no longer knows is gone.
func terminate(ctx context.Context, cl *ec2.Client, ids []string) error {
	if _, err := cl.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids}); err != nil {
		if errorCode(err) == "InvalidInstanceID.NotFound" {
			return nil
		}
		return describe("TerminateInstances", err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		out, err := cl.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
		if err != nil && errorCode(err) != "InvalidInstanceID.NotFound" {
			return describe("DescribeInstances", err)
		}
		left := 0
		if out != nil {
			for _, r := range out.Reservations {
				for _, in := range r.Instances {
					if in.State != nil && in.State.Name != types.InstanceStateNameTerminated {
						left++
					}
				}
			}
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("instances %v: %d not terminated after 5 minutes", ids, left)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// Release implements hearth.Releaser: once a cluster's instances are gone,
// its security groups are deleted (their rules name each other, so the
// rules go first).
func (p *Provisioner) Release(ctx context.Context, c *hearth.Cluster) error {
	cl, err := p.client(ctx)
	if err != nil {
		return err
	}
	pair, err := p.findGroups(ctx, cl, c.Id)
	if err != nil {
		return err
	}
	for _, sg := range []string{pair.Master, pair.Worker} {
		if sg == "" {
			continue
		}
		_, err := cl.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(sg),
			IpPermissions: []types.IpPermission{IngressRules(pair, "", "")[0]}})
		if err != nil && !strings.HasPrefix(errorCode(err), "InvalidPermission.NotFound") && errorCode(err) != "InvalidGroup.NotFound" {
			return describe("RevokeSecurityGroupIngress", err)
		}
	}
	for _, sg := range []string{pair.Master, pair.Worker} {
		if sg == "" {
			continue
		}
		if _, err := cl.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(sg)}); err != nil && errorCode(err) != "InvalidGroup.NotFound" {
			return describe("DeleteSecurityGroup", err)
		}
	}
	p.mu.Lock()
	delete(p.groups, c.Id)
	p.mu.Unlock()
	if pair.Master != "" || pair.Worker != "" {
		p.log().Info("security groups deleted", "cluster", c.Id, "master", pair.Master, "worker", pair.Worker)
	}
	return nil
}

// Sweep implements hearth.Sweeper: an instance tagged for a cluster that
// has ended, or that the store does not know, costs money for nothing and
// is terminated.
func (p *Provisioner) Sweep(ctx context.Context) error {
	if p.Cfg.Subnet == "" || p.Cfg.Owner == "" {
		return nil // not set up: never call AWS; or no way to tell its own
	}
	cl, err := p.client(ctx)
	if err != nil {
		return err
	}
	out, err := cl.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("tag:" + TagOwner), Values: []string{p.Cfg.Owner}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
	}})
	if err != nil {
		return describe("DescribeInstances", err)
	}
	var orphans []string
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			cid := tagValue(in.Tags, TagCluster)
			c, err := p.Store.Cluster(ctx, cid)
			if errors.Is(err, hearth.ErrNotFound) || (err == nil && c.Status.State.Ended()) {
				orphans = append(orphans, aws.ToString(in.InstanceId))
			}
		}
	}
	if len(orphans) == 0 {
		return nil
	}
	p.log().Warn("terminating instances of ended clusters", "instances", orphans)
	_, err = cl.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: orphans})
	return describe("TerminateInstances", err)
}

func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// errorCode is an AWS API error's code, "" for other errors.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// describe says what EC2 refused and what to do, as EMR reports it; an
// invalid parameter (subnet, AMI, instance type) wraps hearth.ErrInvalid.
func describe(op string, err error) error {
	if err == nil {
		return nil
	}
	code := errorCode(err)
	var ae smithy.APIError
	msg := err.Error()
	if errors.As(err, &ae) {
		msg = ae.ErrorMessage()
	}
	hint := ""
	switch {
	case code == "InsufficientInstanceCapacity":
		hint = "; EC2 has no capacity for this instance type in this Availability Zone now: try another type or subnet, or later"
	case code == "InstanceLimitExceeded" || code == "VcpuLimitExceeded" || code == "MaxSpotInstanceCountExceeded":
		hint = "; an account limit: ask AWS for a higher quota or use fewer or smaller instances"
	case code == "UnauthorizedOperation":
		hint = "; the server's AWS credentials may not do this: hearth ec2 check lists what is missing"
	case code == "SpotMaxPriceTooLow":
		hint = "; raise the group's BidPrice"
	case strings.HasPrefix(code, "InvalidSubnet"), strings.HasPrefix(code, "InvalidAMI"), code == "InvalidParameterValue",
		strings.HasPrefix(code, "InvalidKeyPair"), code == "InvalidParameterCombination":
		return fmt.Errorf("%w: EC2 %s: %s: %s (check the server's --ec2-* settings with hearth ec2 check)", hearth.ErrInvalid, op, code, msg)
	}
	if code == "" {
		return fmt.Errorf("EC2 %s: %w", op, err)
	}
	return fmt.Errorf("EC2 %s: %s: %s%s", op, code, msg, hint)
}
