package store

import (
	"context"
	"time"
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

// AuditFilter selects audit entries.
type AuditFilter struct {
	AfterSeq int64 // entries with Seq > AfterSeq
	Since    time.Time
	Until    time.Time
	MsgID    string
	Actor    string
	Limit    int // 0: no limit
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

// Kinds of allowlist entry.
const (
	AllowAddress    = "address"
	AllowDomain     = "domain"
	AllowSubdomains = "subdomains"
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

// RecordTx is what a transaction can do beyond messages and users: the
// records of held-mail decisions, the audit chain, the allowlist, console
// sessions and API tokens. Tx embeds it.
type RecordTx interface {
	// Message reads a message inside the transaction and locks it until
	// the transaction ends (PostgreSQL: SELECT … FOR UPDATE).
	Message(id string) (*Message, error)
	// Decisions reads a message's decisions inside the transaction.
	Decisions(msgID string) ([]*Decision, error)
	AddDecision(d *Decision) error

	// LastAudit returns the newest audit entry (nil, nil if none) and
	// serialises appenders until the transaction ends (PostgreSQL: an
	// advisory transaction lock), so that the chain never forks.
	LastAudit() (*AuditEntry, error)
	InsertAudit(e *AuditEntry) error
	// PurgeAudit deletes audit entries older than before; it returns how many.
	PurgeAudit(before time.Time) (int, error)

	// InsertUser adds a user; ErrExists if the name is taken.
	InsertUser(u *User) error

	// PutAllow inserts or replaces an allowlist entry (by ID);
	// DeleteAllow removes one (ErrNotFound if absent). Both bump the
	// "allowlist" generation.
	PutAllow(e *AllowEntry) error
	DeleteAllow(id string) error

	PutSession(s *Session) error
	DeleteSession(id string) error
	// DeleteUserSessions ends every session of a user (password change, disable).
	DeleteUserSessions(user string) error

	PutToken(t *Token) error
	DeleteToken(id string) error
}

// RecordStore reads those records. Store embeds it.
type RecordStore interface {
	Decisions(ctx context.Context, msgID string) ([]*Decision, error)
	// DecisionsSince returns decisions of one kind at or after since, oldest first.
	DecisionsSince(ctx context.Context, kind string, since time.Time) ([]*Decision, error)

	// Audit returns entries matching f in Seq order.
	Audit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)

	AllowEntries(ctx context.Context) ([]*AllowEntry, error)
	// Generation is a counter bumped by every change of the named record
	// set ("allowlist"); instances poll it to refresh their caches.
	Generation(ctx context.Context, name string) (int64, error)

	Session(ctx context.Context, id string) (*Session, error)
	Token(ctx context.Context, id string) (*Token, error)
	Tokens(ctx context.Context, user string) ([]*Token, error)

	// Purgeable returns IDs of messages in one of states, last updated
	// before before, whose bytes are still stored (for retention).
	Purgeable(ctx context.Context, states []State, before time.Time, limit int) ([]string, error)
}
