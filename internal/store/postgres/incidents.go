package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/egressguard/egressguard/internal/store"
)

const incidentColumns = `id, msg_id, reporter, status, created, updated, version, data`

func scanIncident(r pgx.Row) (*store.Incident, error) {
	var (
		in               store.Incident
		created, updated int64
	)
	if err := r.Scan(&in.ID, &in.MsgID, &in.Reporter, &in.Status, &created, &updated, &in.Version, &in.Data); err != nil {
		return nil, err
	}
	in.Created, in.Updated = fromMillis(created), fromMillis(updated)
	return &in, nil
}

func (t *tx) InsertIncident(in *store.Incident) error {
	if err := t.check(); err != nil {
		return err
	}
	if in.ID == "" {
		return errors.New("postgres: insert incident: empty ID")
	}
	data := in.Data
	if data == nil {
		data = []byte{}
	}
	tag, err := t.exec("insert incident", `INSERT INTO incidents (`+incidentColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT (id) DO NOTHING`,
		in.ID, in.MsgID, in.Reporter, in.Status, millis(in.Created), millis(in.Updated), data)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("postgres: insert incident %s: %w", in.ID, store.ErrExists)
	}
	in.Version = 1
	return nil
}

func (t *tx) UpdateIncident(in *store.Incident) error {
	if err := t.check(); err != nil {
		return err
	}
	data := in.Data
	if data == nil {
		data = []byte{}
	}
	var (
		n      int64
		exists bool
	)
	err := t.queryRow("update incident "+in.ID, nil, `WITH u AS (
		UPDATE incidents SET status = $1, updated = $2, data = $3, version = version + 1
		WHERE id = $4 AND version = $5 RETURNING 1)
		SELECT (SELECT count(*) FROM u), EXISTS (SELECT 1 FROM incidents WHERE id = $4)`,
		[]any{in.Status, millis(in.Updated), data, in.ID, in.Version}, &n, &exists)
	switch {
	case err != nil:
		return err
	case n == 1:
		in.Version++
		return nil
	case !exists:
		return fmt.Errorf("postgres: update incident %s: %w", in.ID, store.ErrNotFound)
	}
	return fmt.Errorf("postgres: update incident %s: %w", in.ID, store.ErrConflict)
}

func (s *Store) Incident(ctx context.Context, id string) (*store.Incident, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	in, err := scanIncident(s.queryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: incident %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: read incident: %w", mapErr(err))
	}
	return in, nil
}

func (s *Store) Incidents(ctx context.Context, f store.IncidentFilter) ([]*store.Incident, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	status := f.Status
	if status == nil {
		status = []string{}
	}
	ins, err := collectRows(s, ctx, scanIncident, `SELECT `+incidentColumns+` FROM incidents
		WHERE ($1 = '' OR reporter = $1) AND ($2 = '' OR msg_id = $2) AND (cardinality($3::text[]) = 0 OR status = ANY($3))
		ORDER BY created DESC, id DESC LIMIT $4`, f.Reporter, f.MsgID, status, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list incidents: %w", mapErr(err))
	}
	return ins, nil
}
