package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

// newSteps returns n PENDING steps of c, each carrying every member the
// store keeps, but for Seq, which the store assigns.
func newSteps(t *testing.T, c *hearth.Cluster, n int) []*hearth.Step {
	t.Helper()
	var steps []*hearth.Step
	for i := range n {
		st, err := hearth.NewStep(c, hearth.StepConfig{
			Name: fmt.Sprintf("s%d", i),
			HadoopJarStep: hearth.HadoopJarStepConfig{
				Jar:        "app.jar",
				MainClass:  "org.example.App",
				Args:       []string{"--input", fmt.Sprintf("s3://bucket/in/%d", i)},
				Properties: []hearth.KeyValue{{Key: "spark.executor.memory", Value: "1g"}},
			},
		}, i, epoch)
		if err != nil {
			t.Fatal(err)
		}
		st.CancelOption = "SEND_INTERRUPT"
		checkFilled(t, "step", st, "Seq")
		steps = append(steps, st)
	}
	return steps
}

func mustAddSteps(t *testing.T, s hearth.Store, clusterID string, steps []*hearth.Step) {
	t.Helper()
	if err := s.AddSteps(t.Context(), clusterID, steps, nil); err != nil {
		t.Fatalf("AddSteps to %s: %v", clusterID, err)
	}
}

func stepIDs(steps []*hearth.Step) []string {
	var ids []string
	for _, st := range steps {
		ids = append(ids, st.Id)
	}
	return ids
}

// checkStep compares the JSON document and the members JSON leaves out.
func checkStep(t *testing.T, got, want *hearth.Step) {
	t.Helper()
	if got == nil {
		t.Fatalf("step %s: got nil", want.Id)
	}
	if d := sameJSON(got, want); d != "" {
		t.Errorf("step %s differs:\n%s", want.Id, d)
	}
	checkHidden(t, "step "+want.Id, got, want)
}

// checkSteps checks that got holds the steps of want in that order, with
// increasing Seq numbers, each equal to its want but for Seq (which the
// store assigns).
func checkSteps(t *testing.T, got, want []*hearth.Step) {
	t.Helper()
	if g, w := stepIDs(got), stepIDs(want); !slices.Equal(g, w) {
		t.Fatalf("steps = %v, want %v", g, w)
	}
	for i := range want {
		if i > 0 && got[i].Seq <= got[i-1].Seq {
			t.Errorf("step %s has Seq %d after %s's %d: Seq must increase in queue order", got[i].Id, got[i].Seq, got[i-1].Id, got[i-1].Seq)
		}
		w := *want[i]
		w.Seq = got[i].Seq
		checkStep(t, got[i], &w)
	}
}

func mustSteps(t *testing.T, s hearth.Store, clusterID string, states ...hearth.StepState) []*hearth.Step {
	t.Helper()
	got, err := s.Steps(t.Context(), clusterID, states...)
	if err != nil {
		t.Fatalf("Steps(%s, %v): %v", clusterID, states, err)
	}
	return got
}

func setStepState(t *testing.T, s hearth.Store, clusterID, stepID string, state hearth.StepState) {
	t.Helper()
	if _, err := s.UpdateStep(t.Context(), clusterID, stepID, func(st *hearth.Step) error {
		st.SetState(state, "", epoch)
		return nil
	}); err != nil {
		t.Fatalf("UpdateStep %s to %s: %v", stepID, state, err)
	}
}

// testCreateClusterWithSteps: the first steps come with the cluster, in
// the order given.
func testCreateClusterWithSteps(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "with steps", epoch)
	steps := newSteps(t, c, 3)
	if err := s.CreateCluster(t.Context(), c, nodes, steps); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	got := mustSteps(t, s, c.Id)
	checkSteps(t, got, steps)
	// More steps queue behind them.
	more := newSteps(t, c, 2)
	mustAddSteps(t, s, c.Id, more)
	checkSteps(t, mustSteps(t, s, c.Id), append(steps, more...))
}

