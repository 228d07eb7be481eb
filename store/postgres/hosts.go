package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hearthcluster/hearth"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PutHost implements hearth.Store.
func (s *Store) PutHost(ctx context.Context, h *hearth.Host) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := hostConflict(ctx, tx, h, ""); err != nil {
			return err
		}
		doc, err := json.Marshal(h)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO hosts (id, name, address, port, created_at, doc) VALUES ($1, $2, $3, $4, $5, $6)`,
			h.Id, h.Name, h.Address, h.Port, h.CreationDateTime, doc); err != nil {
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
	err := q.QueryRow(ctx, `SELECT id FROM hosts WHERE name = $1 AND id <> $2`, h.Name, except).Scan(&other)
	if err == nil {
		return fmt.Errorf("%w: host name %q is already in the inventory (%s)", hearth.ErrConflict, h.Name, other)
	}
	if !notFound(err) {
		return fmt.Errorf("read hosts: %w", err)
	}
	err = q.QueryRow(ctx, `SELECT id FROM hosts WHERE address = $1 AND port = $2 AND id <> $3`, h.Address, h.Port, except).Scan(&other)
	if err == nil {
		return fmt.Errorf("%w: host address %s is already in the inventory (%s)", hearth.ErrConflict, h.SSHAddr(), other)
	}
	if !notFound(err) {
		return fmt.Errorf("read hosts: %w", err)
	}
	return nil
}

// uniqueHost turns a unique constraint that failed in spite of the check
// (a concurrent writer, here or in another replica, took the name or the
// address between the check and the write) into hearth.ErrConflict,
// naming the host in the way; other errors are returned as they are.
func (s *Store) uniqueHost(ctx context.Context, err error, h *hearth.Host, except string) error {
	var e *pgconn.PgError
	if !errors.As(err, &e) || e.Code != "23505" { // unique_violation
		return err
	}
	if c := hostConflict(ctx, s.pool, h, except); errors.Is(c, hearth.ErrConflict) {
		return c
	}
	// The host in the way went again before it could be named.
	switch e.ConstraintName {
	case "hosts_name":
		return fmt.Errorf("%w: host name %q is already in the inventory", hearth.ErrConflict, h.Name)
	case "hosts_address":
		return fmt.Errorf("%w: host address %s is already in the inventory", hearth.ErrConflict, h.SSHAddr())
	case "hosts_pkey":
		return fmt.Errorf("%w: host id %s is already in the inventory", hearth.ErrConflict, h.Id)
	}
	return fmt.Errorf("%w: host %s: %v", hearth.ErrConflict, h.Id, err)
}

func scanHost(row pgx.Row) (*hearth.Host, error) {
	var doc []byte
	if err := row.Scan(&doc); err != nil {
		return nil, err
	}
	h := &hearth.Host{}
	if err := json.Unmarshal(doc, h); err != nil {
		return nil, fmt.Errorf("decode host: %w", err)
	}
	return h, nil
}

// getHost reads a host; suffix is "" or forUpdate.
func getHost(ctx context.Context, q querier, id string, suffix string) (*hearth.Host, error) {
	h, err := scanHost(q.QueryRow(ctx, `SELECT doc FROM hosts WHERE id = $1`+suffix, id))
	if notFound(err) {
		return nil, fmt.Errorf("host %s: %w", id, hearth.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read host %s: %w", id, err)
	}
	return h, nil
}

// Host implements hearth.Store.
func (s *Store) Host(ctx context.Context, id string) (*hearth.Host, error) {
	return getHost(ctx, s.pool, id, "")
}

// Hosts implements hearth.Store.
func (s *Store) Hosts(ctx context.Context) ([]*hearth.Host, error) {
	rows, err := s.pool.Query(ctx, `SELECT doc FROM hosts ORDER BY created_at, pos`)
	if err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	defer rows.Close()
	out := []*hearth.Host{}
	for rows.Next() {
		h, err := scanHost(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	return out, nil
}

// UpdateHost implements hearth.Store.
func (s *Store) UpdateHost(ctx context.Context, id string, fn func(*hearth.Host) error) (*hearth.Host, error) {
	var h *hearth.Host // as fn left it
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if h, err = getHost(ctx, tx, id, forUpdate); err != nil {
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
		if _, err := tx.Exec(ctx, `UPDATE hosts SET name = $2, address = $3, port = $4, doc = $5 WHERE id = $1`,
			id, h.Name, h.Address, h.Port, doc); err != nil {
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
	tag, err := s.pool.Exec(ctx, `DELETE FROM hosts WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete host %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("host %s: %w", id, hearth.ErrNotFound)
	}
	return nil
}
