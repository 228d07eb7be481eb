package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

// topN is how many words wordcount.py prints (its default).
const topN = 50

// wcStep is one word-count step; seconds from just before add-steps was
// sent.
type wcStep struct {
	StepId           string  `json:"step_id"`
	Seconds          float64 `json:"seconds"`             // add-steps sent -> describe-step COMPLETED seen
	ProcessRunS      float64 `json:"process_run_s"`       // spark-submit inside the step: "Started process" -> "Step exited" (controller log)
	MasterIdleWaitMs float64 `json:"master_idle_wait_ms"` // before add-steps: until the master listed no active application
}

type wcPair struct {
	Local wcStep `json:"local"`
	S3    wcStep `json:"s3"`
}

type wordcountPart struct {
	TextMiB       int      `json:"text_mib"`
	TextBytes     int64    `json:"text_bytes"`
	TextWords     int      `json:"text_words"`
	TextSHA256    string   `json:"text_sha256"`
	Generator     string   `json:"generator"`
	Program       string   `json:"program"`
	ProgramSHA256 string   `json:"program_sha256"`
	ClusterId     string   `json:"cluster_id"`
	InstanceType  string   `json:"instance_type"`
	ClusterReadyS float64  `json:"cluster_ready_s"` // create-cluster --wait, start to exit (untimed in the ratio)
	LocalStep     string   `json:"local_step"`
	S3Step        string   `json:"s3_step"`
	PollMs        float64  `json:"describe_step_poll_interval_ms"`
	Top           []string `json:"top_words"` // the first few, as counted by this program
	Checked       string   `json:"checked"`
	Warmup        int      `json:"warmup_pairs_discarded"`
	Runs          []wcPair `json:"runs"`
	Summary       struct {
		Local        dist    `json:"local_s"`
		S3           dist    `json:"s3_s"`
		LocalProcess dist    `json:"local_process_s"`
		S3Process    dist    `json:"s3_process_s"`
		Ratio        float64 `json:"ratio_median"` // median(s3) / median(local)
		RatioMin     float64 `json:"ratio_min"`
		OverheadS    float64 `json:"overhead_median_s"` // median(s3) - median(local)
		// ProcessRatio is the same ratio of the steps' spark-submit
		// processes alone, without Hearth's step path (equal on both sides).
		ProcessRatio float64 `json:"process_ratio_median"`
	} `json:"summary"`
}

