package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/api"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/spark"
	"github.com/hearthcluster/hearth/store/sqlite"
)

const (
	adminToken  = "admin-token"
	scrapeToken = "scrape-token"
)

// fakeProvisioner is a "local" provisioner that never starts anything:
// these tests need clusters in the store, not running ones.
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

// tenv is the native API over a control plane without a reconcile loop,
// with one access key.
type tenv struct {
	t             *testing.T
	cp            *control.Server
	url           string
	logDir        string
	keyID, secret string
}

func newEnv(t *testing.T) *tenv {
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
	e := &tenv{t: t, logDir: t.TempDir()}
	e.cp = control.New(control.Config{
		Store:        store,
		Provisioners: []hearth.Provisioner{fakeProvisioner{}},
		Locator:      &spark.Locator{CacheDir: t.TempDir(), Logger: log},
		FindJava: func(context.Context) (spark.Java, error) {
			return spark.Java{Path: "/usr/bin/java", Home: "/usr", Major: 17, Version: "17.0.15"}, nil
		},
		LogDir:    e.logDir,
		MasterKey: key,
		URL:       "http://127.0.0.1:1",
		Logger:    log,
	})
	a := api.New(e.cp, adminToken, "us-east-1", log)
	a.AcceptScrapeToken(scrapeToken)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	e.url = srv.URL
	k, secret, err := e.cp.CreateAccessKey(ctx, "api_test")
	if err != nil {
		t.Fatal(err)
	}
	e.keyID, e.secret = k.AccessKeyId, secret
	return e
}

// auth says how a request is authenticated.
type auth int

const (
	asAdmin   auth = iota // Authorization: Bearer <admin token>
	withKey               // SigV4 with the access key
	anonymous             // nothing
)

