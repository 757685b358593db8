// Package storetest is the conformance suite for store.Store
// implementations. Every backend (the embedded SQLite store now, PostgreSQL
// later) runs the same tests, so that code above the store can rely on one
// behaviour whichever database is configured.
//
// The behaviour checked is the one documented in package store (the
// interfaces' comments and the package comment). The suite itself only
// uses whole milliseconds, compares instants rather than locations, and
// treats a nil and an empty slice as equal.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// Opener returns a new, empty store for one test, and registers its Close
// with t.Cleanup (the suite may close it earlier; Close must tolerate
// that). If reopen is not nil it opens the same database again; the suite
// calls it only after closing the first store, and the store it returns
// must also be closed by a cleanup. With a nil reopen, the durability tests
// are skipped.
type Opener func(t *testing.T) (s store.Store, reopen func(t *testing.T) store.Store)

// Run runs the whole suite. Every test gets its own store and runs in
// parallel with the others.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"BodyRoundTrip", testBodyRoundTrip},
		{"MessageRoundTrip", testMessageRoundTrip},
		{"InsertExisting", testInsertExisting},
		{"NotFound", testNotFound},
		{"UpdateMessage", testUpdateMessage},
		{"DeleteBody", testDeleteBody},
		{"ClaimDue", testClaimDue},
		{"ClaimDueConcurrent", testClaimDueConcurrent},
		{"ReleaseOwner", testReleaseOwner},
		{"RenewClaims", testRenewClaims},
		{"UpdateClaimed", testUpdateClaimed},
		{"Incidents", testIncidents},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"FailingFunctionsInBusyBatch", testFailingInBusyBatch},
		{"FunctionErrorUndoesAllItsWrites", testFunctionErrorUndoesAll},
		{"Panic", testPanic},
		{"CancelledContext", testCancelledContext},
		{"TxAfterUpdate", testTxAfterUpdate},
		{"Reopen", testReopen},
		{"List", testList},
		{"Count", testCount},
		{"NextDue", testNextDue},
		{"Users", testUsers},
		{"PingAndClose", testPingAndClose},
	}
	for _, tc := range slices.Concat(tests, recordTests, waitingTests, chunkTests) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

// base is the suite's clock: fixed, whole milliseconds, so that results do
// not depend on when the test runs.
var base = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

var errBoom = errors.New("storetest: boom")

// cmpOpts compare records the way the suite promises: instants (cmp uses
// time.Time.Equal), and nil equal to empty.
var cmpOpts = []cmp.Option{cmpopts.EquateEmpty()}

func fresh(t *testing.T, open Opener) store.Store {
	t.Helper()
	s, _ := open(t)
	return s
}

// newMessage returns a queued message with every field set, received n
// seconds after base. ID order follows n.
func newMessage(n int) *store.Message {
	recv := base.Add(time.Duration(n) * time.Second)
	return &store.Message{
		Envelope: envelope.Envelope{
			ID:         fmt.Sprintf("%s-%06d", store.NewID(recv), n),
			Received:   recv,
			ClientAddr: "192.0.2.7",
			Helo:       "client.example",
			AuthUser:   "alice",
			From:       "alice@example.com",
			Params:     envelope.MailParams{SMTPUTF8: true, Body: "8BITMIME", Ret: "HDRS", EnvID: "env\x00id+2B"},
			Rcpts: []envelope.Rcpt{
				{Addr: "bob@example.net", Notify: []string{"SUCCESS", "FAILURE"}, ORcpt: "rfc822;bob@example.net"},
				{Addr: "ça@exemple.fr"},
			},
		},
		State:       store.Queued,
		Updated:     recv,
		Size:        2048,
		NextAttempt: recv,
		Status:      make([]store.RcptStatus, 2),
		Subject:     "Quarterly report — draft",
		HeaderFrom:  `"Alice" <alice@example.com>`,
		Verdict:     &verdict.Verdict{Action: verdict.Pass, Reasons: []verdict.Reason{}},
		Action:      verdict.Pass,
	}
}

func body(n int) []byte {
	return []byte(fmt.Sprintf("From: alice@example.com\r\nSubject: %d\r\n\r\nbody %d\r\n", n, n))
}

func update(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func insert(t *testing.T, s store.Store, ms ...*store.Message) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for i, m := range ms {
			if err := tx.InsertMessage(m, bytes.NewReader(body(i))); err != nil {
				return err
			}
		}
		return nil
	})
}

// flush commits an empty update. A store may answer a failed function
// before the rest of its group commit is durable; checking only after a
// later commit makes sure that a failed function's writes did not slip
// into that commit.
func flush(t *testing.T, s store.Store) {
	t.Helper()
	update(t, s, func(store.Tx) error { return nil })
}

func get(t *testing.T, s store.Store, id string) *store.Message {
	t.Helper()
	m, err := s.Message(context.Background(), id)
	if err != nil {
		t.Fatalf("Message(%s): %v", id, err)
	}
	return m
}

