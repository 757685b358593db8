package console

import (
	"sync"
	"time"
)

// maxThrottleKeys bounds the memory the throttle uses. An attacker who can
// produce this many distinct client addresses or user names inside one
// window resets the table; the bcrypt cost of every guess still applies.
const maxThrottleKeys = 100_000

// throttle limits failed logins per account and per client IP within a
// sliding window. It lives in memory: a restart forgets it, and instances
// sharing a database throttle separately, which multiplies the budget by
// the number of instances but never blocks anyone wrongly.
type throttle struct {
	mu         sync.Mutex
	window     time.Duration
	maxAccount int
	maxIP      int
	accounts   map[string][]time.Time // at most maxAccount recent failures each
	ips        map[string][]time.Time
}

func newThrottle(maxAccount, maxIP int, window time.Duration) *throttle {
	return &throttle{window: window, maxAccount: maxAccount, maxIP: maxIP,
		accounts: map[string][]time.Time{}, ips: map[string][]time.Time{}}
}

// allow reports whether a login for name from ip may be tried now.
func (t *throttle) allow(name, ip string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.recent(t.accounts, name, now) < t.maxAccount && t.recent(t.ips, ip, now) < t.maxIP
}

// fail records a failed login.
func (t *throttle) fail(name, ip string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.add(t.accounts, name, now, t.maxAccount)
	t.add(t.ips, ip, now, t.maxIP)
}

// success forgets an account's failures. The IP's stay: one good password
// must not reset the budget for guessing others from the same address.
func (t *throttle) success(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.accounts, name)
}

func (t *throttle) recent(m map[string][]time.Time, key string, now time.Time) int {
	n := 0
	for _, at := range m[key] {
		if now.Sub(at) < t.window {
			n++
		}
	}
	return n
}

func (t *throttle) add(m map[string][]time.Time, key string, now time.Time, keep int) {
	if _, ok := m[key]; !ok && len(m) >= maxThrottleKeys {
		t.prune(m, now)
		if len(m) >= maxThrottleKeys {
			clear(m)
		}
	}
	ts := append(m[key], now)
	if len(ts) > keep {
		ts = ts[len(ts)-keep:]
	}
	m[key] = ts
}

func (t *throttle) prune(m map[string][]time.Time, now time.Time) {
	for k, ts := range m {
		if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= t.window {
			delete(m, k)
		}
	}
}
