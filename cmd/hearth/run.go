package main

import (
	"context"
	"errors"
	"fmt"

	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/client"
	"github.com/hearthcluster/hearth/control"
	"github.com/spf13/cobra"
)

func newRunCmd(g *globals) *cobra.Command {
	var (
		instanceType, releaseLabel, name, mainClass, logURI string
		count                                               int
		showStderr                                          bool
	)
	cmd := &cobra.Command{
		Use:   "run [flags] <script.py|app.jar> [args...]",
		Short: "Run one Spark application on a fresh cluster that terminates when it is done",
		Long: `Run a Spark application on an ephemeral local cluster: create it, run the
application as its only step (spark-submit), stream the application's stdout,
have the cluster terminated, and exit with the step's status. A server ends
the cluster after run exits; run's own control plane (below) waits for it.

A server started with --warm-pool keeps ready clusters of run's default
shape: run adopts one, and its step starts at once.

By default the cluster is one node, EMR's single-node shape: the master node
also runs the worker, which is the quickest cluster to start; --instance-count
N gives 1 master and N-1 workers.

If no Hearth server answers at --endpoint, run starts a control plane in this
process for the duration (its log: $HEARTH_HOME/run-server.log). That one
uses the class-data archive that makes Spark's JVMs start faster, but
builds none (it would not outlive the run): hearth runtime install, or a
hearth server's first cluster, builds it once.`,
		Example: `  hearth run examples/wordcount.py README.md
  hearth run --instance-count 5 --class org.example.Main app.jar in.txt`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			app := absolutePaths(args[:1])[0]
			if !strings.Contains(app, "://") {
				if _, err := os.Stat(app); err != nil {
					return hearth.Invalid("script", args[0], "no such file")
				}
			}
			c, stop, inProcess, err := g.clientOrInProcess(ctx)
			if err != nil {
				return err
			}
			defer stop()
			submit := []string{"spark-submit"}
			if mainClass != "" {
				submit = append(submit, "--class", mainClass)
			}
			submit = append(append(submit, app), absolutePaths(args[1:])...)
			groups, err := hearth.InstanceGroupsFromCount(instanceType, count)
			if err != nil {
				return err
			}
			res, err := c.CreateCluster(ctx, hearth.ClusterSpec{
				Name: name, ReleaseLabel: releaseLabel, InstanceGroups: groups, AutoTerminate: true, LogUri: logURI,
				Steps: []hearth.StepConfig{{Name: filepath.Base(app), HadoopJarStep: hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: submit}}},
			})
			if err != nil {
				return err
			}
			id := res.ClusterId
			cleanup := func() {
				bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
				defer cancel()
				c.TerminateClusters(bg, id)
				// A server ends the cluster on its own; the control plane in
				// this process must see it end before it stops.
				if inProcess {
					c.WaitCluster(bg, id, nil, hearth.ClusterTerminated, hearth.ClusterTerminatedWithErrors)
				}
			}
			defer cleanup()
			shape := fmt.Sprintf("%d %s nodes: 1 master, %d workers", count, instanceType, count-1)
			switch count {
			case 1:
				shape = "1 " + instanceType + " node running the master and a worker; --instance-count N for more"
			case 2:
				shape = "2 " + instanceType + " nodes: 1 master, 1 worker"
			}
			if v, err := c.DescribeCluster(ctx, id); err == nil && slices.ContainsFunc(v.Cluster.Notes, func(n string) bool { return strings.HasPrefix(n, control.AdoptedNote) }) {
				shape += "; adopted from the server's warm pool"
			}
			fmt.Fprintf(os.Stderr, "hearth run: cluster %s (%s)\n", id, shape)
			if _, err := waitWithProgress(ctx, c, id, hearth.ClusterRunning, hearth.ClusterWaiting, hearth.ClusterTerminating); err != nil {
				return err
			}
			steps, err := c.ListSteps(ctx, id, nil, nil)
			if err != nil || len(steps) != 1 {
				return fmt.Errorf("cluster %s: its step is missing: %v", id, err)
			}
			stepID := steps[0].Id
			start := time.Now()
			if err := c.FollowStepLog(ctx, id, stepID, "stdout", cmd.OutOrStdout()); err != nil {
				return err
			}
			st, err := c.DescribeStep(ctx, id, stepID)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "hearth run: step %s %s after %.1fs\n", stepID, st.Status.State, time.Since(start).Seconds())
			if st.Status.State == hearth.StepCompleted {
				return nil
			}
			if showStderr || st.Status.State == hearth.StepFailed {
				printTail(ctx, c, id, stepID, 40)
			}
			if fd := st.Status.FailureDetails; fd != nil {
				fmt.Fprintf(os.Stderr, "hearth run: %s: %s\n", fd.Reason, fd.Message)
			}
			code := 1
			if st.ExitCode != nil && *st.ExitCode > 0 && *st.ExitCode < 126 {
				code = *st.ExitCode
			}
			return &stepExit{code: code, msg: fmt.Sprintf("step %s %s", stepID, st.Status.State)}
		},
	}
	f := cmd.Flags()
	f.StringVar(&instanceType, "instance-type", "local.medium", "instance type of every node")
	f.IntVar(&count, "instance-count", 1, "nodes: 1 master and N-1 workers (1: the master also runs the worker)")
	f.StringVar(&releaseLabel, "release-label", "", "spark-<x.y.z> or emr-<x.y.z> (default: the pinned Spark)")
	f.StringVar(&name, "name", "hearth run", "cluster name")
	f.StringVar(&mainClass, "class", "", "main class of a jar application")
	f.StringVar(&logURI, "log-uri", "", "copy the step's logs to <log-uri>/<cluster-id>/steps/<step-id>/")
	f.BoolVar(&showStderr, "show-stderr", false, "print the tail of the application's stderr even when it succeeds")
	return cmd
}

