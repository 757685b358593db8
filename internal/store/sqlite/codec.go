package sqlite

import (
	"fmt"
	"time"

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/codec"
)

// The shared encodings, under the names this package uses.
var (
	millis        = codec.Millis
	fromMillis    = codec.FromMillis
	encodeRcpts   = codec.EncodeRcpts
	decodeRcpts   = codec.DecodeRcpts
	encodeStatus  = codec.EncodeStatus
	decodeStatus  = codec.DecodeStatus
	encodeStrings = codec.EncodeStrings
	decodeStrings = codec.DecodeStrings
	verdictColumn = codec.Verdict
)

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
		return nil, fmt.Errorf("sqlite: encode recipients: %w", err)
	}
	status, err := encodeStatus(m.Status)
	if err != nil {
		return nil, fmt.Errorf("sqlite: encode status: %w", err)
	}
	return []any{
		m.ID, millis(m.Received), m.ClientAddr, m.Helo, m.AuthUser, m.From,
		m.Params.SMTPUTF8, m.Params.Body, m.Params.Ret, m.Params.EnvID, rcpts,
		string(m.State), millis(m.Updated), m.Size, m.Attempts,
		millis(m.NextAttempt), m.Owner, m.LastError, status, m.Subject,
		m.HeaderFrom, verdictColumn(m), m.Action, millis(m.HoldExpires),
	}, nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func scanMessage(sc scanner) (*store.Message, error) {
	var (
		m                                    store.Message
		received, updated, next, holdExpires int64
		state                                string
		rcpts, status                        []byte
	)
	err := sc.Scan(&m.ID, &received, &m.ClientAddr, &m.Helo, &m.AuthUser, &m.From,
		&m.Params.SMTPUTF8, &m.Params.Body, &m.Params.Ret, &m.Params.EnvID, &rcpts,
		&state, &updated, &m.Size, &m.Attempts, &next, &m.Owner, &m.LastError,
		&status, &m.Subject, &m.HeaderFrom, verdictColumn(&m), &m.Action, &holdExpires)
	if err != nil {
		return nil, err
	}
	m.Received = fromMillis(received)
	m.State = store.State(state)
	m.Updated = fromMillis(updated)
	m.NextAttempt = fromMillis(next)
	m.HoldExpires = fromMillis(holdExpires)
	if m.Rcpts, err = decodeRcpts(rcpts); err != nil {
		return nil, fmt.Errorf("sqlite: message %s: decode recipients: %w", m.ID, err)
	}
	if m.Status, err = decodeStatus(status); err != nil {
		return nil, fmt.Errorf("sqlite: message %s: decode status: %w", m.ID, err)
	}
	return &m, nil
}

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

const userColumns = `name, password_hash, roles, addresses, disabled, lang, created, updated, delegate_to, delegate_until`

func scanUser(sc scanner) (*store.User, error) {
	var (
		u                store.User
		roles, addrs     []byte
		created, updated int64
		delegateUntil    int64
	)
	if err := sc.Scan(&u.Name, &u.PasswordHash, &roles, &addrs, &u.Disabled, &u.Lang, &created, &updated, &u.DelegateTo, &delegateUntil); err != nil {
		return nil, err
	}
	var err error
	if u.Roles, err = decodeStrings(roles); err != nil {
		return nil, fmt.Errorf("sqlite: user %s: decode roles: %w", u.Name, err)
	}
	if u.Addresses, err = decodeStrings(addrs); err != nil {
		return nil, fmt.Errorf("sqlite: user %s: decode addresses: %w", u.Name, err)
	}
	u.Created = fromMillis(created)
	u.Updated = fromMillis(updated)
	u.DelegateUntil = fromMillis(delegateUntil)
	return &u, nil
}

const decisionColumns = `msg_id, actor, kind, comment, near_miss, at`

func scanDecision(sc scanner) (*store.Decision, error) {
	var (
		d  store.Decision
		at int64
	)
	if err := sc.Scan(&d.MsgID, &d.Actor, &d.Kind, &d.Comment, &d.NearMiss, &at); err != nil {
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
	return []any{e.Seq, e.At.UnixMilli(), e.Actor, e.Action, e.MsgID,
		nonNil(e.Data), nonNil(e.Prev), nonNil(e.Hash)}
}

func scanAudit(sc scanner) (*store.AuditEntry, error) {
	var (
		e  store.AuditEntry
		at int64
	)
	if err := sc.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.MsgID, &e.Data, &e.Prev, &e.Hash); err != nil {
		return nil, err
	}
	e.At = time.UnixMilli(at).UTC()
	return &e, nil
}

// nonNil turns a nil slice into an empty one for NOT NULL columns (the
// driver binds a nil []byte as NULL).
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

func scanAllow(sc scanner) (*store.AllowEntry, error) {
	var (
		e              store.AllowEntry
		added, expires int64
		senders        []byte
	)
	if err := sc.Scan(&e.ID, &e.Kind, &e.Value, &e.Reason, &e.AddedBy, &added, &expires,
		&senders, &e.FreeMail, &e.Source); err != nil {
		return nil, err
	}
	var err error
	if e.Senders, err = decodeStrings(senders); err != nil {
		return nil, fmt.Errorf("sqlite: allow entry %s: decode senders: %w", e.ID, err)
	}
	e.Added = fromMillis(added)
	e.Expires = fromMillis(expires)
	return &e, nil
}

const sessionColumns = `id, user, created, last_seen`

func scanSession(sc scanner) (*store.Session, error) {
	var (
		s                 store.Session
		created, lastSeen int64
	)
	if err := sc.Scan(&s.ID, &s.User, &created, &lastSeen); err != nil {
		return nil, err
	}
	s.Created = fromMillis(created)
	s.LastSeen = fromMillis(lastSeen)
	return &s, nil
}

const tokenColumns = `id, user, name, created, expires`

func scanToken(sc scanner) (*store.Token, error) {
	var (
		t                store.Token
		created, expires int64
	)
	if err := sc.Scan(&t.ID, &t.User, &t.Name, &created, &expires); err != nil {
		return nil, err
	}
	t.Created = fromMillis(created)
	t.Expires = fromMillis(expires)
	return &t, nil
}
