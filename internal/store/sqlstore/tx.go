package sqlstore

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/store"
)

// Stmt is one statement with its arguments.
type Stmt struct {
	SQL  string
	Args []any
}

// Conn is a backend's connection as one update function sees it: its
// statements run inside the function's savepoint of the open transaction.
// Errors come back wrapped ("name: op: …") and translated into the store's
// sentinels; an error after which the transaction cannot be trusted also
// breaks the Conn (Check returns it from then on). SQL is written as for
// SQLite; the backend rewrites it with Dialect.SQL.
type Conn interface {
	// Check fails once the function has returned, or the Conn is broken.
	Check() error
	// Exec runs a statement and returns the number of rows it changed.
	Exec(op, sql string, args ...any) (int64, error)
	// ExecAll runs the statements in order (PostgreSQL: in one round
	// trip) and returns the number of rows the first changed.
	ExecAll(op string, stmts ...Stmt) (int64, error)
	// Query runs lead, if any (PostgreSQL: in the same round trip), then
	// a query, and calls each for every row of the query.
	Query(op string, lead *Stmt, sql string, args []any, each func(Scanner) error) error
	// Deleted notes that the function deleted content that must not
	// linger in the database's files (SQLite wipes its WAL after it).
	Deleted()
	// Wake notes that the function made mail due (PostgreSQL notifies
	// the other instances with the commit).
	Wake()
	// Carry notes body bytes sent (PostgreSQL ends a transaction early
	// once they add up).
	Carry(n int)
	// Break makes err the Conn's: the function fails with it even if it
	// ignores it (its writes are incomplete). It returns err.
	Break(err error) error
}

// FnState is what a backend's Conn keeps of its function: whether it has
// returned, and the first error after which its writes cannot be trusted
// to be complete. Embedded, it provides Check and Break.
type FnState struct {
	// ErrDone is returned once the function has returned.
	ErrDone error
	done    bool
	broken  error
}

// Check implements Conn.
func (f *FnState) Check() error {
	if f.done {
		return f.ErrDone
	}
	return f.broken
}

// Break implements Conn.
func (f *FnState) Break(err error) error {
	if f.broken == nil {
		f.broken = err
	}
	return err
}

// Finish marks the function returned with err, and returns its outcome:
// err, or the error that broke it if the function ignored that one.
func (f *FnState) Finish(err error) error {
	f.done = true
	if err == nil {
		err = f.broken
	}
	return err
}

// AuditHead caches the newest audit entry for the open transaction. The
// writer lock (PostgreSQL) or the single writer (SQLite), held from BEGIN
// to COMMIT, keeps every other transaction from appending meanwhile, so
// once read (or written) the newest entry changes only by this
// transaction's own InsertAudit. The cache saves a read per append: nearly
// every update function appends one. A backend restores it when a function
// fails, since the function's entries are rolled back with it.
type AuditHead struct {
	Known bool
	E     *store.AuditEntry // nil: the log is empty
}

// Tx is the store.Tx handed to one update function, written once for both
// databases over the backend's Conn.
type Tx struct {
	c      Conn
	d      *Dialect
	sealer store.Sealer // nil: bodies are stored as given
	head   *AuditHead   // nil: no cache
	// auditLock, if set, is run before the first read of the newest
	// audit entry (PostgreSQL's writer lock, see LastAudit).
	auditLock *Stmt
}

var _ store.Tx = (*Tx)(nil)

// NewTx returns the Tx of one update function.
func NewTx(c Conn, d *Dialect, sealer store.Sealer, head *AuditHead, auditLock *Stmt) *Tx {
	return &Tx{c: c, d: d, sealer: sealer, head: head, auditLock: auditLock}
}

// Conn returns the backend's connection under t.
func (t *Tx) Conn() Conn { return t.c }

func (t *Tx) errorf(format string, args ...any) error {
	return fmt.Errorf(t.d.Name+": "+format, args...)
}

