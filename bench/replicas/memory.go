package main

import (
	"strconv"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
	"github.com/hearthcluster/hearth/internal/pgtest"
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
	for _, pid := range pgtest.ProcessesIn(data) {
		m.Procs++
		m.RSSMB += benchutil.KBField("/proc/"+strconv.Itoa(pid)+"/status", "VmRSS:") / 1024
		m.PSSMB += benchutil.KBField("/proc/"+strconv.Itoa(pid)+"/smaps_rollup", "Pss:") / 1024
	}
	m.RSSMB, m.PSSMB = benchutil.Round3(m.RSSMB), benchutil.Round3(m.PSSMB)
	return m
}

// selfRSSMB is this process's VmRSS in MB.
func selfRSSMB() float64 {
	return benchutil.Round3(benchutil.KBField("/proc/self/status", "VmRSS:") / 1024)
}
