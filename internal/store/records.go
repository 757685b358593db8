package store

import (
	"context"
	"time"

	"github.com/egressguard/egressguard/internal/mailaddr"
)

// Decision is one person's (or the system's) action on a held message.
// Decisions are kept for the message's history after it leaves the hold.
type Decision struct {
	MsgID    string
	Actor    string // user name; "system" for expiry
	Kind     string // DecisionApprove, DecisionReject, DecisionWithdraw, DecisionExpire
	Comment  string
	NearMiss bool // a misdirection caught (reject only)
	At       time.Time
}

// Kinds of decision.
const (
	DecisionApprove  = "approve"
	DecisionReject   = "reject"
	DecisionWithdraw = "withdraw"
	DecisionExpire   = "expire"
)

// AuditEntry is one entry of the append-only, hash-chained audit log. The
// store keeps entries as given; package audit computes Prev and Hash.
type AuditEntry struct {
	Seq    int64     // 1, 2, 3, … without gaps
	At     time.Time // UTC, millisecond precision
	Actor  string    // user name, "system", or "smtp:<client ip>"
	Action string    // e.g. "message.accepted", "hold.approve", "user.add"
	MsgID  string    // "" if the entry is not about one message
	Data   []byte    // canonical JSON object with the details
	Prev   []byte    // SHA-256 of the previous entry (32 zero bytes for the first)
	Hash   []byte    // SHA-256 of this entry's canonical encoding, Prev included
}

// AuditFilter selects audit entries. Every set field must match.
type AuditFilter struct {
	AfterSeq int64     // entries with Seq > AfterSeq
	Since    time.Time // entries with At at or after Since; zero: no bound
	Until    time.Time // entries with At before Until; zero: no bound
	MsgID    string    // exact; "" any
	Actor    string    // exact; "" any
	Limit    int       // at most this many (the lowest Seqs); 0: no limit
}

// AllowEntry is one allowlist entry: a recipient address, a domain, or a
// domain with all its subdomains that may receive what the rules would
// otherwise hold.
type AllowEntry struct {
	ID       string
	Kind     string // AllowAddress, AllowDomain, AllowSubdomains
	Value    string // lower case; domains as A-labels
	Reason   string
	AddedBy  string
	Added    time.Time
	Expires  time.Time // zero: never
	Senders  []string  // scope: sender addresses, "@domain" or user names; empty: all senders
	FreeMail bool      // a free-mail domain, added with explicit confirmation
	Source   string    // "store" or "config"
}

// Kinds of allowlist entry (as package mailaddr parses them).
const (
	AllowAddress    = mailaddr.EntryAddress
	AllowDomain     = mailaddr.EntryDomain
	AllowSubdomains = mailaddr.EntrySubdomains
)

// Session is a console login. ID is the SHA-256 (hex) of the cookie value,
// so a copy of the database does not yield usable cookies.
type Session struct {
	ID       string
	User     string
	Created  time.Time
	LastSeen time.Time
}

// Token is an API token. ID is the SHA-256 (hex) of the token.
type Token struct {
	ID      string
	User    string
	Name    string
	Created time.Time
	Expires time.Time // zero: never
}

// Incident is the record of a leak, or a suspected one: a message sent to
// the wrong person, or a near miss worth recording. The store keeps the
// few fields it lists by and Data, the incident's content as JSON, opaque
// to it (package incident defines it); SealRecords seals Data like message
// content.
type Incident struct {
	ID       string
	MsgID    string // the message it is about, "" if none
	Reporter string // user who opened it
	Status   string
	Created  time.Time
	Updated  time.Time
	// Version counts the updates; UpdateIncident refuses a stale one.
	Version int64
	Data    []byte
}

// IncidentFilter selects incidents for Incidents. Every set field must
// match.
type IncidentFilter struct {
	Reporter string   // exact; "" any
	MsgID    string   // exact; "" any
	Status   []string // any of these; empty: any
	Limit    int      // 0: 1000
}

