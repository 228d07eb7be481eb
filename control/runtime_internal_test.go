package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/spark"
)

// slowInstall is an installFunc that reports progress, then waits for
// release before answering with dist or err.
type slowInstall struct {
	calls   atomic.Int32
	release chan struct{}
	err     error
}

func (f *slowInstall) install(ctx context.Context, version string, w io.Writer) (spark.Distribution, error) {
	f.calls.Add(1)
	fmt.Fprintf(w, "Downloading Spark %s from http://mirror/spark-%s.tgz\n", version, version)
	fmt.Fprintf(w, "  1.0 MiB of 4.0 MiB (25%%)\n")
	select {
	case <-f.release:
	case <-ctx.Done():
		return spark.Distribution{}, ctx.Err()
	}
	if f.err != nil {
		return spark.Distribution{}, f.err
	}
	return spark.Distribution{Home: "/opt/spark-" + version, Version: version}, nil
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRuntimesShareOneInstall(t *testing.T) {
	f := &slowInstall{release: make(chan struct{})}
	var wakes atomic.Int32
	r := newRuntimes(f.install, time.Now, func() { wakes.Add(1) })
	created := time.Now()

	st := r.get("3.5.5", created)
	if st.Ready || st.Err != nil {
		t.Fatalf("first ask: %+v, want an install under way", st)
	}
	waitFor(t, "progress", func() bool { return r.get("3.5.5", created).Progress != "" })
	st = r.get("3.5.5", created.Add(time.Second)) // a second cluster
	want := "Downloading Spark 3.5.5 from http://mirror/spark-3.5.5.tgz: 1.0 MiB of 4.0 MiB (25%)"
	if st.Progress != want {
		t.Errorf("progress = %q, want %q", st.Progress, want)
	}
	if r.dist("3.5.5").Home != "" {
		t.Errorf("home known before the install ended")
	}
	close(f.release)
	waitFor(t, "ready", func() bool { return r.get("3.5.5", created).Ready })
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d installs for two clusters of one version, want 1", n)
	}
	if got := r.dist("3.5.5").Home; got != "/opt/spark-3.5.5" {
		t.Errorf("home = %q", got)
	}
	if wakes.Load() == 0 {
		t.Errorf("the reconcile loop was never woken")
	}
}

func TestRuntimesFailureBelongsToWaitingClusters(t *testing.T) {
	f := &slowInstall{release: make(chan struct{}), err: errors.New("HTTP 500 Internal Server Error")}
	close(f.release)
	clock := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	r := newRuntimes(f.install, func() time.Time { return clock }, func() {})

	created := clock.Add(-time.Second)
	r.get("3.5.5", created)
	waitFor(t, "failure", func() bool { return r.get("3.5.5", created).Err != nil })
	if err := r.get("3.5.5", created).Err; !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("err = %v", err)
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("a waiting cluster retried the failed install: %d calls", n)
	}
	// A cluster created after the failure gets a fresh attempt.
	f.err = nil
	later := clock.Add(time.Minute)
	waitFor(t, "retry", func() bool { return r.get("3.5.5", later).Ready })
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d install calls, want 2", n)
	}
}

func TestRuntimesInstallEndsWithServer(t *testing.T) {
	f := &slowInstall{release: make(chan struct{})}
	r := newRuntimes(f.install, time.Now, func() {})
	ctx, cancel := context.WithCancel(context.Background())
	r.setContext(ctx)
	r.get("4.0.1", time.Now())
	cancel()
	waitFor(t, "cancelled install", func() bool { return r.get("4.0.1", time.Time{}).Err != nil })
}

func TestProgressLines(t *testing.T) {
	in := &install{}
	p := &progressLines{in: in, notify: func() {}}
	for _, chunk := range []string{"Apache archive: HTTP 404\nInstalling Spark 3.5.5 from ", "PyPI (pip install pyspark==3.5.5)\n", "  5s elapsed\n  10s", " elapsed\n"} {
		p.Write([]byte(chunk))
	}
	want := "Installing Spark 3.5.5 from PyPI (pip install pyspark==3.5.5): 10s elapsed"
	if got := in.progress(); got != want {
		t.Errorf("progress = %q, want %q", got, want)
	}
}

func TestLiveness(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	const reg, hb = 60 * time.Second, 30 * time.Second
	serverStart := t0.Add(-time.Hour)
	cases := []struct {
		name string
		node hearth.Node
		now  time.Duration
		dead string // substring of the reason, "" for alive
	}{
		{"created long ago, just launched, not registered yet",
			hearth.Node{State: hearth.NodeProvisioning, Launched: true, Timeline: hearth.NodeTimeline{CreationDateTime: at(-5 * time.Minute), LaunchDateTime: at(0)}},
			time.Second, ""},
		{"never registered",
			hearth.Node{State: hearth.NodeProvisioning, Launched: true, Timeline: hearth.NodeTimeline{LaunchDateTime: at(0)}},
			61 * time.Second, "did not register"},
		{"registered at once, then silent past the heartbeat timeout",
			hearth.Node{State: hearth.NodeRunning, Launched: true, LastHeartbeat: at(time.Second), Timeline: hearth.NodeTimeline{LaunchDateTime: at(0)}},
			32 * time.Second, "no heartbeat"},
		{"heard recently",
			hearth.Node{State: hearth.NodeRunning, Launched: true, LastHeartbeat: at(50 * time.Second), Timeline: hearth.NodeTimeline{LaunchDateTime: at(0)}},
			70 * time.Second, ""},
		{"launched by an older server: creation time stands in",
			hearth.Node{State: hearth.NodeBootstrapping, Launched: true, Timeline: hearth.NodeTimeline{CreationDateTime: at(0)}},
			31 * time.Second, "no heartbeat"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := liveness(&tc.node, t0.Add(tc.now), serverStart, reg, hb)
			if tc.dead == "" && got != "" || tc.dead != "" && !strings.Contains(got, tc.dead) {
				t.Errorf("liveness = %q, want %q", got, tc.dead)
			}
		})
	}
	// A restarted server gives every agent a fresh heartbeat window.
	n := hearth.Node{State: hearth.NodeRunning, Launched: true, LastHeartbeat: at(0), Timeline: hearth.NodeTimeline{LaunchDateTime: at(0)}}
	if got := liveness(&n, t0.Add(10*time.Minute), t0.Add(9*time.Minute+50*time.Second), reg, hb); got != "" {
		t.Errorf("just after a server restart: %q, want alive", got)
	}
}