// testAddStepsSeq: steps queue in the order given, batch after batch, and
// another cluster's steps in between change nothing; Step returns what
// Steps lists.
func testAddStepsSeq(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	c, nodes := newCluster(t, "queue", epoch)
	mustCreate(t, s, c, nodes)
	other, otherNodes := newCluster(t, "other", epoch)
	mustCreate(t, s, other, otherNodes)

	first := newSteps(t, c, 3)
	mustAddSteps(t, s, c.Id, first)
	otherSteps := newSteps(t, other, 2)
	mustAddSteps(t, s, other.Id, otherSteps)
	second := newSteps(t, c, 2)
	mustAddSteps(t, s, c.Id, second)
	single := newSteps(t, c, 1)
	mustAddSteps(t, s, c.Id, single)

	got := mustSteps(t, s, c.Id)
	checkSteps(t, got, slices.Concat(first, second, single))
	checkSteps(t, mustSteps(t, s, other.Id), otherSteps)
	for _, g := range got {
		one, err := s.Step(ctx, c.Id, g.Id)
		if err != nil {
			t.Fatalf("Step %s: %v", g.Id, err)
		}
		checkStep(t, one, g)
	}
	// An empty batch adds nothing.
	if err := s.AddSteps(ctx, c.Id, nil, nil); err != nil {
		t.Errorf("AddSteps of no steps: %v", err)
	}
	if n := len(mustSteps(t, s, c.Id)); n != len(got) {
		t.Errorf("after an empty AddSteps: %d steps, want %d", n, len(got))
	}
}

// testAddStepsCheck: check sees the cluster as stored, and an error from
// it stores nothing and comes back.
func testAddStepsCheck(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	c, nodes := newCluster(t, "checked", epoch)
	mustCreate(t, s, c, nodes)
	if _, err := s.UpdateCluster(ctx, c.Id, func(c *hearth.Cluster) error { c.Name = "renamed"; return nil }); err != nil {
		t.Fatalf("UpdateCluster: %v", err)
	}

	errRefused := errors.New("refused by check")
	var seen *hearth.Cluster
	err := s.AddSteps(ctx, c.Id, newSteps(t, c, 3), func(got *hearth.Cluster) error {
		seen = got
		return errRefused
	})
	if !errors.Is(err, errRefused) {
		t.Fatalf("AddSteps with a refusing check = %v, want the check's error", err)
	}
	if seen == nil || seen.Id != c.Id || seen.Name != "renamed" {
		t.Errorf("check saw %+v, want cluster %s as stored (Name renamed)", seen, c.Id)
	}
	if got := mustSteps(t, s, c.Id); len(got) != 0 {
		t.Errorf("a refused AddSteps stored %d steps", len(got))
	}

	calls := 0
	steps := newSteps(t, c, 3)
	if err := s.AddSteps(ctx, c.Id, steps, func(*hearth.Cluster) error { calls++; return nil }); err != nil {
		t.Fatalf("AddSteps with a passing check: %v", err)
	}
	if calls != 1 {
		t.Errorf("check called %d times, want once", calls)
	}
	checkSteps(t, mustSteps(t, s, c.Id), steps)
}

func testAddStepsMissingCluster(t *testing.T, s hearth.Store) {
	c, _ := newCluster(t, "never stored", epoch)
	called := false
	err := s.AddSteps(t.Context(), c.Id, newSteps(t, c, 2), func(*hearth.Cluster) error { called = true; return nil })
	if !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("AddSteps to a missing cluster = %v, want an error wrapping ErrNotFound", err)
	}
	if called {
		t.Error("AddSteps to a missing cluster called check")
	}
	if got, _ := s.Steps(t.Context(), c.Id); len(got) != 0 {
		t.Errorf("AddSteps to a missing cluster stored %d steps", len(got))
	}
}

