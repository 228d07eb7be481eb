// Package proc reads processes from /proc and stops process groups and
// sessions: what the local provisioner, the agent, the class-data training
// and the benchmarks share.
package proc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Stat returns the fields of /proc/<pid>/stat after the command name: index
// 0 is field 3 (the state), index 1 field 4 (ppid), index 2 field 5 (pgrp),
// index 3 field 6 (session), index 19 field 22 (starttime).
func Stat(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')') // the command name may contain ')'
	if i < 0 {
		return nil, fmt.Errorf("pid %d: malformed stat", pid)
	}
	return strings.Fields(string(b[i+1:])), nil
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	f, err := Stat(pid)
	return err == nil && len(f) > 0 && f[0] != "Z"
}

// StartTime is pid's start time (field 22 of its stat, clock ticks after
// boot). It is an error if pid does not exist or is a zombie.
func StartTime(pid int) (uint64, error) {
	f, err := Stat(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 20 || f[0] == "Z" {
		return 0, fmt.Errorf("pid %d: not running", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// Ref identifies a process safely against pid reuse: a pid and the start
// time it had.
type Ref struct {
	Pid       int
	StartTime uint64
}

// Alive reports whether r's process is still running (not a zombie, and its
// pid has not been reused).
func (r Ref) Alive() bool {
	st, err := StartTime(r.Pid)
	return err == nil && st == r.StartTime
}

// Pids lists the pids in /proc.
func Pids() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// members lists the live (non-zombie) processes whose stat field index
// field is id.
func members(field, id int) []int {
	var out []int
	for _, pid := range Pids() {
		f, err := Stat(pid)
		if err != nil || len(f) <= field || f[0] == "Z" {
			continue
		}
		if n, _ := strconv.Atoi(f[field]); n == id {
			out = append(out, pid)
		}
	}
	return out
}

// SessionMembers lists the live (non-zombie) processes of session sid.
func SessionMembers(sid int) []int { return members(3, sid) }

// KillSession kills every process of session sid at once, as a machine's
// sudden death would: all are stopped first, so none reacts to another's
// death, then killed. It returns the pids it killed.
func KillSession(sid int) []int {
	pids := SessionMembers(sid)
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGSTOP)
	}
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGKILL)
	}
	return pids
}

// GroupMembers lists the live (non-zombie) processes of process group pgid.
func GroupMembers(pgid int) []int { return members(2, pgid) }

// SignalGroup sends sig to every process of process group pgid.
func SignalGroup(pgid int, sig syscall.Signal) error {
	return syscall.Kill(-pgid, sig)
}

// SurvivorsError is what StopSession and StopGroup return when processes
// are still there 10 s after they were sent SIGKILL.
type SurvivorsError struct {
	Pgid int   // the process group, for StopGroup; 0 for StopSession
	Pids []int // the survivors
}

func (e *SurvivorsError) Error() string {
	if e.Pgid != 0 {
		return fmt.Sprintf("process group %d survives SIGKILL: %v", e.Pgid, e.Pids)
	}
	return fmt.Sprintf("processes %v survive SIGKILL", e.Pids)
}

// pollInterval is how often the stop loops look at /proc.
const pollInterval = 100 * time.Millisecond

// StopSession stops the session whose leader is leader: SIGTERM to the
// leader (if it is still that process), then it waits until no process of
// the session is left, sending SIGKILL to every one left once grace has
// passed. It returns nil when none is left, a *SurvivorsError when some are
// still there 10 s after grace, or ctx's error.
//
// If leader's pid now names another process, the session is over (the
// kernel does not reuse a pid while it is still a session's id) and
// StopSession returns nil without signalling anything.
func StopSession(ctx context.Context, leader Ref, grace time.Duration) error {
	if leader.Pid <= 0 {
		return fmt.Errorf("stop session: bad pid %d", leader.Pid)
	}
	if st, err := StartTime(leader.Pid); err == nil {
		if st == leader.StartTime {
			syscall.Kill(leader.Pid, syscall.SIGTERM)
		} else if leader.StartTime != 0 {
			return nil // the pid was reused
		}
	}
	return stop(ctx, grace,
		func() []int { return SessionMembers(leader.Pid) },
		func(left []int) {
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		},
		func(left []int) error { return &SurvivorsError{Pids: left} })
}

// StopGroup stops process group pgid: SIGTERM to the group, then it waits
// until no process of the group is left, sending SIGKILL to the group once
// grace has passed. It returns nil when none is left, a *SurvivorsError
// when some are still there 10 s after grace, or ctx's error. A group
// leader that is a zombie counts as gone: its parent still has to wait for
// it.
func StopGroup(ctx context.Context, pgid int, grace time.Duration) error {
	if pgid <= 0 {
		return fmt.Errorf("stop process group: bad pgid %d", pgid)
	}
	SignalGroup(pgid, syscall.SIGTERM)
	return stop(ctx, grace,
		func() []int { return GroupMembers(pgid) },
		func([]int) { SignalGroup(pgid, syscall.SIGKILL) },
		func(left []int) error { return &SurvivorsError{Pgid: pgid, Pids: left} })
}

// stop polls members until none is left, calls kill with those left on
// every poll after grace, and gives up with survivors 10 s after grace.
func stop(ctx context.Context, grace time.Duration, members func() []int, kill func([]int), survivors func([]int) error) error {
	deadline := time.Now().Add(grace)
	for {
		left := members()
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			kill(left)
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			return survivors(left)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}
