package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/internal/pgtest"
	"github.com/hearthcluster/hearth/store/postgres"
	"github.com/hearthcluster/hearth/store/storetest"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testServer returns the test binary's PostgreSQL server.
func testServer(t *testing.T) *pgtest.Server { return pgtest.Shared(t) }

// database returns the URL of a new, empty database for a store.
func database(t *testing.T) string {
	t.Helper()
	return testServer(t).NewSchema(t)
}

func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	testServer(t) // fail once, not in every test of the suite, if there is none
	storetest.Run(t, func(t *testing.T) hearth.Store { return open(t, database(t)) })
}

func newCluster(t *testing.T) (*hearth.Cluster, []*hearth.Node) {
	t.Helper()
	c, nodes, err := hearth.NewCluster(hearth.ClusterSpec{
		Name: "durable",
		InstanceGroups: []hearth.InstanceGroupConfig{
			{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1},
			{InstanceGroupType: hearth.RoleCore, InstanceType: "local.small", InstanceCount: 1},
		},
	}, "3.5.1", time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC))
	if err != nil {
		t.Fatalf("NewCluster: %v", err)
	}
	c.Spark.JupyterToken, c.Spark.AuthSecret, c.Spark.UIKey, c.Spark.ConnectToken = "jupyter-sekrit", "auth-sekrit", "ui-sekrit", "connect-sekrit"
	nodes[1].TokenHash = "token-hash-sekrit"
	nodes[1].Launch = []byte("launch-1")
	return c, nodes
}

// TestReopen: a second Open of a migrated database (a restart, or another
// replica) migrates nothing and sees what the first stored.
func TestReopen(t *testing.T) {
	url := database(t)
	c, nodes := newCluster(t)
	first, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := first.CreateCluster(t.Context(), c, nodes, nil); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s := open(t, url)
	got, err := s.Cluster(t.Context(), c.Id)
	if err != nil {
		t.Fatalf("Cluster after reopen: %v", err)
	}
	if got.Name != "durable" || got.Spark.AuthSecret != c.Spark.AuthSecret {
		t.Errorf("cluster after reopen = %+v, want %q with its secrets", got, c.Name)
	}
	n, err := s.Node(t.Context(), nodes[1].Id)
	if err != nil {
		t.Fatalf("Node after reopen: %v", err)
	}
	if n.TokenHash != nodes[1].TokenHash || string(n.Launch) != string(nodes[1].Launch) {
		t.Errorf("node after reopen: TokenHash, Launch = %q, %q; want %q, %q", n.TokenHash, n.Launch, nodes[1].TokenHash, nodes[1].Launch)
	}
}

// TestConcurrentOpen: replicas that start together on a new database all
// open it, and its schema is migrated once.
func TestConcurrentOpen(t *testing.T) {
	url := database(t)
	const replicas = 4
	var wg sync.WaitGroup
	stores := make([]*postgres.Store, replicas)
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(t.Context(), url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Open: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	// Each replica sees what another stores.
	c, nodes := newCluster(t)
	if err := stores[0].CreateCluster(t.Context(), c, nodes, nil); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	for i, s := range stores[1:] {
		if _, err := s.Cluster(t.Context(), c.Id); err != nil {
			t.Errorf("replica %d: Cluster: %v", i+1, err)
		}
	}
	conn := connect(t, url)
	var applied int
	if err := conn.QueryRow(t.Context(), `SELECT COUNT(*) FROM goose_db_version WHERE version_id = 1 AND is_applied`).Scan(&applied); err != nil {
		t.Fatalf("read goose's versions: %v", err)
	}
	if applied != 1 {
		t.Errorf("migration 1 applied %d times, want once", applied)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestSecretsOutsideTheDocument: the JSON documents hold no secret; the
// secrets have columns of their own, so that the document can be shown,
// indexed or exported as it is.
func TestSecretsOutsideTheDocument(t *testing.T) {
	url := database(t)
	s := open(t, url)
	c, nodes := newCluster(t)
	if err := s.CreateCluster(t.Context(), c, nodes, nil); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	if err := s.PutAccessKey(t.Context(), &hearth.AccessKey{AccessKeyId: hearth.NewAccessKeyID(), CreateDate: time.Now(), SealedSecret: []byte("sealed-sekrit")}); err != nil {
		t.Fatalf("PutAccessKey: %v", err)
	}
	conn := connect(t, url)
	var docs []string
	for _, q := range []string{`SELECT doc::text FROM clusters`, `SELECT doc::text FROM nodes`} {
		rows, err := conn.Query(t.Context(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		ds, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		docs = append(docs, ds...)
	}
	if len(docs) != 1+len(nodes) {
		t.Fatalf("got %d documents, want %d", len(docs), 1+len(nodes))
	}
	for _, doc := range docs {
		if strings.Contains(doc, "sekrit") {
			t.Errorf("a stored document holds a secret: %s", doc)
		}
	}
	var token, auth string
	if err := conn.QueryRow(t.Context(), `SELECT jupyter_token, spark_auth_secret FROM clusters WHERE id = $1`, c.Id).Scan(&token, &auth); err != nil {
		t.Fatal(err)
	}
	if token != c.Spark.JupyterToken || auth != c.Spark.AuthSecret {
		t.Errorf("secret columns = %q, %q; want %q, %q", token, auth, c.Spark.JupyterToken, c.Spark.AuthSecret)
	}
}

// TestOpenErrors: a database that is not there is ErrUnavailable, a URL
// that is no URL is ErrInvalid, and neither message shows the password.
func TestOpenErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	const password = "pa55-word-sekrit"
	tests := []struct {
		name, url string
		want      error
	}{
		{"nothing listening", fmt.Sprintf("postgres://hearth:%s@127.0.0.1:%d/hearth?connect_timeout=5", password, closed), hearth.ErrUnavailable},
		{"password as a parameter", fmt.Sprintf("postgresql://127.0.0.1:%d/hearth?user=hearth&password=%s&connect_timeout=5", closed, password), hearth.ErrUnavailable},
		{"not a URL", fmt.Sprintf("postgres://hearth:%s@127.0.0.1:port/hearth", password), hearth.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := postgres.Open(t.Context(), tc.url)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded", tc.name)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("Open = %v, want an error wrapping %v", err, tc.want)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("Open's error shows the password: %v", err)
			}
		})
	}
}
