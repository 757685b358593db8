package sqlstore

// The encodings of records in rows, the same for both databases (times as
// UTC milliseconds, recipients, delivery status and string lists as JSON),
// so that a database can be copied from SQLite to PostgreSQL and back.

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// Scanner is a row: *sql.Row, *sql.Rows, pgx.Row, pgx.Rows.
type Scanner interface {
	Scan(dest ...any) error
}

// msgColumns is the column list every message query selects, in the order
// scanMessage reads.
const msgColumns = `id, received, client_addr, helo, auth_user, mail_from,
	smtputf8, body_type, ret, envid, rcpts, state, updated, size, attempts,
	next_attempt, owner, last_error, status, subject, header_from, verdict,
	action, hold_expires`

// MsgColumns is the column list of a message row.
const MsgColumns = msgColumns

// Text that arrives from the network (HELO, envelope sender, ENVID, header
// fields, upstream replies, audit actors) is bound through Dialect.Text:
// PostgreSQL keeps it in bytea columns, since it refuses NUL and invalid
// UTF-8 in text, and a store that refused a message for its ENVID, or lost
// an upstream error for one odd byte, would be worse than one that is less
// pleasant to query by hand. Such columns are scanned into []byte, which
// both drivers fill from text and bytea alike.

// MsgArgs returns the values for an INSERT of msgColumns.
func (d *Dialect) MsgArgs(m *store.Message) ([]any, error) {
	rcpts, err := EncodeRcpts(m.Rcpts)
	if err != nil {
		return nil, fmt.Errorf("%s: encode recipients: %w", d.Name, err)
	}
	status, err := EncodeStatus(m.Status)
	if err != nil {
		return nil, fmt.Errorf("%s: encode status: %w", d.Name, err)
	}
	return []any{
		m.ID, Millis(m.Received), m.ClientAddr, d.Text(m.Helo), m.AuthUser, d.Text(m.From),
		m.Params.SMTPUTF8, m.Params.Body, m.Params.Ret, d.Text(m.Params.EnvID), rcpts,
		string(m.State), Millis(m.Updated), m.Size, m.Attempts,
		Millis(m.NextAttempt), m.Owner, d.Text(m.LastError), status, d.Text(m.Subject),
		d.Text(m.HeaderFrom), Verdict(m), m.Action, Millis(m.HoldExpires),
	}, nil
}

func (d *Dialect) scanMessage(sc Scanner) (*store.Message, error) {
	var (
		m                                    store.Message
		received, updated, next, holdExpires int64
		state                                string
		rcpts, status                        []byte
		helo, from, envid, lastErr           []byte
		subject, headerFrom                  []byte
	)
	err := sc.Scan(&m.ID, &received, &m.ClientAddr, &helo, &m.AuthUser, &from,
		&m.Params.SMTPUTF8, &m.Params.Body, &m.Params.Ret, &envid, &rcpts,
		&state, &updated, &m.Size, &m.Attempts, &next, &m.Owner, &lastErr,
		&status, &subject, &headerFrom, Verdict(&m), &m.Action, &holdExpires)
	if err != nil {
		return nil, err
	}
	m.Helo, m.From, m.Params.EnvID, m.LastError = string(helo), string(from), string(envid), string(lastErr)
	m.Subject, m.HeaderFrom = string(subject), string(headerFrom)
	m.Received = FromMillis(received)
	m.State = store.State(state)
	m.Updated = FromMillis(updated)
	m.NextAttempt = FromMillis(next)
	m.HoldExpires = FromMillis(holdExpires)
	if m.Rcpts, err = DecodeRcpts(rcpts); err != nil {
		return nil, fmt.Errorf("%s: message %s: decode recipients: %w", d.Name, m.ID, err)
	}
	if m.Status, err = DecodeStatus(status); err != nil {
		return nil, fmt.Errorf("%s: message %s: decode status: %w", d.Name, m.ID, err)
	}
	return &m, nil
}

const userColumns = `name, password_hash, roles, addresses, disabled, lang, created, updated, delegate_to, delegate_until`

func userArgs(u *store.User) ([]any, error) {
	roles, err := EncodeStrings(u.Roles)
	if err != nil {
		return nil, err
	}
	addrs, err := EncodeStrings(u.Addresses)
	if err != nil {
		return nil, err
	}
	return []any{u.Name, u.PasswordHash, roles, addrs, u.Disabled, u.Lang,
		Millis(u.Created), Millis(u.Updated), u.DelegateTo, Millis(u.DelegateUntil)}, nil
}

func (d *Dialect) scanUser(sc Scanner) (*store.User, error) {
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
	if u.Roles, err = DecodeStrings(roles); err != nil {
		return nil, fmt.Errorf("%s: user %s: decode roles: %w", d.Name, u.Name, err)
	}
	if u.Addresses, err = DecodeStrings(addrs); err != nil {
		return nil, fmt.Errorf("%s: user %s: decode addresses: %w", d.Name, u.Name, err)
	}
	u.Created = FromMillis(created)
	u.Updated = FromMillis(updated)
	u.DelegateUntil = FromMillis(delegateUntil)
	return &u, nil
}

