// Package mailaddr normalises the names mail is addressed by, once for
// every package that compares them: domain names (the one IDNA profile)
// and the allowlist entries that name a domain, a domain with its
// subdomains, or one address, whether they come from the configuration
// (policy) or are added at run time (allowlist).
//
// Addresses have two forms on purpose, both with their domain through
// this package: policy.NormalizeAddr keeps a subaddress ("user+tag@…"
// stays as it is; it tells where mail goes), and account.NormalizeMailbox
// drops it (it tells whose mailbox a message is from, for the four-eyes
// rule).
package mailaddr

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"github.com/egressguard/egressguard/internal/textnorm"
)

// profile is the one IDNA profile: UTS #46 for lookup, non-transitional
// (ß and ς stay themselves, as browsers do), with the STD3 ASCII rules,
// the hyphen, joiner and bidi checks, and full-width forms mapped. It is
// idna.Lookup, spelled out so that a change of that profile's defaults in
// a library upgrade cannot change what the guard compares.
var profile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.BidiRule())

// ToASCII returns host in IDNA A-label form, lower-cased, by the one
// profile. It fails for a name the profile rejects (underscores and other
// characters outside the STD3 rules, bad bidi labels …); callers that must
// still give such a host a stable form (links as found in mail) do so
// themselves.
func ToASCII(host string) (string, error) {
	a, err := profile.ToASCII(host)
	if err != nil {
		return "", err
	}
	return strings.ToLower(a), nil
}

// LenientASCII is ToASCII for hosts as they are found in mail and links:
// a name the profile rejects (underscores next to non-ASCII, a bad bidi
// label …) still gets a stable ASCII form, NFKC-folded, lower-cased and
// Punycode-encoded label by label, rather than none. The result may still
// contain characters no host name has; callers check it.
func LenientASCII(host string) string {
	if a, err := ToASCII(host); err == nil {
		return a
	}
	h := textnorm.Normalize(host).Lower
	if a, err := idna.Punycode.ToASCII(h); err == nil {
		return a
	}
	return h
}

// ToUnicode returns a domain with its A-labels in Unicode, for people. A
// label that is not valid Punycode is shown as written.
func ToUnicode(domain string) string {
	u, err := idna.ToUnicode(domain)
	if err != nil {
		return domain
	}
	return u
}

// Entry kinds (the strings are stored with allowlist entries).
const (
	EntryAddress    = "address"    // one address
	EntryDomain     = "domain"     // the domain itself, not its subdomains
	EntrySubdomains = "subdomains" // the domain and all its subdomains
)

// Entry is a parsed allowlist entry.
type Entry struct {
	Kind  string // EntryAddress, EntryDomain or EntrySubdomains
	Value string // address or domain: lower case, domain as A-label
}

var (
	// ErrInvalidEntry: a malformed domain or address.
	ErrInvalidEntry = errors.New("invalid entry")
	// ErrPublicSuffix: a public suffix (com, co.jp, lg.jp …) would allow a
	// whole namespace of unrelated organisations.
	ErrPublicSuffix = errors.New("public suffix refused")
)

// entryError says what is wrong with an entry; it wraps ErrInvalidEntry
// or ErrPublicSuffix, whose text it leaves to the caller.
type entryError struct {
	err    error
	detail string
}

func (e *entryError) Error() string { return e.detail }
func (e *entryError) Unwrap() error { return e.err }

// ParseEntry parses an allowlist entry as an admin writes it, in the
// configuration or at run time: "user@example.com", "example.com", or
// ".example.com" / "*.example.com" (with subdomains). The domain goes
// through the one IDNA profile; a public suffix, a single-label name and
// an address literal are refused. The returned Entry has its Kind also
// when the entry is refused, and the suffix as its Value when that is the
// problem, so that a caller can word it. The error's text names the
// problem without the sentinel's.
func ParseEntry(s string) (Entry, error) {
	s = strings.TrimSpace(s)
	e := Entry{Kind: EntryDomain}
	switch {
	case strings.Contains(s, "@"):
		e.Kind = EntryAddress
	case strings.HasPrefix(s, "*."):
		e.Kind, s = EntrySubdomains, s[2:]
	case strings.HasPrefix(s, "."):
		e.Kind, s = EntrySubdomains, s[1:]
	}
	local, domain := "", s
	if e.Kind == EntryAddress {
		at := strings.LastIndexByte(s, '@')
		local, domain = s[:at], s[at+1:]
		if local == "" || len(local) > 64 || strings.ContainsAny(local, " \t\r\n<>()[],;:\\\"@") {
			return e, &entryError{ErrInvalidEntry, fmt.Sprintf("%q is not an address", s)}
		}
	}
	a, err := ToASCII(strings.TrimSuffix(domain, "."))
	if err != nil || a == "" || len(a) > 253 {
		return e, &entryError{ErrInvalidEntry, fmt.Sprintf("%q is not a domain name", domain)}
	}
	if ps, icann := publicsuffix.PublicSuffix(a); ps == a && (icann || strings.Contains(a, ".")) {
		e.Value = a // named in the problem
		return e, &entryError{ErrPublicSuffix, fmt.Sprintf("%q is a public suffix shared by unrelated organisations; name the organisation's own domain", a)}
	}
	if !strings.Contains(a, ".") {
		return e, &entryError{ErrInvalidEntry, fmt.Sprintf("%q is not a domain name", domain)}
	}
	if e.Kind == EntryAddress {
		e.Value = strings.ToLower(local) + "@" + a
	} else {
		e.Value = a
	}
	return e, nil
}

// Display returns an entry's value with its domain in Unicode, for people;
// a subdomains entry is shown as ".domain".
func Display(kind, value string) string {
	local, domain := "", value
	if kind == EntryAddress {
		at := strings.LastIndexByte(value, '@')
		local, domain = value[:at+1], value[at+1:]
	}
	domain = ToUnicode(domain)
	if kind == EntrySubdomains {
		return "." + domain
	}
	return local + domain
}
