package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/egressguard/egressguard/internal/store"
)

func testIncidents(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	mk := func(i int, reporter, status string) *store.Incident {
		at := base.Add(time.Duration(i) * time.Minute)
		return &store.Incident{ID: fmt.Sprintf("inc-%02d", i), MsgID: fmt.Sprintf("msg-%d", i%2), Reporter: reporter,
			Status: status, Created: at, Updated: at, Data: []byte(fmt.Sprintf(`{"n":%d,"名前":"山田"}`, i))}
	}
	a, b, c := mk(1, "sato", "open"), mk(2, "suzuki", "open"), mk(3, "sato", "closed")
	update(t, s, func(tx store.Tx) error {
		for _, in := range []*store.Incident{a, b, c} {
			if err := tx.InsertIncident(in); err != nil {
				return err
			}
			if in.Version != 1 {
				return fmt.Errorf("version after insert %d", in.Version)
			}
		}
		return nil
	})
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertIncident(mk(1, "x", "open")) }); !errors.Is(err, store.ErrExists) {
		t.Errorf("insert of a taken ID: %v; want ErrExists", err)
	}
	got, err := s.Incident(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if _, err := s.Incident(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown incident: %v", err)
	}

	// An update with the current version wins once; a stale one conflicts.
	stale := *got
	got.Status, got.Updated, got.Data = "preliminary_sent", base.Add(time.Hour), []byte(`{"n":1,"edited":true}`)
	update(t, s, func(tx store.Tx) error { return tx.UpdateIncident(got) })
	if got.Version != 2 {
		t.Errorf("version after update %d; want 2", got.Version)
	}
	stale.Status = "closed"
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.UpdateIncident(&stale) }); !errors.Is(err, store.ErrConflict) {
		t.Errorf("stale update: %v; want ErrConflict", err)
	}
	missing := mk(9, "x", "open")
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.UpdateIncident(missing) }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of an unknown incident: %v; want ErrNotFound", err)
	}
	again, err := s.Incident(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}

	ids := func(f store.IncidentFilter) []string {
		t.Helper()
		ins, err := s.Incidents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, in := range ins {
			out = append(out, in.ID)
		}
		return out
	}
	for name, tc := range map[string]struct {
		f    store.IncidentFilter
		want []string
	}{
		"all, newest first": {store.IncidentFilter{}, []string{c.ID, b.ID, a.ID}},
		"reporter":          {store.IncidentFilter{Reporter: "sato"}, []string{c.ID, a.ID}},
		"status":            {store.IncidentFilter{Status: []string{"open", "preliminary_sent"}}, []string{b.ID, a.ID}},
		"message":           {store.IncidentFilter{MsgID: "msg-1"}, []string{c.ID, a.ID}},
		"limit":             {store.IncidentFilter{Limit: 1}, []string{c.ID}},
		"none":              {store.IncidentFilter{Reporter: "nobody"}, nil},
	} {
		if diff := cmp.Diff(tc.want, ids(tc.f)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
