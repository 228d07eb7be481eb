package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/api"
	"github.com/spf13/cobra"
)

func newHostsCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "hosts",
		Short: "Manage the machines the ssh provisioner runs nodes on",
		Long: `The ssh provisioner (create-cluster --provisioner ssh) runs each node on a
machine of this inventory that has a free slot. A host needs only sshd and
Java 17 or newer: the control plane copies its own binary there over SFTP,
starts the node's agent, and serves it the Spark runtime.

The server connects with the SSH user and key given here, so the key file is
a path on the server's machine (without --key-file: the server's ssh-agent).
The host's SSH key is never trusted silently: the first "hosts add" prints
its fingerprint; check it on the host and run again with --accept-host-key,
or give a known_hosts file that lists it.`,
	}
	var req api.AddHostRequest
	var labels []string
	add := &cobra.Command{
		Use:   "add ADDRESS",
		Short: "Add a host: check its SSH host key, read its cores, memory, architecture and Java",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Host.Address = args[0]
			for _, l := range labels {
				k, v, ok := strings.Cut(l, "=")
				if !ok || k == "" {
					return invalid(hearth.Invalid("label", l, "give KEY=VALUE"))
				}
				if req.Host.Labels == nil {
					req.Host.Labels = map[string]string{}
				}
				req.Host.Labels[k] = v
			}
			for _, p := range []*string{&req.Host.KeyFile, &req.KnownHosts} {
				if *p != "" {
					abs, err := filepath.Abs(*p)
					if err != nil {
						return invalid(err)
					}
					*p = abs
				}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			h, err := c.AddHost(cmd.Context(), req)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), map[string]any{"Host": h})
		},
	}
	f := add.Flags()
	f.StringVar(&req.Host.Name, "name", "", "the host's name in Hearth (default: its address)")
	f.StringVar(&req.Host.User, "user", "", "SSH user (required)")
	f.IntVar(&req.Host.Port, "port", 22, "SSH port")
	f.StringVar(&req.Host.KeyFile, "key-file", "", "private key the server connects with (default: the server's ssh-agent)")
	f.StringVar(&req.Host.WorkDir, "work-dir", hearth.DefaultHostWorkDir, "directory on the host for the agent, runtimes and nodes (relative: under the SSH user's home)")
	f.IntVar(&req.Host.MaxNodes, "max-nodes", 1, "how many nodes, of any clusters, the host runs at once")
	f.StringArrayVar(&labels, "label", nil, "KEY=VALUE label (repeatable)")
	f.StringVar(&req.AcceptHostKey, "accept-host-key", "", "the host key fingerprint (SHA256:...) you checked on the host")
	f.StringVar(&req.KnownHosts, "known-hosts", "", "a known_hosts file (on the server's machine) that lists the host's key")
	add.MarkFlagRequired("user")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the hosts with their capacity and the nodes they carry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			hosts, err := c.ListHosts(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{"Hosts": hosts})
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tADDRESS\tUSER\tARCH\tCPUS\tMEMORY\tJAVA\tNODES")
			for _, h := range hosts {
				java := h.Facts.Java
				if java == "" {
					java = "none"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s/%s\t%d\t%d MiB\t%s\t%d/%d\n", h.Name, h.SSHAddr(), h.User, h.Facts.OS, h.Facts.Arch,
					h.Facts.CPUs, h.Facts.MemoryMB, java, len(h.Nodes), h.MaxNodes)
			}
			return w.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	remove := &cobra.Command{
		Use:   "remove NAME|ID",
		Short: "Remove a host from the inventory (refused while it carries nodes)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return c.RemoveHost(cmd.Context(), args[0])
		},
	}
	root.AddCommand(add, list, remove)
	return root
}
