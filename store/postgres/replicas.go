package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/jackc/pgx/v5"
)

// Replicas of one control plane coordinate through the database. Advisory
// locks and notification channels belong to the whole database, so their
// names carry the schema: stores in two schemas of one database (tests do
// this) are two control planes.

// Leadership is a session advisory lock held by a connection of its own:
// PostgreSQL releases it the moment that session ends. When the leader's
// process dies, its kernel closes the connection and that is at once;
// when its machine dies or the network parts, PostgreSQL's TCP keepalives
// on the session (set below) notice within leaderKeepalive. A watchdog
// pings the session: a leader that cannot reach the database gives up
// within leaderCheck + leaderTimeout, before PostgreSQL frees the lock, so
// two leaders never act at once.
const (
	leaderRetry   = time.Second // a follower whose session failed opens another after this
	leaderCheck   = time.Second // the leader pings its session this often
	leaderTimeout = 2 * time.Second
	// leaderSession sets up the session that waits for and holds the
	// lock. Its keepalives: probes after 3 s of silence, 1 s apart, 3
	// unanswered end it: 6 s, longer than the 3 s the leader takes to
	// give up.
	leaderSession = "SET tcp_keepalives_idle = 3; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 3; " +
		"SET statement_timeout = 0; SET lock_timeout = 0"
)

func (s *Store) key(kind, name string) string { return "hearth:" + s.schema + ":" + kind + ":" + name }

// connect opens a connection outside the pool, with the pool's settings.
func (s *Store) connect(ctx context.Context) (*pgx.Conn, error) {
	return pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
}

// Lead implements hearth.ReplicatedStore. A follower waits for the lock
// inside PostgreSQL (pg_advisory_lock blocks until the leader's session
// ends), so it leads the moment the lock is free.
func (s *Store) Lead(ctx context.Context) (<-chan struct{}, error) {
	for {
		conn, err := s.connect(ctx)
		if err == nil {
			// Over a Unix socket there is no TCP to keep alive: those
			// settings are accepted and do nothing. The wait must not
			// time out, whatever the database's defaults.
			_, err = conn.Exec(ctx, leaderSession)
			if err == nil {
				_, err = conn.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended($1, 0))", s.key("leader", ""))
			}
			if err == nil {
				lost := make(chan struct{})
				s.mu.Lock()
				if s.closed {
					s.mu.Unlock()
					conn.Close(context.Background())
					return nil, errors.New("store closed")
				}
				s.leader = lost
				s.mu.Unlock()
				go s.watchLeader(conn, lost)
				return lost, nil
			}
			conn.Close(context.Background())
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(leaderRetry): // the database is unreachable, or was restarted
		}
	}
}

// watchLeader pings the leader's session until a ping fails or the store
// closes, then ends the session (which releases the lock) and closes lost.
func (s *Store) watchLeader(conn *pgx.Conn, lost chan struct{}) {
	defer close(lost)
	defer conn.Close(context.Background())
	t := time.NewTicker(leaderCheck)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), leaderTimeout)
		_, err := conn.Exec(ctx, "SELECT 1")
		cancel()
		if err != nil {
			return
		}
	}
}

// channel is the notification channel of this store's control plane.
func (s *Store) channel() string { return s.key("changes", "") }

// Publish implements hearth.ReplicatedStore.
func (s *Store) Publish(ctx context.Context, topic string) error {
	_, err := s.pool.Exec(ctx, "SELECT pg_notify($1, $2)", s.channel(), topic)
	return err
}

// Subscribe implements hearth.ReplicatedStore. It listens on a connection
// of its own, and opens a new one (calling fn with "") when it is lost.
func (s *Store) Subscribe(ctx context.Context, fn func(topic string)) error {
	listen := "LISTEN " + pgx.Identifier{s.channel()}.Sanitize()
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
		conn, err := s.connect(ctx)
		if err != nil {
			continue
		}
		if _, err := conn.Exec(ctx, listen); err != nil {
			conn.Close(context.Background())
			continue
		}
		if !first {
			fn("") // what was announced while no session listened is lost
		}
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				break
			}
			fn(n.Payload)
		}
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// LockCluster implements hearth.ReplicatedStore: a session advisory lock,
// on a connection of the lock pool (held while the lock is: a lock
// holder's own queries use the main pool, so holders cannot starve each
// other of connections).
func (s *Store) LockCluster(ctx context.Context, id string) (func(), error) {
	c, err := s.locks.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	key := s.key("cluster", id)
	if _, err := c.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended($1, 0))", key); err != nil {
		c.Release()
		return nil, fmt.Errorf("lock cluster %s: %w", id, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := c.Exec(ctx, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", key); err != nil {
				// The session may still hold the lock: end it, which
				// releases it, rather than hand it to another holder.
				c.Hijack().Close(ctx)
				return
			}
			c.Release()
		})
	}, nil
}

