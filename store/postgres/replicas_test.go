package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

// TestLead: one replica leads; another waits until the leader's store
// closes, or its session is killed (its lost channel then closes too).
func TestLead(t *testing.T) {
	url := database(t)
	first, second := open(t, url), open(t, url)
	lost, err := first.Lead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	var lost2 <-chan struct{}
	go func() {
		var err error
		lost2, err = second.Lead(t.Context())
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("second Lead returned (%v) while the first leads", err)
	case <-time.After(2500 * time.Millisecond):
	}
	first.Close()
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the first store closed, and its lost channel did not")
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("second Lead: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second store did not lead within 5s of the first closing")
	}

	// The database ends the leader's session (a lost connection looks
	// the same): the leader learns it, and a third store can lead.
	admin := testServer(t)
	if _, err := admin.Admin().Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost2:
	case <-time.After(10 * time.Second):
		t.Fatal("the leader's session was killed, and its lost channel did not close")
	}
	third := open(t, url)
	if _, err := third.Lead(t.Context()); err != nil {
		t.Fatalf("Lead after the leader's session ended: %v", err)
	}

	// A follower waiting for the lock stops waiting when its context ends.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := open(t, url).Lead(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lead with a context that ended while another leads: %v; want the context's error", err)
	}
}

// TestPublish: a topic published by one store reaches another's
// subscriber.
func TestPublish(t *testing.T) {
	url := database(t)
	pub, sub := open(t, url), open(t, url)
	topics := make(chan string, 10)
	go sub.Subscribe(t.Context(), func(topic string) { topics <- topic })
	deadline := time.After(10 * time.Second)
	for {
		// The subscriber may not listen yet: publish until it hears.
		if err := pub.Publish(t.Context(), "changes"); err != nil {
			t.Fatal(err)
		}
		select {
		case topic := <-topics:
			if topic != "changes" {
				t.Fatalf("heard %q, want changes", topic)
			}
			return
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("nothing heard in 10s")
		}
	}
}

// TestLockCluster: a cluster's lock excludes holders in two stores;
// other clusters' locks are free.
func TestLockCluster(t *testing.T) {
	url := database(t)
	a, b := open(t, url), open(t, url)
	unlock, err := a.LockCluster(t.Context(), "j-1")
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.LockCluster(t.Context(), "j-2")
	if err != nil {
		t.Fatal(err)
	}
	other()
	var mu sync.Mutex
	var order []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		u, err := b.LockCluster(t.Context(), "j-1")
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		order = append(order, "b")
		mu.Unlock()
		u()
	}()
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	order = append(order, "a")
	mu.Unlock()
	unlock()
	unlock() // twice is harmless
	<-done
	if fmt.Sprint(order) != "[a b]" {
		t.Errorf("order = %v, want [a b]: b took j-1 while a held it", order)
	}
}

// TestStepLogs: appends skip what is held, refuse gaps, and reads span
// chunks.
func TestStepLogs(t *testing.T) {
	s := open(t, database(t))
	ctx := t.Context()
	var held int64
	appendLog := func(offset int64, data string, want int64) {
		t.Helper()
		size, grew, err := s.AppendStepLog(ctx, "j-1", "s-1", "stdout", offset, []byte(data))
		if err != nil || size != want || grew != (want > held) {
			t.Fatalf("AppendStepLog(%d, %q) = %d, grew %v, %v; want %d", offset, data, size, grew, err, want)
		}
		held = size
	}
	appendLog(0, "hello ", 6)
	appendLog(3, "lo world", 11) // resent in part
	appendLog(20, "gap", 11)     // past the end: not stored
	appendLog(11, "\n", 12)
	appendLog(0, "hello", 12) // all held already
	if _, _, err := s.AppendStepLog(ctx, "j-1", "s-1", "stderr", 0, []byte("other stream")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		offset, limit int64
		want          string
	}{{0, 100, "hello world\n"}, {4, 4, "o wo"}, {7, 100, "orld\n"}, {12, 100, ""}, {50, 10, ""}} {
		got, err := s.ReadStepLog(ctx, "j-1", "s-1", "stdout", tc.offset, tc.limit)
		if err != nil || !bytes.Equal(got, []byte(tc.want)) {
			t.Errorf("ReadStepLog(%d, %d) = %q, %v; want %q", tc.offset, tc.limit, got, err, tc.want)
		}
	}
}

