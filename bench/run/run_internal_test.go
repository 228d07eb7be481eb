package main

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	line := "4242 (java (a) b) S 17 4242 4242 0 -1 4194560 1 0 0 0 250 31 7 3 20 0 40 0 123456 4000000000 5120 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	st, ok := parseStat([]byte(line))
	if !ok {
		t.Fatal("not parsed")
	}
	want := procStat{state: 'S', ppid: 17, utime: 250, stime: 31, cutime: 7, cstime: 3, start: 123456, rss: 5120}
	if st != want {
		t.Errorf("got %+v, want %+v", st, want)
	}
	if _, ok := parseStat([]byte("4242 (java")); ok {
		t.Error("a truncated line parsed")
	}
}

func TestTopList(t *testing.T) {
	good := `[["the", 9]` + strings.Repeat(`, ["a", 1]`, topN-1) + `]`
	for _, tc := range []struct {
		name, stdout string
		ok           bool
	}{
		{"last JSON list, after other lines", "hello\n[1]\n" + good + "\n", true},
		{"no list", "nothing\n", false},
		{"too short", `[["the", 2], ["a", 1]]`, false},
		{"not pairs", "[" + strings.TrimSuffix(strings.Repeat(`"x", `, topN), ", ") + "]", false},
		{"counts increase", `[["a", 1], ["b", 2]` + strings.Repeat(`, ["c", 1]`, topN-2) + `]`, false},
		{"empty pair", `[[]` + strings.Repeat(`, ["a", 1]`, topN-1) + `]`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := topList(tc.stdout)
			if (err == nil) != tc.ok {
				t.Fatalf("topList: %q, %v; want ok %v", got, err, tc.ok)
			}
			if tc.ok && got != good {
				t.Errorf("got %q, want %q", got, good)
			}
		})
	}
}

func TestHearthPhases(t *testing.T) {
	stderr := "hearth run: no server at http://127.0.0.1:1; running a control plane in this process (log: x)\n" +
		"hearth run: cluster j-ABC (1 local.medium node running the master and a worker; --instance-count N for more)\n" +
		"[  0.0s] j-ABC STARTING: \n" +
		"j-ABC is RUNNING after 7.4s\n" +
		"hearth run: step s-XYZ COMPLETED after 12.5s\n"
	c, s, ok := hearthPhases(stderr)
	if !ok || c != 7.4 || s != 12.5 {
		t.Errorf("hearthPhases = %v, %v, %v; want 7.4, 12.5, true", c, s, ok)
	}
	if _, _, ok := hearthPhases("j-ABC is RUNNING after 7.4s\n"); ok {
		t.Error("ok without a step line")
	}
}

// TestRunTree checks the accounting on real processes: an orphan's CPU
// time is counted, a tree that outlives its command is a leftover and is
// killed, and the exit status is the command's.
func TestRunTree(t *testing.T) {
	if err := becomeSubreaper(); err != nil {
		t.Fatal(err)
	}
	o := treeOptions{sample: 20 * time.Millisecond, timeout: time.Minute, linger: 5 * time.Second}
	ctx := context.Background()

	// sh exits at once; its background subshell, an orphan, busy-loops
	// for 0.5s under timeout(1).
	orphan := `(timeout 0.5 sh -c 'while :; do :; done'; true) & exit 0`
	u, err := runTree(ctx, "orphan", exec.Command("sh", "-c", orphan), o)
	if err != nil {
		t.Fatal(err)
	}
	if u.ExitCode != 0 || u.TreeS < u.WallS+0.3 {
		t.Errorf("exit %d, wall %.3fs, tree %.3fs; want 0, and the tree to outlive the command by the orphan's 0.5s", u.ExitCode, u.WallS, u.TreeS)
	}
	t.Logf("orphan: %+v", u)
	if u.CPUS < 0.1 {
		t.Errorf("CPU %.3fs: the orphan's busy loop is not counted", u.CPUS)
	}
	if u.SampledCPUS > u.CPUS+0.05 || u.Processes < 3 || u.PeakRSSMiB <= 0 {
		t.Errorf("sampled CPU %.3fs (rusage %.3fs), %d processes, peak RSS %.2f MiB", u.SampledCPUS, u.CPUS, u.Processes, u.PeakRSSMiB)
	}

	// A parent that ignores SIGCHLD, as pyspark's daemon does: the kernel
	// reaps its child, whose 0.5s busy loop no rusage has; the samples
	// do.
	ignorer := `import signal, subprocess, sys, time
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 0.5: pass"])
time.sleep(1)`
	u, err = runTree(ctx, "ignorer", exec.Command("python3", "-c", ignorer), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ignorer: %+v", u)
	if u.Autoreaped != 1 || u.AutoreapedS < 0.1 || u.CPUS < u.AutoreapedS+0.01 {
		t.Errorf("%d autoreaped process(es), %.3fs of %.3fs CPU; want 1, its busy loop counted", u.Autoreaped, u.AutoreapedS, u.CPUS)
	}

	o.linger = 200 * time.Millisecond
	start := time.Now()
	_, err = runTree(ctx, "leaver", exec.Command("sh", "-c", "sleep 30 & exit 0"), o)
	var left *leftoverError
	if !errors.As(err, &left) || len(left.procs) != 1 || !strings.Contains(left.procs[0], "sleep 30") {
		t.Errorf("err %v, want a leftover error naming sleep 30", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the leftover was stopped after %s", d)
	}
	if live := newSampler().sample(); len(live) != 0 {
		t.Errorf("processes left: %v", live)
	}

	u, err = runTree(ctx, "exit 3", exec.Command("sh", "-c", "exit 3"), o)
	if err != nil || u.ExitCode != 3 {
		t.Errorf("exit code %d, %v; want 3", u.ExitCode, err)
	}
}