func wantGone(t *testing.T, s store.Store, id string) {
	t.Helper()
	ctx := context.Background()
	if m, err := s.Message(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Message(%s) = %v, %v; want ErrNotFound", id, m != nil, err)
	}
	if _, err := s.Body(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Body(%s) error = %v; want ErrNotFound", id, err)
	}
}

func ids(ms []*store.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func testBodyRoundTrip(t *testing.T, open Opener) {
	s := fresh(t, open)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 3<<20+17)
	for i := range big {
		big[i] = byte(i*7 + i>>11)
	}
	bodies := map[string][]byte{
		"empty":       {},
		"every byte":  bytes.Repeat(all, 3),
		"nul":         []byte("a\x00b\x00\x00"),
		"crlf mix":    []byte("line1\r\nline2\nline3\rline4\r\n.\r\n..\r\n\r\n"),
		"8bit":        []byte("Subject: Grüße\r\n\r\n\xff\xfe invalid UTF-8 \xc3\x28\r\n"),
		"trailing ws": []byte("x \t \r\n \r\n"),
		"3 MiB":       big,
	}
	var names []string
	for name := range bodies {
		names = append(names, name)
	}
	slices.Sort(names)
	msgs := make(map[string]*store.Message)
	for i, name := range names {
		m := newMessage(i)
		m.Size = int64(len(bodies[name]))
		msgs[name] = m
		update(t, s, func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(bodies[name])) })
	}
	for _, name := range names {
		got, err := s.Body(context.Background(), msgs[name].ID)
		if err != nil {
			t.Errorf("%s: Body: %v", name, err)
			continue
		}
		if !bytes.Equal(got, bodies[name]) {
			t.Errorf("%s: body differs: got %d bytes, want %d", name, len(got), len(bodies[name]))
		}
		if got == nil {
			t.Errorf("%s: Body returned nil", name)
		}
	}
}

func testMessageRoundTrip(t *testing.T, open Opener) {
	s := fresh(t, open)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	m := newMessage(1)
	m.Received = m.Received.In(paris)
	m.State = store.Held
	m.Updated = base.Add(1234 * time.Millisecond)
	m.Attempts = 3
	m.NextAttempt = base.Add(time.Hour + 5*time.Millisecond)
	m.Owner = "instance-a"
	m.LastError = "451 4.7.1 greylisted\r\nsecond line"
	m.Status = []store.RcptStatus{
		{Done: true, Code: 250, Detail: "2.0.0 ok"},
		{Failed: true, Code: 451, Detail: "4.4.1 timeout"},
	}
	m.Verdict = &verdict.Verdict{Action: verdict.Hold, Reasons: []verdict.Reason{{Rule: "share link \u00e9", Action: verdict.Hold}},
		Recipients: []verdict.RcptClass{{Addr: "bob@example.net", Class: verdict.Unknown, Action: verdict.Hold}}, VisibleExternal: 1}
	m.Action = verdict.Hold
	m.HoldExpires = base.Add(72 * time.Hour)

	other := newMessage(2)
	other.Envelope.Params = envelope.MailParams{}
	other.From = "" // null sender
	other.AuthUser = ""
	other.Rcpts = []envelope.Rcpt{{Addr: "x@example.com"}}
	other.Status = []store.RcptStatus{{}}
	other.Verdict = nil
	other.NextAttempt = time.Time{}
	// A verdict sealed by SealRecords is kept as it is by a store that
	// does not open it.
	sealed := newMessage(3)
	sealed.Verdict, sealed.SealedVerdict = nil, []byte("sealed1:AAEC")
	insert(t, s, m, other, sealed)

	for _, want := range []*store.Message{m, other, sealed} {
		got := get(t, s, want.ID)
		if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
			t.Errorf("message %s round trip (-want +got):\n%s", want.ID, diff)
		}
	}
	if got := get(t, s, other.ID); !got.NextAttempt.IsZero() {
		t.Errorf("zero NextAttempt read back as %v", got.NextAttempt)
	}
}

func testInsertExisting(t *testing.T, open Opener) {
	s := fresh(t, open)
	m := newMessage(1)
	insert(t, s, m)
	dup := newMessage(2)
	dup.ID = m.ID
	err := s.Update(context.Background(), func(tx store.Tx) error {
		return tx.InsertMessage(dup, bytes.NewReader([]byte("other bytes")))
	})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second insert: %v; want ErrExists", err)
	}
	flush(t, s)
	if diff := cmp.Diff(m, get(t, s, m.ID), cmpOpts...); diff != "" {
		t.Errorf("original changed (-want +got):\n%s", diff)
	}
	if got, _ := s.Body(context.Background(), m.ID); !bytes.Equal(got, body(0)) {
		t.Errorf("original body changed: %q", got)
	}
	// A function may recover from ErrExists and go on; its other writes
	// commit.
	third := newMessage(3)
	update(t, s, func(tx store.Tx) error {
		if err := tx.InsertMessage(dup, nil); !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("duplicate insert: %v", err)
		}
		return tx.InsertMessage(third, bytes.NewReader(body(3)))
	})
	get(t, s, third.ID)
}