// PutReplica implements hearth.ReplicatedStore. A replica that leads
// clears the others' flag: one that died leading cannot.
func (s *Store) PutReplica(ctx context.Context, r *hearth.Replica) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO replicas (id, url, agent_url, started_at, seen_at, leads) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO UPDATE SET url = $2, agent_url = $3, seen_at = $5, leads = $6`,
			r.Id, r.URL, r.AgentURL, r.Started, r.Seen, r.Leading); err != nil {
			return err
		}
		if r.Leading {
			if _, err := tx.Exec(ctx, `UPDATE replicas SET leads = false WHERE id <> $1 AND leads`, r.Id); err != nil {
				return err
			}
		}
		// Replicas gone for a day are forgotten.
		_, err := tx.Exec(ctx, `DELETE FROM replicas WHERE seen_at < $1`, r.Seen.Add(-24*time.Hour))
		return err
	})
	if err != nil {
		return fmt.Errorf("record replica %s: %w", r.Id, err)
	}
	return nil
}

// Replicas implements hearth.ReplicatedStore.
func (s *Store) Replicas(ctx context.Context, maxAge time.Duration) ([]*hearth.Replica, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, url, agent_url, started_at, seen_at, leads FROM replicas
		WHERE seen_at >= $1 ORDER BY leads DESC, started_at, id`, time.Now().Add(-maxAge))
	if err != nil {
		return nil, fmt.Errorf("list replicas: %w", err)
	}
	defer rows.Close()
	var out []*hearth.Replica
	for rows.Next() {
		r := &hearth.Replica{}
		if err := rows.Scan(&r.Id, &r.URL, &r.AgentURL, &r.Started, &r.Seen, &r.Leading); err != nil {
			return nil, err
		}
		r.Started, r.Seen = r.Started.UTC(), r.Seen.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// CheckShared implements hearth.ReplicatedStore.
func (s *Store) CheckShared(ctx context.Context, name, digest string) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO shared_settings (name, digest) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, digest); err != nil {
		return fmt.Errorf("record %s: %w", name, err)
	}
	var have string
	if err := s.pool.QueryRow(ctx, `SELECT digest FROM shared_settings WHERE name = $1`, name).Scan(&have); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if have != digest {
		return fmt.Errorf("%w: %s differs from the one the other servers on this database use", hearth.ErrConflict, name)
	}
	return nil
}

// AppendStepLog implements hearth.ReplicatedStore. A transaction-scoped
// advisory lock on the stream makes concurrent appends (an agent that
// resends to another replica) take turns.
func (s *Store) AppendStepLog(ctx context.Context, clusterID, stepID, stream string, offset int64, data []byte) (int64, bool, error) {
	var size int64
	var rest []byte
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", s.key("log", clusterID+"/"+stepID+"/"+stream)); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(at + length(data)), 0) FROM step_logs WHERE cluster_id = $1 AND step_id = $2 AND stream = $3`,
			clusterID, stepID, stream).Scan(&size); err != nil {
			return err
		}
		if rest = hearth.Unheld(size, offset, data); rest == nil {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO step_logs (cluster_id, step_id, stream, at, data) VALUES ($1, $2, $3, $4, $5)`,
			clusterID, stepID, stream, size, rest); err != nil {
			return err
		}
		size += int64(len(rest))
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("append to the %s log of step %s: %w", stream, stepID, err)
	}
	return size, rest != nil, nil
}

// ReadStepLog implements hearth.ReplicatedStore.
func (s *Store) ReadStepLog(ctx context.Context, clusterID, stepID, stream string, offset, limit int64) ([]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, data FROM step_logs WHERE cluster_id = $1 AND step_id = $2 AND stream = $3 AND at + length(data) > $4 ORDER BY at`,
		clusterID, stepID, stream, offset)
	if err != nil {
		return nil, fmt.Errorf("read the %s log of step %s: %w", stream, stepID, err)
	}
	defer rows.Close()
	out := []byte{}
	for rows.Next() && int64(len(out)) < limit {
		var at int64
		var data []byte
		if err := rows.Scan(&at, &data); err != nil {
			return nil, err
		}
		if at < offset {
			data = data[offset-at:]
		}
		out = append(out, data[:min(int64(len(data)), limit-int64(len(out)))]...)
	}
	return out, rows.Err()
}

