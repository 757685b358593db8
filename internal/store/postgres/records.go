package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/egressguard/egressguard/internal/store"
)

// generationAllow is the generation PutAllow and DeleteAllow bump.
const generationAllow = "allowlist"

// Message implements store.RecordTx. FOR UPDATE holds the row until the
// transaction commits: another instance's update of the message waits for
// this one and then re-checks its condition against what this one wrote.
func (t *tx) Message(id string) (*store.Message, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	var m *store.Message
	err := t.query("read message "+id, nil, `SELECT `+msgColumns+` FROM messages WHERE id = $1 FOR UPDATE`, []any{id},
		func(rows pgx.Rows) (err error) {
			m, err = scanMessage(rows)
			return err
		})
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("postgres: message %s: %w", id, store.ErrNotFound)
	}
	return m, nil
}

func (t *tx) Decisions(msgID string) ([]*store.Decision, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	var ds []*store.Decision
	err := t.query("read decisions of "+msgID, nil, `SELECT `+decisionColumns+` FROM decisions WHERE msg_id = $1 ORDER BY seq`,
		[]any{msgID}, func(rows pgx.Rows) error {
			d, err := scanDecision(rows)
			ds = append(ds, d)
			return err
		})
	if err != nil {
		return nil, err
	}
	return ds, nil
}

// AddDecision implements store.RecordTx. An unknown message inserts no row
// rather than violating the foreign key, which would fail the transaction.
func (t *tx) AddDecision(d *store.Decision) error {
	if err := t.check(); err != nil {
		return err
	}
	tag, err := t.exec("add decision on "+d.MsgID, `INSERT INTO decisions (`+decisionColumns+`)
		SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM messages WHERE id = $1)`,
		d.MsgID, d.Actor, d.Kind, d.Comment, d.NearMiss, millis(d.At))
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("postgres: add decision: message %s: %w", d.MsgID, store.ErrNotFound)
	}
	return nil
}

// LastAudit implements store.RecordTx. The committer holds the writer
// lock from BEGIN on (see committer.begin), which serialises appenders on
// every instance until their transactions end; the first LastAudit of a
// transaction reads the newest entry, later ones (and InsertAudit) keep
// the committer's copy current. The read takes the advisory lock again
// first, which costs nothing in the same round trip and keeps this method
// right even without the committer's lock: the SELECT is then a statement
// of its own, so under READ COMMITTED it reads with a snapshot taken after
// the lock was granted and sees the entry the previous holder committed.
func (t *tx) LastAudit() (*store.AuditEntry, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if h := t.c.head; h.known {
		return cloneAudit(h.e), nil
	}
	var e *store.AuditEntry
	lock := []stmt{{"SELECT pg_advisory_xact_lock($1, $2)", []any{lockWriter, t.s.key}}}
	err := t.query("read last audit entry", lock, `SELECT `+auditColumns+` FROM audit ORDER BY seq DESC LIMIT 1`, nil,
		func(rows pgx.Rows) (err error) {
			e, err = scanAudit(rows)
			return err
		})
	if err != nil {
		return nil, err
	}
	t.c.head = auditHead{known: true, e: cloneAudit(e)}
	return e, nil // nil if there is none
}

// cloneAudit copies e, so that a caller changing what it got or gave
// cannot change the committer's copy.
func cloneAudit(e *store.AuditEntry) *store.AuditEntry {
	if e == nil {
		return nil
	}
	c := *e
	c.Data, c.Prev, c.Hash = slices.Clone(e.Data), slices.Clone(e.Prev), slices.Clone(e.Hash)
	return &c
}

// InsertAudit implements store.RecordTx. The condition keeps the chain
// from forking even for an appender that skipped LastAudit: an entry whose
// Seq is not the next one inserts nothing, and of two transactions
// inserting the same Seq, the second waits for the first and then finds
// the key taken (ON CONFLICT DO NOTHING: no error, no row).
func (t *tx) InsertAudit(e *store.AuditEntry) error {
	if err := t.check(); err != nil {
		return err
	}
	tag, err := t.exec(fmt.Sprintf("insert audit entry %d", e.Seq), `INSERT INTO audit (`+auditColumns+`)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8
		WHERE $1 = (SELECT coalesce(max(seq), 0) + 1 FROM audit)
		ON CONFLICT (seq) DO NOTHING`, auditArgs(e)...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("postgres: insert audit entry %d: not the next in the chain: %w", e.Seq, store.ErrConflict)
	}
	stored := cloneAudit(e)
	stored.At = time.UnixMilli(e.At.UnixMilli()).UTC() // as it reads back
	t.c.head = auditHead{known: true, e: stored}
	return nil
}

