package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth/web"
)

// gatewayPattern reports whether a console route is one of the gateway's
// old paths, which the console now only redirects.
func gatewayPattern(s *web.Server, pattern string) bool {
	for _, rt := range s.GatewayRoutes() {
		if rt.Pattern == pattern && pattern != "/" {
			return true
		}
	}
	return false
}

// grantFor asks the console (as browser c) for the gateway path p and
// returns the grant URL it redirects to.
func (e *tenv) grantFor(c *http.Client, p string) string {
	e.t.Helper()
	resp, body := e.do(c, "GET", p, nil, map[string]string{"Accept": "text/html"})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, e.gw.URL+"/hearth/grant?grant=") {
		e.t.Fatalf("the console's %s: %s to %q, want the gateway's grant\n%.300s", p, resp.Status, loc, body)
	}
	return loc
}

// enterGateway gives browser c (logged in to the console) a gateway
// session the way a click on a UI link does.
func (e *tenv) enterGateway(c *http.Client) {
	e.t.Helper()
	p := "/clusters/" + e.cluster.Id + "/ui/"
	resp, body := e.send(c, "GET", e.grantFor(c, p), nil, map[string]string{"Accept": "text/html"})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != p {
		e.t.Fatalf("grant exchange: %s to %q\n%s", resp.Status, resp.Header.Get("Location"), body)
	}
	ck := assertCookieAttrs(e.t, resp, "hearth_gateway", http.SameSiteLaxMode, e.gw.TLS != nil)
	if ck == nil {
		e.t.Fatal("no gateway cookie")
	}
}

func assertCookieAttrs(t *testing.T, resp *http.Response, name string, sameSite http.SameSite, secure bool) *http.Cookie {
	t.Helper()
	for _, ck := range resp.Cookies() {
		if ck.Name != name {
			continue
		}
		if !ck.HttpOnly || ck.SameSite != sameSite || ck.Secure != secure || ck.Path != "/" {
			t.Errorf("%s: HttpOnly %v, SameSite %v, Secure %v, Path %q", name, ck.HttpOnly, ck.SameSite, ck.Secure, ck.Path)
		}
		return ck
	}
	t.Errorf("no %s cookie in %v", name, resp.Cookies())
	return nil
}

// TestConsoleNoLongerProxies: the console's origin serves no Spark UI; it
// sends a logged-in browser to the gateway with a grant, and refuses the
// rest.
func TestConsoleNoLongerProxies(t *testing.T) {
	e := newEnv(t, false)
	prefix := "/clusters/" + e.cluster.Id + "/ui"
	m := newFakeMaster(t, prefix)
	e.ready(m.URL)
	c, _ := e.login()
	for _, p := range []string{prefix, prefix + "/", prefix + "/json/", prefix + "/proxy/worker-1/?x=1", "/clusters/" + e.cluster.Id + "/hs/", "/clusters/" + e.cluster.Id + "/jupyter/lab"} {
		e.grantFor(c, p)
	}
	n := m.count()
	for _, tc := range []struct{ method, path string }{{"POST", prefix + "/app/kill/"}, {"PUT", prefix + "/"}, {"DELETE", prefix + "/json/"}} {
		if resp, _ := e.do(c, tc.method, tc.path, url.Values{"id": {"app-1"}}, map[string]string{"Origin": e.srv.URL}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s on the console: %s, want 404", tc.method, tc.path, resp.Status)
		}
	}
	// The admin token is no key to Spark through the console either.
	if resp, _ := e.do(e.client(), "GET", prefix+"/json/", nil, map[string]string{"Authorization": "Bearer " + adminToken}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bearer on the console's gateway path: %s, want 401", resp.Status)
	}
	if m.count() != n {
		t.Errorf("the console reached Spark %d times", m.count()-n)
	}
	// The cluster page links to the gateway's origin.
	_, page := e.do(c, "GET", "/clusters/"+e.cluster.Id, nil, nil)
	if !strings.Contains(page, `href="`+e.gw.URL+prefix+`/"`) {
		t.Errorf("the cluster page does not link to the gateway's origin %s", e.gw.URL)
	}
}