// byID is the condition that finds a row by its key in an UPDATE. In
// SQLite, a single-row UPDATE by primary key gets no statement journal,
// so that SQLITE_FULL would roll back the whole transaction, and with it
// every other function of the group commit; through IN (subquery) it gets
// one, and the failure undoes the statement alone.
func (d *Dialect) byID(table string) string {
	if d.Hints {
		return "rowid IN (SELECT rowid FROM " + table + " WHERE id = ?)"
	}
	return "id = ?"
}

// Inserts use INSERT … SELECT rather than VALUES, on purpose: SQLite then
// keeps a statement journal for the insert, so that SQLITE_FULL (the page
// cap or a full disk while spilling) undoes only this statement. With
// VALUES it rolls back the whole transaction, and with it every other
// update function of the group commit. "WHERE true" is how SQLite tells an
// upsert's ON CONFLICT from a join's ON. A taken key inserts nothing
// (ON CONFLICT DO NOTHING) rather than failing, which in PostgreSQL would
// fail the transaction.

// insertMessageBody inserts the record and the bytes in one statement, one
// round trip (PostgreSQL).
const insertMessageBody = `WITH m AS (
	INSERT INTO messages (` + msgColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO NOTHING
	RETURNING id)
INSERT INTO bodies (id, data, sealed) SELECT id, ?, ? FROM m`

func (t *Tx) InsertMessage(m *store.Message, body io.Reader) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	if m.ID == "" {
		return t.errorf("insert message: empty ID")
	}
	if m.State == "" {
		return t.errorf("insert message: empty state")
	}
	args, err := t.d.MsgArgs(m)
	if err != nil {
		return err
	}
	if body == nil {
		body = eofReader{}
	}
	ch := newChunker(body)
	defer ch.free()
	data, final, err := ch.next()
	if err != nil {
		return t.errorf("insert message %s: read body: %w", m.ID, err)
	}
	if final {
		err = t.insertWhole(m, args, data)
	} else {
		err = t.insertChunked(m, args, data, ch)
	}
	if err != nil {
		return err
	}
	if m.State == store.Queued || m.State == store.Delayed {
		t.c.Wake()
	}
	return nil
}

// insertMessage inserts the record alone.
func (t *Tx) insertMessage(m *store.Message, args []any) error {
	n, err := t.c.Exec("insert message "+m.ID, `INSERT INTO messages (`+msgColumns+`)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE true
		ON CONFLICT (id) DO NOTHING`, args...)
	if err == nil && n != 1 {
		err = t.errorf("insert message %s: %w", m.ID, store.ErrExists)
	}
	return err
}

// insertWhole stores a body of at most one chunk in the row of bodies,
// sealed under the message ID, as every body was before chunks.
func (t *Tx) insertWhole(m *store.Message, args []any, body []byte) error {
	sealed := t.sealer != nil
	if sealed {
		body = t.sealer.Seal(m.ID, body)
	}
	t.c.Carry(len(body))
	if !t.d.Numbered {
		if err := t.insertMessage(m, args); err != nil {
			return err
		}
		_, err := t.c.Exec("insert body "+m.ID, `INSERT INTO bodies (id, data, sealed) SELECT ?, ?, ?`, m.ID, body, sealed)
		return err
	}
	n, err := t.c.Exec("insert message "+m.ID, insertMessageBody, append(args, body, sealed)...)
	if err == nil && n != 1 {
		err = t.errorf("insert message %s: %w", m.ID, store.ErrExists)
	}
	return err
}

// insertChunked stores a body larger than a chunk in body_chunks, one
// chunk at a time, each sealed on its own, and then its row of bodies
// with the number of chunks. Once the record is written, a failure to
// read the body breaks the Tx, so that the function fails even if it
// ignores the error: no message is stored with part of its body.
func (t *Tx) insertChunked(m *store.Message, args []any, data []byte, ch *chunker) error {
	if err := t.insertMessage(m, args); err != nil {
		return err
	}
	sealed := t.sealer != nil
	final := false
	seq := 0
	for ; ; seq++ {
		chunk := data
		if sealed {
			chunk = t.sealer.Seal(store.ChunkID(m.ID, seq, final), data)
		}
		t.c.Carry(len(chunk))
		if _, err := t.c.Exec("insert body "+m.ID, `INSERT INTO body_chunks (id, seq, data) SELECT ?, ?, ?`, m.ID, seq, chunk); err != nil {
			return err
		}
		if final {
			break
		}
		var err error
		if data, final, err = ch.next(); err != nil {
			return t.c.Break(t.errorf("insert message %s: read body: %w", m.ID, err))
		}
	}
	_, err := t.c.Exec("insert body "+m.ID, `INSERT INTO bodies (id, data, sealed, chunks) SELECT ?, ?, ?, ?`,
		m.ID, []byte{}, sealed, seq+1)
	return err
}

func (t *Tx) UpdateMessage(m *store.Message, from store.State) error {
	return t.updateMessage(m, from, "")
}

func (t *Tx) UpdateClaimed(m *store.Message, owner string) error {
	if owner == "" {
		return t.errorf("update claimed message: empty owner")
	}
	return t.updateMessage(m, store.Sending, owner)
}

// updateMessage writes m if its stored state is from and, unless owner is
// "", its stored owner is owner. In PostgreSQL (READ COMMITTED), an UPDATE
// that finds the row locked by another transaction waits for it and then
// checks the state again on the row as that transaction left it: of two
// instances approving the same message, the second finds it no longer
// held. SQLite's NOT INDEXED keeps the planner on the rowid lookup instead
// of scanning messages_state for the state term.
func (t *Tx) updateMessage(m *store.Message, from store.State, owner string) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	if m.State == "" {
		return t.errorf("update message: empty state")
	}
	status, err := EncodeStatus(m.Status)
	if err != nil {
		return t.errorf("encode status: %w", err)
	}
	n, err := t.c.Exec("update message "+m.ID, t.d.UpdateMessageSQL(),
		string(m.State), Millis(m.Updated), m.Attempts, Millis(m.NextAttempt), m.Owner,
		t.d.Text(m.LastError), status, Verdict(m), m.Action, Millis(m.HoldExpires), m.ID, string(from), owner)
	switch {
	case err != nil:
		return err
	case n == 1:
		if m.State == store.Queued || m.State == store.Delayed {
			t.c.Wake()
		}
		return nil
	}
	if err := t.mustExist("messages", m.ID, "update message "+m.ID); err != nil {
		return err
	}
	return t.errorf("update message %s from %s: %w", m.ID, from, store.ErrConflict)
}

// UpdateMessageSQL is updateMessage's statement.
func (d *Dialect) UpdateMessageSQL() string {
	if d.Hints {
		return updateMessageSQLite
	}
	return updateMessagePostgres
}

const (
	updateMessageSet = ` SET
		state = ?, updated = ?, attempts = ?, next_attempt = ?, owner = ?,
		last_error = ?, status = ?, verdict = ?, action = ?, hold_expires = ?
		WHERE `
	updateMessageCond     = ` AND state = ? AND (?13 = '' OR owner = ?13)`
	updateMessageSQLite   = `UPDATE messages NOT INDEXED` + updateMessageSet + `rowid IN (SELECT rowid FROM messages WHERE id = ?)` + updateMessageCond
	updateMessagePostgres = `UPDATE messages` + updateMessageSet + `id = ?` + updateMessageCond
)

// mustExist returns ErrNotFound (wrapped for op) if table has no row id.
func (t *Tx) mustExist(table, id, op string) error {
	found := false
	err := t.c.Query(op, nil, `SELECT 1 FROM `+table+` WHERE id = ?`, []any{id}, func(Scanner) error {
		found = true
		return nil
	})
	if err == nil && !found {
		err = t.errorf("%s: %w", op, store.ErrNotFound)
	}
	return err
}

// DeleteBody is idempotent for a message that exists, so a retried cleanup
// cannot fail the state change it is committed with; it reports ErrNotFound
// only for an unknown message.
//
// PostgreSQL does not overwrite a deleted row at once: the bytes stay in
// the table's pages until VACUUM reclaims them (autovacuum, usually within
// minutes on a busy queue) and in the write-ahead log and its archive until
// those are recycled. SQLite overwrites them (secure_delete) and its WAL is
// wiped a while after (see package sqlite).
func (t *Tx) DeleteBody(id string) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	n, err := t.c.ExecAll("delete body "+id,
		Stmt{`DELETE FROM bodies WHERE id = ?`, []any{id}},
		Stmt{`DELETE FROM body_chunks WHERE id = ?`, []any{id}})
	if err != nil {
		return err
	}
	if n > 0 {
		t.c.Deleted()
		return nil
	}
	return t.mustExist("messages", id, "delete body "+id)
}

// ClaimDue chooses the messages that have waited longest past their
// NextAttempt and returns them sorted by Received, oldest first. Besides
// the fields the interface names, it sets Updated to now.
//
// SQLite has one writer at a time and this runs inside BEGIN IMMEDIATE, so
// choosing and claiming cannot interleave with another claimer; the choice
// names the partial index messages_due, whose condition it repeats word
// for word, so that SQLite walks the index in next_attempt order and stops
// at the limit instead of sorting every due message (INDEXED BY makes a
// mismatch an error rather than a silent slow plan). PostgreSQL locks the
// due rows it picks and skips rows other transactions hold locked, so that
// instances claiming at the same moment each get different messages
// instead of waiting for one another and then finding nothing;
// MATERIALIZED makes the choice once, whatever the planner would like to
// do with the subquery.
func (t *Tx) ClaimDue(now time.Time, owner string, until time.Time, limit int) ([]*store.Message, error) {
	if err := t.c.Check(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	if owner == "" {
		return nil, t.errorf("claim: empty owner")
	}
	var ms []*store.Message
	err := t.c.Query("claim due messages", nil, t.d.ClaimDueSQL(), []any{owner, Millis(until), Millis(now), limit}, func(sc Scanner) error {
		m, err := t.d.scanMessage(sc)
		if err != nil {
			return err
		}
		ms = append(ms, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ms, func(a, b *store.Message) int {
		if c := a.Received.Compare(b.Received); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ms, nil
}

// DueSelect picks the messages ClaimDue takes in SQLite (?3 = now, ?4 =
// limit); see ClaimDue.
const DueSelect = `SELECT rowid FROM messages INDEXED BY messages_due
	WHERE state IN ('queued', 'sending', 'delayed') AND next_attempt <= ?3
	ORDER BY next_attempt LIMIT ?4`

const claimSet = `UPDATE messages SET state = 'sending', owner = ?1, attempts = attempts + 1, next_attempt = ?2, updated = ?3`

// ClaimDue's statements (?1 owner, ?2 until, ?3 now, ?4 limit).
const (
	claimDueSQLite = claimSet + `
	WHERE rowid IN (` + DueSelect + `)
	RETURNING ` + msgColumns
	claimDuePostgres = `WITH due AS MATERIALIZED (
	SELECT id FROM messages
	WHERE state IN ('queued', 'sending', 'delayed') AND next_attempt <= ?3
	ORDER BY next_attempt
	LIMIT ?4
	FOR UPDATE SKIP LOCKED)
