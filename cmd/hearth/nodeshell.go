package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
	provssh "github.com/hearthcluster/hearth/provision/ssh"
	"github.com/pkg/sftp"
	"github.com/spf13/cobra"
)

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func newSSHCmd(g *globals) *cobra.Command {
	var clusterID, nodeID, command string
	cmd := &cobra.Command{
		Use:   "ssh",
		Short: "Open a shell (or run --command) on a cluster's node, with its Spark ready to use",
		Long: `Like aws emr ssh: a shell on the cluster's master node (or --node-id), in the
node's directory, with SPARK_HOME, SPARK_CONF_DIR, PATH and MASTER set from
its env.sh, so spark-submit, pyspark and spark-shell there reach the
cluster with its credentials. A node of the ssh provisioner is reached with
the ssh command, the key the server uses and the host key pinned when the
host was added; a local node's directory is on this machine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := nodeAccess(cmd.Context(), g, clusterID, nodeID)
			if err != nil {
				return err
			}
			script := "cd " + shellQuote(a.Dir) + " && . ./env.sh && "
			if command != "" {
				script += command
			} else {
				script += `exec "${SHELL:-/bin/sh}" -i`
			}
			var c *exec.Cmd
			if a.Host == nil {
				c = exec.CommandContext(cmd.Context(), "/bin/sh", "-c", script)
			} else {
				known, err := os.CreateTemp("", "hearth-known-hosts-")
				if err != nil {
					return err
				}
				defer os.Remove(known.Name())
				fmt.Fprintln(known, provssh.KnownHostsLine(a.Host))
				known.Close()
				args := []string{"-p", fmt.Sprint(a.Host.Port), "-l", a.Host.User,
					"-o", "UserKnownHostsFile=" + known.Name(), "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes"}
				if a.Host.KeyFile != "" {
					args = append(args, "-i", a.Host.KeyFile, "-o", "IdentitiesOnly=yes")
				}
				if command == "" {
					args = append(args, "-t")
				}
				c = exec.CommandContext(cmd.Context(), "ssh", append(args, a.Host.Address, script)...)
			}
			c.Stdin, c.Stdout, c.Stderr = os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
			err = c.Run()
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return &stepExit{code: exit.ExitCode(), msg: fmt.Sprintf("the command on node %s exited %d", a.NodeId, exit.ExitCode())}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&clusterID, "cluster-id", "", "the cluster")
	cmd.Flags().StringVar(&nodeID, "node-id", "", "the node (default: the master node)")
	cmd.Flags().StringVar(&command, "command", "", "run this shell command instead of an interactive shell")
	cmd.MarkFlagRequired("cluster-id")
	return cmd
}

func nodeAccess(ctx context.Context, g *globals, clusterID, nodeID string) (*control.NodeAccess, error) {
	if !hearth.ValidClusterID(clusterID) {
		return nil, invalid(hearth.Invalid("cluster-id", clusterID, "a cluster id, j-..."))
	}
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	return c.NodeAccess(ctx, clusterID, nodeID)
}

func newPutGetCmd(g *globals, put bool) *cobra.Command {
	var clusterID, nodeID, src, dest string
	use, short := "get", "Copy a file from a cluster's master node (or --node-id) to here"
	if put {
		use, short = "put", "Copy a file from here to a cluster's master node (or --node-id)"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `, like aws emr ` + use + `.
A relative path on the node is relative to the node's directory; --dest
defaults to the source's base name (there, or in the current directory).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := nodeAccess(cmd.Context(), g, clusterID, nodeID)
			if err != nil {
				return err
			}
			if dest == "" {
				dest = path.Base(filepath.ToSlash(src))
			}
			remote := func(p string) string {
				if path.IsAbs(p) {
					return p
				}
				return path.Join(a.Dir, p)
			}
			var open func(string) (io.ReadCloser, error)
			var create func(string) (io.WriteCloser, error)
			local := func(p string) (io.WriteCloser, error) {
				return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			}
			if a.Host == nil {
				open = func(p string) (io.ReadCloser, error) { return os.Open(p) }
				create = local
			} else {
				sc, err := provssh.Dial(cmd.Context(), a.Host)
				if err != nil {
					return err
				}
				defer sc.Close()
				fs, err := sftp.NewClient(sc)
				if err != nil {
					return err
				}
				defer fs.Close()
				if put {
					open = func(p string) (io.ReadCloser, error) { return os.Open(p) }
					create = func(p string) (io.WriteCloser, error) { return fs.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC) }
				} else {
					open = func(p string) (io.ReadCloser, error) { return fs.Open(p) }
					create = local
				}
			}
			from, to := remote(src), dest
			if put {
				from, to = src, remote(dest)
			}
			in, err := open(from)
			if err != nil {
				return fmt.Errorf("%w: --src %s: %v", hearth.ErrInvalid, from, err)
			}
			defer in.Close()
			out, err := create(to)
			if err != nil {
				return fmt.Errorf("%w: --dest %s: %v", hearth.ErrInvalid, to, err)
			}
			if _, err := io.Copy(out, in); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		},
	}
	cmd.Flags().StringVar(&clusterID, "cluster-id", "", "the cluster")
	cmd.Flags().StringVar(&nodeID, "node-id", "", "the node (default: the master node)")
	cmd.Flags().StringVar(&src, "src", "", "the file to copy")
	cmd.Flags().StringVar(&dest, "dest", "", "where to copy it")
	cmd.MarkFlagRequired("cluster-id")
	cmd.MarkFlagRequired("src")
	return cmd
}
