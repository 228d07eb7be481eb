package postgres

import (
	"context"
	"fmt"

	"github.com/hearthcluster/hearth"
)

// PutAccessKey implements hearth.Store.
func (s *Store) PutAccessKey(ctx context.Context, k *hearth.AccessKey) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO access_keys (id, secret, created_at, description) VALUES ($1, $2, $3, $4)`,
		k.AccessKeyId, k.SealedSecret, k.CreateDate, k.Description)
	if err != nil {
		return fmt.Errorf("insert access key %s: %w", k.AccessKeyId, err)
	}
	return nil
}

// AccessKey implements hearth.Store.
func (s *Store) AccessKey(ctx context.Context, id string) (*hearth.AccessKey, error) {
	var k hearth.AccessKey
	err := s.pool.QueryRow(ctx, `SELECT id, secret, created_at, description FROM access_keys WHERE id = $1`, id).
		Scan(&k.AccessKeyId, &k.SealedSecret, &k.CreateDate, &k.Description)
	if notFound(err) {
		return nil, fmt.Errorf("access key %s: %w", id, hearth.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read access key %s: %w", id, err)
	}
	k.CreateDate = k.CreateDate.UTC()
	return &k, nil
}

// AccessKeys implements hearth.Store.
func (s *Store) AccessKeys(ctx context.Context) ([]*hearth.AccessKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, created_at, description FROM access_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list access keys: %w", err)
	}
	defer rows.Close()
	out := []*hearth.AccessKey{}
	for rows.Next() {
		var k hearth.AccessKey
		if err := rows.Scan(&k.AccessKeyId, &k.CreateDate, &k.Description); err != nil {
			return nil, err
		}
		k.CreateDate = k.CreateDate.UTC()
		out = append(out, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list access keys: %w", err)
	}
	return out, nil
}

// DeleteAccessKey implements hearth.Store.
func (s *Store) DeleteAccessKey(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM access_keys WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete access key %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("access key %s: %w", id, hearth.ErrNotFound)
	}
	return nil
}
