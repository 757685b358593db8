package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

// recordTests are the tests of store.RecordTx and store.RecordStore.
var recordTests = []struct {
	name string
	fn   func(*testing.T, Opener)
}{
	{"TxMessage", testTxMessage},
	{"Decisions", testDecisions},
	{"DecisionsSince", testDecisionsSince},
	{"AuditAppend", testAuditAppend},
	{"AuditSeqConflict", testAuditSeqConflict},
	{"AuditRoundTrip", testAuditRoundTrip},
	{"AuditFilter", testAuditFilter},
	{"PurgeAudit", testPurgeAudit},
	{"AuditConcurrent", testAuditConcurrent},
	{"InsertUser", testInsertUser},
	{"Allowlist", testAllowlist},
	{"Sessions", testSessions},
	{"Tokens", testTokens},
	{"Purgeable", testPurgeable},
	{"Correspondents", testCorrespondents},
	{"RecordsAfterUpdate", testRecordsAfterUpdate},
	{"RecordsReopen", testRecordsReopen},
	{"TxUser", testTxUser},
	{"TxUserConcurrent", testTxUserConcurrent},
	{"DeleteUserTokens", testDeleteUserTokens},
	{"ListPeriod", testListPeriod},
}

// appendAudit appends one entry per event, all in one Update, at now.
func appendAudit(t *testing.T, s store.Store, now time.Time, evs ...audit.Event) []*store.AuditEntry {
	t.Helper()
	var out []*store.AuditEntry
	update(t, s, func(tx store.Tx) error {
		out = out[:0]
		for _, ev := range evs {
			e, err := audit.Append(tx, now, ev)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out
}

func auditAll(t *testing.T, s store.Store) []*store.AuditEntry {
	t.Helper()
	es, err := s.Audit(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	return es
}

func seqs(es []*store.AuditEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

func verify(t *testing.T, s store.Store, want int64) {
	t.Helper()
	n, err := audit.Verify(context.Background(), s)
	if err != nil || n != want {
		t.Errorf("audit.Verify = %d, %v; want %d entries and no error", n, err, want)
	}
}

func testTxMessage(t *testing.T, open Opener) {
	s := fresh(t, open)
	old := newMessage(1)
	insert(t, s, old)
	m := newMessage(2)
	update(t, s, func(tx store.Tx) error {
		got, err := tx.Message(old.ID)
		if err != nil {
			return fmt.Errorf("committed message: %w", err)
		}
		if diff := cmp.Diff(old, got, cmpOpts...); diff != "" {
			t.Errorf("Tx.Message of a committed message (-want +got):\n%s", diff)
		}
		if _, err := tx.Message(m.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Tx.Message before insert: %v; want ErrNotFound", err)
		}
		if err := tx.InsertMessage(m, bytes.NewReader(body(2))); err != nil {
			return err
		}
		got, err = tx.Message(m.ID)
		if err != nil {
			return fmt.Errorf("message inserted in this transaction: %w", err)
		}
		if diff := cmp.Diff(m, got, cmpOpts...); diff != "" {
			t.Errorf("Tx.Message of an uncommitted insert (-want +got):\n%s", diff)
		}
		held := *m
		held.State = store.Held
		held.Updated = base.Add(time.Hour)
		if err := tx.UpdateMessage(&held, store.Queued); err != nil {
			return err
		}
		got, err = tx.Message(m.ID)
		if err != nil {
			return err
		}
		if got.State != store.Held || !got.Updated.Equal(held.Updated) {
			t.Errorf("Tx.Message after an uncommitted update: state %s updated %v; want held at %v", got.State, got.Updated, held.Updated)
		}
		return nil
	})
	if got := get(t, s, m.ID); got.State != store.Held {
		t.Errorf("committed state %s; want held", got.State)
	}
}

func testDecisions(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	m, other := newMessage(1), newMessage(2)
	m.State, other.State = store.Held, store.Held
	insert(t, s, m, other)
	ds := []*store.Decision{
		{MsgID: m.ID, Actor: "olga", Kind: store.DecisionApprove, At: base.Add(2 * time.Minute)},
		// Added later with an earlier time: the order is that of adding.
		{MsgID: m.ID, Actor: "oscar", Kind: store.DecisionReject, Comment: "wrong recipient\nsee ticket 42 — ça", NearMiss: true, At: base.Add(time.Minute)},
		{MsgID: other.ID, Actor: "system", Kind: store.DecisionExpire, At: base.Add(3 * time.Minute)},
	}
	update(t, s, func(tx store.Tx) error {
		for i, d := range ds {
			if err := tx.AddDecision(d); err != nil {
				return err
			}
			// Reads in the transaction see what it added.
			got, err := tx.Decisions(d.MsgID)
			if err != nil {
				return err
			}
			var want []*store.Decision
			for _, w := range ds[:i+1] {
				if w.MsgID == d.MsgID {
					want = append(want, w)
				}
			}
			if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
				t.Errorf("Tx.Decisions after adding %d (-want +got):\n%s", i, diff)
			}
		}
		return nil
	})
	for _, tc := range []struct {
		id   string
		want []*store.Decision
	}{
		{m.ID, ds[:2]},
		{other.ID, ds[2:]},
		{"nosuchid", nil},
	} {
		got, err := s.Decisions(ctx, tc.id)
		if err != nil {
			t.Fatalf("Decisions(%s): %v", tc.id, err)
		}
		if diff := cmp.Diff(tc.want, got, cmpOpts...); diff != "" {
			t.Errorf("Decisions(%s) (-want +got):\n%s", tc.id, diff)
		}
	}

	// A decision on an unknown message is refused, and the function may
	// go on after it.
	late := &store.Decision{MsgID: m.ID, Actor: "olga", Kind: store.DecisionApprove, At: base.Add(time.Hour)}
	update(t, s, func(tx store.Tx) error {
		if err := tx.AddDecision(&store.Decision{MsgID: "nosuchid", Actor: "olga", Kind: store.DecisionApprove, At: base}); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("decision on an unknown message: %v; want ErrNotFound", err)
		}
		return tx.AddDecision(late)
	})
	got, err := s.Decisions(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(append(slices.Clone(ds[:2]), late), got, cmpOpts...); diff != "" {
		t.Errorf("Decisions after a recovered error (-want +got):\n%s", diff)
	}
	if got, err := s.Decisions(ctx, "nosuchid"); err != nil || len(got) != 0 {
		t.Errorf("Decisions(nosuchid) = %v, %v", got, err)
	}

	// A failed function's decisions do not persist.
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.AddDecision(&store.Decision{MsgID: other.ID, Actor: "x", Kind: store.DecisionReject, At: base}); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("failing update: %v", err)
	}
	flush(t, s)
	if got, _ := s.Decisions(ctx, other.ID); len(got) != 1 {
		t.Errorf("%d decisions on %s after a failed function; want 1", len(got), other.ID)
	}
}

func testDecisionsSince(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	m := newMessage(1)
	insert(t, s, m)
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	d := func(kind string, min int, actor string) *store.Decision {
		return &store.Decision{MsgID: m.ID, Actor: actor, Kind: kind, At: at(min), NearMiss: kind == store.DecisionReject}
	}
	all := []*store.Decision{
		d(store.DecisionReject, 30, "r30"),
		d(store.DecisionReject, 10, "r10"),
		d(store.DecisionApprove, 20, "a20"),
		d(store.DecisionReject, 20, "r20a"),
		d(store.DecisionReject, 20, "r20b"), // same instant: order of adding
		d(store.DecisionExpire, 40, "system"),
	}
	for _, x := range all { // one Update each, in this order
		update(t, s, func(tx store.Tx) error { return tx.AddDecision(x) })
	}
	actors := func(ds []*store.Decision) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Actor)
		}
		return out
	}
	for _, tc := range []struct {
		kind  string
		since time.Time
		want  []string
	}{
		{store.DecisionReject, time.Time{}, []string{"r10", "r20a", "r20b", "r30"}},
		{store.DecisionReject, at(20), []string{"r20a", "r20b", "r30"}}, // since is inclusive
		{store.DecisionReject, at(20).Add(time.Millisecond), []string{"r30"}},
		{store.DecisionReject, at(31), nil},
		{store.DecisionApprove, at(0), []string{"a20"}},
		{store.DecisionExpire, at(40), []string{"system"}},
		{store.DecisionWithdraw, time.Time{}, nil},
	} {
		got, err := s.DecisionsSince(ctx, tc.kind, tc.since)
		if err != nil {
			t.Fatalf("DecisionsSince(%s, %v): %v", tc.kind, tc.since, err)
		}
		if diff := cmp.Diff(tc.want, actors(got), cmpOpts...); diff != "" {
			t.Errorf("DecisionsSince(%s, %v) (-want +got):\n%s", tc.kind, tc.since, diff)
		}
	}
	got, err := s.DecisionsSince(ctx, store.DecisionReject, at(30))
	if err != nil || len(got) != 1 {
		t.Fatalf("DecisionsSince: %v, %v", got, err)
	}
	if diff := cmp.Diff(all[0], got[0], cmpOpts...); diff != "" {
		t.Errorf("decision round trip (-want +got):\n%s", diff)
	}
}

