package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hearthcluster/hearth/spark"
	"github.com/spf13/cobra"
)

func newSparkClientCmd(g *globals) *cobra.Command {
	var id, dir string
	cmd := &cobra.Command{
		Use:   "spark-client",
		Short: "Write the settings a Spark program outside the cluster needs, and print a ready spark-submit command",
		Long: `Every cluster's Spark RPC is authenticated with a secret of its own, so
spark-submit (or pyspark, spark-shell) run outside Hearth's steps must
present it. spark-client writes it into a properties file only you can read
(mode 0600; default $HEARTH_HOME/client/<cluster-id>.conf) and prints the
spark-submit command that uses it. The secret is never printed.

For a cluster with the SparkConnect application it also writes
<cluster-id>.env with SPARK_CONNECT_AUTHENTICATE_TOKEN, for
pyspark --remote sc://localhost:PORT.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			sc, err := c.SparkClient(cmd.Context(), id)
			if err != nil {
				return err
			}
			if dir == "" {
				dir = filepath.Join(g.home, "client")
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			keys := make([]string, 0, len(sc.SparkDefaults))
			for k := range sc.SparkDefaults {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var conf strings.Builder
			fmt.Fprintf(&conf, "# Spark client settings for Hearth cluster %s (secret: keep this file private)\n", sc.ClusterId)
			fmt.Fprintf(&conf, "spark.master %s\n", sc.MasterURL)
			for _, k := range keys {
				fmt.Fprintf(&conf, "%s %s\n", k, sc.SparkDefaults[k])
			}
			confPath, err := filepath.Abs(filepath.Join(dir, sc.ClusterId+".conf"))
			if err != nil {
				return err
			}
			if err := spark.WritePrivate(confPath, []byte(conf.String())); err != nil {
				return err
			}
			out := map[string]string{
				"PropertiesFile": confPath,
				"MasterURL":      sc.MasterURL,
				"SubmitCommand":  fmt.Sprintf("spark-submit --properties-file %s your_app.py", shellWord(confPath)),
			}
			if sc.ConnectURL != "" {
				out["ConnectURL"] = sc.ConnectURL
				out["ConnectCommand"] = "pyspark --remote " + sc.ConnectURL
				if sc.ConnectToken != "" {
					envPath := strings.TrimSuffix(confPath, ".conf") + ".env"
					if err := spark.WritePrivate(envPath, []byte("SPARK_CONNECT_AUTHENTICATE_TOKEN="+sc.ConnectToken+"\n")); err != nil {
						return err
					}
					out["ConnectEnvFile"] = envPath
					out["ConnectCommand"] = fmt.Sprintf("set -a; . %s; set +a; pyspark --remote %s", shellWord(envPath), sc.ConnectURL)
				}
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	cmd.Flags().StringVar(&id, "cluster-id", "", "the cluster (j-...)")
	cmd.Flags().StringVar(&dir, "output-dir", "", "where to write the files (default $HEARTH_HOME/client)")
	cmd.MarkFlagRequired("cluster-id")
	return cmd
}

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