// testAddStepsActiveLimit: AddSteps refuses, atomically, steps that would
// leave a cluster more than MaxActiveSteps PENDING or RUNNING; ended steps
// do not count.
func testAddStepsActiveLimit(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "steps", epoch)
	mustCreate(t, s, c, nodes)
	ctx := t.Context()
	if err := s.AddSteps(ctx, c.Id, newSteps(t, c, hearth.MaxActiveSteps-1), nil); err != nil {
		t.Fatalf("AddSteps up to the limit: %v", err)
	}
	stored := mustSteps(t, s, c.Id)
	// One RUNNING and one CANCEL_PENDING still count.
	setStepState(t, s, c.Id, stored[0].Id, hearth.StepRunning)
	setStepState(t, s, c.Id, stored[1].Id, hearth.StepCancelPending)
	err := s.AddSteps(ctx, c.Id, newSteps(t, c, 2), nil)
	var ve *hearth.ValidationError
	if !errors.As(err, &ve) || ve.Field != "steps" || !errors.Is(err, hearth.ErrInvalid) {
		t.Fatalf("AddSteps past the limit = %v, want a validation error on steps", err)
	}
	if got := mustSteps(t, s, c.Id); len(got) != hearth.MaxActiveSteps-1 {
		t.Errorf("a refused AddSteps stored steps: %d, want %d", len(got), hearth.MaxActiveSteps-1)
	}
	if err := s.AddSteps(ctx, c.Id, newSteps(t, c, 1), nil); err != nil {
		t.Fatalf("AddSteps of the last one: %v", err)
	}
	// An ended step frees its place.
	setStepState(t, s, c.Id, stored[0].Id, hearth.StepCompleted)
	if err := s.AddSteps(ctx, c.Id, newSteps(t, c, 1), nil); err != nil {
		t.Errorf("AddSteps after a step ended: %v", err)
	}
	if err := s.AddSteps(ctx, c.Id, newSteps(t, c, 1), nil); err == nil {
		t.Errorf("AddSteps past the limit again succeeded")
	}
	// The limit is per cluster.
	other, otherNodes := newCluster(t, "other", epoch)
	mustCreate(t, s, other, otherNodes)
	if err := s.AddSteps(ctx, other.Id, newSteps(t, other, 3), nil); err != nil {
		t.Errorf("AddSteps to another cluster: %v", err)
	}
}

// testConcurrentAddSteps: batches added from many goroutines at once are
// each stored whole, in order and one after the other (never interleaved),
// and the active-steps limit holds across all of them, so it must be
// counted inside the transaction; cluster updates racing with them are
// not lost either.
func testConcurrentAddSteps(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	c, nodes := newCluster(t, "busy", epoch)
	mustCreate(t, s, c, nodes)

	const adders, batch, updaters = 12, 30, 4 // 12×30 = 360 steps > MaxActiveSteps
	batches := make([][]*hearth.Step, adders)
	for i := range batches {
		batches[i] = newSteps(t, c, batch)
	}
	var mu sync.Mutex
	added := map[int]bool{}
	refused := 0
	contend(t, adders+updaters, 1, func(w, _ int) error {
		if w >= adders {
			_, err := s.UpdateCluster(ctx, c.Id, func(c *hearth.Cluster) error {
				c.Tags = append(c.Tags, hearth.Tag{Key: fmt.Sprintf("updater-%d", w), Value: "x"})
				return nil
			})
			return err
		}
		err := s.AddSteps(ctx, c.Id, batches[w], func(*hearth.Cluster) error { return nil })
		var ve *hearth.ValidationError
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			added[w] = true
		case errors.As(err, &ve) && ve.Field == "steps":
			refused++
		default:
			return fmt.Errorf("AddSteps: %w", err)
		}
		return nil
	})

	if want := hearth.MaxActiveSteps / batch; len(added) != want || refused != adders-want {
		t.Errorf("%d batches of %d added and %d refused, want %d added and %d refused (at most %d active steps)",
			len(added), batch, refused, want, adders-want, hearth.MaxActiveSteps)
	}
	got := mustSteps(t, s, c.Id)
	if len(got) != len(added)*batch {
		t.Fatalf("%d steps stored, want %d (%d whole batches)", len(got), len(added)*batch, len(added))
	}
	pos := map[string]int{}
	for i, st := range got {
		if i > 0 && st.Seq <= got[i-1].Seq {
			t.Errorf("step %s has Seq %d after %s's %d", st.Id, st.Seq, got[i-1].Id, got[i-1].Seq)
		}
		pos[st.Id] = i
	}
	for w, b := range batches {
		first, stored := pos[b[0].Id]
		if stored != added[w] {
			t.Errorf("batch %d: stored = %v, but AddSteps said added = %v", w, stored, added[w])
			continue
		}
		for i, st := range b {
			p, ok := pos[st.Id]
			if ok != stored || (ok && p != first+i) {
				t.Errorf("batch %d step %d (%s) at position %d (stored %v), want %d: a batch must be stored whole and in order", w, i, st.Id, p, ok, first+i)
				break
			}
		}
	}

	cl, err := s.Cluster(ctx, c.Id)
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	for w := adders; w < adders+updaters; w++ {
		key := fmt.Sprintf("updater-%d", w)
		if !slices.ContainsFunc(cl.Tags, func(tag hearth.Tag) bool { return tag.Key == key }) {
			t.Errorf("cluster update %s lost", key)
		}
	}
}

