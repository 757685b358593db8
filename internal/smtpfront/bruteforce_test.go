package smtpfront

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowAuth is testAuth taking as long as a password hash does, counting
// the password checks that actually run.
func slowAuth(checks *atomic.Int64) func(ctx context.Context, user, pass string) (*Identity, error) {
	return func(ctx context.Context, user, pass string) (*Identity, error) {
		checks.Add(1)
		time.Sleep(50 * time.Millisecond)
		return testAuth(ctx, user, pass)
	}
}

// guessInParallel opens one connection per source address, greets on all
// of them, and then sends one AUTH with a wrong password on each at once.
// It returns the reply codes.
func guessInParallel(t *testing.T, addr, user string, sources []string) map[int]int {
	t.Helper()
	conns := make([]*rawClient, len(sources))
	for i, src := range sources {
		conns[i] = dialRawFrom(t, addr, src)
		conns[i].greet()
	}
	var (
		mu    sync.Mutex
		codes = map[int]int{}
		wg    sync.WaitGroup
	)
	start := make(chan struct{})
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c.send("AUTH PLAIN " + plain(user, fmt.Sprintf("guess%d", i)) + "\r\n")
			code, _, _ := c.reply()
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return codes
}

// TestAuthParallelFromOneClient: 90 parallel connections from one address,
// each trying one password, get no more password checks than the limit:
// attempts count when they start, not when they have failed.
func TestAuthParallelFromOneClient(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.MaxConns = 200
	cfg.MaxConnsPerIP = 100
	cfg.MaxAuthFailures = 5
	cfg.MaxAuthFailuresUser = 1000
	var checks atomic.Int64
	b, _ := newRecorder()
	b.AuthFunc = slowAuth(&checks)
	ts := startServer(t, cfg, b)

	sources := make([]string, 90)
	for i := range sources {
		sources[i] = "127.0.0.1"
	}
	codes := guessInParallel(t, ts.addr, "alice", sources)
	t.Logf("90 parallel guesses from one address: %d password checks, replies %v", checks.Load(), codes)
	if n := checks.Load(); n > 5 {
		t.Errorf("%d password checks ran, limit 5", n)
	}
	if codes[535] > 5 || codes[535]+codes[421] != 90 {
		t.Errorf("replies %v", codes)
	}
	// The client stays blocked, even with the right password.
	c := dialRawFrom(t, ts.addr, "127.0.0.1")
	c.greet()
	c.cmd("AUTH PLAIN "+plain("alice", "secret"), 421)
}

// TestAuthPerUserLimit: guesses at one user from many addresses (one each,
// under the per-client limit) stop at the per-user limit. The user still
// logs in from an address they used before; another user is unaffected.
func TestAuthPerUserLimit(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.MaxConns = 200
	cfg.MaxAuthFailures = 5
	cfg.MaxAuthFailuresUser = 10
	var checks atomic.Int64
	b, _ := newRecorder()
	b.AuthFunc = slowAuth(&checks)
	ts := startServer(t, cfg, b)

	// Alice's usual address.
	home := dialRawFrom(t, ts.addr, "127.0.9.9")
	home.greet()
	home.login("alice", "secret")
	home.cmd("QUIT", 221)
	checks.Store(0)

	sources := make([]string, 40)
	for i := range sources {
		sources[i] = fmt.Sprintf("127.0.1.%d", i+1)
	}
	codes := guessInParallel(t, ts.addr, "ALICE", sources) // user names compare case-insensitively
	t.Logf("40 parallel guesses at one user from 40 addresses: %d password checks, replies %v", checks.Load(), codes)
	if n := checks.Load(); n > 10 {
		t.Errorf("%d password checks ran for one user, limit 10", n)
	}
	if codes[535] > 10 || codes[535]+codes[421] != 40 {
		t.Errorf("replies %v", codes)
	}

	// A new address cannot log in as alice now, even with her password...
	c := dialRawFrom(t, ts.addr, "127.0.2.1")
	c.greet()
	c.cmd("AUTH PLAIN "+plain("alice", "secret"), 421)
	// ...but her usual address can, and other users are not affected.
	c = dialRawFrom(t, ts.addr, "127.0.9.9")
	c.greet()
	c.login("alice", "secret")
	c = dialRawFrom(t, ts.addr, "127.0.2.2")
	c.greet()
	c.login("bob", "hunter2")
}

// TestAuthSuccessesDoNotCount: a mail client logs in on every connection;
// successes never add up to a block.
func TestAuthSuccessesDoNotCount(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.MaxAuthFailures = 3
	cfg.MaxAuthFailuresUser = 3
	b, _ := newRecorder()
	ts := startServer(t, cfg, b)
	for range 10 {
		c := dialRaw(t, ts.addr)
		c.greet()
		c.login("alice", "secret")
		c.cmd("QUIT", 221)
	}
	c := dialRaw(t, ts.addr)
	c.greet()
	c.cmd("AUTH PLAIN "+plain("alice", "wrong"), 535)
	c.login("alice", "secret")
}
