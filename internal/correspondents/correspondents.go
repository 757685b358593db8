// Package correspondents learns whom the organisation writes to. Every
// delivery adds its sender and accepted recipients to the store's
// correspondents record, in the transaction that records the delivery
// (see outbound.Config.Delivered); `egressguard correspondents import`
// seeds the record from an existing mail log. The policy engine reads it
// through Service, which implements policy.Correspondents (first
// contact) and offers the domains mailed regularly to the look-alike
// check.
//
// The domains are kept in memory, refreshed in the background at most
// once per RefreshEvery (default 1 minute); a domain not in memory is
// looked up in the store, so a first contact made a moment ago on
// another instance is known at once. Whether one sender wrote to one
// address is a primary-key read. A store that cannot answer makes the
// recipient a first contact: the signal fails towards review.
package correspondents

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/lookalike"
	"github.com/egressguard/egressguard/internal/policy"
	"github.com/egressguard/egressguard/internal/store"
)

// lookupTimeout bounds one read made while a message is judged; a store
// slower than that makes the recipient a first contact.
const lookupTimeout = 500 * time.Millisecond

// Options tune a Service.
type Options struct {
	// RefreshEvery bounds how stale the in-memory domains may be; default
	// 1 minute.
	RefreshEvery time.Duration
	// MinMessages: a domain enters the look-alike index as a regular
	// correspondent once this many deliveries to it are recorded; default
	// 2, so that one message approved to a mistyped domain does not make
	// the typo trusted.
	MinMessages int64
	// Internal reports internal recipients, which are not recorded (nil:
	// every recipient is).
	Internal func(addr string) bool
	Now      func() time.Time
}

// Service reads and writes the correspondents record.
type Service struct {
	st   store.Store
	log  *zap.Logger
	opts Options

	snap    atomic.Pointer[snapshot]
	checked atomic.Int64 // unix nanos of the last refresh start
	loading atomic.Bool
}

type snapshot struct {
	domains map[string]bool
	// found holds domains a read found after the snapshot was taken, so
	// that a domain first mailed since the last refresh costs one read,
	// not one per message until the next refresh.
	found   sync.Map
	regular []string // domains with MinMessages deliveries or more, sorted
	index   *lookalike.Index
}

// New returns a Service; call Load before the first message.
func New(st store.Store, log *zap.Logger, o Options) *Service {
	if o.RefreshEvery <= 0 {
		o.RefreshEvery = time.Minute
	}
	if o.MinMessages <= 0 {
		o.MinMessages = 2
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{st: st, log: log.Named("correspondents"), opts: o}
	s.snap.Store(&snapshot{domains: map[string]bool{}, index: lookalike.New(nil)})
	return s
}

// Load reads the domains from the store now.
func (s *Service) Load(ctx context.Context) error {
	s.checked.Store(s.opts.Now().UnixNano())
	ds, err := s.st.CorrespondentDomains(ctx, 1)
	if err != nil {
		return err
	}
	sn := &snapshot{domains: make(map[string]bool, len(ds))}
	for _, d := range ds {
		sn.domains[d.Domain] = true
		if d.Count >= s.opts.MinMessages {
			sn.regular = append(sn.regular, d.Domain) // sorted by the store
		}
	}
	if old := s.snap.Load(); old != nil && slices.Equal(old.regular, sn.regular) {
		// Building the index is the costly part; most refreshes find
		// the same regular correspondents.
		sn.index = old.index
	} else {
		trusted := make([]lookalike.Domain, 0, len(sn.regular))
		for _, d := range sn.regular {
			trusted = append(trusted, lookalike.Domain{Name: d, Kind: lookalike.Correspondent})
		}
		sn.index = lookalike.New(trusted)
	}
	s.snap.Store(sn)
	return nil
}

// current returns the snapshot and starts a background refresh when it
// is due; the caller never waits for one.
func (s *Service) current() *snapshot {
	now := s.opts.Now().UnixNano()
	if now-s.checked.Load() >= int64(s.opts.RefreshEvery) && s.loading.CompareAndSwap(false, true) {
		s.checked.Store(now)
		go func() {
			defer s.loading.Store(false)
			defer func() {
				if r := recover(); r != nil {
					s.log.Error("correspondents refresh panicked", zap.Any("panic", r))
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Load(ctx); err != nil {
				s.log.Warn("correspondents refresh failed; using the last snapshot", zap.Error(err))
			}
		}()
	}
	return s.snap.Load()
}

// LookalikeIndex returns the domains mailed regularly, as trusted
// domains for the look-alike check.
func (s *Service) LookalikeIndex() *lookalike.Index { return s.current().index }

// Contacted implements policy.Correspondents.
func (s *Service) Contacted(sender, rcpt string, now time.Time) (domain, address bool) {
	if !s.ContactedDomain(rcpt, now) {
		return false, false
	}
	if sender == "" {
		return true, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	_, err := s.st.Correspondent(ctx, sender, rcpt)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("correspondents lookup failed; treating the recipient as new", zap.Error(err))
	}
	return true, err == nil
}

// ContactedDomain implements policy.Correspondents: from memory, or for a
// domain not known there, one read.
func (s *Service) ContactedDomain(rcpt string, _ time.Time) bool {
	_, d, ok := policy.NormalizeAddr(rcpt)
	if !ok {
		return false
	}
	sn := s.current()
	if sn.domains[d] {
		return true
	}
	if _, ok := sn.found.Load(d); ok {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	_, err := s.st.CorrespondentDomain(ctx, d)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("correspondents lookup failed; treating the recipient as new", zap.Error(err))
	}
	if err == nil {
		sn.found.Store(d, true)
	}
	return err == nil
}

// Record adds a delivery from sender to rcpts at at, in tx. Internal and
// unparseable recipients, and mail from the null sender (bounces), are
// not recorded.
func (s *Service) Record(tx store.Tx, sender string, rcpts []string, at time.Time) error {
	from, _, ok := policy.NormalizeAddr(sender)
	if !ok {
		return nil
	}
	for _, r := range rcpts {
		c, ok := s.correspondent(from, r, at, at, 1)
		if !ok {
			continue
		}
		if err := tx.AddCorrespondent(c); err != nil {
			return err
		}
	}
	return nil
}

// Delivered is Record in the shape of outbound.Config.Delivered.
func (s *Service) Delivered(tx store.Tx, m *store.Message, idx []int, at time.Time) error {
	rcpts := make([]string, 0, len(idx))
	for _, i := range idx {
		rcpts = append(rcpts, m.Rcpts[i].Addr)
	}
	return s.Record(tx, m.From, rcpts, at)
}

// correspondent builds a record for a normalised sender, or ok = false
// for a recipient that is not recorded.
func (s *Service) correspondent(from, rcpt string, first, last time.Time, n int64) (*store.Correspondent, bool) {
	to, d, ok := policy.NormalizeAddr(rcpt)
	if !ok || d[0] == '[' || !text(from) || !text(to) || s.opts.Internal != nil && s.opts.Internal(to) {
		return nil, false
	}
	return &store.Correspondent{Sender: from, Rcpt: to, Domain: d, First: first.UTC(), Last: last.UTC(), Count: n}, true
}

// text reports whether the store can keep s as text.
func text(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
