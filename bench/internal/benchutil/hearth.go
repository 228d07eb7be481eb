package benchutil

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/client"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/provision/local"
)

// Hearth is one `hearth server` with a private HEARTH_HOME, driven through
// its CLI (Bin) and its API (API, the client package the CLI uses). Its
// clusters' Spark UIs answer only the server's UI gateway, so a benchmark
// reads a master's /json through Gateway (see FetchMaster).
type Hearth struct {
	Bin       string // the hearth binary
	Home      string // HEARTH_HOME; the server's log is next to it
	SparkHome string

	// ExtraEnv is added to the server's and the CLI's environment (after
	// CleanEnv, which drops HEARTH_*), e.g. HEARTH_JAR_CACHE.
	ExtraEnv []string
	// ServerArgs are added to `hearth server`'s flags (a later flag wins:
	// --s3-listen here replaces Start's loopback one).
	ServerArgs []string

	Endpoint string         // set by Start: the API's origin
	Gateway  string         // set by Start: the UI gateway's origin (--gateway-listen)
	S3       string         // set by Start: the built-in S3 store's origin (--s3-listen)
	Server   *Group         // set by Start
	API      *client.Client // set by Start
	token    string         // set by Start: the admin token, which the gateway also accepts
	mu       sync.Mutex     //
	active   string         // cluster that may be running, for cleanup
}

// ServerLog is where the server's stderr (its slog lines) goes.
func (h *Hearth) ServerLog() string { return filepath.Join(h.Home, "..", "server.log") }

// Env is the environment of the server and the CLI: HEARTH_HOME is what
// the CLI reads the admin token from.
func (h *Hearth) Env() []string {
	cache := filepath.Join(os.Getenv("HOME"), ".cache", "hearth-test")
	return append(append(CleanEnv(), "HEARTH_HOME="+h.Home, "HEARTH_ENDPOINT="+h.Endpoint, "SPARK_HOME="+h.SparkHome,
		"HEARTH_JAR_CACHE="+filepath.Join(cache, "maven"), "HEARTH_CDS_CACHE="+filepath.Join(cache, "cds")), h.ExtraEnv...)
}

