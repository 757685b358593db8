package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/egressguard/egressguard/internal/store"
)

// generationAllow is the generation PutAllow and DeleteAllow bump.
const generationAllow = "allowlist"

// recordWriterSQL are the writer's statements for the records beside
// messages. Inserts use INSERT … SELECT for the statement journal, as
// explained at insertMessage.
var recordWriterSQL = []struct {
	dst func(*stmts) **sql.Stmt
	sql string
}{
	{func(s *stmts) **sql.Stmt { return &s.txMessage }, `SELECT ` + msgColumns + ` FROM messages WHERE id = ?`},
	{func(s *stmts) **sql.Stmt { return &s.txDecisions }, `SELECT ` + decisionColumns + ` FROM decisions WHERE msg_id = ? ORDER BY seq`},
	{func(s *stmts) **sql.Stmt { return &s.addDecision }, `INSERT INTO decisions (` + decisionColumns + `) SELECT ?, ?, ?, ?, ?, ?`},
	{func(s *stmts) **sql.Stmt { return &s.lastAudit }, `SELECT ` + auditColumns + ` FROM audit ORDER BY seq DESC LIMIT 1`},
	// The condition is what keeps the chain from forking: an entry
	// whose Seq is not the next one inserts nothing. max(seq) on the
	// rowid is one b-tree descent.
	{func(s *stmts) **sql.Stmt { return &s.insertAudit }, `INSERT INTO audit (` + auditColumns + `)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
		WHERE ?1 = (SELECT coalesce(max(seq), 0) + 1 FROM audit)`},
	// Deletes the prefix of the chain older than ?1, keeping the newest
	// entry. NOT INDEXED walks the table in seq order and stops at the
	// first entry to keep, so a purge costs what it deletes, not the
	// size of the log.
	{func(s *stmts) **sql.Stmt { return &s.purgeAudit }, `DELETE FROM audit WHERE seq < coalesce(
		(SELECT seq FROM audit NOT INDEXED WHERE at >= ?1 ORDER BY seq LIMIT 1),
		(SELECT max(seq) FROM audit))`},
	{func(s *stmts) **sql.Stmt { return &s.insertUser }, `INSERT INTO users (` + userColumns + `) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`},
	{func(s *stmts) **sql.Stmt { return &s.putAllow }, `INSERT INTO allow_entries (` + allowColumns + `)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE true
		ON CONFLICT (id) DO UPDATE SET
			kind = excluded.kind, value = excluded.value, reason = excluded.reason,
			added_by = excluded.added_by, added = excluded.added, expires = excluded.expires,
			senders = excluded.senders, free_mail = excluded.free_mail, source = excluded.source`},
	{func(s *stmts) **sql.Stmt { return &s.deleteAllow }, `DELETE FROM allow_entries WHERE id = ?`},
	{func(s *stmts) **sql.Stmt { return &s.bumpGeneration }, `INSERT INTO generations (name, counter)
		SELECT ?, 1 WHERE true
		ON CONFLICT (name) DO UPDATE SET counter = counter + 1`},
	{func(s *stmts) **sql.Stmt { return &s.putSession }, `INSERT INTO sessions (` + sessionColumns + `)
		SELECT ?, ?, ?, ? WHERE true
		ON CONFLICT (id) DO UPDATE SET
			user = excluded.user, created = excluded.created, last_seen = excluded.last_seen`},
	{func(s *stmts) **sql.Stmt { return &s.deleteSession }, `DELETE FROM sessions WHERE id = ?`},
	{func(s *stmts) **sql.Stmt { return &s.deleteUserSess }, `DELETE FROM sessions WHERE user = ?`},
	{func(s *stmts) **sql.Stmt { return &s.putToken }, `INSERT INTO tokens (` + tokenColumns + `)
		SELECT ?, ?, ?, ?, ? WHERE true
		ON CONFLICT (id) DO UPDATE SET
			user = excluded.user, name = excluded.name, created = excluded.created, expires = excluded.expires`},
	{func(s *stmts) **sql.Stmt { return &s.deleteToken }, `DELETE FROM tokens WHERE id = ?`},
	{func(s *stmts) **sql.Stmt { return &s.txUser }, `SELECT ` + userColumns + ` FROM users WHERE name = ?`},
	{func(s *stmts) **sql.Stmt { return &s.deleteUserTokens }, `DELETE FROM tokens WHERE user = ?`},
	{func(s *stmts) **sql.Stmt { return &s.initSecret }, `INSERT INTO secrets (name, value)
		SELECT ?, ? WHERE true
		ON CONFLICT (name) DO NOTHING`},
	{func(s *stmts) **sql.Stmt { return &s.getSecret }, `SELECT value FROM secrets WHERE name = ?`},
}

