package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hearthcluster/hearth/agent"
	"github.com/hearthcluster/hearth/spark"
	"github.com/spf13/cobra"
)

func newAgentCmd(g *globals) *cobra.Command {
	var server, nodeID, dir, logLevel string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a node agent (started by provisioners, not by hand)",
		Long: `Run the agent of one node: register with the control plane, converge on the
node's plan (run the Spark master or worker), report heartbeats.

The node credential is read from $HEARTH_AGENT_TOKEN, never from the command
line. SIGTERM stops every Spark process the agent started, then exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			token := os.Getenv("HEARTH_AGENT_TOKEN")
			if token == "" {
				return errors.New("HEARTH_AGENT_TOKEN is not set: agents are started by the control plane with their credential")
			}
			if server == "" || nodeID == "" || dir == "" {
				return fmt.Errorf("--server, --node-id and --dir are required")
			}
			os.Unsetenv("HEARTH_AGENT_TOKEN") // keep it out of the Spark daemons' environment
			log := newLogger(logLevel)
			a := agent.New(agent.Config{
				ServerURL: server, NodeID: nodeID, Token: token, Dir: dir, Logger: log,
				Locator: &spark.Locator{CacheDir: filepath.Join(g.home, "runtime"), Logger: log},
			})
			err := a.Run(cmd.Context())
			if cmd.Context().Err() != nil {
				return nil // stopped by signal, daemons stopped
			}
			return err
		},
	}
	cmd.Flags().StringVar(&server, "server", os.Getenv("HEARTH_SERVER"), "control plane URL ($HEARTH_SERVER)")
	cmd.Flags().StringVar(&nodeID, "node-id", os.Getenv("HEARTH_NODE_ID"), "this node's id")
	cmd.Flags().StringVar(&dir, "dir", "", "this node's working directory")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
