package allowlist

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/lookalike"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlite"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in, kind, value string
		err             error
	}{
		{"Partner.Example.COM", store.AllowDomain, "partner.example.com", nil},
		{".partner.example.com", store.AllowSubdomains, "partner.example.com", nil},
		{"*.partner.example.com", store.AllowSubdomains, "partner.example.com", nil},
		{"Taro@Partner.example.com", store.AllowAddress, "taro@partner.example.com", nil},
		{"例え.jp", store.AllowDomain, "xn--r8jz45g.jp", nil},
		{"user@例え.jp", store.AllowAddress, "user@xn--r8jz45g.jp", nil},
		{"co.jp", "", "", ErrPublicSuffix},
		{"lg.jp", "", "", ErrPublicSuffix},
		{".com", "", "", ErrPublicSuffix},
		{"tokyo.jp", "", "", ErrPublicSuffix},
		{"localhost", "", "", ErrInvalid},
		{"bad domain.com", "", "", ErrInvalid},
		{"@example.com", "", "", ErrInvalid},
		{"a b@example.com", "", "", ErrInvalid},
		{"", "", "", ErrInvalid},
	} {
		kind, value, err := Parse(c.in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%q: err %v, want %v", c.in, err, c.err)
			}
			continue
		}
		if err != nil || kind != c.kind || value != c.value {
			t.Errorf("%q: %s %s %v, want %s %s", c.in, kind, value, err, c.kind, c.value)
		}
	}
	if got := Display(store.AllowSubdomains, "xn--r8jz45g.jp"); got != ".例え.jp" {
		t.Errorf("display %q", got)
	}
}

type clock struct{ t atomic.Pointer[time.Time] }

func (c *clock) now() time.Time      { return *c.t.Load() }
func (c *clock) set(t time.Time)     { c.t.Store(&t) }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

func newStore(t *testing.T) store.Store {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "eg.db"), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestAddRemoveExpireScope(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	var c clock
	c.set(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
	s, err := New(st, []string{"config.example.com"}, zaptest.NewLogger(t), Options{Now: c.now, RefreshEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	allowed := func(sender, rcpt string) bool { _, ok := s.Allowed(sender, rcpt, c.now()); return ok }

	if !allowed("a@example.jp", "x@config.example.com") || allowed("a@example.jp", "x@sub.config.example.com") {
		t.Error("config domain entry")
	}
	if _, err := s.Add(ctx, "admin", Entry{Value: "gmail.com", Reason: "r"}); !errors.Is(err, ErrFreeMail) {
		t.Errorf("free mail without confirmation: %v", err)
	}
	if _, err := s.Add(ctx, "admin", Entry{Value: "partner.example.com"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no reason: %v", err)
	}
	e, err := s.Add(ctx, "admin", Entry{Value: ".partner.example.com", Reason: "contract 2026-17", Expires: c.now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, "admin", Entry{Value: "*.partner.example.com", Reason: "again"}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate: %v", err)
	}
	if !allowed("a@example.jp", "x@partner.example.com") || !allowed("a@example.jp", "x@deep.sub.partner.example.com") {
		t.Error("subdomain entry does not match")
	}
	c.add(25 * time.Hour)
	if allowed("a@example.jp", "x@partner.example.com") {
		t.Error("expired entry still counts")
	}
	free, err := s.Add(ctx, "admin", Entry{Value: "yahoo.co.jp", Reason: "Ministry contact", ConfirmFree: true, Senders: []string{"sales.example.jp"}})
	if err != nil || !free.FreeMail {
		t.Fatalf("confirmed free mail: %v %+v", err, free)
	}
	if !allowed("bob@sales.example.jp", "x@yahoo.co.jp") || allowed("bob@hr.example.jp", "x@yahoo.co.jp") {
		t.Error("sender scope")
	}
	if err := s.Remove(ctx, "admin", "config:config.example.com", ""); !errors.Is(err, ErrConfigEntry) {
		t.Errorf("removing a config entry: %v", err)
	}
	if err := s.Remove(ctx, "admin", e.ID, "contract ended"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "admin", e.ID, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}
	h, err := s.History(ctx, e.ID)
	if err != nil || len(h) != 2 || h[0].Action != "allow.add" || h[1].Action != "allow.remove" {
		t.Fatalf("history: %v %+v", err, h)
	}
	if _, err := audit.Verify(ctx, st); err != nil {
		t.Error(err)
	}
}

// TestOtherInstanceSeesChange: a change through one Service (instance)
// counts on another sharing the store within the refresh bound.
func TestOtherInstanceSeesChange(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	var c clock
	c.set(time.Now())
	a, _ := New(st, nil, zaptest.NewLogger(t), Options{Now: c.now, RefreshEvery: time.Second})
	b, _ := New(st, nil, zaptest.NewLogger(t), Options{Now: c.now, RefreshEvery: time.Second})
	if _, ok := b.Allowed("s@example.jp", "x@newpartner.example.com", c.now()); ok {
		t.Fatal("allowed before the change")
	}
	if _, err := a.Add(ctx, "admin", Entry{Value: "newpartner.example.com", Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Allowed("s@example.jp", "x@newpartner.example.com", c.now()); ok {
		t.Error("change seen before the refresh bound (cache not used?)")
	}
	c.add(1100 * time.Millisecond)
	if _, ok := b.Allowed("s@example.jp", "x@newpartner.example.com", c.now()); !ok {
		t.Error("change not seen after the refresh bound")
	}
}

// TestLookalikeIndexes: allowlisted domains and the domains of
// allowlisted addresses are trusted for the look-alike check, and an
// entry added at run time counts for the next lookup.
func TestLookalikeIndexes(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "eg.db"), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := New(st, []string{"partner-corp.co.jp", "taro@client.example"}, zaptest.NewLogger(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]string{"partnercorp.co.jp": "partner-corp.co.jp", "clinet.example": "client.example", "torihikisak.com": ""} {
		m, ok := lookalike.Lookup(d, s.LookalikeIndexes()...)
		if ok != (want != "") || ok && (m.Trusted != want || m.Kind != lookalike.Allowlisted) {
			t.Errorf("%s: %+v %v, want %q", d, m, ok, want)
		}
	}
	if _, err := s.Add(context.Background(), "admin", Entry{Value: ".torihikisaki.com", Reason: "supplier"}); err != nil {
		t.Fatal(err)
	}
	if m, ok := lookalike.Lookup("torihikisak.com", s.LookalikeIndexes()...); !ok || m.Trusted != "torihikisaki.com" {
		t.Errorf("entry added at run time: %+v %v", m, ok)
	}
}