// Start runs `hearth server` with its API and its UI gateway on two free
// loopback ports and waits until the API answers an authenticated request
// (the server binds both before it serves either).
func (h *Hearth) Start(ctx context.Context) error {
	ports, err := local.FreePorts(3)
	if err != nil {
		return err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", ports[0])
	gateway := fmt.Sprintf("127.0.0.1:%d", ports[1])
	s3 := fmt.Sprintf("127.0.0.1:%d", ports[2])
	h.Endpoint, h.Gateway, h.S3 = "http://"+listen, "http://"+gateway, "http://"+s3
	if err := os.MkdirAll(h.Home, 0o700); err != nil {
		return err
	}
	// The runtime as a user's server has it after its first cluster: its
	// S3A jars and its daemons' class-data archive, in caches shared with
	// the tests (HEARTH_JAR_CACHE, HEARTH_CDS_CACHE), built now, untimed.
	if out, err := h.CLI(ctx, "runtime", "install"); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	cmd := exec.Command(h.Bin, append([]string{"server", "--listen", listen, "--gateway-listen", gateway, "--s3-listen", s3}, h.ServerArgs...)...)
	cmd.Env = h.Env()
	cmd.Dir = h.Home
	if h.Server, err = StartGroup("hearth server", cmd, h.ServerLog()); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if !h.Server.Running() {
			return fmt.Errorf("hearth server exited: %s", TailFile(h.ServerLog(), 1500))
		}
		if token, err := client.ReadToken(h.Home); err == nil && token != "" {
			c := client.New(h.Endpoint, token)
			c.HTTP = &http.Client{Timeout: 5 * time.Second}
			if _, err := c.ListClusters(ctx); err == nil {
				h.API, h.token = c, token
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hearth server does not answer on %s after 60s", h.Endpoint)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// MasterJSONURL is the gateway's URL of the /json document of cluster id's
// Spark master.
func (h *Hearth) MasterJSONURL(id string) string {
	return h.Gateway + "/clusters/" + url.PathEscape(id) + "/ui/json/"
}

// Authorization is the Authorization header value the gateway accepts from
// a program: the admin token. Never log it.
func (h *Hearth) Authorization() string { return "Bearer " + h.token }

// FetchMaster reads the /json document of cluster id's Spark master through
// the gateway, the only client its UI answers, which adds a hop to what a
// direct read would take. Before the master is placed the gateway answers
// 409, and while its UI is not listening 503: both are errors.
func (h *Hearth) FetchMaster(ctx context.Context, hc *http.Client, id string) (MasterJSON, error) {
	return FetchMaster(ctx, hc, h.MasterJSONURL(id), h.Authorization())
}

// CLI runs the hearth CLI against the server and returns its stdout.
func (h *Hearth) CLI(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, h.Bin, args...)
	cmd.Env = h.Env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("hearth %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// SetActive records the cluster that Cleanup must terminate ("" for none).
func (h *Hearth) SetActive(id string) {
	h.mu.Lock()
	h.active = id
	h.mu.Unlock()
}

// CreateCluster runs `hearth create-cluster <args> --wait` and returns the
// new cluster's id, and the CLI's error if it failed (it may have printed
// the id first: --wait can fail after the cluster was created). The
// cluster is marked active (SetActive) as soon as its id is known, so that
// Cleanup terminates it. A CLI that printed no id is an error.
func (h *Hearth) CreateCluster(ctx context.Context, args ...string) (string, error) {
	out, err := h.CLI(ctx, append(append([]string{"create-cluster"}, args...), "--wait")...)
	var created struct{ ClusterId string }
	json.Unmarshal(out, &created)
	if created.ClusterId != "" {
		h.SetActive(created.ClusterId)
	}
	if err != nil {
		return created.ClusterId, err
	}
	if created.ClusterId == "" {
		return "", fmt.Errorf("create-cluster: no ClusterId in %q", out)
	}
	return created.ClusterId, nil
}

// DescribeWaiting describes cluster id through the API; it is an error if
// the cluster is not WAITING, as it must be after create-cluster --wait.
func (h *Hearth) DescribeWaiting(ctx context.Context, id string) (*control.ClusterView, error) {
	v, err := h.API.DescribeCluster(ctx, id)
	if err != nil {
		return nil, err
	}
	if st := v.Cluster.Status.State; st != hearth.ClusterWaiting {
		return nil, fmt.Errorf("cluster %s is %s after create-cluster --wait", id, st)
	}
	return v, nil
}

// Terminate runs terminate-clusters and `wait cluster-terminated`, then
// checks that no process of the cluster is left.
func (h *Hearth) Terminate(ctx context.Context, id string) error {
	if ctx.Err() != nil { // interrupted: Cleanup terminates with its own deadline
		return ctx.Err()
	}
	if _, err := h.CLI(ctx, "terminate-clusters", "--cluster-ids", id); err != nil {
		return err
	}
	if _, err := h.CLI(ctx, "wait", "cluster-terminated", "--cluster-id", id, "--timeout", "2m"); err != nil {
		return err
	}
	h.SetActive("")
	dir := filepath.Join(h.Home, "clusters", id)
	// The cluster is TERMINATED once every agent's session is empty; give
	// the kernel a moment to reap, then insist.
	for range 20 {
		if len(Referring(dir)) == 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("cluster %s is TERMINATED but its processes remain: %v", id, Referring(dir))
}

// Cleanup terminates, through the API, the active cluster and any other
// cluster of this (private) server that has not ended — one whose
// create-cluster was interrupted before it printed its id, say — then
// stops the server.
func (h *Hearth) Cleanup() error {
	var errs []error
	h.mu.Lock()
	ids := []string{}
	if h.active != "" {
		ids = append(ids, h.active)
	}
	h.mu.Unlock()
	if h.API != nil && h.Server != nil && h.Server.Running() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		if cs, err := h.API.ListClusters(ctx, hearth.ClusterStarting, hearth.ClusterBootstrapping,
			hearth.ClusterRunning, hearth.ClusterWaiting, hearth.ClusterTerminating); err == nil {
			for _, c := range cs {
				if len(ids) == 0 || ids[0] != c.Id {
					ids = append(ids, c.Id)
				}
			}
		}
		for _, id := range ids {
			if err := h.API.TerminateClusters(ctx, id); err != nil {
				errs = append(errs, fmt.Errorf("terminate %s: %w", id, err))
			} else if _, err := h.API.WaitCluster(ctx, id, nil, hearth.ClusterTerminated, hearth.ClusterTerminatedWithErrors); err != nil {
				errs = append(errs, fmt.Errorf("wait for %s to terminate: %w", id, err))
			}
		}
		cancel()
	}
	if h.Server != nil {
		if err := h.Server.Stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
