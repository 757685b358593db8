package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
)

// result is what one attempt learned about one recipient.
type result struct {
	idx    int  // index into Envelope.Rcpts
	done   bool // final answer: accepted, or refused permanently
	failed bool // refused (permanently with done, temporarily without)
	code   int  // SMTP reply code, 0 for a local error
	detail string
}

func accepted(idx int, code int, detail string) result {
	return result{idx: idx, done: true, code: code, detail: detail}
}

// outcome is the result of one attempt.
type outcome struct {
	rcpts     []result
	remoteMTA string // host that answered, for DSN Remote-MTA; "" for the outbox
	dsn       bool   // the next hop takes over DSN duties (it advertised DSN)
	err       string // the first problems, for LastError and the log
	notes     int
}

// fail marks every recipient in idx as failed with the same reply.
func (o *outcome) fail(idx []int, perm bool, code int, detail string) {
	for _, i := range idx {
		o.rcpts = append(o.rcpts, result{idx: i, done: perm, failed: true, code: code, detail: detail})
	}
	o.note(detail)
}

// failReply marks every recipient in idx as refused with the reply se.
func (o *outcome) failReply(idx []int, se *smtp.SMTPError) {
	for _, i := range idx {
		o.rcpts = append(o.rcpts, classify(i, se))
	}
	o.note(reply(se))
}

// note adds a problem to the attempt's summary (LastError), which names
// the first few.
func (o *outcome) note(problem string) {
	switch o.notes++; {
	case o.notes == 1:
		o.err = problem
	case o.notes <= maxNotes:
		o.err += "; " + problem
	case o.notes == maxNotes+1:
		o.err += "; ..."
	}
}

const maxNotes = 3

// pending lists the recipients without a final answer yet.
func pending(m *store.Message) []int {
	var idx []int
	for i := range m.Rcpts {
		if !m.Status[i].Done {
			idx = append(idx, i)
		}
	}
	return idx
}

// normalize gives m one Status per recipient.
func normalize(m *store.Message) {
	if len(m.Status) != len(m.Rcpts) {
		st := make([]store.RcptStatus, len(m.Rcpts))
		copy(st, m.Status)
		m.Status = st
	}
}

// attempt runs one delivery attempt of a claimed message and records it.
func (q *Queue) attempt(m *store.Message, body *msgBody, s *slot) {
	start := time.Now()
	normalize(m)
	idx := pending(m)
	var out outcome
	if len(idx) > 0 {
		// The claim is renewed while the attempt runs; the attempt is cut
		// off if that fails (see claims.go), and in any case after the
		// longest time its timeouts allow.
		ctx, cancel := context.WithTimeout(q.hardCtx,
			MaxAttempt(q.cfg.ConnectTimeout, q.cfg.CommandTimeout, q.cfg.DataTimeout, len(idx)))
		untrack := q.track(m.ID, m.NextAttempt, cancel)
		if q.cfg.Upstream == "" {
			out = q.toOutbox(ctx, m, body, idx)
		} else {
			out = q.sendUpstream(ctx, m, body, idx)
		}
		untrack()
		cancel()
	}
	dur := time.Since(start)
	s.free()
	q.finish(m, body, &out, dur)
}

// attemptWithoutBody records an attempt that could not read the message's
// bytes: lost bytes fail every pending recipient; a store error defers.
func (q *Queue) attemptWithoutBody(m *store.Message, err error) {
	normalize(m)
	var out outcome
	if errors.Is(err, store.ErrNotFound) {
		out.fail(pending(m), true, 0, "5.3.0 message bytes missing from the store")
	} else {
		out.fail(pending(m), false, 0, "4.3.0 reading message bytes: "+err.Error())
	}
	q.finish(m, nil, &out, 0)
}

// Results of an attempt, for the log and the attempts metric.
const (
	resultDelivered = "delivered"
	resultDeferred  = "deferred"
	resultBounced   = "bounced"
	resultError     = "error" // the outcome could not be recorded
)

// deliveryAction is the audit action of each result.
var deliveryAction = map[string]string{
	resultDelivered: audit.ActionDeliveryDelivered,
	resultDeferred:  audit.ActionDeliveryDeferred,
	resultBounced:   audit.ActionDeliveryBounced,
	resultError:     audit.ActionDeliveryError,
}

