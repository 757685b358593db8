// Package sharelink recognises links that grant access to shared files:
// Google Drive, OneDrive, SharePoint, Dropbox, Box, transfer services,
// presigned object-storage URLs, and self-hosted servers such as Nextcloud
// that the organisation names by host.
//
// A catalogue entry (ProviderSpec) names the hosts of a provider and what
// marks a *share* on them: path patterns, query parameters or fragment
// patterns. A provider's help, pricing, sign-in and marketing pages carry
// none of those marks and do not match. The built-in catalogue is
// Builtin(); the configuration extends it:
//
//   - a config entry with a new name is added after the built-in ones;
//   - a config entry with the name of a built-in entry replaces it;
//   - a config entry with disable = true removes the entry of that name.
//
// The catalogue also keeps the list of URL shorteners (BuiltinShorteners,
// extended by [[sharelink.shortener]]): a link through one of them, or
// through a redirector the inspector could not unwrap, is an unknown
// destination (UnknownDestination), since the guard never follows links.
//
// Matching is a map lookup on the exact host and then on each parent
// domain (for "*.suffix" patterns), so its cost does not grow with the
// catalogue; only the few entries registered for a host run their
// patterns. The package is pure and a Catalog is safe for concurrent use.
package sharelink

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/problem"
)

// Kinds of provider. Kind is informational (shown in verdicts) and can be
// used by rules; it does not change how an entry matches.
const (
	KindSaaS       = "saas"       // cloud storage or collaboration service
	KindTransfer   = "transfer"   // file-transfer service (WeTransfer, GigaFile便, …)
	KindSignedURL  = "signed-url" // presigned object-storage URL
	KindNextcloud  = "nextcloud"
	KindOwnCloud   = "owncloud"
	KindProself    = "proself"
	KindSeafile    = "seafile"
	KindSynology   = "synology"
	KindSelfHosted = "self-hosted" // any other server the organisation runs
)

var kinds = []string{KindSaaS, KindTransfer, KindSignedURL, KindNextcloud, KindOwnCloud, KindProself, KindSeafile, KindSynology, KindSelfHosted}

// ProviderSpec is one catalogue entry as written in TOML (an element of a
// [[…provider]] array).
//
// A URL is a share of this provider when its host matches Hosts, no
// ExcludePath pattern matches its path, and it carries a share mark: a
// Path pattern matches the path, or a Fragment pattern matches the
// fragment, or one of the Query alternatives is present. With RequireAll,
// every kind of mark the entry lists must be present instead of any one.
// An entry that lists no marks at all matches every URL on its hosts.
type ProviderSpec struct {
	// Name identifies the entry; a config entry with a built-in entry's
	// name replaces it. Compared case-insensitively.
	Name string `toml:"name" json:"name"`
	// Provider is the name shown in verdicts and used by rules; entries
	// that describe one service on several hosts share it. Default: Name.
	Provider string `toml:"provider" json:"provider,omitempty"`
	// Kind: "saas", "transfer", "signed-url", "nextcloud", "owncloud",
	// "proself", "seafile", "synology", "self-hosted". Default "saas".
	Kind string `toml:"kind" json:"kind,omitempty"`
	// Hosts are exact host names ("drive.google.com"), "*.suffix" for
	// every subdomain of suffix (not suffix itself), or "*" for any host
	// (only for entries whose mark is unmistakable on any host, such as a
	// presigned-URL signature). IDN names may be written in Unicode.
	Hosts []string `toml:"hosts" json:"hosts"`
	// Path are regular expressions (RE2) on the percent-decoded path,
	// which always starts with "/"; anchor them with "^".
	Path []string `toml:"path" json:"path,omitempty"`
	// Fragment are regular expressions on the fragment (after "#").
	Fragment []string `toml:"fragment" json:"fragment,omitempty"`
	// Query are query parameter names whose presence marks a share,
	// compared case-insensitively; "a&b" requires both a and b.
	Query []string `toml:"query" json:"query,omitempty"`
	// RequireAll: the path, fragment and query marks the entry lists must
	// all be present, rather than any one of them.
	RequireAll bool `toml:"require_all" json:"require_all,omitempty"`
	// ExcludePath are regular expressions on the path; a match means the
	// URL is not a share (help, pricing, sign-in and marketing pages).
	ExcludePath []string `toml:"exclude_path" json:"exclude_path,omitempty"`
	// NoHint: a host of this entry seen inside a wrapper that cannot be
	// unwrapped does not count as a share. Set it for hosts that serve much
	// besides shares (a shop, a meeting service, an object store).
	NoHint bool `toml:"no_hint" json:"no_hint,omitempty"`
	// Disable removes the entry of this name (built-in or earlier).
	Disable bool `toml:"disable" json:"disable,omitempty"`
}

