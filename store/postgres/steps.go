package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hearthcluster/hearth"
	"github.com/jackc/pgx/v5"
)

// AddSteps implements hearth.Store.
func (s *Store) AddSteps(ctx context.Context, clusterID string, steps []*hearth.Step, check func(*hearth.Cluster) error) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		// The cluster's row lock makes this the only AddSteps of the
		// cluster until commit: the count and the numbering below hold.
		c, err := getCluster(ctx, tx, clusterID, forUpdate)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(c); err != nil {
				return err
			}
		}
		var active int
		var seq int64
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FILTER (WHERE state = ANY($2)), COALESCE(MAX(seq), 0) FROM steps WHERE cluster_id = $1`,
			clusterID, stateArgs(hearth.ActiveStepStates)).Scan(&active, &seq); err != nil {
			return fmt.Errorf("count active steps of %s: %w", clusterID, err)
		}
		if err := hearth.CheckActiveSteps(active, len(steps)); err != nil {
			return err
		}
		for _, st := range steps {
			seq++
			st.Seq = seq
		}
		return insertSteps(ctx, tx, clusterID, steps)
	})
}

// insertSteps stores steps, whose Seq is set, in one round trip.
func insertSteps(ctx context.Context, tx pgx.Tx, clusterID string, steps []*hearth.Step) error {
	if len(steps) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, st := range steps {
		doc, err := json.Marshal(st)
		if err != nil {
			return err
		}
		b.Queue(`INSERT INTO steps (id, cluster_id, seq, state, cancel_option, doc) VALUES ($1, $2, $3, $4, $5, $6)`,
			st.Id, st.ClusterId, st.Seq, string(st.Status.State), st.CancelOption, doc)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("insert steps of %s: %w", clusterID, err)
	}
	return nil
}

const stepColumns = `seq, cancel_option, doc`

func scanStep(row pgx.Row) (*hearth.Step, error) {
	var seq int64
	var cancel string
	var doc []byte
	if err := row.Scan(&seq, &cancel, &doc); err != nil {
		return nil, err
	}
	st := &hearth.Step{}
	if err := json.Unmarshal(doc, st); err != nil {
		return nil, fmt.Errorf("decode step: %w", err)
	}
	st.Seq, st.CancelOption = seq, cancel
	return st, nil
}

func getStep(ctx context.Context, q querier, clusterID, stepID string, suffix string) (*hearth.Step, error) {
	st, err := scanStep(q.QueryRow(ctx, `SELECT `+stepColumns+` FROM steps WHERE cluster_id = $1 AND id = $2`+suffix, clusterID, stepID))
	if notFound(err) {
		return nil, fmt.Errorf("step %s of cluster %s: %w", stepID, clusterID, hearth.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read step %s: %w", stepID, err)
	}
	return st, nil
}

// Step implements hearth.Store.
func (s *Store) Step(ctx context.Context, clusterID, stepID string) (*hearth.Step, error) {
	return getStep(ctx, s.pool, clusterID, stepID, "")
}

// Steps implements hearth.Store.
func (s *Store) Steps(ctx context.Context, clusterID string, states ...hearth.StepState) ([]*hearth.Step, error) {
	query := `SELECT ` + stepColumns + ` FROM steps WHERE cluster_id = $1`
	args := []any{clusterID}
	if len(states) > 0 {
		query += ` AND state = ANY($2)`
		args = append(args, stateArgs(states))
	}
	rows, err := s.pool.Query(ctx, query+` ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("list steps of %s: %w", clusterID, err)
	}
	defer rows.Close()
	var out []*hearth.Step
	for rows.Next() {
		st, err := scanStep(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list steps of %s: %w", clusterID, err)
	}
	return out, nil
}

// UpdateStep implements hearth.Store.
func (s *Store) UpdateStep(ctx context.Context, clusterID, stepID string, fn func(*hearth.Step) error) (*hearth.Step, error) {
	var out *hearth.Step
	err := s.tx(ctx, func(tx pgx.Tx) error {
		st, err := getStep(ctx, tx, clusterID, stepID, forUpdate)
		if err != nil {
			return err
		}
		if err := fn(st); err != nil {
			return err
		}
		doc, err := json.Marshal(st)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE steps SET state = $3, cancel_option = $4, doc = $5 WHERE cluster_id = $1 AND id = $2`,
			clusterID, stepID, string(st.Status.State), st.CancelOption, doc); err != nil {
			return fmt.Errorf("write step %s: %w", stepID, err)
		}
		out = st
		return nil
	})
	return out, err
}
