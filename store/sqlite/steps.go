package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hearthcluster/hearth"
)

// AddSteps implements hearth.Store.
func (s *Store) AddSteps(ctx context.Context, clusterID string, steps []*hearth.Step, check func(*hearth.Cluster) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		c, err := getCluster(ctx, tx, clusterID)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(c); err != nil {
				return err
			}
		}
		var active int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM steps WHERE cluster_id = ? AND state IN (?`+strings.Repeat(",?", len(hearth.ActiveStepStates)-1)+`)`,
			activeArgs(clusterID)...).Scan(&active); err != nil {
			return fmt.Errorf("count active steps of %s: %w", clusterID, err)
		}
		if err := hearth.CheckActiveSteps(active, len(steps)); err != nil {
			return err
		}
		var seq int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM steps WHERE cluster_id = ?`, clusterID).Scan(&seq); err != nil {
			return err
		}
		for _, st := range steps {
			seq++
			st.Seq = seq
			if err := writeStep(ctx, tx, st, true); err != nil {
				return err
			}
		}
		return nil
	})
}

func activeArgs(clusterID string) []any {
	args := []any{clusterID}
	for _, st := range hearth.ActiveStepStates {
		args = append(args, string(st))
	}
	return args
}

// stepDoc carries the members of a step that its API document leaves out.
type stepDoc struct {
	*hearth.Step
	CancelOption string `json:"CancelOption,omitempty"`
}

func writeStep(ctx context.Context, tx *sql.Tx, st *hearth.Step, insert bool) error {
	doc, err := json.Marshal(stepDoc{st, st.CancelOption})
	if err != nil {
		return err
	}
	if insert {
		_, err = tx.ExecContext(ctx, `INSERT INTO steps(id, cluster_id, seq, state, doc) VALUES (?, ?, ?, ?, ?)`,
			st.Id, st.ClusterId, st.Seq, st.Status.State, doc)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE steps SET state = ?, doc = ? WHERE id = ?`, st.Status.State, doc, st.Id)
	}
	if err != nil {
		return fmt.Errorf("write step %s: %w", st.Id, err)
	}
	return nil
}

func scanStep(scan func(...any) error) (*hearth.Step, error) {
	var doc []byte
	var seq int64
	if err := scan(&seq, &doc); err != nil {
		return nil, err
	}
	st := &hearth.Step{}
	d := stepDoc{Step: st}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("decode step: %w", err)
	}
	st.Seq, st.CancelOption = seq, d.CancelOption
	return st, nil
}

func getStep(ctx context.Context, q querier, clusterID, stepID string) (*hearth.Step, error) {
	st, err := scanStep(q.QueryRowContext(ctx, `SELECT seq, doc FROM steps WHERE cluster_id = ? AND id = ?`, clusterID, stepID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("step %s of cluster %s: %w", stepID, clusterID, hearth.ErrNotFound)
	}
	return st, err
}

// Step implements hearth.Store.
func (s *Store) Step(ctx context.Context, clusterID, stepID string) (*hearth.Step, error) {
	return getStep(ctx, s.db, clusterID, stepID)
}

// Steps implements hearth.Store.
func (s *Store) Steps(ctx context.Context, clusterID string, states ...hearth.StepState) ([]*hearth.Step, error) {
	query := `SELECT seq, doc FROM steps WHERE cluster_id = ?`
	args := []any{clusterID}
	if len(states) > 0 {
		query += ` AND state IN (?` + strings.Repeat(",?", len(states)-1) + `)`
		for _, st := range states {
			args = append(args, string(st))
		}
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("list steps of %s: %w", clusterID, err)
	}
	defer rows.Close()
	var out []*hearth.Step
	for rows.Next() {
		st, err := scanStep(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// UpdateStep implements hearth.Store.
func (s *Store) UpdateStep(ctx context.Context, clusterID, stepID string, fn func(*hearth.Step) error) (*hearth.Step, error) {
	var out *hearth.Step
	err := s.tx(ctx, func(tx *sql.Tx) error {
		st, err := getStep(ctx, tx, clusterID, stepID)
		if err != nil {
			return err
		}
		if err := fn(st); err != nil {
			return err
		}
		out = st
		return writeStep(ctx, tx, st, false)
	})
	return out, err
}
