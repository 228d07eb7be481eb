package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hearthcluster/hearth"
)

// PutAccessKey implements hearth.Store.
func (s *Store) PutAccessKey(ctx context.Context, k *hearth.AccessKey) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO access_keys(id, secret, created_at, description) VALUES (?, ?, ?, ?)`,
		k.AccessKeyId, k.SealedSecret, k.CreateDate.UnixNano(), k.Description)
	if err != nil {
		return fmt.Errorf("insert access key: %w", err)
	}
	return nil
}

// AccessKey implements hearth.Store.
func (s *Store) AccessKey(ctx context.Context, id string) (*hearth.AccessKey, error) {
	var k hearth.AccessKey
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT id, secret, created_at, description FROM access_keys WHERE id = ?`, id).
		Scan(&k.AccessKeyId, &k.SealedSecret, &created, &k.Description)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("access key %s: %w", id, hearth.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	k.CreateDate = time.Unix(0, created).UTC()
	return &k, nil
}

// AccessKeys implements hearth.Store.
func (s *Store) AccessKeys(ctx context.Context) ([]*hearth.AccessKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, created_at, description FROM access_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*hearth.AccessKey{}
	for rows.Next() {
		var k hearth.AccessKey
		var created int64
		if err := rows.Scan(&k.AccessKeyId, &created, &k.Description); err != nil {
			return nil, err
		}
		k.CreateDate = time.Unix(0, created).UTC()
		out = append(out, &k)
	}
	return out, rows.Err()
}

// DeleteAccessKey implements hearth.Store.
func (s *Store) DeleteAccessKey(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM access_keys WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("access key %s: %w", id, hearth.ErrNotFound)
	}
	return nil
}