func testAuditAppend(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	update(t, s, func(tx store.Tx) error {
		if last, err := tx.LastAudit(); err != nil || last != nil {
			return fmt.Errorf("LastAudit of an empty log = %v, %v; want nil, nil", last, err)
		}
		return nil
	})
	// Two entries in one Update: the second links to the first, which
	// LastAudit sees before it is committed.
	var first, second *store.AuditEntry
	update(t, s, func(tx store.Tx) error {
		var err error
		if first, err = audit.Append(tx, base, audit.Event{Actor: "alice", Action: "message.accepted", MsgID: "m1"}); err != nil {
			return err
		}
		last, err := tx.LastAudit()
		if err != nil {
			return err
		}
		if diff := cmp.Diff(first, last, cmpOpts...); diff != "" {
			t.Errorf("LastAudit after an append in the same transaction (-want +got):\n%s", diff)
		}
		second, err = audit.Append(tx, base, audit.Event{Actor: "system", Action: "message.held", MsgID: "m1"})
		return err
	})
	if first.Seq != 1 || second.Seq != 2 {
		t.Fatalf("seqs %d, %d; want 1, 2", first.Seq, second.Seq)
	}
	// Across Updates.
	third := appendAudit(t, s, base.Add(time.Second), audit.Event{Actor: "olga", Action: "hold.approve", MsgID: "m1"})[0]
	if third.Seq != 3 {
		t.Errorf("seq across updates = %d; want 3", third.Seq)
	}
	update(t, s, func(tx store.Tx) error {
		last, err := tx.LastAudit()
		if err != nil {
			return err
		}
		if diff := cmp.Diff(third, last, cmpOpts...); diff != "" {
			t.Errorf("LastAudit of a committed entry (-want +got):\n%s", diff)
		}
		return nil
	})
	// A failed function's entries vanish, and leave no gap.
	err := s.Update(ctx, func(tx store.Tx) error {
		if _, err := audit.Append(tx, base, audit.Event{Actor: "x", Action: "lost"}); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("failing update: %v", err)
	}
	fourth := appendAudit(t, s, base.Add(2*time.Second), audit.Event{Actor: "system", Action: "message.delivered", MsgID: "m1"})[0]
	if fourth.Seq != 4 {
		t.Errorf("seq after a failed append = %d; want 4", fourth.Seq)
	}
	if diff := cmp.Diff([]*store.AuditEntry{first, second, third, fourth}, auditAll(t, s), cmpOpts...); diff != "" {
		t.Errorf("stored chain (-want +got):\n%s", diff)
	}
	verify(t, s, 4)
}

func testAuditSeqConflict(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	entry := func(seq int64, prev []byte) *store.AuditEntry {
		e := &store.AuditEntry{Seq: seq, At: base, Actor: "a", Action: "x", Data: []byte("{}"), Prev: prev}
		e.Hash = audit.Hash(e)
		return e
	}
	zero := make([]byte, 32)
	// The very first entry must be 1.
	for _, seq := range []int64{0, 2, -1} {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertAudit(entry(seq, zero)) })
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("first entry with seq %d: %v; want ErrConflict", seq, err)
		}
	}
	appendAudit(t, s, base, audit.Event{Actor: "a", Action: "one"}, audit.Event{Actor: "a", Action: "two"})
	for _, tc := range []struct {
		name string
		seq  int64
	}{
		{"fork at the head", 2},
		{"fork further back", 1},
		{"gap", 4},
		{"zero", 0},
		{"negative", -3},
	} {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertAudit(entry(tc.seq, zero)) })
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s (seq %d): %v; want ErrConflict", tc.name, tc.seq, err)
		}
	}
	// A function may recover from the conflict, read the head again and
	// append; both updates of this one function commit.
	update(t, s, func(tx store.Tx) error {
		if err := tx.InsertAudit(entry(2, zero)); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("stale seq: %v; want ErrConflict", err)
		}
		_, err := audit.Append(tx, base, audit.Event{Actor: "a", Action: "three"})
		return err
	})
	if got := seqs(auditAll(t, s)); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("seqs %v; want [1 2 3]", got)
	}
	verify(t, s, 3)
}

