//go:build integration

package e2e

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
)

// standInDistribution writes a gzipped tar of the pip-installed Spark
// relabelled as version (a RELEASE file saying so), as the Apache archive
// would serve spark-<version>-bin-hadoop3.tgz, and returns its path and
// hex SHA-512. It is a stand-in: the jars are the installed Spark's, only
// the version Hearth reads differs, so Hearth must install it like any
// release it has not seen. Stored uncompressed inside gzip, to be quick.
func standInDistribution(t *testing.T, version string) (path, sum string) {
	t.Helper()
	home := sparkHome(t)
	path = filepath.Join(t.TempDir(), "spark-"+version+"-bin-hadoop3.tgz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha512.New()
	gz, _ := gzip.NewWriterLevel(io.MultiWriter(f, h), gzip.NoCompression)
	tw := tar.NewWriter(gz)
	top := "spark-" + version + "-bin-hadoop3"
	release := fmt.Sprintf("Spark %s built for Hadoop 3.4.1 (a Hearth test stand-in)\n", version)
	if err := tw.WriteHeader(&tar.Header{Name: top + "/RELEASE", Mode: 0o644, Size: int64(len(release)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(tw, release)
	err = filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(home, p)
		if d.Name() == "__pycache__" {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() && !fi.IsDir() {
			return nil // the archive extractor accepts no special files; Spark needs none
		}
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(filepath.Join(top, rel))
		if fi.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = io.Copy(tw, src)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return path, hex.EncodeToString(h.Sum(nil))
}

// slowArchive serves like archive.apache.org/dist/spark: the stand-in
// distribution of good (slowly, over about spread), a 500 for broken, and a
// checksum that does not match for corrupt. It counts archive downloads.
type slowArchive struct {
	*httptest.Server
	downloads atomic.Int32
}

func newSlowArchive(t *testing.T, good, broken, corrupt string, spread time.Duration) *slowArchive {
	t.Helper()
	tgz, sum := standInDistribution(t, good)
	a := &slowArchive{}
	mux := http.NewServeMux()
	pkg := func(v string) string { return fmt.Sprintf("/spark-%s/spark-%s-bin-hadoop3.tgz", v, v) }
	mux.HandleFunc(pkg(good)+".sha512", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s  spark-%s-bin-hadoop3.tgz\n", sum, good)
	})
	mux.HandleFunc(pkg(good), func(w http.ResponseWriter, r *http.Request) {
		a.downloads.Add(1)
		f, err := os.Open(tgz)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer f.Close()
		fi, _ := f.Stat()
		w.Header().Set("Content-Length", fmt.Sprint(fi.Size()))
		const chunks = 40
		chunk := fi.Size()/chunks + 1
		for {
			if _, err := io.CopyN(w, f, chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(spread / chunks):
			case <-r.Context().Done():
				return
			}
		}
	})
	mux.HandleFunc(pkg(broken)+".sha512", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the mirror is having a bad day", http.StatusInternalServerError)
	})
	mux.HandleFunc(pkg(corrupt)+".sha512", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s  spark-%s-bin-hadoop3.tgz\n", strings.Repeat("ab", sha512.Size), corrupt)
	})
	mux.HandleFunc(pkg(corrupt), func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "these bytes are not what the checksum promised")
	})
	a.Server = httptest.NewServer(mux)
	t.Cleanup(a.Close)
	return a
}

// TestFirstUseOfARelease: on a fresh home, clusters whose Spark release
// must first be installed wait for the install (which takes longer than
// the heartbeat timeout) and come up; two clusters of one release share
// one download; their state change reason shows the install while it runs.
// A release whose install fails ends its cluster with a reason naming the
// release and the cause, and no node was ever started.
func TestFirstUseOfARelease(t *testing.T) {
	const good, broken, corrupt = "4.0.2", "4.0.3", "4.0.4"
	const heartbeat = 4 * time.Second
	archive := newSlowArchive(t, good, broken, corrupt, 3*heartbeat)
	e := newEnvArgs(t, []string{"--heartbeat-timeout", heartbeat.String()},
		"HEARTH_SPARK_ARCHIVE="+archive.URL, "HEARTH_SPARK_PIP_INDEX_URL=none")

	var ids [2]string
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.hearth("create-cluster", "--release-label", "spark-"+good, "--instance-type", "local.small", "--instance-count", "1")
			if r.code != 0 {
				t.Errorf("create-cluster: exit %d: %s", r.code, r.stderr)
				return
			}
			var out struct{ ClusterId string }
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Errorf("create-cluster printed %q: %v", r.stdout, err)
			}
			ids[i] = out.ClusterId
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	sawInstall := false
	for _, id := range ids {
		v := e.clusterAwait(id, "WAITING", 4*time.Minute, func(v *control.ClusterView) bool {
			st := v.Cluster.Status
			if st.State == hearth.ClusterStarting && strings.Contains(st.StateChangeReason.Message, "Downloading Spark "+good) {
				sawInstall = true
			}
			if st.State.Ended() {
				t.Fatalf("cluster %s ended: %s %s", id, st.StateChangeReason.Code, st.StateChangeReason.Message)
			}
			return st.State == hearth.ClusterWaiting
		})
		for _, n := range v.Nodes {
			if n.State != hearth.NodeRunning {
				t.Errorf("node %s is %s (%s)", n.Id, n.State, n.StateMessage)
			}
		}
	}
	if !sawInstall {
		t.Errorf("no state change reason mentioned the download while it ran")
	}
	if n := archive.downloads.Load(); n != 1 {
		t.Errorf("the archive was downloaded %d times for two clusters of one release, want once", n)
	}
	loc := decodeJSON[struct{ Home, Version string }](t, e.ok("runtime", "locate", "spark-"+good))
	if loc.Version != good || !strings.HasPrefix(loc.Home, e.home) {
		t.Errorf("runtime locate: %+v, want Spark %s in the cache under %s", loc, good, e.home)
	}
	e.ok("terminate-clusters", "--cluster-ids", ids[0], ids[1])

	for _, tc := range []struct{ version, cause string }{
		{broken, "500 Internal Server Error"},
		{corrupt, "SHA-512 mismatch"},
	} {
		t.Run(tc.version, func(t *testing.T) {
			id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--release-label", "spark-"+tc.version,
				"--instance-type", "local.small", "--instance-count", "2")).ClusterId
			v := e.clusterAwait(id, "the cluster to end", time.Minute, func(v *control.ClusterView) bool { return v.Cluster.Status.State.Ended() })
			st := v.Cluster.Status
			if st.State != hearth.ClusterTerminatedWithErrors || st.StateChangeReason.Code != hearth.ReasonValidationError {
				t.Errorf("ended %s/%s, want TERMINATED_WITH_ERRORS/VALIDATION_ERROR", st.State, st.StateChangeReason.Code)
			}
			for _, want := range []string{"spark-" + tc.version, tc.cause} {
				if !strings.Contains(st.StateChangeReason.Message, want) {
					t.Errorf("reason %q does not name %q", st.StateChangeReason.Message, want)
				}
			}
			for _, n := range v.Nodes {
				if n.Launched {
					t.Errorf("node %s was launched although its runtime never installed", n.Id)
				}
			}
		})
	}
}
