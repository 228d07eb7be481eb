package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearthcluster/hearth/agent"
	"github.com/hearthcluster/hearth/spark"
	"github.com/spf13/cobra"
)

func newAgentCmd(g *globals) *cobra.Command {
	var server, nodeID, dir, logLevel, envFile string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a node agent (started by provisioners, not by hand)",
		Long: `Run the agent of one node: register with the control plane, converge on the
node's plan (run the Spark master or worker), report heartbeats.

The node credential is read from $HEARTH_AGENT_TOKEN, never from the command
line; on other machines the provisioner writes it, with the rest of the
agent's environment, into --env-file (mode 0600), which the agent reads and
removes. SIGTERM stops every Spark process the agent started, then exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if envFile != "" {
				if err := loadEnvFile(envFile); err != nil {
					return err
				}
				if server == "" {
					server = os.Getenv("HEARTH_SERVER")
				}
				if nodeID == "" {
					nodeID = os.Getenv("HEARTH_NODE_ID")
				}
			}
			if dir == "" {
				dir, _ = os.Getwd()
			}
			token := os.Getenv("HEARTH_AGENT_TOKEN")
			if token == "" {
				return errors.New("HEARTH_AGENT_TOKEN is not set: agents are started by the control plane with their credential")
			}
			if server == "" || nodeID == "" || dir == "" {
				return fmt.Errorf("--server, --node-id and --dir are required")
			}
			var caPEM []byte
			if f := os.Getenv("HEARTH_CA_FILE"); f != "" {
				var err error
				if caPEM, err = os.ReadFile(f); err != nil {
					return fmt.Errorf("the control plane's CA: %w", err)
				}
			}
			cfg := agent.Config{
				ServerURL: server, NodeID: nodeID, Token: token, Dir: dir, CAPEM: caPEM,
				Host: os.Getenv("HEARTH_NODE_HOST"), RuntimeDir: os.Getenv("HEARTH_RUNTIME_DIR"),
			}
			// Keep the agent's own settings out of the Spark daemons' environment.
			for _, k := range []string{"HEARTH_AGENT_TOKEN", "HEARTH_CA_FILE", "HEARTH_NODE_HOST", "HEARTH_RUNTIME_DIR"} {
				os.Unsetenv(k)
			}
			log := newLogger(logLevel)
			cfg.Logger = log
			cfg.Locator = &spark.Locator{CacheDir: filepath.Join(g.home, "runtime"), Logger: log}
			a, err := agent.New(cfg)
			if err != nil {
				return err
			}
			err = a.Run(cmd.Context())
			if cmd.Context().Err() != nil {
				return nil // stopped by signal, daemons stopped
			}
			return err
		},
	}
	cmd.Flags().StringVar(&server, "server", os.Getenv("HEARTH_SERVER"), "control plane URL, or a replicated one's URLs comma-separated ($HEARTH_SERVER)")
	cmd.Flags().StringVar(&nodeID, "node-id", os.Getenv("HEARTH_NODE_ID"), "this node's id")
	cmd.Flags().StringVar(&dir, "dir", "", "this node's working directory (default: the current directory)")
	cmd.Flags().StringVar(&envFile, "env-file", "", "read KEY=VALUE lines into the environment, then remove the file")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// loadEnvFile sets the KEY=VALUE lines of path in the environment and
// removes the file: the credential in it is then only in this process.
func loadEnvFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--env-file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || k == "" {
			continue
		}
		os.Setenv(k, v)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("--env-file %s: %w", path, err)
	}
	return os.Remove(path)
}
