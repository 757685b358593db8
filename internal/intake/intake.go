// Package intake decides what happens to a message between "data received"
// and the SMTP reply: it asks the judge (inspection and policy) for a
// verdict, commits the message durably in the matching state, and hands
// passed mail to the outbound queue. Nothing is acknowledged before it is
// committed.
package intake

import (
	"bytes"
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// Judgement is the outcome of inspecting one message.
type Judgement struct {
	Action     verdict.Action
	Verdict    *verdict.Verdict // the full verdict, stored with the message
	Rules      []string         // names of the rules that decided, for logs
	Subject    string
	HeaderFrom string
	MessageID  string // the header Message-ID, for the audit log
	// Delay is how long delayed mail waits (Action Delay).
	Delay time.Duration
	// Immediate, if not nil, has one entry per envelope recipient: true
	// for those that need not wait for a delay, confirmation or hold of
	// the message (split delivery sends them the message at once).
	Immediate []bool
	// Data, if not nil, replaces the submitted bytes (the bcc action's
	// rewrite); it is what is stored and delivered.
	Data []byte
	// Attachments (file names) and Links (URLs) found, at most a few
	// dozen each, for the notices of mail that waits for its sender.
	Attachments []string
	Links       []string
}

// Judge inspects a message and applies the policy. It must be safe for
// concurrent use and must never fail open: a message it cannot inspect is
// held.
type Judge interface {
	Judge(env *envelope.Envelope, data []byte) Judgement
}

// Queue is the part of the outbound queue that intake uses.
type Queue interface {
	TryClaim(m *store.Message) bool
	Deliver(m *store.Message, body []byte)
	Release()
	Kick()
}

// Config tunes intake.
type Config struct {
	HoldFor time.Duration // how long held mail waits for a decision
	// ConfirmFor is how long mail waits for its sender's confirmation
	// (default 1h).
	ConfirmFor time.Duration
	// Split enables split delivery: when only some recipients make a
	// message wait, the others are sent it at once, as a separate
	// message whose ID is the message's with SplitSuffix appended.
	Split bool
	Now   func() time.Time // injected clock; nil = time.Now
	// Record is called inside the transaction that stores an accepted
	// message (audit entry, notices of a hold), so that they commit
	// together or not at all. Optional.
	Record func(tx store.Tx, m *store.Message, j Judgement) error
	// Refused is called for a message refused by policy (not stored).
	Refused func(env *envelope.Envelope, j Judgement)
}

// Intake accepts messages.
type Intake struct {
	cfg   Config
	st    store.Store
	judge Judge
	queue Queue
	log   *zap.Logger
}

// New returns an Intake.
func New(cfg Config, st store.Store, judge Judge, queue Queue, log *zap.Logger) *Intake {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HoldFor == 0 {
		cfg.HoldFor = 72 * time.Hour
	}
	if cfg.ConfirmFor == 0 {
		cfg.ConfirmFor = time.Hour
	}
	return &Intake{cfg: cfg, st: st, judge: judge, queue: queue, log: log.Named("intake")}
}

// errNoRecipients: the front end never submits a message without recipients.
var errNoRecipients = errors.New("intake: no recipients")

// Accept judges and commits one message. It returns the action taken. On
// error nothing was stored and the client must be told to retry.
func (in *Intake) Accept(ctx context.Context, env *envelope.Envelope, data []byte) (Judgement, error) {
	if len(env.Rcpts) == 0 {
		return Judgement{}, errNoRecipients
	}
	j := in.judge.Judge(env, data)
	switch j.Action {
	case verdict.Pass, verdict.Bcc, verdict.Confirm, verdict.Hold, verdict.Reject:
	case verdict.Delay:
		if j.Delay <= 0 {
			j.Action = verdict.Hold // a delay of nothing is a mistake: fail closed
		}
	default:
		// Fail closed on anything unexpected from the judge.
		j.Action = verdict.Hold
	}
	if j.Data != nil {
		data = j.Data
	}
	if j.Action == verdict.Reject {
		if in.cfg.Refused != nil {
			in.cfg.Refused(env, j)
		}
		return j, nil
	}
	now := in.cfg.Now().UTC()
	m := &store.Message{
		Envelope:    *env,
		Updated:     now,
		Size:        int64(len(data)),
		Status:      make([]store.RcptStatus, len(env.Rcpts)),
		Subject:     j.Subject,
		HeaderFrom:  j.HeaderFrom,
		Verdict:     j.Verdict,
		Action:      j.Action,
		NextAttempt: now,
	}
	// part is the message sent at once to the recipients that need not
	// wait (split delivery); m keeps the others waiting.
	var part *store.Message
	switch j.Action {
	case verdict.Hold:
		m.State = store.Held
		m.HoldExpires = now.Add(in.cfg.HoldFor)
	case verdict.Delay:
		// Due at its release time: the outbound scheduler claims it then.
		m.State = store.Delayed
		m.NextAttempt = now.Add(j.Delay)
	case verdict.Confirm:
		m.State = store.Unconfirmed
		m.HoldExpires = now.Add(in.cfg.ConfirmFor)
	default:
		m.State = store.Queued
	}
	if m.State.Waiting() && in.cfg.Split {
		part = in.split(m, j.Immediate, now)
	}
	deliver := m
	if part != nil {
		deliver = part
	}
	claimed := false
	if deliver.State == store.Queued && len(data) <= HandOffMax {
		claimed = in.queue.TryClaim(deliver)
	}
	err := in.st.Update(ctx, func(tx store.Tx) error {
		// The one place a received body goes to the store. It is in
		// memory here (inspection needs it whole, within the memory
		// budget); the store writes it in chunks.
		if err := tx.InsertMessage(m, bytes.NewReader(data)); err != nil {
			return err
		}
		if part != nil {
			if err := tx.InsertMessage(part, bytes.NewReader(data)); err != nil {
				return err
			}
		}
		if in.cfg.Record != nil {
			if err := in.cfg.Record(tx, m, j); err != nil {
				return err
			}
			if part != nil {
				return in.cfg.Record(tx, part, j)
			}
		}
		return nil
	})
	if err != nil {
		if claimed {
			in.queue.Release()
		}
		return j, err
	}
	if claimed {
		in.queue.Deliver(deliver, data)
		in.queue.Kick() // a delay's release time, or the notices
	} else {
		// Queued mail, or the notices that a hold queued.
		in.queue.Kick()
	}
	return j, nil
}

// HandOffMax is the largest message handed to the outbound queue with its
// bytes in memory right after it is committed. A larger one is left to the
// queue's scheduler, which reads it from the store within the memory
// budget, so that the bytes the SMTP session held are not kept for the
// delivery beyond that budget.
const HandOffMax = 1 << 20

// SplitSuffix is appended to a message's ID to name the part that split
// delivery sent at once.
const SplitSuffix = "-1"

// split takes the recipients that need not wait out of m into a queued
// message of their own, with the same bytes, and marks them in m as done
// by that part. It returns nil when there is nothing to split: every
// recipient waits, or none does.
func (in *Intake) split(m *store.Message, immediate []bool, now time.Time) *store.Message {
	if len(immediate) != len(m.Rcpts) {
		return nil
	}
	n := 0
	for _, ok := range immediate {
		if ok {
			n++
		}
	}
	if n == 0 || n == len(m.Rcpts) {
		return nil
	}
	part := &store.Message{
		Envelope:    m.Envelope,
		State:       store.Queued,
		Updated:     now,
		Size:        m.Size,
		Status:      make([]store.RcptStatus, 0, n),
		Subject:     m.Subject,
		HeaderFrom:  m.HeaderFrom,
		Verdict:     m.Verdict,
		Action:      verdict.Pass,
		NextAttempt: now,
	}
	part.ID = m.ID + SplitSuffix
	part.Rcpts = nil
	for i, r := range m.Rcpts {
		if !immediate[i] {
			continue
		}
		part.Rcpts = append(part.Rcpts, r)
		part.Status = append(part.Status, store.RcptStatus{})
		m.Status[i] = store.RcptStatus{Done: true, Part: part.ID, Detail: "sent at once as " + part.ID + " (split delivery)"}
	}
	return part
}
