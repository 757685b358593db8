package account

import (
	"net"
	"sync"
	"time"
)

// Throttle limits password guessing at the console's login. Locking an
// account after a few failures from anywhere hands every outsider a way to
// lock the officers out, so the limits are per account and source
// together:
//
//   - source: failures for one account from one client address (default 5
//     per window). Only that pair is refused; the account's owner at
//     another address is not.
//   - ip: failures from one address over all accounts (default 20), against
//     one address trying many names.
//   - account: failures for one account from all addresses it has not
//     logged in from before (default 20), against guessing spread over many
//     addresses. Beyond it the account is slowed, not locked: one attempt
//     from such an address per SlowInterval.
//
// A browser that logged in to the account before carries a device cookie
// (random, only its hash kept, in memory); its attempts are counted as a
// source of their own instead of its address, so that someone guessing
// behind the same address (an office's NAT) cannot lock the owner out
// either.
//
// An address in a network (IPv4 /24, IPv6 /64) the account logged in from
// successfully is the account's usual network: the ip and account limits
// do not apply to it, only the source limit. Each time a source limit is
// reached, or an account is slowed, the caller is told to alert (the
// console: a warning in the log, an audit entry and
// egressguard_console_login_lockouts_total).
//
// The limits are Limiters, the failed-login counter SMTP AUTH uses too.
// They live in memory: a restart forgets them and instances sharing a
// database count separately.
type Throttle struct {
	window time.Duration
	slow   time.Duration
	source *Limiter // name + "\x00" + ip
	ip     *Limiter // ip
	acct   *Limiter // name

	mu       sync.Mutex
	known    map[string]time.Time // name + "\x00" + network: last successful login
	devices  map[string]time.Time // name + "\x00" + device cookie hash: last successful login
	slowNext map[string]time.Time // name: earliest next attempt from an unknown network while slowed
	alerted  map[string]time.Time // alert key: when it was last raised
}

// KnownFor is how long a successful login makes a network the account's
// usual one, and a device one of its devices.
const KnownFor = 30 * 24 * time.Hour

// maxThrottleKeys bounds the maps above; beyond it they are pruned, then
// cleared (forgetting usual networks errs towards slowing, never towards
// letting more guesses through).
const maxThrottleKeys = 100_000

// NewThrottle returns a Throttle with the three limits within window;
// a slowed account gets one attempt per slow.
func NewThrottle(perSource, perIP, perAccount int, window, slow time.Duration) *Throttle {
	return &Throttle{
		window: window, slow: slow,
		source: NewLimiter(perSource, window),
		ip:     NewLimiter(perIP, window),
		acct:   NewLimiter(perAccount, window),
		known:  map[string]time.Time{}, devices: map[string]time.Time{}, slowNext: map[string]time.Time{},
		alerted: map[string]time.Time{},
	}
}

// Why a login attempt was refused before the password was checked.
const (
	ScopeSource  = "source"  // this account from this address
	ScopeIP      = "ip"      // this address, any account
	ScopeAccount = "account" // this account from unusual addresses: slowed
)

// LoginTry is one login attempt let through by the Throttle.
type LoginTry struct {
	t         *Throttle
	name, ip  string
	source    string // the source key: ip, or the known device
	attempts  []*Attempt
	SlowedNow bool // this attempt found the account newly slowed: alert
}

// Refusal says why and for how long an attempt is refused.
type Refusal struct {
	Scope      string // ScopeSource, ScopeIP or ScopeAccount
	RetryAfter time.Duration
	Alert      bool // first refusal of this scope and key in the window: alert
}

