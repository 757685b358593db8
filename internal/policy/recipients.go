package policy

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/egressguard/egressguard/internal/lookalike"
	"github.com/egressguard/egressguard/internal/mailaddr"
	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/problem"
)

// Lists is the allowlist as the engine sees it. Allowlists become editable
// at runtime and sender-scoped later; the engine reads them only through
// this interface. sender and rcpt are normalised by the engine: lower-case,
// domain in IDNA A-label form; sender is "" for the null sender. entry is
// the allowlist entry that matched, for the verdict's evidence.
// Implementations must be safe for concurrent use.
type Lists interface {
	Allowed(sender, rcpt string, now time.Time) (entry string, ok bool)
}

// StaticList is an allowlist built once from configuration entries:
//
//	"example.com"       the domain itself (not its subdomains)
//	".example.com"      the domain and all its subdomains
//	"*.example.com"     the same
//	"user@example.com"  that address only
//
// Matching is case-insensitive and IDN domains may be written in Unicode.
// It ignores the sender and the time.
type StaticList struct {
	addrs   map[string]string // normalised address → entry
	domains map[string]string // exact domain → entry
	trees   map[string]string // domain whose subtree is allowed → entry

	lkOnce sync.Once
	lk     *lookalike.Index
}

// NewStaticList parses entries. It returns an *Error listing every bad
// entry, keyed "allow[i]".
func NewStaticList(entries []string) (*StaticList, error) {
	l, probs := parseEntries(entries, "allow")
	if len(probs) > 0 {
		return nil, problem.List(probs).Err("policy", ErrInvalid)
	}
	return l, nil
}

func parseEntries(entries []string, key string) (*StaticList, problems) {
	l := &StaticList{addrs: map[string]string{}, domains: map[string]string{}, trees: map[string]string{}}
	var probs problems
	for i, raw := range entries {
		k := fmt.Sprintf("%s[%d]", key, i)
		// One parser for every allowlist entry, in the configuration and
		// at run time.
		e, err := mailaddr.ParseEntry(raw)
		if errors.Is(err, mailaddr.ErrPublicSuffix) {
			probs.add(k, fmt.Sprintf("%q is a public suffix shared by unrelated organisations", e.Value),
				"name the organisation's own domain, e.g. \"example.co.jp\"")
			continue
		}
		switch e.Kind {
		case mailaddr.EntryAddress:
			if err != nil {
				probs.add(k, fmt.Sprintf("%q is not an address", raw), "\"user@example.com\" for one address, \"example.com\" or \".example.com\" for domains")
				continue
			}
			l.addrs[e.Value] = raw
		case mailaddr.EntrySubdomains:
			if err != nil {
				probs.add(k, fmt.Sprintf("%q is not a domain pattern", raw), "\".example.com\" or \"*.example.com\" for a domain and its subdomains")
				continue
			}
			l.trees[e.Value] = raw
		default:
			if err != nil {
				probs.add(k, fmt.Sprintf("%q is not a domain or address", raw), "\"example.com\", \".example.com\" (with subdomains) or \"user@example.com\"")
				continue
			}
			l.domains[e.Value] = raw
		}
	}
	return l, probs
}

// Allowed implements Lists.
func (l *StaticList) Allowed(_ string, rcpt string, _ time.Time) (string, bool) {
	return l.lookup(rcpt)
}

// lookup matches a normalised address.
func (l *StaticList) lookup(addr string) (string, bool) {
	if l == nil {
		return "", false
	}
	if e, ok := l.addrs[addr]; ok {
		return e, true
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", false
	}
	d := addr[at+1:]
	if e, ok := l.domains[d]; ok {
		return e, true
	}
	if len(l.trees) == 0 {
		return "", false
	}
	for {
		if e, ok := l.trees[d]; ok {
			return e, true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return "", false
		}
		d = d[i+1:]
	}
}

// Len returns the number of entries.
func (l *StaticList) Len() int { return len(l.addrs) + len(l.domains) + len(l.trees) }

// domainSet is a set of domains that match themselves and their
// subdomains.
type domainSet map[string]bool

func (s domainSet) contains(d string) bool {
	if len(s) == 0 || d == "" {
		return false
	}
	for {
		if s[d] {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return false
		}
		d = d[i+1:]
	}
}

// normalizeAddr returns addr lower-cased with its domain in A-label form,
// and the domain. Angle brackets and surrounding space are removed. ok is
// false when addr has no local part or no valid domain.
func normalizeAddr(addr string) (norm, domain string, ok bool) {
	a := strings.TrimSpace(addr)
	a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 {
		return "", "", false
	}
	local := a[:at]
	if strings.ContainsAny(local, " \t\r\n<>") {
		return "", "", false
	}
	d, ok := normalizeDomain(a[at+1:])
	if !ok {
		return "", "", false
	}
	return strings.ToLower(local) + "@" + d, d, true
}

// normalizeDomain returns d lower-cased in A-label form, or ok = false if
// it is not a plausible domain name. Address literals ("[192.0.2.1]") are
// kept as written: they are never internal and match only exact entries.
func normalizeDomain(d string) (string, bool) {
	d = strings.TrimSpace(d)
	if strings.HasPrefix(d, "[") && strings.HasSuffix(d, "]") && len(d) > 2 {
		return strings.ToLower(d), true
	}
	if !plausibleLength(d) {
		return "", false
	}
	n := message.NormalizeHost(d)
	if !validDomain(n) {
		return "", false
	}
	return n, true
}

// validDomain checks an A-label domain name: labels of letters, digits,
// hyphens and underscores, at most 63 octets, 253 in total, at least two
// labels.
func validDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// plausibleLength rejects names that cannot become a valid domain (253
// octets, labels of 63) even in their shortest A-label form. It bounds the
// IDNA conversion, which is quadratic in a label's length.
func plausibleLength(d string) bool {
	if d == "" || len(d) > 1024 {
		return false
	}
	for len(d) > 0 {
		label, rest, _ := strings.Cut(d, ".")
		if len(label) > 63*4 {
			return false
		}
		d = rest
	}
	return true
}

// LookalikeIndexes implements LookalikeSource: the list's domains, and the
// domains of its addresses, as allowlisted domains.
func (l *StaticList) LookalikeIndexes() []*lookalike.Index {
	if l == nil {
		return nil
	}
	l.lkOnce.Do(func() {
		var ds []lookalike.Domain
		for d := range l.domains {
			ds = append(ds, lookalike.Domain{Name: d, Kind: lookalike.Allowlisted})
		}
		for d := range l.trees {
			ds = append(ds, lookalike.Domain{Name: d, Kind: lookalike.Allowlisted})
		}
		for a := range l.addrs {
			ds = append(ds, lookalike.Domain{Name: a[strings.LastIndexByte(a, '@')+1:], Kind: lookalike.Allowlisted})
		}
		l.lk = lookalike.New(ds)
	})
	return []*lookalike.Index{l.lk}
}

// NormalizeAddr is the engine's address normaliser for the packages that
// keep records the engine reads (the correspondents record): addr
// lower-cased with its domain in A-label form, angle brackets and
// surrounding space removed, and the domain. It keeps a subaddress
// ("user+tag@…" is its own address, as mail servers route it); the form
// without it, which tells whose mailbox a message is from, is
// account.NormalizeMailbox. ok is false when addr has no
// local part or no valid domain.
func NormalizeAddr(addr string) (norm, domain string, ok bool) { return normalizeAddr(addr) }
