package console

import (
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/store"
)

// browserFrom is a browser whose connections come from the loopback
// address ip (any of 127.0.0.0/8), so tests can play several clients.
func (f *fixture) browserFrom(ip string) *browser {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &browser{f: f, header: http.Header{}, client: &http.Client{Jar: jar,
		Transport:     &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) try(user, pass string) int {
	resp, _ := b.post("/login", url.Values{"user": {user}, "password": {pass}})
	return resp.StatusCode
}

func (f *fixture) lockoutMetric(scope string) float64 {
	var m dto.Metric
	if err := f.c.lockouts.WithLabelValues(scope).Write(&m); err != nil {
		f.t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func (f *fixture) lockoutAudits(scope string) []map[string]string {
	es, _ := f.st.Audit(context.Background(), store.AuditFilter{Actor: "system"})
	var out []map[string]string
	for _, e := range es {
		if e.Action == "console.login_lockout" && strings.Contains(string(e.Data), `"scope":"`+scope+`"`) {
			out = append(out, map[string]string{"data": string(e.Data)})
		}
	}
	return out
}

// TestLoginLockoutPerSource: wrong passwords from an attacker's address
// lock the account for that address only; its owner, at the usual
// address, still logs in with the right password. The lockout is alerted
// (audit entry, metric). (Five wrong passwords from anywhere used to lock
// the account everywhere for 15 minutes.)
func TestLoginLockoutPerSource(t *testing.T) {
	f := newFixture(t, 1)
	usual, attacker := f.browserFrom("127.0.0.1"), f.browserFrom("127.0.1.5")
	if got := usual.try("olga", "olga-password"); got != http.StatusSeeOther {
		t.Fatalf("first login: %d", got)
	}
	for i := range 5 {
		if got := attacker.try("olga", "guess"); got != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, got)
		}
	}
	resp, body := attacker.post("/login", url.Values{"user": {"olga"}, "password": {"olga-password"}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("attacker's address after 5 failures: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(body, "Too many failed attempts from here") {
		t.Errorf("no throttle message:\n%.500s", body)
	}
	// The owner, where they usually are: still works, with the right password.
	if got := usual.try("olga", "olga-password"); got != http.StatusSeeOther {
		t.Fatalf("owner at the usual address after the attacker's lockout: %d, want 303", got)
	}
	// And from a new address too (only the attacker's address is locked).
	if got := f.browserFrom("127.0.7.7").try("olga", "olga-password"); got != http.StatusSeeOther {
		t.Errorf("owner at a new address: %d, want 303", got)
	}
	if got := attacker.try("oscar", "oscar-password"); got != http.StatusSeeOther {
		t.Errorf("another account from the attacker's address: %d (only olga is locked there)", got)
	}
	// Alerted once: audit entry and metric.
	if a := f.lockoutAudits(account.ScopeSource); len(a) != 1 || !strings.Contains(a[0]["data"], `"ip":"127.0.1.5"`) ||
		!strings.Contains(a[0]["data"], `"user":"olga"`) {
		t.Errorf("lockout audit entries: %v", a)
	}
	if n := f.lockoutMetric(account.ScopeSource); n != 1 {
		t.Errorf("lockout metric %v, want 1", n)
	}
	// The window ends.
	f.clock.Add(15 * time.Minute)
	if got := attacker.try("olga", "olga-password"); got != http.StatusSeeOther {
		t.Errorf("after the window: %d", got)
	}
}

// TestLoginSlowedPerAccount: guesses for one account spread over many
// addresses slow the account for addresses outside its usual networks (one
// attempt per interval) but never lock it: the usual network still logs
// in at once.
func TestLoginSlowedPerAccount(t *testing.T) {
	f := newFixture(t, 1)
	usual := f.browserFrom("127.0.0.1")
	if got := usual.try("alice", "alice-password"); got != http.StatusSeeOther {
		t.Fatal(got)
	}
	// 20 failures from 5 addresses in other networks, 4 each: no source limit reached.
	for n := range 5 {
		b := f.browserFrom("127.0.2" + string(rune('0'+n)) + ".1")
		for range 4 {
			if got := b.try("alice", "guess"); got != http.StatusUnauthorized {
				t.Fatalf("guess from %d: %d", n, got)
			}
		}
	}
	// Slowed: the next address gets one attempt, then must wait.
	next := f.browserFrom("127.0.30.1")
	if got := next.try("alice", "guess"); got != http.StatusUnauthorized {
		t.Fatalf("first attempt while slowed: %d", got)
	}
	resp, body := next.post("/login", url.Values{"user": {"alice"}, "password": {"alice-password"}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "10" {
		t.Fatalf("second attempt within the interval: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(body, "from unusual places") {
		t.Errorf("no slowed message:\n%.500s", body)
	}
	// The usual network is not slowed, also from another address in it.
	if got := f.browserFrom("127.0.0.9").try("alice", "alice-password"); got != http.StatusSeeOther {
		t.Fatalf("usual network while slowed: %d", got)
	}
	// Slowed, not locked: after the interval, the right password works.
	f.clock.Add(10 * time.Second)
	if got := next.try("alice", "alice-password"); got != http.StatusSeeOther {
		t.Errorf("after the interval: %d", got)
	}
	if a := f.lockoutAudits(account.ScopeAccount); len(a) != 1 {
		t.Errorf("slowdown audit entries: %v", a)
	}
	if n := f.lockoutMetric(account.ScopeAccount); n != 1 {
		t.Errorf("slowdown metric %v, want 1", n)
	}
}

// TestLoginLimitPerAddress: one address guessing many accounts is stopped
// for every account it has not logged in to before; accounts whose usual
// network it is still log in. Attempts count when they start, so parallel
// guesses cannot overtake the limit.
func TestLoginLimitPerAddress(t *testing.T) {
	f := newFixture(t, 1)
	if got := f.browserFrom("127.0.4.2").try("sam", "sam-password"); got != http.StatusSeeOther {
		t.Fatal(got)
	}
	spray := f.browserFrom("127.0.4.1")
	for _, u := range []string{"alice", "bob", "olga", "oscar"} {
		for range 5 {
			spray.try(u, "guess")
		}
	}
	if got := spray.try("ada", "ada-password"); got != http.StatusTooManyRequests {
		t.Errorf("20 failures from one address, then another account: %d, want 429", got)
	}
	if got := spray.try("sam", "sam-password"); got != http.StatusSeeOther {
		t.Errorf("account whose usual network it is: %d, want 303", got)
	}
	spray.try("bob", "bob-password")
	if a := f.lockoutAudits(account.ScopeIP); len(a) != 1 || !strings.Contains(a[0]["data"], `"ip":"127.0.4.1"`) {
		t.Errorf("address lockout audit entries: %v", a)
	}
	if n := f.lockoutMetric(account.ScopeIP); n != 1 {
		t.Errorf("address lockout metric %v, want 1", n)
	}
	// Parallel guesses from a fresh address: no more than 5 password checks.
	par := f.browserFrom("127.0.5.1")
	codes := make(chan int, 12)
	for range 12 {
		go func() { codes <- par.try("bob", "guess") }()
	}
	checked := 0
	for range 12 {
		if <-codes == http.StatusUnauthorized {
			checked++
		}
	}
	if checked > 5 {
		t.Errorf("%d parallel guesses were checked, want at most 5", checked)
	}
}

// TestLoginLockoutBehindOneAddress: an insider guessing from the same
// address as the owner (an office behind one NAT address) locks that
// address for the account, but not the owner's browser, which logged in
// before and carries the device cookie.
func TestLoginLockoutBehindOneAddress(t *testing.T) {
	f := newFixture(t, 1)
	owner, insider := f.browserFrom("127.0.0.1"), f.browserFrom("127.0.0.1")
	if got := owner.try("olga", "olga-password"); got != http.StatusSeeOther {
		t.Fatal(got)
	}
	for range 5 {
		insider.try("olga", "guess")
	}
	if got := insider.try("olga", "olga-password"); got != http.StatusTooManyRequests {
		t.Errorf("insider after 5 failures: %d, want 429", got)
	}
	if got := owner.try("olga", "olga-password"); got != http.StatusSeeOther {
		t.Errorf("owner's browser behind the same address: %d, want 303", got)
	}
	// A stolen or invented device cookie that was never issued to olga's
	// login counts as the address.
	forged := f.browserFrom("127.0.0.1")
	su, _ := url.Parse(f.srv.URL)
	forged.client.Jar.SetCookies(su, []*http.Cookie{{Name: "egressguard-device", Value: "made-up"}})
	if got := forged.try("olga", "olga-password"); got != http.StatusTooManyRequests {
		t.Errorf("unknown device cookie: %d, want 429", got)
	}
}
