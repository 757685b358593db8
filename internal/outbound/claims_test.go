package outbound

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/egressguard/egressguard/internal/store"
)

func (q *Queue) inFlight() int {
	q.fl.mu.Lock()
	defer q.fl.mu.Unlock()
	return len(q.fl.m)
}

// An attempt that outlasts its lease keeps its claim: nobody else can
// claim the message meanwhile, and it is delivered once.
func TestClaimRenewedWhileSending(t *testing.T) {
	e := newEnv(t)
	e.up.SetDataDelay(5 * time.Second)
	cfg := e.config()
	cfg.Now = time.Now
	cfg.Lease = 3 * time.Second
	e.start(cfg)
	m, body := e.message("a@example.jp", "b@example.net")
	m.Received, m.Updated, m.NextAttempt = time.Now(), time.Now(), time.Now()
	e.insert(m, body)
	e.kick()
	e.waitFor(m.ID, "claimed", func(m *store.Message) bool { return m.State == store.Sending })
	time.Sleep(4500 * time.Millisecond) // past the first lease's end
	// Without renewal the claim would have ended, and this very queue
	// would have claimed the message again for a second, concurrent
	// attempt.
	if got := e.get(m.ID); got.State != store.Sending || got.Attempts != 1 || !got.NextAttempt.After(time.Now()) {
		t.Fatalf("past the first lease: state %s, attempts %d, claim until %v (now %v); want one claim, renewed",
			got.State, got.Attempts, got.NextAttempt, time.Now())
	}
	var got []*store.Message
	if err := e.st.Update(context.Background(), func(tx store.Tx) error {
		var err error
		got, err = tx.ClaimDue(time.Now(), "other", time.Now().Add(time.Minute), 10)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("another instance claimed a message whose attempt is still running (lease not renewed)")
	}
	d := e.waitState(m.ID, store.Delivered)
	if d.Attempts != 1 || len(e.up.Messages()) != 1 {
		t.Errorf("attempts %d, upstream got %d copies; want 1 and 1", d.Attempts, len(e.up.Messages()))
	}
}

// An attempt whose claim is taken away is cut off at the next renewal.
func TestLostClaimCutsAttempt(t *testing.T) {
	e := newEnv(t)
	e.up.SetDataDelay(20 * time.Second)
	cfg := e.config()
	cfg.Now = time.Now
	cfg.Lease = 3 * time.Second
	q, _ := e.start(cfg)
	m, body := e.message("a@example.jp", "b@example.net")
	m.Received, m.Updated, m.NextAttempt = time.Now(), time.Now(), time.Now()
	e.insert(m, body)
	e.kick()
	e.waitFor(m.ID, "claimed", func(m *store.Message) bool { return m.State == store.Sending })
	for q.inFlight() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	// As a peer that found this instance dead would: release, then claim.
	if _, err := ReleaseClaims(e.st, cfg.Instance, "test", "pretend dead", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Update(context.Background(), func(tx store.Tx) error {
		got, err := tx.ClaimDue(time.Now(), "other", time.Now().Add(time.Hour), 10)
		if err == nil && len(got) != 1 {
			t.Errorf("the peer claimed %d", len(got))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for q.inFlight() != 0 {
		if time.Since(start) > 5*time.Second {
			t.Fatal("attempt still running 5s after its claim was taken away")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("attempt cut off %v after its claim was lost", time.Since(start))
	// Its late outcome was refused (counted as not recorded) and did not
	// overwrite the peer's claim.
	notRecorded := func() float64 {
		var m dto.Metric
		q.met.attempts.WithLabelValues(resultError).Write(&m)
		return m.GetCounter().GetValue()
	}
	for notRecorded() < 1 {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the cut-off attempt's outcome was neither refused nor counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := e.get(m.ID); got.State != store.Sending || got.Owner != "other" {
		t.Errorf("after the cut-off attempt: state %s owner %q; want the peer's claim untouched", got.State, got.Owner)
	}
}