` + claimSet + `
WHERE id IN (SELECT id FROM due)
RETURNING ` + msgColumns
)

// ClaimDueSQL is ClaimDue's statement.
func (d *Dialect) ClaimDueSQL() string {
	if d.Hints {
		return claimDueSQLite
	}
	return claimDuePostgres
}

func (t *Tx) ReleaseOwner(owner string, now time.Time) (int, error) {
	if err := t.c.Check(); err != nil {
		return 0, err
	}
	n, err := t.c.Exec("release claims of "+owner, `UPDATE messages SET
		state = 'queued', owner = '', next_attempt = ?2, updated = ?2
		WHERE state = 'sending' AND owner = ?1`, owner, Millis(now))
	if err != nil {
		return 0, err
	}
	if n > 0 {
		t.c.Wake()
	}
	return int(n), nil
}

func (t *Tx) RenewClaims(owner string, ids []string, until time.Time) ([]string, error) {
	if err := t.c.Check(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var renewed []string
	err := t.c.Query("renew claims of "+owner, nil, `UPDATE messages SET next_attempt = ?3
		WHERE `+t.d.StringListSQL("id", "?2")+` AND state = 'sending' AND owner = ?1
		RETURNING id`, []any{owner, t.d.StringList(ids), Millis(until)}, func(sc Scanner) error {
		var id string
		if err := sc.Scan(&id); err != nil {
			return err
		}
		renewed = append(renewed, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return renewed, nil
}

func (t *Tx) PutUser(u *store.User) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	if u.Name == "" {
		return t.errorf("put user: empty name")
	}
	args, err := userArgs(u)
	if err != nil {
		return t.errorf("put user %s: %w", u.Name, err)
	}
	_, err = t.c.Exec("put user "+u.Name, `INSERT INTO users (`+userColumns+`)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE true
		ON CONFLICT (name) DO UPDATE SET
			password_hash = excluded.password_hash, roles = excluded.roles,
			addresses = excluded.addresses, disabled = excluded.disabled,
			lang = excluded.lang, created = excluded.created, updated = excluded.updated,
			delegate_to = excluded.delegate_to, delegate_until = excluded.delegate_until`, args...)
	return err
}

// Message implements store.RecordTx. In PostgreSQL, FOR UPDATE holds the
// row until the transaction commits: another instance's update of the
// message waits for this one and then re-checks its condition against
// what this one wrote. SQLite has one writer, and every update function
// runs on it, so nothing else can change the message before the
// transaction ends: the read is as good as a lock.
func (t *Tx) Message(id string) (*store.Message, error) {
	if err := t.c.Check(); err != nil {
		return nil, err
	}
	var m *store.Message
	err := t.c.Query("read message "+id, nil, `SELECT `+msgColumns+` FROM messages WHERE id = ?`+t.d.ForUpdate, []any{id},
		func(sc Scanner) (err error) {
			m, err = t.d.scanMessage(sc)
			return err
		})
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, t.errorf("message %s: %w", id, store.ErrNotFound)
	}
	return m, nil
}

// DecisionsSQL reads the decisions on a message.
const DecisionsSQL = `SELECT ` + decisionColumns + ` FROM decisions WHERE msg_id = ? ORDER BY seq`

func (t *Tx) Decisions(msgID string) ([]*store.Decision, error) {
	if err := t.c.Check(); err != nil {
		return nil, err
	}
	var ds []*store.Decision
	err := t.c.Query("read decisions of "+msgID, nil, DecisionsSQL,
		[]any{msgID}, func(sc Scanner) error {
			d, err := t.d.scanDecision(sc)
			ds = append(ds, d)
			return err
		})
	if err != nil {
		return nil, err
	}
	return ds, nil
}

// AddDecision implements store.RecordTx. An unknown message inserts no row
// rather than violating the foreign key, which would fail a PostgreSQL
// transaction.
func (t *Tx) AddDecision(d *store.Decision) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	n, err := t.c.Exec("add decision on "+d.MsgID, `INSERT INTO decisions (`+decisionColumns+`)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM messages WHERE id = ?1)`,
		d.MsgID, d.Actor, d.Kind, d.Comment, d.NearMiss, Millis(d.At))
	if err != nil {
		return err
	}
	if n != 1 {
		return t.errorf("add decision: message %s: %w", d.MsgID, store.ErrNotFound)
	}
	return nil
}

// LastAudit implements store.RecordTx. The first LastAudit of a
// transaction reads the newest entry, later ones (and InsertAudit) keep
// the transaction's copy current (AuditHead). In PostgreSQL the read takes
// the writer lock again first, which costs nothing in the same round trip
// and keeps this method right even without the committer's lock: the
// SELECT is then a statement of its own, so under READ COMMITTED it reads
// with a snapshot taken after the lock was granted and sees the entry the
// previous holder committed. In SQLite the read runs on the writer
// connection, so it sees entries inserted earlier in the same transaction.
// LastAuditSQL reads the newest audit entry.
const LastAuditSQL = `SELECT ` + auditColumns + ` FROM audit ORDER BY seq DESC LIMIT 1`

func (t *Tx) LastAudit() (*store.AuditEntry, error) {
	if err := t.c.Check(); err != nil {
		return nil, err
	}
	if t.head != nil && t.head.Known {
		return cloneAudit(t.head.E), nil
	}
	var e *store.AuditEntry
	err := t.c.Query("read last audit entry", t.auditLock, LastAuditSQL, nil,
		func(sc Scanner) (err error) {
			e, err = t.d.scanAudit(sc)
			return err
		})
	if err != nil {
		return nil, err
	}
	if t.head != nil {
		*t.head = AuditHead{Known: true, E: cloneAudit(e)}
	}
	return e, nil // nil if there is none
}

// cloneAudit copies e, so that a caller changing what it got or gave
// cannot change the transaction's copy.
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
// the key taken (ON CONFLICT DO NOTHING: no error, no row). max(seq) on
// the primary key is one b-tree descent.
// InsertAuditSQL appends an audit entry if it is the next in the chain.
const InsertAuditSQL = `INSERT INTO audit (` + auditColumns + `)
	SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
	WHERE ?1 = (SELECT coalesce(max(seq), 0) + 1 FROM audit)
	ON CONFLICT (seq) DO NOTHING`

func (t *Tx) InsertAudit(e *store.AuditEntry) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	n, err := t.c.Exec(fmt.Sprintf("insert audit entry %d", e.Seq), InsertAuditSQL, t.d.auditArgs(e)...)
	if err != nil {
		return err
	}
	if n != 1 {
		return t.errorf("insert audit entry %d: not the next in the chain: %w", e.Seq, store.ErrConflict)
	}
	if t.head != nil {
		stored := cloneAudit(e)
		stored.At = time.UnixMilli(e.At.UnixMilli()).UTC() // as it reads back
		*t.head = AuditHead{Known: true, E: stored}
	}
	return nil
}

// PurgeAudit implements store.RecordTx: it deletes the prefix of the chain
// before the first entry at or after before, always keeping the newest.
// The inner scan walks the table in seq order (SQLite: NOT INDEXED) and
// stops at the first entry to keep, so a purge costs what it deletes, not
// the size of the log.
func (t *Tx) PurgeAudit(before time.Time) (int, error) {
	if err := t.c.Check(); err != nil {
		return 0, err
	}
	n, err := t.c.Exec("purge audit entries", `DELETE FROM audit WHERE seq < coalesce(
		(SELECT seq FROM audit`+t.d.Hint(" NOT INDEXED")+` WHERE at >= ?1 ORDER BY seq LIMIT 1),
		(SELECT max(seq) FROM audit))`, before.UnixMilli())
	if err != nil {
		return 0, err
	}
	if n > 0 {
		t.c.Deleted()
	}
	return int(n), nil
}

func (t *Tx) InsertUser(u *store.User) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	if u.Name == "" {
		return t.errorf("insert user: empty name")
	}
	args, err := userArgs(u)
	if err != nil {
		return t.errorf("insert user %s: %w", u.Name, err)
	}
	n, err := t.c.Exec("insert user "+u.Name, `INSERT INTO users (`+userColumns+`)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE true ON CONFLICT (name) DO NOTHING`, args...)
	if err != nil {
		return err
	}
	if n != 1 {
		return t.errorf("insert user %s: %w", u.Name, store.ErrExists)
	}
	return nil
}

// User implements store.RecordTx. As with Message, the read holds the row
// (PostgreSQL: FOR UPDATE; SQLite: the single writer) until the commit.
func (t *Tx) User(name string) (*store.User, error) {
	if err := t.c.Check(); err != nil {
		return nil, err
	}
	var u *store.User
	err := t.c.Query("read user "+name, nil, `SELECT `+userColumns+` FROM users WHERE name = ?`+t.d.ForUpdate, []any{name},
		func(sc Scanner) (err error) {
			u, err = t.d.scanUser(sc)
			return err
		})
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, t.errorf("user %s: %w", name, store.ErrNotFound)
	}
	return u, nil
}

func (t *Tx) DeleteUserTokens(user string) (int, error) {
	if err := t.c.Check(); err != nil {
		return 0, err
	}
	n, err := t.c.Exec("delete tokens of "+user, `DELETE FROM tokens WHERE username = ?`, user)
	return int(n), err
}

// generationAllow is the generation PutAllow and DeleteAllow bump.
const generationAllow = "allowlist"

func (t *Tx) PutAllow(e *store.AllowEntry) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	if e.ID == "" {
		return t.errorf("put allow entry: empty ID")
	}
	args, err := allowArgs(e)
	if err != nil {
		return t.errorf("put allow entry %s: %w", e.ID, err)
	}
	_, err = t.c.Exec("put allow entry "+e.ID, `INSERT INTO allow_entries (`+allowColumns+`)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE true
		ON CONFLICT (id) DO UPDATE SET
			kind = excluded.kind, value = excluded.value, reason = excluded.reason,
			added_by = excluded.added_by, added = excluded.added, expires = excluded.expires,
			senders = excluded.senders, free_mail = excluded.free_mail, source = excluded.source`, args...)
	if err != nil {
		return err
	}
	return t.bump(generationAllow)
}

func (t *Tx) DeleteAllow(id string) error {
	if err := t.deleteOne("allow_entries", id, "allow entry "+id); err != nil {
		return err
	}
	return t.bump(generationAllow)
}

// bump increments a generation. In PostgreSQL the row stays locked until
// the commit, so concurrent changes of one record set take turns; that is
// rare (an officer editing the allowlist) and keeps the counter exact.
func (t *Tx) bump(name string) error {
	_, err := t.c.Exec("bump generation "+name, `INSERT INTO generations (name, counter)
		SELECT ?, 1 WHERE true
		ON CONFLICT (name) DO UPDATE SET counter = generations.counter + 1`, name)
	return err
}

// deleteOne deletes the row of table whose id is key, ErrNotFound if there
// is none; what names the row in errors.
func (t *Tx) deleteOne(table, key, what string) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	n, err := t.c.Exec("delete "+what, `DELETE FROM `+table+` WHERE id = ?`, key)
	if err != nil {
		return err
	}
	if n == 0 {
		return t.errorf("delete %s: %w", what, store.ErrNotFound)
	}
	return nil
}

func (t *Tx) PutSession(s *store.Session) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	if s.ID == "" {
		return t.errorf("put session: empty ID")
	}
	_, err := t.c.Exec("put session", `INSERT INTO sessions (`+sessionColumns+`)
		SELECT ?, ?, ?, ? WHERE true
		ON CONFLICT (id) DO UPDATE SET
			username = excluded.username, created = excluded.created, last_seen = excluded.last_seen`,
		s.ID, s.User, Millis(s.Created), Millis(s.LastSeen))
	return err
}

// The IDs of sessions and tokens are hashes of secrets; they stay out of
// error messages all the same, since errors end up in logs.

func (t *Tx) DeleteSession(id string) error {
	return t.deleteOne("sessions", id, "session")
}

func (t *Tx) DeleteUserSessions(user string) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	_, err := t.c.Exec("delete sessions of "+user, `DELETE FROM sessions WHERE username = ?`, user)
	return err
}

func (t *Tx) PutToken(tk *store.Token) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	if tk.ID == "" {
		return t.errorf("put token: empty ID")
	}
	_, err := t.c.Exec("put token", `INSERT INTO tokens (`+tokenColumns+`)
		SELECT ?, ?, ?, ?, ? WHERE true
		ON CONFLICT (id) DO UPDATE SET
			username = excluded.username, name = excluded.name, created = excluded.created, expires = excluded.expires`,
		tk.ID, tk.User, tk.Name, Millis(tk.Created), Millis(tk.Expires))
	return err
}

func (t *Tx) DeleteToken(id string) error {
	return t.deleteOne("tokens", id, "token")
}

// InitSecret implements store.RecordTx. ON CONFLICT DO NOTHING never fails
// the transaction; the SELECT then sees either this insert or the row that
// was there.
func (t *Tx) InitSecret(name string, value []byte) ([]byte, error) {
	if err := t.c.Check(); err != nil {
		return nil, err
	}
	if name == "" || len(value) == 0 {
		return nil, t.errorf("init secret: empty name or value")
	}
	if _, err := t.c.Exec("init secret", `INSERT INTO secrets (name, value)
		SELECT ?, ? WHERE true ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
		return nil, err
	}
	var out []byte
	err := t.c.Query("read secret", nil, `SELECT value FROM secrets WHERE name = ?`, []any{name}, func(sc Scanner) error {
		return sc.Scan(&out)
	})
	return out, err
}

