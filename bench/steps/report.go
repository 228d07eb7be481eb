package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

func printReport(res *result) {
	fmt.Printf("\nsteps on one local cluster %s (1 master + 2 workers, %d CPUs, load %.2f at start, %.2f at end)\n",
		res.ClusterId, res.Host.CPUs, res.Host.Load1, res.Host.Load1End)
	fmt.Printf("add-steps via: %s\n", res.AddStepsVia)
	fmt.Printf("describe-step polled every %.0fms\n", res.PollIntervalMs)

	if d := res.Dispatch; d != nil {
		fmt.Printf("\n1. dispatch: %s — ms from just before add-steps was sent\n\n", d.Step)
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "step\tadd ret\tstored\tdispatched\tplan rcvd\tset up\tSTARTED\texited\tCOMPLETED\tseen\t| direct start\texit\t")
		for i, r := range d.Runs {
			fmt.Fprintf(tw, "%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t%.0f\t%.0f\t%.1f\t%.1f\t| %.2f\t%.2f\t\n", i+1,
				r.AddReturnedMs, r.StoredMs, r.DispatchedMs, r.PlanReceivedMs, r.AgentBeganMs, r.ProcessStartedMs,
				r.ProcessExitedMs, r.CompletedMs, r.CompletedSeenMs, d.Floor[i].StartedMs, d.Floor[i].ExitedMs)
		}
		tw.Flush()
		s := d.Summary
		line := func(name string, x benchutil.Dist) {
			fmt.Printf("%-34s median %7.1fms   p90 %7.1fms   min %7.1fms   max %7.1fms\n", name, x.Median, x.P90, x.Min, x.Max)
		}
		fmt.Println()
		line("add-steps -> process started", s.ProcessStarted)
		line("add-steps -> COMPLETED recorded", s.Completed)
		line("add-steps -> COMPLETED seen (poll)", s.CompletedSeen)
		line("direct exec -> started", s.FloorStarted)
		line("direct exec -> exited", s.FloorExited)
		fmt.Printf("overhead: %+.1fms to start the process, %+.1fms to see it COMPLETED (medians, Hearth minus direct)\n", s.OverheadStarted, s.OverheadSeen)
		fmt.Println("\nwhere the time goes (per step, then median / p90 / max in ms):")
		for _, p := range s.Phases {
			fmt.Printf("  %-52s %7.1f %7.1f %7.1f\n", p.Name, p.Ms.Median, p.Ms.P90, p.Ms.Max)
		}
	}

	if sp := res.Spark; sp != nil {
		fmt.Printf("\n2. trivial PySpark app (spark.range(100).count()): %s vs direct spark-submit (%d warm-up pair(s) discarded)\n\n", sp.Step, sp.Warmup)
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "run\tdirect s\t|\tstep s\t| dispatched\tproc start\tproc exit\tCOMPLETED\tproc run\t")
		for i, p := range sp.Runs {
			fmt.Fprintf(tw, "%d\t%.2f\t|\t%.2f\t| %.3f\t%.3f\t%.2f\t%.2f\t%.2f\t\n", i+1, p.Direct.Seconds, p.Step.Seconds,
				p.Step.DispatchedS, p.Step.ProcessStartedS, p.Step.ProcessExitedS, p.Step.CompletedS, p.Step.ProcessRunS)
		}
		tw.Flush()
		s := sp.Summary
		fmt.Printf("\n%-13s median %6.2fs   min %6.2fs   max %6.2fs\n", "direct", s.Direct.Median, s.Direct.Min, s.Direct.Max)
		fmt.Printf("%-13s median %6.2fs   min %6.2fs   max %6.2fs\n", "step", s.Step.Median, s.Step.Min, s.Step.Max)
		fmt.Printf("%-13s median %6.2fs   min %6.2fs   max %6.2fs\n", "step process", s.StepProcess.Median, s.StepProcess.Min, s.StepProcess.Max)
		fmt.Printf("ratio    median(step)/median(direct) = %.2f   (min/min %.2f; overhead %+.2fs, of which %+.2fs is spark-submit itself running slower inside the step)\n",
			s.Ratio, s.RatioMin, s.OverheadS, s.ProcessOverheadS)
	}
	if f := res.ServerLog; f.StepsEnded > 0 {
		fmt.Printf("\nserver log: \"step ended\" logged %d times for %d steps (most: %d times for %s, over %.1fs)\n",
			f.StepEndedLines, f.StepsEnded, f.MostLines, f.MostLinesStep, f.MostLinesSpanS)
	}
	for _, w := range res.Warnings {
		fmt.Println("WARNING:", w)
	}
}
