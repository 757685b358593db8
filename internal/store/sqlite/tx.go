package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/store"
)

// stmts are prepared once on the writer connection. SQLite keeps the
// compiled programs, so a write costs a bind and a step, not a parse.
type stmts struct {
	begin, commit, rollback           *sql.Stmt
	savepoint, release, rollbackTo    *sql.Stmt
	insertMessage, insertBody         *sql.Stmt
	updateMessage, messageExists      *sql.Stmt
	deleteBody, claimDue, releaseOwnr *sql.Stmt
	renewClaims, putUser              *sql.Stmt

	// records.go
	txMessage, txDecisions, addDecision               *sql.Stmt
	lastAudit, insertAudit, purgeAudit                *sql.Stmt
	insertUser, putAllow, deleteAllow, bumpGeneration *sql.Stmt
	putSession, deleteSession, deleteUserSess         *sql.Stmt
	putToken, deleteToken                             *sql.Stmt
	txUser, deleteUserTokens                          *sql.Stmt
	initSecret, getSecret                             *sql.Stmt

	// correspondents.go
	addCorr, addCorrDomain, purgeCorr, purgeCorrDomains *sql.Stmt
}

// dueSelect picks the messages ClaimDue takes (?3 = now, ?4 = limit). It
// names the partial index messages_due, whose condition it repeats word for
// word, so that SQLite walks the index in next_attempt order and stops at
// the limit instead of sorting every due message; INDEXED BY makes a
// mismatch an error at prepare time rather than a silent slow plan.
const dueSelect = `SELECT rowid FROM messages INDEXED BY messages_due
	WHERE state IN ('queued', 'sending', 'delayed') AND next_attempt <= ?3
	ORDER BY next_attempt LIMIT ?4`

// writerSQL is every statement the writer prepares.
var writerSQL = slices.Concat(messageWriterSQL, recordWriterSQL, correspondentWriterSQL)

var messageWriterSQL = []struct {
	dst func(*stmts) **sql.Stmt
	sql string
}{
	{func(s *stmts) **sql.Stmt { return &s.begin }, `BEGIN IMMEDIATE`},
	{func(s *stmts) **sql.Stmt { return &s.commit }, `COMMIT`},
	{func(s *stmts) **sql.Stmt { return &s.rollback }, `ROLLBACK`},
	{func(s *stmts) **sql.Stmt { return &s.savepoint }, `SAVEPOINT fn`},
	{func(s *stmts) **sql.Stmt { return &s.release }, `RELEASE fn`},
	{func(s *stmts) **sql.Stmt { return &s.rollbackTo }, `ROLLBACK TO fn`},
	// INSERT ... SELECT rather than VALUES, on purpose: SQLite then
	// keeps a statement journal for the insert, so that SQLITE_FULL
	// (the page cap or a full disk while spilling) undoes only this
	// statement. With VALUES it rolls back the whole transaction, and
	// with it every other update function of the group commit.
	{func(s *stmts) **sql.Stmt { return &s.insertMessage }, `INSERT INTO messages (` + msgColumns + `)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`},
	{func(s *stmts) **sql.Stmt { return &s.insertBody }, `INSERT INTO bodies (id, data, sealed) SELECT ?, ?, ?`},
	// The IN (subquery) is for the same reason: a single-row UPDATE by
	// primary key gets no statement journal. NOT INDEXED keeps the
	// planner on the rowid lookup instead of scanning messages_state for
	// the state term.
	{func(s *stmts) **sql.Stmt { return &s.updateMessage }, `UPDATE messages NOT INDEXED SET
		state = ?, updated = ?, attempts = ?, next_attempt = ?, owner = ?,
		last_error = ?, status = ?, verdict = ?, action = ?, hold_expires = ?
		WHERE rowid IN (SELECT rowid FROM messages WHERE id = ?) AND state = ? AND (?13 = '' OR owner = ?13)`},
	{func(s *stmts) **sql.Stmt { return &s.messageExists }, `SELECT 1 FROM messages WHERE id = ?`},
	{func(s *stmts) **sql.Stmt { return &s.deleteBody }, `DELETE FROM bodies WHERE id = ?`},
	// SQLite has one writer at a time and this runs inside BEGIN
	// IMMEDIATE, so choosing and claiming cannot interleave with another
	// claimer.
	{func(s *stmts) **sql.Stmt { return &s.claimDue }, `UPDATE messages SET
		state = 'sending', owner = ?1, attempts = attempts + 1, next_attempt = ?2, updated = ?3
		WHERE rowid IN (` + dueSelect + `)
		RETURNING ` + msgColumns},
	{func(s *stmts) **sql.Stmt { return &s.releaseOwnr }, `UPDATE messages SET
		state = 'queued', owner = '', next_attempt = ?2, updated = ?2
		WHERE state = 'sending' AND owner = ?1`},
	{func(s *stmts) **sql.Stmt { return &s.renewClaims }, `UPDATE messages SET next_attempt = ?3
		WHERE id IN (SELECT value FROM json_each(?2)) AND state = 'sending' AND owner = ?1
		RETURNING id`},
	// SELECT for the statement journal, as above; WHERE true is how
	// SQLite tells an upsert's ON CONFLICT from a join's ON.
	{func(s *stmts) **sql.Stmt { return &s.putUser }, `INSERT INTO users (` + userColumns + `)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE true
		ON CONFLICT (name) DO UPDATE SET
			password_hash = excluded.password_hash, roles = excluded.roles,
			addresses = excluded.addresses, disabled = excluded.disabled,
			lang = excluded.lang, created = excluded.created, updated = excluded.updated,
			delegate_to = excluded.delegate_to, delegate_until = excluded.delegate_until`},
}