// wordcount is part 2.
func (b *bench) wordcount(ctx context.Context) (*wordcountPart, error) {
	dir := filepath.Join(b.root, "wordcount")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	res := &wordcountPart{TextMiB: b.cfg.textMiB, InstanceType: b.cfg.instanceType, PollMs: benchutil.Millis(b.cfg.poll), Warmup: b.cfg.warmup}

	// The program, copied so that an edit of the repository's copy during
	// the run cannot make the two sides run different code.
	prog := filepath.Join(dir, "wordcount.py")
	if err := copyFile(b.cfg.wordcount, prog); err != nil {
		return nil, err
	}
	res.Program = b.cfg.wordcount
	res.ProgramSHA256, _ = fileSHA256(prog)

	text := filepath.Join(dir, "text.txt")
	t := time.Now()
	words, err := b.genText(ctx, text, int64(b.cfg.textMiB)<<20)
	if err != nil {
		return nil, err
	}
	res.TextWords = words
	res.Generator = fmt.Sprintf("python3 %s %s %d 7", b.cfg.gentext, text, words)
	want, total, err := countWords(text)
	if err != nil {
		return nil, err
	}
	if total != words {
		b.warn("gentext.py was asked for %d words, the text has %d", words, total)
	}
	if fi, err := os.Stat(text); err == nil {
		res.TextBytes = fi.Size()
	}
	res.TextSHA256, _ = fileSHA256(text)
	for _, wc := range want[:min(5, len(want))] {
		res.Top = append(res.Top, fmt.Sprintf("%s %d", wc.Word, wc.Count))
	}
	fmt.Fprintf(os.Stderr, "s3: text of %d bytes, %d words (%d counted), generated and counted in %.1fs\n", res.TextBytes, words, total, time.Since(t).Seconds())

	uri := "s3://" + bucket + "/wordcount/text.txt"
	if _, err := b.aws(ctx, "s3", "cp", "--no-progress", text, uri); err != nil {
		return nil, err
	}
	stored := filepath.Join(b.hearth.Home, "s3", "buckets", bucket, "wordcount", "text.txt")
	if sum, err := fileSHA256(stored); err != nil || sum != res.TextSHA256 {
		return nil, fmt.Errorf("the store's copy of the text, %s, has SHA-256 %s (%v), not %s", stored, sum, err, res.TextSHA256)
	}
	res.LocalStep = "Type=SPARK,ActionOnFailure=CONTINUE,Args=[" + prog + "," + text + "]"
	res.S3Step = "Type=SPARK,ActionOnFailure=CONTINUE,Args=[" + prog + "," + uri + "]"
	res.Checked = fmt.Sprintf("each step COMPLETED, and its stdout is one JSON list of the %d most frequent words with their counts, "+
		"the same line for both inputs, and what this program counts in the text itself", topN)

	if err := b.createCluster(ctx, res); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "s3: cluster %s (%s) WAITING after %.1fs\n", b.clusterID, b.cfg.instanceType, res.ClusterReadyS)

	wantJSON := topJSON(want)
	step := func(what, input string) (wcStep, string, error) {
		r, out, err := b.runStep(ctx, what, prog, input)
		if err != nil {
			return r, "", fmt.Errorf("%s: %w", what, err)
		}
		got, ok := lastJSONLine(out)
		if !ok {
			b.warn("%s: step %s printed no JSON list on stdout: %.300q", what, r.StepId, out)
		} else if !sameTop(got, want) {
			b.warn("%s: step %s printed %.300s; want %.300s", what, r.StepId, got, wantJSON)
		}
		return r, got, nil
	}
	pair := func(what string) (wcPair, error) {
		var p wcPair
		var local, fromS3 string
		var err error
		if p.Local, local, err = step(what+", local", text); err != nil {
			return p, err
		}
		if p.S3, fromS3, err = step(what+", s3", uri); err != nil {
			return p, err
		}
		if local != fromS3 {
			b.warn("%s: the steps' outputs differ: local %.200s, s3 %.200s", what, local, fromS3)
		}
		fmt.Fprintf(os.Stderr, "%s: local %.2fs (process %.2fs), s3 %.2fs (process %.2fs)\n",
			what, p.Local.Seconds, p.Local.ProcessRunS, p.S3.Seconds, p.S3.ProcessRunS)
		return p, nil
	}
	if res.Runs, err = benchutil.Runs("word count", b.cfg.warmup, b.cfg.runs, pair); err != nil {
		return nil, err
	}

	var lo, s3, lp, sp []float64
	for _, p := range res.Runs {
		lo, s3 = append(lo, p.Local.Seconds), append(s3, p.S3.Seconds)
		lp, sp = append(lp, p.Local.ProcessRunS), append(sp, p.S3.ProcessRunS)
	}
	s := &res.Summary
	s.Local, s.S3, s.LocalProcess, s.S3Process = distOf(lo), distOf(s3), distOf(lp), distOf(sp)
	s.Ratio, s.RatioMin = benchutil.Ratio(s.S3.Median, s.Local.Median), benchutil.Ratio(s.S3.Min, s.Local.Min)
	s.OverheadS = benchutil.Round3(s.S3.Median - s.Local.Median)
	s.ProcessRatio = benchutil.Ratio(s.S3Process.Median, s.LocalProcess.Median)
	return res, nil
}

// genText writes a text of about size bytes (benchutil.GenText).
func (b *bench) genText(ctx context.Context, path string, size int64) (int, error) {
	return benchutil.GenText(ctx, b.cfg.gentext, path, size, b.cfg.timeout)
}

// createCluster runs `hearth create-cluster ... --instance-count 3 --wait`.
func (b *bench) createCluster(ctx context.Context, res *wordcountPart) error {
	t := time.Now()
	cctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
	defer cancel()
	id, err := b.hearth.CreateCluster(cctx, "--name", "bench-s3", "--instance-type", b.cfg.instanceType, "--instance-count", "3")
	b.clusterID = id
	if err != nil {
		return fmt.Errorf("%w (server log: %s)", err, benchutil.TailFile(b.hearth.ServerLog(), 1500))
	}
	res.ClusterId, res.ClusterReadyS = b.clusterID, benchutil.Round3(time.Since(t).Seconds())
	_, err = b.hearth.DescribeWaiting(ctx, b.clusterID)
	return err
}

