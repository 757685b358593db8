package hold

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// notices is a Notifier that tells the sender of every decision.
type notices struct{}

func (notices) Decided(m *store.Message, d *store.Decision) []Notice {
	return []Notice{{From: "guard@example.jp", To: []string{m.From}, Data: []byte("Subject: " + d.Kind + "\r\n\r\n")}}
}
func (notices) Event(*store.Message, *store.Decision) {}

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

type fixture struct {
	st    store.Store
	clock *clock
	svc   *Service
	n     int
}

func newFixture(t *testing.T, approvals int) *fixture {
	t.Helper()
	log := zaptest.NewLogger(t)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "eg.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: t0}
	return &fixture{st: st, clock: c, svc: New(Config{Approvals: approvals, Now: c.now}, st, notices{}, nil, log)}
}

// held stores a held message whose hold ends at t0+1h.
func (f *fixture) held(t *testing.T, authUser, from, headerFrom string) *store.Message {
	t.Helper()
	f.n++
	m := &store.Message{
		Envelope: envelope.Envelope{ID: store.NewID(t0) + string(rune('a'+f.n)), Received: t0, ClientAddr: "192.0.2.1",
			AuthUser: authUser, From: from, Rcpts: []envelope.Rcpt{{Addr: "stranger@elsewhere.example"}}},
		State: store.Held, Updated: t0, Status: make([]store.RcptStatus, 1), Action: "hold",
		HeaderFrom: headerFrom, HoldExpires: t0.Add(time.Hour),
	}
	if err := f.st.Update(context.Background(), func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader([]byte("x"))) }); err != nil {
		t.Fatal(err)
	}
	return m
}

func (f *fixture) message(t *testing.T, id string) *store.Message {
	t.Helper()
	m, err := f.st.Message(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var (
	olga  = &store.User{Name: "olga", Roles: []string{"officer"}, Addresses: []string{"olga@example.jp"}}
	oscar = &store.User{Name: "oscar", Roles: []string{"officer"}}
	alice = &store.User{Name: "alice", Roles: []string{"sender"}, Addresses: []string{"alice@example.jp"}}
)

// TestDecisionAtOrAfterExpiryRefused: once the hold time has ended, no
// decision is taken, even if the expiry sweep has not run: the decision
// is refused and the message expires then and there (never sent, sender
// told), in the same transaction.
func TestDecisionAtOrAfterExpiryRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		at     time.Duration // after the hold's end
		decide func(f *fixture, id string) error
	}{
		{"approve at expiry", 0, func(f *fixture, id string) error { _, err := f.svc.Approve(ctx, olga, id, "test"); return err }},
		{"approve after expiry", time.Second, func(f *fixture, id string) error { _, err := f.svc.Approve(ctx, olga, id, "test"); return err }},
		{"reject at expiry", 0, func(f *fixture, id string) error { return f.svc.Reject(ctx, olga, id, "no", true, "test") }},
		{"withdraw after expiry", time.Millisecond, func(f *fixture, id string) error { return f.svc.Withdraw(ctx, alice, id, "test") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 1)
			m := f.held(t, "alice", "alice@example.jp", "Alice <alice@example.jp>")
			f.clock.set(m.HoldExpires.Add(tc.at))
			err := tc.decide(f, m.ID)
			if !errors.Is(err, ErrExpired) || !errors.Is(err, ErrNotHeld) {
				t.Fatalf("decision at hold end %+v: %v; want ErrExpired", tc.at, err)
			}
			got := f.message(t, m.ID)
			if got.State != store.Expired {
				t.Errorf("state %s; want expired", got.State)
			}
			ds, _ := f.st.Decisions(ctx, m.ID)
			if len(ds) != 1 || ds[0].Kind != store.DecisionExpire || ds[0].Actor != "system" {
				t.Errorf("decisions %+v; want only the system's expiry", ds)
			}
			// The only queued mail is the expiry notice to the sender.
			q, _ := f.st.List(ctx, store.Filter{States: []store.State{store.Queued}})
			if len(q) != 1 || q[0].From != "guard@example.jp" || q[0].Rcpts[0].Addr != "alice@example.jp" {
				t.Errorf("queued %d messages; want just the notice", len(q))
			}
			es, _ := f.st.Audit(ctx, store.AuditFilter{MsgID: m.ID})
			if len(es) != 1 || es[0].Action != "hold.expire" {
				t.Errorf("audit %v; want one hold.expire", es)
			}
			// The sweep finds nothing left to do.
			if n, err := f.svc.ExpireDue(ctx); n != 0 || err != nil {
				t.Errorf("ExpireDue after: %d %v", n, err)
			}
		})
	}

	t.Run("one millisecond before", func(t *testing.T) {
		f := newFixture(t, 1)
		m := f.held(t, "alice", "alice@example.jp", "")
		f.clock.set(m.HoldExpires.Add(-time.Millisecond))
		out, err := f.svc.Approve(ctx, olga, m.ID, "test")
		if err != nil || !out.Released {
			t.Fatalf("approve before the end: %+v %v", out, err)
		}
	})

	t.Run("second approval after expiry", func(t *testing.T) {
		f := newFixture(t, 2)
		m := f.held(t, "alice", "alice@example.jp", "")
		f.clock.set(m.HoldExpires.Add(-time.Minute))
		if out, err := f.svc.Approve(ctx, olga, m.ID, "test"); err != nil || out.Released {
			t.Fatalf("first approval: %+v %v", out, err)
		}
		f.clock.set(m.HoldExpires)
		if _, err := f.svc.Approve(ctx, oscar, m.ID, "test"); !errors.Is(err, ErrExpired) {
			t.Fatalf("second approval at expiry: %v", err)
		}
		if got := f.message(t, m.ID); got.State != store.Expired {
			t.Errorf("state %s; want expired", got.State)
		}
	})
}