// testAuditRoundTrip stores entries as given, byte for byte, including
// ones the audit package would never make.
func testAuditRoundTrip(t *testing.T, open Opener) {
	s := fresh(t, open)
	es := []*store.AuditEntry{
		{Seq: 1, At: base.Add(123 * time.Millisecond), Actor: "smtp:[2001:db8::1]", Action: "message.accepted", MsgID: "abc",
			Data: []byte(`{"rcpts":["ça@exemple.fr"],"size":2048}`), Prev: make([]byte, 32), Hash: []byte("\x00\xff\x01 not a real hash")},
		{Seq: 2, At: time.Date(1969, 12, 31, 23, 59, 59, 999e6, time.UTC), Actor: "", Action: "", MsgID: "",
			Data: nil, Prev: []byte{0}, Hash: []byte{}},
		{Seq: 3, At: time.UnixMilli(0).UTC(), Actor: "zoé", Action: "a\tb", Data: []byte("\x00\x01"), Prev: []byte("p"), Hash: []byte("h")},
	}
	update(t, s, func(tx store.Tx) error {
		for _, e := range es {
			if err := tx.InsertAudit(e); err != nil {
				return err
			}
		}
		return nil
	})
	if diff := cmp.Diff(es, auditAll(t, s), cmpOpts...); diff != "" {
		t.Errorf("audit round trip (-want +got):\n%s", diff)
	}
	// Hashes over At must survive the trip even at the epoch.
	for _, e := range auditAll(t, s) {
		if e.At.UnixMilli() != es[e.Seq-1].At.UnixMilli() {
			t.Errorf("entry %d: At %v (ms %d); want ms %d", e.Seq, e.At, e.At.UnixMilli(), es[e.Seq-1].At.UnixMilli())
		}
	}
}

