package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/api"
	"github.com/hearthcluster/hearth/client"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/shorthand"
	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func newCreateClusterCmd(g *globals) *cobra.Command {
	var (
		spec          hearth.ClusterSpec
		instanceType  string
		instanceCount int
		groups, tags  []string
		apps          []string
		steps         []string
		idlePolicy    string
		configs       []string
		bootstraps    []string
		awsOnly       = map[string]*string{}
		awsOnlyBools  = map[string]*bool{}
		protected     bool
		noProtected   bool
		wait          bool
	)
	cmd := &cobra.Command{
		Use:   "create-cluster",
		Short: "Create a Spark cluster (flags as in `aws emr create-cluster`)",
		Example: `  hearth create-cluster --name demo --release-label spark-4.0.1 \
      --instance-type local.medium --instance-count 3 --wait
  hearth create-cluster --name demo \
      --instance-groups InstanceGroupType=MASTER,InstanceCount=1,InstanceType=m5.xlarge \
                        InstanceGroupType=CORE,InstanceCount=2,InstanceType=m5.xlarge
  hearth create-cluster --instance-groups file://groups.json --tags team=data env=dev`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			switch {
			case len(groups) > 0 && cmd.Flags().Changed("instance-type"):
				return hearth.Invalid("instance-type", instanceType, "give either --instance-groups or --instance-type/--instance-count, not both")
			case len(groups) > 0:
				spec.InstanceGroups, err = parseInstanceGroups(groups)
			default:
				spec.InstanceGroups, err = hearth.InstanceGroupsFromCount(instanceType, instanceCount)
			}
			if err != nil {
				return err
			}
			if spec.Tags, err = parseTags(tags); err != nil {
				return err
			}
			if spec.Applications, err = parseApplications(apps); err != nil {
				return err
			}
			spec.TerminationProtected = protected && !noProtected
			if spec.Steps, err = parseSteps(steps); err != nil {
				return err
			}
			for _, cfg := range configs {
				v, err := argValue("configurations", cfg)
				if err != nil {
					return err
				}
				var cs []hearth.Configuration
				dec := json.NewDecoder(strings.NewReader(v))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&cs); err != nil {
					return hearth.Invalid("--configurations", abbreviate(v), "malformed JSON: "+err.Error()+`; expected [{"Classification":"spark-defaults","Properties":{...}}]`)
				}
				spec.Configurations = append(spec.Configurations, cs...)
			}
			if spec.BootstrapActions, err = parseBootstrapActions(bootstraps); err != nil {
				return err
			}
			if idlePolicy != "" {
				var p struct {
					IdleTimeout int64 `json:"IdleTimeout"`
				}
				if err := parseOne("auto-termination-policy", idlePolicy, &p); err != nil {
					return err
				}
				spec.IdleTimeout = p.IdleTimeout
			}
			for name := range awsOnly {
				if cmd.Flags().Changed(name) {
					fmt.Fprintf(os.Stderr, "hearth: note: --%s has no effect on Hearth's provisioners; ignored\n", name)
				}
			}
			for name := range awsOnlyBools {
				if cmd.Flags().Changed(name) {
					fmt.Fprintf(os.Stderr, "hearth: note: --%s has no effect on Hearth's provisioners; ignored\n", name)
				}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.CreateCluster(cmd.Context(), spec)
			if err != nil {
				return err
			}
			if wait {
				if _, err := waitWithProgress(cmd.Context(), c, res.ClusterId, hearth.ClusterWaiting, hearth.ClusterRunning); err != nil {
					printJSON(cmd.OutOrStdout(), res)
					return err
				}
			}
			return printJSON(cmd.OutOrStdout(), res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.Name, "name", hearth.DefaultClusterName, "cluster name")
	f.StringVar(&spec.ReleaseLabel, "release-label", "", "spark-<x.y.z> or emr-<x.y.z> (default: the pinned Spark)")
	f.StringVar(&instanceType, "instance-type", "", "instance type of every node, with --instance-count (e.g. local.medium, m5.xlarge)")
	f.IntVar(&instanceCount, "instance-count", 1, "number of nodes: 1 master and N-1 core nodes")
	f.StringArrayVar(&groups, "instance-groups", nil, "instance groups: shorthand (InstanceGroupType=CORE,InstanceCount=2,InstanceType=m5.xlarge ...), JSON, or file://path")
	f.StringArrayVar(&tags, "tags", nil, "tags as Key=Value ... (or JSON list, file://path)")
	f.StringArrayVar(&apps, "applications", nil, "applications as Name=Spark ... (Spark is always installed)")
	f.BoolVar(&spec.AutoTerminate, "auto-terminate", false, "terminate the cluster when its steps are done")
	f.BoolVar(&protected, "termination-protected", false, "refuse terminate-clusters until protection is removed")
	f.BoolVar(&noProtected, "no-termination-protected", false, "do not protect the cluster (default)")
	f.StringVar(&spec.Provisioner, "provisioner", "", "where nodes run: local (this machine) or ssh (the hosts of hearth hosts list); default: the server's --provisioner")
	f.StringArrayVar(&steps, "steps", nil, "steps to run once the cluster is ready (see add-steps)")
	f.StringVar(&spec.LogUri, "log-uri", "", "copy step and node logs to <log-uri>/<cluster-id>/{steps/<step-id>,node/<node-id>}/ (s3://bucket/prefix/, gzipped as EMR does; or file:///dir, /dir)")
	f.IntVar(&spec.StepConcurrencyLevel, "step-concurrency-level", 1, "steps that may run at once (1-256)")
	f.StringVar(&idlePolicy, "auto-termination-policy", "", "IdleTimeout=<seconds>: terminate after that long with nothing to do")
	f.StringArrayVar(&configs, "configurations", nil, `configuration classifications as JSON or file://path: [{"Classification":"spark-defaults","Properties":{"spark.x":"y"}}]`)
	f.StringArrayVar(&bootstraps, "bootstrap-actions", nil, "scripts every node runs before Spark starts: Path=/abs/script.sh,Name=Install,Args=[a,b] ...")
	// Flags of aws emr create-cluster that only mean something on AWS: an
	// exported command line runs unchanged, and says what it ignored.
	for _, name := range []string{"ec2-attributes", "service-role", "scale-down-behavior", "region", "security-configuration", "ebs-root-volume-size", "custom-ami-id", "os-release-label"} {
		awsOnly[name] = new(string)
		f.StringVar(awsOnly[name], name, "", "accepted for aws CLI compatibility; no effect")
		f.MarkHidden(name)
	}
	for _, name := range []string{"enable-debugging", "use-default-roles", "visible-to-all-users", "no-visible-to-all-users"} {
		awsOnlyBools[name] = new(bool)
		f.BoolVar(awsOnlyBools[name], name, false, "accepted for aws CLI compatibility; no effect")
		f.MarkHidden(name)
	}
	f.BoolVar(&wait, "wait", false, "wait until the cluster is ready (WAITING), showing progress")
	return cmd
}

// argValue returns the contents of a file:// argument, or the argument.
func argValue(flag, v string) (string, error) {
	if path, ok := strings.CutPrefix(v, "file://"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", hearth.Invalid(flag, v, fmt.Sprintf("cannot read file: %v", err))
		}
		return string(b), nil
	}
	return v, nil
}