// TestSelfApprovalByAddressVariants: an officer is the sender when the
// envelope sender or the header From is one of their addresses, whatever
// the case, subaddress or IDN form; mail that came through a trusted
// relay has no authenticated user to go by.
func TestSelfApprovalByAddressVariants(t *testing.T) {
	ctx := context.Background()
	off2 := &store.User{Name: "off2", Roles: []string{"officer"}, Addresses: []string{"off2@example.jp", "kanri@例え.jp"}}
	for _, tc := range []struct {
		name, from, headerFrom string
		self                   bool
	}{
		{"subaddress via relay", "off2+x@example.jp", "", true},
		{"case", "OFF2@Example.JP", "", true},
		{"case and subaddress", "Off2+Tag@EXAMPLE.jp", "", true},
		{"trailing dot", "off2@example.jp.", "", true},
		{"IDN A-label", "kanri@xn--r8jz45g.jp", "", true},
		{"IDN U-label upper", "KANRI+1@例え.JP", "", true},
		{"header From", "bounce@lists.example.net", "Off Two <off2+x@example.jp>", true},
		{"header From encoded name", "bounce@lists.example.net", "=?UTF-8?B?5L+d5a6I?= <OFF2@example.jp>", true},
		{"header From second mailbox", "bounce@lists.example.net", "a@example.net, off2@example.jp", true},
		{"header From unparsable", "bounce@lists.example.net", "Off \"Two <off2+x@example.jp", true},
		{"header From IDN", "bounce@lists.example.net", "<kanri@xn--r8jz45g.jp>", true},
		{"other user", "off22@example.jp", "Off 22 <off22@example.jp>", false},
		{"prefix", "xoff2@example.jp", "", false},
		{"other domain", "off2@example.jp.evil.example", "", false},
		{"name in display name only", "ceo@example.jp", "\"off2@example.jp\" <ceo@example.jp>", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 1)
			m := f.held(t, "", tc.from, tc.headerFrom)
			_, err := f.svc.Approve(ctx, off2, m.ID, "test")
			if tc.self {
				if !errors.Is(err, ErrSelfApproval) {
					t.Fatalf("approve: %v; want ErrSelfApproval", err)
				}
				if err := f.svc.Reject(ctx, off2, m.ID, "x", false, "test"); !errors.Is(err, ErrSelfApproval) {
					t.Errorf("reject: %v; want ErrSelfApproval", err)
				}
				if got := f.message(t, m.ID); got.State != store.Held {
					t.Errorf("state %s after refused decisions", got.State)
				}
				// Another officer decides.
				if out, err := f.svc.Approve(ctx, olga, m.ID, "test"); err != nil || !out.Released {
					t.Errorf("other officer: %+v %v", out, err)
				}
				return
			}
			if err != nil {
				t.Errorf("approve by an officer who did not send it: %v", err)
			}
		})
	}
	// The envelope sender alone also gives a sender the message to see and
	// withdraw; the header From does not (it is not proof of who sent it).
	f := newFixture(t, 1)
	sender := &store.User{Name: "bob", Roles: []string{"sender"}, Addresses: []string{"bob@example.jp"}}
	if m := f.held(t, "", "BOB+x@example.jp", ""); !IsSender(sender, m) || !CanSee(sender, m) {
		t.Error("envelope sender variant not recognised as the sender")
	}
	if m := f.held(t, "", "ceo@example.jp", "<bob@example.jp>"); CanSee(sender, m) {
		t.Error("header From gave a sender another's message to see")
	}
}