// finish records the attempt: decide computes what it means; finish
// writes the new record, with the deletion of the bytes of a finished
// message, any DSN, what the delivery teaches and the audit entry, in one
// transaction, then logs and counts it.
func (q *Queue) finish(m *store.Message, body *msgBody, out *outcome, dur time.Duration) {
	now := q.cfg.Now()
	d := decide(m, *out, now, decideConfig{MaxAge: q.cfg.MaxAge, Backoff: q.backoff,
		Stopping: q.hardCtx.Err() != nil, Upstream: q.upstreamName(), Instance: q.cfg.Instance})
	upd, ev := &d.upd, d.audit

	var dsn *store.Message
	var dsnBody []byte
	if len(d.dsn) > 0 {
		orig, whole := body.original()
		dsn, dsnBody = buildDSN(q.cfg.Hostname, m, orig, whole, d.dsn, now)
		ev.Data["dsn_id"] = dsn.ID
	}
	learn := q.cfg.Delivered != nil && len(d.delivered) > 0 && m.From != ""
	err := q.record(upd, dsn, dsnBody, ev, learn, d.delivered)
	if err != nil && learn && errors.Is(err, errLearn) {
		// What a delivery teaches is worth less than recording it.
		q.log.Error("correspondents not recorded", zap.String("msg_id", m.ID), zap.Error(err))
		learn = false
		err = q.record(upd, dsn, dsnBody, ev, false, nil)
	}
	if err != nil && dsn != nil && errors.Is(err, errDSN) {
		// Without its DSN the outcome can still be recorded, and must be:
		// an unrecorded outcome sends the message again when the claim
		// expires, to recipients that already have it.
		q.log.Error("DSN dropped", zap.String("msg_id", m.ID), zap.Error(err))
		dsn = nil
		delete(ev.Data, "dsn_id")
		err = q.record(upd, nil, nil, ev, learn, d.delivered)
	}
	result := d.result
	if err != nil {
		// Not recorded: a claim lost to another instance or an operator
		// (store.ErrConflict), or a store that keeps failing.
		result = resultError
	}
	q.met.observe(result, dur)
	if m.Action == store.ActionNotice {
		q.met.observeNotice(result)
	}
	dsnID := ""
	if dsn != nil {
		dsnID = dsn.ID
	}
	fields := d.logFields(result, dur, q.upstreamName(), dsnID)
	if err != nil {
		q.log.Error("delivery attempt not recorded", append(fields, zap.NamedError("store_error", err))...)
		return
	}
	q.log.Info("delivery attempt", fields...)
	if dsn != nil {
		q.Kick()
	}
}

// errDSN marks a failure to store a DSN, errLearn one of the Delivered
// hook.
var (
	errDSN   = errors.New("outbound: insert DSN")
	errLearn = errors.New("outbound: record what the delivery taught")
)

// record writes the attempt's outcome. It retries a few times on store
// errors: a lost outcome means the message is sent again once its claim
// expires.
func (q *Queue) record(upd *store.Message, dsn *store.Message, dsnBody []byte, ev audit.Event, learn bool, delivered []int) error {
	var err error
	for try := 0; try < 3; try++ {
		if try > 0 {
			time.Sleep(time.Duration(try) * 500 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		err = q.st.Update(ctx, func(tx store.Tx) error {
			// Only the owner of the claim records its outcome: a claim
			// released (its instance found dead) and taken by another
			// instance must not be overwritten by the first one's late
			// result.
			if err := tx.UpdateClaimed(upd, q.cfg.Instance); err != nil {
				return err
			}
			if upd.State.Final() && !q.cfg.KeepBodies {
				if err := tx.DeleteBody(upd.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			if dsn != nil {
				if err := tx.InsertMessage(dsn, bytes.NewReader(dsnBody)); err != nil {
					return fmt.Errorf("%w: %w", errDSN, err)
				}
			}
			if learn {
				if err := q.cfg.Delivered(tx, upd, delivered, upd.Updated); err != nil {
					return fmt.Errorf("%w: %w", errLearn, err)
				}
			}
			_, err := audit.Append(tx, upd.Updated, ev)
			return err
		})
		cancel()
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, errDSN) || errors.Is(err, errLearn) {
			// A conflict means the claim was taken from us (expired, or
			// changed by an operator); retrying cannot help. A DSN that
			// does not fit is the caller's to drop.
			return err
		}
	}
	return err
}

func (q *Queue) upstreamName() string {
	if q.cfg.Upstream == "" {
		return "outbox"
	}
	return q.cfg.Upstream
}

// backoff is the delay before attempt n+1 after n attempts: BackoffMin
// doubled per attempt, capped at BackoffMax, with ±25% jitter so that the
// messages of one outage do not all come back in the same second.
func (q *Queue) backoff(n int) time.Duration {
	d := q.cfg.BackoffMin
	for i := 1; i < n && d < q.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, q.cfg.BackoffMax)
	if quarter := int64(d / 4); quarter > 0 {
		d += time.Duration(rand.Int64N(2*quarter+1) - quarter)
	}
	return min(d, q.cfg.BackoffMax)
}

// notify returns the upper-cased NOTIFY values of r.
func notify(r envelope.Rcpt) map[string]bool {
	set := make(map[string]bool, len(r.Notify))
	for _, v := range r.Notify {
		set[strings.ToUpper(v)] = true
	}
	return set
}

// wantsFailure: RFC 3461 §4.1, no NOTIFY means FAILURE (and DELAY).
func wantsFailure(r envelope.Rcpt) bool {
	if len(r.Notify) == 0 {
		return true
	}
	return notify(r)["FAILURE"]
}

func wantsSuccess(r envelope.Rcpt) bool {
	return notify(r)["SUCCESS"]
}
