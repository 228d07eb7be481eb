package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
	"github.com/hearthcluster/hearth/provision/local"
)

// topN is how many words wordcount.py prints (its default).
const topN = 50

// bench holds what every run shares.
type bench struct {
	cfg  config
	root string
	bin  string // the hearth binary, absolute
	warn func(format string, a ...any)

	prog, text string // the copies under root both sides run
	reference  string // the first run's output, which every run must print
	n          int    // pairs started, for directory names
}

// textFacts describe the generated text.
type textFacts struct {
	KiB       int    `json:"kib"`
	Bytes     int64  `json:"bytes"`
	Words     int    `json:"words"`
	SHA256    string `json:"sha256"`
	Generator string `json:"generator"`
}

// side is one run of one side.
type side struct {
	treeUsage
	// Hearth only, from hearth run's stderr: create-cluster until the
	// cluster was RUNNING, and the step from then until it ended.
	ClusterS float64 `json:"cluster_s,omitempty"`
	StepS    float64 `json:"step_s,omitempty"`
}

type pair struct {
	Floor  side `json:"floor"`
	Hearth side `json:"hearth"`
}

// prepare installs Hearth's runtime, copies the program and generates the
// text, all untimed, and describes the runs in res.
func (b *bench) prepare(ctx context.Context, res *result) error {
	// As benchutil.Hearth.Start does for a server: the S3A jars and the
	// daemons' class-data archive, in the caches shared with the tests,
	// which every run's Env points at. The install writes nothing under
	// HEARTH_HOME when SPARK_HOME is a distribution.
	endpoint, err := unusedEndpoint()
	if err != nil {
		return err
	}
	h := &benchutil.Hearth{Bin: b.bin, Home: filepath.Join(b.root, "install-home"), SparkHome: b.cfg.sparkHome, Endpoint: endpoint}
	t := time.Now()
	if out, err := h.CLI(ctx, "runtime", "install"); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	res.RuntimeInstall = benchutil.Round3(time.Since(t).Seconds())
	fmt.Fprintf(os.Stderr, "run: hearth runtime install (untimed) took %.1fs\n", res.RuntimeInstall)

	// The program, copied so that an edit of the repository's copy during
	// the run cannot make the two sides run different code.
	b.prog = filepath.Join(b.root, "wordcount.py")
	data, err := os.ReadFile(b.cfg.wordcount)
	if err == nil {
		err = os.WriteFile(b.prog, data, 0o644)
	}
	if err != nil {
		return err
	}
	res.Program, res.ProgramSHA256 = b.cfg.wordcount, fileSHA256(b.prog)

	b.text = filepath.Join(b.root, "text.txt")
	t = time.Now()
	words, err := b.genText(ctx, b.text, int64(b.cfg.textKiB)<<10)
	if err != nil {
		return err
	}
	res.Text = textFacts{KiB: b.cfg.textKiB, Words: words, SHA256: fileSHA256(b.text),
		Generator: fmt.Sprintf("python3 %s %s %d 7", b.cfg.gentext, b.text, words)}
	if fi, err := os.Stat(b.text); err == nil {
		res.Text.Bytes = fi.Size()
	}
	fmt.Fprintf(os.Stderr, "run: text of %d bytes, %d words, generated in %.1fs\n", res.Text.Bytes, words, time.Since(t).Seconds())

	res.FloorCommand = filepath.Join(b.cfg.sparkHome, "bin", "spark-submit") + " --master local[2] " + b.prog + " " + b.text
	res.HearthCommand = b.bin + " run " + b.prog + " " + b.text
	res.HearthHome = filepath.Join(b.root, "hearth-<n>", "home") + ": a fresh HEARTH_HOME per run, created by hearth run; " +
		"HEARTH_ENDPOINT a free loopback port nobody listens on; HEARTH_JAR_CACHE, HEARTH_CDS_CACHE ~/.cache/hearth-test/{maven,cds}"
	res.Measured = "each command in its own process group, timed from just before it started until it exited; " +
		"CPU: user+sys from the rusage of every process of its tree (this program is their child subreaper and reaps them all), " +
		"plus, from /proc samples, that of the processes whose parent ignored SIGCHLD (reaped by the kernel: no rusage has them); " +
		fmt.Sprintf("peak RSS: the largest sum of RSS over the tree's processes, /proc sampled every %s", b.cfg.sample)
	res.Checked = fmt.Sprintf("every run exited 0 and printed one JSON list of the %d most frequent words with their counts, "+
		"the same for every run of both sides; no process of a run outlived it by more than %s, "+
		"and none referred to its directory (HEARTH_HOME) after it; hearth run started its own control plane", topN, b.cfg.linger)
	return nil
}