// runStep runs `spark-submit prog input` as a Type=SPARK step, built as
// `hearth add-steps --steps Type=SPARK,...` builds it and sent with the
// client package (one request), and polls describe-step until it has
// ended. It returns the step's stdout.
func (b *bench) runStep(ctx context.Context, what, prog, input string) (wcStep, string, error) {
	var r wcStep
	idle, err := b.hearth.WaitMasterIdle(ctx, b.clusterID, b.warn)
	if err != nil {
		return r, "", err
	}
	r.MasterIdleWaitMs = benchutil.Millis(idle)
	cfg := hearth.StepConfig{
		Name:            "wordcount",
		ActionOnFailure: hearth.ActionContinue,
		HadoopJarStep:   hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: []string{"spark-submit", prog, input}},
	}
	id, t0, _, err := b.hearth.AddStep(ctx, b.clusterID, cfg)
	if err != nil {
		return r, "", err
	}
	r.StepId = id
	st, seen, err := b.hearth.WaitStep(ctx, b.clusterID, r.StepId, b.cfg.poll, b.cfg.timeout)
	if err != nil {
		return r, "", err
	}
	r.Seconds = seconds(seen.Sub(t0))
	if st.Status.State != hearth.StepCompleted {
		stderr, _ := b.hearth.StepLog(ctx, b.clusterID, r.StepId, "stderr")
		return r, "", fmt.Errorf("%w; its stderr ends:\n%s", benchutil.StepFailed(st), tail(stderr, 3000))
	}
	if ct, err := b.hearth.ControllerLog(ctx, b.clusterID, r.StepId); err != nil {
		b.warn("%s: %v", what, err)
	} else {
		r.ProcessRunS = seconds(ct.Exited.Sub(ct.Started))
	}
	out, err := b.hearth.StepLog(ctx, b.clusterID, r.StepId, "stdout")
	return r, out, err
}

// wordCount is one [word, count] pair of wordcount.py's output.
type wordCount struct {
	Word  string
	Count int
}

// countWords counts the words of the text at path as wordcount.py does —
// lower-cased runs of [a-z'], stripped of apostrophes at both ends, empty
// ones dropped — and returns the topN most frequent, most frequent first,
// ties alphabetically, and the number of words. (Bytewise: it agrees with
// the Python for ASCII text, which is what gentext.py writes.)
func countWords(path string) ([]wordCount, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	counts := map[string]int{}
	total := 0
	var word []byte
	flush := func() {
		if w := bytes.Trim(word, "'"); len(w) > 0 {
			counts[string(w)]++
			total++
		}
		word = word[:0]
	}
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		c, err := r.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if ('a' <= c && c <= 'z') || c == '\'' {
			word = append(word, c)
		} else {
			flush()
		}
	}
	flush()
	all := make([]wordCount, 0, len(counts))
	for w, n := range counts {
		all = append(all, wordCount{w, n})
	}
	slices.SortFunc(all, func(a, b wordCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Word, b.Word)
	})
	return all[:min(topN, len(all))], total, nil
}

// topJSON writes top as wordcount.py prints it (Python's json.dumps).
func topJSON(top []wordCount) string {
	var sb strings.Builder
	sb.WriteString("[")
	for i, wc := range top {
		if i > 0 {
			sb.WriteString(", ")
		}
		w, _ := json.Marshal(wc.Word)
		fmt.Fprintf(&sb, "[%s, %d]", w, wc.Count)
	}
	sb.WriteString("]")
	return sb.String()
}

// lastJSONLine is the last line of out that is a JSON list.
func lastJSONLine(out string) (string, bool) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "[") && json.Valid([]byte(l)) {
			return l, true
		}
	}
	return "", false
}

// sameTop reports whether the JSON list got is want's [word, count] pairs,
// in order.
func sameTop(got string, want []wordCount) bool {
	var pairs [][]any
	if json.Unmarshal([]byte(got), &pairs) != nil || len(pairs) != len(want) {
		return false
	}
	for i, p := range pairs {
		if len(p) != 2 {
			return false
		}
		w, _ := p[0].(string)
		n, _ := p[1].(float64)
		if w != want[i].Word || int(n) != want[i].Count {
			return false
		}
	}
	return true
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