// SelfHostedSpec names a file-sharing server the organisation runs. Its
// share paths are known from Kind; its host is the organisation's own.
type SelfHostedSpec struct {
	// Kind: "nextcloud", "owncloud", "proself", "seafile" or "synology".
	Kind string `toml:"kind" json:"kind"`
	// Host: exact host name or "*.suffix".
	Host string `toml:"host" json:"host"`
}

// Match says which provider a link belongs to and why it is a share.
type Match struct {
	Provider string `json:"provider"`
	Kind     string `json:"kind"`
	Entry    string `json:"entry"` // catalogue entry name
	Why      string `json:"why"`   // e.g. "path ^/s/", "query X-Amz-Signature", "opaque wrapper (www.dropbox.com)"
}

// ErrInvalid is wrapped by the *Error that New returns.
var ErrInvalid = errors.New("sharelink: invalid catalogue")

// Problem is one thing wrong with the catalogue configuration. Key is the
// path of the offending value relative to the section holding the lists,
// e.g. "provider[2].path[0]" or "self_hosted[0].kind".
type Problem = problem.Problem

// Error lists every problem found; it wraps ErrInvalid.
type Error = problem.Error

// Catalog is a compiled catalogue. It is immutable and safe for concurrent
// use.
type Catalog struct {
	entries []*entry
	exact   map[string][]*entry // host → entries
	suffix  map[string][]*entry // "sharepoint.com" for "*.sharepoint.com"
	any     []*entry            // Hosts = ["*"]
	// anyQueryOnly: every entry in any is marked by query parameters
	// alone, so a URL without "?" cannot match one of them.
	anyQueryOnly bool
	// providers maps lower-cased provider and entry names to the provider
	// name, for rule validation.
	providers map[string]string
	// URL shorteners by exact host and by suffix ("*.page.link").
	shortExact, shortSuffix map[string]*shortener
}

type entry struct {
	name, provider, kind string
	markers              []marker
	exclude              []*regexp.Regexp
	hint                 bool
}

// marker is one way a URL can be marked as a share.
type marker struct {
	path, fragment []*regexp.Regexp
	query          [][]string // alternatives; each a conjunction of lower-cased names
	querySrc       []string
	requireAll     bool
	why            string // prefix of Match.Why for self-hosted entries
}

// New compiles the built-in catalogue overlaid with specs (see the package
// doc for the override rules) and the self-hosted servers, with the
// built-in URL shorteners. It returns an *Error listing every problem.
func New(specs []ProviderSpec, selfHosted []SelfHostedSpec) (*Catalog, error) {
	return NewConfig(Config{Providers: specs, SelfHosted: selfHosted})
}

// Config is the catalogue's part of the configuration ([sharelink]).
type Config struct {
	Providers  []ProviderSpec   `toml:"provider"`
	SelfHosted []SelfHostedSpec `toml:"self_hosted"`
	// Shorteners extend or override the built-in URL shortener list.
	Shorteners []ShortenerSpec `toml:"shortener"`
}

// NewConfig compiles the built-in catalogue and shortener list overlaid
// with cfg. It returns an *Error listing every problem.
func NewConfig(cfg Config) (*Catalog, error) {
	return compile(Builtin(), cfg.Providers, cfg.SelfHosted, BuiltinShorteners(), cfg.Shorteners)
}

// Compile compiles specs and selfHosted without the built-in catalogue or
// shorteners.
func Compile(specs []ProviderSpec, selfHosted []SelfHostedSpec) (*Catalog, error) {
	return compile(nil, specs, selfHosted, nil, nil)
}

