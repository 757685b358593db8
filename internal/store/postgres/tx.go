package postgres

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/egressguard/egressguard/internal/store"
)

// tx is the store.Tx handed to one update function. A new one is made for
// each function so that a Tx kept past its function fails loudly instead of
// writing into someone else's transaction.
//
// Every failure PostgreSQL reports puts the transaction into the failed
// state, where it refuses further statements until the function's
// savepoint is rolled back to. The outcomes a function may recover from
// (ErrExists, ErrConflict, ErrNotFound) are therefore found without an
// error from the server: ON CONFLICT DO NOTHING and row counts.
type tx struct {
	c         *committer
	s         *Store
	done      bool
	savepoint bool // this function's savepoint has been sent
	// broken holds the first error from the server; further calls fail
	// with it, and the function fails even if it ignores the error.
	broken error
	// wake: the function made mail due, or due later (stored or put
	// back Queued; stored Delayed, so that peers set their timers).
	wake bool
}

var _ store.Tx = (*tx)(nil)

func (t *tx) check() error {
	if t.done {
		return errTxDone
	}
	return t.broken
}

// fail records err and returns it translated.
func (t *tx) fail(op string, err error) error {
	err = fmt.Errorf("postgres: %s: %w", op, mapErr(err))
	if t.broken == nil {
		t.broken = err
	}
	return err
}

// stmt is one statement with its arguments.
type stmt struct {
	sql  string
	args []any
}

// send sends the committer's pending statements, this function's
// savepoint, the statements of lead and sql in one round trip, and
// returns the results of sql. A failure of a pending statement or of the
// savepoint leaves the transaction untrustworthy (the committer aborts
// it); a failure of lead is the function's.
func (t *tx) send(op string, lead []stmt, sql string, args []any) (pgx.BatchResults, error) {
	c := t.c
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(c.pending)+len(lead)+2)}
	for _, p := range c.pending {
		b.Queue(p)
	}
	n := len(c.pending)
	c.pending = c.pending[:0]
	if !t.savepoint {
		b.Queue(spSet)
		n++
		t.savepoint = true
	}
	for _, l := range lead {
		b.Queue(l.sql, l.args...)
	}
	b.Queue(sql, args...)
	br := c.conn.SendBatch(c.ctx, b)
	for range n {
		if _, err := br.Exec(); err != nil {
			br.Close()
			c.dead = fmt.Errorf("postgres: savepoint before %s: %w", op, mapErr(err))
			t.broken = c.dead
			return nil, c.dead
		}
	}
	for range lead {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, t.fail(op, err)
		}
	}
	return br, nil
}

// exec runs a statement and returns its command tag.
func (t *tx) exec(op, sql string, args ...any) (pgconn.CommandTag, error) {
	br, err := t.send(op, nil, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return tag, t.fail(op, err)
	}
	return tag, nil
}

// queryRow runs the statements of lead, then a query returning at most one
// row, and scans that row into dest. No row is pgx.ErrNoRows, unwrapped,
// which does not break the Tx.
func (t *tx) queryRow(op string, lead []stmt, sql string, args []any, dest ...any) error {
	br, err := t.send(op, lead, sql, args)
	if err != nil {
		return err
	}
	err = br.QueryRow().Scan(dest...)
	if cerr := br.Close(); err == nil || errors.Is(err, pgx.ErrNoRows) && cerr != nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if err != nil {
		return t.fail(op, err)
	}
	return nil
}

// query runs the statements of lead, then a query, and calls each for
// every row of the query.
func (t *tx) query(op string, lead []stmt, sql string, args []any, each func(pgx.Rows) error) error {
	br, err := t.send(op, lead, sql, args)
	if err != nil {
		return err
	}
	rows, err := br.Query()
	if err == nil {
		for rows.Next() {
			if err = each(rows); err != nil {
				break
			}
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return t.fail(op, err)
	}
	return nil
}

// insertMessageSQL inserts the record and the bytes in one statement.
// ON CONFLICT DO NOTHING makes a taken ID no row rather than an error, so
// that the function can go on.
const insertMessageSQL = `WITH m AS (
	INSERT INTO messages (` + msgColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
	ON CONFLICT (id) DO NOTHING
	RETURNING id)
INSERT INTO bodies (id, data, sealed) SELECT id, $25, $26 FROM m`

func (t *tx) InsertMessage(m *store.Message, body []byte) error {
	if err := t.check(); err != nil {
		return err
	}
	if m.ID == "" {
		return errors.New("postgres: insert message: empty ID")
	}
	if m.State == "" {
		return errors.New("postgres: insert message: empty state")
	}
	args, err := msgArgs(m)
	if err != nil {
		return err
	}
	if body == nil {
		body = []byte{} // NOT NULL: an empty message is still a message
	}
	sealed := t.s.opts.sealer != nil
	if sealed {
		body = t.s.opts.sealer.Seal(m.ID, body)
	}
	t.c.bytes += len(body)
	tag, err := t.exec("insert message "+m.ID, insertMessageSQL, append(args, body, sealed)...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("postgres: insert message %s: %w", m.ID, store.ErrExists)
	}
	t.wake = t.wake || m.State == store.Queued || m.State == store.Delayed
	return nil
}

// updateMessageSQL updates and tells a lost race from an unknown ID in one
// round trip. In READ COMMITTED, an UPDATE that finds the row locked by
// another transaction waits for it and then checks state = $12 again on
// the row as that transaction left it: of two instances approving the same
// message, the second finds it no longer held.
const updateMessageSQL = `WITH u AS (
	UPDATE messages SET state = $1, updated = $2, attempts = $3, next_attempt = $4, owner = $5,
		last_error = $6, status = $7, verdict = $8, action = $9, hold_expires = $10
	WHERE id = $11 AND state = $12 AND ($13 = '' OR owner = $13)
	RETURNING 1)