// parseList decodes a list flag given as one JSON document or as one
// shorthand item per argument, into out (a pointer to a slice).
func parseList[T any](flag string, args []string) ([]T, error) {
	var out []T
	for i, a := range args {
		v, err := argValue(flag, a)
		if err != nil {
			return nil, err
		}
		if shorthand.LooksLikeJSON(v) {
			var items []T
			dec := json.NewDecoder(strings.NewReader(v))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&items); err != nil {
				return nil, hearth.Invalid("--"+flag, abbreviate(v), "malformed JSON: "+err.Error()+"; expected a JSON list of objects")
			}
			out = append(out, items...)
			continue
		}
		var item T
		if err := shorthand.Unmarshal(v, &item); err != nil {
			var se *shorthand.Error
			if errors.As(err, &se) {
				return nil, &hearth.ValidationError{Field: se.Path(fmt.Sprintf("--%s[%d]", flag, i)), Reason: se.Msg, Value: se.Value}
			}
			return nil, hearth.Invalid(fmt.Sprintf("--%s[%d]", flag, i), abbreviate(v), err.Error())
		}
		out = append(out, item)
	}
	return out, nil
}

func abbreviate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 80 {
		return fmt.Sprintf("%q...", s[:80])
	}
	return fmt.Sprintf("%q", s)
}

// parseOne decodes one shorthand or JSON object into out.
func parseOne[T any](flag, arg string, out *T) error {
	if v := strings.TrimSpace(arg); strings.HasPrefix(v, "{") {
		arg = "[" + v + "]"
	}
	items, err := parseList[T](flag, []string{arg})
	if err != nil {
		return err
	}
	if len(items) != 1 {
		return hearth.Invalid("--"+flag, abbreviate(arg), "expected one item")
	}
	*out = items[0]
	return nil
}

