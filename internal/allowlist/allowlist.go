// Package allowlist manages the outside recipients that may receive what
// the rules would otherwise hold: exact addresses, domains, and domains
// with all their subdomains. Admins edit it at run time (console, API,
// CLI); every change is an audit entry committed with it. Entries from the
// config file are applied at start and cannot be removed at run time.
//
// The policy engine reads the list through List, which implements
// policy.Lists from an in-memory snapshot. The snapshot is rebuilt when
// the store's "allowlist" generation changes; it is checked at most once
// per RefreshEvery (default 1 s) — the bound on how long a change made on
// another instance takes to count here. Changes made through this
// instance count for the next message.
package allowlist

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/lookalike"
	"github.com/egressguard/egressguard/internal/mailaddr"
	"github.com/egressguard/egressguard/internal/store"
)

var (
	// ErrInvalid: a malformed domain or address.
	ErrInvalid = errors.New("allowlist: invalid entry")
	// ErrPublicSuffix: a public suffix (com, co.jp, lg.jp …) would allow a
	// whole namespace of unrelated organisations.
	ErrPublicSuffix = errors.New("allowlist: public suffix refused")
	// ErrFreeMail: a free-mail domain needs explicit confirmation.
	ErrFreeMail = errors.New("allowlist: free-mail domain needs confirmation")
	// ErrConfigEntry: entries from the config file are changed there.
	ErrConfigEntry = errors.New("allowlist: entry comes from the config file")
	// ErrNotFound: no such entry.
	ErrNotFound = errors.New("allowlist: no such entry")
	// ErrExists: the same entry (kind, value, scope) exists already.
	ErrExists = errors.New("allowlist: entry exists already")
)

// freeMail are domains where anyone can get an address: allowing one
// allows the whole world, so it takes an explicit confirmation and is
// flagged in the list.
var freeMail = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "yahoo.com": true, "yahoo.co.jp": true, "ymail.com": true,
	"outlook.com": true, "outlook.jp": true, "hotmail.com": true, "hotmail.co.jp": true, "live.com": true,
	"live.jp": true, "msn.com": true, "icloud.com": true, "me.com": true, "mac.com": true, "aol.com": true,
	"proton.me": true, "protonmail.com": true, "pm.me": true, "gmx.com": true, "gmx.net": true, "gmx.de": true,
	"mail.com": true, "yandex.com": true, "yandex.ru": true, "mail.ru": true, "qq.com": true, "163.com": true,
	"126.com": true, "naver.com": true, "zoho.com": true, "tutanota.com": true, "fastmail.com": true,
	"docomo.ne.jp": true, "ezweb.ne.jp": true, "au.com": true, "softbank.ne.jp": true, "i.softbank.jp": true,
	"ymobile.ne.jp": true, "rakuten.jp": true, "nifty.com": true, "excite.co.jp": true, "goo.jp": true,
}

// IsFreeMail reports whether domain (A-label) is a known free-mail domain.
func IsFreeMail(domain string) bool { return freeMail[domain] }