// PurgeAudit implements store.RecordTx: it deletes the prefix of the chain
// before the first entry at or after before, always keeping the newest.
// The inner scan walks the primary key in seq order and stops at the first
// entry to keep, so a purge costs what it deletes.
func (t *tx) PurgeAudit(before time.Time) (int, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	tag, err := t.exec("purge audit entries", `DELETE FROM audit WHERE seq < coalesce(
		(SELECT seq FROM audit WHERE at >= $1 ORDER BY seq LIMIT 1),
		(SELECT max(seq) FROM audit))`, before.UnixMilli())
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

func (t *tx) InsertUser(u *store.User) error {
	if err := t.check(); err != nil {
		return err
	}
	if u.Name == "" {
		return errors.New("postgres: insert user: empty name")
	}
	args, err := userArgs(u)
	if err != nil {
		return fmt.Errorf("postgres: insert user %s: %w", u.Name, err)
	}
	tag, err := t.exec("insert user "+u.Name, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (name) DO NOTHING`, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("postgres: insert user %s: %w", u.Name, store.ErrExists)
	}
	return nil
}

// User implements store.RecordTx. FOR UPDATE holds the row until the
// transaction commits, so a concurrent change of the same user on another
// instance waits and then reads what this one wrote.
func (t *tx) User(name string) (*store.User, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	var u *store.User
	err := t.query("read user "+name, nil, `SELECT `+userColumns+` FROM users WHERE name = $1 FOR UPDATE`, []any{name},
		func(rows pgx.Rows) (err error) {
			u, err = scanUser(rows)
			return err
		})
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, fmt.Errorf("postgres: user %s: %w", name, store.ErrNotFound)
	}
	return u, nil
}

func (t *tx) DeleteUserTokens(user string) (int, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	tag, err := t.exec("delete tokens of "+user, `DELETE FROM tokens WHERE username = $1`, user)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

func (t *tx) PutAllow(e *store.AllowEntry) error {
	if err := t.check(); err != nil {
		return err
	}
	if e.ID == "" {
		return errors.New("postgres: put allow entry: empty ID")
	}
	args, err := allowArgs(e)
	if err != nil {
		return fmt.Errorf("postgres: put allow entry %s: %w", e.ID, err)
	}
	_, err = t.exec("put allow entry "+e.ID, `INSERT INTO allow_entries (`+allowColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (id) DO UPDATE SET
			kind = excluded.kind, value = excluded.value, reason = excluded.reason,
			added_by = excluded.added_by, added = excluded.added, expires = excluded.expires,
			senders = excluded.senders, free_mail = excluded.free_mail, source = excluded.source`, args...)
	if err != nil {
		return err
	}
	return t.bump(generationAllow)
}

func (t *tx) DeleteAllow(id string) error {
	if err := t.deleteOne("allow_entries", id, "allow entry "+id); err != nil {
		return err
	}
	return t.bump(generationAllow)
}

// bump increments a generation. The row stays locked until the commit, so
// concurrent changes of one record set take turns; that is rare (an
// officer editing the allowlist) and keeps the counter exact.
func (t *tx) bump(name string) error {
	_, err := t.exec("bump generation "+name, `INSERT INTO generations (name, counter) VALUES ($1, 1)
		ON CONFLICT (name) DO UPDATE SET counter = generations.counter + 1`, name)
	return err
}

// deleteOne deletes the row of table whose id is key, ErrNotFound if there
// is none; what names the row in errors.
func (t *tx) deleteOne(table, key, what string) error {
	if err := t.check(); err != nil {
		return err
	}
	tag, err := t.exec("delete "+what, `DELETE FROM `+table+` WHERE id = $1`, key)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: delete %s: %w", what, store.ErrNotFound)
	}
	return nil
}

func (t *tx) PutSession(s *store.Session) error {
	if err := t.check(); err != nil {
		return err
	}
	if s.ID == "" {
		return errors.New("postgres: put session: empty ID")
	}
	_, err := t.exec("put session", `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET
			username = excluded.username, created = excluded.created, last_seen = excluded.last_seen`,
		s.ID, s.User, millis(s.Created), millis(s.LastSeen))
	return err
}

// The IDs of sessions and tokens are hashes of secrets; they stay out of
// error messages all the same, since errors end up in logs.

func (t *tx) DeleteSession(id string) error {
	return t.deleteOne("sessions", id, "session")
}

func (t *tx) DeleteUserSessions(user string) error {
	if err := t.check(); err != nil {
		return err
	}
	_, err := t.exec("delete sessions of "+user, `DELETE FROM sessions WHERE username = $1`, user)
	return err
}

func (t *tx) PutToken(tk *store.Token) error {
	if err := t.check(); err != nil {
		return err
	}
	if tk.ID == "" {
		return errors.New("postgres: put token: empty ID")
	}
	_, err := t.exec("put token", `INSERT INTO tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET
			username = excluded.username, name = excluded.name, created = excluded.created, expires = excluded.expires`,
		tk.ID, tk.User, tk.Name, millis(tk.Created), millis(tk.Expires))
	return err
}

func (t *tx) DeleteToken(id string) error {
	return t.deleteOne("tokens", id, "token")
}

func (t *tx) InitSecret(name string, value []byte) ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if name == "" || len(value) == 0 {
		return nil, errors.New("postgres: init secret: empty name or value")
	}
	// ON CONFLICT DO NOTHING never aborts the transaction; the SELECT
	// then sees either this insert or the row that was there.
	if _, err := t.exec("init secret", `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
		return nil, err
	}
	var out []byte
	if err := t.queryRow("read secret", nil, `SELECT value FROM secrets WHERE name = $1`, []any{name}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// collectRows reads every row of a query on the reader pool.
func collectRows[T any](s *Store, ctx context.Context, scan func(pgx.Row) (*T, error), sql string, args ...any) ([]*T, error) {
	rows, err := s.query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (s *Store) Decisions(ctx context.Context, msgID string) ([]*store.Decision, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	ds, err := collectRows(s, ctx, scanDecision, `SELECT `+decisionColumns+` FROM decisions WHERE msg_id = $1 ORDER BY seq`, msgID)
	if err != nil {
		return nil, fmt.Errorf("postgres: read decisions of %s: %w", msgID, mapErr(err))
	}
	return ds, nil
}

func (s *Store) DecisionsSince(ctx context.Context, kind string, since time.Time) ([]*store.Decision, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	ds, err := collectRows(s, ctx, scanDecision, `SELECT `+decisionColumns+` FROM decisions
		WHERE kind = $1 AND at >= $2 ORDER BY at, seq`, kind, millis(since))
	if err != nil {
		return nil, fmt.Errorf("postgres: read %s decisions: %w", kind, mapErr(err))
	}
	return ds, nil
}

func (s *Store) Audit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEntry, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	var q strings.Builder
	args := []any{f.AfterSeq}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	q.WriteString("SELECT " + auditColumns + " FROM audit WHERE seq > $1")
	if !f.Since.IsZero() {
		q.WriteString(" AND at >= " + arg(f.Since.UnixMilli()))
	}
	if !f.Until.IsZero() {
		q.WriteString(" AND at < " + arg(f.Until.UnixMilli()))
	}
	if f.MsgID != "" {
		q.WriteString(" AND msg_id = " + arg([]byte(f.MsgID)))
	}
	if f.Actor != "" {
		q.WriteString(" AND actor = " + arg([]byte(f.Actor)))
	}
	q.WriteString(" ORDER BY seq")
	if f.Limit > 0 {
		q.WriteString(" LIMIT " + arg(f.Limit))
	}
	es, err := collectRows(s, ctx, scanAudit, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: read audit log: %w", mapErr(err))
	}
	return es, nil
}

func (s *Store) AllowEntries(ctx context.Context) ([]*store.AllowEntry, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	es, err := collectRows(s, ctx, scanAllow, `SELECT `+allowColumns+` FROM allow_entries ORDER BY value, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: read allowlist: %w", mapErr(err))
	}
	return es, nil
}