func testStepsFilterAndOrder(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "filtered", epoch)
	mustCreate(t, s, c, nodes)
	steps := newSteps(t, c, 6)
	mustAddSteps(t, s, c.Id, steps)
	other, otherNodes := newCluster(t, "other", epoch)
	mustCreate(t, s, other, otherNodes)
	mustAddSteps(t, s, other.Id, newSteps(t, other, 2)) // PENDING, but not c's

	states := []hearth.StepState{hearth.StepCompleted, hearth.StepFailed, hearth.StepRunning, hearth.StepCancelPending, hearth.StepPending, hearth.StepPending}
	for i, state := range states {
		if state != hearth.StepPending {
			setStepState(t, s, c.Id, steps[i].Id, state)
		}
	}
	ids := stepIDs(steps)
	tests := []struct {
		name   string
		states []hearth.StepState
		want   []string
	}{
		{"all", nil, ids},
		{"pending", []hearth.StepState{hearth.StepPending}, ids[4:6]},
		{"running or completed, in queue order", []hearth.StepState{hearth.StepRunning, hearth.StepCompleted}, []string{ids[0], ids[2]}},
		{"active", hearth.ActiveStepStates, ids[2:6]},
		{"cancelled", []hearth.StepState{hearth.StepCancelled}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustSteps(t, s, c.Id, tc.states...)
			for _, st := range got {
				if len(tc.states) > 0 && !slices.Contains(tc.states, st.Status.State) {
					t.Errorf("Steps(%v) returned %s in state %s", tc.states, st.Id, st.Status.State)
				}
			}
			if g := stepIDs(got); !slices.Equal(g, tc.want) {
				t.Errorf("Steps(%v) = %v, want %v", tc.states, g, tc.want)
			}
		})
	}
}

func testStepNotFound(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	c, nodes := newCluster(t, "has a step", epoch)
	mustCreate(t, s, c, nodes)
	steps := newSteps(t, c, 1)
	mustAddSteps(t, s, c.Id, steps)
	other, otherNodes := newCluster(t, "other", epoch)
	mustCreate(t, s, other, otherNodes)

	// A step is found under its own cluster only.
	lookups := []struct{ name, clusterID, stepID string }{
		{"missing step", c.Id, "s-MISSING000000"},
		{"another cluster's step", other.Id, steps[0].Id},
		{"missing cluster", "j-MISSING000000", steps[0].Id},
	}
	for _, l := range lookups {
		t.Run(l.name, func(t *testing.T) {
			if got, err := s.Step(ctx, l.clusterID, l.stepID); !errors.Is(err, hearth.ErrNotFound) {
				t.Errorf("Step(%s, %s) = %v, %v; want an error wrapping ErrNotFound", l.clusterID, l.stepID, got, err)
			}
			called := false
			_, err := s.UpdateStep(ctx, l.clusterID, l.stepID, func(*hearth.Step) error { called = true; return nil })
			if !errors.Is(err, hearth.ErrNotFound) {
				t.Errorf("UpdateStep(%s, %s) = %v, want an error wrapping ErrNotFound", l.clusterID, l.stepID, err)
			}
			if called {
				t.Errorf("UpdateStep(%s, %s) called fn", l.clusterID, l.stepID)
			}
		})
	}
}

