package web_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/api"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/spark"
	"github.com/hearthcluster/hearth/store/sqlite"
	"github.com/hearthcluster/hearth/web"
)

const adminToken = "hat_test-admin-token"

// fakeProvisioner launches nothing: these tests need clusters in the
// store, not running ones.
type fakeProvisioner struct{}

func (fakeProvisioner) Name() string                                               { return "local" }
func (fakeProvisioner) Place(context.Context, *hearth.Cluster, *hearth.Node) error { return nil }
func (fakeProvisioner) Launch(context.Context, *hearth.Node, map[string]string) ([]byte, error) {
	return nil, errors.New("the fake provisioner launches nothing")
}
func (fakeProvisioner) Terminate(context.Context, *hearth.Node) error     { return nil }
func (fakeProvisioner) Alive(context.Context, *hearth.Node) (bool, error) { return false, nil }
func (fakeProvisioner) Host() (hearth.HostCapacity, error) {
	return hearth.HostCapacity{CPUs: 64, MemoryMB: 256 << 10}, nil
}

// tenv is a control plane (no reconcile loop) with the combined router of
// the API and the console on one listener and the UI gateway on another,
// and one cluster with one step.
type tenv struct {
	t       *testing.T
	cp      *control.Server
	api     *api.Server
	console *web.Server
	srv     *httptest.Server // the console and the API
	gw      *httptest.Server // the UI gateway
	cluster *hearth.Cluster
	step    string
}

// port is the port s listens on.
func port(s *httptest.Server) int { return s.Listener.Addr().(*net.TCPAddr).Port }

