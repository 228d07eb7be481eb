package control

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/spark"
)

// installTimeout bounds one runtime install (a ~400 MB download or a pip
// install on a slow link); a stuck mirror must not hold clusters forever.
const installTimeout = 30 * time.Minute

// installFunc finds or installs the Spark runtime of version, writing
// human-readable progress lines to progress (spark.Locator.Install).
type installFunc func(ctx context.Context, version string, progress io.Writer) (spark.Distribution, error)

// runtimes finds and installs Spark runtimes for clusters on host-bound
// provisioners, in the background: a reconcile pass only asks, never waits.
// Clusters asking for the same version while it installs share one install.
type runtimes struct {
	install installFunc
	now     func() time.Time
	notify  func() // wakes the reconcile loop when an install ends or progresses

	mu     sync.Mutex
	ctx    context.Context // installs end with it (the server's run context)
	byVers map[string]*install
}

// install is one attempt at making a version available.
type install struct {
	version string
	started time.Time

	mu       sync.Mutex
	phase    string // the last progress line that names a step ("Downloading Spark ...")
	detail   string // the last indented progress line ("40.0 MiB of 300.0 MiB (13%)")
	ended    time.Time
	dist     spark.Distribution
	err      error
	finished bool
}

// runtimeState is what a cluster waiting for its runtime is told.
type runtimeState struct {
	Dist     spark.Distribution
	Ready    bool
	Progress string // while installing: what is happening, "" before anything is known
	Err      error  // the install this cluster waited for failed
}

func newRuntimes(fn installFunc, now func() time.Time, notify func()) *runtimes {
	return &runtimes{install: fn, now: now, notify: notify, ctx: context.Background(), byVers: map[string]*install{}}
}

// setContext makes later installs end when ctx does.
func (r *runtimes) setContext(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ctx = ctx
}

// get reports the runtime of version for a cluster created at since. It
// starts an install if none is under way, or if the last one failed before
// since (a newer cluster deserves a fresh try: the network may be back).
// A failure that ended after since is that cluster's failure.
func (r *runtimes) get(version string, since time.Time) runtimeState {
	r.mu.Lock()
	in := r.byVers[version]
	if in != nil {
		in.mu.Lock()
		stale := in.finished && in.err != nil && in.ended.Before(since)
		in.mu.Unlock()
		if stale {
			in = nil
		}
	}
	if in == nil {
		in = &install{version: version, started: r.now()}
		r.byVers[version] = in
		go r.run(r.ctx, in)
	}
	r.mu.Unlock()

	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case !in.finished:
		return runtimeState{Progress: in.progress()}
	case in.err != nil:
		return runtimeState{Err: in.err}
	default:
		return runtimeState{Dist: in.dist, Ready: true}
	}
}

// dist returns the installed runtime of version, or the zero Distribution.
func (r *runtimes) dist(version string) spark.Distribution {
	r.mu.Lock()
	in := r.byVers[version]
	r.mu.Unlock()
	if in == nil {
		return spark.Distribution{}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.finished || in.err != nil {
		return spark.Distribution{}
	}
	return in.dist
}

func (r *runtimes) run(ctx context.Context, in *install) {
	ctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	pw := &progressLines{in: in, notify: r.notify}
	d, err := r.install(ctx, in.version, pw)
	if err == nil && d.Home == "" {
		err = errors.New("the installer returned no Spark home")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("gave up after %s: %w", installTimeout, err)
	}
	in.mu.Lock()
	in.dist, in.err, in.finished, in.ended = d, err, true, r.now()
	in.mu.Unlock()
	r.notify()
}

// progress is a one-line account of the install, for a cluster's state
// change reason. Callers hold in.mu.
func (in *install) progress() string {
	switch {
	case in.phase == "":
		return ""
	case in.detail == "":
		return in.phase
	default:
		return in.phase + ": " + in.detail
	}
}

// progressLines receives spark.Locator's progress lines: unindented ones
// name a phase, indented ones its progress. Each change wakes the
// reconcile loop, which copies it into the waiting clusters' reasons; the
// locator writes at most about one line a second.
type progressLines struct {
	in     *install
	notify func()
	buf    bytes.Buffer
}

func (p *progressLines) Write(b []byte) (int, error) {
	p.buf.Write(b)
	changed := false
	for {
		line, err := p.buf.ReadString('\n')
		if err != nil { // incomplete: keep it for the next write
			p.buf.Reset()
			p.buf.WriteString(line)
			break
		}
		line = strings.TrimRight(line, "\r\n")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		p.in.mu.Lock()
		if line[0] == ' ' || line[0] == '\t' {
			p.in.detail = trimmed
		} else {
			p.in.phase, p.in.detail = strings.TrimSuffix(trimmed, " ..."), ""
		}
		p.in.mu.Unlock()
		changed = true
	}
	if changed {
		p.notify()
	}
	return len(b), nil
}

// runtimeReady reports whether cluster c's Spark runtime is on this host.
// While it installs, c's state change reason says what is happening; if
// the install fails, c fails with a reason naming its release and the
// cause, before any node was launched.
func (s *Server) runtimeReady(ctx context.Context, c *hearth.Cluster) bool {
	since := s.started
	if t := c.Status.Timeline.CreationDateTime; t != nil {
		since = *t
	}
	st := s.runtimes.get(c.SparkVersion, since)
	switch {
	case st.Err != nil:
		msg := fmt.Sprintf("Release %s: cannot install Spark %s: %v", c.ReleaseLabel, c.SparkVersion, st.Err)
		if err := s.fail(ctx, c, hearth.ReasonValidationError, msg); err != nil {
			s.log.Error("fail cluster", "cluster", c.Id, "err", err)
		}
		return false
	case st.Ready:
		return true
	case st.Progress != "" && c.Status.StateChangeReason.Message != st.Progress:
		if _, err := s.store.UpdateCluster(ctx, c.Id, func(c *hearth.Cluster) error {
			if c.Status.State == hearth.ClusterStarting {
				c.Status.StateChangeReason.Message = st.Progress
			}
			return nil
		}); err != nil {
			s.log.Error("record runtime install progress", "cluster", c.Id, "err", err)
		}
	}
	return false
}
