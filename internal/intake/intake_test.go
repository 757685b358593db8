package intake

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlite"
	"github.com/egressguard/egressguard/internal/verdict"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

// judge is a fake Judge that returns one judgement and counts its calls.
type judge struct {
	j     Judgement
	calls int
}

func (f *judge) Judge(*envelope.Envelope, []byte) Judgement { f.calls++; return f.j }

// queue is a fake outbound queue that records what intake asks of it.
// free says whether TryClaim finds a free slot.
type queue struct {
	free bool

	mu        sync.Mutex
	claimed   []string // IDs TryClaim was asked for
	delivered []string // IDs handed over with Deliver
	bodies    [][]byte
	released  int
	kicks     int
}

func (q *queue) TryClaim(m *store.Message) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.claimed = append(q.claimed, m.ID)
	return q.free
}

func (q *queue) Deliver(m *store.Message, body []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.delivered = append(q.delivered, m.ID)
	q.bodies = append(q.bodies, body)
}

func (q *queue) Release() { q.mu.Lock(); q.released++; q.mu.Unlock() }
func (q *queue) Kick()    { q.mu.Lock(); q.kicks++; q.mu.Unlock() }

func openStore(t *testing.T, opts ...sqlite.Option) store.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "eg.db"), zaptest.NewLogger(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newEnvelope(rcpts ...string) *envelope.Envelope {
	env := &envelope.Envelope{ID: store.NewID(t0), Received: t0, ClientAddr: "192.0.2.1", AuthUser: "alice", From: "alice@example.jp"}
	for _, r := range rcpts {
		env.Rcpts = append(env.Rcpts, envelope.Rcpt{Addr: r})
	}
	return env
}

// stored is a message as found in the store after Accept, with its body.
type stored struct {
	*store.Message
	body []byte
}

func all(t *testing.T, st store.Store) map[string]stored {
	t.Helper()
	ctx := context.Background()
	ms, err := st.List(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]stored{}
	for _, m := range ms {
		b, err := st.Body(ctx, m.ID)
		if err != nil {
			t.Fatalf("body of %s: %v", m.ID, err)
		}
		out[m.ID] = stored{m, b}
	}
	return out
}

// TestAccept is intake's decisions: from a judgement to what is stored,
// in which state, with which times, and what the queue is asked to do.
func TestAccept(t *testing.T) {
	data := []byte("Subject: x\r\n\r\nhello\r\n")
	rewritten := []byte("Subject: x\r\nBcc: audit@example.jp\r\n\r\nhello\r\n")
	const holdFor, confirmFor = 48 * time.Hour, 2 * time.Hour
	for _, tc := range []struct {
		name  string
		rcpts []string
		j     Judgement
		split bool // Config.Split
		free  bool // the queue has a free slot

		action     verdict.Action               // the action taken
		state      store.State                  // the message's state; "" = not stored
		next       time.Duration                // its NextAttempt after t0
		expires    time.Duration                // its HoldExpires after t0 (0: none)
		body       []byte                       // what is stored (nil: data)
		part       []string                     // split: the recipients of the part sent at once
		waitStatus []bool                       // split: per recipient of the message, done by the part
		claimed    func(id string) []string     // IDs TryClaim is asked for
		delivered  func(id string) []string     // IDs handed to Deliver
		refused    bool                         // Config.Refused called
		check      func(t *testing.T, m stored) // more checks on the message
	}{
		{
			name: "pass, a slot free: delivered at once", rcpts: []string{"bob@example.net"}, free: true,
			j:      Judgement{Action: verdict.Pass},
			action: verdict.Pass, state: store.Queued,
			claimed: self, delivered: self,
		},
		{
			name: "pass, no slot: queued for the scheduler", rcpts: []string{"bob@example.net"},
			j:      Judgement{Action: verdict.Pass},
			action: verdict.Pass, state: store.Queued,
			claimed: self,
		},
		{
			name: "bcc: the judge's rewrite is stored and delivered", rcpts: []string{"bob@example.net"}, free: true,
			j:      Judgement{Action: verdict.Bcc, Data: rewritten},
			action: verdict.Bcc, state: store.Queued, body: rewritten,
			claimed: self, delivered: self,
		},
		{
			name: "hold: waits HoldFor, not offered to the queue", rcpts: []string{"bob@example.net"}, free: true,
			j:      Judgement{Action: verdict.Hold, Subject: "plans", HeaderFrom: "Alice <alice@example.jp>", Verdict: &verdict.Verdict{Action: verdict.Hold}},
			action: verdict.Hold, state: store.Held, expires: holdFor,
			check: func(t *testing.T, m stored) {
				if m.Subject != "plans" || m.HeaderFrom != "Alice <alice@example.jp>" || m.Action != verdict.Hold || m.Verdict == nil || m.Verdict.Action != verdict.Hold {
					t.Errorf("judgement not stored with the message: %+v", m.Message)
				}
			},
		},
		{
			name: "reject: nothing stored, the refusal reported", rcpts: []string{"bob@example.net"}, free: true,
			j:      Judgement{Action: verdict.Reject},
			action: verdict.Reject, refused: true,
		},
		{
			name: "delay: due at its release time", rcpts: []string{"bob@example.net"}, free: true,
			j:      Judgement{Action: verdict.Delay, Delay: 5 * time.Minute},
			action: verdict.Delay, state: store.Delayed, next: 5 * time.Minute,
		},
		{
			name: "delay of nothing: held (fail closed)", rcpts: []string{"bob@example.net"}, free: true,
			j:      Judgement{Action: verdict.Delay},
			action: verdict.Hold, state: store.Held, expires: holdFor,
		},
		{
			name: "confirm: waits ConfirmFor for the sender", rcpts: []string{"bob@example.net"}, free: true,
			j:      Judgement{Action: verdict.Confirm},
			action: verdict.Confirm, state: store.Unconfirmed, expires: confirmFor,
		},
		{
			name: "unknown action: held (fail closed)", rcpts: []string{"bob@example.net"}, free: true,
			j:      Judgement{Action: verdict.Action("send-anyway")},
			action: verdict.Hold, state: store.Held, expires: holdFor,
		},
		{
			name: "split hold: the internal recipient gets it at once", rcpts: []string{"carol@example.jp", "bob@example.net"},
			split: true, free: true,
			j:      Judgement{Action: verdict.Hold, Immediate: []bool{true, false}},
			action: verdict.Hold, state: store.Held, expires: holdFor,
			part: []string{"carol@example.jp"}, waitStatus: []bool{true, false},
			claimed: partID, delivered: partID,
		},
		{
			name: "split delay", rcpts: []string{"bob@example.net", "carol@example.jp", "dave@example.jp"},
			split:  true,
			j:      Judgement{Action: verdict.Delay, Delay: time.Minute, Immediate: []bool{false, true, true}},
			action: verdict.Delay, state: store.Delayed, next: time.Minute,
			part: []string{"carol@example.jp", "dave@example.jp"}, waitStatus: []bool{false, true, true},
			claimed: partID,
		},
		{
			name: "split confirm", rcpts: []string{"carol@example.jp", "bob@example.net"},
			split: true, free: true,
			j:      Judgement{Action: verdict.Confirm, Immediate: []bool{true, false}},
			action: verdict.Confirm, state: store.Unconfirmed, expires: confirmFor,
			part: []string{"carol@example.jp"}, waitStatus: []bool{true, false},
			claimed: partID, delivered: partID,
		},
		{
			name: "split off: everyone waits", rcpts: []string{"carol@example.jp", "bob@example.net"}, free: true,
			j:      Judgement{Action: verdict.Hold, Immediate: []bool{true, false}},
			action: verdict.Hold, state: store.Held, expires: holdFor, waitStatus: []bool{false, false},
		},
		{
			name: "split, nobody need wait: the whole message waits", rcpts: []string{"carol@example.jp", "bob@example.net"},
			split: true, free: true,
			j:      Judgement{Action: verdict.Hold, Immediate: []bool{true, true}},
			action: verdict.Hold, state: store.Held, expires: holdFor, waitStatus: []bool{false, false},
		},
		{
			name: "split, Immediate of the wrong length: everyone waits", rcpts: []string{"carol@example.jp", "bob@example.net"},
			split: true, free: true,
			j:      Judgement{Action: verdict.Hold, Immediate: []bool{true}},
			action: verdict.Hold, state: store.Held, expires: holdFor, waitStatus: []bool{false, false},
		},
		{
			name: "split of a pass: nothing to split", rcpts: []string{"carol@example.jp", "bob@example.net"},
			split: true, free: true,
			j:      Judgement{Action: verdict.Pass, Immediate: []bool{true, false}},
			action: verdict.Pass, state: store.Queued, waitStatus: []bool{false, false},
			claimed: self, delivered: self,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			jd := &judge{j: tc.j}
			q := &queue{free: tc.free}
			var recorded []string
			refused := false
			in := New(Config{
				HoldFor: holdFor, ConfirmFor: confirmFor, Split: tc.split, Now: func() time.Time { return t0 },
				Record:  func(tx store.Tx, m *store.Message, j Judgement) error { recorded = append(recorded, m.ID); return nil },
				Refused: func(*envelope.Envelope, Judgement) { refused = true },
			}, st, jd, q, zaptest.NewLogger(t))
			env := newEnvelope(tc.rcpts...)
			j, err := in.Accept(context.Background(), env, data)
			if err != nil {
				t.Fatal(err)
			}
			if jd.calls != 1 {
				t.Errorf("judged %d times", jd.calls)
			}
			if j.Action != tc.action {
				t.Errorf("action %q; want %q", j.Action, tc.action)
			}
			if refused != tc.refused {
				t.Errorf("refusal reported %v; want %v", refused, tc.refused)
			}
			ms := all(t, st)
			id, pid := env.ID, env.ID+SplitSuffix
			var wantIDs []string
			if tc.state != "" {
				wantIDs = append(wantIDs, id)
			}
			if tc.part != nil {
				wantIDs = append(wantIDs, pid)
			}
			if len(ms) != len(wantIDs) {
				t.Fatalf("%d messages stored; want %v", len(ms), wantIDs)
			}
			if !slices.Equal(recorded, wantIDs) {
				t.Errorf("recorded %v; want %v (each stored message, in its transaction)", recorded, wantIDs)
			}
			want := func(f func(string) []string) []string {
				if f == nil {
					return nil
				}
				return f(id)
			}
			if !slices.Equal(q.claimed, want(tc.claimed)) || !slices.Equal(q.delivered, want(tc.delivered)) || q.released != 0 {
				t.Errorf("queue: claimed %v, delivered %v, released %d; want %v, %v, 0", q.claimed, q.delivered, q.released, want(tc.claimed), want(tc.delivered))
			}
			if tc.state == "" {
				if q.kicks != 0 {
					t.Errorf("queue woken %d times for a refused message", q.kicks)
				}
				return
			}
			if q.kicks != 1 {
				t.Errorf("queue woken %d times; want 1", q.kicks)
			}
			body := tc.body
			if body == nil {
				body = data
			}
			m := ms[id]
			if m.State != tc.state {
				t.Errorf("state %s; want %s", m.State, tc.state)
			}
			if !bytes.Equal(m.body, body) || m.Size != int64(len(body)) {
				t.Errorf("stored %d bytes %q (size %d); want %q", len(m.body), m.body, m.Size, body)
			}
			if len(q.bodies) == 1 && !bytes.Equal(q.bodies[0], body) {
				t.Errorf("delivered %q; want %q", q.bodies[0], body)
			}
			if !m.NextAttempt.Equal(t0.Add(tc.next)) {
				t.Errorf("next attempt %v; want t0+%v", m.NextAttempt, tc.next)
			}
			if wantExp := t0.Add(tc.expires); tc.expires == 0 && !m.HoldExpires.IsZero() || tc.expires != 0 && !m.HoldExpires.Equal(wantExp) {
				t.Errorf("hold expires %v; want t0+%v", m.HoldExpires, tc.expires)
			}
			if !m.Updated.Equal(t0) || m.Action != tc.action {
				t.Errorf("updated %v, action %q", m.Updated, m.Action)
			}
			if len(m.Rcpts) != len(tc.rcpts) || len(m.Status) != len(tc.rcpts) {
				t.Fatalf("message has %d recipients, %d statuses; want %d", len(m.Rcpts), len(m.Status), len(tc.rcpts))
			}
			for i, done := range tc.waitStatus {
				s := m.Status[i]
				if done != s.Done || done != (s.Part == pid) {
					t.Errorf("recipient %s: status %+v; want done by the part %v", m.Rcpts[i].Addr, s, done)
				}
			}
			if tc.part != nil {
				p := ms[pid]
				var got []string
				for _, r := range p.Rcpts {
					got = append(got, r.Addr)
				}
				if !slices.Equal(got, tc.part) || p.State != store.Queued || p.Action != verdict.Pass ||
					!p.NextAttempt.Equal(t0) || !p.HoldExpires.IsZero() || !bytes.Equal(p.body, body) || len(p.Status) != len(got) {
					t.Errorf("part sent at once: %s to %v, action %s, next %v, expires %v; want queued now to %v",
						p.State, got, p.Action, p.NextAttempt, p.HoldExpires, tc.part)
				}
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

func self(id string) []string   { return []string{id} }
func partID(id string) []string { return []string{id + SplitSuffix} }

// TestAcceptNothingHalfDone: when the commit fails (the store is full, or
// the record of the acceptance fails), Accept returns the error (the front
// end answers 4xx: try later), nothing is stored, and the queue slot taken
// for the message is given back.
func TestAcceptNothingHalfDone(t *testing.T) {
	errRecord := errors.New("audit append failed")
	for _, tc := range []struct {
		name   string
		opts   []sqlite.Option
		record func(tx store.Tx, m *store.Message, j Judgement) error
		data   []byte
		j      Judgement
		split  bool
		want   error
	}{
		{
			name: "store full", opts: []sqlite.Option{sqlite.WithMaxPages(64)}, // 256 KiB
			data: bytes.Repeat([]byte("x"), 1<<20), j: Judgement{Action: verdict.Pass}, want: store.ErrFull,
		},
		{
			name: "store full, split", opts: []sqlite.Option{sqlite.WithMaxPages(64)}, split: true,
			data: bytes.Repeat([]byte("x"), 1<<20), j: Judgement{Action: verdict.Hold, Immediate: []bool{true, false}}, want: store.ErrFull,
		},
		{
			name: "record fails", record: func(store.Tx, *store.Message, Judgement) error { return errRecord },
			data: []byte("Subject: x\r\n\r\n"), j: Judgement{Action: verdict.Pass}, want: errRecord,
		},
		{
			name: "record of the part fails",
			record: func(_ store.Tx, m *store.Message, _ Judgement) error {
				if m.State == store.Queued {
					return errRecord
				}
				return nil
			},
			split: true,
			data:  []byte("Subject: x\r\n\r\n"), j: Judgement{Action: verdict.Hold, Immediate: []bool{true, false}}, want: errRecord,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t, tc.opts...)
			q := &queue{free: true}
			in := New(Config{Now: func() time.Time { return t0 }, Record: tc.record, Split: tc.split}, st, &judge{j: tc.j}, q, zaptest.NewLogger(t))
			_, err := in.Accept(context.Background(), newEnvelope("carol@example.jp", "bob@example.net"), tc.data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Accept: %v; want %v", err, tc.want)
			}
			if ms := all(t, st); len(ms) != 0 {
				t.Errorf("%d messages stored after a failed commit", len(ms))
			}
			if len(q.claimed) != 1 || q.released != 1 || len(q.delivered) != 0 {
				t.Errorf("queue: claimed %v, released %d, delivered %v; want the slot given back", q.claimed, q.released, q.delivered)
			}
			// The store still takes mail.
			_, err = in.Accept(context.Background(), newEnvelope("bob@example.net"), []byte("Subject: y\r\n\r\n"))
			if tc.record == nil && err != nil {
				t.Errorf("a small message after the failure: %v", err)
			}
		})
	}
	// No recipients: never submitted by the front end, refused before judging.
	jd := &judge{j: Judgement{Action: verdict.Pass}}
	in := New(Config{}, openStore(t), jd, &queue{}, zaptest.NewLogger(t))
	if _, err := in.Accept(context.Background(), newEnvelope(), []byte("x")); err == nil || jd.calls != 0 {
		t.Errorf("no recipients: %v after %d judgements", err, jd.calls)
	}
}