// tx is the store.Tx handed to one update function. A new one is made for
// each function so that a Tx kept past its function fails loudly instead of
// writing into someone else's transaction.
type tx struct {
	st     *stmts
	conn   *sql.Conn    // the writer's, for statements not prepared in st
	sealer store.Sealer // nil: bodies are stored as given
	// deleted is set when the function deletes content that must not
	// linger in the files (bodies, audit entries); see wipe.go.
	deleted *bool
	done    bool
	// broken holds the first error after which SQLite may have rolled back
	// the whole transaction; further calls fail with it, and the function
	// fails even if it ignores the error, because statements run after
	// such an abort would otherwise commit on their own.
	broken error
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
	if abortsTx(err) && t.broken == nil {
		t.broken = fmt.Errorf("sqlite: %s: %w", op, mapErr(err))
		return t.broken
	}
	return fmt.Errorf("sqlite: %s: %w", op, mapErr(err))
}

func (t *tx) InsertMessage(m *store.Message, body []byte) error {
	if err := t.check(); err != nil {
		return err
	}
	if m.ID == "" {
		return errors.New("sqlite: insert message: empty ID")
	}
	if m.State == "" {
		return errors.New("sqlite: insert message: empty state")
	}
	args, err := msgArgs(m)
	if err != nil {
		return err
	}
	if _, err := t.st.insertMessage.Exec(args...); err != nil {
		return t.fail("insert message "+m.ID, err)
	}
	if body == nil {
		body = []byte{} // NOT NULL: an empty message is still a message
	}
	sealed := t.sealer != nil
	if sealed {
		body = t.sealer.Seal(m.ID, body)
	}
	if _, err := t.st.insertBody.Exec(m.ID, body, sealed); err != nil {
		return t.fail("insert body "+m.ID, err)
	}
	return nil
}

func (t *tx) UpdateMessage(m *store.Message, from store.State) error {
	return t.updateMessage(m, from, "")
}

func (t *tx) UpdateClaimed(m *store.Message, owner string) error {
	if owner == "" {
		return errors.New("sqlite: update claimed message: empty owner")
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
		return errors.New("sqlite: update message: empty state")
	}
	status, err := encodeStatus(m.Status)
	if err != nil {
		return fmt.Errorf("sqlite: encode status: %w", err)
	}
	res, err := t.st.updateMessage.Exec(string(m.State), millis(m.Updated), m.Attempts,
		millis(m.NextAttempt), m.Owner, m.LastError, status, verdictColumn(m), m.Action,
		millis(m.HoldExpires), m.ID, string(from), owner)
	if err != nil {
		return t.fail("update message "+m.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	ok, err := t.exists(m.ID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("sqlite: update message %s: %w", m.ID, store.ErrNotFound)
	}
	return fmt.Errorf("sqlite: update message %s from %s: %w", m.ID, from, store.ErrConflict)
}

func (t *tx) exists(id string) (bool, error) {
	var one int
	switch err := t.st.messageExists.QueryRow(id).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, t.fail("look up message "+id, err)
	}
	return true, nil
}

// DeleteBody is idempotent for a message that exists, so a retried cleanup
// cannot fail the state change it is committed with; it reports ErrNotFound
// only for an unknown message.
func (t *tx) DeleteBody(id string) error {
	if err := t.check(); err != nil {
		return err
	}
	res, err := t.st.deleteBody.Exec(id)
	if err != nil {
		return t.fail("delete body "+id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		if n == 1 {
			*t.deleted = true
		}
		return err
	}
	ok, err := t.exists(id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("sqlite: delete body %s: %w", id, store.ErrNotFound)
	}
	return nil
}

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
		return nil, errors.New("sqlite: claim: empty owner")
	}
	rows, err := t.st.claimDue.Query(owner, millis(until), millis(now), limit)
	if err != nil {
		return nil, t.fail("claim due messages", err)
	}
	defer rows.Close()
	var ms []*store.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, t.fail("claim due messages", err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("claim due messages", err)
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
	res, err := t.st.releaseOwnr.Exec(owner, millis(now))
	if err != nil {
		return 0, t.fail("release claims of "+owner, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *tx) RenewClaims(owner string, ids []string, until time.Time) ([]string, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := t.st.renewClaims.Query(owner, string(list), millis(until))
	if err != nil {
		return nil, t.fail("renew claims of "+owner, err)
	}
	defer rows.Close()
	var renewed []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, t.fail("renew claims of "+owner, err)
		}
		renewed = append(renewed, id)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("renew claims of "+owner, err)
	}
	return renewed, nil
}

func (t *tx) PutUser(u *store.User) error {
	if err := t.check(); err != nil {
		return err
	}
	if u.Name == "" {
		return errors.New("sqlite: put user: empty name")
	}
	args, err := userArgs(u)
	if err != nil {
		return fmt.Errorf("sqlite: put user %s: %w", u.Name, err)
	}
	if _, err := t.st.putUser.Exec(args...); err != nil {
		return t.fail("put user "+u.Name, err)
	}
	return nil
}
