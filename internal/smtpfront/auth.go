package smtpfront

import (
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// loginServer is the server side of the LOGIN mechanism
// (draft-murchison-sasl-login), which go-sasl only has as a client. Some
// mail clients still offer nothing else.
type loginServer struct {
	step int
	user string
	auth func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		if resp == nil { // no initial response: ask for the user name
			l.step = 1
			return []byte("Username:"), false, nil
		}
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.auth(l.user, string(resp))
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}

// saslGuard turns the mechanisms' own errors (malformed responses) into a
// proper reply; go-smtp would otherwise send their text to the client.
type saslGuard struct{ sasl.Server }

func (g saslGuard) Next(resp []byte) ([]byte, bool, error) {
	ch, done, err := g.Server.Next(resp)
	if err != nil {
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			err = replyAuthMalformed
		}
	}
	return ch, done, err
}

// failLimiter counts authentication failures per client in a sliding
// window. A client with max failures in the window is refused until the
// oldest of them leaves it.
type failLimiter struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	fails map[netip.Addr][]time.Time // recent failures, oldest first, at most max
	sweep int                        // map size that triggers the next sweep
}

// maxTrackedClients bounds the memory an attack from many addresses can use;
// beyond it new clients are not tracked until old entries expire.
const maxTrackedClients = 100000

func newFailLimiter(max int, window time.Duration) *failLimiter {
	return &failLimiter{max: max, window: window, fails: make(map[netip.Addr][]time.Time), sweep: 1024}
}

// recent drops failures that left the window; l.mu is held.
func (l *failLimiter) recent(key netip.Addr, now time.Time) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= l.window {
		i++
	}
	if i > 0 {
		f = append(f[:0], f[i:]...)
		if len(f) == 0 {
			delete(l.fails, key)
		} else {
			l.fails[key] = f
		}
	}
	return f
}

func (l *failLimiter) blocked(key netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(key, now)) >= l.max
}

func (l *failLimiter) fail(key netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.recent(key, now)
	if f == nil && len(l.fails) >= l.sweep {
		for k := range l.fails {
			l.recent(k, now)
		}
		l.sweep = max(1024, 2*len(l.fails))
		if len(l.fails) >= maxTrackedClients {
			return
		}
	}
	if len(f) >= l.max {
		f = append(f[:0], f[1:]...)
	}
	l.fails[key] = append(f, now)
}