// RecordTx is what a transaction can do beyond messages and users: the
// records of held-mail decisions, the audit chain, the allowlist, console
// sessions and API tokens. Tx embeds it.
//
// Reads inside a transaction see the transaction's own earlier writes.
type RecordTx interface {
	// Message reads a message inside the transaction and locks it until
	// the transaction ends (PostgreSQL: SELECT … FOR UPDATE; SQLite: its
	// single writer already serialises transactions); ErrNotFound if there
	// is none.
	Message(id string) (*Message, error)
	// Decisions reads a message's decisions inside the transaction, in the
	// order they were added (none: an empty result, not an error).
	Decisions(msgID string) ([]*Decision, error)
	// AddDecision records d; ErrNotFound if there is no message d.MsgID.
	AddDecision(d *Decision) error

	// LastAudit returns the newest audit entry (nil, nil if none),
	// including one inserted earlier in the same transaction, and
	// serialises appenders until the transaction ends (PostgreSQL: an
	// advisory transaction lock), so that the chain never forks.
	LastAudit() (*AuditEntry, error)
	// InsertAudit stores e as given. e.Seq must be one more than the
	// newest entry's Seq (1 for the very first entry); any other Seq is
	// ErrConflict, so that two appenders can never write two entries
	// with the same place in the chain.
	InsertAudit(e *AuditEntry) error
	// PurgeAudit deletes the oldest audit entries, up to the first one
	// whose At is at or after before, and returns how many. What remains
	// is therefore one unbroken chain even if clocks made At run
	// backwards somewhere. The newest entry is never deleted, whatever
	// its age, so that the chain continues from it instead of starting
	// again at Seq 1.
	PurgeAudit(before time.Time) (int, error)

	// InsertUser adds a user; ErrExists if the name is taken.
	InsertUser(u *User) error
	// User reads a user inside the transaction and locks the record until
	// the transaction ends (PostgreSQL: SELECT … FOR UPDATE); ErrNotFound
	// if there is none. A change to a user is this read, the change and
	// PutUser in one transaction, so that two concurrent changes (an
	// admin disabling the account, its owner switching the language)
	// both survive instead of one writing back a stale copy of the other.
	User(name string) (*User, error)
	// DeleteUserTokens revokes every API token of a user and returns how
	// many there were (disable); a user without tokens is not an error.
	DeleteUserTokens(user string) (int, error)

	// PutAllow inserts or replaces an allowlist entry (by ID);
	// DeleteAllow removes one (ErrNotFound if absent). Both bump the
	// "allowlist" generation in the same transaction.
	PutAllow(e *AllowEntry) error
	DeleteAllow(id string) error

	// PutSession inserts or replaces a session (by ID); DeleteSession
	// removes one (ErrNotFound if absent).
	PutSession(s *Session) error
	DeleteSession(id string) error
	// DeleteUserSessions ends every session of a user (password change,
	// disable); a user without sessions is not an error.
	DeleteUserSessions(user string) error

	// PutToken inserts or replaces a token (by ID); DeleteToken removes
	// one (ErrNotFound if absent).
	PutToken(t *Token) error
	DeleteToken(id string) error

	// InsertIncident stores a new incident with Version 1; ErrExists if
	// the ID is taken.
	InsertIncident(in *Incident) error
	// UpdateIncident writes in's Status, Updated and Data if the stored
	// Version is still in.Version, and then sets in.Version one higher;
	// ErrConflict if someone updated it first, ErrNotFound if there is
	// no such incident.
	UpdateIncident(in *Incident) error

	// InitSecret stores value under name unless a secret of that name
	// exists, and returns the stored one: the first instance to ask
	// creates it, every other gets the same.
	InitSecret(name string, value []byte) ([]byte, error)

	CorrespondentTx
}

// RecordStore reads those records. Store embeds it.
type RecordStore interface {
	// Decisions returns a message's decisions in the order they were added.
	Decisions(ctx context.Context, msgID string) ([]*Decision, error)
	// DecisionsSince returns decisions of one kind at or after since,
	// oldest first (by At, then in the order they were added).
	DecisionsSince(ctx context.Context, kind string, since time.Time) ([]*Decision, error)

	// Audit returns entries matching f in Seq order.
	Audit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)

	// AllowEntries returns every stored entry, expired ones included,
	// sorted by Value, then ID.
	AllowEntries(ctx context.Context) ([]*AllowEntry, error)
	// Generation is a counter bumped by every change of the named record
	// set ("allowlist"); instances poll it to refresh their caches. It is
	// 0 for a set never changed.
	Generation(ctx context.Context, name string) (int64, error)

	// Session and Token return ErrNotFound for an unknown ID.
	Session(ctx context.Context, id string) (*Session, error)
	Token(ctx context.Context, id string) (*Token, error)
	// Tokens returns the tokens of user ("" for every user's), oldest
	// first (by Created, then ID).
	Tokens(ctx context.Context, user string) ([]*Token, error)

	// Incident returns one incident; ErrNotFound if there is none.
	Incident(ctx context.Context, id string) (*Incident, error)
	// Incidents returns the incidents matching f, newest first.
	Incidents(ctx context.Context, f IncidentFilter) ([]*Incident, error)

	// Purgeable returns IDs of messages in one of states, last updated
	// before before, whose bytes are still stored (for retention), at
	// most limit of them (none if limit <= 0), least recently updated
	// first.
	Purgeable(ctx context.Context, states []State, before time.Time, limit int) ([]string, error)

	CorrespondentStore
}