// TestSessions: a session stored by one store is read by another, keeps a
// flash once, and ends on delete or expiry.
func TestSessions(t *testing.T) {
	url := database(t)
	a, b := open(t, url), open(t, url)
	ctx := t.Context()
	in := &hearth.Session{Key: "k1", Who: "AKIA1", AccessKey: "AKIA1", CSRF: "c", Expires: time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)}
	if err := a.PutSession(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := b.Session(ctx, "k1")
	if err != nil || got.Who != in.Who || got.AccessKey != in.AccessKey || got.CSRF != in.CSRF || !got.Expires.Equal(in.Expires) {
		t.Fatalf("Session = %+v, %v; want %+v", got, err, in)
	}
	if err := a.SetSessionFlash(ctx, "k1", "Cluster created"); err != nil {
		t.Fatal(err)
	}
	if f, err := b.TakeSessionFlash(ctx, "k1"); err != nil || f != "Cluster created" {
		t.Errorf("TakeSessionFlash = %q, %v", f, err)
	}
	if f, err := b.TakeSessionFlash(ctx, "k1"); err != nil || f != "" {
		t.Errorf("second TakeSessionFlash = %q, %v; want it taken", f, err)
	}
	if err := a.PutSession(ctx, &hearth.Session{Key: "old", Who: "admin", Expires: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Session(ctx, "old"); !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("expired Session: %v, want ErrNotFound", err)
	}
	if err := b.DeleteSession(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, "k1"); !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("deleted Session: %v, want ErrNotFound", err)
	}
}

// TestReplicasAndShared: replicas are listed leader first while seen;
// a shared setting's digest is fixed by the first replica.
func TestReplicasAndShared(t *testing.T) {
	s := open(t, database(t))
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, r := range []*hearth.Replica{
		{Id: "r-a", URL: "http://127.0.0.1:1", Started: now.Add(-time.Minute), Seen: now},
		{Id: "r-b", URL: "http://127.0.0.1:2", AgentURL: "https://10.0.0.2:8443", Started: now, Seen: now, Leading: true},
		{Id: "r-gone", URL: "http://127.0.0.1:3", Started: now.Add(-time.Hour), Seen: now.Add(-time.Minute)},
	} {
		if err := s.PutReplica(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := s.Replicas(ctx, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.Id)
	}
	if fmt.Sprint(ids) != "[r-b r-a]" || rs[0].AgentURL != "https://10.0.0.2:8443" {
		t.Errorf("Replicas = %v (%+v), want [r-b r-a], the leader first", ids, rs)
	}
	// A new leader clears the flag of one that died leading.
	if err := s.PutReplica(ctx, &hearth.Replica{Id: "r-a", URL: "http://127.0.0.1:1", Started: now.Add(-time.Minute), Seen: now, Leading: true}); err != nil {
		t.Fatal(err)
	}
	if rs, err = s.Replicas(ctx, 15*time.Second); err != nil || !rs[0].Leading || rs[0].Id != "r-a" || rs[1].Leading {
		t.Errorf("after r-a leads: %+v, %v; want r-a alone leading", rs, err)
	}
	if err := s.CheckShared(ctx, "master.key", "d1"); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckShared(ctx, "master.key", "d1"); err != nil {
		t.Errorf("the same digest again: %v", err)
	}
	if err := s.CheckShared(ctx, "master.key", "d2"); !errors.Is(err, hearth.ErrConflict) {
		t.Errorf("another digest: %v, want ErrConflict", err)
	}
}

// TestMetrics: samples of nodes and of their cluster come back in time
// order; old ones are dropped per series, and a cluster's all at once.
func TestMetrics(t *testing.T) {
	s := open(t, database(t))
	ctx := t.Context()
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	add := func(node string, at time.Time) {
		t.Helper()
		m := &hearth.MetricsSample{ClusterId: "j-1", NodeId: node}
		if node == "" {
			m.Cluster = &hearth.ClusterMetrics{Time: at, AliveWorkers: 2}
		} else {
			m.Node = &hearth.NodeMetrics{Time: at, HostCPUPercent: 50}
		}
		if err := s.AddMetrics(ctx, m, at.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	add("i-1", t0)
	add("", t0.Add(time.Second))
	add("i-1", t0.Add(2*time.Minute)) // drops i-1's first
	add("i-2", t0.Add(3*time.Minute))
	got, err := s.Metrics(ctx, "j-1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, m := range got {
		seen = append(seen, fmt.Sprintf("%s@%s", m.NodeId, m.Time().Sub(t0)))
	}
	if fmt.Sprint(seen) != "[@1s i-1@2m0s i-2@3m0s]" || got[0].Cluster.AliveWorkers != 2 || got[1].Node.HostCPUPercent != 50 {
		t.Errorf("Metrics = %v, want the cluster's, then i-1's newest, then i-2's", seen)
	}
	if got, _ := s.Metrics(ctx, "j-1", t0.Add(150*time.Second)); len(got) != 1 {
		t.Errorf("Metrics since 2m30s: %d samples, want 1", len(got))
	}
	if err := s.DeleteMetrics(ctx, "j-1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Metrics(ctx, "j-1", time.Time{}); len(got) != 0 {
		t.Errorf("after DeleteMetrics: %d samples", len(got))
	}
}