// recordReadSQL are the readers' statements for the records.
var recordReadSQL = []struct {
	dst func(*readStmts) **sql.Stmt
	sql string
}{
	{func(r *readStmts) **sql.Stmt { return &r.decisions }, `SELECT ` + decisionColumns + ` FROM decisions WHERE msg_id = ? ORDER BY seq`},
	{func(r *readStmts) **sql.Stmt { return &r.decisionsSince }, `SELECT ` + decisionColumns + ` FROM decisions WHERE kind = ? AND at >= ? ORDER BY at, seq`},
	{func(r *readStmts) **sql.Stmt { return &r.allow }, `SELECT ` + allowColumns + ` FROM allow_entries ORDER BY value, id`},
	{func(r *readStmts) **sql.Stmt { return &r.generation }, `SELECT counter FROM generations WHERE name = ?`},
	{func(r *readStmts) **sql.Stmt { return &r.session }, `SELECT ` + sessionColumns + ` FROM sessions WHERE id = ?`},
	{func(r *readStmts) **sql.Stmt { return &r.token }, `SELECT ` + tokenColumns + ` FROM tokens WHERE id = ?`},
	{func(r *readStmts) **sql.Stmt { return &r.tokens }, `SELECT ` + tokenColumns + ` FROM tokens WHERE user = ? ORDER BY created, id`},
	{func(r *readStmts) **sql.Stmt { return &r.allTokens }, `SELECT ` + tokenColumns + ` FROM tokens ORDER BY created, id`},
}

// Message implements store.RecordTx. SQLite has one writer, and every
// update function runs on it, so nothing else can change the message
// before the transaction ends: the read is as good as a lock.
func (t *tx) Message(id string) (*store.Message, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	m, err := scanMessage(t.st.txMessage.QueryRow(id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: message %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, t.fail("read message "+id, err)
	}
	return m, nil
}

func (t *tx) Decisions(msgID string) ([]*store.Decision, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	rows, err := t.st.txDecisions.Query(msgID)
	ds, err := collect(rows, err, scanDecision)
	if err != nil {
		return nil, t.fail("read decisions of "+msgID, err)
	}
	return ds, nil
}

func (t *tx) AddDecision(d *store.Decision) error {
	if err := t.check(); err != nil {
		return err
	}
	_, err := t.st.addDecision.Exec(d.MsgID, d.Actor, d.Kind, d.Comment, d.NearMiss, millis(d.At))
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return fmt.Errorf("sqlite: add decision: message %s: %w", d.MsgID, store.ErrNotFound)
	}
	if err != nil {
		return t.fail("add decision on "+d.MsgID, err)
	}
	return nil
}

// LastAudit implements store.RecordTx. It reads on the writer connection,
// so it sees entries inserted earlier in the same transaction, including
// those of update functions before this one in a group commit; and the
// single writer serialises appenders.
func (t *tx) LastAudit() (*store.AuditEntry, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	e, err := scanAudit(t.st.lastAudit.QueryRow())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, t.fail("read last audit entry", err)
	}
	return e, nil
}