SELECT (SELECT count(*) FROM u), EXISTS (SELECT 1 FROM messages WHERE id = $11)`

func (t *tx) UpdateMessage(m *store.Message, from store.State) error {
	return t.updateMessage(m, from, "")
}

func (t *tx) UpdateClaimed(m *store.Message, owner string) error {
	if owner == "" {
		return errors.New("postgres: update claimed message: empty owner")
	}
	return t.updateMessage(m, store.Sending, owner)
}

// updateMessage writes m if its stored state is from and, unless owner is
// "", its stored owner is owner.
func (t *tx) updateMessage(m *store.Message, from store.State, owner string) error {
	if err := t.check(); err != nil {
		return err
	}
	if m.State == "" {
		return errors.New("postgres: update message: empty state")
	}
	status, err := encodeStatus(m.Status)
	if err != nil {
		return fmt.Errorf("postgres: encode status: %w", err)
	}
	var (
		n      int64
		exists bool
	)
	err = t.queryRow("update message "+m.ID, nil, updateMessageSQL, []any{string(m.State), millis(m.Updated), m.Attempts,
		millis(m.NextAttempt), m.Owner, []byte(m.LastError), status, verdictColumn(m), m.Action,
		millis(m.HoldExpires), m.ID, string(from), owner}, &n, &exists)
	switch {
	case err != nil:
		return err
	case n == 1:
		t.wake = t.wake || m.State == store.Queued || m.State == store.Delayed
		return nil
	case !exists:
		return fmt.Errorf("postgres: update message %s: %w", m.ID, store.ErrNotFound)
	}
	return fmt.Errorf("postgres: update message %s from %s: %w", m.ID, from, store.ErrConflict)
}

// DeleteBody is idempotent for a message that exists, so a retried cleanup
// cannot fail the state change it is committed with; it reports ErrNotFound
// only for an unknown message.
//
// PostgreSQL does not overwrite a deleted row at once: the bytes stay in
// the table's pages until VACUUM reclaims them (autovacuum, usually within
// minutes on a busy queue) and in the write-ahead log and its archive until
// those are recycled. See the package documentation.
func (t *tx) DeleteBody(id string) error {
	if err := t.check(); err != nil {
		return err
	}
	var (
		n      int64
		exists bool
	)
	err := t.queryRow("delete body "+id, nil, `WITH d AS (DELETE FROM bodies WHERE id = $1 RETURNING 1)
		SELECT (SELECT count(*) FROM d), EXISTS (SELECT 1 FROM messages WHERE id = $1)`, []any{id}, &n, &exists)
	if err != nil {
		return err
	}
	if n == 0 && !exists {
		return fmt.Errorf("postgres: delete body %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// claimDueSQL ($1 owner, $2 until, $3 now, $4 limit) locks the due rows it
// picks and skips rows other transactions hold locked, so that instances
// claiming at the same moment each get different messages instead of
// waiting for one another and then finding nothing. MATERIALIZED makes the
// choice once, whatever the planner would like to do with the subquery.
const claimDueSQL = `WITH due AS MATERIALIZED (
	SELECT id FROM messages
	WHERE state IN ('queued', 'sending', 'delayed') AND next_attempt <= $3
	ORDER BY next_attempt
	LIMIT $4
	FOR UPDATE SKIP LOCKED)
UPDATE messages SET state = 'sending', owner = $1, attempts = attempts + 1, next_attempt = $2, updated = $3
WHERE id IN (SELECT id FROM due)
RETURNING ` + msgColumns

// ClaimDue chooses the messages that have waited longest past their
// NextAttempt and returns them sorted by Received, oldest first. Besides
// the fields the interface names, it sets Updated to now.
func (t *tx) ClaimDue(now time.Time, owner string, until time.Time, limit int) ([]*store.Message, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	if owner == "" {
		return nil, errors.New("postgres: claim: empty owner")
	}
	var ms []*store.Message
	err := t.query("claim due messages", nil, claimDueSQL, []any{owner, millis(until), millis(now), limit}, func(rows pgx.Rows) error {
		m, err := scanMessage(rows)
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

func (t *tx) ReleaseOwner(owner string, now time.Time) (int, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	tag, err := t.exec("release claims of "+owner, `UPDATE messages SET state = 'queued', owner = '', next_attempt = $2, updated = $2
		WHERE state = 'sending' AND owner = $1`, owner, millis(now))
	if err != nil {
		return 0, err
	}
	t.wake = t.wake || tag.RowsAffected() > 0
	return int(tag.RowsAffected()), nil
}

func (t *tx) RenewClaims(owner string, ids []string, until time.Time) ([]string, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var renewed []string
	err := t.query("renew claims of "+owner, nil, `UPDATE messages SET next_attempt = $3
		WHERE id = ANY($2) AND state = 'sending' AND owner = $1 RETURNING id`,
		[]any{owner, ids, millis(until)}, func(rows pgx.Rows) error {
			var id string
			if err := rows.Scan(&id); err != nil {
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

func (t *tx) PutUser(u *store.User) error {
	if err := t.check(); err != nil {
		return err
	}
	if u.Name == "" {
		return errors.New("postgres: put user: empty name")
	}
	args, err := userArgs(u)
	if err != nil {
		return fmt.Errorf("postgres: put user %s: %w", u.Name, err)
	}
	_, err = t.exec("put user "+u.Name, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (name) DO UPDATE SET
			password_hash = excluded.password_hash, roles = excluded.roles,
			addresses = excluded.addresses, disabled = excluded.disabled,
			lang = excluded.lang, created = excluded.created, updated = excluded.updated,
			delegate_to = excluded.delegate_to, delegate_until = excluded.delegate_until`, args...)
	return err
}