func compile(builtin, specs []ProviderSpec, selfHosted []SelfHostedSpec, builtinShort, short []ShortenerSpec) (*Catalog, error) {
	type item struct {
		spec ProviderSpec
		key  string // key prefix for problems
	}
	var items []item
	index := map[string]int{} // lower name → position in items
	for _, s := range builtin {
		index[strings.ToLower(s.Name)] = len(items)
		items = append(items, item{s, "builtin[" + s.Name + "]"})
	}
	var probs problems
	seen := map[string]int{} // lower name → index in specs
	for i, s := range specs {
		key := fmt.Sprintf("provider[%d]", i)
		lname := strings.ToLower(strings.TrimSpace(s.Name))
		if lname == "" {
			probs.add(key+".name", "must not be empty", "a unique name such as \"acme-transfer\"; use a built-in name to replace that entry")
			continue
		}
		if j, dup := seen[lname]; dup {
			probs.add(key+".name", fmt.Sprintf("duplicate name %q (also provider[%d])", s.Name, j), "each entry needs its own name")
			continue
		}
		seen[lname] = i
		if j, ok := index[lname]; ok {
			items[j] = item{s, key} // replace in place, keeping the order
		} else {
			index[lname] = len(items)
			items = append(items, item{s, key})
		}
	}

	c := &Catalog{
		exact:     map[string][]*entry{},
		suffix:    map[string][]*entry{},
		providers: map[string]string{},
	}
	for _, it := range items {
		if it.spec.Disable {
			continue
		}
		e := compileSpec(it.spec, it.key, &probs)
		if e == nil {
			continue
		}
		c.add(e, it.spec.Hosts)
	}
	for i, sh := range selfHosted {
		key := fmt.Sprintf("self_hosted[%d]", i)
		e := compileSelfHosted(sh, key, &probs)
		if e == nil {
			continue
		}
		c.add(e, []string{sh.Host})
	}
	c.anyQueryOnly = true
	for _, e := range c.any {
		for _, m := range e.markers {
			if len(m.path)+len(m.fragment) > 0 || len(m.query) == 0 || m.requireAll {
				c.anyQueryOnly = false
			}
		}
	}
	// Self-hosted providers may be named by rules before any host is
	// configured, e.g. providers = ["Nextcloud"].
	for _, k := range selfHostedKinds {
		c.providers[strings.ToLower(k.provider)] = k.provider
	}
	c.shortExact, c.shortSuffix = compileShorteners(builtinShort, short, &probs)
	c.markCapable()
	if len(probs) > 0 {
		return nil, problem.List(probs).Err("sharelink", ErrInvalid)
	}
	return c, nil
}

// add registers e under its (already validated) host patterns.
func (c *Catalog) add(e *entry, hosts []string) {
	c.entries = append(c.entries, e)
	c.providers[strings.ToLower(e.provider)] = e.provider
	c.providers[strings.ToLower(e.name)] = e.provider
	for _, h := range hosts {
		h, _ = normalizePattern(h)
		switch {
		case h == "*":
			c.any = append(c.any, e)
		case strings.HasPrefix(h, "*."):
			c.suffix[h[2:]] = append(c.suffix[h[2:]], e)
		default:
			c.exact[h] = append(c.exact[h], e)
		}
	}
}

type problems problem.List

func (p *problems) add(key, what, hint string) { (*problem.List)(p).Add(key, what, hint) }

func compileSpec(s ProviderSpec, key string, probs *problems) *entry {
	n := len(*probs)
	e := &entry{name: strings.TrimSpace(s.Name), provider: strings.TrimSpace(s.Provider), kind: s.Kind, hint: !s.NoHint}
	if e.provider == "" {
		e.provider = e.name
	}
	if e.kind == "" {
		e.kind = KindSaaS
	}
	if !validKind(e.kind) {
		probs.add(key+".kind", fmt.Sprintf("unknown kind %q", s.Kind), "one of "+strings.Join(kinds, ", "))
	}
	if len(s.Hosts) == 0 {
		probs.add(key+".hosts", "no hosts", "e.g. hosts = [\"files.example.com\", \"*.files.example.com\"]")
	}
	for j, h := range s.Hosts {
		if _, err := normalizePattern(h); err != "" {
			probs.add(fmt.Sprintf("%s.hosts[%d]", key, j), err, "an exact host name, \"*.example.com\" for its subdomains, or \"*\" for any host")
		}
	}
	m := marker{requireAll: s.RequireAll}
	m.path = compileRegexps(s.Path, key+".path", probs)
	m.fragment = compileRegexps(s.Fragment, key+".fragment", probs)
	e.exclude = compileRegexps(s.ExcludePath, key+".exclude_path", probs)
	for j, q := range s.Query {
		var alt []string
		for _, name := range strings.Split(q, "&") {
			name = strings.TrimSpace(name)
			if name == "" {
				probs.add(fmt.Sprintf("%s.query[%d]", key, j), fmt.Sprintf("%q has an empty parameter name", q), "a parameter name, or names joined by \"&\" that must all be present")
				alt = nil
				break
			}
			alt = append(alt, strings.ToLower(name))
		}
		if alt != nil {
			m.query = append(m.query, alt)
			m.querySrc = append(m.querySrc, q)
		}
	}
	if len(s.Hosts) > 0 && isAnyHost(s.Hosts) && len(m.path)+len(m.fragment)+len(m.query) == 0 {
		probs.add(key+".hosts", "\"*\" with no path, fragment or query mark would match every link", "list the marks that identify a share on any host")
	}
	if len(*probs) > n {
		return nil
	}
	e.markers = []marker{m}
	return e
}