func newEnv(t *testing.T, tls bool) *tenv {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cp := control.New(control.Config{
		Store:        store,
		Provisioners: []hearth.Provisioner{fakeProvisioner{}},
		Locator:      &spark.Locator{CacheDir: t.TempDir(), Logger: log},
		FindJava: func(context.Context) (spark.Java, error) {
			return spark.Java{Path: "/usr/bin/java", Home: "/usr", Major: 17, Version: "17.0.15"}, nil
		},
		LogDir:    t.TempDir(),
		MasterKey: key,
		URL:       "http://127.0.0.1:1",
		Logger:    log,
	})
	a := api.New(cp, adminToken, "us-east-1", log)
	e := &tenv{t: t, cp: cp, api: a, srv: httptest.NewUnstartedServer(nil), gw: httptest.NewUnstartedServer(nil)}
	e.console = web.New(web.Config{Control: cp, API: a, Logger: log, ConsolePort: port(e.srv), GatewayPort: port(e.gw)})
	e.srv.Config.Handler, e.gw.Config.Handler = e.console.Handler(), e.console.GatewayHandler()
	for _, s := range []*httptest.Server{e.srv, e.gw} {
		if tls {
			s.StartTLS()
		} else {
			s.Start()
		}
		t.Cleanup(s.Close)
	}
	e.cluster = e.createCluster(hearth.ClusterSpec{Name: "secret-cluster-name"})
	ids, err := cp.AddSteps(ctx, e.cluster.Id, []hearth.StepConfig{{
		Name: "secret-step-name", HadoopJarStep: hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: []string{"echo", "hi"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.step = ids[0]
	return e
}

func (e *tenv) createCluster(spec hearth.ClusterSpec) *hearth.Cluster {
	e.t.Helper()
	if spec.InstanceGroups == nil {
		spec.InstanceGroups, _ = hearth.InstanceGroupsFromCount("local.small", 3)
	}
	c, err := e.cp.CreateCluster(context.Background(), spec)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// client is a browser without a session that does not follow redirects.
func (e *tenv) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := *e.srv.Client() // a copy: the server's client is shared
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// do sends a request to the console and returns the response with its
// body read.
func (e *tenv) do(c *http.Client, method, path string, form url.Values, header map[string]string) (*http.Response, string) {
	e.t.Helper()
	return e.send(c, method, e.srv.URL+path, form, header)
}

// gdo is do on the gateway's origin.
func (e *tenv) gdo(c *http.Client, method, path string, form url.Values, header map[string]string) (*http.Response, string) {
	e.t.Helper()
	return e.send(c, method, e.gw.URL+path, form, header)
}

func (e *tenv) send(c *http.Client, method, u string, form url.Values, header map[string]string) (*http.Response, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs a fresh browser in with the admin token and returns it with
// its session's CSRF token.
func (e *tenv) login() (*http.Client, string) {
	e.t.Helper()
	c := e.client()
	_, page := e.do(c, "GET", "/login", nil, nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no CSRF token in the login page:\n%s", page)
	}
	resp, body := e.do(c, "POST", "/login", url.Values{"csrf": {m[1]}, "token": {adminToken}, "next": {"/"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		e.t.Fatalf("login: %s, Location %q\n%s", resp.Status, resp.Header.Get("Location"), body)
	}
	_, page = e.do(c, "GET", "/", nil, nil)
	m = csrfField.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no CSRF token in the clusters page:\n%s", page)
	}
	return c, m[1]
}

// path fills a route pattern's wildcards with the test's cluster and step.
func (e *tenv) path(pattern string) string {
	if pattern == "/" {
		return "/no-route-here" // the catch-all
	}
	r := strings.NewReplacer("{id}", e.cluster.Id, "{step}", e.step, "{stream}", "stdout",
		"{file}", "console.css", "{path...}", "proxy/worker-1/", "{$}", "")
	return r.Replace(pattern)
}

// publicRoutes are the only console routes anyone may use without a
// credential: a new public route must be added here on purpose.
var publicRoutes = map[string]bool{"GET /login": true, "GET /static/{file}": true}

// route is one entry of the combined route table, whatever its origin.
type route struct {
	method, pattern string
	apiAuth         *api.Auth
	webAuth         *web.Auth
	gateway         bool // served on the gateway's origin
}

func (e *tenv) routes() []route {
	var out []route
	for _, rt := range e.api.Routes() {
		out = append(out, route{method: rt.Method, pattern: rt.Pattern, apiAuth: &rt.Auth})
	}
	for _, rt := range e.console.Routes() {
		out = append(out, route{method: rt.Method, pattern: rt.Pattern, webAuth: &rt.Auth})
	}
	for _, rt := range e.console.GatewayRoutes() {
		out = append(out, route{method: rt.Method, pattern: rt.Pattern, webAuth: &rt.Auth, gateway: true})
	}
	return out
}

// TestEveryRouteRefusesAnonymous walks the combined route table of the API,
// the console and the UI gateway: no request without a credential gets
// anything but a refusal (401/403) or the way to the login page.
func TestEveryRouteRefusesAnonymous(t *testing.T) {
	e := newEnv(t, false)
	var public []string
	for _, rt := range e.routes() {
		methods := []string{rt.method}
		if rt.method == "" {
			methods = []string{"GET", "POST", "PUT", "DELETE"}
		}
		key := rt.method + " " + rt.pattern
		if rt.webAuth != nil && *rt.webAuth == web.AuthPublic {
			public = append(public, key)
			if !publicRoutes[key] {
				t.Errorf("%s is public; only %v may be", key, publicRoutes)
			}
			continue
		}
		for _, m := range methods {
			for _, accept := range []string{"text/html", "application/json"} {
				name := m + " " + rt.pattern + " Accept:" + accept
				t.Run(name, func(t *testing.T) {
					header := map[string]string{"Accept": accept}
					if rt.apiAuth != nil && *rt.apiAuth == api.AuthSigV4 {
						header["X-Amz-Target"] = "ElasticMapReduce.ListClusters"
						header["Content-Type"] = "application/x-amz-json-1.1"
					}
					var form url.Values
					if m != "GET" {
						form = url.Values{"csrf": {"guess"}, "name": {"x"}}
					}
					do := e.do
					if rt.gateway {
						do = e.gdo
					}
					resp, body := do(e.client(), m, e.path(rt.pattern), form, header)
					e.assertRefused(t, resp, body)
				})
			}
		}
	}
	if len(public) != len(publicRoutes) {
		t.Errorf("public routes %v, want %v", public, publicRoutes)
	}
	// Paths no route names fall to the catch-all, which refuses too.
	for _, p := range []string{"/environment/", "/logPage/?self&logType=out", "/api/v1/nope", "/clusters/" + e.cluster.Id + "/ui/proxy/app-1/jobs/", "/nope"} {
		t.Run("GET "+p, func(t *testing.T) {
			resp, body := e.do(e.client(), "GET", p, nil, map[string]string{"Accept": "text/html", "Referer": e.srv.URL + "/clusters/" + e.cluster.Id + "/ui/"})
			e.assertRefused(t, resp, body)
			resp, body = e.gdo(e.client(), "GET", p, nil, map[string]string{"Accept": "text/html", "Referer": e.gw.URL + "/clusters/" + e.cluster.Id + "/ui/"})
			e.assertRefused(t, resp, body)
		})
	}
}

func (e *tenv) assertRefused(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
	case http.StatusSeeOther, http.StatusFound:
		// The gateway sends a browser to the console for a grant; the
		// console sends it to the login page.
		loc := resp.Header.Get("Location")
		toConsole := strings.HasPrefix(loc, e.srv.URL+"/clusters/") && strings.HasPrefix(resp.Request.URL.String(), e.gw.URL)
		if !strings.HasPrefix(loc, "/login") && !toConsole {
			t.Errorf("%s to %q, want a refusal or the login page", resp.Status, loc)
		}
	default:
		t.Errorf("%s, want 401, 403 or a redirect to /login; body:\n%.300s", resp.Status, body)
	}
	for _, secret := range []string{e.cluster.Id, "secret-cluster-name", "secret-step-name", e.step} {
		if strings.Contains(body, secret) && !strings.Contains(resp.Header.Get("Location"), secret) {
			t.Errorf("the refusal shows %q:\n%.300s", secret, body)
		}
	}
}

// TestRoutesServeWithSession is the other half of the walk: with a session
// every read-only console route answers (so the refusals above are the
// credential's doing, not broken routes).
func TestRoutesServeWithSession(t *testing.T) {
	e := newEnv(t, false)
	c, _ := e.login()
	for _, rt := range e.console.Routes() {
		if rt.Method != "GET" {
			continue
		}
		t.Run(rt.Pattern, func(t *testing.T) {
			resp, body := e.do(c, "GET", e.path(rt.Pattern), nil, map[string]string{"Accept": "text/html"})
			want := http.StatusOK
			if rt.Pattern == "/login" || gatewayPattern(e.console, rt.Pattern) {
				want = http.StatusSeeOther // already logged in; to the gateway
			}
			if resp.StatusCode != want {
				t.Errorf("%s, want %d:\n%.500s", resp.Status, want, body)
			}
		})
	}
	// The gateway answers a session it was granted (the cluster has no
	// Spark UI yet: 409 saying so) and a bearer token; a wrong token is
	// refused.
	gw := "/clusters/" + e.cluster.Id + "/ui/"
	e.enterGateway(c)
	if resp, body := e.gdo(c, "GET", gw, nil, map[string]string{"Accept": "text/html"}); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "not up yet") {
		t.Errorf("gateway with a session: %s\n%.300s", resp.Status, body)
	}
	if resp, body := e.gdo(e.client(), "GET", gw, nil, map[string]string{"Authorization": "Bearer " + adminToken}); resp.StatusCode != http.StatusConflict {
		t.Errorf("gateway with the admin token: %s\n%.300s", resp.Status, body)
	}
	if resp, _ := e.gdo(e.client(), "GET", gw, nil, map[string]string{"Authorization": "Bearer wrong"}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("gateway with a wrong token: %s, want 401", resp.Status)
	}
}

// TestStateChangingRoutesNeedCSRF: every console route that changes state
// is declared AuthForm (or is the login form), and refuses a request
// without the session's CSRF token, with a wrong one, or from another site.
func TestStateChangingRoutesNeedCSRF(t *testing.T) {
	e := newEnv(t, false)
	c, csrf := e.login()
	for _, rt := range e.console.Routes() {
		if rt.Method == "GET" || rt.Method == "" {
			continue
		}
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			if rt.Auth != web.AuthForm && rt.Auth != web.AuthLogin {
				t.Fatalf("a %s route is %v; state-changing routes must be AuthForm", rt.Method, rt.Auth)
			}
			if rt.Auth == web.AuthLogin {
				resp, _ := e.do(e.client(), rt.Method, rt.Pattern, url.Values{"csrf": {"guess"}, "token": {adminToken}}, nil)
				if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) > 0 && resp.Cookies()[0].Name == "hearth_session" {
					t.Errorf("login without its CSRF cookie: %s, cookies %v", resp.Status, resp.Cookies())
				}
				return
			}
			for _, tc := range []struct {
				name   string
				form   url.Values
				header map[string]string
			}{
				{"no token", url.Values{}, nil},
				{"wrong token", url.Values{"csrf": {csrf + "x"}}, nil},
				{"other site", url.Values{"csrf": {csrf}}, map[string]string{"Origin": "https://evil.example"}},
			} {
				resp, body := e.do(c, rt.Method, e.path(rt.Pattern), tc.form, tc.header)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s: %s, want 403\n%.300s", tc.name, resp.Status, body)
				}
			}
		})
	}
	// With the token the forms work: here, terminate.
	resp, body := e.do(c, "POST", "/clusters/"+e.cluster.Id+"/terminate", url.Values{"csrf": {csrf}}, map[string]string{"Origin": e.srv.URL})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("terminate with the token: %s\n%s", resp.Status, body)
	}
	got, _ := e.cp.DescribeCluster(context.Background(), e.cluster.Id)
	if got.Cluster.Status.State != hearth.ClusterTerminating {
		t.Errorf("after terminate: %s", got.Cluster.Status.State)
	}
}

