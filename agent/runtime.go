package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/spark"
)

// errRuntimePending means the node's runtime is still downloading.
var errRuntimePending = errors.New("spark runtime downloading")

// runtimeFetch is the download of the runtime the plan names, once.
type runtimeFetch struct {
	mu      sync.Mutex
	started string // SHA-256 of the bundle being fetched
}

// downloadedRuntime returns the runtime bundle b installed on this host,
// or errRuntimePending after starting its download from the control plane
// (in the background: reports and heartbeats go on meanwhile).
func (a *Agent) downloadedRuntime(b hearth.RuntimeBundle) (spark.Distribution, error) {
	if a.cfg.RuntimeDir == "" {
		return spark.Distribution{}, fmt.Errorf("spark %s: the plan names a runtime to download, but the agent has no runtime directory", b.Version)
	}
	if d, ok := spark.InstalledBundle(a.cfg.RuntimeDir, b.SHA256); ok {
		return d, nil
	}
	a.fetch.mu.Lock()
	defer a.fetch.mu.Unlock()
	if a.fetch.started != b.SHA256 {
		a.fetch.started = b.SHA256
		go a.fetchRuntime(b)
	}
	return spark.Distribution{}, errRuntimePending
}

// fetchRuntime downloads and installs b, retrying until it succeeds (a
// corrupt or cut download is refused by InstallBundle and tried again),
// then asks the main loop to converge again.
func (a *Agent) fetchRuntime(b hearth.RuntimeBundle) {
	client := &http.Client{Transport: a.http.Transport} // no overall timeout: hundreds of MB
	delay := time.Second
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := a.fetchOnce(client, b)
		if err == nil {
			a.log.Info("spark runtime installed", "version", b.Version, "bytes", b.Size, "took", time.Since(start).Round(time.Millisecond))
			select {
			case a.again <- struct{}{}:
			default:
			}
			return
		}
		if errors.Is(err, ErrRejected) {
			return
		}
		a.log.Warn("download the spark runtime", "version", b.Version, "attempt", attempt, "err", err)
		time.Sleep(delay)
		delay = min(delay*2, 30*time.Second)
	}
}

func (a *Agent) fetchOnce(client *http.Client, b hearth.RuntimeBundle) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	req, err := a.newRequest(ctx, http.MethodGet, "/agent/v1/runtime?sha256="+b.SHA256, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case rejected(resp):
		return ErrRejected
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("GET runtime: %s", resp.Status)
	}
	if err := os.MkdirAll(a.cfg.RuntimeDir, 0o755); err != nil {
		return err
	}
	_, err = spark.InstallBundle(resp.Body, a.cfg.RuntimeDir, b.SHA256, b.Size)
	return err
}

// checkJava says why this host cannot run Spark version, or "".
func (a *Agent) checkJava(version string) string {
	host, _ := os.Hostname()
	where := fmt.Sprintf("host %s", host)
	if a.cfg.Host != "" {
		where += " (" + a.cfg.Host + ")"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	java, err := spark.FindJava(ctx)
	if err != nil {
		return where + ": " + err.Error()
	}
	rel, err := spark.ResolveRelease("spark-" + version)
	if err != nil {
		return ""
	}
	if err := rel.CheckJava(java); err != nil {
		return where + ": " + err.Error()
	}
	return ""
}

// freePorts returns k distinct ports free on host now.
func freePorts(host string, k int) ([]int, error) {
	var ports []int
	for range k {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// localAddrTowards is this host's address on the route to the control
// plane at serverURL.
func localAddrTowards(ctx context.Context, serverURL string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", err
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
		if err == nil {
			defer c.Close()
			return c.LocalAddr().(*net.TCPAddr).IP.String(), nil
		}
		select { // the control plane may be restarting: as for every call
		case <-ctx.Done():
			return "", fmt.Errorf("reach the control plane at %s: %w", serverURL, err)
		case <-time.After(time.Second):
		}
	}
}
