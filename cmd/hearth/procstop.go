package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/internal/proc"
	"github.com/spf13/cobra"
)

func newProcStopCmd() *cobra.Command {
	var (
		leader proc.Ref
		grace  time.Duration
	)
	cmd := &cobra.Command{
		Use:    "proc-stop",
		Short:  "Stop every process of a session on this host (used by the ssh provisioner to stop a node's processes)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if leader.Pid <= 0 || leader.StartTime == 0 {
				return invalid(hearth.Invalid("--session/--start-time", "", "both are required"))
			}
			err := proc.StopSession(cmd.Context(), leader, grace)
			var survivors *proc.SurvivorsError
			if errors.As(err, &survivors) {
				for _, pid := range survivors.Pids {
					fmt.Fprintln(cmd.OutOrStdout(), pid)
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&leader.Pid, "session", 0, "the session's id (its leader's pid)")
	f.Uint64Var(&leader.StartTime, "start-time", 0, "the leader's start time (field 22 of /proc/<pid>/stat), against pid reuse")
	f.DurationVar(&grace, "grace", 20*time.Second, "how long to wait after SIGTERM before SIGKILL")
	return cmd
}