// Begin counts a login attempt for name from ip as it starts, or refuses
// it. device is the hash of the browser's device cookie ("" if none).
func (t *Throttle) Begin(name, ip, device string, now time.Time) (*LoginTry, *Refusal) {
	source := ip
	knownDevice := device != "" && t.knownDevice(name, device, now)
	if knownDevice {
		source = "device:" + device
	}
	src, ok := t.source.Begin(name+"\x00"+source, now)
	if !ok {
		return nil, &Refusal{Scope: ScopeSource, RetryAfter: t.window}
	}
	try := &LoginTry{t: t, name: name, ip: ip, source: source, attempts: []*Attempt{src}}
	if knownDevice || t.isKnown(name, ip, now) {
		return try, nil
	}
	ipA, ok := t.ip.Begin(ip, now)
	if !ok {
		try.Forget()
		t.mu.Lock()
		alert := t.firstAlert("ip\x00"+ip, now)
		t.mu.Unlock()
		return nil, &Refusal{Scope: ScopeIP, RetryAfter: t.window, Alert: alert}
	}
	try.attempts = append(try.attempts, ipA)
	acA, ok := t.acct.Begin(name, now)
	if ok {
		try.attempts = append(try.attempts, acA)
		return try, nil
	}
	// Slowed: one attempt per t.slow from addresses the account does not
	// usually use.
	t.mu.Lock()
	next := t.slowNext[name]
	alert := t.firstAlert("slow\x00"+name, now)
	if now.Before(next) {
		t.mu.Unlock()
		try.Forget()
		return nil, &Refusal{Scope: ScopeAccount, RetryAfter: next.Sub(now), Alert: alert}
	}
	t.bound(t.slowNext, now, t.slow)
	t.slowNext[name] = now.Add(t.slow)
	t.mu.Unlock()
	try.SlowedNow = alert
	return try, nil
}

// failed records that the password was wrong. It reports whether this
// failure reached the source limit (an alert, raised once per window).
func (l *LoginTry) Failed(now time.Time) bool {
	t := l.t
	if !t.source.Blocked(l.name+"\x00"+l.source, now) {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.firstAlert("source\x00"+l.name+"\x00"+l.source, now)
}

// succeeded takes the attempt back and makes the address's network one
// the account usually uses, and the device (the hash of the cookie the
// browser has or is given now) one of its devices.
func (l *LoginTry) Succeeded(now time.Time, device string) {
	l.Forget()
	t := l.t
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bound(t.known, now, KnownFor)
	t.known[l.name+"\x00"+network(l.ip)] = now
	if device != "" {
		t.bound(t.devices, now, KnownFor)
		t.devices[l.name+"\x00"+device] = now
	}
}

func (t *Throttle) knownDevice(name, device string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.devices[name+"\x00"+device]
	return ok && now.Sub(at) < KnownFor
}

// forget takes back every counted attempt (no password was checked, or
// it was right).
func (l *LoginTry) Forget() {
	for _, a := range l.attempts {
		a.Forget()
	}
}

func (t *Throttle) isKnown(name, ip string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.known[name+"\x00"+network(ip)]
	return ok && now.Sub(at) < KnownFor
}

// firstAlert reports whether the alert key was not raised within the
// window, and marks it raised; t.mu is held.
func (t *Throttle) firstAlert(key string, now time.Time) bool {
	if at, ok := t.alerted[key]; ok && now.Sub(at) < t.window {
		return false
	}
	t.bound(t.alerted, now, t.window)
	t.alerted[key] = now
	return true
}

// bound keeps m below maxThrottleKeys: entries older than keep go first,
// then everything; t.mu is held.
func (t *Throttle) bound(m map[string]time.Time, now time.Time, keep time.Duration) {
	if len(m) < maxThrottleKeys {
		return
	}
	for k, at := range m {
		if now.Sub(at) >= keep {
			delete(m, k)
		}
	}
	if len(m) >= maxThrottleKeys {
		clear(m)
	}
}

// network is the network an address belongs to for "usual network":
// its /24 (IPv4) or /64 (IPv6); anything else as it is.
func network(ip string) string {
	a := net.ParseIP(ip)
	if a == nil {
		return ip
	}
	if v4 := a.To4(); v4 != nil {
		return v4.Mask(net.CIDRMask(24, 32)).String() + "/24"
	}
	return a.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
