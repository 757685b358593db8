package outbound

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
)

// TestDecide: what an attempt means for its message, for each kind of
// outcome. The rows give the message's recipients and their status
// before the attempt, the attempt's answers, and what the record, the DSN
// and the audit entry must say afterwards.
func TestDecide(t *testing.T) {
	received := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := received.Add(time.Hour)
	cfg := decideConfig{MaxAge: 5 * 24 * time.Hour, Backoff: func(n int) time.Duration { return time.Duration(n) * time.Minute },
		Upstream: "smarthost:25", Instance: "relay-1"}
	rc := func(addr string, notify ...string) envelope.Rcpt { return envelope.Rcpt{Addr: addr, Notify: notify} }
	ok := func(i int) result { return accepted(i, 250, "2.0.0 ok") }
	temp := func(i int) result { return result{idx: i, failed: true, code: 451, detail: "4.3.0 try later"} }
	perm := func(i int) result {
		return result{idx: i, done: true, failed: true, code: 550, detail: "5.1.1 no such user"}
	}
	type dsnWant struct{ addr, action, status string }

	tests := []struct {
		name     string
		from     string
		rcpts    []envelope.Rcpt
		status   []store.RcptStatus // before; nil: all pending
		received time.Time
		out      outcome
		cfg      func(*decideConfig)

		state       store.State
		result      string
		next        time.Time
		ok, tmp, pm int
		dsn         []dsnWant
		delivered   []int
		lastError   string
	}{{
		name: "delivered", from: "a@example.jp", rcpts: []envelope.Rcpt{rc("b@example.net"), rc("c@example.net")},
		out:   outcome{rcpts: []result{ok(0), ok(1)}, remoteMTA: "smarthost"},
		state: store.Delivered, result: resultDelivered, ok: 2, delivered: []int{0, 1},
	}, {
		name: "delivered, success notification asked for", from: "a@example.jp", rcpts: []envelope.Rcpt{rc("b@example.net", "SUCCESS"), rc("c@example.net")},
		out:   outcome{rcpts: []result{ok(0), ok(1)}, remoteMTA: "smarthost"},
		state: store.Delivered, result: resultDelivered, ok: 2, delivered: []int{0, 1},
		dsn: []dsnWant{{"b@example.net", "relayed", ""}},
	}, {
		name: "delivered to a next hop that takes over DSN duties", from: "a@example.jp", rcpts: []envelope.Rcpt{rc("b@example.net", "SUCCESS")},
		out:   outcome{rcpts: []result{ok(0)}, remoteMTA: "smarthost", dsn: true},
		state: store.Delivered, result: resultDelivered, ok: 1, delivered: []int{0},
	}, {
		name: "delivered into the outbox", from: "a@example.jp", rcpts: []envelope.Rcpt{rc("b@example.net", "success")},
		out:   outcome{rcpts: []result{ok(0)}},
		state: store.Delivered, result: resultDelivered, ok: 1, delivered: []int{0},
		dsn: []dsnWant{{"b@example.net", "delivered", ""}},
	}, {
		name: "partial: one accepted, one refused, one to retry", from: "a@example.jp",
		rcpts: []envelope.Rcpt{rc("b@example.net"), rc("c@example.net"), rc("d@example.net")},
		out:   outcome{rcpts: []result{ok(0), perm(1), temp(2)}, err: "5.1.1 no such user; 4.3.0 try later"},
		state: store.Queued, result: resultDeferred, next: now.Add(3 * time.Minute), ok: 1, pm: 1, tmp: 1, delivered: []int{0},
		dsn: []dsnWant{{"c@example.net", "failed", ""}}, lastError: "5.1.1 no such user; 4.3.0 try later",
	}, {
		name: "temporary failure: retried after the backoff", from: "a@example.jp", rcpts: []envelope.Rcpt{rc("b@example.net")},
		out:   outcome{rcpts: []result{temp(0)}, err: "4.3.0 try later"},
		state: store.Queued, result: resultDeferred, next: now.Add(3 * time.Minute), tmp: 1, lastError: "4.3.0 try later",
	}, {
		name: "temporary failure cut off by our own stop: retried at once after the restart", from: "a@example.jp", rcpts: []envelope.Rcpt{rc("b@example.net")},
		out: outcome{rcpts: []result{temp(0)}, err: "4.4.2 stopped"}, cfg: func(c *decideConfig) { c.Stopping = true },
		state: store.Queued, result: resultDeferred, next: now, tmp: 1, lastError: "4.4.2 stopped",
	}, {
		name: "expired in the queue: pending recipients fail with their last reason", from: "a@example.jp",
		rcpts:    []envelope.Rcpt{rc("b@example.net"), rc("c@example.net"), rc("d@example.net", "NEVER")},
		status:   []store.RcptStatus{{}, {Failed: true, Code: 451, Detail: "4.3.0 earlier"}, {}},
		received: now.Add(-5 * 24 * time.Hour),
		out:      outcome{rcpts: []result{temp(0)}, err: "4.3.0 try later", notes: 1},
		state:    store.Bounced, result: resultBounced, pm: 3,
		dsn:       []dsnWant{{"b@example.net", "failed", "4.4.7"}, {"c@example.net", "failed", "4.4.7"}},
		lastError: "4.3.0 try later; message expired in the queue",
	}, {
		name: "all refused permanently: bounced, one DSN for those who want it", from: "a@example.jp",
		rcpts: []envelope.Rcpt{rc("b@example.net"), rc("c@example.net", "NEVER")},
		out:   outcome{rcpts: []result{perm(0), perm(1)}, err: "5.1.1 no such user"},
		state: store.Bounced, result: resultBounced, pm: 2, dsn: []dsnWant{{"b@example.net", "failed", ""}}, lastError: "5.1.1 no such user",
	}, {
		name: "refused, null sender: no DSN", from: "", rcpts: []envelope.Rcpt{rc("b@example.net")},
		out:   outcome{rcpts: []result{perm(0)}, err: "5.1.1 no such user"},
		state: store.Bounced, result: resultBounced, pm: 1, lastError: "5.1.1 no such user",
	}, {
		name: "split: the part's recipient is the part's; the rest refused", from: "a@example.jp",
		rcpts:  []envelope.Rcpt{rc("b@example.net"), rc("c@example.net")},
		status: []store.RcptStatus{{Done: true, Part: "part-1"}, {}},
		out:    outcome{rcpts: []result{perm(1)}, err: "5.1.1 no such user"},
		state:  store.Bounced, result: resultBounced, pm: 1, dsn: []dsnWant{{"c@example.net", "failed", ""}}, lastError: "5.1.1 no such user",
	}, {
		name: "split: the rest delivered", from: "a@example.jp",
		rcpts:  []envelope.Rcpt{rc("b@example.net"), rc("c@example.net")},
		status: []store.RcptStatus{{Done: true, Part: "part-1"}, {}},
		out:    outcome{rcpts: []result{ok(1)}},
		state:  store.Delivered, result: resultDelivered, ok: 1, delivered: []int{1},
	}, {
		name: "nothing pending (an attempt that found all done)", from: "a@example.jp",
		rcpts:  []envelope.Rcpt{rc("b@example.net")},
		status: []store.RcptStatus{{Done: true}},
		state:  store.Delivered, result: resultDelivered,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &store.Message{Attempts: 3, State: store.Sending, Owner: "relay-1", NextAttempt: now.Add(time.Minute)}
			m.ID, m.Received, m.From, m.Rcpts = "m1", received, tt.from, tt.rcpts
			if !tt.received.IsZero() {
				m.Received = tt.received
			}
			m.Status = tt.status
			normalize(m)
			before := *m
			before.Status = append([]store.RcptStatus(nil), m.Status...)
			c := cfg
			if tt.cfg != nil {
				tt.cfg(&c)
			}
			d := decide(m, tt.out, now, c)

			if diff := cmp.Diff(before, *m); diff != "" {
				t.Errorf("decide changed its input (-before +after):\n%s", diff)
			}
			u := d.upd
			if u.State != tt.state || d.result != tt.result || !u.NextAttempt.Equal(tt.next) {
				t.Errorf("state %s result %s next %v; want %s %s %v", u.State, d.result, u.NextAttempt, tt.state, tt.result, tt.next)
			}
			if u.Owner != "" || !u.Updated.Equal(now) || u.LastError != tt.lastError || u.Attempts != 3 {
				t.Errorf("owner %q updated %v last error %q attempts %d", u.Owner, u.Updated, u.LastError, u.Attempts)
			}
			if d.ok != tt.ok || d.temp != tt.tmp || d.perm != tt.pm {
				t.Errorf("ok/temp/perm %d/%d/%d, want %d/%d/%d", d.ok, d.temp, d.perm, tt.ok, tt.tmp, tt.pm)
			}
			if !cmp.Equal(d.delivered, tt.delivered) {
				t.Errorf("delivered %v, want %v", d.delivered, tt.delivered)
			}
			var dsn []dsnWant
			for _, r := range d.dsn {
				dsn = append(dsn, dsnWant{r.rcpt.Addr, r.action, r.status})
			}
			if !cmp.Equal(dsn, tt.dsn, cmp.AllowUnexported(dsnWant{})) {
				t.Errorf("DSN reports %+v, want %+v", dsn, tt.dsn)
			}
			// Every recipient has its final or last status; a pending one
			// exactly when the message is queued again.
			pendingLeft := len(pending(&u))
			if (pendingLeft > 0) != (tt.state == store.Queued) {
				t.Errorf("%d recipients pending in state %s: %+v", pendingLeft, u.State, u.Status)
			}
			ev := d.audit
			if ev.Action != "delivery."+tt.result || ev.MsgID != "m1" || ev.Data["attempt"] != 3 || ev.Data["upstream"] != "smarthost:25" ||
				ev.Data["instance"] != "relay-1" || ev.Data["error"] != tt.lastError || len(ev.Data["rcpts"].([]map[string]any)) != len(tt.rcpts) {
				t.Errorf("audit %+v", ev)
			}
		})
	}
}