// bootstrapArg is one --bootstrap-actions item as the aws CLI takes it.
type bootstrapArg struct {
	Path string   `json:"Path"`
	Name string   `json:"Name"`
	Args []string `json:"Args"`
}

func parseBootstrapActions(args []string) ([]hearth.BootstrapAction, error) {
	items, err := parseList[bootstrapArg]("bootstrap-actions", args)
	if err != nil {
		return nil, err
	}
	var out []hearth.BootstrapAction
	for _, it := range items {
		path := it.Path
		if path != "" && !strings.Contains(path, "://") && !filepath.IsAbs(path) {
			path = absolutePaths([]string{path})[0]
		}
		name := it.Name
		if name == "" {
			name = "Bootstrap action"
		}
		out = append(out, hearth.BootstrapAction{Name: name, ScriptBootstrapAction: hearth.ScriptAction{Path: path, Args: it.Args}})
	}
	return out, nil
}

func parseInstanceGroups(args []string) ([]hearth.InstanceGroupConfig, error) {
	return parseList[hearth.InstanceGroupConfig]("instance-groups", args)
}

func parseApplications(args []string) ([]hearth.Application, error) {
	return parseList[hearth.Application]("applications", args)
}

// parseTags accepts the aws CLI's `k=v k2=v2` words, or a JSON list of
// {"Key","Value"} objects.
func parseTags(args []string) ([]hearth.Tag, error) {
	var tags []hearth.Tag
	for _, a := range args {
		v, err := argValue("tags", a)
		if err != nil {
			return nil, err
		}
		if shorthand.LooksLikeJSON(v) {
			t, err := parseList[hearth.Tag]("tags", []string{v})
			if err != nil {
				return nil, err
			}
			tags = append(tags, t...)
			continue
		}
		k, val, _ := strings.Cut(v, "=")
		tags = append(tags, hearth.Tag{Key: k, Value: val})
	}
	return tags, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(v)
}

// waitWithProgress waits for the cluster to reach one of states, showing a
// spinner with the state and reason on a terminal, a line per change
// otherwise.
func waitWithProgress(ctx context.Context, c *client.Client, id string, states ...hearth.ClusterState) (*hearth.Cluster, error) {
	start := time.Now()
	var bar *progressbar.ProgressBar
	if isatty.IsTerminal(os.Stderr.Fd()) {
		bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSpinnerType(14),
			progressbar.OptionSetElapsedTime(true), progressbar.OptionClearOnFinish())
		defer bar.Finish()
	}
	last := ""
	cl, err := c.WaitCluster(ctx, id, func(cl *hearth.Cluster) {
		line := fmt.Sprintf("%s %s: %s", id, cl.Status.State, cl.Status.StateChangeReason.Message)
		if bar != nil {
			bar.Describe(line)
			bar.Add(1)
		} else if line != last {
			fmt.Fprintf(os.Stderr, "[%5.1fs] %s\n", time.Since(start).Seconds(), line)
		}
		last = line
	}, states...)
	if err == nil {
		fmt.Fprintf(os.Stderr, "%s is %s after %.1fs\n", id, cl.Status.State, time.Since(start).Seconds())
	}
	return cl, err
}

