package ec2

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// CheckResult is one thing hearth ec2 check asked EC2.
type CheckResult struct {
	What string
	Err  error
}

// Detail is what the user reads about r.
func (r CheckResult) Detail() string {
	if r.Err == nil {
		return ""
	}
	return r.Err.Error()
}

// Check asks EC2, with DryRun where the API has it, whether cfg and the
// credentials can run clusters: nothing is created.
func Check(ctx context.Context, cfg Config, instanceType string) []CheckResult {
	p := &Provisioner{Cfg: cfg}
	if cfg.Subnet == "" {
		return []CheckResult{{What: "subnet", Err: fmt.Errorf("no --ec2-subnet given")}}
	}
	cl, err := p.client(ctx)
	if err != nil {
		return []CheckResult{{What: "AWS credentials and region", Err: err}}
	}
	var out []CheckResult
	add := func(what string, err error) { out = append(out, CheckResult{What: what, Err: err}) }
	// dry is an error unless EC2 said the call would have succeeded.
	dry := func(op string, err error) error {
		switch errorCode(err) {
		case "DryRunOperation":
			return nil
		case "":
			if err == nil {
				return nil
			}
		}
		return describe(op, err)
	}
	subnets, err := cl.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{cfg.Subnet}})
	if err == nil && len(subnets.Subnets) != 1 {
		err = fmt.Errorf("no subnet %s in this region", cfg.Subnet)
	}
	add("subnet "+cfg.Subnet+" exists (ec2:DescribeSubnets)", describe("DescribeSubnets", err))
	var vpc *string
	if err == nil {
		vpc = subnets.Subnets[0].VpcId
	}
	ami := cfg.AMI
	if ami == "" {
		ami = DefaultAMI
	}
	in := &ec2.RunInstancesInput{DryRun: aws.Bool(true), ImageId: aws.String(ami), InstanceType: types.InstanceType(instanceType),
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(cfg.Subnet)}
	if cfg.KeyName != "" {
		in.KeyName = aws.String(cfg.KeyName)
	}
	if cfg.InstanceProfile != "" {
		in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Name: aws.String(cfg.InstanceProfile)}
	}
	_, err = cl.RunInstances(ctx, in)
	add(fmt.Sprintf("start a %s from %s (ec2:RunInstances, DryRun)", instanceType, ami), dry("RunInstances", err))
	_, err = cl.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{DryRun: aws.Bool(true), GroupName: aws.String("hearth-check"),
		Description: aws.String("hearth ec2 check"), VpcId: vpc})
	add("create security groups (ec2:CreateSecurityGroup, DryRun)", dry("CreateSecurityGroup", err))
	_, err = cl.DescribeInstances(ctx, &ec2.DescribeInstancesInput{DryRun: aws.Bool(true)})
	add("find instances again (ec2:DescribeInstances, DryRun)", dry("DescribeInstances", err))
	_, err = cl.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{DryRun: aws.Bool(true)})
	add("find security groups again (ec2:DescribeSecurityGroups, DryRun)", dry("DescribeSecurityGroups", err))
	return out
}