// stepExit carries a process exit code through cobra.
type stepExit struct {
	code int
	msg  string
}

func (e *stepExit) Error() string { return e.msg }

func printTail(ctx context.Context, c *client.Client, clusterID, stepID string, lines int) {
	var buf strings.Builder
	var offset int64
	for {
		r, err := c.StepLog(ctx, clusterID, stepID, "stderr", offset, false)
		if err != nil || len(r.Data) == 0 {
			break
		}
		buf.Write(r.Data)
		offset = r.Next
	}
	all := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	fmt.Fprintf(os.Stderr, "--- last %d lines of the step's stderr ---\n%s\n---\n", len(all), strings.Join(all, "\n"))
}

// clientOrInProcess returns a client of the server at g.endpoint, or, when
// none answers, of a control plane started in this process on a free
// loopback port (inProcess); stop shuts that one down.
func (g *globals) clientOrInProcess(ctx context.Context) (c *client.Client, stop func(), inProcess bool, err error) {
	if c, err := g.client(); err == nil {
		if _, err := c.ListClusters(ctx, hearth.ClusterStarting); err == nil {
			return c, func() {}, false, nil
		} else if !errors.Is(err, hearth.ErrUnavailable) {
			return nil, nil, false, err
		}
	}
	if err := os.MkdirAll(g.home, 0o700); err != nil {
		return nil, nil, false, err
	}
	logf, err := os.OpenFile(filepath.Join(g.home, "run-server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, false, err
	}
	srvCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		o := defaultServerOptions(g)
		o.listen = "127.0.0.1:0"
		o.warmPool = nil     // a pool would outlive this process with no one to adopt it
		o.cdsReadOnly = true // a class-data training would outlive the run; it would be aborted
		done <- runServer(srvCtx, o, slog.New(slog.NewTextHandler(logf, nil)), ready)
	}()
	stop = func() {
		cancel()
		<-done
		logf.Close()
	}
	select {
	case addr := <-ready:
		token, err := client.ReadToken(g.home)
		if err != nil {
			stop()
			return nil, nil, false, err
		}
		fmt.Fprintf(os.Stderr, "hearth run: no server at %s; running a control plane in this process (log: %s)\n", g.endpoint, logf.Name())
		return client.New("http://"+addr, token), stop, true, nil
	case err := <-done:
		logf.Close()
		cancel()
		return nil, nil, false, err
	}
}
