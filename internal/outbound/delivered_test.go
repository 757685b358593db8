package outbound

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

// TestDeliveredHook: the hook runs in the transaction that records each
// attempt, with the recipients that attempt delivered to; a failing hook
// neither loses the outcome nor causes a second delivery; bounces (the
// null sender) teach nothing.
func TestDeliveredHook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tempOK := make(chan struct{})
	e.up.SetRcptHandler(func(r string) *smtp.SMTPError {
		switch {
		case strings.HasPrefix(r, "perm@"):
			return fakesmtp.Reply(550, "5.1.1 no such user")
		case strings.HasPrefix(r, "temp@"):
			select {
			case <-tempOK:
				return nil
			default:
				return fakesmtp.Reply(451, "4.2.0 mailbox busy")
			}
		}
		return nil
	})
	var mu sync.Mutex
	var calls [][]string
	fail := map[string]bool{}
	cfg := e.config()
	cfg.Delivered = func(tx store.Tx, m *store.Message, idx []int, at time.Time) error {
		var got []string
		for _, i := range idx {
			got = append(got, m.Rcpts[i].Addr)
		}
		// The outcome being recorded is visible in the same transaction.
		cur, err := tx.Message(m.ID)
		if err != nil {
			return err
		}
		if cur.Updated != at {
			t.Errorf("hook sees updated %v, want the attempt's time %v", cur.Updated, at)
		}
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, got)
		if fail[m.From] {
			return errors.New("deliberate")
		}
		return nil
	}
	q, stop := e.start(cfg)
	m, _ := e.enqueue("sender@example.com", "ok@example.org", "perm@example.org", "temp@example.org")
	q.Kick()
	e.waitDeferred(m.ID, 1)
	close(tempOK)
	e.clock.Advance(2 * time.Minute)
	q.Kick()
	e.waitState(m.ID, store.Delivered)
	mu.Lock()
	if diff := cmp.Diff([][]string{{"ok@example.org"}, {"temp@example.org"}}, calls); diff != "" {
		t.Errorf("hook calls (-want +got):\n%s", diff)
	}
	calls = nil
	fail["broken@example.com"] = true
	mu.Unlock()

	// The DSN for perm@ (null sender) was delivered without a call above.
	m2, _ := e.enqueue("broken@example.com", "x@example.org")
	q.Kick()
	d := e.waitState(m2.ID, store.Delivered)
	if d.Attempts != 1 {
		t.Errorf("attempts %d after a failing hook, want 1", d.Attempts)
	}
	// Stopped, the queue has finished all it started: a second delivery
	// would be there now.
	stop()
	n := 0
	for _, msg := range e.up.Messages() {
		if msg.From == "broken@example.com" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("message delivered %d times", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 {
		t.Errorf("hook calls for the failing case: %v", calls)
	}
}