func testNotFound(t *testing.T, open Opener) {
	s := fresh(t, open)
	wantGone(t, s, "nosuchid")
	if _, err := s.User(context.Background(), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("User(nobody): %v; want ErrNotFound", err)
	}
	err := s.Update(context.Background(), func(tx store.Tx) error {
		m := newMessage(1)
		return tx.UpdateMessage(m, store.Queued)
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateMessage of unknown message: %v; want ErrNotFound", err)
	}
	err = s.Update(context.Background(), func(tx store.Tx) error { return tx.DeleteBody("nosuchid") })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteBody of unknown message: %v; want ErrNotFound", err)
	}
}

func testUpdateMessage(t *testing.T, open Opener) {
	s := fresh(t, open)
	orig := newMessage(1)
	insert(t, s, orig)

	next := *orig
	next.State = store.Sending
	next.Updated = base.Add(time.Minute)
	next.Attempts = 1
	next.NextAttempt = base.Add(10 * time.Minute)
	next.Owner = "instance-b"
	next.LastError = "dial: connection refused"
	next.Status = []store.RcptStatus{{Done: true, Code: 250}, {Failed: true, Code: 450, Detail: "4.2.0 busy"}}
	next.Verdict = &verdict.Verdict{Action: verdict.Hold}
	next.Action = verdict.Hold
	next.HoldExpires = base.Add(48 * time.Hour)
	// Not mutable: must not be written.
	next.Subject = "changed subject"
	next.HeaderFrom = "changed@example.com"
	next.Size = 1

	update(t, s, func(tx store.Tx) error { return tx.UpdateMessage(&next, store.Queued) })
	want := next
	want.Subject, want.HeaderFrom, want.Size = orig.Subject, orig.HeaderFrom, orig.Size
	if diff := cmp.Diff(&want, get(t, s, orig.ID), cmpOpts...); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}

	// The stored state is Sending now, so an update from Queued loses.
	stale := *orig
	stale.State = store.Delivered
	err := s.Update(context.Background(), func(tx store.Tx) error { return tx.UpdateMessage(&stale, store.Queued) })
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v; want ErrConflict", err)
	}
	flush(t, s)
	if diff := cmp.Diff(&want, get(t, s, orig.ID), cmpOpts...); diff != "" {
		t.Errorf("record changed by a conflicting update (-want +got):\n%s", diff)
	}
}

func testDeleteBody(t *testing.T, open Opener) {
	s := fresh(t, open)
	m, keep := newMessage(1), newMessage(2)
	insert(t, s, m, keep)
	done := *m
	done.State = store.Delivered
	update(t, s, func(tx store.Tx) error {
		if err := tx.UpdateMessage(&done, store.Queued); err != nil {
			return err
		}
		return tx.DeleteBody(m.ID)
	})
	ctx := context.Background()
	if _, err := s.Body(ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Body after DeleteBody: %v; want ErrNotFound", err)
	}
	if got := get(t, s, m.ID); got.State != store.Delivered {
		t.Errorf("record after DeleteBody: state %s", got.State)
	}
	if got, err := s.Body(ctx, keep.ID); err != nil || !bytes.Equal(got, body(1)) {
		t.Errorf("other body: %q, %v", got, err)
	}
	update(t, s, func(tx store.Tx) error { return tx.DeleteBody(m.ID) })
}

// claimFixture inserts messages in every situation ClaimDue must tell apart,
// with now = base.
func claimFixture(t *testing.T, s store.Store) map[string]*store.Message {
	t.Helper()
	mk := func(n int, st store.State, next time.Duration, owner string, attempts int) *store.Message {
		m := newMessage(n)
		m.State, m.NextAttempt, m.Owner, m.Attempts = st, base.Add(next), owner, attempts
		return m
	}
	f := map[string]*store.Message{
		"q1":      mk(1, store.Queued, -10*time.Minute, "", 0),
		"q2":      mk(2, store.Queued, -5*time.Minute, "", 1),
		"q3":      mk(3, store.Queued, 0, "", 0), // due exactly now
		"qLater":  mk(4, store.Queued, time.Minute, "", 0),
		"sExpd":   mk(5, store.Sending, -time.Minute, "crashed", 2),
		"sActive": mk(6, store.Sending, time.Minute, "other", 1),
		"held":    mk(7, store.Held, -time.Hour, "", 0),
		"done":    mk(8, store.Delivered, -time.Hour, "", 1),
	}
	var all []*store.Message
	for _, m := range f {
		all = append(all, m)
	}
	insert(t, s, all...)
	return f
}

func claim(t *testing.T, s store.Store, now time.Time, owner string, until time.Time, limit int) []*store.Message {
	t.Helper()
	var got []*store.Message
	update(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.ClaimDue(now, owner, until, limit)
		return err
	})
	return got
}

