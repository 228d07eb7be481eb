package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hearthcluster/hearth/control"
	"github.com/spf13/cobra"
)

func newTopCmd(g *globals) *cobra.Command {
	var id string
	var once bool
	var every time.Duration
	cmd := &cobra.Command{
		Use:   "top",
		Short: "Show a cluster's nodes' CPU, memory, disk, network and JVM heaps, and its Spark activity, refreshing",
		Long: `top shows what the nodes' agents last sampled (every 5s by default, see
hearth server --node-metrics-interval) and the cluster's EMR-style figures
from its active Spark master: IsIdle, applications running and pending,
cores and memory in use. NODE CPU is the node's own processes (its agent,
daemons, executors and steps) in percent of one core; HOST CPU is the whole
machine's, in percent of all its cores (nodes of a local cluster share one).
It refreshes until interrupted; --once prints one frame and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			for {
				v, err := c.ClusterMetrics(cmd.Context(), id, time.Time{})
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if !once {
					fmt.Fprint(out, "\033[H\033[2J") // clear the terminal
				}
				printTop(out, v, time.Now())
				if once {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(every):
				}
			}
		},
	}
	cmd.Flags().StringVar(&id, "cluster-id", "", "the cluster (j-...)")
	cmd.Flags().BoolVar(&once, "once", false, "print once and exit")
	cmd.Flags().DurationVar(&every, "interval", 2*time.Second, "refresh period")
	cmd.MarkFlagRequired("cluster-id")
	return cmd
}

// printTop writes one frame: the cluster's figures, then a line per live
// node from its newest sample.
func printTop(w io.Writer, v *control.MetricsView, now time.Time) {
	fmt.Fprintf(w, "%s  %s\n", v.ClusterId, now.Format("15:04:05"))
	if n := len(v.Cluster); n > 0 {
		m := v.Cluster[n-1]
		fmt.Fprintf(w, "IsIdle %v  apps running %d  pending %d  steps running %d  workers %d  cores %d/%d  memory %d/%d MB\n\n",
			m.IsIdle, m.AppsRunning, m.AppsPending, m.StepsRunning, m.AliveWorkers, m.CoresUsed, m.CoresTotal, m.MemoryUsed, m.MemoryTotal)
	} else {
		fmt.Fprint(w, "no Spark figures yet (the active master reports every few seconds)\n\n")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tSTATE\tNODE CPU%\tNODE RSS MB\tHOST CPU%\tHOST MEM MB\tDISK MB\tNET RX/TX KB/s\tJVM HEAP MB\tAGE")
	for _, n := range v.Nodes {
		if n.State.Ended() {
			continue
		}
		if len(n.Samples) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t-\t-\t-\t-\t-\n", n.NodeId, n.Role, n.State)
			continue
		}
		m := n.Samples[len(n.Samples)-1]
		var heaps []string
		for _, d := range m.Daemons {
			if d.HeapUsedMB > 0 {
				heaps = append(heaps, fmt.Sprintf("%s %.0f", d.Name, d.HeapUsedMB))
			}
		}
		heap := strings.Join(heaps, ", ")
		if heap == "" {
			heap = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%.0f\t%.0f\t%d/%d\t%d/%d\t%.1f/%.1f\t%s\t%s\n", n.NodeId, n.Role, n.State,
			m.NodeCPUPercent, m.NodeRSSMB, m.HostCPUPercent, m.MemUsedMB, m.MemTotalMB, m.DiskUsedMB, m.DiskTotalMB,
			m.NetRxBytesPerSec/1024, m.NetTxBytesPerSec/1024, heap, now.Sub(m.Time).Round(time.Second))
	}
	tw.Flush()
}
