package main

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
	"github.com/hearthcluster/hearth/client"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/internal/pgtest"
	"github.com/hearthcluster/hearth/internal/proc"
	"github.com/hearthcluster/hearth/provision/local"
	"github.com/jackc/pgx/v5/pgxpool"
)

// slowFailover is a takeover time worth a warning: a follower waits for
// the lock inside PostgreSQL and records itself at once; far more means it
// waited for something else.
const slowFailover = 3 * time.Second

// failoverDB is the database the replicas share, fresh on the benchmark's
// PostgreSQL server.
const failoverDB = "failover"

// Poll periods: the floor reads pg_locks, Hearth's side the survivor's
// /api/v1/replicas.
const (
	floorPoll  = 10 * time.Millisecond
	hearthPoll = 20 * time.Millisecond
)

// maxPause bounds the random pause before each kill. The replicas' timers
// (each records itself every 2 s, the list forgets a replica 10 s after
// that) would otherwise phase-lock the kill to them: the wait for the
// restarted replica ends when the dead one's entry ages out, at a fixed
// offset from their records. A real leader dies at any moment.
const maxPause = 2 * time.Second

type failoverRun struct {
	Killed string `json:"killed"` // replica a or b
	// PauseMs is the random pause before the kill, in [0, maxPause).
	PauseMs float64 `json:"pause_before_kill_ms"`
	// FloorMs is from the kill until PostgreSQL no longer shows the dead
	// leader's session holding an advisory lock; HearthMs until the
	// survivor's /api/v1/replicas lists the survivor first, leading.
	FloorMs  float64 `json:"lock_released_ms"`
	HearthMs float64 `json:"survivor_leads_ms"`
	Ratio    float64 `json:"ratio"`
	// LoggedMs is from the kill until the time of the survivor's log line
	// "replica leading" (ms precision), which it writes once it holds the
	// lock and has recorded itself leading: HearthMs − LoggedMs is the
	// benchmark's poll of /api/v1/replicas.
	LoggedMs float64 `json:"survivor_logged_leading_ms"`
	// RejoinS is, untimed for the figure, from the restart of the killed
	// replica until the survivor lists exactly it and itself.
	RejoinS float64 `json:"rejoined_s"`
}

type failoverSummary struct {
	Floor  benchutil.Dist `json:"lock_released_ms"`
	Hearth benchutil.Dist `json:"survivor_leads_ms"`
	Logged benchutil.Dist `json:"survivor_logged_leading_ms"`
	// Ratio is median(Hearth) ÷ median(floor); RunRatio summarises each
	// run's own ratio.
	Ratio    float64        `json:"ratio"`
	RunRatio benchutil.Dist `json:"run_ratio"`
}

type failoverResult struct {
	FloorPollMs  float64         `json:"floor_poll_ms"`
	HearthPollMs float64         `json:"hearth_poll_ms"`
	Runs         []failoverRun   `json:"runs"`
	Summary      failoverSummary `json:"summary"`
}

// replicated is two `hearth server` replicas sharing one HEARTH_HOME and
// one PostgreSQL database.
type replicated struct {
	bin, home string
	db        string        // the replicas' --database
	admin     *pgxpool.Pool // the benchmark's own session, for pg_locks
	token     string

	mu   sync.Mutex // guards the replicas' groups, which stop reads
	reps [2]*replica
}

type replica struct {
	name            string
	listen, gateway string
	url             string
	log             string
	g               *benchutil.Group
	api             *client.Client // this replica only
}