func testUpdateStep(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	c, nodes := newCluster(t, "failing", epoch)
	mustCreate(t, s, c, nodes)
	mustAddSteps(t, s, c.Id, newSteps(t, c, 2))
	stored := mustSteps(t, s, c.Id)
	target := stored[0]

	now := epoch.Add(time.Minute)
	exit := 1
	updated, err := s.UpdateStep(ctx, c.Id, target.Id, func(st *hearth.Step) error {
		st.SetState(hearth.StepRunning, "", now)
		st.SetState(hearth.StepFailed, "the step failed", now.Add(time.Second))
		st.Status.FailureDetails = &hearth.FailureDetails{
			Reason:  "RuntimeException",
			Message: "Exception in thread \"main\" java.lang.RuntimeException: boom",
			LogFile: "s3://logs/" + c.Id + "/steps/" + st.Id + "/stderr.gz",
		}
		st.ExitCode = &exit
		st.CancelOption = "TERMINATE_PROCESS"
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateStep: %v", err)
	}
	if updated == nil || updated.Status.State != hearth.StepFailed || updated.Seq != target.Seq {
		t.Fatalf("UpdateStep returned %+v, want the updated step with Seq %d", updated, target.Seq)
	}
	got, err := s.Step(ctx, c.Id, target.Id)
	if err != nil {
		t.Fatalf("Step: %v", err)
	}
	checkStep(t, got, updated)
	fd := got.Status.FailureDetails
	if fd == nil || fd.Reason != "RuntimeException" || fd.LogFile == "" || got.ExitCode == nil || *got.ExitCode != 1 ||
		got.Status.Timeline.EndDateTime == nil || got.CancelOption != "TERMINATE_PROCESS" {
		t.Errorf("stored step %+v (FailureDetails %+v) does not carry the update", got, fd)
	}
	// The state is kept outside the document too: filtering must see it.
	if g := stepIDs(mustSteps(t, s, c.Id, hearth.StepFailed)); !slices.Equal(g, []string{target.Id}) {
		t.Errorf("Steps(FAILED) = %v, want [%s]", g, target.Id)
	}
	if g := stepIDs(mustSteps(t, s, c.Id, hearth.StepPending)); !slices.Equal(g, []string{stored[1].Id}) {
		t.Errorf("Steps(PENDING) = %v, want [%s]", g, stored[1].Id)
	}
	// The other step is untouched, and the queue keeps its order.
	checkSteps(t, mustSteps(t, s, c.Id), []*hearth.Step{updated, stored[1]})
}

func testUpdateStepFnError(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	c, nodes := newCluster(t, "unchanged steps", epoch)
	mustCreate(t, s, c, nodes)
	mustAddSteps(t, s, c.Id, newSteps(t, c, 1))
	stored := mustSteps(t, s, c.Id)

	errRefused := errors.New("refused by fn")
	_, err := s.UpdateStep(ctx, c.Id, stored[0].Id, func(st *hearth.Step) error {
		st.SetState(hearth.StepRunning, "", epoch)
		st.Name = "changed"
		st.CancelOption = "changed"
		return errRefused
	})
	if !errors.Is(err, errRefused) {
		t.Fatalf("UpdateStep = %v, want the error fn returned", err)
	}
	got, err := s.Step(ctx, c.Id, stored[0].Id)
	if err != nil {
		t.Fatalf("Step: %v", err)
	}
	checkStep(t, got, stored[0])
	if running := mustSteps(t, s, c.Id, hearth.StepRunning); len(running) != 0 {
		t.Errorf("Steps(RUNNING) = %v, want none", stepIDs(running))
	}
}

func testConcurrentUpdateStep(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	c, nodes := newCluster(t, "contended steps", epoch)
	mustCreate(t, s, c, nodes)
	mustAddSteps(t, s, c.Id, newSteps(t, c, 2))
	stored := mustSteps(t, s, c.Id)
	target := stored[1]

	const writers, rounds = 8, 5
	contend(t, writers, rounds, func(w, r int) error {
		_, err := s.UpdateStep(ctx, c.Id, target.Id, func(st *hearth.Step) error {
			st.Config.Args = append(st.Config.Args, fmt.Sprintf("writer-%d-%d", w, r))
			return nil
		})
		return err
	})

	got, err := s.Step(ctx, c.Id, target.Id)
	if err != nil {
		t.Fatalf("Step: %v", err)
	}
	if want := len(target.Config.Args) + writers*rounds; len(got.Config.Args) != want {
		t.Errorf("got %d args, want %d: updates were lost", len(got.Config.Args), want)
	}
	for w := range writers {
		for r := range rounds {
			if arg := fmt.Sprintf("writer-%d-%d", w, r); !slices.Contains(got.Config.Args, arg) {
				t.Errorf("update %s lost", arg)
			}
		}
	}
	if got.Seq != target.Seq || got.CancelOption != target.CancelOption {
		t.Errorf("after concurrent updates Seq, CancelOption = %d, %q; want %d, %q", got.Seq, got.CancelOption, target.Seq, target.CancelOption)
	}
	checkStep(t, mustSteps(t, s, c.Id)[0], stored[0])
}
