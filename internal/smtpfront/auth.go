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

// knownSources remembers which client addresses each user logged in from
// successfully, so that the per-user limit, which an attacker elsewhere
// can exhaust, does not lock the user out from where they usually are.
type knownSources struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]time.Time // user + "\x00" + client key → last success
}

// maxKnownSources bounds the memory; when full the oldest half is dropped.
const maxKnownSources = 100000

func (k *knownSources) key(user string, ip netip.Addr) string { return user + "\x00" + ip.String() }

func (k *knownSources) has(user string, ip netip.Addr, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.m[k.key(user, ip)]
	return ok && now.Sub(t) < k.ttl
}

func (k *knownSources) add(user string, ip netip.Addr, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.m) >= maxKnownSources {
		for key, t := range k.m {
			if now.Sub(t) >= k.ttl/2 {
				delete(k.m, key)
			}
		}
		if len(k.m) >= maxKnownSources {
			clear(k.m)
		}
	}
	k.m[k.key(user, ip)] = now
}
