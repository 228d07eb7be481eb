package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store implements hearth.ReplicatedStore on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	// locks holds the connections of cluster locks while they are held.
	locks *pgxpool.Pool
	// schema names this control plane's locks and channel (see key).
	schema string

	mu      sync.Mutex
	closed  bool
	closing chan struct{}   // closed by Close: the leader's watchdog ends its session
	leader  <-chan struct{} // closed once the watchdog has, if this process led
}

var _ hearth.ReplicatedStore = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// or postgresql://
// URL, or libpq's key=value form) and migrates it to the newest schema.
// A database that cannot be reached is an error wrapping
// hearth.ErrUnavailable.
func Open(ctx context.Context, dsn string) (*Store, error) {
	name := redact(dsn)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors quote the string they were given, which may
		// hold a password: say what is wrong without it.
		return nil, fmt.Errorf("%w: database %s: not a PostgreSQL connection URL; want postgres://user:password@host:5432/database", hearth.ErrInvalid, name)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%w: connect to PostgreSQL at %s: %v", hearth.ErrUnavailable, name, err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate %s: %w", name, err)
	}
	s := &Store{pool: pool, closing: make(chan struct{})}
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&s.schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("read the schema of %s: %w", name, err)
	}
	lcfg := cfg.Copy()
	lcfg.MaxConns, lcfg.MinConns = 8, 0
	if s.locks, err = pgxpool.NewWithConfig(ctx, lcfg); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return s, nil
}

// migrate applies the embedded migrations. A session advisory lock makes
// replicas that start together wait for each other rather than race.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// redact returns dsn without its password, for messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "(connection string)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Close ends leadership, if this store had it, and closes its connections.
// Closing again does nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	leader := s.leader
	s.mu.Unlock()
	if leader != nil {
		<-leader // the session is over: leadership passes at once
	}
	s.locks.Close()
	s.pool.Close()
	return nil
}

func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// forUpdate, appended to a SELECT of one row, locks that row until the
// transaction ends. NO KEY UPDATE is the lock an UPDATE that keeps the
// key takes itself: it excludes other writers of the row but lets rows
// that reference it (a cluster's new nodes and steps) be inserted.
const forUpdate = ` FOR NO KEY UPDATE`

// createdAt orders rows; a missing time sorts first.
func createdAt(t *time.Time) time.Time {
	if t == nil {
		return time.Unix(0, 0).UTC()
	}
	return *t
}

func notFound(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

func stateArgs[S ~string](states []S) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}

