//go:build integration

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/internal/pgtest"
)

// TestReplicas runs two `hearth server` replicas on one real PostgreSQL,
// sharing a home on this host (the local provisioner's nodes are
// processes here), with no load balancer: the CLI is given both URLs. A
// cluster is created through one replica and steps added through the
// other; the leader is killed with SIGKILL in the middle of a step. The
// other replica takes over, the step ends once with its whole log, the
// next one runs, and a console session made on the dead replica works on
// the survivor.
func TestReplicas(t *testing.T) {
	pg, err := pgtest.Start()
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := pg.Stop(); err != nil {
			t.Errorf("stop PostgreSQL: %v", err)
		}
	})
	db := pg.NewSchema(t)
	home := t.TempDir()
	replica := func(name string) *env {
		e := &env{t: t, home: home, logName: "server-" + name + ".log",
			serverArgs: []string{"--database", db, "--s3-listen", "none"}}
		e.addr = freeAddr(t)
		e.endpoint = "http://" + e.addr
		e.gateway = "http://" + freeAddr(t)
		e.startServer()
		return e
	}
	a, b := replica("a"), replica("b")
	both := &env{t: t, home: home, endpoint: a.endpoint + "," + b.endpoint}
	t.Cleanup(func() {
		for _, e := range []*env{a, b} {
			if e.server != nil { // a live replica ends the clusters
				e.terminateAll()
				break
			}
		}
		a.stopServer()
		b.stopServer()
		both.assertNoProcesses()
	})

	// Both replicas are up, one leads.
	var leader, follower *env
	deadline := time.Now().Add(30 * time.Second)
	for leader == nil {
		rs := decodeJSON[struct{ Replicas []control.ReplicaView }](t, both.ok("replicas")).Replicas
		if len(rs) == 2 && rs[0].Leading && !rs[1].Leading {
			leader, follower = a, b
			if rs[0].URL == b.endpoint {
				leader, follower = b, a
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no two replicas with one leader in 30s: %+v\nlog a:\n%s\nlog b:\n%s", rs, tailString(a.file(a.logName), 2000), tailString(b.file(b.logName), 2000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	session := consoleLogin(t, leader)

	// A server with another home (its own admin token and master key) is
	// refused: it could not read the replicas' access keys.
	stranger := &env{t: t, home: t.TempDir()}
	if r := stranger.hearth("server", "--database", db, "--listen", freeAddr(t), "--gateway-listen", freeAddr(t), "--s3-listen", "none"); r.code == 0 ||
		!strings.Contains(r.stderr, "admin.token differs from the one the other servers on this database use") {
		t.Errorf("a server with another admin token: exit %d\n%s", r.code, r.stderr)
	}

	// The cluster through the leader, the steps through the follower.
	id := decodeJSON[struct{ ClusterId string }](t, leader.ok("create-cluster", "--name", "replicated",
		"--instance-type", "local.small", "--instance-count", "1", "--wait")).ClusterId
	marks := filepath.Join(t.TempDir(), "marks")
	script := filepath.Join(t.TempDir(), "count.sh")
	os.WriteFile(script, []byte(`echo "$1 started" >> `+marks+`
for i in $(seq 1 $2); do echo "$1 line $i"; sleep 0.5; done
echo "$1 ended" >> `+marks+`
`), 0o755)
	step := func(name string, lines int) string {
		return fmt.Sprintf("Type=CUSTOM_JAR,Name=%s,ActionOnFailure=CONTINUE,Jar=command-runner.jar,Args=[bash,%s,%s,%d]", name, script, name, lines)
	}
	steps := follower.stepAdd(id, step("long", 16), step("next", 2))
	both.stepAwait(id, steps[0], "the step to be half way", shellStepTimeout, func(st *hearth.Step) bool {
		return st.Status.State == hearth.StepRunning && strings.Contains(both.stepLog(id, steps[0], "stdout"), "long line 4\n")
	})

	killed := time.Now()
	leader.killServer()
	for {
		rs := decodeJSON[struct{ Replicas []control.ReplicaView }](t, follower.ok("replicas")).Replicas
		if len(rs) > 0 && rs[0].Leading && rs[0].URL == follower.endpoint {
			t.Logf("the follower leads %.1fs after the leader was killed", time.Since(killed).Seconds())
			break
		}
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("the follower does not lead 30s after the leader was killed: %+v\nlog:\n%s", rs, tailString(follower.file(follower.logName), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The killed replica, restarted, follows.
	leader.startServer()
	for {
		rs := decodeJSON[struct{ Replicas []control.ReplicaView }](t, both.ok("replicas")).Replicas
		if len(rs) == 2 && rs[0].URL == follower.endpoint && rs[0].Leading && !rs[1].Leading {
			break
		}
		if time.Since(killed) > time.Minute {
			t.Fatalf("the restarted replica did not join as a follower: %+v", rs)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The CLI, given both URLs, reaches a replica whichever is first.
	for i, name := range []string{"long", "next"} {
		both.stepAwaitEnd(id, steps[i], hearth.StepCompleted, shellStepTimeout)
		var want strings.Builder
		for j := 1; j <= map[string]int{"long": 16, "next": 2}[name]; j++ {
			fmt.Fprintf(&want, "%s line %d\n", name, j)
		}
		if got := both.stepLog(id, steps[i], "stdout"); got != want.String() {
			t.Errorf("step %s's stdout:\n%s\nwant:\n%s", name, got, want.String())
		}
	}
	if got, _ := os.ReadFile(marks); string(got) != "long started\nlong ended\nnext started\nnext ended\n" {
		t.Errorf("the steps ran:\n%s\nwant each once, in order", got)
	}

	// The console session made on the dead replica works on the survivor.
	page := consoleGet(t, follower, "/clusters/"+id, session)
	if page.code != http.StatusOK || !strings.Contains(page.body, "replicated") {
		t.Errorf("the cluster's console page on the survivor, with the session made on the dead replica: %d\n%s", page.code, tailString(page.body, 1000))
	}
	if anon := consoleGet(t, follower, "/clusters/"+id, nil); anon.code == http.StatusOK {
		t.Errorf("the console page without a session: %d, want a refusal or a redirect to log in", anon.code)
	}
}

// consoleLogin logs in to e's console with the admin token and returns
// the session cookie.
func consoleLogin(t *testing.T, e *env) *http.Cookie {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.endpoint + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var form *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "hearth_login" {
			form = ck
		}
	}
	if form == nil {
		t.Fatal("the login page set no hearth_login cookie")
	}
	token := strings.TrimSpace(e.file("admin.token"))
	req, _ := http.NewRequest(http.MethodPost, e.endpoint+"/login", strings.NewReader(url.Values{"csrf": {form.Value}, "token": {token}, "next": {"/"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(form)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "hearth_session" && ck.Value != "" {
			return ck
		}
	}
	t.Fatalf("login answered %s without a session cookie", resp.Status)
	return nil
}

type page struct {
	code int
	body string
}

func consoleGet(t *testing.T, e *env, path string, session *http.Cookie) page {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, e.endpoint+path, nil)
	if session != nil {
		req.AddCookie(session)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(b)}
}