// Generation implements store.RecordStore. It reads the database on every
// call (one primary-key lookup), so a change committed on any instance
// before the call is seen: an instance that polls before each message
// applies an allowlist change to the very next message; one that polls
// every N seconds, within N seconds.
func (s *Store) Generation(ctx context.Context, name string) (int64, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return 0, err
	}
	defer cancel()
	var n int64
	err = s.queryRow(ctx, `SELECT counter FROM generations WHERE name = $1`, name).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: read generation %s: %w", name, mapErr(err))
	}
	return n, nil
}

func (s *Store) Session(ctx context.Context, id string) (*store.Session, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	v, err := scanSession(s.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: session: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: read session: %w", mapErr(err))
	}
	return v, nil
}

func (s *Store) Token(ctx context.Context, id string) (*store.Token, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	v, err := scanToken(s.queryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: token: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: read token: %w", mapErr(err))
	}
	return v, nil
}

func (s *Store) Tokens(ctx context.Context, user string) ([]*store.Token, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	var ts []*store.Token
	if user == "" {
		ts, err = collectRows(s, ctx, scanToken, `SELECT `+tokenColumns+` FROM tokens ORDER BY created, id`)
	} else {
		ts, err = collectRows(s, ctx, scanToken, `SELECT `+tokenColumns+` FROM tokens WHERE username = $1 ORDER BY created, id`, user)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: read tokens: %w", mapErr(err))
	}
	return ts, nil
}

// Purgeable implements store.RecordStore. The join starts from bodies:
// records are kept forever, bodies only until retention removes them.
func (s *Store) Purgeable(ctx context.Context, states []store.State, before time.Time, limit int) ([]string, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if len(states) == 0 || limit <= 0 {
		return nil, nil
	}
	names := make([]string, len(states))
	for i, st := range states {
		names[i] = string(st)
	}
	rows, err := s.query(ctx, `SELECT m.id FROM bodies b JOIN messages m ON m.id = b.id
		WHERE m.state = ANY($1) AND m.updated < $2
		ORDER BY m.updated, m.id LIMIT $3`, names, millis(before), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: find purgeable bodies: %w", mapErr(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: find purgeable bodies: %w", mapErr(err))
	}
	return ids, nil
}
