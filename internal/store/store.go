// Package store is the only package that touches persistent state. It defines
// the record of a message and a small interface that the embedded SQLite
// store and the PostgreSQL store both implement, so that several guard
// instances can later share one database.
//
// Writes go through Update, which runs a function inside a transaction that
// is durably committed (fsync) before Update returns. Implementations may
// commit the functions of several concurrent callers together (group
// commit); each function still succeeds or fails on its own.
//
// What every implementation shares, beyond the method comments (the
// conformance suite in package storetest checks all of it):
//   - Times are kept to the millisecond and read back in UTC.
//   - A nil and an empty slice are the same: either may come back for the
//     other (recipients, status, roles, addresses, verdict, data).
//   - Names and IDs are compared exactly (case-sensitive).
//   - A Tx method that fails with one of the sentinels ErrNotFound,
//     ErrExists or ErrConflict has written nothing and leaves the
//     transaction usable: the function may handle the error and go on,
//     and its other writes commit. (A PostgreSQL backend must therefore
//     avoid statements that abort its transaction on these, or wrap them
//     in savepoints.)
//   - After Close, every method but Close returns ErrClosed.
package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/verdict"
)

var (
	// ErrNotFound: no such message, body or user.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a conditional update found the record in another state
	// than expected (someone else changed it first).
	ErrConflict = errors.New("store: record changed concurrently")
	// ErrFull: the store cannot take more data (disk full, quota). The SMTP
	// front end answers 452 for it.
	ErrFull = errors.New("store: storage full")
	// ErrExists: a record with that key exists already.
	ErrExists = errors.New("store: already exists")
	// ErrClosed is returned by every method of a closed store but Close,
	// and by Update for functions still waiting when Close was called.
	ErrClosed = errors.New("store: closed")
	// ErrSealed: a body was stored sealed, and the store has no Sealer to
	// open it (encryption at rest was turned off, or the key file is
	// missing from the configuration).
	ErrSealed = errors.New("store: body is sealed and no sealer is configured")
)

// Sealer encrypts message bodies at rest; package seal implements it. A
// store given a Sealer seals every body it inserts and opens it again in
// Body, so that a copy of the database alone reveals no message content.
// Bodies stored before a Sealer was configured stay readable as they are.
// A Sealer must be safe for concurrent use.
//
// A large body is stored in chunks of BodyChunk bytes, each sealed on its
// own under ChunkID(msgID, index, final), so that chunks cannot be
// reordered, dropped, added or moved between messages without failing to
// open.
type Sealer interface {
	// Seal encrypts body for the message msgID. The ID is authenticated
	// with it, so sealed bytes moved to another message do not open.
	Seal(msgID string, body []byte) []byte
	// Open returns what Seal was given, or an error if the key is not
	// available or the sealed bytes were altered.
	Open(msgID string, sealed []byte) ([]byte, error)
}

// BodyChunk is the size of the chunks a body larger than it is stored in:
// neither storing nor reading a body holds more than about one chunk of it
// in the store's memory, whatever the size of the message.
const BodyChunk = 256 << 10

// ChunkID is what the chunk index of a chunked body is sealed under (see
// Sealer): the message ID, the index, and whether it is the last chunk.
func ChunkID(msgID string, index int, final bool) string {
	id := msgID + "/" + strconv.Itoa(index)
	if final {
		id += "/end"
	}
	return id
}

// State is where a message is in its life. Every change of state is one
// atomic write.
//
//	received → held → queued → sending → delivered | bounced
//	                ↘ rejected | expired | withdrawn
//	received → queued (pass verdict)
//	received → delayed → (its NextAttempt passes, or "send now") → sending …
//	                   ↘ withdrawn (cancelled by the sender)
//	received → unconfirmed → (sender confirms) queued …
//	                       ↘ expired | withdrawn
type State string

const (
	Held      State = "held"      // waiting for an officer's decision
	Queued    State = "queued"    // waiting for its next delivery attempt
	Sending   State = "sending"   // claimed by an instance for an attempt (until NextAttempt)
	Delivered State = "delivered" // every recipient accepted or finally failed, at least one accepted
	Bounced   State = "bounced"   // every recipient failed permanently or the message expired in the queue
	Rejected  State = "rejected"  // an officer rejected it
	Expired   State = "expired"   // a hold timed out (never sent)
	Withdrawn State = "withdrawn" // its sender withdrew it
	// Delayed mail waits until NextAttempt, then is claimed for delivery
	// like queued mail (ClaimDue takes it): it is never sent earlier and
	// needs nobody to wake it.
	Delayed State = "delayed"
	// Unconfirmed mail waits for its sender's confirmation until
	// HoldExpires, then expires unsent.
	Unconfirmed State = "unconfirmed"
)

// Waiting reports whether s is one of the states in which a message waits
// for someone (an officer, its sender) or for its time: held, delayed,
// unconfirmed.
func (s State) Waiting() bool { return s == Held || s == Delayed || s == Unconfirmed }

// Final reports whether no further transition leaves s.
func (s State) Final() bool {
	switch s {
	case Delivered, Bounced, Rejected, Expired, Withdrawn:
		return true
	}
	return false
}