// do sends a request and returns the status and the error body (empty on
// success) and the raw body.
func (e *tenv) do(method, path string, body []byte, a auth) (int, api.ErrorBody, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	switch a {
	case asAdmin:
		req.Header.Set("Authorization", "Bearer "+adminToken)
	case withKey:
		sum := sha256.Sum256(body)
		creds := aws.Credentials{AccessKeyID: e.keyID, SecretAccessKey: e.secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "elasticmapreduce", "us-east-1", time.Now()); err != nil {
			e.t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var eb api.ErrorBody
	if resp.StatusCode >= 300 {
		if err := json.Unmarshal(raw, &eb); err != nil {
			e.t.Errorf("%s %s: error body is not JSON: %q", method, path, raw)
		}
	}
	return resp.StatusCode, eb, string(raw)
}

// refused asserts a refusal with status whose message starts with field
// (Hearth's "field: reason" convention) and mentions want.
func (e *tenv) refused(what string, status int, eb api.ErrorBody, wantStatus int, field, want string) {
	e.t.Helper()
	if status != wantStatus {
		e.t.Errorf("%s: status %d, want %d (%s: %s)", what, status, wantStatus, eb.Type, eb.Message)
	}
	if !strings.HasPrefix(eb.Message, field+": ") || !strings.Contains(eb.Message, want) {
		e.t.Errorf("%s: message %q, want it to name %s and mention %q", what, eb.Message, field, want)
	}
	if strings.Contains(eb.Message, e.logDir) {
		e.t.Errorf("%s: the message shows a server path: %q", what, eb.Message)
	}
}

func (e *tenv) clusterCount() int {
	e.t.Helper()
	cs, err := e.cp.ListClusters(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return len(cs)
}

func specJSON(t *testing.T, mutate func(*hearth.ClusterSpec)) []byte {
	t.Helper()
	spec := hearth.ClusterSpec{Name: "c", ReleaseLabel: "spark-4.0.1", AutoTerminate: false}
	spec.InstanceGroups, _ = hearth.InstanceGroupsFromCount("local.small", 2)
	if mutate != nil {
		mutate(&spec)
	}
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAccessKeysNeedTheAdminToken: an access key may use the API but not
// mint more keys or delete the others.
func TestAccessKeysNeedTheAdminToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	keys := func() int {
		ks, err := e.cp.ListAccessKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(ks)
	}

	st, eb, _ := e.do("POST", "/api/v1/access-keys", []byte(`{"Description":"minted"}`), withKey)
	e.refused("create with an access key", st, eb, http.StatusForbidden, "Authorization", "admin token")
	if eb.Type != "AccessDeniedException" {
		t.Errorf("create with an access key: type %q", eb.Type)
	}
	if n := keys(); n != 1 {
		t.Errorf("after a refused create there are %d keys, want 1", n)
	}

	st, eb, _ = e.do("DELETE", "/api/v1/access-keys/"+e.keyID, nil, withKey)
	e.refused("delete with an access key", st, eb, http.StatusForbidden, "Authorization", "admin token")
	if _, err := e.cp.SecretFor(ctx, e.keyID); err != nil {
		t.Errorf("the key is gone after a refused delete: %v", err)
	}

	st, eb, _ = e.do("POST", "/api/v1/access-keys", []byte(`{}`), anonymous)
	e.refused("create without a credential", st, eb, http.StatusUnauthorized, "Authorization", "credential")

	// The key still works where keys are meant to, and the admin token
	// manages keys.
	if st, eb, _ := e.do("GET", "/api/v1/clusters", nil, withKey); st != http.StatusOK {
		t.Errorf("list clusters with an access key: %d %s", st, eb.Message)
	}
	if st, eb, _ := e.do("POST", "/api/v1/access-keys", []byte(`{}`), asAdmin); st != http.StatusOK {
		t.Errorf("create with the admin token: %d %s", st, eb.Message)
	}
	if st, eb, _ := e.do("DELETE", "/api/v1/access-keys/"+e.keyID, nil, asAdmin); st != http.StatusOK {
		t.Errorf("delete with the admin token: %d %s", st, eb.Message)
	}
	if n := keys(); n != 1 {
		t.Errorf("after one create and one delete there are %d keys, want 1", n)
	}
}

// TestBodyTooLarge: a body over the limit is 413 naming the body, before
// any signature is judged, and nothing is created.
func TestBodyTooLarge(t *testing.T) {
	e := newEnv(t)
	big := specJSON(t, func(s *hearth.ClusterSpec) { s.Name = strings.Repeat("x", hearth.MaxRequestBytes+1024) })
	for _, a := range []auth{asAdmin, withKey} {
		st, eb, _ := e.do("POST", "/api/v1/clusters", big, a)
		e.refused(fmt.Sprintf("create (auth %d)", a), st, eb, http.StatusRequestEntityTooLarge, "body", "at most 8388608 bytes")
		if eb.Type != "RequestEntityTooLargeException" {
			t.Errorf("type %q", eb.Type)
		}
	}
	if n := e.clusterCount(); n != 0 {
		t.Errorf("%d clusters created", n)
	}
}

// TestOneJSONValue: bytes after the JSON body are refused, not ignored.
func TestOneJSONValue(t *testing.T) {
	e := newEnv(t)
	spec := specJSON(t, nil)
	for name, body := range map[string][]byte{
		"second object": append(append([]byte{}, spec...), `{"Name":"other"}`...),
		"garbage":       append(append([]byte{}, spec...), " junk"...),
		"closing brace": append(append([]byte{}, spec...), "}"...),
	} {
		for _, a := range []auth{asAdmin, withKey} {
			st, eb, _ := e.do("POST", "/api/v1/clusters", body, a)
			e.refused(fmt.Sprintf("%s (auth %d)", name, a), st, eb, http.StatusBadRequest, "body", "more data after the JSON value")
		}
	}
	if n := e.clusterCount(); n != 0 {
		t.Errorf("%d clusters created", n)
	}
	// Trailing white space is fine.
	if st, eb, _ := e.do("POST", "/api/v1/clusters", append(spec, " \n"...), asAdmin); st != http.StatusOK {
		t.Errorf("a body with a trailing newline: %d %s", st, eb.Message)
	}
}

// TestCreateClusterRefusals: the domain's rules reach the native API with
// the field named, and nothing is created.
func TestCreateClusterRefusals(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, field, want string
		mutate            func(*hearth.ClusterSpec)
	}{
		{"relative log-uri", "log-uri", "absolute", func(s *hearth.ClusterSpec) { s.LogUri = "logs" }},
		{"log-uri with ..", "log-uri", ".. components", func(s *hearth.ClusterSpec) { s.LogUri = "/tmp/../etc" }},
		{"log-uri with NUL", "log-uri", "control characters", func(s *hearth.ClusterSpec) { s.LogUri = "/tmp/a\x00b" }},
		{"newline in a configuration", `configurations[0].Properties["spark.driver.extraJavaOptions"]`, "spark-defaults", func(s *hearth.ClusterSpec) {
			s.Configurations = []hearth.Configuration{{Classification: "spark-defaults", Properties: map[string]string{"spark.driver.extraJavaOptions": "-Dx=1\nspark.evil=1"}}}
		}},
		{"newline in a group's configuration", `instance-groups[1].Configurations[0].Properties["spark.x"]`, "spark-defaults", func(s *hearth.ClusterSpec) {
			s.InstanceGroups[1].Configurations = []hearth.Configuration{{Classification: "spark-defaults", Properties: map[string]string{"spark.x": "a\rb"}}}
		}},
		{"257 steps", "steps", "at most 256 PENDING or RUNNING steps", func(s *hearth.ClusterSpec) {
			s.Steps = make([]hearth.StepConfig, hearth.MaxActiveSteps+1)
		}},
		{"negative InstanceCount", "instance-groups[1].InstanceCount", "-1", func(s *hearth.ClusterSpec) { s.InstanceGroups[1].InstanceCount = -1 }},
		{"aws: tag", "tags[0].Key", "aws:", func(s *hearth.ClusterSpec) { s.Tags = []hearth.Tag{{Key: "aws:x"}} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, eb, _ := e.do("POST", "/api/v1/clusters", specJSON(t, tc.mutate), asAdmin)
			e.refused(tc.name, st, eb, http.StatusBadRequest, tc.field, tc.want)
			if n := e.clusterCount(); n != 0 {
				t.Errorf("%d clusters created", n)
			}
		})
	}
}

// TestActiveStepLimit: more than 256 PENDING or RUNNING steps are refused,
// the whole request, with the field named.
func TestActiveStepLimit(t *testing.T) {
	e := newEnv(t)
	c, err := e.cp.CreateCluster(context.Background(), hearth.ClusterSpec{InstanceGroups: []hearth.InstanceGroupConfig{{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	steps := func(n int) []byte {
		var req api.AddStepsRequest
		for i := range n {
			req.Steps = append(req.Steps, hearth.StepConfig{Name: fmt.Sprintf("s%d", i), HadoopJarStep: hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: []string{"echo", "hi"}}})
		}
		b, _ := json.Marshal(req)
		return b
	}
	count := func() int {
		st, err := e.cp.ListSteps(context.Background(), c.Id, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(st)
	}
	path := "/api/v1/clusters/" + c.Id + "/steps"
	st, eb, _ := e.do("POST", path, steps(hearth.MaxActiveSteps+1), asAdmin)
	e.refused("257 at once", st, eb, http.StatusBadRequest, "steps", "257 more with 0")
	if n := count(); n != 0 {
		t.Errorf("a refused request stored %d steps", n)
	}
	if st, eb, _ := e.do("POST", path, steps(hearth.MaxActiveSteps), asAdmin); st != http.StatusOK {
		t.Fatalf("256 steps: %d %s", st, eb.Message)
	}
	st, eb, _ = e.do("POST", path, steps(1), withKey)
	e.refused("the 257th", st, eb, http.StatusBadRequest, "steps", "1 more with 256")
	if n := count(); n != hearth.MaxActiveSteps {
		t.Errorf("%d steps stored, want %d", n, hearth.MaxActiveSteps)
	}
}

// TestStepLogOffset: the offset is checked, named, and never reaches the
// file system as a negative or unreadable position.
func TestStepLogOffset(t *testing.T) {
	e := newEnv(t)
	c, ids := e.clusterWithStep()
	logs := "/api/v1/clusters/" + c.Id + "/steps/" + ids[0] + "/logs/stdout"
	for _, bad := range []string{"-1", "-9223372036854775808", "abc", "12abc", "1e3", "99999999999999999999", "9007199254740992"} {
		st, eb, _ := e.do("GET", logs+"?offset="+bad, nil, asAdmin)
		e.refused("offset "+bad, st, eb, http.StatusBadRequest, "offset", "byte offset")
	}
	for _, good := range []string{"", "0", "9007199254740991"} {
		st, eb, body := e.do("GET", logs+"?offset="+good, nil, asAdmin)
		var read control.LogRead
		if st != http.StatusOK || json.Unmarshal([]byte(body), &read) != nil {
			t.Errorf("offset %q: %d %s", good, st, eb.Message)
			continue
		}
		if want, _ := hearth.ParseLogOffset(good); read.Next != want || len(read.Data) != 0 {
			t.Errorf("offset %q: Next %d with %d bytes, want %d and none", good, read.Next, len(read.Data), want)
		}
	}
}

// TestJupyterTokenNotShown: describe and list leave the token out; the
// control plane (the gateway's source) still has it.
func TestJupyterTokenNotShown(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.cp.CreateCluster(ctx, hearth.ClusterSpec{InstanceGroups: []hearth.InstanceGroupConfig{{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	const token = "jupyter-secret-0123456789"
	if _, err := e.cp.ModifyCluster(ctx, c.Id, func(c *hearth.Cluster) error {
		c.Spark.JupyterURL, c.Spark.JupyterToken = "http://127.0.0.1:8888/", token
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/clusters/" + c.Id, "/api/v1/clusters"} {
		for _, a := range []auth{asAdmin, withKey} {
			st, eb, body := e.do("GET", path, nil, a)
			if st != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, st, eb.Message)
			}
			if strings.Contains(body, token) || strings.Contains(body, "JupyterToken") {
				t.Errorf("GET %s shows the Jupyter token:\n%s", path, body)
			}
			if !strings.Contains(body, "http://127.0.0.1:8888/") {
				t.Errorf("GET %s lost JupyterURL", path)
			}
		}
	}
	if got, err := e.cp.JupyterAuthorization(ctx, c.Id); err != nil || got != "token "+token {
		t.Errorf("control.JupyterAuthorization = %q, %v; the gateway needs %q", got, err, "token "+token)
	}
}

// TestAgentLogChunkOffset: an agent's log chunk must start at a byte
// offset from 0 to MaxLogOffset; anything else is refused naming Offset,
// and nothing is written.
func TestAgentLogChunkOffset(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, ids := e.clusterWithStep()
	nodes, err := e.cp.Store().Nodes(ctx, c.Id)
	if err != nil || len(nodes) == 0 {
		t.Fatal(err)
	}
	for _, off := range []int64{-1, -1 << 62, hearth.MaxLogOffset + 1} {
		_, err := e.cp.AppendStepLog(ctx, nodes[0], hearth.LogChunk{StepId: ids[0], Stream: "stdout", Offset: off, Data: []byte("evil")})
		var ve *hearth.ValidationError
		if !errors.As(err, &ve) || ve.Field != "Offset" {
			t.Errorf("offset %d: %v, want a refusal naming Offset", off, err)
		}
	}
	next, err := e.cp.AppendStepLog(ctx, nodes[0], hearth.LogChunk{StepId: ids[0], Stream: "stdout", Offset: 0, Data: []byte("hi\n")})
	if err != nil || next != 3 {
		t.Errorf("a good chunk: next %d, %v; want 3", next, err)
	}
}

// TestNodeAuthAnswersAlike: an unknown node and a known node with a wrong
// credential get the same answer, so node ids cannot be probed.
func TestNodeAuthAnswersAlike(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.cp.CreateCluster(ctx, hearth.ClusterSpec{InstanceGroups: []hearth.InstanceGroupConfig{{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	nodes, _ := e.cp.Store().Nodes(ctx, c.Id)
	_, unknown := e.cp.AuthenticateNode(ctx, "i-00000000000000000", "hnt_x")
	_, wrong := e.cp.AuthenticateNode(ctx, nodes[0].Id, "hnt_x")
	if unknown == nil || wrong == nil || unknown.Error() != wrong.Error() || !errors.Is(wrong, hearth.ErrUnauthorized) {
		t.Errorf("unknown node: %v; wrong credential: %v; want one and the same refusal", unknown, wrong)
	}
}

// clusterWithStep creates a one-node cluster with one step (nothing runs:
// there is no reconcile loop) and returns it and the step's ids.
func (e *tenv) clusterWithStep() (*hearth.Cluster, []string) {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.cp.CreateCluster(ctx, hearth.ClusterSpec{InstanceGroups: []hearth.InstanceGroupConfig{{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1}}})
	if err != nil {
		e.t.Fatal(err)
	}
	ids, err := e.cp.AddSteps(ctx, c.Id, []hearth.StepConfig{{Name: "s", HadoopJarStep: hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: []string{"echo", "hi"}}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return c, ids
}

// TestMetricsNeedTheScrapeToken: /metrics answers the scrape token or the
// admin token, nothing else (an access key is for the API, not scrapes);
// and it counts the requests it has seen by route and status code.
func TestMetricsNeedTheScrapeToken(t *testing.T) {
	e := newEnv(t)
	get := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.url+"/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, bad := range []string{"", "wrong", e.secret} {
		if code, _ := get(bad); code != http.StatusUnauthorized {
			t.Errorf("/metrics with %q: %d, want 401", bad, code)
		}
	}
	for _, good := range []string{scrapeToken, adminToken} {
		code, body := get(good)
		if code != http.StatusOK || !strings.Contains(body, "hearth_clusters{") {
			t.Errorf("/metrics with a good token: %d\n%.500s", code, body)
		}
	}
	_, body := get(scrapeToken)
	if !strings.Contains(body, `hearth_api_request_seconds_count{code="401",route="GET /metrics"} 3`) {
		t.Errorf("the refused scrapes are not counted by route and code:\n%s", body)
	}
}