func testAuditFilter(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	type ev struct {
		min          int
		actor, msgID string
	}
	evs := []ev{
		{0, "alice", "m1"}, // seq 1
		{1, "system", "m1"},
		{2, "olga", "m1"},
		{2, "olga", ""},
		{3, "alice", "m2"}, // seq 5
		{4, "system", "m2"},
		{5, "olga", "m2"},
		{6, "admin", ""},
	}
	for _, e := range evs {
		appendAudit(t, s, at(e.min), audit.Event{Actor: e.actor, Action: "test", MsgID: e.msgID})
	}
	for _, tc := range []struct {
		name string
		f    store.AuditFilter
		want []int64
	}{
		{"all", store.AuditFilter{}, []int64{1, 2, 3, 4, 5, 6, 7, 8}},
		{"after", store.AuditFilter{AfterSeq: 5}, []int64{6, 7, 8}},
		{"after the end", store.AuditFilter{AfterSeq: 8}, nil},
		{"limit", store.AuditFilter{Limit: 3}, []int64{1, 2, 3}},
		{"after and limit", store.AuditFilter{AfterSeq: 2, Limit: 2}, []int64{3, 4}},
		{"since inclusive", store.AuditFilter{Since: at(2)}, []int64{3, 4, 5, 6, 7, 8}},
		{"until exclusive", store.AuditFilter{Until: at(2)}, []int64{1, 2}},
		{"since and until", store.AuditFilter{Since: at(2), Until: at(4)}, []int64{3, 4, 5}},
		{"empty range", store.AuditFilter{Since: at(4), Until: at(4)}, nil},
		{"msg", store.AuditFilter{MsgID: "m1"}, []int64{1, 2, 3}},
		{"msg none", store.AuditFilter{MsgID: "m3"}, nil},
		{"actor", store.AuditFilter{Actor: "olga"}, []int64{3, 4, 7}},
		{"actor exact", store.AuditFilter{Actor: "Olga"}, nil},
		{"actor and msg", store.AuditFilter{Actor: "olga", MsgID: "m2"}, []int64{7}},
		{"actor and time", store.AuditFilter{Actor: "system", Since: at(1), Until: at(4)}, []int64{2}},
		{"every field", store.AuditFilter{AfterSeq: 1, Since: at(0), Until: at(6), MsgID: "m2", Actor: "system", Limit: 5}, []int64{6}},
		{"msg and limit", store.AuditFilter{MsgID: "m2", Limit: 2}, []int64{5, 6}},
	} {
		got, err := s.Audit(ctx, tc.f)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, seqs(got), cmpOpts...); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func testPurgeAudit(t *testing.T, open Opener) {
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	for _, tc := range []struct {
		name   string
		times  []int // minutes after base of each entry, in seq order
		before int
		n      int     // entries purged
		left   []int64 // seqs left
	}{
		{"empty log", nil, 10, 0, nil},
		{"none old enough", []int{5, 6, 7}, 5, 0, []int64{1, 2, 3}},
		{"some", []int{1, 2, 3, 4, 5}, 3, 2, []int64{3, 4, 5}},
		{"boundary is kept", []int{1, 2, 3}, 2, 1, []int64{2, 3}},
		{"newest always stays", []int{1, 2, 3}, 100, 2, []int64{3}},
		{"single entry stays", []int{1}, 100, 0, []int64{1}},
		// The clock went back at seq 4: the purge stops at seq 3, the
		// first entry to keep, so no hole opens in the chain.
		{"clock skew", []int{1, 2, 5, 3, 6}, 4, 2, []int64{3, 4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fresh(t, open)
			for i, m := range tc.times {
				appendAudit(t, s, at(m), audit.Event{Actor: "a", Action: fmt.Sprintf("e%d", i+1)})
			}
			var n int
			update(t, s, func(tx store.Tx) error {
				var err error
				n, err = tx.PurgeAudit(at(tc.before))
				return err
			})
			if n != tc.n {
				t.Errorf("PurgeAudit = %d; want %d", n, tc.n)
			}
			if diff := cmp.Diff(tc.left, seqs(auditAll(t, s)), cmpOpts...); diff != "" {
				t.Errorf("entries left (-want +got):\n%s", diff)
			}
			if n == 0 {
				verify(t, s, int64(len(tc.left)))
			}
			// The chain goes on from what is left, with the purge recorded
			// as retention records it: audit.Verify accepts missing oldest
			// entries only when a purge entry names them.
			e := appendAudit(t, s, at(200), audit.Event{Actor: "system", Action: audit.ActionAuditPurge,
				Data: map[string]any{"through_seq": n}})[0]
			if want := int64(len(tc.times) + 1); e.Seq != want {
				t.Errorf("next seq after purge = %d; want %d", e.Seq, want)
			}
			verify(t, s, int64(len(tc.left)+1))
		})
	}

	t.Run("purge and append in one update; failed purge", func(t *testing.T) {
		s := fresh(t, open)
		for i := range 5 {
			appendAudit(t, s, at(i), audit.Event{Actor: "a", Action: "x"})
		}
		err := s.Update(context.Background(), func(tx store.Tx) error {
			if _, err := tx.PurgeAudit(at(100)); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatal(err)
		}
		flush(t, s)
		if got := len(auditAll(t, s)); got != 5 {
			t.Errorf("%d entries after a failed purge; want 5", got)
		}
		// As retention does it: purge, then record the purge.
		update(t, s, func(tx store.Tx) error {
			n, err := tx.PurgeAudit(at(3))
			if err != nil || n != 3 {
				return fmt.Errorf("PurgeAudit = %d, %v; want 3", n, err)
			}
			_, err = audit.Append(tx, at(300), audit.Event{Actor: "system", Action: audit.ActionAuditPurge, Data: map[string]any{"entries": n, "through_seq": n}})
			return err
		})
		if got := seqs(auditAll(t, s)); !slices.Equal(got, []int64{4, 5, 6}) {
			t.Errorf("seqs %v; want [4 5 6]", got)
		}
		verify(t, s, 3)
	})
}

// testAuditConcurrent appends from many goroutines at once, each in its
// own Update: the chain must come out whole, without forks or gaps.
func testAuditConcurrent(t *testing.T, open Opener) {
	s := fresh(t, open)
	const n = 50
	errs := runConcurrently(s, n, func(i int) func(store.Tx) error {
		return func(tx store.Tx) error {
			_, err := audit.Append(tx, base.Add(time.Duration(i)*time.Millisecond), audit.Event{
				Actor: fmt.Sprintf("user%02d", i), Action: "test.concurrent", Data: map[string]any{"i": i}})
			return err
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("append %d: %v", i, err)
		}
	}
	es := auditAll(t, s)
	if len(es) != n {
		t.Fatalf("%d entries; want %d", len(es), n)
	}
	actors := map[string]bool{}
	for i, e := range es {
		if e.Seq != int64(i+1) {
			t.Errorf("entry %d has seq %d", i, e.Seq)
		}
		actors[e.Actor] = true
	}
	if len(actors) != n {
		t.Errorf("%d distinct actors; want %d (an append was lost or doubled)", len(actors), n)
	}
	verify(t, s, n)
}

func testInsertUser(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	u := &store.User{Name: "alice", PasswordHash: "$2a$10$aaa", Roles: []string{"sender"}, Addresses: []string{"alice@example.com"}, Created: base, Updated: base}
	update(t, s, func(tx store.Tx) error { return tx.InsertUser(u) })
	dup := &store.User{Name: "alice", PasswordHash: "$2a$10$evil", Roles: []string{"admin"}}
	err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertUser(dup) })
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second InsertUser: %v; want ErrExists", err)
	}
	bob := &store.User{Name: "bob", Roles: []string{"officer"}, Created: base}
	update(t, s, func(tx store.Tx) error {
		if err := tx.InsertUser(dup); !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("duplicate in a function: %v", err)
		}
		return tx.InsertUser(bob)
	})
	got, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*store.User{u, bob}, got, cmpOpts...); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	// Names are exact: another case is another user.
	update(t, s, func(tx store.Tx) error { return tx.InsertUser(&store.User{Name: "Alice"}) })
}