func (t *tx) InsertAudit(e *store.AuditEntry) error {
	if err := t.check(); err != nil {
		return err
	}
	res, err := t.st.insertAudit.Exec(auditArgs(e)...)
	if err != nil {
		return t.fail(fmt.Sprintf("insert audit entry %d", e.Seq), err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("sqlite: insert audit entry %d: not the next in the chain: %w", e.Seq, store.ErrConflict)
	}
	return nil
}

func (t *tx) PurgeAudit(before time.Time) (int, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	res, err := t.st.purgeAudit.Exec(before.UnixMilli())
	if err != nil {
		return 0, t.fail("purge audit entries", err)
	}
	n, err := res.RowsAffected()
	if n > 0 {
		*t.deleted = true
	}
	return int(n), err
}

func (t *tx) InsertUser(u *store.User) error {
	if err := t.check(); err != nil {
		return err
	}
	if u.Name == "" {
		return errors.New("sqlite: insert user: empty name")
	}
	args, err := userArgs(u)
	if err != nil {
		return fmt.Errorf("sqlite: insert user %s: %w", u.Name, err)
	}
	if _, err := t.st.insertUser.Exec(args...); err != nil {
		return t.fail("insert user "+u.Name, err)
	}
	return nil
}

// User implements store.RecordTx. As with Message, the single writer
// makes the read a lock: no other transaction runs until this one ends.
func (t *tx) User(name string) (*store.User, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	u, err := scanUser(t.st.txUser.QueryRow(name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: user %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, t.fail("read user "+name, err)
	}
	return u, nil
}

func (t *tx) DeleteUserTokens(user string) (int, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	res, err := t.st.deleteUserTokens.Exec(user)
	if err != nil {
		return 0, t.fail("delete tokens of "+user, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *tx) PutAllow(e *store.AllowEntry) error {
	if err := t.check(); err != nil {
		return err
	}
	if e.ID == "" {
		return errors.New("sqlite: put allow entry: empty ID")
	}
	args, err := allowArgs(e)
	if err != nil {
		return fmt.Errorf("sqlite: put allow entry %s: %w", e.ID, err)
	}
	if _, err := t.st.putAllow.Exec(args...); err != nil {
		return t.fail("put allow entry "+e.ID, err)
	}
	return t.bump(generationAllow)
}

func (t *tx) DeleteAllow(id string) error {
	if err := t.deleteOne(t.st.deleteAllow, id, "allow entry "+id); err != nil {
		return err
	}
	return t.bump(generationAllow)
}

func (t *tx) bump(name string) error {
	if _, err := t.st.bumpGeneration.Exec(name); err != nil {
		return t.fail("bump generation "+name, err)
	}
	return nil
}

// deleteOne runs a delete by key that must remove one row; what names
// the row in errors.
func (t *tx) deleteOne(st *sql.Stmt, key, what string) error {
	if err := t.check(); err != nil {
		return err
	}
	res, err := st.Exec(key)
	if err != nil {
		return t.fail("delete "+what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlite: delete %s: %w", what, store.ErrNotFound)
	}
	return nil
}

func (t *tx) PutSession(s *store.Session) error {
	if err := t.check(); err != nil {
		return err
	}
	if s.ID == "" {
		return errors.New("sqlite: put session: empty ID")
	}
	if _, err := t.st.putSession.Exec(s.ID, s.User, millis(s.Created), millis(s.LastSeen)); err != nil {
		return t.fail("put session", err)
	}
	return nil
}

// The IDs of sessions and tokens are hashes of secrets; they stay out of
// error messages all the same, since errors end up in logs.

func (t *tx) DeleteSession(id string) error {
	return t.deleteOne(t.st.deleteSession, id, "session")
}

func (t *tx) DeleteUserSessions(user string) error {
	if err := t.check(); err != nil {
		return err
	}
	if _, err := t.st.deleteUserSess.Exec(user); err != nil {
		return t.fail("delete sessions of "+user, err)
	}
	return nil
}

func (t *tx) PutToken(tk *store.Token) error {
	if err := t.check(); err != nil {
		return err
	}
	if tk.ID == "" {
		return errors.New("sqlite: put token: empty ID")
	}
	if _, err := t.st.putToken.Exec(tk.ID, tk.User, tk.Name, millis(tk.Created), millis(tk.Expires)); err != nil {
		return t.fail("put token", err)
	}
	return nil
}

func (t *tx) DeleteToken(id string) error {
	return t.deleteOne(t.st.deleteToken, id, "token")
}

func (t *tx) InitSecret(name string, value []byte) ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if name == "" || len(value) == 0 {
		return nil, errors.New("sqlite: init secret: empty name or value")
	}
	if _, err := t.st.initSecret.Exec(name, value); err != nil {
		return nil, t.fail("init secret", err)
	}
	var out []byte
	if err := t.st.getSecret.QueryRow(name).Scan(&out); err != nil {
		return nil, t.fail("read secret", err)
	}
	return out, nil
}

// collect scans every row of a query; rows and qerr are what Query
// returned.
func collect[T any](rows *sql.Rows, qerr error, scan func(scanner) (*T, error)) ([]*T, error) {
	if qerr != nil {
		return nil, qerr
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
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.rd.decisions.QueryContext(ctx, msgID)
	ds, err := collect(rows, err, scanDecision)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read decisions of %s: %w", msgID, mapErr(err))
	}
	return ds, nil
}

func (s *Store) DecisionsSince(ctx context.Context, kind string, since time.Time) ([]*store.Decision, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.rd.decisionsSince.QueryContext(ctx, kind, millis(since))
	ds, err := collect(rows, err, scanDecision)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read %s decisions: %w", kind, mapErr(err))
	}
	return ds, nil
}

// Audit implements store.RecordStore. The indexes on msg_id, actor and at
// end in the rowid, which is seq, so SQLite returns entries in seq order
// from whichever it picks without sorting.
func (s *Store) Audit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEntry, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	var q strings.Builder
	q.WriteString("SELECT " + auditColumns + " FROM audit WHERE seq > ?")
	args := []any{f.AfterSeq}
	if !f.Since.IsZero() {
		q.WriteString(" AND at >= ?")
		args = append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		q.WriteString(" AND at < ?")
		args = append(args, f.Until.UnixMilli())
	}
	if f.MsgID != "" {
		q.WriteString(" AND msg_id = ?")
		args = append(args, f.MsgID)
	}
	if f.Actor != "" {
		q.WriteString(" AND actor = ?")
		args = append(args, f.Actor)
	}
	q.WriteString(" ORDER BY seq")
	if f.Limit > 0 {
		q.WriteString(" LIMIT ?")
		args = append(args, f.Limit)
	}
	rows, err := s.rdb.QueryContext(ctx, q.String(), args...)
	es, err := collect(rows, err, scanAudit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read audit log: %w", mapErr(err))
	}
	return es, nil
}

func (s *Store) AllowEntries(ctx context.Context) ([]*store.AllowEntry, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.rd.allow.QueryContext(ctx)
	es, err := collect(rows, err, scanAllow)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read allowlist: %w", mapErr(err))
	}
	return es, nil
}

func (s *Store) Generation(ctx context.Context, name string) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	var n int64
	err := s.rd.generation.QueryRowContext(ctx, name).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: read generation %s: %w", name, mapErr(err))
	}
	return n, nil
}

