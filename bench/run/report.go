package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

func printReport(res *result) {
	if len(res.Runs) > 0 {
		printCold(res)
	}
	if res.Warm != nil {
		printWarm(res)
	}
	for _, w := range res.Warnings {
		fmt.Println("WARNING:", w)
	}
}

func printWarm(res *result) {
	w := res.Warm
	fmt.Printf("\nrun, warm: hearth run on a server with --warm-pool 1 vs spark-submit to a running cluster of the same shape\n")
	fmt.Printf("   floor:  %s\n   hearth: %s\n%s\n\n", w.FloorCommand, w.HearthCommand, w.Measured)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tfloor s\tCPU s\tRSS MiB\t|\thearth s\tCPU s\tRSS MiB\tpool wait s\t")
	for i, p := range w.Runs {
		f, h := p.Floor, p.Hearth
		fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t%.0f\t|\t%.2f\t%.2f\t%.0f\t%.1f\t\n", i+1, f.WallS, f.CPUS, f.PeakRSSMiB, h.WallS, h.CPUS, h.PeakRSSMiB, h.PoolWaitS)
	}
	tw.Flush()
	s := w.Summary
	fmt.Printf("\nratio  median(hearth wall)/median(floor wall) = %.2f   (min/min %.2f; medians %.2fs vs %.2fs)\n", s.Ratio, s.RatioMin, s.HearthWall.Median, s.FloorWall.Median)
	fmt.Printf("CPU    median(machine CPU) ratio               = %.2f   (%.2fs vs %.2fs)   peak RSS %.2f (%.0f vs %.0f MiB)\n",
		s.CPURatio, s.HearthCPU.Median, s.FloorCPU.Median, s.RSSRatio, s.HearthRSS.Median, s.FloorRSS.Median)
}

func printCold(res *result) {
	fmt.Printf("\nrun: hearth run (cold: no server, a fresh HEARTH_HOME, one node) vs spark-submit --master local[2] (%d CPUs, load %.2f at start, %.2f at end)\n",
		res.Host.CPUs, res.Host.Load1, res.Host.Load1End)
	fmt.Printf("word count of a %d KiB text (%d bytes, %d words); %d warm-up pair(s) discarded\n",
		res.Text.KiB, res.Text.Bytes, res.Text.Words, res.Warmup)
	fmt.Printf("   floor:  %s\n   hearth: %s\n", res.FloorCommand, res.HearthCommand)
	fmt.Printf("wall: start -> exit; CPU: user+sys of the whole process tree (rusage, and /proc for what the kernel reaped); RSS: peak of the tree's summed RSS, sampled every %.0fms\n\n", res.SampleMs)

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tfloor s\tCPU s\tRSS MiB\t|\thearth s\tCPU s\tRSS MiB\tcluster s\tstep s\tprocs\t")
	for i, p := range res.Runs {
		f, h := p.Floor, p.Hearth
		fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t%.0f\t|\t%.2f\t%.2f\t%.0f\t%.1f\t%.1f\t%d\t\n", i+1,
			f.WallS, f.CPUS, f.PeakRSSMiB, h.WallS, h.CPUS, h.PeakRSSMiB, h.ClusterS, h.StepS, h.Processes)
	}
	tw.Flush()

	s := res.Summary
	fmt.Println()
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "median\twall s\t(min\tmax)\tCPU s\tpeak RSS MiB\t")
	row := func(name string, w, c, r benchutil.Dist) {
		fmt.Fprintf(tw, "%s\t%.2f\t(%.2f\t%.2f)\t%.2f\t%.0f\t\n", name, w.Median, w.Min, w.Max, c.Median, r.Median)
	}
	row("spark-submit local[2] (floor)", s.FloorWall, s.FloorCPU, s.FloorRSS)
	row("hearth run", s.HearthWall, s.HearthCPU, s.HearthRSS)
	tw.Flush()
	fmt.Printf("\nratio  median(hearth wall)/median(floor wall) = %.2f   (min/min %.2f; overhead %+.2fs)\n", s.Ratio, s.RatioMin, s.OverheadS)
	fmt.Printf("CPU    median(hearth CPU)/median(floor CPU)   = %.2f   peak RSS %.2f\n", s.CPURatio, s.RSSRatio)
	fmt.Printf("hearth run's own phases (its stderr), medians: cluster created -> RUNNING %.1fs, step %.1fs, the rest (control plane, terminate, exit) %.1fs\n",
		s.HearthCluster.Median, s.HearthStep.Median, benchutil.Round3(s.HearthWall.Median-s.HearthCluster.Median-s.HearthStep.Median))
	fmt.Printf("checked: %s.\n", res.Checked)
}
