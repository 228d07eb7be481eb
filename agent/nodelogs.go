package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/objstore"
)

// nodeLogPeriod is how often a node copies its logs to the cluster's log
// URI while it runs (EMR: every five minutes); it copies them once more
// when it stops.
const nodeLogPeriod = time.Minute

// nodeLogs copies the node's logs (its Spark daemons', its bootstrap
// actions') to <log-uri>/<cluster-id>/node/<node-id>/, gzipped as EMR does,
// each file again only when it has grown.
type nodeLogs struct {
	a    *Agent
	sent map[string]int64 // local path -> size last copied
}

// ship copies what changed, if the plan has a log URI.
func (n *nodeLogs) ship(ctx context.Context) {
	n.a.mu.Lock()
	p := n.a.plan
	n.a.mu.Unlock()
	if p.LogUri == "" {
		return
	}
	var s3 *hearth.S3Access
	if p.Secrets != nil {
		s3 = p.Secrets.S3
	}
	store := objstore.ForAccess(s3)
	base := objstore.Join(p.LogUri, p.ClusterId, "node", p.NodeId)
	for local, remote := range n.files() {
		fi, err := os.Stat(local)
		if err != nil || fi.Size() == n.sent[local] {
			continue
		}
		b, err := os.ReadFile(local)
		if err != nil {
			continue
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		if err := store.Put(ctx, objstore.Join(base, remote)+".gz", &buf); err != nil {
			n.a.log.Warn("copy node log", "file", local, "err", err)
			return // the store is unreachable or refuses: try again next time
		}
		n.sent[local] = int64(len(b))
	}
}

// files maps the node's log files to their names under the node's prefix.
func (n *nodeLogs) files() map[string]string {
	out := map[string]string{}
	filepath.WalkDir(n.a.dirs.Logs, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(n.a.dirs.Logs, path)
			out[path] = "daemons/" + filepath.ToSlash(rel)
		}
		return nil
	})
	// bootstrap/<NN-name>/{stdout,stderr} -> bootstrap-actions/<N>/{stdout,stderr}
	dirs, _ := os.ReadDir(filepath.Join(n.a.cfg.Dir, "bootstrap"))
	for _, d := range dirs {
		num, _, ok := strings.Cut(d.Name(), "-")
		if !d.IsDir() || !ok {
			continue
		}
		for _, stream := range []string{"stdout", "stderr"} {
			out[filepath.Join(n.a.cfg.Dir, "bootstrap", d.Name(), stream)] = "bootstrap-actions/" + strings.TrimLeft(num, "0") + "/" + stream
		}
	}
	return out
}

// run ships the logs every nodeLogPeriod until ctx ends.
func (n *nodeLogs) run(ctx context.Context) {
	t := time.NewTicker(nodeLogPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n.ship(ctx)
		}
	}
}