func (t *Tx) InsertIncident(in *store.Incident) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	if in.ID == "" {
		return t.errorf("insert incident: empty ID")
	}
	n, err := t.c.Exec("insert incident", `INSERT INTO incidents (`+incidentColumns+`)
		SELECT ?, ?, ?, ?, ?, ?, 1, ? WHERE true ON CONFLICT (id) DO NOTHING`,
		in.ID, in.MsgID, in.Reporter, in.Status, Millis(in.Created), Millis(in.Updated), nonNil(in.Data))
	if err != nil {
		return err
	}
	if n != 1 {
		return t.errorf("insert incident %s: %w", in.ID, store.ErrExists)
	}
	in.Version = 1
	return nil
}

func (t *Tx) UpdateIncident(in *store.Incident) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	n, err := t.c.Exec("update incident "+in.ID, `UPDATE incidents SET status = ?, updated = ?, data = ?, version = version + 1
		WHERE `+t.d.byID("incidents")+` AND version = ?`,
		in.Status, Millis(in.Updated), nonNil(in.Data), in.ID, in.Version)
	switch {
	case err != nil:
		return err
	case n == 1:
		in.Version++
		return nil
	}
	if err := t.mustExist("incidents", in.ID, "update incident "+in.ID); err != nil {
		return err
	}
	return t.errorf("update incident %s: %w", in.ID, store.ErrConflict)
}