func testAllowlist(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	gen := func() int64 {
		t.Helper()
		g, err := s.Generation(ctx, "allowlist")
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	entries := func() []*store.AllowEntry {
		t.Helper()
		es, err := s.AllowEntries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	if g := gen(); g != 0 {
		t.Errorf("generation of an empty store = %d; want 0", g)
	}
	if g, err := s.Generation(ctx, "never-used"); err != nil || g != 0 {
		t.Errorf("Generation(never-used) = %d, %v; want 0", g, err)
	}
	if es := entries(); len(es) != 0 {
		t.Errorf("entries of an empty store: %v", es)
	}
	partner := &store.AllowEntry{ID: "e1", Kind: store.AllowSubdomains, Value: "xn--bcher-kva.example", Reason: "partner, contract 7",
		AddedBy: "admin", Added: base, Expires: base.Add(30 * 24 * time.Hour), Senders: []string{"alice@example.com", "@sales.example.com", "bob"}, Source: "store"}
	gmail := &store.AllowEntry{ID: "e2", Kind: store.AllowAddress, Value: "auditor@gmail.com", Reason: "external auditor",
		AddedBy: "admin", Added: base.Add(time.Minute), FreeMail: true, Source: "store"}
	cfg := &store.AllowEntry{ID: "e0", Kind: store.AllowDomain, Value: "example.org", Source: "config"}
	update(t, s, func(tx store.Tx) error {
		for _, e := range []*store.AllowEntry{partner, gmail} {
			if err := tx.PutAllow(e); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.PutAllow(cfg) })
	// Sorted by value.
	if diff := cmp.Diff([]*store.AllowEntry{gmail, cfg, partner}, entries(), cmpOpts...); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if g := gen(); g != 3 {
		t.Errorf("generation after 3 puts = %d; want 3", g)
	}

	// Replace by ID.
	changed := *partner
	changed.Value = "partner.example"
	changed.Senders = nil
	changed.Expires = time.Time{}
	update(t, s, func(tx store.Tx) error { return tx.PutAllow(&changed) })
	if diff := cmp.Diff([]*store.AllowEntry{gmail, cfg, &changed}, entries(), cmpOpts...); diff != "" {
		t.Errorf("entries after replace (-want +got):\n%s", diff)
	}
	if g := gen(); g != 4 {
		t.Errorf("generation after replace = %d; want 4", g)
	}

	update(t, s, func(tx store.Tx) error { return tx.DeleteAllow(gmail.ID) })
	if diff := cmp.Diff([]*store.AllowEntry{cfg, &changed}, entries(), cmpOpts...); diff != "" {
		t.Errorf("entries after delete (-want +got):\n%s", diff)
	}
	if g := gen(); g != 5 {
		t.Errorf("generation after delete = %d; want 5", g)
	}

	// Deleting what is not there changes nothing, not even the
	// generation, and the function may go on.
	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteAllow(gmail.ID); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("DeleteAllow of a deleted entry: %v; want ErrNotFound", err)
		}
		return nil
	})
	if g := gen(); g != 5 {
		t.Errorf("generation after a delete of nothing = %d; want 5", g)
	}
	// A failed function bumps nothing.
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutAllow(gmail); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	flush(t, s)
	if g := gen(); g != 5 {
		t.Errorf("generation after a failed function = %d; want 5", g)
	}
	if len(entries()) != 2 {
		t.Errorf("a failed function's entry persisted")
	}
}

