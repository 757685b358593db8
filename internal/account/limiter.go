package account

import (
	"sync"
	"time"
)

// Limiter bounds password checks per key (a client address, a user name)
// in a sliding window. An attempt counts from the moment it begins, before
// the password is checked, so that parallel attempts cannot all pass the
// limit before the first of them has failed. An attempt that succeeds is
// taken back with Forget, so a user's everyday logins never add up; what
// stays counted are failures and attempts still running.
//
// The SMTP front end and the console both use it; it knows nothing of
// either.
type Limiter struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	seen  map[string][]time.Time // attempts in the window, oldest first, at most max
	sweep int                    // map size that triggers the next sweep of expired keys
}

// maxLimiterKeys bounds the memory an attack from many addresses or with
// many names can use; beyond it new keys are not tracked until old ones
// expire (the other limits still apply).
const maxLimiterKeys = 100000

// NewLimiter returns a Limiter that allows max attempts per key within
// window.
func NewLimiter(max int, window time.Duration) *Limiter {
	return &Limiter{max: max, window: window, seen: make(map[string][]time.Time), sweep: 1024}
}

// Attempt is one counted attempt.
type Attempt struct {
	l   *Limiter
	key string
	at  time.Time
}

// Begin counts an attempt for key at now. It returns false, counting
// nothing, when key already has max attempts in the window.
func (l *Limiter) Begin(key string, now time.Time) (*Attempt, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.recent(key, now)
	if len(f) >= l.max {
		return nil, false
	}
	if f == nil && len(l.seen) >= l.sweep {
		for k := range l.seen {
			l.recent(k, now)
		}
		l.sweep = max(1024, 2*len(l.seen))
		if len(l.seen) >= maxLimiterKeys {
			return &Attempt{}, true // not tracked
		}
	}
	l.seen[key] = append(f, now)
	return &Attempt{l: l, key: key, at: now}, true
}

// Forget takes the attempt back: it succeeded, or no password was checked
// (a temporary failure). Forgetting twice, or a nil attempt, is harmless.
func (a *Attempt) Forget() {
	if a == nil || a.l == nil {
		return
	}
	l := a.l
	a.l = nil
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.seen[a.key]
	for i := len(f) - 1; i >= 0; i-- {
		if f[i].Equal(a.at) {
			f = append(f[:i], f[i+1:]...)
			break
		}
	}
	if len(f) == 0 {
		delete(l.seen, a.key)
	} else {
		l.seen[a.key] = f
	}
}

// Blocked reports whether key has max attempts in the window, without
// counting one.
func (l *Limiter) Blocked(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(key, now)) >= l.max
}

// Keys returns how many keys are tracked (for tests and metrics).
func (l *Limiter) Keys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// recent drops the attempts of key that left the window; l.mu is held.
func (l *Limiter) recent(key string, now time.Time) []time.Time {
	f := l.seen[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= l.window {
		i++
	}
	if i > 0 {
		f = append(f[:0], f[i:]...)
		if len(f) == 0 {
			delete(l.seen, key)
			return nil
		}
		l.seen[key] = f
	}
	return f
}
