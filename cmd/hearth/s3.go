package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/s3store"
	"github.com/hearthcluster/hearth/web"
	"github.com/spf13/cobra"
)

func newS3Cmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "s3",
		Short: "The object store clusters use for s3:// URIs",
		Long: `hearth server runs an S3-compatible store (versitygw) beside the control
plane, on --s3-listen (default: the server's port + 2, 127.0.0.1:8442).
Objects are plain files under $HEARTH_HOME/s3/buckets/<bucket>/<key>.

The aws CLI and boto3 are the tools for data; point them at the store with

  eval "$(hearth s3 env)"
  aws s3 mb s3://my-bucket
  aws s3 cp wordcount.py s3://my-bucket/

(aws CLI v1 does not read AWS_ENDPOINT_URL_S3: add
--endpoint-url "$AWS_ENDPOINT_URL_S3"). Every Hearth access key
(hearth access-keys create) also works on the store, so one aws profile
can drive both 'aws emr' and 'aws s3'.`,
	}
	cmd.AddCommand(newS3EnvCmd(g))
	return cmd
}

func newS3EnvCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "Print shell exports that point the aws CLI and boto3 at the store",
		Long: `Print the exports (AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION) for the store the server's
clusters use: its built-in one, or the one given with --s3-endpoint.
Use it as: eval "$(hearth s3 env)". The key is the one clusters get; it
can read and write every bucket of the store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			s3, err := c.S3Access(cmd.Context())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if s3.Endpoint != "" {
				fmt.Fprintf(w, "export AWS_ENDPOINT_URL_S3=%s\n", web.ShellQuote(s3.Endpoint))
			}
			if s3.AccessKeyId != "" {
				fmt.Fprintf(w, "export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\n", web.ShellQuote(s3.AccessKeyId), web.ShellQuote(s3.SecretAccessKey))
			}
			fmt.Fprintf(w, "export AWS_DEFAULT_REGION=%s\n", web.ShellQuote(s3.Region))
			return nil
		},
	}
}

// newS3ServerCmd runs the built-in store; hearth server starts it as its
// child and writes its accounts to its stdin.
func newS3ServerCmd() *cobra.Command {
	var cfg s3store.Config
	cmd := &cobra.Command{
		Use:    "s3-server",
		Short:  "Run the built-in S3 store (started by hearth server; accounts come on stdin)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Dir == "" || cfg.Listen == "" {
				return invalid(hearth.Invalid("--dir/--listen", "", "both are required"))
			}
			dir, err := filepath.Abs(cfg.Dir)
			if err != nil {
				return err
			}
			cfg.Dir = dir
			return s3store.Serve(cmd.Context(), cfg, os.Stdin)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dir, "dir", "", "data directory (buckets/ and meta/ inside)")
	f.StringVar(&cfg.Listen, "listen", "", "host:port to serve S3 on")
	f.StringVar(&cfg.Region, "region", hearth.DefaultRegion, "region requests must be signed for")
	return cmd
}