func testClaimDue(t *testing.T, open Opener) {
	s := fresh(t, open)
	f := claimFixture(t, s)
	until := base.Add(10 * time.Minute)

	check := func(got []*store.Message, owner string, until time.Time, names ...string) {
		t.Helper()
		var want []string
		for _, n := range names {
			want = append(want, f[n].ID)
		}
		slices.Sort(want)
		gotIDs := ids(got)
		slices.Sort(gotIDs)
		if !slices.Equal(gotIDs, want) {
			t.Fatalf("claimed %v; want %v", gotIDs, want)
		}
		for _, m := range got {
			var orig *store.Message
			for _, n := range names {
				if f[n].ID == m.ID {
					orig = f[n]
				}
			}
			wantM := *orig
			wantM.State, wantM.Owner, wantM.Attempts, wantM.NextAttempt = store.Sending, owner, orig.Attempts+1, until
			wantM.Updated = m.Updated // the store may stamp the claim
			if diff := cmp.Diff(&wantM, m, cmpOpts...); diff != "" {
				t.Errorf("claimed message (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(m, get(t, s, m.ID), cmpOpts...); diff != "" {
				t.Errorf("stored claim differs from returned (-returned +stored):\n%s", diff)
			}
			// The claimed record is what the next attempt updates.
			f[nameOf(f, m.ID)] = m
		}
	}

	// The two that have waited longest come first.
	check(claim(t, s, base, "me", until, 2), "me", until, "q1", "q2")
	// Due exactly now, and an expired claim; not the future, the
	// active claim, held or final messages.
	check(claim(t, s, base, "me", until, 10), "me", until, "q3", "sExpd")
	check(claim(t, s, base, "me", until, 10), "me", until)
	// Once the claims lapse everything still undelivered is due again.
	later, until2 := base.Add(11*time.Minute), base.Add(20*time.Minute)
	check(claim(t, s, later, "you", until2, 100), "you", until2, "q1", "q2", "q3", "qLater", "sExpd", "sActive")
	if got := claim(t, s, later, "you", until2, 0); len(got) != 0 {
		t.Errorf("limit 0 claimed %v", ids(got))
	}
}

func nameOf(f map[string]*store.Message, id string) string {
	for n, m := range f {
		if m.ID == id {
			return n
		}
	}
	return ""
}

func testClaimDueConcurrent(t *testing.T, open Opener) {
	s := fresh(t, open)
	const total, claimers, batch = 500, 8, 7
	var all []*store.Message
	for i := range total {
		m := newMessage(i)
		m.NextAttempt = base.Add(-time.Duration(i) * time.Millisecond)
		all = append(all, m)
	}
	insert(t, s, all...)

	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		byID  = make(map[string][]string)
		errs  = make(chan error, claimers)
		until = base.Add(time.Hour)
	)
	for c := range claimers {
		owner := fmt.Sprintf("instance-%d", c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				var got []*store.Message
				err := s.Update(context.Background(), func(tx store.Tx) error {
					var err error
					got, err = tx.ClaimDue(base, owner, until, batch)
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				if len(got) > batch {
					errs <- fmt.Errorf("%s claimed %d > limit %d", owner, len(got), batch)
					return
				}
				mu.Lock()
				for _, m := range got {
					byID[m.ID] = append(byID[m.ID], owner)
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(byID) != total {
		t.Errorf("%d distinct messages claimed; want %d", len(byID), total)
	}
	for id, who := range byID {
		if len(who) != 1 {
			t.Errorf("message %s claimed by %v", id, who)
			continue
		}
		m := get(t, s, id)
		if m.State != store.Sending || m.Owner != who[0] || m.Attempts != 1 || !m.NextAttempt.Equal(until) {
			t.Errorf("message %s stored as %s owner %q attempts %d next %v; claimed by %s",
				id, m.State, m.Owner, m.Attempts, m.NextAttempt, who[0])
		}
	}
	counts, err := s.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.Sending] != total || counts[store.Queued] != 0 {
		t.Errorf("counts after claiming: %v", counts)
	}
}

func testReleaseOwner(t *testing.T, open Opener) {
	s := fresh(t, open)
	var all []*store.Message
	for i := range 5 {
		m := newMessage(i)
		m.NextAttempt = base.Add(-time.Hour)
		all = append(all, m)
	}
	insert(t, s, all...)
	a := claim(t, s, base, "a", base.Add(time.Hour), 3)
	b := claim(t, s, base, "b", base.Add(time.Hour), 2)
	if len(a) != 3 || len(b) != 2 {
		t.Fatalf("claimed %d and %d", len(a), len(b))
	}
	now := base.Add(time.Minute)
	var n int
	update(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.ReleaseOwner("a", now)
		return err
	})
	if n != 3 {
		t.Errorf("ReleaseOwner(a) = %d; want 3", n)
	}
	for _, m := range a {
		got := get(t, s, m.ID)
		if got.State != store.Queued || got.Owner != "" || !got.NextAttempt.Equal(now) || got.Attempts != 1 {
			t.Errorf("released %s: state %s owner %q next %v attempts %d", m.ID, got.State, got.Owner, got.NextAttempt, got.Attempts)
		}
	}
	for _, m := range b {
		if diff := cmp.Diff(m, get(t, s, m.ID), cmpOpts...); diff != "" {
			t.Errorf("other owner's claim changed (-want +got):\n%s", diff)
		}
	}
	update(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.ReleaseOwner("nobody", now)
		return err
	})
	if n != 0 {
		t.Errorf("ReleaseOwner(nobody) = %d", n)
	}
	// Released messages are due again at now.
	if got := claim(t, s, now, "c", base.Add(2*time.Hour), 10); len(got) != 3 {
		t.Errorf("reclaimed %d after release; want 3", len(got))
	}
}

// Only the instance holding a claim records the attempt's outcome.
func testUpdateClaimed(t *testing.T, open Opener) {
	s := fresh(t, open)
	m := newMessage(1)
	m.NextAttempt = base.Add(-time.Hour)
	insert(t, s, m)
	a := claim(t, s, base, "a", base.Add(time.Minute), 1)
	if len(a) != 1 {
		t.Fatalf("claimed %d", len(a))
	}
	// a's claim is released and taken by b.
	update(t, s, func(tx store.Tx) error { _, err := tx.ReleaseOwner("a", base); return err })
	if b := claim(t, s, base, "b", base.Add(time.Minute), 1); len(b) != 1 {
		t.Fatalf("b claimed %d", len(b))
	}
	late := *a[0]
	late.State, late.Owner = store.Queued, ""
	err := s.Update(context.Background(), func(tx store.Tx) error { return tx.UpdateClaimed(&late, "a") })
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("late outcome of a lost claim: %v; want ErrConflict", err)
	}
	if got := get(t, s, m.ID); got.State != store.Sending || got.Owner != "b" {
		t.Errorf("after the refused outcome: state %s owner %q; want b's claim", got.State, got.Owner)
	}
	done := *get(t, s, m.ID)
	done.State, done.Owner = store.Delivered, ""
	update(t, s, func(tx store.Tx) error { return tx.UpdateClaimed(&done, "b") })
	if got := get(t, s, m.ID); got.State != store.Delivered {
		t.Errorf("owner's outcome not recorded: %s", got.State)
	}
}

func testRenewClaims(t *testing.T, open Opener) {
	s := fresh(t, open)
	var all []*store.Message
	for i := range 4 {
		m := newMessage(i)
		m.NextAttempt = base.Add(-time.Hour)
		all = append(all, m)
	}
	insert(t, s, all...)
	a := claim(t, s, base, "a", base.Add(time.Minute), 3)
	b := claim(t, s, base, "b", base.Add(time.Minute), 1)
	if len(a) != 3 || len(b) != 1 {
		t.Fatalf("claimed %d and %d", len(a), len(b))
	}
	// a's third claim is released (as if a peer found a dead): renewing it
	// must not bring it back.
	update(t, s, func(tx store.Tx) error {
		m := get(t, s, a[2].ID)
		m.State, m.Owner = store.Queued, ""
		return tx.UpdateMessage(m, store.Sending)
	})
	until := base.Add(10 * time.Minute)
	var renewed []string
	ids := []string{a[0].ID, a[1].ID, a[2].ID, b[0].ID, "no-such-id"}
	update(t, s, func(tx store.Tx) error {
		var err error
		renewed, err = tx.RenewClaims("a", ids, until)
		return err
	})
	slices.Sort(renewed)
	want := []string{a[0].ID, a[1].ID}
	slices.Sort(want)
	if !slices.Equal(renewed, want) {
		t.Errorf("renewed %v; want %v", renewed, want)
	}
	for _, m := range a[:2] {
		got := get(t, s, m.ID)
		if got.State != store.Sending || got.Owner != "a" || !got.NextAttempt.Equal(until) || got.Attempts != 1 {
			t.Errorf("renewed %s: state %s owner %q next %v attempts %d", m.ID, got.State, got.Owner, got.NextAttempt, got.Attempts)
		}
	}
	if got := get(t, s, a[2].ID); got.State != store.Queued || got.Owner != "" {
		t.Errorf("released claim came back: state %s owner %q", got.State, got.Owner)
	}
	if got := get(t, s, b[0].ID); !got.NextAttempt.Equal(base.Add(time.Minute)) || got.Owner != "b" {
		t.Errorf("other owner's claim renewed: next %v owner %q", got.NextAttempt, got.Owner)
	}
	// A renewed claim is not due before its new end.
	if got := claim(t, s, base.Add(5*time.Minute), "c", base.Add(time.Hour), 10); len(got) != 2 {
		// b's claim (ended at base+1m) and the released one are due.
		t.Errorf("claimed %d after renewal; want 2 (b's expired claim and the released one)", len(got))
	}
	update(t, s, func(tx store.Tx) error {
		var err error
		renewed, err = tx.RenewClaims("a", nil, until)
		return err
	})
	if len(renewed) != 0 {
		t.Errorf("renewing nothing renewed %v", renewed)
	}
}

// runConcurrently starts n Updates at once; fn(i) is the function of the
// i-th. It returns each Update's error.
func runConcurrently(s store.Store, n int, fn func(i int) func(store.Tx) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Update(context.Background(), fn(i))
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func testConcurrentUpdates(t *testing.T, open Opener) {
	s := fresh(t, open)
	const n = 200
	msgs := make([]*store.Message, n)
	for i := range msgs {
		msgs[i] = newMessage(i)
	}
	errs := runConcurrently(s, n, func(i int) func(store.Tx) error {
		return func(tx store.Tx) error { return tx.InsertMessage(msgs[i], bytes.NewReader(body(i))) }
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	for i, m := range msgs {
		got, err := s.Body(context.Background(), m.ID)
		if err != nil || !bytes.Equal(got, body(i)) {
			t.Errorf("message %d: body %q, %v", i, got, err)
		}
	}
	counts, err := s.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.Queued] != n {
		t.Errorf("Count = %v; want %d queued", counts, n)
	}
}

func testFailingInBusyBatch(t *testing.T, open Opener) {
	s := fresh(t, open)
	const n, failing, panicking, conflicting = 100, 37, 61, 83
	msgs := make([]*store.Message, n)
	for i := range msgs {
		msgs[i] = newMessage(i)
	}
	errs := runConcurrently(s, n, func(i int) func(store.Tx) error {
		return func(tx store.Tx) error {
			if err := tx.InsertMessage(msgs[i], bytes.NewReader(body(i))); err != nil {
				return err
			}
			switch i {
			case failing:
				return errBoom
			case panicking:
				panic("storetest: deliberate panic")
			case conflicting:
				// Its insert succeeded, then a conditional
				// update fails: the insert must go too.
				m := *msgs[i]
				m.State = store.Delivered
				return tx.UpdateMessage(&m, store.Held)
			}
			return nil
		}
	})
	flush(t, s)
	for i, err := range errs {
		switch i {
		case failing:
			if !errors.Is(err, errBoom) {
				t.Errorf("failing function: Update returned %v; want its own error", err)
			}
		case panicking:
			if err == nil {
				t.Errorf("panicking function: Update returned nil")
			}
		case conflicting:
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("conflicting function: Update returned %v; want ErrConflict", err)
			}
		default:
			if err != nil {
				t.Errorf("update %d: %v", i, err)
			}
		}
	}
	for i, m := range msgs {
		switch i {
		case failing, panicking, conflicting:
			wantGone(t, s, m.ID)
		default:
			get(t, s, m.ID)
		}
	}
	counts, err := s.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.Queued] != n-3 {
		t.Errorf("Count = %v; want %d queued", counts, n-3)
	}
}

func testFunctionErrorUndoesAll(t *testing.T, open Opener) {
	s := fresh(t, open)
	existing := newMessage(1)
	insert(t, s, existing)
	u := &store.User{Name: "mallory", Roles: []string{"admin"}}
	a, b := newMessage(2), newMessage(3)
	err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.InsertMessage(a, bytes.NewReader(body(2))); err != nil {
			return err
		}
		if err := tx.InsertMessage(b, bytes.NewReader(body(3))); err != nil {
			return err
		}
		m := *existing
		m.State = store.Sending
		if err := tx.UpdateMessage(&m, store.Queued); err != nil {
			return err
		}
		if err := tx.DeleteBody(existing.ID); err != nil {
			return err
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update returned %v; want the function's error", err)
	}
	flush(t, s)
	wantGone(t, s, a.ID)
	wantGone(t, s, b.ID)
	if diff := cmp.Diff(existing, get(t, s, existing.ID), cmpOpts...); diff != "" {
		t.Errorf("update of a failed function persisted (-want +got):\n%s", diff)
	}
	if _, err := s.Body(context.Background(), existing.ID); err != nil {
		t.Errorf("body deleted by a failed function: %v", err)
	}
	if _, err := s.User(context.Background(), u.Name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("user of a failed function: %v; want ErrNotFound", err)
	}
}

func testPanic(t *testing.T, open Opener) {
	s := fresh(t, open)
	m := newMessage(1)
	err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.InsertMessage(m, bytes.NewReader(body(1))); err != nil {
			return err
		}
		var nilMap map[string]int
		//lint:ignore SA5000 a runtime panic (not just panic()) is what this test is about
		nilMap["x"]++
		return nil
	})
	if err == nil {
		t.Fatal("Update of a panicking function returned nil")
	}
	flush(t, s)
	wantGone(t, s, m.ID)
	// The store keeps working.
	next := newMessage(2)
	insert(t, s, next)
	get(t, s, next.ID)
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping after panic: %v", err)
	}
}

