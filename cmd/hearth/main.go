// Command hearth is Hearth's single binary: the control plane (`hearth
// server`), the node agent (`hearth agent`) and the EMR-style CLI.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/client"
	"github.com/spf13/cobra"
)

// Exit codes, by error kind.
const (
	exitOK           = 0
	exitError        = 1
	exitInvalid      = 2
	exitNotFound     = 3
	exitConflict     = 4
	exitUnauthorized = 5
	exitUnavailable  = 6
)

// globals are the flags every command shares.
type globals struct {
	home     string
	endpoint string
	token    string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	root.SetArgs(expandListFlags(os.Args[1:]))
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hearth:", err)
	}
	os.Exit(exitCode(err))
}

func exitCode(err error) int {
	var ee *stepExit
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, hearth.ErrInvalid):
		return exitInvalid
	case errors.Is(err, hearth.ErrNotFound):
		return exitNotFound
	case errors.Is(err, hearth.ErrConflict):
		return exitConflict
	case errors.Is(err, hearth.ErrUnauthorized):
		return exitUnauthorized
	case errors.Is(err, hearth.ErrUnavailable):
		return exitUnavailable
	}
	return exitError
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "hearth",
		Short: "Run Apache Spark clusters the way Amazon EMR does, on this machine, your machines, or EC2",
		Long: `Hearth runs real Apache Spark standalone clusters with EMR's model and CLI.

Start the control plane with 'hearth server', then create clusters with the
same flags as 'aws emr create-cluster'. Clusters run on local processes by
default. Exit codes: 0 ok, 1 error, 2 invalid input, 3 not found,
4 conflict (e.g. termination protection), 5 bad credential, 6 server unreachable.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.home, "home", envOr("HEARTH_HOME", defaultHome()), "Hearth's data directory ($HEARTH_HOME)")
	root.PersistentFlags().StringVar(&g.endpoint, "endpoint", envOr("HEARTH_ENDPOINT", client.DefaultEndpoint), "control plane URL, or the URLs of its replicas comma-separated (a call goes to the first that can be reached) ($HEARTH_ENDPOINT)")
	root.PersistentFlags().StringVar(&g.token, "token", "", "admin credential (default: $HEARTH_TOKEN, else $HEARTH_HOME/admin.token)")
	root.AddCommand(
		newServerCmd(g), newAgentCmd(g),
		newCreateClusterCmd(g), newListClustersCmd(g), newWarmPoolCmd(g), newReplicasCmd(g), newDescribeClusterCmd(g), newSparkClientCmd(g),
		newTerminateClustersCmd(g), newWaitCmd(g), newRuntimeCmd(g),
		newAddStepsCmd(g), newListStepsCmd(g), newDescribeStepCmd(g), newCancelStepsCmd(g),
		newLogsCmd(g), newModifyClusterAttributesCmd(g), newRunCmd(g), newAccessKeysCmd(g),
		newS3Cmd(g), newS3ServerCmd(), newHostsCmd(g), newSSHCmd(g), newPutGetCmd(g, true), newPutGetCmd(g, false), newEC2Cmd(g),
		newProcStopCmd(), newTopCmd(g),
	)
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func defaultHome() string {
	h, err := os.UserHomeDir()
	if err != nil {
		return ".hearth"
	}
	return filepath.Join(h, ".hearth")
}

// client returns an API client with the admin credential.
func (g *globals) client() (*client.Client, error) {
	token := g.token
	if token == "" {
		token = os.Getenv("HEARTH_TOKEN")
	}
	if token == "" {
		t, err := client.ReadToken(g.home)
		if err != nil {
			return nil, fmt.Errorf("%w: no credential: %s/admin.token is missing (it is written when `hearth server` first starts with --home %s); or set HEARTH_TOKEN", hearth.ErrUnauthorized, g.home, g.home)
		}
		token = t
	}
	return client.New(g.endpoint, token), nil
}

// listFlags take several space-separated values, as the aws CLI's do.
var listFlags = map[string]bool{
	"--instance-groups": true, "--tags": true, "--applications": true,
	"--steps": true, "--bootstrap-actions": true, "--cluster-ids": true,
	"--step-ids": true,
}

// expandListFlags rewrites `--tags a=1 b=2` as `--tags a=1 --tags b=2` so
// that aws-CLI-style lists parse as repeated flags.
func expandListFlags(args []string) []string {
	var out []string
	current := ""
	for _, a := range args {
		switch {
		case a == "--":
			current = ""
			out = append(out, a)
		case strings.HasPrefix(a, "--"):
			name, _, hasValue := strings.Cut(a, "=")
			current = ""
			if listFlags[name] && !hasValue {
				current = name
			}
			out = append(out, a)
		case current != "" && len(out) > 0 && out[len(out)-1] != current:
			out = append(out, current, a)
		default:
			out = append(out, a)
		}
	}
	return out
}

// invalid marks err as the user's mistake (exit code 2).
func invalid(err error) error { return fmt.Errorf("%w: %v", hearth.ErrInvalid, err) }