// bench starts the replicas and measures one untimed and runs timed
// failovers.
func (rs *replicated) bench(ctx context.Context, pg *pgtest.Server, runs int, warn func(format string, a ...any)) (failoverResult, error) {
	res := failoverResult{FloorPollMs: benchutil.Millis(floorPoll), HearthPollMs: benchutil.Millis(hearthPoll)}
	rs.admin = pg.Admin()
	if _, err := rs.admin.Exec(ctx, "CREATE DATABASE "+failoverDB); err != nil {
		return res, fmt.Errorf("create database %s: %w", failoverDB, err)
	}
	rs.db = pg.URL(failoverDB)
	if err := os.MkdirAll(rs.home, 0o700); err != nil {
		return res, err
	}
	ports, err := local.FreePorts(4)
	if err != nil {
		return res, err
	}
	for i, name := range []string{"a", "b"} {
		r := &replica{name: name, listen: fmt.Sprintf("127.0.0.1:%d", ports[2*i]), gateway: fmt.Sprintf("127.0.0.1:%d", ports[2*i+1]),
			log: filepath.Join(rs.home, "..", "server-"+name+".log")}
		r.url = "http://" + r.listen
		rs.reps[i] = r
		// One after the other: the first writes the admin token and master
		// key the second must share.
		if err := rs.start(ctx, r); err != nil {
			return res, err
		}
	}
	out, err := benchutil.Runs("failover", 1, runs, func(name string) (failoverRun, error) {
		r, err := rs.failover(ctx)
		if err != nil {
			return r, fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(os.Stderr, "%s (killed %s): lock released %.1f ms, survivor leads %.1f ms, rejoined %.1f s\n",
			name, r.Killed, r.FloorMs, r.HearthMs, r.RejoinS)
		return r, nil
	})
	if err != nil {
		return res, err
	}
	res.Runs = out
	var floor, hearth, logged, ratio []float64
	for _, r := range out {
		floor, hearth, ratio = append(floor, r.FloorMs), append(hearth, r.HearthMs), append(ratio, r.Ratio)
		logged = append(logged, r.LoggedMs)
		if r.HearthMs > benchutil.Millis(slowFailover) {
			warn("failover: replica %s took %.0f ms to lead after %s was killed (over %v)", map[string]string{"a": "b", "b": "a"}[r.Killed], r.HearthMs, r.Killed, slowFailover)
		}
	}
	s := &res.Summary
	s.Floor, s.Hearth, s.RunRatio = benchutil.DistOf(floor), benchutil.DistOf(hearth), benchutil.DistOf(ratio)
	s.Logged = benchutil.DistOf(logged)
	s.Ratio = benchutil.Ratio(s.Hearth.Median, s.Floor.Median)
	return res, nil
}

// start runs replica r in its own process group and waits until its API
// answers /api/v1/replicas.
func (rs *replicated) start(ctx context.Context, r *replica) error {
	cmd := exec.Command(rs.bin, "server", "--database", rs.db, "--listen", r.listen, "--gateway-listen", r.gateway,
		"--s3-listen", "none", "--cds-cache", "none", "--node-metrics-interval", "0")
	cmd.Env = append(benchutil.CleanEnv(), "HEARTH_HOME="+rs.home)
	cmd.Dir = rs.home
	g, err := benchutil.StartGroup("hearth server "+r.name, cmd, r.log)
	if err != nil {
		return err
	}
	rs.mu.Lock()
	r.g = g
	rs.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if !g.Running() {
			return fmt.Errorf("hearth server %s exited: %s", r.name, benchutil.TailFile(r.log, 1500))
		}
		if rs.token == "" {
			rs.token, _ = client.ReadToken(rs.home)
		}
		if rs.token != "" {
			if r.api == nil {
				r.api = client.New(r.url, rs.token)
				r.api.HTTP.Timeout = 2 * time.Second
			}
			if _, err := r.api.Replicas(ctx); err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hearth server %s does not answer on %s after 60s: %s", r.name, r.url, benchutil.TailFile(r.log, 1500))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// await polls /api/v1/replicas of via every 100 ms until ok holds.
func (rs *replicated) await(ctx context.Context, via *replica, what string, ok func([]control.ReplicaView) bool) ([]control.ReplicaView, error) {
	deadline := time.Now().Add(60 * time.Second)
	var last []control.ReplicaView
	for {
		l, err := via.api.Replicas(ctx)
		if err == nil && ok(l) {
			return l, nil
		}
		if err == nil {
			last = l
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no %s after 60s; replica %s lists %s (err %v)", what, via.name, describe(last), err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func describe(l []control.ReplicaView) string {
	s := fmt.Sprintf("%d:", len(l))
	for _, r := range l {
		s += fmt.Sprintf(" %s %s leading=%v seen %s;", r.Id, r.URL, r.Leading, r.Seen.Format(time.StampMilli))
	}
	return s
}

// lockHolders are the PostgreSQL backends holding an advisory lock in the
// replicas' database. Only the leader holds one: its leadership; a
// follower holds none until it leads, migrations release theirs, and the
// replicas have no cluster to lock.
func (rs *replicated) lockHolders(ctx context.Context) ([]int, error) {
	rows, err := rs.admin.Query(ctx, `SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
		WHERE l.locktype = 'advisory' AND l.granted AND d.datname = $1`, failoverDB)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return nil, err
		}
		out = append(out, pid)
	}
	return out, rows.Err()
}

// pollUntil calls ok every period, from now, until it holds, and returns
// the time since t0 at which it did.
func pollUntil(ctx context.Context, t0 time.Time, period time.Duration, ok func(context.Context) bool) (time.Duration, error) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if ok(ctx) {
			return time.Since(t0), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-t.C:
		}
	}
}

// failover kills the leader's process group and times both sides at once;
// then it restarts the killed replica and waits until it is listed as a
// follower and the dead one's entry has aged out.
func (rs *replicated) failover(ctx context.Context) (failoverRun, error) {
	var run failoverRun
	pair := func(l []control.ReplicaView) bool { return len(l) == 2 && l[0].Leading && !l[1].Leading }
	l, err := rs.await(ctx, rs.reps[0], "two replicas, one leading", pair)
	if err != nil {
		return run, err
	}
	leader, survivor := rs.reps[0], rs.reps[1]
	if l[0].URL == survivor.url {
		leader, survivor = survivor, leader
	} else if l[0].URL != leader.url {
		return run, fmt.Errorf("the leader's URL %s is neither replica's", l[0].URL)
	}
	run.Killed = leader.name
	holders, err := rs.lockHolders(ctx)
	if err != nil {
		return run, err
	}
	if len(holders) != 1 {
		return run, fmt.Errorf("%d PostgreSQL sessions %v hold advisory locks in %s, want 1 (the leader's)", len(holders), holders, failoverDB)
	}
	old := holders[0]
	pause := mrand.N(maxPause)
	run.PauseMs = benchutil.Millis(pause)
	select {
	case <-ctx.Done():
		return run, ctx.Err()
	case <-time.After(pause):
	}
	if h, err := rs.lockHolders(ctx); err != nil || !slices.Equal(h, holders) {
		return run, fmt.Errorf("the advisory locks' holders changed during the pause: %v, then %v (%v)", holders, h, err)
	}

	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	type done struct {
		took time.Duration
		err  error
	}
	floorc, hearthc := make(chan done, 1), make(chan done, 1)
	pgid := leader.g.Pgid()
	killed := time.Now()
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
		return run, fmt.Errorf("kill replica %s: %w", leader.name, err)
	}
	go func() {
		took, err := pollUntil(pctx, killed, floorPoll, func(ctx context.Context) bool {
			pids, err := rs.lockHolders(ctx)
			return err == nil && !slices.Contains(pids, old)
		})
		floorc <- done{took, err}
	}()
	go func() {
		took, err := pollUntil(pctx, killed, hearthPoll, func(ctx context.Context) bool {
			l, err := survivor.api.Replicas(ctx)
			return err == nil && len(l) > 0 && l[0].URL == survivor.url && l[0].Leading
		})
		hearthc <- done{took, err}
	}()
	f, h := <-floorc, <-hearthc
	if f.err != nil {
		return run, fmt.Errorf("PostgreSQL still shows the killed leader's session %d holding its lock: %w", old, f.err)
	}
	if h.err != nil {
		return run, fmt.Errorf("replica %s does not lead after the leader was killed: %w: %s", survivor.name, h.err, benchutil.TailFile(survivor.log, 1500))
	}
	run.FloorMs, run.HearthMs = benchutil.Millis(f.took), benchutil.Millis(h.took)
	run.Ratio = benchutil.Ratio(run.HearthMs, run.FloorMs)
	logged, ok := leadingLogged(survivor.log, killed)
	if !ok {
		return run, fmt.Errorf("replica %s lists itself leading, but its log has no %q line since the kill", survivor.name, leadingMsg)
	}
	run.LoggedMs = benchutil.Millis(logged.Sub(killed))

	<-leader.g.Exited()
	if left := proc.GroupMembers(pgid); len(left) > 0 {
		return run, fmt.Errorf("processes %v of the killed replica %s remain", left, leader.name)
	}
	restarted := time.Now()
	if err := rs.start(ctx, leader); err != nil {
		return run, err
	}
	if _, err := rs.await(ctx, survivor, "the killed replica back as the only follower", func(l []control.ReplicaView) bool {
		return pair(l) && l[0].URL == survivor.url && l[1].URL == leader.url && l[1].Started.After(killed)
	}); err != nil {
		return run, err
	}
	run.RejoinS = benchutil.Round3(time.Since(restarted).Seconds())
	return run, nil
}

// leadingMsg starts the line a replica logs when it has become the leader
// (control/replicas.go).
const leadingMsg = "replica leading"

// leadingLogged is the time of the first leadingMsg line of the log at
// path written after since (at the log's millisecond precision).
func leadingLogged(path string, since time.Time) (time.Time, bool) {
	for _, l := range benchutil.SlogLines(path) {
		if strings.HasPrefix(l.Msg, leadingMsg) && !l.At.Before(since.Truncate(time.Millisecond)) {
			return l.At, true
		}
	}
	return time.Time{}, false
}

// stop stops both replicas: SIGTERM to each group, SIGKILL after 10 s.
func (rs *replicated) stop() error {
	rs.mu.Lock()
	var groups []*benchutil.Group
	for _, r := range rs.reps {
		if r != nil && r.g != nil {
			groups = append(groups, r.g)
		}
	}
	rs.mu.Unlock()
	var errs []error
	for _, g := range groups {
		if err := g.Stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