var postForm = regexp.MustCompile(`(?is)<form[^>]*method="post"[^>]*>.*?</form>`)

// TestEveryFormCarriesCSRFToken renders every page with forms and checks
// each POST form has the session's token.
func TestEveryFormCarriesCSRFToken(t *testing.T) {
	e := newEnv(t, false)
	c, csrf := e.login()
	seen := 0
	for _, p := range []string{"/", "/clusters/new", "/clusters/" + e.cluster.Id, "/clusters/" + e.cluster.Id + "/steps/" + e.step, "/clusters/" + e.cluster.Id + "/terminate"} {
		_, page := e.do(c, "GET", p, nil, nil)
		for _, form := range postForm.FindAllString(page, -1) {
			seen++
			if !strings.Contains(form, `name="csrf" value="`+csrf+`"`) {
				t.Errorf("%s: a form without the CSRF token:\n%s", p, form)
			}
		}
	}
	// logout on every page, create, add step, cancel step, terminate
	if seen < 8 {
		t.Errorf("saw %d POST forms; the pages lost some", seen)
	}
}

// TestSessionCookie: HttpOnly, SameSite=Strict, Secure over TLS; logout
// ends the session on the server, not only in the browser.
func TestSessionCookie(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[tls], func(t *testing.T) {
			e := newEnv(t, tls)
			c := e.client()
			resp, page := e.do(c, "GET", "/login", nil, nil)
			assertCookie(t, resp, "hearth_login", tls)
			m := csrfField.FindStringSubmatch(page)
			resp, _ = e.do(c, "POST", "/login", url.Values{"csrf": {m[1]}, "token": {adminToken}}, nil)
			session := assertCookie(t, resp, "hearth_session", tls)
			if session == nil {
				return
			}
			if session.Path != "/" {
				t.Errorf("session cookie path %q", session.Path)
			}
			// The cookie alone, replayed after logout, opens nothing.
			_, page = e.do(c, "GET", "/", nil, nil)
			csrf := csrfField.FindStringSubmatch(page)[1]
			e.do(c, "POST", "/logout", url.Values{"csrf": {csrf}}, nil)
			replay := e.client()
			u, _ := url.Parse(e.srv.URL)
			replay.Jar.SetCookies(u, []*http.Cookie{{Name: "hearth_session", Value: session.Value}})
			resp, _ = e.do(replay, "GET", "/", nil, map[string]string{"Accept": "text/html"})
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
				t.Errorf("a logged-out session still works: %s", resp.Status)
			}
		})
	}
}

