package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/hearthcluster/hearth"
)

// fakeMaster stands in for a Spark master UI in reverse-proxy mode: its
// pages link with the gateway's prefix except for the few links Spark
// leaves without it, and it redirects to its own address.
type fakeMaster struct {
	*httptest.Server
	mu  sync.Mutex
	got []*http.Request
}

func newFakeMaster(t *testing.T, prefix string) *fakeMaster {
	m := &fakeMaster{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.got = append(m.got, r.Clone(context.Background()))
		m.mu.Unlock()
		switch {
		case r.URL.Path == "/json/":
			fmt.Fprint(w, `{"status":"ALIVE","aliveworkers":1,"workers":[{"id":"worker-1","host":"127.0.0.1","port":7078,"cores":1,"memory":1024,"state":"ALIVE"}],"activeapps":[{"id":"app-1","name":"wordcount","cores":1}]}`)
		case r.URL.Path == "/":
			w.Header().Set("Content-Type", "text/html;charset=utf-8")
			fmt.Fprintf(w, `<html><head><link href="%[1]s/static/webui.css" rel="stylesheet"></head><body>
<a href="%[1]s/proxy/worker-1">worker-1</a> <a href="/environment/">Environment</a>
<a href='/logPage/?self&amp;logType=out'>Log</a> <a href="//cdn.example/x.js">cdn</a> <a href="app/?appId=app-1">app</a>
</body></html>`, prefix)
		case r.URL.Path == "/proxy/worker-1/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<a href="%[1]s/proxy/worker-1/logPage/?appId=app-1&amp;executorId=0&amp;logType=stdout">stdout</a> <a href="/logPage/?self&amp;logType=out">Log</a>`, prefix)
		case r.URL.Path == "/proxy/app-1/":
			http.Redirect(w, r, m.URL+"/proxy/app-1/jobs/", http.StatusFound)
		case r.URL.Path == "/app/kill/":
			io.Copy(io.Discard, r.Body)
			fmt.Fprint(w, "killed")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *fakeMaster) last() *http.Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.got[len(m.got)-1]
}

// ready makes the test's cluster WAITING with its master UI at ui.
func (e *tenv) ready(ui string) {
	e.t.Helper()
	if _, err := e.cp.Store().UpdateCluster(context.Background(), e.cluster.Id, func(c *hearth.Cluster) error {
		c.Status.State = hearth.ClusterWaiting
		c.Spark.UIURL = ui + "/"
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

func TestGateway(t *testing.T) {
	e := newEnv(t, false)
	prefix := "/clusters/" + e.cluster.Id + "/ui"
	m := newFakeMaster(t, prefix)
	e.ready(m.URL)
	c, _ := e.login()
	e.enterGateway(c)
	html := map[string]string{"Accept": "text/html"}

	t.Run("master page, links kept inside", func(t *testing.T) {
		resp, body := e.gdo(c, "GET", prefix+"/", nil, html)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s\n%s", resp.Status, body)
		}
		for _, want := range []string{
			`href="` + prefix + `/static/webui.css"`, `href="` + prefix + `/proxy/worker-1"`,
			`href="` + prefix + `/environment/"`, `href='` + prefix + `/logPage/?self&amp;logType=out'`,
			`href="//cdn.example/x.js"`, `href="app/?appId=app-1"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %s:\n%s", want, body)
			}
		}
		if resp.ContentLength != int64(len(body)) {
			t.Errorf("Content-Length %d for %d bytes", resp.ContentLength, len(body))
		}
		got := m.last()
		if got.Header.Get("Cookie") != "" {
			t.Errorf("the console's credentials reached Spark: %v", got.Header)
		}
		// The gateway signs its own request for Spark's UI filter.
		if auth := got.Header.Get("Authorization"); !strings.HasPrefix(auth, "Bearer ey") || strings.Count(auth, ".") != 2 {
			t.Errorf("the request to Spark carries Authorization %q, want the gateway's signed token", auth)
		}
	})
	t.Run("a proxied worker's own links go under its proxy path", func(t *testing.T) {
		_, body := e.gdo(c, "GET", prefix+"/proxy/worker-1/", nil, html)
		for _, want := range []string{
			`href="` + prefix + `/proxy/worker-1/logPage/?appId=app-1&amp;executorId=0&amp;logType=stdout"`,
			`href="` + prefix + `/proxy/worker-1/logPage/?self&amp;logType=out"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %s:\n%s", want, body)
			}
		}
	})
	t.Run("redirects stay inside", func(t *testing.T) {
		resp, _ := e.gdo(c, "GET", prefix+"/proxy/app-1", nil, html)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != prefix+"/proxy/app-1/" {
			t.Errorf("no slash: %s to %q", resp.Status, loc)
		}
		resp, _ = e.gdo(c, "GET", prefix+"/proxy/app-1/", nil, html)
		if loc := resp.Header.Get("Location"); loc != prefix+"/proxy/app-1/jobs/" {
			t.Errorf("the master's own redirect went to %q", loc)
		}
		resp, _ = e.gdo(c, "GET", prefix, nil, html)
		if loc := resp.Header.Get("Location"); loc != prefix+"/" {
			t.Errorf("the bare prefix went to %q", loc)
		}
	})
	t.Run("an unprefixed link followed from a gateway page comes back", func(t *testing.T) {
		for referer, want := range map[string]string{
			prefix + "/":                             prefix + "/environment/?x=1",
			prefix + "/proxy/worker-1/x":             prefix + "/proxy/worker-1/environment/?x=1",
			"/clusters/" + e.cluster.Id:              "",
			"/clusters/" + e.cluster.Id + "/steps/x": "",
		} {
			resp, _ := e.gdo(c, "GET", "/environment/?x=1", nil, map[string]string{"Accept": "text/html", "Referer": e.gw.URL + referer})
			if got := resp.Header.Get("Location"); got != want {
				t.Errorf("from %s: %s to %q, want %q", referer, resp.Status, got, want)
			}
		}
	})
	t.Run("POST through the gateway only from the gateway's origin", func(t *testing.T) {
		form := url.Values{"id": {"app-1"}}
		if resp, _ := e.gdo(c, "POST", prefix+"/app/kill/", form, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("without Origin: %s, want 403", resp.Status)
		}
		if resp, _ := e.gdo(c, "POST", prefix+"/app/kill/", form, map[string]string{"Origin": "https://evil.example"}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("from another site: %s, want 403", resp.Status)
		}
		if resp, body := e.gdo(c, "POST", prefix+"/app/kill/", form, map[string]string{"Origin": e.gw.URL}); resp.StatusCode != http.StatusOK || body != "killed" {
			t.Errorf("from a gateway page: %s %q", resp.Status, body)
		}
	})
	t.Run("bearer token", func(t *testing.T) {
		resp, body := e.gdo(e.client(), "GET", prefix+"/json/", nil, map[string]string{"Authorization": "Bearer " + adminToken})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "aliveworkers") {
			t.Errorf("%s %s", resp.Status, body)
		}
	})
	t.Run("the cluster page lists workers and applications with gateway links", func(t *testing.T) {
		_, body := e.do(c, "GET", "/clusters/"+e.cluster.Id, nil, nil)
		for _, want := range []string{`href="` + e.gw.URL + prefix + `/proxy/worker-1/"`, `href="` + e.gw.URL + prefix + `/proxy/app-1/"`, "wordcount"} {
			if !strings.Contains(body, want) {
				t.Errorf("cluster page lacks %s", want)
			}
		}
	})
	t.Run("a master that does not answer", func(t *testing.T) {
		m.Close()
		resp, body := e.gdo(c, "GET", prefix+"/", nil, html)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "did not answer") {
			t.Errorf("%s\n%.400s", resp.Status, body)
		}
	})
}
