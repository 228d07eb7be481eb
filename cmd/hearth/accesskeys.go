package main

import (
	"github.com/spf13/cobra"
)

func newAccessKeysCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "access-keys",
		Short: "Manage access keys for the EMR-compatible API (aws CLI, boto3, SDKs) and the native API",
		Long: `Access keys sign requests with AWS Signature V4, as AWS's do. Use them with
the aws CLI:

  export AWS_ACCESS_KEY_ID=AKIA... AWS_SECRET_ACCESS_KEY=... AWS_DEFAULT_REGION=us-east-1
  aws emr list-clusters --endpoint-url http://127.0.0.1:8440

The secret is shown once, at creation; Hearth keeps it encrypted.`,
	}
	var description string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an access key and print it with its secret (shown only now)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			k, err := c.CreateAccessKey(cmd.Context(), description)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), k)
		},
	}
	create.Flags().StringVar(&description, "description", "", "what the key is for")
	list := &cobra.Command{
		Use:   "list",
		Short: "List access keys (without secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			keys, err := c.ListAccessKeys(cmd.Context())
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), map[string]any{"AccessKeys": keys})
		},
	}
	var id string
	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete an access key; requests signed with it are refused from now on",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return c.DeleteAccessKey(cmd.Context(), id)
		},
	}
	del.Flags().StringVar(&id, "access-key-id", "", "the key (AKIA...)")
	del.MarkFlagRequired("access-key-id")
	root.AddCommand(create, list, del)
	return root
}