// pair runs the floor, then Hearth.
func (b *bench) pair(ctx context.Context, what string) (pair, error) {
	var p pair
	var err error
	b.n++
	if p.Floor, err = b.runFloor(ctx, what+", floor", filepath.Join(b.root, fmt.Sprintf("floor-%d", b.n))); err != nil {
		return p, err
	}
	if p.Hearth, err = b.runHearth(ctx, what+", hearth", filepath.Join(b.root, fmt.Sprintf("hearth-%d", b.n))); err != nil {
		return p, err
	}
	fmt.Fprintf(os.Stderr, "%s: floor %.2fs (CPU %.2fs, %.0f MiB), hearth %.2fs (CPU %.2fs, %.0f MiB; cluster %.1fs, step %.1fs)\n",
		what, p.Floor.WallS, p.Floor.CPUS, p.Floor.PeakRSSMiB, p.Hearth.WallS, p.Hearth.CPUS, p.Hearth.PeakRSSMiB, p.Hearth.ClusterS, p.Hearth.StepS)
	return p, nil
}

// runFloor runs `spark-submit --master local[2] wordcount.py <text>` in
// dir. BENCH_RUN_DIR (inherited by the JVMs and Python workers) is how the
// /proc scan finds its processes.
func (b *bench) runFloor(ctx context.Context, what, dir string) (side, error) {
	cmd := exec.Command(filepath.Join(b.cfg.sparkHome, "bin", "spark-submit"), "--master", "local[2]", b.prog, b.text)
	cmd.Env = append(benchutil.CleanEnv(), "SPARK_HOME="+b.cfg.sparkHome, "BENCH_RUN_DIR="+dir)
	u, err := b.runOne(ctx, what, cmd, dir)
	return side{treeUsage: u}, err
}

// runHearth runs `hearth run wordcount.py <text>` in dir, as a new user
// does: no server, so it starts its own control plane (checked).
func (b *bench) runHearth(ctx context.Context, what, dir string) (side, error) {
	var s side
	endpoint, err := unusedEndpoint()
	if err != nil {
		return s, err
	}
	h := &benchutil.Hearth{Bin: b.bin, Home: filepath.Join(dir, "home"), SparkHome: b.cfg.sparkHome, Endpoint: endpoint,
		ExtraEnv: []string{"BENCH_RUN_DIR=" + dir}}
	cmd := exec.Command(b.bin, "run", b.prog, b.text)
	cmd.Env = h.Env()
	if s.treeUsage, err = b.runOne(ctx, what, cmd, dir); err != nil {
		return s, err
	}
	stderr, _ := os.ReadFile(filepath.Join(dir, "stderr"))
	_, logErr := os.Stat(filepath.Join(h.Home, "run-server.log"))
	if !strings.Contains(string(stderr), "running a control plane in this process") || logErr != nil {
		return s, fmt.Errorf("%s: hearth run did not start its own control plane (did a server answer at %s?): %s",
			what, endpoint, benchutil.TailFile(filepath.Join(dir, "stderr"), 1500))
	}
	var ok bool
	if s.ClusterS, s.StepS, ok = hearthPhases(string(stderr)); !ok {
		b.warn("%s: hearth run's stderr has no \"<cluster> is RUNNING after <n>s\" or \"hearth run: step ... after <n>s\" line: no phases", what)
	}
	return s, nil
}