func assertCookie(t *testing.T, resp *http.Response, name string, secure bool) *http.Cookie {
	t.Helper()
	for _, ck := range resp.Cookies() {
		if ck.Name != name {
			continue
		}
		if !ck.HttpOnly {
			t.Errorf("%s is not HttpOnly", name)
		}
		if ck.SameSite != http.SameSiteStrictMode {
			t.Errorf("%s SameSite = %v, want Strict", name, ck.SameSite)
		}
		if ck.Secure != secure {
			t.Errorf("%s Secure = %v, want %v", name, ck.Secure, secure)
		}
		return ck
	}
	t.Errorf("no %s cookie set (%v)", name, resp.Header["Set-Cookie"])
	return nil
}

// TestLogin: a wrong credential is refused with a reason; an access key
// logs in, and deleting the key ends its sessions.
func TestLogin(t *testing.T) {
	e := newEnv(t, false)
	login := func(form url.Values) (*http.Client, *http.Response, string) {
		c := e.client()
		_, page := e.do(c, "GET", "/login?next=/clusters/new", nil, nil)
		form.Set("csrf", csrfField.FindStringSubmatch(page)[1])
		resp, body := e.do(c, "POST", "/login", form, nil)
		return c, resp, body
	}
	if _, resp, body := login(url.Values{"token": {"wrong"}}); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong admin token") {
		t.Errorf("wrong token: %s\n%.300s", resp.Status, body)
	}
	if _, resp, _ := login(url.Values{"token": {adminToken}, "next": {"https://evil.example/"}}); resp.Header.Get("Location") != "/" {
		t.Errorf("login redirected off-site to %q", resp.Header.Get("Location"))
	}
	k, secret, err := e.cp.CreateAccessKey(context.Background(), "console")
	if err != nil {
		t.Fatal(err)
	}
	if _, resp, body := login(url.Values{"access_key_id": {k.AccessKeyId}, "secret": {secret + "x"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong secret: %s\n%.300s", resp.Status, body)
	}
	c, resp, body := login(url.Values{"access_key_id": {k.AccessKeyId}, "secret": {secret}, "next": {"/clusters/new"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/clusters/new" {
		t.Fatalf("access key login: %s to %q\n%.300s", resp.Status, resp.Header.Get("Location"), body)
	}
	if resp, page := e.do(c, "GET", "/", nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, k.AccessKeyId) {
		t.Errorf("with an access key session: %s", resp.Status)
	}
	if err := e.cp.DeleteAccessKey(context.Background(), k.AccessKeyId); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do(c, "GET", "/", nil, map[string]string{"Accept": "text/html"}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the session of a deleted access key still works: %s", resp.Status)
	}
}

// TestActions: create a cluster and add a step from the forms; a refused
// action (terminating a protected cluster, an invalid step) shows why.
func TestActions(t *testing.T) {
	e := newEnv(t, false)
	c, csrf := e.login()
	resp, body := e.do(c, "POST", "/clusters", url.Values{"csrf": {csrf}, "name": {"from the form"}, "release_label": {"spark-4.0.1"},
		"master_type": {"local.small"}, "core_count": {"2"}, "core_type": {"local.medium"}, "tags": {"team=web"},
		"termination_protected": {"1"}, "step_concurrency_level": {"1"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %s\n%s", resp.Status, body)
	}
	id := strings.TrimPrefix(resp.Header.Get("Location"), "/clusters/")
	v, err := e.cp.DescribeCluster(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	cl := v.Cluster
	if cl.Name != "from the form" || len(cl.InstanceGroups) != 2 || cl.InstanceGroups[1].InstanceType != "local.medium" ||
		cl.InstanceGroups[1].RequestedInstanceCount != 2 || !cl.TerminationProtected || len(cl.Tags) != 1 {
		t.Errorf("created %+v", cl)
	}
	_, page := e.do(c, "GET", "/clusters/"+id, nil, nil)
	want := "hearth create-cluster \\\n    --name &#39;from the form&#39; \\\n    --release-label spark-4.0.1 \\\n    --instance-groups InstanceGroupType=MASTER,InstanceCount=1,InstanceType=local.small InstanceGroupType=CORE,InstanceCount=2,InstanceType=local.medium \\\n    --tags team=web \\\n    --termination-protected"
	if !strings.Contains(page, want) {
		t.Errorf("the cluster page does not show the equivalent command %q:\n%s", want, page)
	}

	resp, body = e.do(c, "POST", "/clusters/"+id+"/terminate", url.Values{"csrf": {csrf}}, map[string]string{"Accept": "text/html"})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "protect") || !strings.Contains(body, "--no-termination-protected") {
		t.Errorf("terminate a protected cluster: %s\n%s", resp.Status, body)
	}

	resp, body = e.do(c, "POST", "/clusters/"+id+"/steps", url.Values{"csrf": {csrf}, "type": {"SPARK"}, "name": {"no app"}}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "give the application to submit") || !strings.Contains(body, `value="no app"`) {
		t.Errorf("invalid step: %s\n%s", resp.Status, body)
	}
	resp, body = e.do(c, "POST", "/clusters/"+id+"/steps", url.Values{"csrf": {csrf}, "type": {"CUSTOM_JAR"}, "name": {"echo"},
		"jar": {"command-runner.jar"}, "args": {"echo\r\nhello world\r\n"}, "action_on_failure": {"CONTINUE"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add step: %s\n%s", resp.Status, body)
	}
	stepID := strings.TrimPrefix(resp.Header.Get("Location"), "/clusters/"+id+"/steps/")
	st, err := e.cp.DescribeStep(context.Background(), id, stepID)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(st.Config.Args, "|"); got != "echo|hello world" || st.Config.Jar != "command-runner.jar" {
		t.Errorf("step runs %s %q", st.Config.Jar, got)
	}
	_, page = e.do(c, "GET", resp.Header.Get("Location"), nil, nil)
	if !strings.Contains(page, `hearth add-steps --cluster-id `+id) {
		t.Errorf("the step page does not show the equivalent command:\n%s", page)
	}

	resp, body = e.do(c, "POST", "/clusters/"+id+"/steps/"+stepID+"/cancel", url.Values{"csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %s\n%s", resp.Status, body)
	}
	if st, _ := e.cp.DescribeStep(context.Background(), id, stepID); st.Status.State != hearth.StepCancelled {
		t.Errorf("after cancel: %s", st.Status.State)
	}
	resp, body = e.do(c, "POST", "/clusters/"+id+"/steps/"+stepID+"/cancel", url.Values{"csrf": {csrf}}, map[string]string{"Accept": "text/html"})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "CANCELLED") {
		t.Errorf("cancel twice: %s\n%s", resp.Status, body)
	}
}

// TestFailuresShowTheirReason: a failed cluster and a failed step say why
// on their pages and in the list.
func TestFailuresShowTheirReason(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	now := time.Now()
	if _, err := e.cp.Store().UpdateStep(ctx, e.cluster.Id, e.step, func(st *hearth.Step) error {
		st.SetState(hearth.StepRunning, "", now)
		st.SetState(hearth.StepFailed, "Step failed", now)
		st.Status.FailureDetails = &hearth.FailureDetails{Reason: "ValueError", Message: "ValueError: the input was empty", LogFile: "stderr"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cp.Store().UpdateCluster(ctx, e.cluster.Id, func(c *hearth.Cluster) error {
		return c.Terminate(hearth.StateChangeReason{Code: hearth.ReasonInstanceFailure, Message: "Node i-123 (MASTER) failed: java exited 1"}, now)
	}); err != nil {
		t.Fatal(err)
	}
	c, _ := e.login()
	for _, p := range []string{"/", "/clusters/" + e.cluster.Id} {
		if _, page := e.do(c, "GET", p, nil, nil); !strings.Contains(page, "INSTANCE_FAILURE") || !strings.Contains(page, "java exited 1") {
			t.Errorf("%s does not show the cluster's failure:\n%s", p, page)
		}
	}
	for _, p := range []string{"/clusters/" + e.cluster.Id, "/clusters/" + e.cluster.Id + "/steps/" + e.step} {
		if _, page := e.do(c, "GET", p, nil, nil); !strings.Contains(page, "ValueError: the input was empty") {
			t.Errorf("%s does not show the step's failure:\n%s", p, page)
		}
	}
}

// TestBootstrapOutputShown: the cluster page shows each node's bootstrap
// action results, a failed one with its stderr.
func TestBootstrapOutputShown(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	if _, err := e.cp.Store().UpdateCluster(ctx, e.cluster.Id, func(c *hearth.Cluster) error {
		c.BootstrapActions = []hearth.BootstrapAction{{Name: "Install NLTK", ScriptBootstrapAction: hearth.ScriptAction{Path: "/opt/nltk.sh"}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	nodes, err := e.cp.Store().Nodes(ctx, e.cluster.Id)
	if err != nil || len(nodes) == 0 {
		t.Fatalf("nodes: %v", err)
	}
	if _, err := e.cp.Store().UpdateNode(ctx, nodes[0].Id, func(n *hearth.Node) error {
		n.Observed.Bootstrap = []hearth.BootstrapResult{{Index: 1, Name: "Install NLTK", Path: "/opt/nltk.sh", ExitCode: 3, Stdout: "downloading stopwords", Stderr: "pip: no network"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c, _ := e.login()
	_, page := e.do(c, "GET", "/clusters/"+e.cluster.Id, nil, nil)
	for _, want := range []string{"Bootstrap actions", "Install NLTK", "exit 3", "downloading stopwords", "pip: no network"} {
		if !strings.Contains(page, want) {
			t.Errorf("cluster page lacks %q", want)
		}
	}
}
