package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/egressguard/egressguard/internal/store"
)

// waitingTests are the tests of mail that waits (delayed, unconfirmed),
// per-recipient state of split messages, and shared secrets.
var waitingTests = []struct {
	name string
	fn   func(*testing.T, Opener)
}{
	{"DelayedDue", testDelayedDue},
	{"SplitRecipientState", testSplitRecipientState},
	{"InitSecret", testInitSecret},
}

// Delayed mail is due at its NextAttempt, never before; unconfirmed mail
// is never due.
func testDelayedDue(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	delayed := newMessage(1)
	delayed.State, delayed.NextAttempt = store.Delayed, base.Add(5*time.Minute)
	unconf := newMessage(2)
	unconf.State, unconf.NextAttempt, unconf.HoldExpires = store.Unconfirmed, base.Add(-time.Hour), base.Add(time.Hour)
	insert(t, s, delayed, unconf)

	next, err := s.NextDue(ctx)
	if err != nil || !next.Equal(delayed.NextAttempt) {
		t.Errorf("NextDue = %v, %v; want the delayed message's release %v", next, err, delayed.NextAttempt)
	}
	if got := claim(t, s, base.Add(5*time.Minute-time.Millisecond), "a", base.Add(time.Hour), 10); len(got) != 0 {
		t.Errorf("claimed %v a millisecond before the release time", ids(got))
	}
	got := claim(t, s, base.Add(5*time.Minute), "a", base.Add(100*time.Hour), 10)
	if len(got) != 1 || got[0].ID != delayed.ID || got[0].State != store.Sending || got[0].Attempts != 1 {
		t.Fatalf("claim at the release time = %+v; want the delayed message, sending, attempt 1", got)
	}
	if got := claim(t, s, base.Add(48*time.Hour), "b", base.Add(49*time.Hour), 10); len(got) != 0 {
		t.Errorf("claimed %v; unconfirmed mail must never be due", ids(got))
	}
	if m := get(t, s, unconf.ID); m.State != store.Unconfirmed {
		t.Errorf("unconfirmed message is %s", m.State)
	}
	// A delayed message that is sent now becomes queued, due at once.
	d2 := newMessage(3)
	d2.State, d2.NextAttempt = store.Delayed, base.Add(time.Hour)
	insert(t, s, d2)
	d2.State, d2.NextAttempt = store.Queued, base
	update(t, s, func(tx store.Tx) error { return tx.UpdateMessage(d2, store.Delayed) })
	if got := claim(t, s, base, "c", base.Add(time.Hour), 10); len(got) != 1 || got[0].ID != d2.ID {
		t.Errorf("claim after send-now = %v; want %s", ids(got), d2.ID)
	}
	for _, st := range []store.State{store.Delayed, store.Unconfirmed, store.Held} {
		if !st.Waiting() || st.Final() {
			t.Errorf("%s: Waiting %v Final %v", st, st.Waiting(), st.Final())
		}
	}
}

// Each recipient's status, including the part it was split into, reads
// back as written, through InsertMessage and UpdateMessage alike.
func testSplitRecipientState(t *testing.T, open Opener) {
	s := fresh(t, open)
	m := newMessage(1)
	m.State = store.Held
	m.Status = []store.RcptStatus{{Done: true, Part: m.ID + "-1", Detail: "sent at once"}, {}}
	insert(t, s, m)
	if diff := cmp.Diff(m.Status, get(t, s, m.ID).Status, cmpOpts...); diff != "" {
		t.Errorf("status after insert (-want +got):\n%s", diff)
	}
	m.State = store.Queued
	m.Status[1] = store.RcptStatus{Done: true, Code: 250, Detail: "2.0.0 ok"}
	update(t, s, func(tx store.Tx) error { return tx.UpdateMessage(m, store.Held) })
	if diff := cmp.Diff(m.Status, get(t, s, m.ID).Status, cmpOpts...); diff != "" {
		t.Errorf("status after update (-want +got):\n%s", diff)
	}
}

// The first InitSecret of a name stores it; later ones, with any value,
// get the stored one back, also after a reopen.
func testInitSecret(t *testing.T, open Opener) {
	s, reopen := open(t)
	var got1, got2 []byte
	update(t, s, func(tx store.Tx) error {
		var err error
		got1, err = tx.InitSecret("link-key", []byte("first"))
		return err
	})
	update(t, s, func(tx store.Tx) error {
		var err error
		got2, err = tx.InitSecret("link-key", []byte("second"))
		return err
	})
	if string(got1) != "first" || string(got2) != "first" {
		t.Errorf("InitSecret = %q, %q; want the first value both times", got1, got2)
	}
	var other []byte
	update(t, s, func(tx store.Tx) error {
		var err error
		other, err = tx.InitSecret("other", []byte{0, 1, 2})
		return err
	})
	if !bytes.Equal(other, []byte{0, 1, 2}) {
		t.Errorf("second name: %q", other)
	}
	if reopen == nil {
		return
	}
	s.Close()
	s = reopen(t)
	update(t, s, func(tx store.Tx) error {
		var err error
		got1, err = tx.InitSecret("link-key", []byte("third"))
		return err
	})
	if string(got1) != "first" {
		t.Errorf("after reopen: %q", got1)
	}
}
