package retention

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/seal"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlite"
)

var marker = []byte("PATIENT-LIST-9683-YAMADA-TARO-MARKER")

func put(t *testing.T, st store.Store, id string, state store.State, updated time.Time) {
	t.Helper()
	m := &store.Message{Envelope: envelope.Envelope{ID: id, Received: updated, From: "a@example.jp",
		Rcpts: []envelope.Rcpt{{Addr: "b@example.com"}}}, State: state, Updated: updated, Status: make([]store.RcptStatus, 1)}
	body := append(append([]byte("Subject: list\r\n\r\n"), marker...), "\r\n"...)
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(body)) }); err != nil {
		t.Fatal(err)
	}
}

func fileContains(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && bytes.Contains(b, needle) {
			hits = append(hits, filepath.Base(f))
		}
	}
	return hits
}

// TestPurge: bodies go per state and retention; records and audit
// entries stay; after the purge the bytes are in no file of the store.
func TestPurge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "eg.db"), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	put(t, st, "delivered-old", store.Delivered, now.Add(-time.Hour))
	put(t, st, "rejected-old", store.Rejected, now.Add(-31*24*time.Hour))
	put(t, st, "rejected-new", store.Rejected, now.Add(-24*time.Hour))
	put(t, st, "held", store.Held, now.Add(-60*24*time.Hour))
	if len(fileContains(t, dir, marker)) == 0 {
		t.Fatal("marker not in the store files before the purge: the test cannot fail")
	}
	p := New(Config{DeliveredBody: 0, DecidedBody: 30 * 24 * time.Hour, Audit: 5 * 365 * 24 * time.Hour, Now: func() time.Time { return now }}, st, zaptest.NewLogger(t))
	bodies, _, err := p.RunOnce(ctx)
	if err != nil || bodies != 2 {
		t.Fatalf("purged %d bodies: %v", bodies, err)
	}
	for id, gone := range map[string]bool{"delivered-old": true, "rejected-old": true, "rejected-new": false, "held": false} {
		_, err := st.Body(ctx, id)
		if gone != errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: body err %v, want gone=%v", id, err, gone)
		}
		if _, err := st.Message(ctx, id); err != nil {
			t.Errorf("%s: record gone: %v", id, err)
		}
	}
	es, _ := st.Audit(ctx, store.AuditFilter{})
	if len(es) != 2 || es[0].Action != "message.purge" {
		t.Errorf("audit: %+v", es)
	}
	// Remove the two bodies that remain legitimately, then check the files.
	st.Update(ctx, func(tx store.Tx) error { tx.DeleteBody("rejected-new"); return tx.DeleteBody("held") })
	if err := st.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if hits := fileContains(t, dir, marker); len(hits) != 0 {
		t.Errorf("purged bytes still in %v", hits)
	}
}

// TestSealedAtRest: with a key file the content never reaches the files.
func TestSealedAtRest(t *testing.T) {
	dir := t.TempDir()
	k, err := seal.New(map[uint32][]byte{1: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(dir, "eg.db"), zaptest.NewLogger(t), sqlite.WithSealer(k))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put(t, st, "m1", store.Held, time.Now())
	st.Checkpoint(context.Background())
	if hits := fileContains(t, dir, marker); len(hits) != 0 {
		t.Errorf("plaintext in %v", hits)
	}
	b, err := st.Body(context.Background(), "m1")
	if err != nil || !bytes.Contains(b, marker) {
		t.Errorf("sealed body does not open: %v", err)
	}
}

func TestAuditPurgeVerifies(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "eg.db"), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 10; i++ {
		st.Update(ctx, func(tx store.Tx) error {
			_, err := audit.Append(tx, start.Add(time.Duration(i)*365*24*time.Hour/2), audit.Event{Actor: "x", Action: "test"})
			return err
		})
	}
	now := start.Add(6 * 365 * 24 * time.Hour)
	p := New(Config{Audit: 5 * 365 * 24 * time.Hour, Now: func() time.Time { return now }}, st, zaptest.NewLogger(t))
	_, n, err := p.RunOnce(ctx)
	if err != nil || n != 2 {
		t.Fatalf("purged %d entries: %v", n, err)
	}
	if v, err := audit.Verify(ctx, st); err != nil || v != 9 { // 8 kept + the purge entry
		t.Errorf("verify after purge: %d %v", v, err)
	}
}

// TestCorrespondentsPurge: correspondents last mailed before the
// retention period are forgotten, with an audit entry; recent ones stay.
func TestCorrespondentsPurge(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "eg.db"), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, c := range []store.Correspondent{
		{Sender: "a@example.jp", Rcpt: "old@gone.example", Domain: "gone.example", First: now.Add(-800 * 24 * time.Hour), Last: now.Add(-731 * 24 * time.Hour), Count: 3},
		{Sender: "a@example.jp", Rcpt: "new@kept.example", Domain: "kept.example", First: now.Add(-800 * 24 * time.Hour), Last: now.Add(-24 * time.Hour), Count: 1},
	} {
		if err := st.Update(ctx, func(tx store.Tx) error { return tx.AddCorrespondent(&c) }); err != nil {
			t.Fatal(err)
		}
	}
	p := New(Config{DeliveredBody: time.Hour, DecidedBody: time.Hour, Audit: 1000 * 24 * time.Hour, Correspondents: 730 * 24 * time.Hour,
		Interval: time.Minute, Now: func() time.Time { return now }}, st, zaptest.NewLogger(t))
	if _, _, err := p.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CorrespondentDomain(ctx, "gone.example"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old correspondent kept: %v", err)
	}
	if _, err := st.Correspondent(ctx, "a@example.jp", "new@kept.example"); err != nil {
		t.Errorf("recent correspondent purged: %v", err)
	}
	es, err := st.Audit(ctx, store.AuditFilter{})
	if err != nil || len(es) != 1 || es[0].Action != "correspondents.purge" || !bytes.Contains(es[0].Data, []byte(`"pairs":1`)) {
		t.Errorf("audit after purge: %v %v", es, err)
	}
	if _, err := audit.Verify(ctx, st); err != nil {
		t.Errorf("audit chain: %v", err)
	}
}
