package main

import (
	"fmt"
	"text/tabwriter"

	ec2prov "github.com/hearthcluster/hearth/provision/ec2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// addEC2Flags adds the ec2 provisioner's settings to fs (hearth server and
// hearth ec2 check take the same).
func addEC2Flags(fs *pflag.FlagSet, c *ec2prov.Config) {
	fs.StringVar(&c.Subnet, "ec2-subnet", c.Subnet, "subnet the ec2 provisioner starts instances in (subnet-...; $HEARTH_EC2_SUBNET); without it, ec2 clusters are refused")
	fs.StringVar(&c.Region, "ec2-region", c.Region, "the subnet's region ($HEARTH_EC2_REGION; default: the AWS SDK's, from $AWS_REGION or ~/.aws/config)")
	fs.StringVar(&c.AMI, "ec2-ami", c.AMI, "AMI of the instances ($HEARTH_EC2_AMI; default: the latest Amazon Linux 2023, resolved from AWS's public SSM parameter)")
	fs.StringVar(&c.KeyName, "ec2-key-name", c.KeyName, "EC2 key pair for SSH to the instances ($HEARTH_EC2_KEY_NAME; optional: nodes need no inbound SSH)")
	fs.StringVar(&c.InstanceProfile, "ec2-instance-profile", c.InstanceProfile, "IAM instance profile (name or ARN) of the instances ($HEARTH_EC2_INSTANCE_PROFILE)")
	fs.StringVar(&c.ControlCIDR, "ec2-control-cidr", c.ControlCIDR, "the control plane's address as instances see it, the only one their security groups admit besides each other ($HEARTH_EC2_CONTROL_CIDR; default: --advertise-url's IP/32)")
	fs.StringVar(&c.SSHCIDR, "ec2-ssh-cidr", c.SSHCIDR, "also admit SSH (port 22) from this CIDR ($HEARTH_EC2_SSH_CIDR; default: none)")
	fs.StringVar(&c.Endpoint, "ec2-endpoint", c.Endpoint, "EC2 API endpoint, for an EC2-compatible service or a stand-in ($HEARTH_EC2_ENDPOINT; default: AWS's)")
}

func newEC2Cmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "ec2",
		Short: "Check the ec2 provisioner's AWS settings",
	}
	o := defaultServerOptions(g)
	check := &cobra.Command{
		Use:   "check",
		Short: "Verify, without creating anything, that the AWS credentials and --ec2-* settings can run clusters",
		Long: `Asks EC2 with DryRun whether these credentials may start instances in the
subnet (with the AMI, key pair and instance profile), create, authorize and
delete security groups, describe and terminate instances; checks the subnet
exists. Run it with the same --ec2-* flags (or $HEARTH_EC2_*) and AWS
credentials as hearth server. Nothing is created and nothing costs money.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			results := ec2prov.Check(cmd.Context(), o.ec2, "m5.xlarge")
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			failed := 0
			for _, r := range results {
				state := "ok"
				if r.Err != nil {
					state, failed = "FAILED", failed+1
				}
				fmt.Fprintf(w, "%s\t%s\t%s\n", state, r.What, r.Detail())
			}
			w.Flush()
			if failed > 0 {
				return fmt.Errorf("%d of %d checks failed", failed, len(results))
			}
			return nil
		},
	}
	addEC2Flags(check.Flags(), &o.ec2)
	root.AddCommand(check)
	return root
}