// Parse normalises an entry as an admin writes it: "user@example.com",
// "example.com", or ".example.com" / "*.example.com" (with subdomains).
// It returns the kind and the value (lower case, domain as A-label). The
// configuration's entries are parsed the same way (mailaddr.ParseEntry).
func Parse(s string) (kind, value string, err error) {
	e, err := mailaddr.ParseEntry(s)
	switch {
	case errors.Is(err, mailaddr.ErrPublicSuffix):
		return "", "", fmt.Errorf("%w: %v", ErrPublicSuffix, err)
	case err != nil:
		return "", "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return e.Kind, e.Value, nil
}

// Display returns value with its domain in Unicode, for people.
func Display(kind, value string) string { return mailaddr.Display(kind, value) }

// Entry is what an admin asks to add.
type Entry struct {
	Value       string // as typed: address, domain or .domain
	Reason      string
	Expires     time.Time // zero: never
	Senders     []string  // scope; empty: all senders
	ConfirmFree bool      // confirms a free-mail domain
}

// Service edits the list and serves it to the policy engine.
type Service struct {
	st      store.Store
	log     *zap.Logger
	now     func() time.Time
	refresh time.Duration

	mu      sync.Mutex // serialises refreshes
	config  []*store.AllowEntry
	snap    atomic.Pointer[snapshot]
	checked atomic.Int64 // unix nanos of the last generation check
}

type snapshot struct {
	gen     int64
	entries []*store.AllowEntry
	address map[string][]*store.AllowEntry
	domain  map[string][]*store.AllowEntry
	subdom  map[string][]*store.AllowEntry

	lkOnce sync.Once
	lk     *lookalike.Index
}

// LookalikeIndexes implements policy.LookalikeSource: the allowlisted
// domains, and the domains of allowlisted addresses, as trusted domains
// for the look-alike check. Expired entries and sender scopes are ignored:
// a domain someone once vouched for is one a typo may imitate.
func (s *Service) LookalikeIndexes() []*lookalike.Index {
	sn := s.current()
	sn.lkOnce.Do(func() {
		ds := make([]lookalike.Domain, 0, len(sn.entries))
		for _, e := range sn.entries {
			ds = append(ds, lookalike.Domain{Name: domainOf(e.Kind, e.Value), Kind: lookalike.Allowlisted})
		}
		sn.lk = lookalike.New(ds)
	})
	return []*lookalike.Index{sn.lk}
}

// Options tune a Service.
type Options struct {
	RefreshEvery time.Duration    // default 1 s
	Now          func() time.Time // injected clock
}

// New returns a Service with the config file's entries (as written in
// policy.allow), which apply in addition to the store's.
func New(st store.Store, configEntries []string, log *zap.Logger, o Options) (*Service, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RefreshEvery == 0 {
		o.RefreshEvery = time.Second
	}
	s := &Service{st: st, log: log.Named("allowlist"), now: o.Now, refresh: o.RefreshEvery}
	if err := s.SetConfigEntries(configEntries); err != nil {
		return nil, err
	}
	return s, nil
}

// SetConfigEntries replaces the entries that come from the config file
// (at start and on a config reload). Entries from the config file and
// from the store both apply; one in both counts as long as either says so.
func (s *Service) SetConfigEntries(entries []string) error {
	var cfg []*store.AllowEntry
	for _, v := range entries {
		kind, value, err := Parse(v)
		if err != nil {
			return fmt.Errorf("policy.allow %q: %w", v, err)
		}
		cfg = append(cfg, &store.AllowEntry{ID: "config:" + v, Kind: kind, Value: value,
			Reason: "config file", AddedBy: "config", Source: "config", FreeMail: freeMail[domainOf(kind, value)]})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.config = cfg
	return s.reload(context.Background())
}

func domainOf(kind, value string) string {
	if kind == store.AllowAddress {
		return value[strings.LastIndexByte(value, '@')+1:]
	}
	return value
}

// reload rebuilds the snapshot from the store.
func (s *Service) reload(ctx context.Context) error {
	gen, err := s.st.Generation(ctx, "allowlist")
	if err != nil {
		return err
	}
	es, err := s.st.AllowEntries(ctx)
	if err != nil {
		return err
	}
	sn := &snapshot{gen: gen, address: map[string][]*store.AllowEntry{}, domain: map[string][]*store.AllowEntry{}, subdom: map[string][]*store.AllowEntry{}}
	for _, e := range append(slices.Clone(s.config), es...) {
		if e.Source == "" {
			e.Source = "store"
		}
		sn.entries = append(sn.entries, e)
		switch e.Kind {
		case store.AllowAddress:
			sn.address[e.Value] = append(sn.address[e.Value], e)
		case store.AllowDomain:
			sn.domain[e.Value] = append(sn.domain[e.Value], e)
		case store.AllowSubdomains:
			sn.subdom[e.Value] = append(sn.subdom[e.Value], e)
		}
	}
	s.snap.Store(sn)
	s.checked.Store(s.now().UnixNano())
	return nil
}

// current returns the snapshot, refreshing it if the store's generation
// moved and the last check is older than the refresh bound.
func (s *Service) current() *snapshot {
	sn := s.snap.Load()
	now := s.now().UnixNano()
	if now-s.checked.Load() < int64(s.refresh) {
		return sn
	}
	if !s.mu.TryLock() {
		return sn // another goroutine is refreshing
	}
	defer s.mu.Unlock()
	s.checked.Store(now)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	gen, err := s.st.Generation(ctx, "allowlist")
	if err != nil {
		s.log.Warn("allowlist generation check failed; using the last snapshot", zap.Error(err))
		return sn
	}
	if gen != sn.gen {
		if err := s.reload(ctx); err != nil {
			s.log.Warn("allowlist reload failed; using the last snapshot", zap.Error(err))
		}
	}
	return s.snap.Load()
}

// Allowed implements policy.Lists. sender and rcpt arrive normalised
// (lower case, A-label domains).
func (s *Service) Allowed(sender, rcpt string, now time.Time) (string, bool) {
	sn := s.current()
	at := strings.LastIndexByte(rcpt, '@')
	if at < 0 {
		return "", false
	}
	domain := rcpt[at+1:]
	check := func(es []*store.AllowEntry) (string, bool) {
		for _, e := range es {
			if !e.Expires.IsZero() && !now.Before(e.Expires) {
				continue
			}
			if inScope(e, sender) {
				return Display(e.Kind, e.Value), true
			}
		}
		return "", false
	}
	if v, ok := check(sn.address[rcpt]); ok {
		return v, true
	}
	if v, ok := check(sn.domain[domain]); ok {
		return v, true
	}
	for d := domain; ; {
		if v, ok := check(sn.subdom[d]); ok {
			return v, true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return "", false
		}
		d = d[i+1:]
	}
}

// inScope: an entry with senders applies only to mail from one of them:
// an address, "@domain", or a domain (with subdomains).
func inScope(e *store.AllowEntry, sender string) bool {
	if len(e.Senders) == 0 {
		return true
	}
	at := strings.LastIndexByte(sender, '@')
	sdom := sender[at+1:]
	for _, s := range e.Senders {
		switch {
		case strings.Contains(s, "@") && !strings.HasPrefix(s, "@"):
			if s == sender {
				return true
			}
		default:
			d := strings.TrimPrefix(strings.TrimPrefix(s, "@"), ".")
			if sdom == d || strings.HasSuffix(sdom, "."+d) {
				return true
			}
		}
	}
	return false
}

// List returns every entry, config entries first, then the store's by value.
func (s *Service) List(ctx context.Context) ([]*store.AllowEntry, error) {
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	sn := s.snap.Load()
	out := slices.Clone(sn.entries)
	slices.SortStableFunc(out, func(a, b *store.AllowEntry) int {
		if a.Source != b.Source {
			return strings.Compare(a.Source, b.Source) // config < store
		}
		return strings.Compare(a.Value, b.Value)
	})
	return out, nil
}

// Add validates and stores an entry, with its audit entry.
func (s *Service) Add(ctx context.Context, actor string, in Entry) (*store.AllowEntry, error) {
	kind, value, err := Parse(in.Value)
	if err != nil {
		return nil, err
	}
	free := freeMail[domainOf(kind, value)]
	if free && kind != store.AllowAddress && !in.ConfirmFree {
		return nil, fmt.Errorf("%w: %s is a free-mail domain: anyone can get an address there; allow single addresses instead, or confirm", ErrFreeMail, value)
	}
	if strings.TrimSpace(in.Reason) == "" {
		return nil, fmt.Errorf("%w: a reason is required", ErrInvalid)
	}
	var senders []string
	for _, sd := range in.Senders {
		sd = strings.ToLower(strings.TrimSpace(sd))
		if sd == "" {
			continue
		}
		if strings.Contains(sd, "@") && !strings.HasPrefix(sd, "@") {
			if _, v, err := Parse(sd); err != nil {
				return nil, fmt.Errorf("sender scope: %w", err)
			} else {
				sd = v
			}
		} else if _, v, err := Parse(strings.TrimPrefix(sd, "@")); err != nil {
			return nil, fmt.Errorf("sender scope: %w", err)
		} else {
			sd = "@" + v
		}
		senders = append(senders, sd)
	}
	now := s.now().UTC()
	if !in.Expires.IsZero() && !in.Expires.After(now) {
		return nil, fmt.Errorf("%w: the expiry date is in the past", ErrInvalid)
	}
	e := &store.AllowEntry{ID: newID(), Kind: kind, Value: value, Reason: strings.TrimSpace(in.Reason), AddedBy: actor,
		Added: now, Expires: in.Expires.UTC(), Senders: senders, FreeMail: free, Source: "store"}
	existing, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, x := range existing {
		if x.Kind == e.Kind && x.Value == e.Value && slices.Equal(x.Senders, e.Senders) {
			return nil, fmt.Errorf("%w: %s (%s)", ErrExists, Display(x.Kind, x.Value), x.Source)
		}
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutAllow(e); err != nil {
			return err
		}
		_, err := audit.Append(tx, now, audit.Event{Actor: actor, Action: audit.ActionAllowAdd, Data: map[string]any{
			"id": e.ID, "after": entryData(e)}})
		return err
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("allowlist entry added", zap.String("actor", actor), zap.String("kind", kind), zap.String("value", value))
	s.reload(ctx)
	return e, nil
}

// Remove deletes a store entry, with its audit entry.
func (s *Service) Remove(ctx context.Context, actor, id, why string) error {
	if strings.HasPrefix(id, "config:") {
		return ErrConfigEntry
	}
	es, err := s.st.AllowEntries(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(es, func(e *store.AllowEntry) bool { return e.ID == id })
	if i < 0 {
		return ErrNotFound
	}
	before := es[i]
	now := s.now().UTC()
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteAllow(id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrNotFound
			}
			return err
		}
		_, err := audit.Append(tx, now, audit.Event{Actor: actor, Action: audit.ActionAllowRemove, Data: map[string]any{
			"id": id, "before": entryData(before), "why": why}})
		return err
	})
	if err != nil {
		return err
	}
	s.log.Info("allowlist entry removed", zap.String("actor", actor), zap.String("value", before.Value))
	s.reload(ctx)
	return nil
}

// History returns the audit entries about one allowlist entry.
//
// The log is read in pages; for an entry that still exists the scan
// starts at the time it was added, since nothing about it precedes that.
func (s *Service) History(ctx context.Context, id string) ([]*store.AuditEntry, error) {
	f := store.AuditFilter{Limit: 5000}
	if es, err := s.st.AllowEntries(ctx); err == nil {
		for _, e := range es {
			if e.ID == id && !e.Added.IsZero() {
				f.Since = e.Added.Add(-time.Second)
			}
		}
	}
	var out []*store.AuditEntry
	needle := `"id":"` + id + `"`
	for {
		page, err := s.st.Audit(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			if strings.HasPrefix(e.Action, audit.PrefixAllow) && strings.Contains(string(e.Data), needle) {
				out = append(out, e)
			}
		}
		if len(page) < f.Limit {
			return out, nil
		}
		f.AfterSeq = page[len(page)-1].Seq
	}
}

func entryData(e *store.AllowEntry) map[string]any {
	d := map[string]any{"kind": e.Kind, "value": e.Value, "reason": e.Reason, "added_by": e.AddedBy}
	if !e.Expires.IsZero() {
		d["expires"] = e.Expires.Format(time.RFC3339)
	}
	if len(e.Senders) > 0 {
		d["senders"] = e.Senders
	}
	if e.FreeMail {
		d["free_mail"] = true
	}
	return d
}

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
