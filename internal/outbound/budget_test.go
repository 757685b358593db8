package outbound

import (
	"context"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/membudget"
	"github.com/egressguard/egressguard/internal/store"
)

// A message read from the store waits for the memory budget: while the
// budget is taken it is not sent, and it is sent once the budget is free.
func TestBodyWaitsForBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	cfg.Budget = membudget.New(1 << 20)
	taken, err := cfg.Budget.Acquire(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	e.start(cfg)
	m, _ := e.enqueue("a@example.com", "b@example.org")
	e.kick()
	time.Sleep(300 * time.Millisecond) // what must not happen: a delivery
	if n := len(e.up.Messages()); n != 0 {
		t.Fatalf("%d messages sent while the budget was taken", n)
	}
	taken()
	e.waitState(m.ID, store.Delivered)
}
