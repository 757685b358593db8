package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/codec"
)

// The shared encodings, under the names this package uses; the database
// hands JSON columns back as text.
var (
	millis        = codec.Millis
	fromMillis    = codec.FromMillis
	encodeRcpts   = codec.EncodeRcpts
	encodeStatus  = codec.EncodeStatus
	encodeStrings = codec.EncodeStrings
	verdictColumn = codec.Verdict
)

func decodeRcpts(s string) ([]envelope.Rcpt, error)     { return codec.DecodeRcpts([]byte(s)) }
func decodeStatus(s string) ([]store.RcptStatus, error) { return codec.DecodeStatus([]byte(s)) }
func decodeStrings(s string) ([]string, error)          { return codec.DecodeStrings([]byte(s)) }

// Text that arrives from the network (HELO, envelope sender, ENVID, header
// fields, upstream replies) is kept in bytea columns: PostgreSQL refuses NUL
// and invalid UTF-8 in text, and a store that refused a message for its
// ENVID, or lost an upstream error for one odd byte, would be worse than one
// that is less pleasant to query by hand. Such arguments are passed as
// []byte, never as string, which pgx would send in bytea's text format,
// where a backslash is an escape.

// msgColumns is the column list every message query selects, in the order
// scanMessage reads.
const msgColumns = `id, received, client_addr, helo, auth_user, mail_from,
	smtputf8, body_type, ret, envid, rcpts, state, updated, size, attempts,
	next_attempt, owner, last_error, status, subject, header_from, verdict,
	action, hold_expires`

// msgArgs returns the values for an INSERT of msgColumns.
func msgArgs(m *store.Message) ([]any, error) {
	rcpts, err := encodeRcpts(m.Rcpts)
	if err != nil {
		return nil, fmt.Errorf("postgres: encode recipients: %w", err)
	}
	status, err := encodeStatus(m.Status)
	if err != nil {
		return nil, fmt.Errorf("postgres: encode status: %w", err)
	}
	return []any{
		m.ID, millis(m.Received), m.ClientAddr, []byte(m.Helo), m.AuthUser, []byte(m.From),
		m.Params.SMTPUTF8, m.Params.Body, m.Params.Ret, []byte(m.Params.EnvID), rcpts,
		string(m.State), millis(m.Updated), m.Size, m.Attempts,
		millis(m.NextAttempt), m.Owner, []byte(m.LastError), status, []byte(m.Subject),
		[]byte(m.HeaderFrom), verdictColumn(m), m.Action, millis(m.HoldExpires),
	}, nil
}

func scanMessage(row pgx.Row) (*store.Message, error) {
	var (
		m                                    store.Message
		received, updated, next, holdExpires int64
		state, rcpts, status                 string
		helo, from, envid, lastErr           []byte
		subject, headerFrom                  []byte
	)
	err := row.Scan(&m.ID, &received, &m.ClientAddr, &helo, &m.AuthUser, &from,
		&m.Params.SMTPUTF8, &m.Params.Body, &m.Params.Ret, &envid, &rcpts,
		&state, &updated, &m.Size, &m.Attempts, &next, &m.Owner, &lastErr,
		&status, &subject, &headerFrom, verdictColumn(&m), &m.Action, &holdExpires)
	if err != nil {
		return nil, err
	}
	m.Helo, m.From, m.Params.EnvID, m.LastError = string(helo), string(from), string(envid), string(lastErr)
	m.Subject, m.HeaderFrom = string(subject), string(headerFrom)
	m.Received = fromMillis(received)
	m.State = store.State(state)
	m.Updated = fromMillis(updated)
	m.NextAttempt = fromMillis(next)
	m.HoldExpires = fromMillis(holdExpires)
	if m.Rcpts, err = decodeRcpts(rcpts); err != nil {
		return nil, fmt.Errorf("postgres: message %s: decode recipients: %w", m.ID, err)
	}
	if m.Status, err = decodeStatus(status); err != nil {
		return nil, fmt.Errorf("postgres: message %s: decode status: %w", m.ID, err)
	}
	return &m, nil
}

const userColumns = `name, password_hash, roles, addresses, disabled, lang, created, updated, delegate_to, delegate_until`

func userArgs(u *store.User) ([]any, error) {
	roles, err := encodeStrings(u.Roles)
	if err != nil {
		return nil, err
	}
	addrs, err := encodeStrings(u.Addresses)
	if err != nil {
		return nil, err
	}
	return []any{u.Name, u.PasswordHash, roles, addrs, u.Disabled, u.Lang,
		millis(u.Created), millis(u.Updated), u.DelegateTo, millis(u.DelegateUntil)}, nil
}