// TestGatewayServesNothingOfTheConsole: no API, no console page, no CSRF
// token on the gateway's origin, even for a browser that holds both
// cookies.
func TestGatewayServesNothingOfTheConsole(t *testing.T) {
	e := newEnv(t, false)
	c, csrf := e.login()
	e.enterGateway(c)
	for _, p := range []string{"/", "/login", "/clusters/new", "/clusters/" + e.cluster.Id, "/api/v1/clusters", "/static/console.js", "/clusters/" + e.cluster.Id + "/ui/nope"} {
		for _, h := range []map[string]string{{"Accept": "text/html"}, {"Authorization": "Bearer " + adminToken}} {
			resp, body := e.gdo(c, "GET", p, nil, h)
			if strings.Contains(body, csrf) || strings.Contains(body, "secret-cluster-name") || strings.Contains(body, `name="csrf"`) {
				t.Errorf("GET %s on the gateway shows the console:\n%.300s", p, body)
			}
			if resp.StatusCode < 400 && resp.StatusCode != http.StatusFound {
				t.Errorf("GET %s on the gateway: %s", p, resp.Status)
			}
		}
	}
	// A state-changing console request sent to the gateway's port.
	resp, _ := e.gdo(c, "POST", "/clusters/"+e.cluster.Id+"/terminate", url.Values{"csrf": {csrf}}, map[string]string{"Origin": e.gw.URL})
	if resp.StatusCode < 400 {
		t.Errorf("terminate on the gateway: %s", resp.Status)
	}
	// Only the gateway's cookie counts there: the console's alone is
	// nothing.
	only := e.client()
	gu, _ := url.Parse(e.gw.URL)
	for _, ck := range c.Jar.Cookies(gu) {
		if ck.Name == "hearth_session" {
			only.Jar.SetCookies(gu, []*http.Cookie{ck})
		}
	}
	if resp, _ := e.gdo(only, "GET", "/clusters/"+e.cluster.Id+"/ui/", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the console's cookie on the gateway: %s, want 401", resp.Status)
	}
}

// TestGatewayGrant: a grant opens the gateway once, soon, and only as
// signed; the gateway session ends with the console's.
func TestGatewayGrant(t *testing.T) {
	e := newEnv(t, false)
	c, csrf := e.login()
	p := "/clusters/" + e.cluster.Id + "/ui/"
	html := map[string]string{"Accept": "text/html"}
	exchange := func(c *http.Client, u string) *http.Response {
		resp, _ := e.send(c, "GET", u, nil, html)
		return resp
	}

	t.Run("single use", func(t *testing.T) {
		g := e.grantFor(c, p)
		if resp := exchange(e.client(), g); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != p {
			t.Fatalf("first use: %s to %q", resp.Status, resp.Header.Get("Location"))
		}
		resp := exchange(e.client(), g)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("replayed: %s, want 403", resp.Status)
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == "hearth_gateway" && ck.Value != "" {
				t.Errorf("a replayed grant set a gateway cookie")
			}
		}
	})
	t.Run("wrong signature", func(t *testing.T) {
		g := e.grantFor(c, p)
		u, _ := url.Parse(g)
		grant := u.Query().Get("grant")
		payload, sig, _ := strings.Cut(grant, ".")
		for name, forged := range map[string]string{
			"flipped signature": payload + "." + flip(sig),
			"other payload":     flip(payload) + "." + sig,
			"no signature":      payload,
			"empty":             "",
			"garbage":           "a.b.c",
		} {
			if resp := exchange(e.client(), e.gw.URL+"/hearth/grant?grant="+url.QueryEscape(forged)); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: %s, want 403", name, resp.Status)
			}
		}
		// The forgeries did not use the real grant up.
		if resp := exchange(e.client(), g); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("the genuine grant after forgeries: %s", resp.Status)
		}
	})
	t.Run("expired", func(t *testing.T) {
		g := e.grantFor(c, p)
		web.SetClock(e.console, func() time.Time { return time.Now().Add(31 * time.Second) })
		defer web.SetClock(e.console, time.Now)
		if resp := exchange(e.client(), g); resp.StatusCode != http.StatusForbidden {
			t.Errorf("after 31s: %s, want 403", resp.Status)
		}
	})
	t.Run("a grant is only a way in for the page it names", func(t *testing.T) {
		g := e.grantFor(c, p+"proxy/worker-1/?x=1")
		if resp := exchange(e.client(), g+"&next=https://evil.example/"); resp.Header.Get("Location") != p+"proxy/worker-1/?x=1" {
			t.Errorf("redirected to %q", resp.Header.Get("Location"))
		}
	})
	t.Run("logging out of the console ends the gateway session", func(t *testing.T) {
		e.enterGateway(c)
		if resp, _ := e.gdo(c, "GET", p, nil, nil); resp.StatusCode == http.StatusUnauthorized {
			t.Fatalf("with a gateway session: %s", resp.Status)
		}
		e.do(c, "POST", "/logout", url.Values{"csrf": {csrf}}, nil)
		if resp, _ := e.gdo(c, "GET", p, nil, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("after logout: %s, want 401", resp.Status)
		}
	})
	t.Run("without a gateway session a browser is sent to the console for one", func(t *testing.T) {
		resp, _ := e.gdo(e.client(), "GET", p+"proxy/worker-1/?x=1", nil, html)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != e.srv.URL+p+"proxy/worker-1/?x=1" {
			t.Errorf("%s to %q", resp.Status, loc)
		}
	})
}