func isAnyHost(hosts []string) bool {
	for _, h := range hosts {
		if strings.TrimSpace(h) == "*" {
			return true
		}
	}
	return false
}

func validKind(k string) bool {
	for _, x := range kinds {
		if k == x {
			return true
		}
	}
	return false
}

func compileRegexps(srcs []string, key string, probs *problems) []*regexp.Regexp {
	var out []*regexp.Regexp
	for j, src := range srcs {
		if src == "" {
			probs.add(fmt.Sprintf("%s[%d]", key, j), "empty pattern", "a regular expression such as \"^/s/\"")
			continue
		}
		re, err := regexp.Compile(src)
		if err != nil {
			probs.add(fmt.Sprintf("%s[%d]", key, j), fmt.Sprintf("bad regular expression %q: %v", src, unwrapRegexpErr(err)), "RE2 syntax, see https://golang.org/s/re2syntax")
			continue
		}
		out = append(out, re)
	}
	return out
}

// unwrapRegexpErr drops the "error parsing regexp: " prefix that would
// repeat what the problem already says.
func unwrapRegexpErr(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

// normalizePattern validates a host pattern and returns it normalised
// (lower-case, A-labels, no trailing dot). The second result is a problem
// description, "" when the pattern is fine.
func normalizePattern(p string) (string, string) {
	p = strings.TrimSpace(p)
	if p == "*" {
		return p, ""
	}
	wild := strings.HasPrefix(p, "*.")
	host := strings.TrimPrefix(p, "*.")
	if strings.ContainsAny(host, "*/:@ ") {
		return "", fmt.Sprintf("%q is not a host name or \"*.suffix\" pattern", p)
	}
	a, ok := asciiHost(host)
	if !ok || a == "" {
		return "", fmt.Sprintf("%q is not a host name", p)
	}
	if wild && !strings.Contains(a, ".") {
		return "", fmt.Sprintf("%q would match a whole top-level domain", p)
	}
	if wild {
		return "*." + a, ""
	}
	return a, ""
}

// Providers returns the provider names known to the catalogue, sorted,
// including the self-hosted kinds' names.
func (c *Catalog) Providers() []string {
	set := map[string]bool{}
	for _, p := range c.providers {
		set[p] = true
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Provider resolves a provider or entry name, case-insensitively, to the
// provider name that Match reports.
func (c *Catalog) Provider(name string) (string, bool) {
	p, ok := c.providers[strings.ToLower(strings.TrimSpace(name))]
	return p, ok
}

// Kinds returns the kinds an entry may have.
func Kinds() []string { return append([]string(nil), kinds...) }

// Len returns the number of entries (built-in, configured and self-hosted).
func (c *Catalog) Len() int { return len(c.entries) }

// Match reports whether link grants access to shared files. It looks at
// link.URL (using link.Host when set), and for a link the inspector could
// not unwrap (link.Opaque) also at link.Hints: a hinted host of a provider
// counts as that provider.
func (c *Catalog) Match(link message.Link) (Match, bool) {
	if m, ok := c.MatchURL(link.URL, link.Host); ok {
		return m, true
	}
	if link.Opaque {
		for _, h := range link.Hints {
			if m, ok := c.matchHint(h); ok {
				return m, true
			}
		}
	}
	return Match{}, false
}

// MatchURL reports whether rawURL is a share link. host, when not empty,
// is the URL's host already normalised (lower-case A-labels); otherwise it
// is taken from rawURL.
func (c *Catalog) MatchURL(rawURL, host string) (Match, bool) {
	// The URL is split only when an entry for its host needs the path or
	// query: most links in a message belong to no provider at all.
	l := lazyTarget{raw: rawURL}
	if host == "" {
		host = l.get().host
	} else {
		host = normalizeHost(host)
	}
	if host == "" {
		return Match{}, false
	}
	if m, ok := c.tryAll(c.exact[host], &l); ok {
		return m, true
	}
	for h := host; ; {
		i := strings.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
		if es := c.suffix[h]; es != nil {
			if m, ok := c.tryAll(es, &l); ok {
				return m, true
			}
		}
	}
	if len(c.any) == 0 || c.anyQueryOnly && strings.IndexByte(rawURL, '?') < 0 {
		return Match{}, false
	}
	return c.tryAll(c.any, &l)
}

// lazyTarget splits a URL on first use.
type lazyTarget struct {
	raw    string
	t      target
	parsed bool
}

func (l *lazyTarget) get() *target {
	if !l.parsed {
		l.t = splitURL(l.raw)
		l.parsed = true
	}
	return &l.t
}

func (c *Catalog) tryAll(es []*entry, l *lazyTarget) (Match, bool) {
	for _, e := range es {
		if why, ok := e.match(l.get()); ok {
			return Match{Provider: e.provider, Kind: e.kind, Entry: e.name, Why: why}, true
		}
	}
	return Match{}, false
}

func (e *entry) match(t *target) (string, bool) {
	for _, re := range e.exclude {
		if re.MatchString(t.path) {
			return "", false
		}
	}
	for i := range e.markers {
		if why, ok := e.markers[i].match(t); ok {
			return why, true
		}
	}
	return "", false
}

func (m *marker) match(t *target) (string, bool) {
	var pathRe, fragRe *regexp.Regexp
	q := -1
	groups, hits := 0, 0
	if len(m.path) > 0 {
		groups++
		if pathRe = firstMatch(m.path, t.path); pathRe != nil {
			hits++
		}
	}
	if len(m.fragment) > 0 {
		groups++
		if fragRe = firstMatch(m.fragment, t.fragment); fragRe != nil {
			hits++
		}
	}
	if len(m.query) > 0 {
		groups++
		if q = m.queryMatch(t.params); q >= 0 {
			hits++
		}
	}
	switch {
	case groups == 0:
		return m.why + "host", true
	case hits == 0, m.requireAll && hits < groups:
		return "", false
	}
	var whys []string
	if pathRe != nil {
		whys = append(whys, "path "+pathRe.String())
	}
	if fragRe != nil {
		whys = append(whys, "fragment "+fragRe.String())
	}
	if q >= 0 {
		whys = append(whys, "query "+m.querySrc[q])
	}
	return m.why + strings.Join(whys, ", "), true
}

func firstMatch(res []*regexp.Regexp, s string) *regexp.Regexp {
	for _, re := range res {
		if re.MatchString(s) {
			return re
		}
	}
	return nil
}

// queryMatch returns the index of the first alternative whose names are
// all present, or -1.
func (m *marker) queryMatch(params []string) int {
	if len(params) == 0 {
		return -1
	}
	for i, alt := range m.query {
		all := true
		for _, name := range alt {
			if !contains(params, name) {
				all = false
				break
			}
		}
		if all {
			return i
		}
	}
	return -1
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// matchHint treats a host seen inside an opaque wrapper as a share of the
// provider that host belongs to.
func (c *Catalog) matchHint(h string) (Match, bool) {
	host, ok := asciiHost(h)
	if !ok || host == "" {
		return Match{}, false
	}
	pick := func(es []*entry) (Match, bool) {
		for _, e := range es {
			if e.hint {
				return Match{Provider: e.provider, Kind: e.kind, Entry: e.name, Why: "opaque wrapper (" + host + ")"}, true
			}
		}
		return Match{}, false
	}
	if m, ok := pick(c.exact[host]); ok {
		return m, true
	}
	for h := host; ; {
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return Match{}, false
		}
		h = h[i+1:]
		if m, ok := pick(c.suffix[h]); ok {
			return m, true
		}
	}
}
