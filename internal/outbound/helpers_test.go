package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlite"
)

// clock is the injected clock: tests move it to skip backoff and expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	return openStoreAt(t, filepath.Join(t.TempDir(), "eg.db"))
}

func openStoreAt(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(path, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// env is a test harness: a store, a fake upstream and queues on them.
type env struct {
	t     *testing.T
	st    store.Store
	up    *fakesmtp.Server
	clock *clock

	mu     sync.Mutex
	queues []*Queue // started queues, kicked by enqueue
}

func newEnv(t *testing.T, opts ...fakesmtp.Option) *env {
	t.Helper()
	return &env{t: t, st: openStore(t), up: fakesmtp.Start(t, opts...), clock: newClock()}
}

// config is a Config for the harness's upstream without TLS.
func (e *env) config() Config {
	return Config{
		Upstream:       e.up.Addr(),
		TLS:            TLSNone,
		ConnectTimeout: 5 * time.Second,
		CommandTimeout: 10 * time.Second,
		DataTimeout:    10 * time.Second,
		Concurrency:    4,
		BackoffMin:     time.Minute,
		BackoffMax:     time.Hour,
		Lease:          10 * time.Minute,
		StopTimeout:    5 * time.Second,
		Hostname:       "guard.example.net",
		Instance:       "test-1",
		Now:            e.clock.Now,
	}
}

// start makes a Queue from cfg and runs it until the test ends. The
// returned stop function cancels Run and waits for it.
func (e *env) start(cfg Config) (*Queue, func()) {
	e.t.Helper()
	q, err := New(cfg, e.st, zaptest.NewLogger(e.t), prometheus.NewRegistry())
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					e.t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				e.t.Errorf("Run did not return")
			}
		})
	}
	e.t.Cleanup(stop)
	waitRunning(e.t, q)
	e.mu.Lock()
	e.queues = append(e.queues, q)
	e.mu.Unlock()
	return q, stop
}

// waitPasses waits until q's scheduler has completed n passes.
func waitPasses(t testing.TB, q *Queue, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); q.passes.Load() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the scheduler completed %d passes in 10 s, want %d", q.passes.Load(), n)
		}
	}
}

func waitRunning(t testing.TB, q *Queue) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		q.mu.Lock()
		r := q.running
		q.mu.Unlock()
		if r {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("queue did not start")
}

// message returns a message record and its bytes, not yet stored.
func (e *env) message(from string, rcpts ...string) (*store.Message, []byte) {
	now := e.clock.Now()
	id := store.NewID(now)
	body := []byte(fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: test %s\r\nMessage-ID: <%s@test>\r\n\r\nHello.\r\n", from, strings.Join(rcpts, ">, <"), id, id))
	m := &store.Message{
		Envelope: envelope.Envelope{
			ID: id, Received: now, ClientAddr: "127.0.0.1", Helo: "client.example", From: from,
		},
		State:       store.Queued,
		Updated:     now,
		Size:        int64(len(body)),
		NextAttempt: now,
		Action:      "pass",
	}
	for _, r := range rcpts {
		m.Rcpts = append(m.Rcpts, envelope.Rcpt{Addr: r})
	}
	return m, body
}

func (e *env) insert(m *store.Message, body []byte) {
	e.t.Helper()
	if err := e.st.Update(context.Background(), func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(body)) }); err != nil {
		e.t.Fatal(err)
	}
	if m.State == store.Queued {
		e.kick()
	}
}

func zapNop() *zap.Logger { return zap.NewNop() }

// enqueue stores a new Queued message due now and kicks the queues.
func (e *env) enqueue(from string, rcpts ...string) (*store.Message, []byte) {
	e.t.Helper()
	m, body := e.message(from, rcpts...)
	e.insert(m, body)
	return m, body
}

func (e *env) kick() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, q := range e.queues {
		q.Kick()
	}
}

func (e *env) get(id string) *store.Message {
	e.t.Helper()
	m, err := e.st.Message(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// waitFor polls the store until cond holds for message id.
func (e *env) waitFor(id string, what string, cond func(*store.Message) bool) *store.Message {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var m *store.Message
	for time.Now().Before(deadline) {
		var err error
		m, err = e.st.Message(context.Background(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			e.t.Fatal(err)
		}
		if m != nil && cond(m) {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("message %s: not %s in time; last: %+v", id, what, m)
	return nil
}

func (e *env) waitState(id string, s store.State) *store.Message {
	e.t.Helper()
	return e.waitFor(id, string(s), func(m *store.Message) bool { return m.State == s })
}

// waitDeferred waits until the message is back in the queue after at
// least n attempts.
func (e *env) waitDeferred(id string, n int) *store.Message {
	e.t.Helper()
	return e.waitFor(id, fmt.Sprintf("deferred after %d attempts", n), func(m *store.Message) bool {
		return m.State == store.Queued && m.Attempts >= n
	})
}

// all lists every message in the store, oldest first.
func (e *env) all() []*store.Message {
	e.t.Helper()
	ms, err := e.st.List(context.Background(), store.Filter{Ascending: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return ms
}
