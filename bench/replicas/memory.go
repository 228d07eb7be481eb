package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
	"github.com/hearthcluster/hearth/internal/proc"
)

// procMemory is the memory of a set of processes. A sum of RSS counts the
// pages they share (PostgreSQL's shared buffers, its binary) once per
// process; PSS divides each shared page among its sharers, so PSS sums to
// what the set really occupies.
type procMemory struct {
	Procs int     `json:"processes"`
	RSSMB float64 `json:"rss_mb"`
	PSSMB float64 `json:"pss_mb"`
}

// postgresMemory is the memory of the PostgreSQL server whose data
// directory is data: the postmaster, its auxiliary processes and every
// backend.
func postgresMemory(data string) procMemory {
	var m procMemory
	for _, pid := range processesIn(data) {
		m.Procs++
		m.RSSMB += kBField("/proc/"+strconv.Itoa(pid)+"/status", "VmRSS:") / 1024
		m.PSSMB += kBField("/proc/"+strconv.Itoa(pid)+"/smaps_rollup", "Pss:") / 1024
	}
	m.RSSMB, m.PSSMB = benchutil.Round3(m.RSSMB), benchutil.Round3(m.PSSMB)
	return m
}

// selfRSSMB is this process's VmRSS in MB.
func selfRSSMB() float64 { return benchutil.Round3(kBField("/proc/self/status", "VmRSS:") / 1024) }

// kBField reads the "<field> <n> kB" line of a /proc file; 0 if missing.
func kBField(path, field string) float64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb
		}
	}
	return 0
}

// processesIn lists the live processes whose working directory is dir:
// every process of a PostgreSQL server works in its data directory (its
// backends are not in the postmaster's process group). Once the directory
// is removed, the kernel shows it with " (deleted)".
func processesIn(dir string) []int {
	if dir == "" {
		return nil
	}
	var out []int
	for _, pid := range proc.Pids() {
		if cwd, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd")); err == nil && (cwd == dir || cwd == dir+" (deleted)") && proc.Alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}