// RcptStatus is the delivery outcome for one envelope recipient.
type RcptStatus struct {
	Done   bool   // a final answer was received (accepted or permanently refused)
	Failed bool   // permanently refused (with Done), or last temporary failure (without Done)
	Code   int    // last SMTP code from upstream, 0 if none
	Detail string // last enhanced code and text from upstream, or local error
	// Part is set when the message was split (split delivery): this
	// recipient did not have to wait and was sent the message at once as
	// the separate message Part; with Done set, it is no longer this
	// message's to deliver.
	Part string
}

// Message is the one record kept per message.
type Message struct {
	envelope.Envelope

	State       State
	Updated     time.Time
	Size        int64     // bytes of the message as submitted
	Attempts    int       // delivery attempts started (incremented before dialling)
	NextAttempt time.Time // earliest next attempt; for Sending, the end of the claim
	Owner       string    // instance that claimed it (Sending), "" otherwise
	LastError   string    // last delivery problem, for operators

	// Status has one entry per Envelope.Rcpts, in the same order.
	Status []RcptStatus

	// Facts for listings without reading the body.
	Subject    string
	HeaderFrom string

	// Verdict is the policy verdict (nil if none was recorded). The
	// backends store it in the shared encoding (package codec); a stored
	// verdict that does not decode fails the read.
	Verdict *verdict.Verdict
	// SealedVerdict is the verdict in sealed form. It is set only between
	// SealRecords and a backend, which stores it in place of Verdict's
	// encoding and reads a sealed value back into it; everyone else sees
	// Verdict.
	SealedVerdict []byte
	// Action is the action the message was stored with, for filtering:
	// the verdict's, pass for the part of a split message sent at once,
	// or ActionNotice.
	Action verdict.Action
	// HoldExpires is when a held message expires (zero if not held).
	HoldExpires time.Time
}

// ActionNotice is the Action of the guard's own notices (to senders,
// officers and administrators), which no policy judged.
const ActionNotice verdict.Action = "notice"

// User is an account: staff who send, officers who decide, admins.
type User struct {
	Name         string
	PasswordHash string   // bcrypt
	Roles        []string // "sender", "officer", "admin"
	Addresses    []string // envelope senders this user may use: own address first, then aliases
	Disabled     bool
	Lang         string // console language preference, "" = from the browser
	// DelegateTo is the user who gets this officer's notices until
	// DelegateUntil (an absence); "" or a past DelegateUntil: none.
	DelegateTo    string
	DelegateUntil time.Time
	Created       time.Time
	Updated       time.Time
}

// Filter selects messages for List.
type Filter struct {
	States   []State // empty: any
	AuthUser string  // "" any
	From     string  // envelope sender, "" any
	Limit    int     // 0: implementation default (1000)
	// Received at or after Since and before Before (a period, such as
	// the officers' digest's); zero: no bound.
	Since, Before time.Time
	// Oldest first by Received when true; newest first otherwise.
	Ascending bool
}

// Tx is what a write transaction can do. It is only valid inside the
// function given to Store.Update.
type Tx interface {
	// InsertMessage stores a new message with its bytes exactly as read
	// from body (nil: an empty message) until io.EOF; an error from body
	// fails the insert. A body larger than BodyChunk is read and stored
	// one chunk at a time. body is read inside the commit, like the rest
	// of the update function: it must come from memory or a local file
	// (a spool), never from a peer that may stall. m.State, Owner,
	// Attempts and NextAttempt are stored as given, so a caller may
	// insert a message already claimed for its first attempt.
	InsertMessage(m *Message, body io.Reader) error
	// UpdateMessage writes the mutable fields of m (State, Updated, Attempts,
	// NextAttempt, Owner, LastError, Status, Verdict, Action, HoldExpires) if
	// the stored state is still from; otherwise it returns ErrConflict, or
	// ErrNotFound if there is no message m.ID.
	UpdateMessage(m *Message, from State) error
	// UpdateClaimed is UpdateMessage from Sending that also requires the
	// stored claim to be owner's: the outcome of an attempt is recorded
	// only by the instance that still holds the claim, never over a claim
	// another instance took over (ErrConflict).
	UpdateClaimed(m *Message, owner string) error
	// DeleteBody removes the stored bytes of a message (every chunk of
	// them); the record stays.
	// Deleting bytes that are already gone succeeds, so that a retried
	// cleanup cannot fail the state change committed with it; an unknown
	// message is ErrNotFound. The bytes must not stay readable in the
	// database's files longer than the implementation documents.
	DeleteBody(id string) error
	// ClaimDue claims up to limit messages that are Queued or Delayed, or
	// Sending with an expired claim, whose NextAttempt is at or before now: each becomes
	// Sending, Owner=owner, Attempts+1, NextAttempt=until. Oldest first.
	// Instances sharing a database never claim the same message twice.
	ClaimDue(now time.Time, owner string, until time.Time, limit int) ([]*Message, error)
	// ReleaseOwner returns the claims of owner to Queued, due now (used at
	// start-up: what this instance was sending when it stopped is retried).
	ReleaseOwner(owner string, now time.Time) (int, error)
	// RenewClaims moves the end of owner's claims on the messages ids to
	// until, for those still Sending and owned by owner, and returns the
	// IDs it renewed. A claim that is missing from the answer was lost
	// (released, expired and taken over, or finished): its attempt should
	// stop. An attempt that renews its claim can outlast any lease.
	RenewClaims(owner string, ids []string, until time.Time) ([]string, error)

	// PutUser inserts or replaces a user (by Name).
	PutUser(u *User) error

	RecordTx
}