func testSessions(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	sess := func(id, user string, min int) *store.Session {
		return &store.Session{ID: id, User: user, Created: base.Add(time.Duration(min) * time.Minute), LastSeen: base.Add(time.Duration(min+1) * time.Minute)}
	}
	all := []*store.Session{sess("s1", "alice", 0), sess("s2", "alice", 1), sess("s3", "bob", 2)}
	update(t, s, func(tx store.Tx) error {
		for _, x := range all {
			if err := tx.PutSession(x); err != nil {
				return err
			}
		}
		return nil
	})
	check := func(id string, want *store.Session) {
		t.Helper()
		got, err := s.Session(ctx, id)
		if want == nil {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Session(%s) = %v, %v; want ErrNotFound", id, got, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Session(%s): %v", id, err)
		}
		if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
			t.Errorf("Session(%s) (-want +got):\n%s", id, diff)
		}
	}
	for _, x := range all {
		check(x.ID, x)
	}
	check("nosuch", nil)

	// Replace: the console refreshes LastSeen.
	seen := *all[0]
	seen.LastSeen = base.Add(time.Hour)
	update(t, s, func(tx store.Tx) error { return tx.PutSession(&seen) })
	check("s1", &seen)

	update(t, s, func(tx store.Tx) error { return tx.DeleteSession("s2") })
	check("s2", nil)
	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteSession("s2"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("DeleteSession of a deleted session: %v; want ErrNotFound", err)
		}
		return nil
	})

	update(t, s, func(tx store.Tx) error { return tx.PutSession(sess("s4", "alice", 3)) })
	update(t, s, func(tx store.Tx) error { return tx.DeleteUserSessions("alice") })
	check("s1", nil)
	check("s4", nil)
	check("s3", all[2])
	update(t, s, func(tx store.Tx) error { return tx.DeleteUserSessions("nobody") })
	update(t, s, func(tx store.Tx) error { return tx.DeleteUserSessions("Bob") }) // names are exact
	check("s3", all[2])
}

