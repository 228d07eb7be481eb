// Package sqlite is Hearth's embedded store: SQLite in WAL mode through the
// pure-Go modernc.org/sqlite driver, schema migrated by goose at open.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	"github.com/hearthcluster/hearth"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store implements hearth.Store on one SQLite database file.
type Store struct {
	db *sql.DB
}

var _ hearth.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and migrates it to
// the newest schema.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate") // writers queue at BEGIN instead of failing at COMMIT
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		db.Close()
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// CreateCluster implements hearth.Store.
func (s *Store) CreateCluster(ctx context.Context, c *hearth.Cluster, nodes []*hearth.Node, steps []*hearth.Step) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		doc, err := encodeCluster(c)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO clusters(id, state, created_at, doc) VALUES (?, ?, ?, ?)`,
			c.Id, c.Status.State, createdAt(c.Status.Timeline.CreationDateTime), doc); err != nil {
			return fmt.Errorf("insert cluster %s: %w", c.Id, err)
		}
		for _, n := range nodes {
			if err := insertNode(ctx, tx, n); err != nil {
				return err
			}
		}
		for i, st := range steps {
			st.Seq = int64(i + 1)
			if err := writeStep(ctx, tx, st, true); err != nil {
				return err
			}
		}
		return nil
	})
}

// Cluster implements hearth.Store.
func (s *Store) Cluster(ctx context.Context, id string) (*hearth.Cluster, error) {
	return getCluster(ctx, s.db, id)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getCluster(ctx context.Context, q querier, id string) (*hearth.Cluster, error) {
	var doc []byte
	err := q.QueryRowContext(ctx, `SELECT doc FROM clusters WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("cluster %s: %w", id, hearth.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read cluster %s: %w", id, err)
	}
	c, err := decodeCluster(doc)
	if err != nil {
		return nil, fmt.Errorf("decode cluster %s: %w", id, err)
	}
	return c, nil
}

// clusterDoc is a cluster as stored: its JSON document and the members
// that document leaves out because no API may show them.
type clusterDoc struct {
	*hearth.Cluster
	JupyterToken string `json:"JupyterToken,omitempty"`
	AuthSecret   string `json:"SparkAuthSecret,omitempty"`
	UIKey        string `json:"SparkUIKey,omitempty"`
	ConnectToken string `json:"SparkConnectToken,omitempty"`
}

func encodeCluster(c *hearth.Cluster) ([]byte, error) {
	return json.Marshal(clusterDoc{c, c.Spark.JupyterToken, c.Spark.AuthSecret, c.Spark.UIKey, c.Spark.ConnectToken})
}

func decodeCluster(doc []byte) (*hearth.Cluster, error) {
	c := &hearth.Cluster{}
	d := clusterDoc{Cluster: c}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	c.Spark.JupyterToken = d.JupyterToken
	c.Spark.AuthSecret, c.Spark.UIKey, c.Spark.ConnectToken = d.AuthSecret, d.UIKey, d.ConnectToken
	if d.JupyterToken == "" {
		// Written before the token left the API document: it is there.
		var old struct{ Spark struct{ JupyterToken string } }
		if json.Unmarshal(doc, &old) == nil {
			c.Spark.JupyterToken = old.Spark.JupyterToken
		}
	}
	return c, nil
}

// Clusters implements hearth.Store.
func (s *Store) Clusters(ctx context.Context, states ...hearth.ClusterState) ([]*hearth.Cluster, error) {
	query := `SELECT doc FROM clusters`
	var args []any
	if len(states) > 0 {
		query += ` WHERE state IN (?` + strings.Repeat(",?", len(states)-1) + `)`
		for _, st := range states {
			args = append(args, string(st))
		}
	}
	query += ` ORDER BY created_at DESC, id`
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	defer rows.Close()
	var out []*hearth.Cluster
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		c, err := decodeCluster(doc)
		if err != nil {
			return nil, fmt.Errorf("decode cluster: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateCluster implements hearth.Store.
func (s *Store) UpdateCluster(ctx context.Context, id string, fn func(*hearth.Cluster) error) (*hearth.Cluster, error) {
	var out *hearth.Cluster
	err := s.tx(ctx, func(tx *sql.Tx) error {
		c, err := getCluster(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		doc, err := encodeCluster(c)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE clusters SET state = ?, doc = ? WHERE id = ?`, c.Status.State, doc, id); err != nil {
			return fmt.Errorf("update cluster %s: %w", id, err)
		}
		out = c
		return nil
	})
	return out, err
}

// AddNode implements hearth.Store.
func (s *Store) AddNode(ctx context.Context, n *hearth.Node) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := getCluster(ctx, tx, n.ClusterId); err != nil {
			return err
		}
		return insertNode(ctx, tx, n)
	})
}

func insertNode(ctx context.Context, tx *sql.Tx, n *hearth.Node) error {
	doc, err := json.Marshal(n)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO nodes(id, cluster_id, state, created_at, token_hash, launch, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		n.Id, n.ClusterId, n.State, createdAt(n.Timeline.CreationDateTime), n.TokenHash, n.Launch, doc)
	if err != nil {
		return fmt.Errorf("insert node %s: %w", n.Id, err)
	}
	return nil
}

const nodeColumns = `doc, token_hash, launch`

func scanNode(scan func(...any) error) (*hearth.Node, error) {
	var doc []byte
	var n hearth.Node
	if err := scan(&doc, &n.TokenHash, &n.Launch); err != nil {
		return nil, err
	}
	hash, launch := n.TokenHash, n.Launch
	if err := json.Unmarshal(doc, &n); err != nil {
		return nil, fmt.Errorf("decode node: %w", err)
	}
	n.TokenHash, n.Launch = hash, launch
	return &n, nil
}

func getNode(ctx context.Context, q querier, id string) (*hearth.Node, error) {
	n, err := scanNode(q.QueryRowContext(ctx, `SELECT `+nodeColumns+` FROM nodes WHERE id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("node %s: %w", id, hearth.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read node %s: %w", id, err)
	}
	return n, nil
}

// Node implements hearth.Store.
func (s *Store) Node(ctx context.Context, id string) (*hearth.Node, error) {
	return getNode(ctx, s.db, id)
}

// Nodes implements hearth.Store.
func (s *Store) Nodes(ctx context.Context, clusterID string) ([]*hearth.Node, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+nodeColumns+` FROM nodes WHERE cluster_id = ? ORDER BY created_at, rowid`, clusterID)
	if err != nil {
		return nil, fmt.Errorf("list nodes of %s: %w", clusterID, err)
	}
	defer rows.Close()
	var out []*hearth.Node
	for rows.Next() {
		n, err := scanNode(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// UpdateNode implements hearth.Store.
func (s *Store) UpdateNode(ctx context.Context, id string, fn func(*hearth.Node) error) (*hearth.Node, error) {
	var out *hearth.Node
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n, err := getNode(ctx, tx, id)
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
		if _, err := tx.ExecContext(ctx, `UPDATE nodes SET state = ?, token_hash = ?, launch = ?, doc = ? WHERE id = ?`,
			n.State, n.TokenHash, n.Launch, doc, id); err != nil {
			return fmt.Errorf("update node %s: %w", id, err)
		}
		out = n
		return nil
	})
	return out, err
}