func flip(s string) string {
	if s == "" {
		return "x"
	}
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

// TestGatewayOrigin: every gateway request that carries an Origin must
// carry the gateway's own, WebSocket upgrades included; a cookie-holding
// request that changes state must show where it comes from.
func TestGatewayOrigin(t *testing.T) {
	e := newEnv(t, false)
	prefix := "/clusters/" + e.cluster.Id + "/ui"
	m := newFakeMaster(t, prefix)
	e.ready(m.URL)
	c, _ := e.login()
	e.enterGateway(c)
	form := url.Values{"id": {"app-1"}}
	ws := map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
	with := func(h map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range h {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, tc := range []struct {
		name         string
		client       *http.Client
		method, path string
		form         url.Values
		header       map[string]string
		want         int
	}{
		{"GET from the gateway's own page", c, "GET", prefix + "/json/", nil, map[string]string{"Origin": e.gw.URL}, http.StatusOK},
		{"GET without Origin", c, "GET", prefix + "/json/", nil, nil, http.StatusOK},
		{"GET from the console's origin", c, "GET", prefix + "/json/", nil, map[string]string{"Origin": e.srv.URL}, http.StatusForbidden},
		{"GET from another site", c, "GET", prefix + "/json/", nil, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"GET from an opaque origin", c, "GET", prefix + "/json/", nil, map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"POST from the gateway's own page", c, "POST", prefix + "/app/kill/", form, map[string]string{"Origin": e.gw.URL}, http.StatusOK},
		{"POST from the console's origin", c, "POST", prefix + "/app/kill/", form, map[string]string{"Origin": e.srv.URL}, http.StatusForbidden},
		{"POST from another site", c, "POST", prefix + "/app/kill/", form, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"POST without Origin or Referer", c, "POST", prefix + "/app/kill/", form, nil, http.StatusForbidden},
		{"POST from another site with a bearer token", e.client(), "POST", prefix + "/app/kill/", form, map[string]string{"Origin": "https://evil.example", "Authorization": "Bearer " + adminToken}, http.StatusForbidden},
		{"POST with a bearer token, no Origin", e.client(), "POST", prefix + "/app/kill/", form, map[string]string{"Authorization": "Bearer " + adminToken}, http.StatusOK},
		{"WebSocket from the console's origin", c, "GET", prefix + "/ws", nil, with(ws, "Origin", e.srv.URL), http.StatusForbidden},
		{"WebSocket from another site", c, "GET", prefix + "/ws", nil, with(ws, "Origin", "https://evil.example"), http.StatusForbidden},
		{"WebSocket without Origin", c, "GET", prefix + "/ws", nil, ws, http.StatusForbidden},
		{"WebSocket without a session", e.client(), "GET", prefix + "/ws", nil, with(ws, "Origin", e.gw.URL), http.StatusUnauthorized},
		// The fake master speaks no WebSocket: 404 is its answer, so the
		// gateway let the upgrade through.
		{"WebSocket from the gateway's own page", c, "GET", prefix + "/ws", nil, with(ws, "Origin", e.gw.URL), http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := m.count()
			resp, body := e.gdo(tc.client, tc.method, tc.path, tc.form, tc.header)
			if resp.StatusCode != tc.want {
				t.Fatalf("%s, want %d\n%.300s", resp.Status, tc.want, body)
			}
			if reached := m.count() > n; reached != (tc.want < 400 || tc.want == http.StatusNotFound) {
				t.Errorf("reached Spark: %v", reached)
			}
			if m.count() > n && m.last().Header.Get("Origin") != "" {
				t.Errorf("the Origin reached Spark: %q", m.last().Header.Get("Origin"))
			}
		})
	}
}

func (m *fakeMaster) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.got)
}

// TestConsoleRefusesTheGatewaysOrigin: the gateway's origin is the same
// site to a browser (same host), so SameSite cookies do not keep its pages
// from posting to the console: the Origin check does, for the forms and
// the login alike.
func TestConsoleRefusesTheGatewaysOrigin(t *testing.T) {
	e := newEnv(t, false)
	c, csrf := e.login()
	resp, _ := e.do(c, "POST", "/clusters/"+e.cluster.Id+"/terminate", url.Values{"csrf": {csrf}}, map[string]string{"Origin": e.gw.URL})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("terminate from the gateway's origin with the token: %s, want 403", resp.Status)
	}
	fresh := e.client()
	_, page := e.do(fresh, "GET", "/login", nil, nil)
	m := csrfField.FindStringSubmatch(page)
	resp, _ = e.do(fresh, "POST", "/login", url.Values{"csrf": {m[1]}, "token": {adminToken}}, map[string]string{"Origin": e.gw.URL})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login from the gateway's origin: %s, want 403", resp.Status)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "hearth_session" && ck.Value != "" {
			t.Errorf("a login from the gateway's origin opened a session")
		}
	}
}