// PutSession implements hearth.ReplicatedStore.
func (s *Store) PutSession(ctx context.Context, sess *hearth.Session) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at < now()`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sessions (key, who, access_key, csrf, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			sess.Key, sess.Who, sess.AccessKey, sess.CSRF, sess.Expires)
		return err
	})
}

// Session implements hearth.ReplicatedStore.
func (s *Store) Session(ctx context.Context, key string) (*hearth.Session, error) {
	sess := &hearth.Session{Key: key}
	err := s.pool.QueryRow(ctx, `SELECT who, access_key, csrf, expires_at FROM sessions WHERE key = $1 AND expires_at >= now()`, key).
		Scan(&sess.Who, &sess.AccessKey, &sess.CSRF, &sess.Expires)
	if notFound(err) {
		return nil, fmt.Errorf("session: %w", hearth.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	return sess, nil
}

// DeleteSession implements hearth.ReplicatedStore.
func (s *Store) DeleteSession(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE key = $1`, key)
	return err
}

// SetSessionFlash implements hearth.ReplicatedStore.
func (s *Store) SetSessionFlash(ctx context.Context, key, flash string) error {
	_, err := s.pool.Exec(ctx, `UPDATE sessions SET flash = $2 WHERE key = $1`, key, flash)
	return err
}

// TakeSessionFlash implements hearth.ReplicatedStore.
func (s *Store) TakeSessionFlash(ctx context.Context, key string) (string, error) {
	var flash string
	err := s.pool.QueryRow(ctx, `UPDATE sessions s SET flash = '' FROM (SELECT key, flash FROM sessions WHERE key = $1 FOR UPDATE) old
		WHERE s.key = old.key RETURNING old.flash`, key).Scan(&flash)
	if notFound(err) {
		return "", nil
	}
	return flash, err
}

// AddMetrics implements hearth.ReplicatedStore.
func (s *Store) AddMetrics(ctx context.Context, m *hearth.MetricsSample, keepSince time.Time) error {
	var doc any = m.Node
	if m.Node == nil {
		doc = m.Cluster
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO metrics (cluster_id, node_id, at, doc) VALUES ($1, $2, $3, $4)`, m.ClusterId, m.NodeId, m.Time(), b); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM metrics WHERE cluster_id = $1 AND node_id = $2 AND at < $3`, m.ClusterId, m.NodeId, keepSince)
		return err
	})
	if err != nil {
		return fmt.Errorf("record metrics of %s: %w", m.ClusterId, err)
	}
	return nil
}

// Metrics implements hearth.ReplicatedStore.
func (s *Store) Metrics(ctx context.Context, clusterID string, since time.Time) ([]*hearth.MetricsSample, error) {
	rows, err := s.pool.Query(ctx, `SELECT node_id, doc FROM metrics WHERE cluster_id = $1 AND at > $2 ORDER BY at, node_id`, clusterID, since)
	if err != nil {
		return nil, fmt.Errorf("read metrics of %s: %w", clusterID, err)
	}
	defer rows.Close()
	var out []*hearth.MetricsSample
	for rows.Next() {
		m := &hearth.MetricsSample{ClusterId: clusterID}
		var doc []byte
		if err := rows.Scan(&m.NodeId, &doc); err != nil {
			return nil, err
		}
		var into any = &m.Cluster
		if m.NodeId != "" {
			into = &m.Node
		}
		if err := json.Unmarshal(doc, into); err != nil {
			return nil, fmt.Errorf("decode metrics of %s: %w", clusterID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// DeleteMetrics implements hearth.ReplicatedStore.
func (s *Store) DeleteMetrics(ctx context.Context, clusterID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM metrics WHERE cluster_id = $1`, clusterID)
	return err
}
