package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

var errInjected = errors.New("injected audit failure")

// auditFailStore fails every audit insert while armed, inside the same
// transaction as the action being recorded.
type auditFailStore struct {
	store.Store
	armed atomic.Bool
}

type auditFailTx struct {
	store.Tx
	s *auditFailStore
}

func (t auditFailTx) InsertAudit(e *store.AuditEntry) error {
	if t.s.armed.Load() {
		return errInjected
	}
	return t.Tx.InsertAudit(e)
}

func (s *auditFailStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(auditFailTx{tx, s}) })
}

// TestNoActionWithoutAudit: when the audit entry cannot be written, the
// action it records does not happen either — an approval leaves the
// message held, an acceptance is answered 4xx and stores nothing.
func TestNoActionWithoutAudit(t *testing.T) {
	up := fakesmtp.Start(t)
	cfg := testConfig(t, up.Addr(), "")
	real, err := OpenStore(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	fs := &auditFailStore{Store: real}
	a := startApp(t, cfg, WithStore(fs))
	ctx := context.Background()
	id, _ := holdOne(t, a, "audit-fail")

	fs.armed.Store(true)
	if _, err := a.Hold.Approve(ctx, user(t, a, "olga"), id, "test"); !errors.Is(err, errInjected) {
		t.Fatalf("approve with a failing audit: %v", err)
	}
	m, _ := a.Store.Message(ctx, id)
	ds, _ := a.Store.Decisions(ctx, id)
	if m.State != store.Held || len(ds) != 0 {
		t.Fatalf("action without its audit entry: state %s, %d decisions", m.State, len(ds))
	}
	before, _ := a.Store.Count(ctx)
	_, err = send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"bob@example.jp"}, msg("nostore", "x"))
	if err == nil {
		t.Fatal("message accepted although its audit entry failed")
	}
	after, _ := a.Store.Count(ctx)
	if before[store.Queued]+before[store.Sending]+before[store.Delivered] != after[store.Queued]+after[store.Sending]+after[store.Delivered] {
		t.Errorf("a message was stored without its audit entry: %v → %v", before, after)
	}

	fs.armed.Store(false)
	if out, err := a.Hold.Approve(ctx, user(t, a, "olga"), id, "test"); err != nil || !out.Released {
		t.Fatalf("approve after recovery: %+v %v", out, err)
	}
	waitState(t, a.Store, id, store.Delivered)
}

// TestWebhook: decisions are posted as JSON to the configured webhook.
func TestWebhook(t *testing.T) {
	var mu sync.Mutex
	var events []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}))
	defer hook.Close()
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), `
[notify]
webhook_url = "`+hook.URL+`"
`))
	id, _ := holdOne(t, a, "hook")
	if _, err := a.Hold.Approve(context.Background(), user(t, a, "olga"), id, "test"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(events)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no webhook post")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if events[0]["event"] != "hold.approve" || events[0]["msg_id"] != id || events[0]["actor"] != "olga" {
		t.Errorf("event %v", events[0])
	}
}
