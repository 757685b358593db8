package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/egressguard/egressguard/internal/store"
)

const incidentColumns = `id, msg_id, reporter, status, created, updated, version, data`

func scanIncident(r scanner) (*store.Incident, error) {
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

// Incidents are written rarely (a person files or edits one), so their
// statements are not prepared with the writer's.

func (t *tx) InsertIncident(in *store.Incident) error {
	if err := t.check(); err != nil {
		return err
	}
	if in.ID == "" {
		return errors.New("sqlite: insert incident: empty ID")
	}
	data := in.Data
	if data == nil {
		data = []byte{}
	}
	// INSERT … SELECT for the statement journal (see insertMessage).
	res, err := t.conn.ExecContext(context.Background(), `INSERT INTO incidents (`+incidentColumns+`)
		SELECT ?, ?, ?, ?, ?, ?, 1, ? WHERE true ON CONFLICT (id) DO NOTHING`,
		in.ID, in.MsgID, in.Reporter, in.Status, millis(in.Created), millis(in.Updated), data)
	if err != nil {
		return t.fail("insert incident", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("sqlite: insert incident %s: %w", in.ID, store.ErrExists)
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
	res, err := t.conn.ExecContext(context.Background(), `UPDATE incidents SET status = ?, updated = ?, data = ?, version = version + 1
		WHERE rowid IN (SELECT rowid FROM incidents WHERE id = ?) AND version = ?`,
		in.Status, millis(in.Updated), data, in.ID, in.Version)
	if err != nil {
		return t.fail("update incident", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		in.Version++
		return nil
	}
	var one int
	switch err := t.conn.QueryRowContext(context.Background(), `SELECT 1 FROM incidents WHERE id = ?`, in.ID).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlite: update incident %s: %w", in.ID, store.ErrNotFound)
	case err != nil:
		return t.fail("update incident", err)
	}
	return fmt.Errorf("sqlite: update incident %s: %w", in.ID, store.ErrConflict)
}

func (s *Store) Incident(ctx context.Context, id string) (*store.Incident, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	in, err := scanIncident(s.rdb.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: incident %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read incident: %w", mapErr(err))
	}
	return in, nil
}

func (s *Store) Incidents(ctx context.Context, f store.IncidentFilter) ([]*store.Incident, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	var (
		where []string
		args  []any
	)
	if f.Reporter != "" {
		where, args = append(where, "reporter = ?"), append(args, f.Reporter)
	}
	if f.MsgID != "" {
		where, args = append(where, "msg_id = ?"), append(args, f.MsgID)
	}
	if len(f.Status) > 0 {
		where = append(where, "status IN (?"+strings.Repeat(", ?", len(f.Status)-1)+")")
		for _, st := range f.Status {
			args = append(args, st)
		}
	}
	q := `SELECT ` + incidentColumns + ` FROM incidents`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	q += " ORDER BY created DESC, rowid DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	ins, err := collect(rows, err, scanIncident)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list incidents: %w", mapErr(err))
	}
	return ins, nil
}