// The expired recipients keep the upstream's last reply for the DSN's
// Diagnostic-Code, and say why the guard gave up in their status.
func TestDecideExpiryKeepsLastReply(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	m := &store.Message{Attempts: 7}
	m.ID, m.Received, m.From = "m1", now.Add(-time.Hour), "a@example.jp"
	m.Rcpts = []envelope.Rcpt{{Addr: "b@example.net"}, {Addr: "c@example.net"}}
	m.Status = []store.RcptStatus{{Failed: true, Code: 451, Detail: "4.7.1 greylisted"}, {}}
	d := decide(m, outcome{}, now, decideConfig{MaxAge: time.Hour, Backoff: func(int) time.Duration { return time.Minute }})
	want := []store.RcptStatus{
		{Done: true, Failed: true, Code: 451, Detail: "4.4.7 delivery time expired after 7 attempts; last error: 4.7.1 greylisted"},
		{Done: true, Failed: true, Detail: "4.4.7 delivery time expired after 7 attempts"},
	}
	if diff := cmp.Diff(want, d.upd.Status); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if len(d.dsn) != 2 || d.dsn[0].detail != "4.7.1 greylisted" || d.dsn[1].detail != "4.4.7 delivery time expired" || !d.dsn[0].expired {
		t.Errorf("DSN recipients %+v", d.dsn)
	}
}

