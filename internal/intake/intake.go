// Package intake decides what happens to a message between "data received"
// and the SMTP reply: it asks the judge (inspection and policy) for a
// verdict, commits the message durably in the matching state, and hands
// passed mail to the outbound queue. Nothing is acknowledged before it is
// committed.
package intake

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
)

// Actions a judgement can have.
const (
	Pass   = "pass"
	Hold   = "hold"
	Reject = "reject"
)

// Judgement is the outcome of inspecting one message.
type Judgement struct {
	Action     string   // Pass, Hold or Reject
	Verdict    []byte   // the full verdict as JSON, stored with the message
	Rules      []string // names of the rules that decided, for logs
	Subject    string
	HeaderFrom string
	MessageID  string // the header Message-ID, for the audit log
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
	HoldFor time.Duration    // how long held mail waits for a decision
	Now     func() time.Time // injected clock; nil = time.Now
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
	case Pass, Hold, Reject:
	default:
		// Fail closed on anything unexpected from the judge.
		j.Action = Hold
	}
	if j.Action == Reject {
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
	claimed := false
	if j.Action == Hold {
		m.State = store.Held
		m.HoldExpires = now.Add(in.cfg.HoldFor)
	} else {
		m.State = store.Queued
		claimed = in.queue.TryClaim(m)
	}
	err := in.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertMessage(m, data); err != nil {
			return err
		}
		if in.cfg.Record != nil {
			return in.cfg.Record(tx, m, j)
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
		in.queue.Deliver(m, data)
	} else {
		// Queued mail, or the notices that a hold queued.
		in.queue.Kick()
	}
	return j, nil
}
