package control

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/hearthcluster/hearth/spark"
)

// cdsArchives builds class-data archives for the runtimes of host-bound
// clusters, in the background, once per distribution and Java: a cluster
// never waits for one. A node gets the archive in its plan once it exists;
// daemons started before that start without it.
type cdsArchives struct {
	dir      string // "" turns class-data sharing off
	readOnly bool   // use archives that exist, build none
	// following, when set, says this replica does not lead: the leader
	// builds archives, the others use them once they exist.
	following func() bool
	findJava  func(context.Context) (spark.Java, error)
	log       *slog.Logger

	builds sync.WaitGroup // builds under way: Run waits for them to stop

	mu    sync.Mutex
	ctx   context.Context
	java  *spark.Java
	paths map[string]string    // distribution home -> archive path
	tried map[string]time.Time // archive path -> when a build last started
}

// cdsRetry is how long after a failed or busy build another is tried.
const cdsRetry = 10 * time.Minute

// archive returns d's archive if it exists, else "" (starting a build).
func (c *cdsArchives) archive(d spark.Distribution) string {
	if c.dir == "" || d.Home == "" {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.java == nil {
		java, err := c.findJava(c.ctx)
		if err != nil {
			return ""
		}
		c.java = &java
	}
	path, ok := c.paths[d.Home]
	if !ok {
		path = spark.CDSArchive(c.dir, d, *c.java)
		c.paths[d.Home] = path
	}
	if _, err := os.Stat(path); err == nil {
		return path
	}
	t, tried := c.tried[path]
	if c.following != nil && c.following() {
		return ""
	}
	if c.readOnly {
		if !tried { // say it once
			c.tried[path] = time.Now()
			c.log.Info("class-data archive: none yet, and this control plane builds none; `hearth runtime install` or a `hearth server` builds it", "spark", d.Version)
		}
		return ""
	}
	if tried && time.Since(t) < cdsRetry {
		return ""
	}
	c.tried[path] = time.Now()
	java, ctx := *c.java, c.ctx
	c.builds.Add(1)
	go func() {
		defer c.builds.Done()
		start := time.Now()
		_, err := d.BuildCDS(ctx, java, c.dir)
		switch {
		case err == nil:
			c.log.Info("class-data archive built", "spark", d.Version, "path", path, "seconds", time.Since(start).Seconds())
		case errors.Is(err, spark.ErrCDSBusy), ctx.Err() != nil:
		default:
			c.log.Warn("class-data archive: daemons start without one", "spark", d.Version, "err", err)
		}
	}()
	return ""
}