const decisionColumns = `msg_id, actor, kind, comment, near_miss, at`

func (d *Dialect) scanDecision(sc Scanner) (*store.Decision, error) {
	var (
		dc store.Decision
		at int64
	)
	if err := sc.Scan(&dc.MsgID, &dc.Actor, &dc.Kind, &dc.Comment, &dc.NearMiss, &at); err != nil {
		return nil, err
	}
	dc.At = FromMillis(at)
	return &dc, nil
}

const auditColumns = `seq, at, actor, action, msg_id, data, prev, hash`

// The audit chain's hashes cover At in unix milliseconds, so at is stored
// as exactly that, without Millis' mapping of the zero time to 0: every
// time reads back with the same UnixMilli, and the hash still matches.
func (d *Dialect) auditArgs(e *store.AuditEntry) []any {
	return []any{e.Seq, e.At.UnixMilli(), d.Text(e.Actor), d.Text(e.Action), d.Text(e.MsgID),
		nonNil(e.Data), nonNil(e.Prev), nonNil(e.Hash)}
}

func (d *Dialect) scanAudit(sc Scanner) (*store.AuditEntry, error) {
	var (
		e                    store.AuditEntry
		at                   int64
		actor, action, msgID []byte
	)
	if err := sc.Scan(&e.Seq, &at, &actor, &action, &msgID, &e.Data, &e.Prev, &e.Hash); err != nil {
		return nil, err
	}
	e.At = time.UnixMilli(at).UTC()
	e.Actor, e.Action, e.MsgID = string(actor), string(action), string(msgID)
	return &e, nil
}

// nonNil turns a nil slice into an empty one for NOT NULL columns (both
// drivers bind a nil []byte as NULL).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

const allowColumns = `id, kind, value, reason, added_by, added, expires, senders, free_mail, source`

func allowArgs(e *store.AllowEntry) ([]any, error) {
	senders, err := EncodeStrings(e.Senders)
	if err != nil {
		return nil, err
	}
	return []any{e.ID, e.Kind, e.Value, e.Reason, e.AddedBy, Millis(e.Added),
		Millis(e.Expires), senders, e.FreeMail, e.Source}, nil
}

func (d *Dialect) scanAllow(sc Scanner) (*store.AllowEntry, error) {
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
	if e.Senders, err = DecodeStrings(senders); err != nil {
		return nil, fmt.Errorf("%s: allow entry %s: decode senders: %w", d.Name, e.ID, err)
	}
	e.Added = FromMillis(added)
	e.Expires = FromMillis(expires)
	return &e, nil
}

// "user" is a reserved word in PostgreSQL, hence username.
const sessionColumns = `id, username, created, last_seen`

func (d *Dialect) scanSession(sc Scanner) (*store.Session, error) {
	var (
		s                 store.Session
		created, lastSeen int64
	)
	if err := sc.Scan(&s.ID, &s.User, &created, &lastSeen); err != nil {
		return nil, err
	}
	s.Created = FromMillis(created)
	s.LastSeen = FromMillis(lastSeen)
	return &s, nil
}

const tokenColumns = `id, username, name, created, expires`

func (d *Dialect) scanToken(sc Scanner) (*store.Token, error) {
	var (
		t                store.Token
		created, expires int64
	)
	if err := sc.Scan(&t.ID, &t.User, &t.Name, &created, &expires); err != nil {
		return nil, err
	}
	t.Created = FromMillis(created)
	t.Expires = FromMillis(expires)
	return &t, nil
}

const incidentColumns = `id, msg_id, reporter, status, created, updated, version, data`

func (d *Dialect) scanIncident(sc Scanner) (*store.Incident, error) {
	var (
		in               store.Incident
		created, updated int64
	)
	if err := sc.Scan(&in.ID, &in.MsgID, &in.Reporter, &in.Status, &created, &updated, &in.Version, &in.Data); err != nil {
		return nil, err
	}
	in.Created, in.Updated = FromMillis(created), FromMillis(updated)
	return &in, nil
}

const (
	corrColumns       = `sender, rcpt, domain, first_at, last_at, deliveries`
	corrDomainColumns = `domain, first_at, last_at, deliveries`
)

func (d *Dialect) scanCorr(sc Scanner) (*store.Correspondent, error) {
	var c store.Correspondent
	var first, last int64
	if err := sc.Scan(&c.Sender, &c.Rcpt, &c.Domain, &first, &last, &c.Count); err != nil {
		return nil, err
	}
	c.First, c.Last = FromMillis(first), FromMillis(last)
	return &c, nil
}

func (d *Dialect) scanCorrDomain(sc Scanner) (*store.CorrespondentDomain, error) {
	var cd store.CorrespondentDomain
	var first, last int64
	if err := sc.Scan(&cd.Domain, &first, &last, &cd.Count); err != nil {
		return nil, err
	}
	cd.First, cd.Last = FromMillis(first), FromMillis(last)
	return &cd, nil
}

