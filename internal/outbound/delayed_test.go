package outbound

import (
	"bytes"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/egressguard/egressguard/internal/store"
)

// Delayed mail is claimed when its release time comes, not a moment
// earlier however often the scheduler is woken; a split message's
// recipients sent in a part are not delivered again, and do not make the
// message "delivered" when its own recipients all fail.
func TestDelayedReleasedAtItsTime(t *testing.T) {
	e := newEnv(t)
	q, _ := e.start(e.config())
	m, body := e.message("alice@example.jp", "bob@example.net")
	m.State, m.NextAttempt, m.Action = store.Delayed, e.clock.Now().Add(5*time.Minute), "delay"
	e.insert(m, body)
	for i := 0; i < 5; i++ {
		q.Kick()
		time.Sleep(20 * time.Millisecond)
	}
	e.clock.Advance(5*time.Minute - time.Millisecond)
	for i := 0; i < 5; i++ {
		q.Kick()
		time.Sleep(20 * time.Millisecond)
	}
	if got := e.get(m.ID); got.State != store.Delayed || got.Attempts != 0 || len(e.up.Messages()) != 0 {
		t.Fatalf("before the release time: %s, %d attempts, %d upstream", got.State, got.Attempts, len(e.up.Messages()))
	}
	e.clock.Advance(time.Millisecond)
	q.Kick()
	d := e.waitState(m.ID, store.Delivered)
	if d.Attempts != 1 {
		t.Errorf("attempts %d", d.Attempts)
	}
	if ms := e.up.Messages(); len(ms) != 1 || !bytes.Equal(ms[0].Data, body) {
		t.Fatalf("upstream got %d", len(ms))
	}
}

func TestSplitPartNotDeliveredAgain(t *testing.T) {
	e := newEnv(t)
	e.up.SetRcptHandler(func(r string) *smtp.SMTPError {
		if r == "stranger@elsewhere.example" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	e.start(e.config())
	m, body := e.message("alice@example.jp", "colleague@example.jp", "stranger@elsewhere.example")
	m.Status = []store.RcptStatus{{Done: true, Part: m.ID + "-1", Detail: "sent at once"}, {}}
	e.insert(m, body)
	d := e.waitState(m.ID, store.Bounced)
	for _, um := range e.up.Messages() {
		if um.From != "" { // the bounce's DSN is fine
			t.Errorf("upstream got a message for %v", um.Addrs())
		}
	}
	if d.Status[0].Part == "" || !d.Status[1].Failed {
		t.Errorf("status %+v", d.Status)
	}
}