// runOne runs cmd in dir (created) with its stdout and stderr in files
// there, checks that it exited 0 and left nothing behind, and checks its
// output (warnings); it returns what the run cost.
func (b *bench) runOne(ctx context.Context, what string, cmd *exec.Cmd, dir string) (treeUsage, error) {
	var u treeUsage
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return u, err
	}
	cmd.Dir = dir
	outPath, errPath := filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
	stdout, err := os.Create(outPath)
	if err != nil {
		return u, err
	}
	defer stdout.Close()
	stderr, err := os.Create(errPath)
	if err != nil {
		return u, err
	}
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr

	u, err = runTree(ctx, what, cmd, treeOptions{sample: b.cfg.sample, timeout: b.cfg.timeout, linger: b.cfg.linger})
	if err != nil {
		return u, fmt.Errorf("%s: %w (its output is in %s)", what, err, dir)
	}
	// Everything the run started has its directory in its command line or
	// environment (HEARTH_HOME, BENCH_RUN_DIR): nothing may still run.
	if left := benchutil.Referring(dir); len(left) > 0 {
		benchutil.Reap(dir, 10*time.Second)
		e := &leftoverError{what: what + ": after it, /proc shows processes that refer to " + dir}
		for _, l := range left {
			e.procs = append(e.procs, l.String())
		}
		return u, e
	}
	if u.SampledCPUS > u.CPUS*1.02+0.2 {
		b.warn("%s: its processes' CPU time sampled from /proc (%.2fs) exceeds the rusage of its tree (%.2fs): a process escaped the accounting",
			what, u.SampledCPUS, u.CPUS)
	}
	if u.ExitCode != 0 {
		return u, fmt.Errorf("%s exited with status %d; its stderr ends:\n%s", what, u.ExitCode, benchutil.TailFile(errPath, 3000))
	}
	out, err := os.ReadFile(outPath)
	if err != nil {
		return u, err
	}
	got, err := topList(string(out))
	switch {
	case err != nil:
		b.warn("%s: %v (stdout in %s)", what, err, outPath)
	case b.reference == "":
		b.reference = got
	case got != b.reference:
		b.warn("%s printed %.300s; the first run printed %.300s", what, got, b.reference)
	}
	return u, nil
}

// unusedEndpoint is the URL of a free loopback port that refuses
// connections, so that hearth run finds no server there.
func unusedEndpoint() (string, error) {
	for range 5 {
		ports, err := local.FreePorts(1)
		if err != nil {
			return "", err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return "http://" + addr, nil
		}
		c.Close()
	}
	return "", fmt.Errorf("no free loopback port that nobody listens on after 5 tries")
}

var (
	// waitWithProgress's last line: "j-... is RUNNING after 12.3s".
	clusterLine = regexp.MustCompile(`(?m)^j-\S+ is [A-Z_]+ after ([0-9.]+)s$`)
	// hearth run's: "hearth run: step s-... COMPLETED after 4.5s".
	stepLine = regexp.MustCompile(`(?m)^hearth run: step \S+ [A-Z_]+ after ([0-9.]+)s$`)
)

// hearthPhases reads the cluster's and the step's times from hearth run's
// stderr.
func hearthPhases(stderr string) (clusterS, stepS float64, ok bool) {
	c, s := clusterLine.FindStringSubmatch(stderr), stepLine.FindStringSubmatch(stderr)
	if c == nil || s == nil {
		return 0, 0, false
	}
	clusterS, _ = strconv.ParseFloat(c[1], 64)
	stepS, _ = strconv.ParseFloat(s[1], 64)
	return clusterS, stepS, true
}

// topList returns the last line of stdout that is a JSON list, if it is
// what wordcount.py prints: topN [word, count] pairs, most frequent first.
func topList(stdout string) (string, error) {
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "[") || !json.Valid([]byte(l)) {
			continue
		}
		var pairs [][]any
		if err := json.Unmarshal([]byte(l), &pairs); err != nil {
			return "", fmt.Errorf("the last JSON list on stdout is not a list of pairs: %.200s", l)
		}
		if len(pairs) != topN {
			return "", fmt.Errorf("the last JSON list on stdout has %d pairs, want %d: %.200s", len(pairs), topN, l)
		}
		prev := math.Inf(1)
		for _, p := range pairs {
			if len(p) != 2 {
				return "", fmt.Errorf("the last JSON list on stdout is not [word, count] pairs: %.200s", l)
			}
			w, wok := p[0].(string)
			n, nok := p[1].(float64)
			if !wok || !nok || w == "" || n < 1 || n > prev {
				return "", fmt.Errorf("the last JSON list on stdout is not [word, count] pairs, most frequent first: %.200s", l)
			}
			prev = n
		}
		return l, nil
	}
	return "", fmt.Errorf("no JSON list on stdout")
}

// genText writes a text of about size bytes (benchutil.GenText).
func (b *bench) genText(ctx context.Context, path string, size int64) (int, error) {
	return benchutil.GenText(ctx, b.cfg.gentext, path, size, b.cfg.timeout)
}

func fileSHA256(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
