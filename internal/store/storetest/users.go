package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/egressguard/egressguard/internal/store"
)

// testTxUser: Tx.User reads the stored record, sees the transaction's
// own earlier writes, and tells an unknown name by ErrNotFound without
// breaking the transaction.
func testTxUser(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	alice := &store.User{Name: "alice", PasswordHash: "$2a$10$aaa", Roles: []string{"sender", "officer"},
		Addresses: []string{"alice@example.com"}, Lang: "ja", Created: base, Updated: base}
	update(t, s, func(tx store.Tx) error { return tx.InsertUser(alice) })
	update(t, s, func(tx store.Tx) error {
		got, err := tx.User("alice")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(alice, got, cmpOpts...); diff != "" {
			return fmt.Errorf("Tx.User(alice) (-want +got):\n%s", diff)
		}
		if _, err := tx.User("Alice"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("Tx.User(Alice): %v; want ErrNotFound (names are exact)", err)
		}
		got.Disabled = true
		got.Updated = base.Add(time.Minute)
		if err := tx.PutUser(got); err != nil {
			return err
		}
		again, err := tx.User("alice")
		if err != nil {
			return err
		}
		if !again.Disabled {
			return errors.New("Tx.User does not see the transaction's own PutUser")
		}
		// The transaction is still usable after ErrNotFound.
		return tx.InsertUser(&store.User{Name: "bob", Created: base})
	})
	if u, err := s.User(ctx, "alice"); err != nil || !u.Disabled {
		t.Errorf("User(alice) after the update: %+v, %v", u, err)
	}
	if _, err := s.User(ctx, "bob"); err != nil {
		t.Errorf("User(bob): %v (the write after ErrNotFound was lost)", err)
	}
}

// testTxUserConcurrent: read-modify-write of one user in many concurrent
// transactions loses no change. Each adds its own address; all must be
// there at the end.
func testTxUserConcurrent(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	update(t, s, func(tx store.Tx) error { return tx.InsertUser(&store.User{Name: "alice", Created: base}) })
	const n = 40
	errs := runConcurrently(s, n, func(i int) func(store.Tx) error {
		return func(tx store.Tx) error {
			u, err := tx.User("alice")
			if err != nil {
				return err
			}
			u.Addresses = append(u.Addresses, fmt.Sprintf("a%02d@example.com", i))
			if i%2 == 0 {
				u.Lang = "en"
			} else {
				u.Disabled = true
			}
			return tx.PutUser(u)
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	u, err := s.User(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Addresses) != n || !u.Disabled || u.Lang != "en" {
		slices.Sort(u.Addresses)
		t.Errorf("after %d concurrent read-modify-writes: %d addresses, disabled %v, lang %q; want every change kept\n%v",
			n, len(u.Addresses), u.Disabled, u.Lang, u.Addresses)
	}
}

func testDeleteUserTokens(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	update(t, s, func(tx store.Tx) error {
		for i, user := range []string{"alice", "bob", "alice", "Alice"} {
			if err := tx.PutToken(&store.Token{ID: fmt.Sprintf("t%d", i), User: user, Name: "n", Created: base}); err != nil {
				return err
			}
		}
		return nil
	})
	var n int
	update(t, s, func(tx store.Tx) (err error) {
		n, err = tx.DeleteUserTokens("alice")
		return err
	})
	if n != 2 {
		t.Errorf("DeleteUserTokens(alice) = %d; want 2", n)
	}
	for id, want := range map[string]bool{"t0": false, "t1": true, "t2": false, "t3": true} {
		_, err := s.Token(ctx, id)
		if got := err == nil; got != want {
			t.Errorf("token %s present = %v (%v); want %v", id, got, err, want)
		}
	}
	update(t, s, func(tx store.Tx) (err error) {
		n, err = tx.DeleteUserTokens("nobody")
		return err
	})
	if n != 0 {
		t.Errorf("DeleteUserTokens(nobody) = %d", n)
	}
}

// testListPeriod: Since and Before select by Received within the states,
// whatever lies outside the period, and more messages than the default
// limit outside it do not push the period's messages out.
func testListPeriod(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	var old, in, after []*store.Message
	for i := range 1100 {
		m := newMessage(i)
		m.State = store.Held
		old = append(old, m)
	}
	for i := 2000; i < 2005; i++ {
		m := newMessage(i)
		m.State = store.Held
		in = append(in, m)
	}
	q := newMessage(2002)
	q.ID += "-queued"
	q.State = store.Queued
	for i := 2005; i < 2008; i++ {
		m := newMessage(i)
		m.State = store.Held
		after = append(after, m)
	}
	insert(t, s, slices.Concat(old, in, after, []*store.Message{q})...)
	since := base.Add(2000 * time.Second) // newMessage(2000).Received: inclusive
	before := base.Add(2005 * time.Second)
	got, err := s.List(ctx, store.Filter{States: []store.State{store.Held}, Since: since, Before: before, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids(in), ids(got)); diff != "" {
		t.Errorf("held in the period (-want +got):\n%s", diff)
	}
	got, err = s.List(ctx, store.Filter{Since: before})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{after[2].ID, after[1].ID, after[0].ID}, ids(got)); diff != "" {
		t.Errorf("since only, newest first (-want +got):\n%s", diff)
	}
	got, err = s.List(ctx, store.Filter{Before: base.Add(2 * time.Second), Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{old[0].ID, old[1].ID}, ids(got)); diff != "" {
		t.Errorf("before only (-want +got):\n%s", diff)
	}
}