func newListClustersCmd(g *globals) *cobra.Command {
	var active, terminated, failed bool
	var states []string
	cmd := &cobra.Command{
		Use:   "list-clusters",
		Short: "List clusters, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var want []hearth.ClusterState
			if active {
				want = append(want, hearth.LiveClusterStates...)
			}
			if terminated {
				want = append(want, hearth.ClusterTerminated)
			}
			if failed {
				want = append(want, hearth.ClusterTerminatedWithErrors)
			}
			for _, s := range states {
				want = append(want, hearth.ClusterState(strings.ToUpper(s)))
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			cs, err := c.ListClusters(cmd.Context(), want...)
			if err != nil {
				return err
			}
			type summary struct {
				Id                      string               `json:"Id"`
				Name                    string               `json:"Name"`
				Status                  hearth.ClusterStatus `json:"Status"`
				NormalizedInstanceHours int                  `json:"NormalizedInstanceHours"`
				ClusterArn              string               `json:"ClusterArn"`
			}
			out := struct {
				Clusters []summary `json:"Clusters"`
			}{Clusters: []summary{}}
			for _, cl := range cs {
				out.Clusters = append(out.Clusters, summary{cl.Id, cl.Name, cl.Status, cl.NormalizedInstanceHours, cl.ClusterArn})
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	cmd.Flags().BoolVar(&active, "active", false, "only STARTING, BOOTSTRAPPING, RUNNING, WAITING or TERMINATING clusters")
	cmd.Flags().BoolVar(&terminated, "terminated", false, "only TERMINATED clusters")
	cmd.Flags().BoolVar(&failed, "failed", false, "only TERMINATED_WITH_ERRORS clusters")
	cmd.Flags().StringSliceVar(&states, "cluster-states", nil, "only clusters in these states")
	return cmd
}

func newWarmPoolCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "warm-pool",
		Short: "List the server's warm pool: idle clusters that creates of their shape adopt",
		Long: `List the clusters of the server's warm pool (hearth server --warm-pool),
which list-clusters leaves out. A create-cluster or hearth run of a pool
cluster's shape (one ` + control.PoolInstanceType + ` node, its release, only the Spark
application, no bootstrap actions and no configurations) adopts a ready one: it becomes
that cluster, with the caller's name, tags and steps.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			cs, err := c.WarmPool(cmd.Context())
			if err != nil {
				return err
			}
			type summary struct {
				Id           string               `json:"Id"`
				ReleaseLabel string               `json:"ReleaseLabel"`
				Status       hearth.ClusterStatus `json:"Status"`
			}
			out := struct {
				Clusters []summary `json:"Clusters"`
			}{Clusters: []summary{}}
			for _, cl := range cs {
				out.Clusters = append(out.Clusters, summary{cl.Id, cl.ReleaseLabel, cl.Status})
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
}

func newReplicasCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "replicas",
		Short: "List the replicas of a replicated control plane (servers sharing a PostgreSQL database), the leader first",
		Long: `List the hearth server replicas that share this server's PostgreSQL
database and were seen in the last 10 seconds, the leader (the replica
that runs the reconcile loops) first. Every replica serves the API, the
console and agents; when the leader dies another takes over within a few
seconds. A server with a SQLite database has no replicas.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			rs, err := c.Replicas(cmd.Context())
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), api.ReplicasResult{Replicas: rs})
		},
	}
}

func newDescribeClusterCmd(g *globals) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "describe-cluster",
		Short: "Show a cluster: EMR's Cluster document plus its nodes and Spark URLs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			v, err := c.DescribeCluster(cmd.Context(), id)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), v)
		},
	}
	cmd.Flags().StringVar(&id, "cluster-id", "", "the cluster (j-...)")
	cmd.MarkFlagRequired("cluster-id")
	return cmd
}

func newTerminateClustersCmd(g *globals) *cobra.Command {
	var ids []string
	cmd := &cobra.Command{
		Use:   "terminate-clusters",
		Short: "Terminate clusters: stop every Spark process and agent, keep the logs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return c.TerminateClusters(cmd.Context(), ids...)
		},
	}
	cmd.Flags().StringArrayVar(&ids, "cluster-ids", nil, "clusters to terminate (j-... j-...)")
	cmd.MarkFlagRequired("cluster-ids")
	return cmd
}

func newWaitCmd(g *globals) *cobra.Command {
	wait := &cobra.Command{Use: "wait", Short: "Wait for a cluster to reach a state"}
	for _, w := range []struct {
		name, short string
		states      []hearth.ClusterState
	}{
		{"cluster-running", "Wait until the cluster is RUNNING or WAITING", []hearth.ClusterState{hearth.ClusterRunning, hearth.ClusterWaiting}},
		{"cluster-terminated", "Wait until the cluster is TERMINATED (TERMINATED_WITH_ERRORS fails)", []hearth.ClusterState{hearth.ClusterTerminated}},
	} {
		var id string
		var timeout time.Duration
		cmd := &cobra.Command{
			Use:   w.name,
			Short: w.short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
				defer cancel()
				_, err = waitWithProgress(ctx, c, id, w.states...)
				if errors.Is(err, context.DeadlineExceeded) {
					return fmt.Errorf("cluster %s: not %s after %s", id, w.states[0], timeout)
				}
				return err
			},
		}
		cmd.Flags().StringVar(&id, "cluster-id", "", "the cluster (j-...)")
		cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Minute, "give up after this long")
		cmd.MarkFlagRequired("cluster-id")
		wait.AddCommand(cmd)
	}
	return wait
}
