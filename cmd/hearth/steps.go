package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/api"
	"github.com/spf13/cobra"
)

// stepArg is one --steps item as the aws CLI takes it: Type=SPARK runs
// spark-submit with Args; Type=CUSTOM_JAR runs Jar (command-runner.jar,
// script-runner.jar, or an application jar) with Args.
type stepArg struct {
	Type            string   `json:"Type"`
	Name            string   `json:"Name"`
	ActionOnFailure string   `json:"ActionOnFailure"`
	Jar             string   `json:"Jar"`
	MainClass       string   `json:"MainClass"`
	Args            []string `json:"Args"`
	Properties      string   `json:"Properties"`
}

// parseSteps turns --steps arguments into step configs, as the aws CLI does.
func parseSteps(args []string) ([]hearth.StepConfig, error) {
	items, err := parseList[stepArg]("steps", args)
	if err != nil {
		return nil, err
	}
	var out []hearth.StepConfig
	for i, it := range items {
		field := fmt.Sprintf("--steps[%d]", i)
		cfg := hearth.StepConfig{Name: it.Name, ActionOnFailure: hearth.ActionOnFailure(strings.ToUpper(it.ActionOnFailure))}
		switch strings.ToUpper(it.Type) {
		case "SPARK":
			if cfg.Name == "" {
				cfg.Name = "Spark application"
			}
			cfg.HadoopJarStep = hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: append([]string{"spark-submit"}, absolutePaths(it.Args)...)}
		case "", "CUSTOM_JAR":
			if it.Jar == "" {
				return nil, hearth.Invalid(field+".Jar", "", "required for CUSTOM_JAR steps: command-runner.jar, script-runner.jar or your application jar")
			}
			if cfg.Name == "" {
				cfg.Name = "Custom JAR"
			}
			cfg.HadoopJarStep = hearth.HadoopJarStepConfig{Jar: it.Jar, MainClass: it.MainClass, Args: it.Args}
		default:
			if why := hearth.UnsupportedStepType(it.Type); why != "" {
				return nil, hearth.Invalid(field+".Type", it.Type, why)
			}
			return nil, hearth.Invalid(field+".Type", it.Type, "unknown step type; supported: SPARK, CUSTOM_JAR")
		}
		if it.Properties != "" {
			for _, kv := range strings.Split(it.Properties, ",") {
				k, v, _ := strings.Cut(kv, "=")
				cfg.HadoopJarStep.Properties = append(cfg.HadoopJarStep.Properties, hearth.KeyValue{Key: k, Value: v})
			}
		}
		out = append(out, cfg)
	}
	return out, nil
}

// absolutePaths makes relative paths of files that exist here absolute:
// the server does not share the CLI's working directory.
func absolutePaths(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "" || strings.HasPrefix(a, "-") || strings.Contains(a, "://") || filepath.IsAbs(a) {
			continue
		}
		if st, err := os.Stat(a); err == nil && !st.IsDir() {
			if abs, err := filepath.Abs(a); err == nil {
				out[i] = abs
			}
		}
	}
	return out
}

func newAddStepsCmd(g *globals) *cobra.Command {
	var id string
	var steps []string
	cmd := &cobra.Command{
		Use:   "add-steps",
		Short: "Add steps to a cluster (as `aws emr add-steps`)",
		Example: `  hearth add-steps --cluster-id j-XXX --steps Type=SPARK,Name=Wordcount,Args=[--deploy-mode,cluster,examples/wordcount.py,README.md]
  hearth add-steps --cluster-id j-XXX --steps Type=CUSTOM_JAR,Jar=command-runner.jar,Args=[spark-submit,app.py]`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfgs, err := parseSteps(steps)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ids, err := c.AddSteps(cmd.Context(), id, cfgs)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), map[string][]string{"StepIds": ids})
		},
	}
	cmd.Flags().StringVar(&id, "cluster-id", "", "the cluster (j-...)")
	cmd.Flags().StringArrayVar(&steps, "steps", nil, "steps: shorthand (Type=SPARK,Name=..,ActionOnFailure=..,Args=[..] ...), JSON, or file://path")
	cmd.MarkFlagRequired("cluster-id")
	cmd.MarkFlagRequired("steps")
	return cmd
}

func newListStepsCmd(g *globals) *cobra.Command {
	var id string
	var states, ids []string
	cmd := &cobra.Command{
		Use:   "list-steps",
		Short: "List a cluster's steps, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var want []hearth.StepState
			for _, s := range states {
				want = append(want, hearth.StepState(strings.ToUpper(s)))
			}
			steps, err := c.ListSteps(cmd.Context(), id, want, ids)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), map[string]any{"Steps": steps})
		},
	}
	cmd.Flags().StringVar(&id, "cluster-id", "", "the cluster (j-...)")
	cmd.Flags().StringSliceVar(&states, "step-states", nil, "only steps in these states (PENDING, RUNNING, COMPLETED, CANCELLED, FAILED, INTERRUPTED, CANCEL_PENDING)")
	cmd.Flags().StringSliceVar(&ids, "step-ids", nil, "only these steps")
	cmd.MarkFlagRequired("cluster-id")
	return cmd
}