func scanUser(row pgx.Row) (*store.User, error) {
	var (
		u                store.User
		roles, addrs     string
		created, updated int64
		delegateUntil    int64
	)
	if err := row.Scan(&u.Name, &u.PasswordHash, &roles, &addrs, &u.Disabled, &u.Lang, &created, &updated, &u.DelegateTo, &delegateUntil); err != nil {
		return nil, err
	}
	var err error
	if u.Roles, err = decodeStrings(roles); err != nil {
		return nil, fmt.Errorf("postgres: user %s: decode roles: %w", u.Name, err)
	}
	if u.Addresses, err = decodeStrings(addrs); err != nil {
		return nil, fmt.Errorf("postgres: user %s: decode addresses: %w", u.Name, err)
	}
	u.Created = fromMillis(created)
	u.Updated = fromMillis(updated)
	u.DelegateUntil = fromMillis(delegateUntil)
	return &u, nil
}

const decisionColumns = `msg_id, actor, kind, comment, near_miss, at`

func scanDecision(row pgx.Row) (*store.Decision, error) {
	var (
		d  store.Decision
		at int64
	)
	if err := row.Scan(&d.MsgID, &d.Actor, &d.Kind, &d.Comment, &d.NearMiss, &at); err != nil {
		return nil, err
	}
	d.At = fromMillis(at)
	return &d, nil
}

const auditColumns = `seq, at, actor, action, msg_id, data, prev, hash`

// The audit chain's hashes cover At in unix milliseconds, so at is stored
// as exactly that, without millis' mapping of the zero time to 0: every
// time reads back with the same UnixMilli, and the hash still matches.
func auditArgs(e *store.AuditEntry) []any {
	return []any{e.Seq, e.At.UnixMilli(), []byte(e.Actor), []byte(e.Action), []byte(e.MsgID),
		nonNil(e.Data), nonNil(e.Prev), nonNil(e.Hash)}
}

func scanAudit(row pgx.Row) (*store.AuditEntry, error) {
	var (
		e                    store.AuditEntry
		at                   int64
		actor, action, msgID []byte
	)
	if err := row.Scan(&e.Seq, &at, &actor, &action, &msgID, &e.Data, &e.Prev, &e.Hash); err != nil {
		return nil, err
	}
	e.At = time.UnixMilli(at).UTC()
	e.Actor, e.Action, e.MsgID = string(actor), string(action), string(msgID)
	return &e, nil
}

// nonNil turns a nil slice into an empty one for NOT NULL columns (pgx
// sends a nil []byte as NULL).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

const allowColumns = `id, kind, value, reason, added_by, added, expires, senders, free_mail, source`

func allowArgs(e *store.AllowEntry) ([]any, error) {
	senders, err := encodeStrings(e.Senders)
	if err != nil {
		return nil, err
	}
	return []any{e.ID, e.Kind, e.Value, e.Reason, e.AddedBy, millis(e.Added),
		millis(e.Expires), senders, e.FreeMail, e.Source}, nil
}

func scanAllow(row pgx.Row) (*store.AllowEntry, error) {
	var (
		e              store.AllowEntry
		added, expires int64
		senders        string
	)
	if err := row.Scan(&e.ID, &e.Kind, &e.Value, &e.Reason, &e.AddedBy, &added, &expires,
		&senders, &e.FreeMail, &e.Source); err != nil {
		return nil, err
	}
	var err error
	if e.Senders, err = decodeStrings(senders); err != nil {
		return nil, fmt.Errorf("postgres: allow entry %s: decode senders: %w", e.ID, err)
	}
	e.Added = fromMillis(added)
	e.Expires = fromMillis(expires)
	return &e, nil
}

const sessionColumns = `id, username, created, last_seen`

func scanSession(row pgx.Row) (*store.Session, error) {
	var (
		s                 store.Session
		created, lastSeen int64
	)
	if err := row.Scan(&s.ID, &s.User, &created, &lastSeen); err != nil {
		return nil, err
	}
	s.Created = fromMillis(created)
	s.LastSeen = fromMillis(lastSeen)
	return &s, nil
}

const tokenColumns = `id, username, name, created, expires`

func scanToken(row pgx.Row) (*store.Token, error) {
	var (
		t                store.Token
		created, expires int64
	)
	if err := row.Scan(&t.ID, &t.User, &t.Name, &created, &expires); err != nil {
		return nil, err
	}
	t.Created = fromMillis(created)
	t.Expires = fromMillis(expires)
	return &t, nil
}