func testTokens(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	tok := func(id, user string, min int) *store.Token {
		return &store.Token{ID: id, User: user, Name: "cli on " + id, Created: base.Add(time.Duration(min) * time.Minute)}
	}
	t3 := tok("t3", "alice", 0)
	t1 := tok("t1", "alice", 5)
	t1.Expires = base.Add(24 * time.Hour)
	t2 := tok("t2", "bob", 1)
	t0 := tok("t0", "alice", 5) // same Created as t1: ID decides
	update(t, s, func(tx store.Tx) error {
		for _, x := range []*store.Token{t1, t2, t3, t0} {
			if err := tx.PutToken(x); err != nil {
				return err
			}
		}
		return nil
	})
	list := func(user string) []*store.Token {
		t.Helper()
		ts, err := s.Tokens(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	if diff := cmp.Diff([]*store.Token{t3, t0, t1}, list("alice"), cmpOpts...); diff != "" {
		t.Errorf("Tokens(alice) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*store.Token{t3, t2, t0, t1}, list(""), cmpOpts...); diff != "" {
		t.Errorf("Tokens(\"\") (-want +got):\n%s", diff)
	}
	if got := list("carol"); len(got) != 0 {
		t.Errorf("Tokens(carol) = %v", got)
	}
	got, err := s.Token(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(t1, got, cmpOpts...); diff != "" {
		t.Errorf("Token(t1) (-want +got):\n%s", diff)
	}
	if _, err := s.Token(ctx, "nosuch"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Token(nosuch): %v; want ErrNotFound", err)
	}
	renamed := *t2
	renamed.Name = "renamed"
	update(t, s, func(tx store.Tx) error { return tx.PutToken(&renamed) })
	if got, err := s.Token(ctx, "t2"); err != nil || got.Name != "renamed" {
		t.Errorf("Token(t2) after replace: %v, %v", got, err)
	}
	update(t, s, func(tx store.Tx) error { return tx.DeleteToken("t1") })
	if _, err := s.Token(ctx, "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Token(t1) after delete: %v; want ErrNotFound", err)
	}
	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteToken("t1"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("DeleteToken of a deleted token: %v; want ErrNotFound", err)
		}
		return nil
	})
	if diff := cmp.Diff([]*store.Token{t3, t0}, list("alice"), cmpOpts...); diff != "" {
		t.Errorf("Tokens(alice) after delete (-want +got):\n%s", diff)
	}
}

func testPurgeable(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	type spec struct {
		name     string
		state    store.State
		updated  int
		bodyGone bool
	}
	specs := []spec{
		{"d10", store.Delivered, 10, false},
		{"d5", store.Delivered, 5, false},
		{"d20", store.Delivered, 20, false},
		{"dGone", store.Delivered, 1, true},
		{"b7", store.Bounced, 7, false},
		{"r3", store.Rejected, 3, false},
		{"x4", store.Expired, 4, false},
		{"w30", store.Withdrawn, 30, false},
		{"held", store.Held, 0, false},
		{"queued", store.Queued, 0, false},
	}
	byName := map[string]*store.Message{}
	var ms []*store.Message
	for i, sp := range specs {
		m := newMessage(i)
		m.State, m.Updated = sp.state, at(sp.updated)
		byName[sp.name] = m
		ms = append(ms, m)
	}
	insert(t, s, ms...)
	update(t, s, func(tx store.Tx) error {
		for _, sp := range specs {
			if sp.bodyGone {
				if err := tx.DeleteBody(byName[sp.name].ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	delivered := []store.State{store.Delivered, store.Bounced}
	decided := []store.State{store.Rejected, store.Expired, store.Withdrawn}
	for _, tc := range []struct {
		name   string
		states []store.State
		before time.Time
		limit  int
		want   []string
	}{
		{"delivered, all", delivered, at(100), 100, []string{"d5", "b7", "d10", "d20"}},
		{"before is exclusive", delivered, at(10), 100, []string{"d5", "b7"}},
		{"limit takes the oldest", delivered, at(100), 2, []string{"d5", "b7"}},
		{"decided", decided, at(100), 100, []string{"r3", "x4", "w30"}},
		{"one state", []store.State{store.Expired}, at(100), 100, []string{"x4"}},
		{"held never unless asked", []store.State{store.Held}, at(100), 100, []string{"held"}},
		{"nothing old enough", decided, at(3), 100, nil},
		{"no states", nil, at(100), 100, nil},
		{"zero limit", delivered, at(100), 0, nil},
	} {
		got, err := s.Purgeable(ctx, tc.states, tc.before, tc.limit)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var want []string
		for _, n := range tc.want {
			want = append(want, byName[n].ID)
		}
		if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	// Purging as retention does empties the list.
	ids, err := s.Purgeable(ctx, delivered, at(100), 100)
	if err != nil {
		t.Fatal(err)
	}
	update(t, s, func(tx store.Tx) error {
		for _, id := range ids {
			if err := tx.DeleteBody(id); err != nil {
				return err
			}
		}
		return nil
	})
	if got, err := s.Purgeable(ctx, delivered, at(100), 100); err != nil || len(got) != 0 {
		t.Errorf("Purgeable after purging = %v, %v; want none", got, err)
	}
}

// testRecordsAfterUpdate: a Tx kept past its function writes nothing.
func testRecordsAfterUpdate(t *testing.T, open Opener) {
	s := fresh(t, open)
	m := newMessage(1)
	insert(t, s, m)
	var kept store.Tx
	update(t, s, func(tx store.Tx) error {
		kept = tx
		return nil
	})
	for name, call := range map[string]func() error{
		"Message": func() error { _, err := kept.Message(m.ID); return err },
		"AddDecision": func() error {
			return kept.AddDecision(&store.Decision{MsgID: m.ID, Actor: "x", Kind: "approve", At: base})
		},
		"LastAudit": func() error { _, err := kept.LastAudit(); return err },
		"InsertAudit": func() error {
			return kept.InsertAudit(&store.AuditEntry{Seq: 1, At: base, Actor: "x", Action: "y", Data: []byte("{}"), Prev: make([]byte, 32), Hash: make([]byte, 32)})
		},
		"PutAllow": func() error {
			return kept.PutAllow(&store.AllowEntry{ID: "a", Kind: store.AllowDomain, Value: "example.com"})
		},
		"InsertUser": func() error { return kept.InsertUser(&store.User{Name: "mallory"}) },
		"PutSession": func() error { return kept.PutSession(&store.Session{ID: "s", User: "mallory"}) },
		"PutToken":   func() error { return kept.PutToken(&store.Token{ID: "t", User: "mallory"}) },
	} {
		if err := call(); err == nil {
			t.Errorf("%s on a finished Tx succeeded", name)
		}
	}
	flush(t, s)
	ctx := context.Background()
	if ds, _ := s.Decisions(ctx, m.ID); len(ds) != 0 {
		t.Error("decision written through a finished Tx")
	}
	if es := auditAll(t, s); len(es) != 0 {
		t.Error("audit entry written through a finished Tx")
	}
	if es, _ := s.AllowEntries(ctx); len(es) != 0 {
		t.Error("allow entry written through a finished Tx")
	}
	if _, err := s.User(ctx, "mallory"); !errors.Is(err, store.ErrNotFound) {
		t.Error("user written through a finished Tx")
	}
	if _, err := s.Session(ctx, "s"); !errors.Is(err, store.ErrNotFound) {
		t.Error("session written through a finished Tx")
	}
	if _, err := s.Token(ctx, "t"); !errors.Is(err, store.ErrNotFound) {
		t.Error("token written through a finished Tx")
	}
}

// testRecordsReopen: the records survive a restart, and the audit chain
// continues where it stopped.
func testRecordsReopen(t *testing.T, open Opener) {
	s, reopen := open(t)
	if reopen == nil {
		t.Skip("backend cannot reopen its store")
	}
	ctx := context.Background()
	m := newMessage(1)
	m.State = store.Held
	insert(t, s, m)
	d := &store.Decision{MsgID: m.ID, Actor: "olga", Kind: store.DecisionApprove, At: base}
	e := &store.AllowEntry{ID: "e1", Kind: store.AllowDomain, Value: "example.net", AddedBy: "admin", Added: base, Source: "store"}
	sess := &store.Session{ID: "s1", User: "olga", Created: base, LastSeen: base}
	tok := &store.Token{ID: "t1", User: "olga", Name: "cli", Created: base}
	update(t, s, func(tx store.Tx) error {
		if err := tx.AddDecision(d); err != nil {
			return err
		}
		if err := tx.PutAllow(e); err != nil {
			return err
		}
		if err := tx.PutSession(sess); err != nil {
			return err
		}
		return tx.PutToken(tok)
	})
	appendAudit(t, s, base, audit.Event{Actor: "olga", Action: "hold.approve", MsgID: m.ID}, audit.Event{Actor: "system", Action: "x"})
	want := auditAll(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := reopen(t)
	if diff := cmp.Diff(want, auditAll(t, s2), cmpOpts...); diff != "" {
		t.Errorf("audit after reopen (-want +got):\n%s", diff)
	}
	if e3 := appendAudit(t, s2, base.Add(time.Second), audit.Event{Actor: "system", Action: "start"})[0]; e3.Seq != 3 {
		t.Errorf("first seq after reopen = %d; want 3", e3.Seq)
	}
	verify(t, s2, 3)
	if ds, err := s2.Decisions(ctx, m.ID); err != nil || len(ds) != 1 || !cmp.Equal(d, ds[0], cmpOpts...) {
		t.Errorf("decisions after reopen: %v, %v", ds, err)
	}
	if es, err := s2.AllowEntries(ctx); err != nil || len(es) != 1 || !cmp.Equal(e, es[0], cmpOpts...) {
		t.Errorf("allowlist after reopen: %v, %v", es, err)
	}
	if g, err := s2.Generation(ctx, "allowlist"); err != nil || g != 1 {
		t.Errorf("generation after reopen = %d, %v; want 1", g, err)
	}
	if got, err := s2.Session(ctx, "s1"); err != nil || !cmp.Equal(sess, got, cmpOpts...) {
		t.Errorf("session after reopen: %v, %v", got, err)
	}
	if got, err := s2.Token(ctx, "t1"); err != nil || !cmp.Equal(tok, got, cmpOpts...) {
		t.Errorf("token after reopen: %v, %v", got, err)
	}
}