func testCancelledContext(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := s.Update(ctx, func(tx store.Tx) error {
		ran = true
		return tx.InsertMessage(newMessage(1), nil)
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with cancelled context: %v; want context.Canceled", err)
	}
	if ran {
		t.Error("function ran although the context was cancelled before")
	}
	flush(t, s)
	wantGone(t, s, newMessage(1).ID)
}

func testTxAfterUpdate(t *testing.T, open Opener) {
	s := fresh(t, open)
	var kept store.Tx
	update(t, s, func(tx store.Tx) error {
		kept = tx
		return nil
	})
	m := newMessage(1)
	if err := kept.InsertMessage(m, bytes.NewReader(body(1))); err == nil {
		t.Error("InsertMessage on a finished Tx succeeded")
	}
	flush(t, s)
	wantGone(t, s, m.ID)
}

func testReopen(t *testing.T, open Opener) {
	s, reopen := open(t)
	if reopen == nil {
		t.Skip("backend cannot reopen its store")
	}
	ctx := context.Background()
	kept, claimed, purged := newMessage(1), newMessage(2), newMessage(3)
	claimed.NextAttempt = base.Add(-time.Minute)
	kept.NextAttempt = base.Add(time.Hour)
	insert(t, s, kept, claimed, purged)
	done := *purged
	done.State = store.Delivered
	u := &store.User{Name: "alice", PasswordHash: "$2a$10$abc", Roles: []string{"sender"}, Addresses: []string{"alice@example.com"}, Created: base, Updated: base}
	var got []*store.Message
	update(t, s, func(tx store.Tx) error {
		if err := tx.UpdateMessage(&done, store.Queued); err != nil {
			return err
		}
		if err := tx.DeleteBody(purged.ID); err != nil {
			return err
		}
		var err error
		if got, err = tx.ClaimDue(base, "before-restart", base.Add(time.Hour), 10); err != nil {
			return err
		}
		return tx.PutUser(u)
	})
	if len(got) != 1 || got[0].ID != claimed.ID {
		t.Fatalf("claimed %v; want only %s (one is not due, one delivered)", ids(got), claimed.ID)
	}
	want := map[string]*store.Message{}
	for _, id := range []string{kept.ID, claimed.ID, purged.ID} {
		want[id] = get(t, s, id)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	s2 := reopen(t)
	for id, w := range want {
		if diff := cmp.Diff(w, get(t, s2, id), cmpOpts...); diff != "" {
			t.Errorf("message %s after reopen (-want +got):\n%s", id, diff)
		}
	}
	for i, m := range []*store.Message{kept, claimed} {
		b, err := s2.Body(ctx, m.ID)
		if err != nil || !bytes.Equal(b, body(i)) {
			t.Errorf("body of %s after reopen: %q, %v", m.ID, b, err)
		}
	}
	if _, err := s2.Body(ctx, purged.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted body after reopen: %v; want ErrNotFound", err)
	}
	gu, err := s2.User(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, gu, cmpOpts...); diff != "" {
		t.Errorf("user after reopen (-want +got):\n%s", diff)
	}
	// What the previous instance was sending goes back to the queue.
	var n int
	update(t, s2, func(tx store.Tx) error {
		var err error
		n, err = tx.ReleaseOwner("before-restart", base)
		return err
	})
	if n != 1 {
		t.Errorf("ReleaseOwner after reopen = %d; want 1", n)
	}
}

func testList(t *testing.T, open Opener) {
	s := fresh(t, open)
	type spec struct {
		state      store.State
		user, from string
	}
	specs := []spec{
		{store.Queued, "alice", "alice@example.com"},
		{store.Held, "bob", "bob@example.com"},
		{store.Delivered, "alice", "alias@example.com"},
		{store.Held, "alice", "alice@example.com"},
		{store.Rejected, "", "relay@example.com"},
		{store.Queued, "bob", "bob@example.com"},
		{store.Held, "", "relay@example.com"},
	}
	var all []*store.Message // in Received order
	for i, sp := range specs {
		m := newMessage(i)
		m.State, m.AuthUser, m.From = sp.state, sp.user, sp.from
		all = append(all, m)
	}
	// Insert in scrambled order so that insertion order cannot pass for
	// Received order.
	insert(t, s, all[3], all[0], all[6], all[2], all[5], all[1], all[4])

	pick := func(idx ...int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, all[i].ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    store.Filter
		want []string
	}{
		{"all newest first", store.Filter{}, pick(6, 5, 4, 3, 2, 1, 0)},
		{"all oldest first", store.Filter{Ascending: true}, pick(0, 1, 2, 3, 4, 5, 6)},
		{"held", store.Filter{States: []store.State{store.Held}}, pick(6, 3, 1)},
		{"held or queued ascending", store.Filter{States: []store.State{store.Held, store.Queued}, Ascending: true}, pick(0, 1, 3, 5, 6)},
		{"auth user", store.Filter{AuthUser: "alice"}, pick(3, 2, 0)},
		{"from", store.Filter{From: "relay@example.com"}, pick(6, 4)},
		{"user and state", store.Filter{AuthUser: "alice", States: []store.State{store.Held, store.Delivered}}, pick(3, 2)},
		{"user and from", store.Filter{AuthUser: "alice", From: "alice@example.com", Ascending: true}, pick(0, 3)},
		{"limit", store.Filter{Limit: 2}, pick(6, 5)},
		{"limit ascending", store.Filter{Limit: 3, Ascending: true}, pick(0, 1, 2)},
		{"none", store.Filter{States: []store.State{store.Bounced}}, nil},
		{"unknown user", store.Filter{AuthUser: "carol"}, nil},
	} {
		got, err := s.List(context.Background(), tc.f)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, ids(got), cmpOpts...); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	got, err := s.List(context.Background(), store.Filter{From: "bob@example.com", Ascending: true})
	if err != nil || len(got) != 2 {
		t.Fatalf("List by from: %d, %v", len(got), err)
	}
	if diff := cmp.Diff(all[1], got[0], cmpOpts...); diff != "" {
		t.Errorf("listed record differs (-want +got):\n%s", diff)
	}
}

func testCount(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	counts, err := s.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 0 {
		t.Errorf("Count of an empty store = %v", counts)
	}
	states := []store.State{store.Queued, store.Queued, store.Held, store.Delivered, store.Queued, store.Bounced, store.Held}
	var all []*store.Message
	for i, st := range states {
		m := newMessage(i)
		m.State = st
		all = append(all, m)
	}
	insert(t, s, all...)
	counts, err = s.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[store.State]int{store.Queued: 3, store.Held: 2, store.Delivered: 1, store.Bounced: 1}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("Count (-want +got):\n%s", diff)
	}
}

func testNextDue(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	next := func() time.Time {
		t.Helper()
		n, err := s.NextDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := next(); !n.IsZero() {
		t.Errorf("NextDue of an empty store = %v", n)
	}
	mk := func(n int, st store.State, at time.Time) *store.Message {
		m := newMessage(n)
		m.State, m.NextAttempt = st, at
		return m
	}
	insert(t, s, mk(1, store.Held, base.Add(-time.Hour)), mk(2, store.Delivered, base.Add(-time.Hour)))
	if n := next(); !n.IsZero() {
		t.Errorf("NextDue with only held and delivered messages = %v", n)
	}
	insert(t, s, mk(3, store.Queued, base.Add(10*time.Minute)), mk(4, store.Sending, base.Add(5*time.Minute+7*time.Millisecond)))
	if n := next(); !n.Equal(base.Add(5*time.Minute + 7*time.Millisecond)) {
		t.Errorf("NextDue = %v; want the sending claim's end %v", n, base.Add(5*time.Minute+7*time.Millisecond))
	}
	insert(t, s, mk(5, store.Queued, time.Time{}))
	if n := next(); n.IsZero() || n.After(base) {
		t.Errorf("NextDue with a zero NextAttempt = %v; want non-zero, not after %v", n, base)
	}
}

func testUsers(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	if us, err := s.Users(ctx); err != nil || len(us) != 0 {
		t.Errorf("Users of an empty store = %v, %v", us, err)
	}
	users := []*store.User{
		{Name: "zoe", PasswordHash: "$2a$10$zzz", Roles: []string{"officer", "admin"}, Addresses: []string{"zoe@example.com"}, Lang: "fr", Created: base, Updated: base.Add(time.Second),
			DelegateTo: "otto", DelegateUntil: base.Add(48 * time.Hour)},
		{Name: "alice", PasswordHash: "$2a$10$aaa", Roles: []string{"sender"}, Addresses: []string{"alice@example.com", "sales@example.com"}, Created: base, Updated: base},
		{Name: "bob", PasswordHash: "", Disabled: true},
	}
	update(t, s, func(tx store.Tx) error {
		for _, u := range users {
			if err := tx.PutUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	for _, u := range users {
		got, err := s.User(ctx, u.Name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(u, got, cmpOpts...); diff != "" {
			t.Errorf("User(%s) (-want +got):\n%s", u.Name, diff)
		}
	}
	// Replace by name.
	changed := *users[1]
	changed.Roles = []string{"sender", "officer"}
	changed.Addresses = nil
	changed.Disabled = true
	changed.PasswordHash = "$2a$10$new"
	changed.Updated = base.Add(time.Hour)
	changed.DelegateTo, changed.DelegateUntil = "zoe", base.Add(2*time.Hour)
	update(t, s, func(tx store.Tx) error { return tx.PutUser(&changed) })
	got, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []*store.User{&changed, users[2], users[0]}
	if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
		t.Errorf("Users (-want +got):\n%s", diff)
	}
	if _, err := s.User(ctx, "Alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("User(Alice): %v; want ErrNotFound (names are exact)", err)
	}
}

func testPingAndClose(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ran := false
	err := s.Update(ctx, func(tx store.Tx) error { ran = true; return nil })
	if err == nil || ran {
		t.Errorf("Update after Close: err %v, ran %v; want an error and no run", err, ran)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after Close succeeded")
	}
	if _, err := s.Message(ctx, "x"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Message after Close: %v; want ErrClosed", err)
	}
	if !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update after Close: %v; want ErrClosed", err)
	}
}
