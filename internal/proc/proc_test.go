package proc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

// start runs sh -c script in its own session (or only its own process
// group), reaped in the background, and returns its Ref once at least n
// processes are in it.
func start(t *testing.T, script string, setsid bool, n int) Ref {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	if setsid {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	pid := cmd.Process.Pid
	list := GroupMembers
	if setsid {
		list = SessionMembers
	}
	t.Cleanup(func() {
		for _, p := range list(pid) {
			syscall.Kill(p, syscall.SIGKILL)
		}
	})
	st, err := StartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		m := list(pid)
		if len(m) >= n && slices.Contains(m, pid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("members of %d: %v, want %d including the leader", pid, m, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return Ref{Pid: pid, StartTime: st}
}

func TestStopSession(t *testing.T) {
	leader := start(t, "sleep 60 & sleep 60", true, 2) // 3 unless sh execs the last sleep
	if !leader.Alive() {
		t.Fatal("leader not alive")
	}
	// SIGTERM ends the leader; the background sleep is SIGKILLed after grace.
	const grace = 300 * time.Millisecond
	began := time.Now()
	if err := StopSession(context.Background(), leader, grace); err != nil {
		t.Fatal(err)
	}
	if m := SessionMembers(leader.Pid); len(m) != 0 {
		t.Errorf("left in the session: %v", m)
	}
	if took := time.Since(began); took < grace || took > 5*time.Second {
		t.Errorf("took %v, want about %v", took, grace)
	}
	if leader.Alive() {
		t.Error("leader alive after StopSession")
	}
}

func TestStopSessionKillsWhatIgnoresSIGTERM(t *testing.T) {
	leader := start(t, `trap "" TERM; sleep 60 & sleep 60; sleep 60`, true, 3)
	const grace = time.Second
	done := make(chan error, 1)
	go func() { done <- StopSession(context.Background(), leader, grace) }()
	time.Sleep(grace / 2)
	if !leader.Alive() {
		t.Fatal("a leader that ignores SIGTERM stopped before the grace ended")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("StopSession did not return")
	}
	if leader.Alive() {
		t.Error("leader alive after SIGKILL")
	}
	if m := SessionMembers(leader.Pid); len(m) != 0 {
		t.Errorf("left in the session: %v", m)
	}
}

func TestStopSessionHonoursContext(t *testing.T) {
	leader := start(t, `trap "" TERM; sleep 60`, true, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := StopSession(ctx, leader, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's deadline", err)
	}
	if !leader.Alive() {
		t.Error("leader gone before the grace ended")
	}
}

func TestStopSessionReusedPid(t *testing.T) {
	// A session whose leader's pid now has another start time is over: the
	// process there now is not touched.
	other := start(t, "sleep 60", true, 1)
	stale := Ref{Pid: other.Pid, StartTime: other.StartTime + 1}
	if stale.Alive() {
		t.Fatal("a Ref with another start time is alive")
	}
	if err := StopSession(context.Background(), stale, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if !other.Alive() {
		t.Error("StopSession signalled the process that reused the pid")
	}
}

func TestStopGroup(t *testing.T) {
	leader := start(t, "sleep 60 & sleep 60", false, 2)
	if err := StopGroup(context.Background(), leader.Pid, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if m := GroupMembers(leader.Pid); len(m) != 0 {
		t.Errorf("left in the group: %v", m)
	}
}

func TestStartTime(t *testing.T) {
	self := os.Getpid()
	st, err := StartTime(self)
	if err != nil || st == 0 {
		t.Fatalf("StartTime(self) = %d, %v", st, err)
	}
	if !(Ref{Pid: self, StartTime: st}).Alive() || !Alive(self) {
		t.Error("this process is not alive")
	}
	if _, err := StartTime(1 << 30); err == nil { // above any pid_max
		t.Error("StartTime of a pid that cannot exist: no error")
	}
	if Alive(1 << 30) {
		t.Error("Alive of a pid that cannot exist")
	}
}

func TestStartTimeOfZombie(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	pid := cmd.Process.Pid
	deadline := time.Now().Add(5 * time.Second)
	for Alive(pid) { // not waited for: it becomes a zombie
		if time.Now().After(deadline) {
			t.Fatal("true did not exit")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := Stat(pid); err != nil {
		t.Fatalf("the zombie has no stat: %v", err)
	}
	if _, err := StartTime(pid); err == nil {
		t.Error("StartTime of a zombie: no error")
	}
}