func newDescribeStepCmd(g *globals) *cobra.Command {
	var id, step string
	cmd := &cobra.Command{
		Use:   "describe-step",
		Short: "Show a step: state, timeline, FailureDetails",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			st, err := c.DescribeStep(cmd.Context(), id, step)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), map[string]any{"Step": st})
		},
	}
	cmd.Flags().StringVar(&id, "cluster-id", "", "the cluster (j-...)")
	cmd.Flags().StringVar(&step, "step-id", "", "the step (s-...)")
	cmd.MarkFlagRequired("cluster-id")
	cmd.MarkFlagRequired("step-id")
	return cmd
}

func newCancelStepsCmd(g *globals) *cobra.Command {
	var id, option string
	var ids []string
	cmd := &cobra.Command{
		Use:   "cancel-steps",
		Short: "Cancel pending or running steps",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.CancelSteps(cmd.Context(), id, ids, option)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), res)
		},
	}
	cmd.Flags().StringVar(&id, "cluster-id", "", "the cluster (j-...)")
	cmd.Flags().StringSliceVar(&ids, "step-ids", nil, "steps to cancel")
	cmd.Flags().StringVar(&option, "step-cancellation-option", "SEND_INTERRUPT", "SEND_INTERRUPT (SIGTERM, SIGKILL after 10s) or TERMINATE_PROCESS (SIGKILL)")
	cmd.MarkFlagRequired("cluster-id")
	cmd.MarkFlagRequired("step-ids")
	return cmd
}

func newLogsCmd(g *globals) *cobra.Command {
	var id, step, logType string
	var follow, bootstrap bool
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Print a step's log (stdout, stderr or controller; --follow streams it live), or with --bootstrap every node's bootstrap action output",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if bootstrap {
				v, err := c.DescribeCluster(cmd.Context(), id)
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				for _, n := range v.Nodes {
					for _, r := range n.Observed.Bootstrap {
						fmt.Fprintf(w, "==> %s (%s) bootstrap action %d %q %s: exit %d after %.1fs\n", n.Id, n.Role, r.Index, r.Name, r.Path, r.ExitCode, r.Seconds)
						if r.Stdout != "" {
							fmt.Fprintf(w, "--- stdout ---\n%s", ensureNewline(r.Stdout))
						}
						if r.Stderr != "" {
							fmt.Fprintf(w, "--- stderr ---\n%s", ensureNewline(r.Stderr))
						}
					}
				}
				return nil
			}
			if step == "" {
				return hearth.Invalid("step-id", "", "required (or --bootstrap)")
			}
			if follow {
				return c.FollowStepLog(cmd.Context(), id, step, logType, cmd.OutOrStdout())
			}
			var offset int64
			for {
				r, err := c.StepLog(cmd.Context(), id, step, logType, offset, false)
				if err != nil {
					return err
				}
				cmd.OutOrStdout().Write(r.Data)
				if len(r.Data) == 0 {
					return nil
				}
				offset = r.Next
			}
		},
	}
	cmd.Flags().StringVar(&id, "cluster-id", "", "the cluster (j-...)")
	cmd.Flags().StringVar(&step, "step-id", "", "the step (s-...)")
	cmd.Flags().StringVar(&logType, "log-type", "stdout", "stdout, stderr or controller")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing as the step writes, until it ends")
	cmd.Flags().BoolVar(&bootstrap, "bootstrap", false, "print each node's bootstrap action results instead")
	cmd.MarkFlagRequired("cluster-id")
	return cmd
}

func ensureNewline(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

func newModifyClusterAttributesCmd(g *globals) *cobra.Command {
	var id string
	var protect, noProtect, autoTerm, noAutoTerm bool
	cmd := &cobra.Command{
		Use:   "modify-cluster-attributes",
		Short: "Turn termination protection or auto-termination on or off",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var attrs api.ClusterAttributes
			set := func(on, off bool, name string, dst **bool) error {
				if on && off {
					return hearth.Invalid(name, "", "give --"+name+" or --no-"+name+", not both")
				}
				if on || off {
					*dst = &on
				}
				return nil
			}
			if err := set(protect, noProtect, "termination-protected", &attrs.TerminationProtected); err != nil {
				return err
			}
			if err := set(autoTerm, noAutoTerm, "auto-terminate", &attrs.AutoTerminate); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			return c.ModifyCluster(cmd.Context(), id, attrs)
		},
	}
	cmd.Flags().StringVar(&id, "cluster-id", "", "the cluster (j-...)")
	cmd.Flags().BoolVar(&protect, "termination-protected", false, "refuse terminate-clusters")
	cmd.Flags().BoolVar(&noProtect, "no-termination-protected", false, "allow terminate-clusters")
	cmd.Flags().BoolVar(&autoTerm, "auto-terminate", false, "terminate when no steps are left")
	cmd.Flags().BoolVar(&noAutoTerm, "no-auto-terminate", false, "keep running when no steps are left")
	cmd.MarkFlagRequired("cluster-id")
	return cmd
}

// waitStep polls a step until it ends.
func waitStep(ctx context.Context, g *globals, clusterID, stepID string) (*hearth.Step, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	for {
		st, err := c.DescribeStep(ctx, clusterID, stepID)
		if err != nil {
			return nil, err
		}
		if st.Status.State.Ended() {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}