// TestFinishClaimLost: the one outcome decide cannot see. When the claim
// was taken meanwhile (by a peer that found this instance dead, or an
// operator), finish writes nothing, neither the outcome nor its DSN,
// leaves the new owner's record as it is, and counts the attempt as not
// recorded. (TestLostClaimCutsAttempt covers the same end to end.)
func TestFinishClaimLost(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	q, err := New(cfg, e.st, zaptest.NewLogger(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	m, body := e.message("a@example.jp", "b@example.net")
	m.State, m.Owner, m.Attempts, m.Status = store.Sending, "peer-2", 2, make([]store.RcptStatus, 1)
	e.insert(m, body)

	ours := *m
	ours.Owner = cfg.Instance // what this instance last knew
	var out outcome
	out.fail([]int{0}, true, 550, "5.1.1 no such user") // a bounce: a DSN would go with it
	q.finish(&ours, memBody(body), &out, time.Second)

	got := e.get(m.ID)
	if got.State != store.Sending || got.Owner != "peer-2" || got.Attempts != 2 || got.Status[0].Done {
		t.Errorf("the peer's record was changed: state %s owner %q attempts %d status %+v", got.State, got.Owner, got.Attempts, got.Status)
	}
	if all := e.all(); len(all) != 1 {
		t.Errorf("%d messages in the store; the DSN of an unrecorded outcome must not be queued", len(all))
	}
	var metric dto.Metric
	q.met.attempts.WithLabelValues(resultError).Write(&metric)
	if n := metric.GetCounter().GetValue(); n != 1 {
		t.Errorf("attempts not recorded: %v, want 1", n)
	}
}
