package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/egressguard/egressguard/internal/store"
)

// testCorrespondents: pairs and domains merge (earliest first, latest
// last, counts added), read back per pair, per domain and as a domain
// list with a minimum count, are purged by their last delivery, and a bad
// record writes nothing and leaves the transaction usable.
func testCorrespondents(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	t0 := base
	add := func(cs ...store.Correspondent) {
		t.Helper()
		update(t, s, func(tx store.Tx) error {
			for i := range cs {
				if err := tx.AddCorrespondent(&cs[i]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if _, err := s.Correspondent(ctx, "a@example.com", "x@partner.example"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Correspondent on an empty store: %v, want ErrNotFound", err)
	}
	if _, err := s.CorrespondentDomain(ctx, "partner.example"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CorrespondentDomain on an empty store: %v, want ErrNotFound", err)
	}
	if ds, err := s.CorrespondentDomains(ctx, 0); err != nil || len(ds) != 0 {
		t.Errorf("CorrespondentDomains on an empty store: %v, %v", ds, err)
	}
	add(
		store.Correspondent{Sender: "a@example.com", Rcpt: "x@partner.example", Domain: "partner.example", First: t0.Add(time.Hour), Last: t0.Add(time.Hour), Count: 1},
		store.Correspondent{Sender: "b@example.com", Rcpt: "x@partner.example", Domain: "partner.example", First: t0, Last: t0.Add(2 * time.Hour), Count: 3},
		store.Correspondent{Sender: "a@example.com", Rcpt: "y@xn--bcher-kva.example", Domain: "xn--bcher-kva.example", First: t0, Last: t0, Count: 1},
		store.Correspondent{Sender: "", Rcpt: "Z@partner.example", Domain: "partner.example", First: t0, Last: t0, Count: 1},
	)
	// The same pair again: an earlier first, a later last, more deliveries.
	add(store.Correspondent{Sender: "a@example.com", Rcpt: "x@partner.example", Domain: "partner.example", First: t0.Add(-time.Hour), Last: t0.Add(3 * time.Hour), Count: 2})
	add(store.Correspondent{Sender: "a@example.com", Rcpt: "x@partner.example", Domain: "partner.example", First: t0.Add(time.Minute), Last: t0.Add(time.Minute), Count: 1})

	c, err := s.Correspondent(ctx, "a@example.com", "x@partner.example")
	if err != nil {
		t.Fatal(err)
	}
	want := &store.Correspondent{Sender: "a@example.com", Rcpt: "x@partner.example", Domain: "partner.example", First: t0.Add(-time.Hour), Last: t0.Add(3 * time.Hour), Count: 4}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("merged pair (-want +got):\n%s", diff)
	}
	if _, err := s.Correspondent(ctx, "A@example.com", "x@partner.example"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("addresses are compared exactly: %v", err)
	}
	d, err := s.CorrespondentDomain(ctx, "partner.example")
	if err != nil {
		t.Fatal(err)
	}
	wantD := &store.CorrespondentDomain{Domain: "partner.example", First: t0.Add(-time.Hour), Last: t0.Add(3 * time.Hour), Count: 8}
	if diff := cmp.Diff(wantD, d); diff != "" {
		t.Errorf("domain (-want +got):\n%s", diff)
	}
	ds, err := s.CorrespondentDomains(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*store.CorrespondentDomain{wantD}, ds); diff != "" {
		t.Errorf("domains with 2 or more deliveries (-want +got):\n%s", diff)
	}
	if ds, _ := s.CorrespondentDomains(ctx, 1); len(ds) != 2 || ds[0].Domain != "partner.example" || ds[1].Domain != "xn--bcher-kva.example" {
		t.Errorf("all domains, by name: %v", ds)
	}
	cs, err := s.Correspondents(ctx, "partner.example")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, c.Rcpt+" from "+c.Sender)
	}
	if diff := cmp.Diff([]string{"Z@partner.example from ", "x@partner.example from a@example.com", "x@partner.example from b@example.com"}, got); diff != "" {
		t.Errorf("pairs of a domain (-want +got):\n%s", diff)
	}

	// A bad record is refused without breaking the transaction.
	update(t, s, func(tx store.Tx) error {
		for _, bad := range []store.Correspondent{
			{Sender: "a@example.com", Rcpt: "", Domain: "x.example", First: t0, Last: t0, Count: 1},
			{Sender: "a@example.com", Rcpt: "q@x.example", Domain: "x.example", First: t0, Last: t0, Count: 0},
			{Sender: "a@example.com", Rcpt: "q@x.example", Domain: "x.example", First: t0, Last: t0.Add(-time.Second), Count: 1},
			{Sender: "a\x00@example.com", Rcpt: "q@x.example", Domain: "x.example", First: t0, Last: t0, Count: 1},
			{Sender: "a\xff@example.com", Rcpt: "q@x.example", Domain: "x.example", First: t0, Last: t0, Count: 1},
		} {
			if err := tx.AddCorrespondent(&bad); err == nil {
				t.Errorf("AddCorrespondent(%+v) succeeded", bad)
			}
		}
		return tx.AddCorrespondent(&store.Correspondent{Sender: "c@example.com", Rcpt: "q@x.example", Domain: "x.example", First: t0, Last: t0.Add(4 * time.Hour), Count: 1})
	})
	if _, err := s.Correspondent(ctx, "c@example.com", "q@x.example"); err != nil {
		t.Errorf("good record after bad ones: %v", err)
	}

	// Purge: what was last delivered before t0+90m goes, pairs and domains.
	var n int
	update(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.PurgeCorrespondents(t0.Add(90 * time.Minute))
		return err
	})
	if n != 2 {
		t.Errorf("purged %d pairs, want 2 (the IDN pair and the null sender's)", n)
	}
	if _, err := s.CorrespondentDomain(ctx, "xn--bcher-kva.example"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("purged domain still there: %v", err)
	}
	if _, err := s.Correspondent(ctx, "b@example.com", "x@partner.example"); err != nil {
		t.Errorf("recent pair purged: %v", err)
	}
	if ds, _ := s.CorrespondentDomains(ctx, 0); len(ds) != 2 {
		t.Errorf("domains after purge: %v", ds)
	}
	// A failed function's correspondents are not recorded.
	boom := errors.New("boom")
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.AddCorrespondent(&store.Correspondent{Sender: "d@example.com", Rcpt: "r@rolled.example", Domain: "rolled.example", First: t0, Last: t0, Count: 1}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	if _, err := s.CorrespondentDomain(ctx, "rolled.example"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rolled-back domain recorded: %v", err)
	}
}