// CreateCluster implements hearth.Store.
func (s *Store) CreateCluster(ctx context.Context, c *hearth.Cluster, nodes []*hearth.Node, steps []*hearth.Step) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		doc, err := json.Marshal(c)
		if err != nil {
			return err
		}
		sp := c.Spark
		if _, err := tx.Exec(ctx, `INSERT INTO clusters (id, state, created_at, jupyter_token, spark_auth_secret, spark_ui_key, spark_connect_token, doc)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			c.Id, string(c.Status.State), createdAt(c.Status.Timeline.CreationDateTime),
			sp.JupyterToken, sp.AuthSecret, sp.UIKey, sp.ConnectToken, doc); err != nil {
			return fmt.Errorf("insert cluster %s: %w", c.Id, err)
		}
		for _, n := range nodes {
			if err := insertNode(ctx, tx, n); err != nil {
				return err
			}
		}
		for i, st := range steps {
			st.Seq = int64(i + 1)
		}
		return insertSteps(ctx, tx, c.Id, steps)
	})
}

const clusterColumns = `doc, jupyter_token, spark_auth_secret, spark_ui_key, spark_connect_token`

func scanCluster(row pgx.Row) (*hearth.Cluster, error) {
	var doc []byte
	var sp hearth.SparkAccess
	if err := row.Scan(&doc, &sp.JupyterToken, &sp.AuthSecret, &sp.UIKey, &sp.ConnectToken); err != nil {
		return nil, err
	}
	c := &hearth.Cluster{}
	if err := json.Unmarshal(doc, c); err != nil {
		return nil, fmt.Errorf("decode cluster: %w", err)
	}
	c.Spark.JupyterToken, c.Spark.AuthSecret, c.Spark.UIKey, c.Spark.ConnectToken = sp.JupyterToken, sp.AuthSecret, sp.UIKey, sp.ConnectToken
	return c, nil
}

// getCluster reads a cluster; suffix is "" or forUpdate.
func getCluster(ctx context.Context, q querier, id string, suffix string) (*hearth.Cluster, error) {
	c, err := scanCluster(q.QueryRow(ctx, `SELECT `+clusterColumns+` FROM clusters WHERE id = $1`+suffix, id))
	if notFound(err) {
		return nil, fmt.Errorf("cluster %s: %w", id, hearth.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read cluster %s: %w", id, err)
	}
	return c, nil
}

// Cluster implements hearth.Store.
func (s *Store) Cluster(ctx context.Context, id string) (*hearth.Cluster, error) {
	return getCluster(ctx, s.pool, id, "")
}

// Clusters implements hearth.Store.
func (s *Store) Clusters(ctx context.Context, states ...hearth.ClusterState) ([]*hearth.Cluster, error) {
	query := `SELECT ` + clusterColumns + ` FROM clusters`
	var args []any
	if len(states) > 0 {
		query += ` WHERE state = ANY($1)`
		args = append(args, stateArgs(states))
	}
	rows, err := s.pool.Query(ctx, query+` ORDER BY created_at DESC, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	defer rows.Close()
	var out []*hearth.Cluster
	for rows.Next() {
		c, err := scanCluster(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	return out, nil
}

// UpdateCluster implements hearth.Store.
func (s *Store) UpdateCluster(ctx context.Context, id string, fn func(*hearth.Cluster) error) (*hearth.Cluster, error) {
	var out *hearth.Cluster
	err := s.tx(ctx, func(tx pgx.Tx) error {
		c, err := getCluster(ctx, tx, id, forUpdate)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		doc, err := json.Marshal(c)
		if err != nil {
			return err
		}
		sp := c.Spark
		if _, err := tx.Exec(ctx, `UPDATE clusters SET state = $2, jupyter_token = $3, spark_auth_secret = $4, spark_ui_key = $5, spark_connect_token = $6, doc = $7
			WHERE id = $1`, id, string(c.Status.State), sp.JupyterToken, sp.AuthSecret, sp.UIKey, sp.ConnectToken, doc); err != nil {
			return fmt.Errorf("update cluster %s: %w", id, err)
		}
		out = c
		return nil
	})
	return out, err
}

// AddNode implements hearth.Store.
func (s *Store) AddNode(ctx context.Context, n *hearth.Node) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM clusters WHERE id = $1`, n.ClusterId).Scan(&one)
		if notFound(err) {
			return fmt.Errorf("cluster %s: %w", n.ClusterId, hearth.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read cluster %s: %w", n.ClusterId, err)
		}
		return insertNode(ctx, tx, n)
	})
}

func insertNode(ctx context.Context, tx pgx.Tx, n *hearth.Node) error {
	doc, err := json.Marshal(n)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO nodes (id, cluster_id, state, created_at, token_hash, launch, doc) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		n.Id, n.ClusterId, string(n.State), createdAt(n.Timeline.CreationDateTime), n.TokenHash, n.Launch, doc)
	if err != nil {
		return fmt.Errorf("insert node %s: %w", n.Id, err)
	}
	return nil
}

const nodeColumns = `doc, token_hash, launch`

func scanNode(row pgx.Row) (*hearth.Node, error) {
	var doc []byte
	var hash string
	var launch []byte
	if err := row.Scan(&doc, &hash, &launch); err != nil {
		return nil, err
	}
	n := &hearth.Node{}
	if err := json.Unmarshal(doc, n); err != nil {
		return nil, fmt.Errorf("decode node: %w", err)
	}
	n.TokenHash, n.Launch = hash, launch
	return n, nil
}

func getNode(ctx context.Context, q querier, id string, suffix string) (*hearth.Node, error) {
	n, err := scanNode(q.QueryRow(ctx, `SELECT `+nodeColumns+` FROM nodes WHERE id = $1`+suffix, id))
	if notFound(err) {
		return nil, fmt.Errorf("node %s: %w", id, hearth.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read node %s: %w", id, err)
	}
	return n, nil
}

// Node implements hearth.Store.
func (s *Store) Node(ctx context.Context, id string) (*hearth.Node, error) {
	return getNode(ctx, s.pool, id, "")
}

// Nodes implements hearth.Store.
func (s *Store) Nodes(ctx context.Context, clusterID string) ([]*hearth.Node, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+nodeColumns+` FROM nodes WHERE cluster_id = $1 ORDER BY created_at, pos`, clusterID)
	if err != nil {
		return nil, fmt.Errorf("list nodes of %s: %w", clusterID, err)
	}
	defer rows.Close()
	var out []*hearth.Node
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list nodes of %s: %w", clusterID, err)
	}
	return out, nil
}

// UpdateNode implements hearth.Store.
func (s *Store) UpdateNode(ctx context.Context, id string, fn func(*hearth.Node) error) (*hearth.Node, error) {
	var out *hearth.Node
	err := s.tx(ctx, func(tx pgx.Tx) error {
		n, err := getNode(ctx, tx, id, forUpdate)
		if err != nil {
			return err
		}
		if err := fn(n); err != nil {
			return err
		}
		doc, err := json.Marshal(n)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE nodes SET state = $2, token_hash = $3, launch = $4, doc = $5 WHERE id = $1`,
			id, string(n.State), n.TokenHash, n.Launch, doc); err != nil {
			return fmt.Errorf("update node %s: %w", id, err)
		}
		out = n
		return nil
	})
	return out, err
}