// Store is the persistent state of the guard.
type Store interface {
	// Update runs fn in a transaction and commits it durably. If fn returns
	// an error or panics, none of its writes persist and Update returns
	// an error (fn's own, wrapped or not). fn must not block on anything
	// but the Tx, and may be called once only; if ctx is done before fn
	// starts, fn never runs and Update returns ctx.Err(). A Tx used after
	// fn returned fails and writes nothing.
	Update(ctx context.Context, fn func(Tx) error) error

	Message(ctx context.Context, id string) (*Message, error)
	// Body returns the stored bytes of a message exactly as inserted;
	// ErrNotFound once deleted. An empty message has an empty, non-nil
	// body. If the bytes were sealed (see Sealer) and cannot be opened,
	// Body fails with the sealer's error wrapped (ErrSealed without a
	// sealer), never returning sealed or damaged bytes.
	Body(ctx context.Context, id string) ([]byte, error)
	// OpenBody is Body as a stream: it reads (and opens) the stored bytes
	// one chunk at a time, so that a large message is never held whole in
	// memory. A chunk that is missing, or does not open, fails the read
	// (never returning damaged bytes); so does a body deleted while it is
	// read. The caller must close the reader.
	OpenBody(ctx context.Context, id string) (io.ReadCloser, error)
	List(ctx context.Context, f Filter) ([]*Message, error)
	// Count returns the number of messages per state (states with none omitted).
	Count(ctx context.Context) (map[State]int, error)
	// NextDue returns the earliest NextAttempt among Queued, Delayed and
	// Sending messages, or the zero time if there are none. A due message whose
	// NextAttempt is the zero time yields the unix epoch, so that "due at
	// once" is never mistaken for "nothing due".
	NextDue(ctx context.Context) (time.Time, error)

	// User returns a user by exact name; ErrNotFound if there is none.
	User(ctx context.Context, name string) (*User, error)
	// Users returns every user, sorted by name.
	Users(ctx context.Context) ([]*User, error)

	// Ping checks that the store is reachable and writable enough to accept.
	Ping(ctx context.Context) error
	// Close releases the store; it may be called more than once.
	Close() error

	RecordStore
}

// ErrInstanceLive: another live process already runs under the instance
// name that Cluster.Join was asked for.
var ErrInstanceLive = errors.New("store: another live process uses this instance name")

// Instance is one guard process known to a shared store.
type Instance struct {
	Name       string
	Host       string // host name the process reported
	PID        int
	Started    time.Time
	Seen       time.Time // last heartbeat
	Live       bool      // the process holds its instance lock and its heartbeat is recent
	Registered bool      // false for an owner of claims that never joined (an older version)
	Claims     int       // messages it has claimed (Sending)
	// OldestClaim is when the oldest of those claims was taken (zero
	// without claims).
	OldestClaim time.Time
}

// Cluster is implemented by stores that several instances share (the
// PostgreSQL store). It tells who is alive, so that a dead instance's
// claims can be taken over at once rather than when their lease ends, and
// wakes the instances when mail becomes due on any of them.
type Cluster interface {
	// Join takes the instance name for this process for as long as the
	// store stays open, and keeps it: a heartbeat, and a lock that the
	// database drops when the process or its connection dies. If another
	// live process holds the name, Join fails with ErrInstanceLive.
	Join(ctx context.Context, name string) error
	// Joined reports whether this process holds its name right now (false
	// while the connection that holds it is being re-established: the
	// other instances may then consider this one dead and take over its
	// claims, so it should not start new attempts).
	Joined() bool
	// Instances lists the instances that joined, and the owners of claims
	// that never did, with their liveness and claims.
	Instances(ctx context.Context) ([]Instance, error)
	// Wake receives a value soon after a transaction of any instance
	// sharing the store made mail due (queued, approved, released). It
	// also fires after a lost connection is re-established, since
	// notifications may have been missed meanwhile.
	Wake() <-chan struct{}
}

// ClusterOf returns the Cluster behind st, if st (or the store it wraps)
// is one.
func ClusterOf(st Store) (Cluster, bool) {
	for {
		if c, ok := st.(Cluster); ok {
			return c, true
		}
		u, ok := st.(interface{ Unwrap() Store })
		if !ok {
			return nil, false
		}
		st = u.Unwrap()
	}
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a new message ID: 20 characters, sortable by creation time
// (48 bits of milliseconds), with 48 random bits, safe in URLs, file names
// and SMTP replies.
func NewID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	return idEncoding.EncodeToString(b[:])[:20]
}
