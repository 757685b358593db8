package outbound

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

// decideConfig is what the meaning of an attempt depends on besides the
// message and the attempt.
type decideConfig struct {
	MaxAge   time.Duration                    // a message older than this fails what is still pending
	Backoff  func(attempts int) time.Duration // the wait before the next attempt
	Stopping bool                             // the attempt was cut off by our own stop
	Upstream string                           // the next hop's name, for the audit and the log
	Instance string
}

// decision is what one attempt means for its message: the record to
// write, and what goes with it. It is computed by decide, a pure
// function; Queue.finish applies it.
type decision struct {
	upd    store.Message // the record as it is to be written
	result string        // resultDelivered, resultDeferred or resultBounced

	ok, temp, perm int // recipients by this attempt's answer (expiry counts as permanent)

	// dsn lists the recipients a delivery status notification reports;
	// empty: none is sent (nothing to report, or a null sender).
	dsn []dsnRcpt
	// delivered lists the recipients this attempt handed over, for what
	// a delivery teaches (correspondents).
	delivered []int
	audit     audit.Event // the attempt's audit entry (its dsn_id is added where the DSN is built)
}

// decide computes the outcome of attempt out of message m at now: each
// recipient's status, expiry in the queue, the new state and next
// attempt, the DSN to send and the audit entry.
func decide(m *store.Message, out outcome, now time.Time, c decideConfig) decision {
	d := decision{upd: *m}
	upd := &d.upd
	upd.Status = append([]store.RcptStatus(nil), m.Status...)

	var report []dsnRcpt
	tempNow := map[int]bool{}
	for _, r := range out.rcpts {
		upd.Status[r.idx] = store.RcptStatus{Done: r.done, Failed: r.failed, Code: r.code, Detail: r.detail}
		switch {
		case !r.failed:
			d.ok++
			d.delivered = append(d.delivered, r.idx)
			if wantsSuccess(m.Rcpts[r.idx]) && !out.dsn {
				report = append(report, successRcpt(m, r, out.remoteMTA))
			}
		case r.done:
			d.perm++
			if wantsFailure(m.Rcpts[r.idx]) {
				report = append(report, dsnRcpt{rcpt: m.Rcpts[r.idx], action: "failed", code: r.code, detail: r.detail, remoteMTA: out.remoteMTA})
			}
		default:
			d.temp++
			tempNow[r.idx] = true
		}
	}

	remaining := len(pending(upd))
	if remaining > 0 && !m.Received.IsZero() && !now.Before(m.Received.Add(c.MaxAge)) {
		// Expired: what is still pending fails now, with the last reason.
		for i, s := range upd.Status {
			if s.Done {
				continue
			}
			upd.Status[i] = expired(s, upd.Attempts)
			if tempNow[i] {
				d.temp-- // counted as permanent now
			}
			d.perm++
			if wantsFailure(m.Rcpts[i]) {
				report = append(report, expiredRcpt(m, i, s, out.remoteMTA))
			}
		}
		remaining = 0
		out.note("message expired in the queue")
	}

	upd.Updated = now
	upd.Owner = ""
	upd.LastError = out.err
	if remaining == 0 {
		upd.State, d.result = store.Bounced, resultBounced
		if anyDelivered(upd.Status) {
			upd.State, d.result = store.Delivered, resultDelivered
		}
		upd.NextAttempt = time.Time{}
	} else {
		upd.State, d.result = store.Queued, resultDeferred
		upd.NextAttempt = now.Add(c.Backoff(upd.Attempts))
		if c.Stopping {
			// Cut off by our own stop: no reason to wait after the restart.
			upd.NextAttempt = now
		}
	}
	if m.From != "" {
		d.dsn = report
	}
	d.audit = attemptEvent(m, upd, d.result, out.err, c)
	return d
}

// successRcpt reports a recipient accepted by the next hop (relayed), or
// by the outbox, the end of the line (delivered).
func successRcpt(m *store.Message, r result, remoteMTA string) dsnRcpt {
	action := "relayed"
	if remoteMTA == "" {
		action = "delivered"
	}
	return dsnRcpt{rcpt: m.Rcpts[r.idx], action: action, code: r.code, detail: r.detail, remoteMTA: remoteMTA}
}

// expired is the final status of a recipient still pending when its
// message expires in the queue.
func expired(s store.RcptStatus, attempts int) store.RcptStatus {
	detail := fmt.Sprintf("4.4.7 delivery time expired after %d attempts", attempts)
	if s.Detail != "" {
		detail += "; last error: " + s.Detail
	}
	return store.RcptStatus{Done: true, Failed: true, Code: s.Code, Detail: detail}
}

// expiredRcpt reports recipient i, pending with status s, as failed by
// expiry: Diagnostic-Code carries the upstream's last reply as it was;
// Status says why we gave up.
func expiredRcpt(m *store.Message, i int, s store.RcptStatus, remoteMTA string) dsnRcpt {
	last := s.Detail
	if last == "" {
		last = "4.4.7 delivery time expired"
	}
	return dsnRcpt{rcpt: m.Rcpts[i], action: "failed", code: s.Code, detail: last, status: "4.4.7", remoteMTA: remoteMTA, expired: true}
}

// anyDelivered reports whether some recipient was delivered by this
// message itself: recipients a split part took care of (Part) are that
// part's outcome.
func anyDelivered(st []store.RcptStatus) bool {
	for _, s := range st {
		if s.Done && !s.Failed && s.Part == "" {
			return true
		}
	}
	return false
}

// attemptEvent is the audit entry of an attempt; it commits with the
// attempt's outcome.
func attemptEvent(m, upd *store.Message, result, errText string, c decideConfig) audit.Event {
	rcpts := make([]map[string]any, 0, len(upd.Status))
	for i, st := range upd.Status {
		r := map[string]any{"addr": m.Rcpts[i].Addr, "done": st.Done, "failed": st.Failed}
		if st.Code != 0 {
			r["code"] = st.Code
		}
		if st.Detail != "" {
			r["detail"] = st.Detail
		}
		rcpts = append(rcpts, r)
	}
	return audit.Event{Actor: "system", Action: deliveryAction[result], MsgID: m.ID, Data: map[string]any{
		"attempt": upd.Attempts, "upstream": c.Upstream, "instance": c.Instance, "rcpts": rcpts, "error": errText}}
}

// logFields are the fields of the attempt's log line.
func (d *decision) logFields(result string, dur time.Duration, upstream, dsnID string) []zap.Field {
	fields := []zap.Field{
		zap.String("msg_id", d.upd.ID),
		zap.Int("attempt", d.upd.Attempts),
		zap.String("upstream", upstream),
		zap.Int("rcpts_ok", d.ok),
		zap.Int("rcpts_temp", d.temp),
		zap.Int("rcpts_perm", d.perm),
		zap.Duration("duration", dur),
		zap.String("result", result),
	}
	if d.upd.LastError != "" {
		fields = append(fields, zap.String("error", d.upd.LastError))
	}
	if dsnID != "" {
		fields = append(fields, zap.String("dsn_id", dsnID))
	}
	return fields
}