// AddCorrespondent implements store.CorrespondentTx: the pair and its
// domain, in one round trip on PostgreSQL.
func (t *Tx) AddCorrespondent(c *store.Correspondent) error {
	if err := t.c.Check(); err != nil {
		return err
	}
	if err := CheckCorrespondent(c); err != nil {
		return t.errorf("add correspondent: %w", err)
	}
	first, last := Millis(c.First), Millis(c.Last)
	upsert := func(table, key string) string {
		return ` ON CONFLICT (` + key + `) DO UPDATE SET
			first_at = ` + t.d.Least + `(` + table + `.first_at, excluded.first_at),
			last_at = ` + t.d.Greatest + `(` + table + `.last_at, excluded.last_at),
			deliveries = ` + table + `.deliveries + excluded.deliveries`
	}
	_, err := t.c.ExecAll("add correspondent",
		Stmt{`INSERT INTO correspondents (` + corrColumns + `) SELECT ?, ?, ?, ?, ?, ? WHERE true` +
			upsert("correspondents", "sender, rcpt"), []any{c.Sender, c.Rcpt, c.Domain, first, last, c.Count}},
		Stmt{`INSERT INTO correspondent_domains (` + corrDomainColumns + `) SELECT ?, ?, ?, ? WHERE true` +
			upsert("correspondent_domains", "domain"), []any{c.Domain, first, last, c.Count}})
	return err
}

func (t *Tx) PurgeCorrespondents(before time.Time) (int, error) {
	if err := t.c.Check(); err != nil {
		return 0, err
	}
	n, err := t.c.ExecAll("purge correspondents",
		Stmt{`DELETE FROM correspondents WHERE last_at < ?`, []any{Millis(before)}},
		Stmt{`DELETE FROM correspondent_domains WHERE last_at < ?`, []any{Millis(before)}})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		t.c.Deleted()
	}
	return int(n), nil
}
