package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hearthcluster/hearth"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// PutHost implements hearth.Store.
func (s *Store) PutHost(ctx context.Context, h *hearth.Host) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// The transaction holds the database's write lock from BEGIN
		// (_txlock=immediate): no other writer can take the name or the
		// address between this check and the insert.
		if err := hostConflict(ctx, tx, h, ""); err != nil {
			return err
		}
		doc, err := json.Marshal(h)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO hosts(id, name, address, port, created_at, doc) VALUES (?, ?, ?, ?, ?, ?)`,
			h.Id, h.Name, h.Address, h.Port, h.CreationDateTime.UnixNano(), doc); err != nil {
			return fmt.Errorf("insert host %s: %w", h.Id, err)
		}
		return nil
	})
	return s.uniqueHost(ctx, err, h, "")
}

// hostConflict returns an error wrapping hearth.ErrConflict when a host
// other than the one with id except has h's name or SSH address, and nil
// when none has.
func hostConflict(ctx context.Context, q querier, h *hearth.Host, except string) error {
	var other string
	err := q.QueryRowContext(ctx, `SELECT id FROM hosts WHERE name = ? AND id <> ?`, h.Name, except).Scan(&other)
	if err == nil {
		return fmt.Errorf("%w: host name %q is already in the inventory (%s)", hearth.ErrConflict, h.Name, other)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read hosts: %w", err)
	}
	err = q.QueryRowContext(ctx, `SELECT id FROM hosts WHERE address = ? AND port = ? AND id <> ?`, h.Address, h.Port, except).Scan(&other)
	if err == nil {
		return fmt.Errorf("%w: host address %s is already in the inventory (%s)", hearth.ErrConflict, h.SSHAddr(), other)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read hosts: %w", err)
	}
	return nil
}

// uniqueHost turns a unique constraint that failed in spite of the check
// into hearth.ErrConflict, naming the host in the way; other errors are
// returned as they are.
func (s *Store) uniqueHost(ctx context.Context, err error, h *hearth.Host, except string) error {
	var e *sqlite.Error
	if !errors.As(err, &e) || (e.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE && e.Code() != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return err
	}
	if c := hostConflict(ctx, s.db, h, except); errors.Is(c, hearth.ErrConflict) {
		return c
	}
	if e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return fmt.Errorf("%w: host id %s is already in the inventory", hearth.ErrConflict, h.Id)
	}
	return fmt.Errorf("%w: host %s: %v", hearth.ErrConflict, h.Id, err)
}

func scanHost(scan func(...any) error) (*hearth.Host, error) {
	var doc []byte
	if err := scan(&doc); err != nil {
		return nil, err
	}
	h := &hearth.Host{}
	if err := json.Unmarshal(doc, h); err != nil {
		return nil, fmt.Errorf("decode host: %w", err)
	}
	return h, nil
}

func getHost(ctx context.Context, q querier, id string) (*hearth.Host, error) {
	h, err := scanHost(q.QueryRowContext(ctx, `SELECT doc FROM hosts WHERE id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("host %s: %w", id, hearth.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read host %s: %w", id, err)
	}
	return h, nil
}

// Host implements hearth.Store.
func (s *Store) Host(ctx context.Context, id string) (*hearth.Host, error) {
	return getHost(ctx, s.db, id)
}

// Hosts implements hearth.Store.
func (s *Store) Hosts(ctx context.Context) ([]*hearth.Host, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT doc FROM hosts ORDER BY created_at, rowid`)
	if err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	defer rows.Close()
	out := []*hearth.Host{}
	for rows.Next() {
		h, err := scanHost(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// UpdateHost implements hearth.Store.
func (s *Store) UpdateHost(ctx context.Context, id string, fn func(*hearth.Host) error) (*hearth.Host, error) {
	var h *hearth.Host // as fn left it
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if h, err = getHost(ctx, tx, id); err != nil {
			return err
		}
		if err := fn(h); err != nil {
			return err
		}
		if err := hostConflict(ctx, tx, h, id); err != nil {
			return err
		}
		doc, err := json.Marshal(h)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE hosts SET name = ?, address = ?, port = ?, doc = ? WHERE id = ?`,
			h.Name, h.Address, h.Port, doc, id); err != nil {
			return fmt.Errorf("update host %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		if h != nil {
			err = s.uniqueHost(ctx, err, h, id)
		}
		return nil, err
	}
	return h, nil
}

// DeleteHost implements hearth.Store.
func (s *Store) DeleteHost(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM hosts WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete host %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("host %s: %w", id, hearth.ErrNotFound)
	}
	return nil
}