func (s *Store) Session(ctx context.Context, id string) (*store.Session, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	v, err := scanSession(s.rd.session.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: session: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read session: %w", mapErr(err))
	}
	return v, nil
}

func (s *Store) Token(ctx context.Context, id string) (*store.Token, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	v, err := scanToken(s.rd.token.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: token: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read token: %w", mapErr(err))
	}
	return v, nil
}

func (s *Store) Tokens(ctx context.Context, user string) ([]*store.Token, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	var (
		rows *sql.Rows
		err  error
	)
	if user == "" {
		rows, err = s.rd.allTokens.QueryContext(ctx)
	} else {
		rows, err = s.rd.tokens.QueryContext(ctx, user)
	}
	ts, err := collect(rows, err, scanToken)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read tokens: %w", mapErr(err))
	}
	return ts, nil
}

// Purgeable implements store.RecordStore. It walks the stored bodies, not
// the messages: records are kept forever, bodies only until retention
// removes them, so the bodies' primary key index is the short list. The
// CROSS JOIN keeps SQLite on that order.
func (s *Store) Purgeable(ctx context.Context, states []store.State, before time.Time, limit int) ([]string, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	if len(states) == 0 || limit <= 0 {
		return nil, nil
	}
	rows, err := s.rdb.QueryContext(ctx, purgeableSQL(len(states)), purgeableArgs(states, before, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find purgeable bodies: %w", mapErr(err))
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: find purgeable bodies: %w", mapErr(err))
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: find purgeable bodies: %w", mapErr(err))
	}
	return ids, nil
}

func purgeableSQL(nStates int) string {
	return `SELECT m.id FROM bodies b CROSS JOIN messages m ON m.id = b.id
		WHERE m.state IN (?` + strings.Repeat(", ?", nStates-1) + `) AND m.updated < ?
		ORDER BY m.updated, m.id LIMIT ?`
}

func purgeableArgs(states []store.State, before time.Time, limit int) []any {
	args := make([]any, 0, len(states)+2)
	for _, st := range states {
		args = append(args, string(st))
	}
	return append(args, millis(before), limit)
}
