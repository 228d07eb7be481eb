package main

import (
	"fmt"
	"math"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

// dist summarises a sample: benchutil.Dist without P90, as this
// benchmark's results have it.
type dist struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func distOf(xs []float64) dist {
	d := benchutil.DistOf(xs)
	return dist{N: d.N, Median: d.Median, Min: d.Min, Max: d.Max}
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

func printReport(res *result) {
	fmt.Printf("\ns3: Hearth's built-in store at %s (%d CPUs, load %.2f at start, %.2f at end)\n",
		res.S3Endpoint, res.Host.CPUs, res.Host.Load1, res.Host.Load1End)
	if o := res.Object; o != nil {
		fmt.Printf("\n1. object throughput: %d MiB of random bytes, put then get; seconds (%d warm-up run(s) discarded)\n", o.SizeMiB, o.Warmup)
		fmt.Printf("   floor:    %s\n   aws CLI:  %s (%s)\n   objstore: %s\n\n", o.Floor, o.AwsCLI, res.AwsCLI, o.ObjStore)
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "run\tcp in\tcp out\t|\taws put\taws get\t|\tobjstore put\tobjstore get\t|\taws head-bucket\t")
		for i, r := range o.Runs {
			fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t|\t%.2f\t%.2f\t|\t%.2f\t%.2f\t|\t%.2f\t\n", i+1,
				r.Floor.PutS, r.Floor.GetS, r.AwsCLI.PutS, r.AwsCLI.GetS, r.ObjStore.PutS, r.ObjStore.GetS, r.AwsStartS)
		}
		tw.Flush()
		fmt.Println()
		tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tput median\tMB/s\tratio\t(min/min)\t|\tget median\tMB/s\tratio\t(min/min)\t")
		row := func(name string, s sideSummary) {
			fmt.Fprintf(tw, "%s\t%.2fs\t%.0f\t%.2f\t(%.2f)\t|\t%.2fs\t%.0f\t%.2f\t(%.2f)\t\n", name,
				s.Put.Median, s.PutMBps, s.PutRatio, s.PutRatioMin, s.Get.Median, s.GetMBps, s.GetRatio, s.GetRatioMin)
		}
		row("cp (floor)", o.Summary.Floor)
		row("aws s3 cp", o.Summary.AwsCLI)
		row("objstore (Go SDK)", o.Summary.ObjStore)
		tw.Flush()
		fmt.Printf("ratio = median(time) / median(cp's time): put against cp in, get against cp out; MB/s = %d bytes / median time, 10^6 bytes/s.\n", o.Bytes)
		fmt.Printf("every aws s3 cp includes the CLI's start-up: `aws s3api head-bucket` (start-up + one request) took median %.2fs.\n", o.Summary.AwsStart.Median)
		fmt.Printf("checked: %s.\n", o.Checked)
	}
	if w := res.Wordcount; w != nil {
		fmt.Printf("\n2. word count of a %d MiB text (%d bytes, %d words; top: %s), as a Type=SPARK step on cluster %s\n",
			w.TextMiB, w.TextBytes, w.TextWords, strings.Join(w.Top, ", "), w.ClusterId)
		fmt.Printf("   (1 master + 2 workers, %s); seconds from add-steps to COMPLETED seen, describe-step polled every %.0fms (%d warm-up pair(s) discarded)\n",
			w.InstanceType, w.PollMs, w.Warmup)
		fmt.Printf("   local: %s\n   s3:    %s\n\n", w.LocalStep, w.S3Step)
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "run\tlocal s\tprocess\t|\ts3 s\tprocess\t")
		for i, p := range w.Runs {
			fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t|\t%.2f\t%.2f\t\n", i+1, p.Local.Seconds, p.Local.ProcessRunS, p.S3.Seconds, p.S3.ProcessRunS)
		}
		tw.Flush()
		s := w.Summary
		fmt.Printf("\n%-6s median %6.2fs   min %6.2fs   max %6.2fs\n", "local", s.Local.Median, s.Local.Min, s.Local.Max)
		fmt.Printf("%-6s median %6.2fs   min %6.2fs   max %6.2fs\n", "s3", s.S3.Median, s.S3.Min, s.S3.Max)
		fmt.Printf("ratio  median(s3)/median(local) = %.2f   (min/min %.2f; overhead %+.2fs; the steps' spark-submit processes alone: %.2f)\n",
			s.Ratio, s.RatioMin, s.OverheadS, s.ProcessRatio)
		fmt.Printf("checked: %s.\n", w.Checked)
	}
	for _, w := range res.Warnings {
		fmt.Println("WARNING:", w)
	}
}
