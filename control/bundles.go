package control

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/spark"
)

// bundles packs installed Spark runtimes for nodes on other machines, which
// download them from the control plane (GET /agent/v1/runtime). Packing
// runs in the background, once per version; a reconcile pass only asks.
type bundles struct {
	dir    string // where packed runtimes are kept ("" = none: remote nodes cannot start)
	notify func()

	mu     sync.Mutex
	byVers map[string]*packing
}

type packing struct {
	done   bool
	bundle spark.Bundle
	err    error
	ended  time.Time
}

// get reports version's bundle, packing dist if that has not been tried
// since since (a failure older than since is tried again).
func (b *bundles) get(dist spark.Distribution, since time.Time) (spark.Bundle, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.byVers[dist.Version]
	if p != nil && p.done && p.err != nil && p.ended.Before(since) {
		p = nil
	}
	if p == nil {
		if b.dir == "" {
			return spark.Bundle{}, false, fmt.Errorf("this server keeps no runtime bundles")
		}
		p = &packing{}
		b.byVers[dist.Version] = p
		go func() {
			bundle, err := spark.PackBundle(dist, b.dir)
			b.mu.Lock()
			p.done, p.bundle, p.err, p.ended = true, bundle, err, time.Now()
			b.mu.Unlock()
			b.notify()
		}()
	}
	return p.bundle, p.done && p.err == nil, p.err
}

// packed returns version's bundle if it is ready.
func (b *bundles) packed(version string) (spark.Bundle, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.byVers[version]
	if p == nil || !p.done || p.err != nil {
		return spark.Bundle{}, false
	}
	return p.bundle, true
}

// bySHA finds a packed bundle by its checksum.
func (b *bundles) bySHA(sha string) (spark.Bundle, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.byVers {
		if p.done && p.err == nil && p.bundle.SHA256 == sha {
			return p.bundle, true
		}
	}
	return spark.Bundle{}, false
}

// bundleReady reports whether cluster c's runtime is packed for its
// remote nodes, saying so in c's state change reason meanwhile; a failure
// fails c. It is asked after runtimeReady.
func (s *Server) bundleReady(ctx context.Context, c *hearth.Cluster) bool {
	since := s.started
	if t := c.Status.Timeline.CreationDateTime; t != nil {
		since = *t
	}
	_, ok, err := s.bundles.get(s.runtimes.dist(c.SparkVersion), since)
	switch {
	case err != nil:
		msg := fmt.Sprintf("Release %s: cannot pack Spark %s for the cluster's hosts: %v", c.ReleaseLabel, c.SparkVersion, err)
		if ferr := s.fail(ctx, c, hearth.ReasonInternalError, msg); ferr != nil {
			s.log.Error("fail cluster", "cluster", c.Id, "err", ferr)
		}
		return false
	case ok:
		return true
	}
	msg := fmt.Sprintf("Packing Spark %s for the cluster's hosts", c.SparkVersion)
	if c.Status.StateChangeReason.Message != msg {
		if _, err := s.store.UpdateCluster(ctx, c.Id, func(c *hearth.Cluster) error {
			if c.Status.State == hearth.ClusterStarting {
				c.Status.StateChangeReason.Message = msg
			}
			return nil
		}); err != nil {
			s.log.Error("record runtime packing", "cluster", c.Id, "err", err)
		}
	}
	return false
}

// ServeRuntime writes the packed runtime whose SHA-256 is sha to w (with
// Range support, so an interrupted download resumes), for node n.
func (s *Server) ServeRuntime(w http.ResponseWriter, r *http.Request, n *hearth.Node, sha string) error {
	b, ok := s.bundles.bySHA(sha)
	if !ok {
		return fmt.Errorf("%w: no runtime bundle with SHA-256 %q on this server", hearth.ErrNotFound, sha)
	}
	return s.serveFile(w, r, n, b.Path, "application/x-tar", "the Spark runtime "+b.Version)
}

// serveFile writes the file at path to node n, with Range support (an
// interrupted download resumes) and no write deadline: a runtime or a
// binary is tens or hundreds of megabytes, the server's write timeout is
// for API answers.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, n *hearth.Node, path, contentType, what string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	http.NewResponseController(w).SetWriteDeadline(time.Time{})
	s.log.Info("serving "+what, "node", n.Id, "bytes", st.Size())
	w.Header().Set("Content-Type", contentType)
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
}

// ServeBinary writes this server's own executable to w: a node started
// from user data (EC2) fetches its agent here, with its launch credential.
func (s *Server) ServeBinary(w http.ResponseWriter, r *http.Request, n *hearth.Node) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return s.serveFile(w, r, n, exe, "application/octet-stream", "the hearth binary")
}