// Millis encodes a time as UTC unix milliseconds; the zero time is 0 so that
// "no time" sorts first and reads back as the zero time.
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMillis is the inverse of Millis. Times come back in UTC.
func FromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// The JSON shapes are declared here, with explicit names, so that renaming a
// Go field elsewhere cannot silently change what is stored.

type rcptJSON struct {
	Addr   string   `json:"addr"`
	Notify []string `json:"notify,omitempty"`
	ORcpt  string   `json:"orcpt,omitempty"`
}

type statusJSON struct {
	Done   bool   `json:"done,omitempty"`
	Failed bool   `json:"failed,omitempty"`
	Code   int    `json:"code,omitempty"`
	Detail string `json:"detail,omitempty"`
	Part   string `json:"part,omitempty"`
}

// EncodeRcpts returns the JSON stored for the value.
func EncodeRcpts(rs []envelope.Rcpt) (string, error) {
	if rs == nil {
		return "null", nil
	}
	js := make([]rcptJSON, len(rs))
	for i, r := range rs {
		js[i] = rcptJSON(r)
	}
	b, err := json.Marshal(js)
	return string(b), err
}

// DecodeRcpts is the inverse of EncodeRcpts.
func DecodeRcpts(b []byte) ([]envelope.Rcpt, error) {
	var js []rcptJSON
	if err := json.Unmarshal(b, &js); err != nil || js == nil {
		return nil, err
	}
	rs := make([]envelope.Rcpt, len(js))
	for i, r := range js {
		rs[i] = envelope.Rcpt(r)
	}
	return rs, nil
}

// EncodeStatus returns the JSON stored for the value.
func EncodeStatus(ss []store.RcptStatus) (string, error) {
	if ss == nil {
		return "null", nil
	}
	js := make([]statusJSON, len(ss))
	for i, s := range ss {
		js[i] = statusJSON(s)
	}
	b, err := json.Marshal(js)
	return string(b), err
}

// DecodeStatus is the inverse of EncodeStatus.
func DecodeStatus(b []byte) ([]store.RcptStatus, error) {
	var js []statusJSON
	if err := json.Unmarshal(b, &js); err != nil || js == nil {
		return nil, err
	}
	ss := make([]store.RcptStatus, len(js))
	for i, s := range js {
		ss[i] = store.RcptStatus(s)
	}
	return ss, nil
}

// EncodeStrings returns the JSON stored for the value.
func EncodeStrings(ss []string) (string, error) {
	b, err := json.Marshal(ss)
	return string(b), err
}

// DecodeStrings is the inverse of EncodeStrings.
func DecodeStrings(b []byte) ([]string, error) {
	var ss []string
	err := json.Unmarshal(b, &ss)
	return ss, err
}

// CheckCorrespondent validates a correspondents record before either
// backend writes it.
func CheckCorrespondent(c *store.Correspondent) error {
	switch {
	case c.Rcpt == "" || c.Domain == "":
		return errors.New("empty recipient or domain")
	case c.Count < 1:
		return fmt.Errorf("count %d: at least one delivery", c.Count)
	case c.Last.Before(c.First):
		return errors.New("last delivery before the first")
	}
	for _, s := range []string{c.Sender, c.Rcpt, c.Domain} {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return fmt.Errorf("%q is not valid UTF-8 text", s)
		}
	}
	return nil
}

// Verdict returns the verdict column of m for both backends: as a query
// argument it is the stored form of m.Verdict (its JSON, see
// verdict.Encode; NULL for none) or m.SealedVerdict when that is set; as a
// scan destination it decodes into m.Verdict, or keeps a sealed value in
// m.SealedVerdict for SealRecords to open. A stored verdict that does not
// decode fails the scan, and with it the read of the message.
func Verdict(m *store.Message) VerdictColumn { return VerdictColumn{m} }

// VerdictColumn is a driver.Valuer and an sql.Scanner; see Verdict.
type VerdictColumn struct{ m *store.Message }

// Value implements driver.Valuer.
func (c VerdictColumn) Value() (driver.Value, error) {
	if c.m.SealedVerdict != nil {
		return c.m.SealedVerdict, nil
	}
	b, err := verdict.Encode(c.m.Verdict)
	if err != nil || b == nil {
		// A nil []byte in a driver.Value is not NULL to every driver.
		return nil, err
	}
	return b, nil
}

// Scan implements sql.Scanner.
func (c VerdictColumn) Scan(src any) error {
	var b []byte
	switch s := src.(type) {
	case nil:
	case []byte:
		b = s
	case string:
		b = []byte(s)
	default:
		return fmt.Errorf("verdict column: unexpected %T", src)
	}
	c.m.Verdict, c.m.SealedVerdict = nil, nil
	if store.Sealed(b) {
		// The driver may reuse b once Scan returns.
		c.m.SealedVerdict = bytes.Clone(b)
		return nil
	}
	v, err := verdict.Decode(b)
	if err != nil {
		return fmt.Errorf("message %s: %w", c.m.ID, err)
	}
	c.m.Verdict = v
	return nil
}
