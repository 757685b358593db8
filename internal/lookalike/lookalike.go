// Package lookalike tells whether a recipient domain resembles, without
// being, a domain the organisation trusts: one of its own domains, an
// allowlisted domain, a domain it regularly corresponds with, or a major
// free-mail, ISP or carrier domain. It is pure: an Index is built once
// from the trusted domains and answers Lookup in microseconds.
//
// # What counts as resemblance
//
// Domains are compared in lower case, IDN labels in Unicode. The public
// suffix (com, co.jp, ne.jp …) is split off; the rest is the base
// ("gmail", "example", "i.softbank"). A recipient domain d resembles a
// trusted domain t when d is neither t nor a subdomain of any trusted
// domain, and one of these holds (listed from the most specific reason to
// the least, the order in which a match is preferred):
//
//   - confusable: d and t have the same UTS #39 skeleton (Unicode's
//     confusables.txt: Cyrillic а for a, "rn" for m, "1" for l, "0" for
//     o), with "vv" read as w;
//   - separator: they are equal once hyphens, dots and underscores are
//     removed ("example-corp.co.jp" for "examplecorp.co.jp",
//     "exampleco.jp" for "example.co.jp");
//   - embedded: the trusted domain appears whole, label-aligned, inside d
//     ("example.jp.mail-example.test", "example-jp.com"); for bases under
//     4 characters only when more labels follow it ("me.com.example.net",
//     not "shop-au.com");
//   - suffix: the same base under another of the suffixes people swap:
//     .com .net .org .jp .co.jp .ne.jp .or.jp .ac.jp .ad.jp .gr.jp .ed.jp
//     .go.jp .co .cm .om .biz .info (example.jp for example.co.jp,
//     gmail.co.jp for gmail.com), or under a mistyped ending one edit from
//     the trusted one (gmail.con, gmail.cmo); bases of 3 characters or
//     more, of 4 for providers;
//   - typo: the same suffix and a base within the Damerau edit distance
//     (adjacent transpositions count as one edit) allowed for the length
//     L of the trusted base: none for L ≤ 3, a transposition only below
//     5 characters for providers and below 7 for the organisation's own
//     kinds, then one edit up to L = 11, two from L = 12; edits are
//     counted on the letters as typed, and again with single-letter
//     confusables replaced (gmia1.com: a slip and a 1 for l).
//
// A recipient with subdomains is also compared by its registrable domain
// (mail.gmial.com resembles gmail.com), when the whole domain resembles
// nothing. The parent of a trusted subdomain (softbank.jp for
// i.softbank.jp) and the parent's other subdomains are not look-alikes:
// they have the same owner. When a domain resembles several trusted ones,
// the match named is the one with the most specific reason (in the order
// above), then the most trusted kind (internal, allowlisted,
// correspondent, provider).
//
// # Why these thresholds
//
// Short names are dense: at one edit from "gmx" lie gmc, gm, gmx's
// neighbours are all real; "aol" is one from "aon", "me" from "mi". So
// bases of three characters or fewer match only through confusables,
// separators, suffixes and embedding, and short bases (live, zoho, and
// company names up to six letters such as nissan, one letter from nissay)
// only through a transposition, the commonest typing slip. Beyond that a
// single edit is rarely another real name in the same suffix (tests
// measure this against 300 popular domains); from twelve characters two
// edits are still a slip, not another organisation.
//
// Lookups across several indexes (the engine's static one and a live one
// of allowlist and correspondents) go through the function Lookup, so that
// a domain trusted by any index is never reported.
package lookalike

import (
	"hash/maphash"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"

	"github.com/egressguard/egressguard/internal/mailaddr"
)

// Kind is why a domain is trusted. Kinds are listed in the order a match
// is preferred when a domain resembles several trusted ones.
type Kind string

// Kinds of trusted domain.
const (
	Internal      Kind = "internal"
	Allowlisted   Kind = "allowlisted"
	Correspondent Kind = "correspondent"
	Provider      Kind = "provider" // free-mail, ISP or carrier
)

func (k Kind) rank() int {
	switch k {
	case Internal:
		return 0
	case Allowlisted:
		return 1
	case Correspondent:
		return 2
	}
	return 3
}

// Reason is how a domain resembles a trusted one.
type Reason string

// Reasons, in the order they are tried.
const (
	Confusable Reason = "confusable"
	Separator  Reason = "separator"
	Suffix     Reason = "suffix"
	Typo       Reason = "typo"
	Embedded   Reason = "embedded"
)

// Domain is a trusted domain as given to New: a domain name (A-label or
// Unicode, any case) and its kind.
type Domain struct {
	Name string
	Kind Kind
}

// Match is a look-alike found by Lookup.
type Match struct {
	Domain   string // the recipient domain, as given (A-label)
	Trusted  string // the trusted domain it resembles (A-label)
	Kind     Kind
	Reason   Reason
	Distance int // edits, for Typo
}

// String says it in English: "gmial.com looks like gmail.com".
func (m Match) String() string {
	return display(m.Domain) + " looks like " + display(m.Trusted)
}

// Japanese says it in Japanese: 「gmial.com は gmail.com に似ています」.
func (m Match) Japanese() string {
	return display(m.Domain) + " は " + display(m.Trusted) + " に似ています"
}

// display is the domain in Unicode, with the A-label in parentheses when
// they differ, so that an officer sees what a mail client shows and what
// is really there.
func display(d string) string {
	if !strings.Contains(d, "xn--") {
		return d
	}
	u := mailaddr.ToUnicode(d)
	if u == d {
		return d
	}
	return u + " (" + d + ")"
}

// swapSuffixes are the public suffixes that people mistake for one
// another; a base under one of them resembles the same base under another.
var swapSuffixes = map[string]bool{
	"com": true, "net": true, "org": true, "jp": true, "co.jp": true, "ne.jp": true, "or.jp": true,
	"ac.jp": true, "ad.jp": true, "gr.jp": true, "ed.jp": true, "go.jp": true,
	"co": true, "cm": true, "om": true, "biz": true, "info": true,
}

// seed hashes the keys of every index, so that the hashes of a
// recipient's keys are computed once for all of them.
var seed = maphash.MakeSeed()

// entry is one trusted domain, prepared.
type entry struct {
	name   string // A-label
	kind   Kind
	ps     string // public suffix, A-label
	psKey  string // folded suffix
	base   string // name without ".ps"
	bkey   string // folded base, separators removed
	tkey   string // base in lower-case Unicode, separators removed, for typos
	blen   int    // characters in the base before folding, separators removed
	full   string // folded name
	sepKey string // folded name, separators removed
	embed  string // name with '-' and '_' as '.'

	dels []uint64 // for a recipient: hashes of tkey and its one-deletion neighbours
	// For a recipient whose letters include confusables of single
	// letters (0 for o, 1 for l, Cyrillic а for a): tkey with those
	// replaced, so that a slip plus a confusable ("gmia1") is still
	// found; "" when no letter changes.
	tkey2 string
	dels2 []uint64
}

// Index answers whether a domain resembles a trusted one. It is immutable
// and safe for concurrent use.
type Index struct {
	entries []entry
	exact   map[string]int32   // name → entry
	full    map[string][]int32 // folded name
	sep     map[string][]int32 // folded name without separators
	base    map[string][]int32 // folded base without separators (suffix swaps)
	dels    map[uint64][]int32 // bkey and its one-deletion neighbours, with psKey
	segs    map[uint64][]int32 // thirds of long bkeys, for two edits
	embed   map[string]int32   // embed form → entry
	parents map[string]bool    // parent domains of trusted subdomains (softbank.jp for i.softbank.jp)
	deep    bool               // some base takes two edits
	lens    map[int]bool       // lengths of the bases that take two edits
	typoPS  map[string]bool    // folded suffixes of the bases that take edits
}

// New builds an index over domains. Names that are not domain names are
// skipped; duplicates keep the most trusted kind.
func New(domains []Domain) *Index {
	ix := &Index{
		exact:   make(map[string]int32, len(domains)),
		full:    make(map[string][]int32, len(domains)),
		sep:     make(map[string][]int32, len(domains)),
		base:    make(map[string][]int32, len(domains)),
		dels:    make(map[uint64][]int32, len(domains)*8),
		segs:    map[uint64][]int32{},
		lens:    map[int]bool{},
		typoPS:  map[string]bool{},
		embed:   make(map[string]int32, len(domains)),
		parents: map[string]bool{},
	}
	ds := slices.Clone(domains)
	slices.SortStableFunc(ds, func(a, b Domain) int { return a.Kind.rank() - b.Kind.rank() })
	for _, d := range ds {
		name, ok := canonical(d.Name)
		if !ok {
			continue
		}
		if _, dup := ix.exact[name]; dup {
			continue
		}
		e := prepare(name, d.Kind)
		id := int32(len(ix.entries))
		ix.entries = append(ix.entries, e)
		ix.exact[name] = id
		ix.full[e.full] = append(ix.full[e.full], id)
		ix.sep[e.sepKey] = append(ix.sep[e.sepKey], id)
		if e.blen >= minSwapBase(e.kind) && swapSuffixes[e.ps] {
			ix.base[e.bkey] = append(ix.base[e.bkey], id)
		}
		if depth := maxEdits(e.blen); depth > 0 {
			ix.typoPS[e.psKey] = true
			psh := maphash.String(seed, e.psKey)
			deletions(e.tkey, func(k []byte) {
				h := maphash.Bytes(seed, k) ^ psh*0x9e3779b97f4a7c15
				if l := ix.dels[h]; len(l) == 0 || l[len(l)-1] != id {
					ix.dels[h] = append(l, id)
				}
			})
			if depth > 1 {
				// Two edits leave at least one of three thirds intact,
				// shifted by at most two characters.
				ix.deep = true
				rs := []rune(e.tkey)
				ix.lens[len(rs)] = true
				for part := range 3 {
					lo, hi := third(len(rs), part)
					h := ix.segHash(len(rs), part, string(rs[lo:hi]), psh)
					ix.segs[h] = append(ix.segs[h], id)
				}
			}
		}
		for p := name; e.ps != "" && p != e.ps; {
			i := strings.IndexByte(p, '.')
			if p = p[i+1:]; p != e.ps {
				ix.parents[p] = true
			}
		}
		if _, dup := ix.embed[e.embed]; !dup {
			ix.embed[e.embed] = id
		}
	}
	return ix
}

// Len returns the number of trusted domains.
func (ix *Index) Len() int {
	if ix == nil {
		return 0
	}
	return len(ix.entries)
}

// Trusted reports whether domain is one of the index's domains or a
// subdomain of one, and which.
func (ix *Index) Trusted(domain string) (string, Kind, bool) {
	if ix == nil || len(ix.entries) == 0 {
		return "", "", false
	}
	d, ok := canonical(domain)
	if !ok {
		return "", "", false
	}
	for {
		if id, ok := ix.exact[d]; ok {
			e := &ix.entries[id]
			return e.name, e.kind, true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return "", "", false
		}
		d = d[i+1:]
	}
}

// Lookup returns how domain resembles a domain of one of the indexes, if
// it does. A domain trusted by any of the indexes (itself or a parent
// domain) is never a look-alike. nil indexes are skipped.
func Lookup(domain string, indexes ...*Index) (Match, bool) {
	d, ok := canonical(domain)
	if !ok {
		return Match{}, false
	}
	for _, ix := range indexes {
		if _, _, ok := ix.Trusted(d); ok {
			return Match{}, false
		}
		if ix != nil && ix.parents[d] {
			// The parent of a trusted domain belongs to the same owner.
			return Match{}, false
		}
	}
	q := prepare(d, "")
	var variants []entry
	variants = append(variants, q)
	if reg, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil && reg != d {
		for _, ix := range indexes {
			if ix != nil && ix.parents[reg] {
				// A sibling of a trusted subdomain (sales.partner.co.jp
				// beside mail.partner.co.jp): the same owner.
				return Match{}, false
			}
		}
		variants = append(variants, prepare(reg, ""))
	}
	// What the whole domain resembles is more telling than what its
	// registrable part does: the latter is tried only when the former
	// resembles nothing.
	var best Match
	found := false
	for i := range variants {
		for _, ix := range indexes {
			if ix == nil || len(ix.entries) == 0 {
				continue
			}
			if v := &variants[i]; v.dels == nil && utf8.RuneCountInString(v.tkey) >= 3 {
				deletions(v.tkey, func(k []byte) { v.dels = append(v.dels, maphash.Bytes(seed, k)) })
				if f := letterFold(v.tkey); f != v.tkey {
					v.tkey2 = f
					deletions(f, func(k []byte) { v.dels2 = append(v.dels2, maphash.Bytes(seed, k)) })
				}
			}
			if m, ok := ix.lookup(domain, &variants[i], i == 0); ok && (!found || better(m, best)) {
				best, found = m, true
			}
		}
		if found {
			break
		}
	}
	return best, found
}

// Lookup is the package function Lookup with this index only.
func (ix *Index) Lookup(domain string) (Match, bool) { return Lookup(domain, ix) }

// better orders matches: the more specific reason first, then the more
// trusted kind, then a trusted domain under the same top-level domain
// (outlook.co.jp is nearer outlook.jp than outlook.com), then fewer edits.
func better(a, b Match) bool {
	if ra, rb := reasonRank(a.Reason), reasonRank(b.Reason); ra != rb {
		return ra < rb
	}
	if a.Kind.rank() != b.Kind.rank() {
		return a.Kind.rank() < b.Kind.rank()
	}
	if sa, sb := sameTLD(a), sameTLD(b); sa != sb {
		return sa
	}
	if a.Distance != b.Distance {
		return a.Distance < b.Distance
	}
	return a.Trusted < b.Trusted
}

func sameTLD(m Match) bool {
	return m.Domain[strings.LastIndexByte(m.Domain, '.')+1:] == m.Trusted[strings.LastIndexByte(m.Trusted, '.')+1:]
}

func reasonRank(r Reason) int {
	switch r {
	case Confusable:
		return 0
	case Separator:
		return 1
	case Embedded:
		return 2
	case Suffix:
		return 3
	}
	return 4
}

// lookup runs the checks of one prepared form of the recipient domain
// against this index; embedded only for the whole domain.
func (ix *Index) lookup(orig string, q *entry, embedded bool) (Match, bool) {
	var best Match
	found := false
	consider := func(id int32, r Reason, dist int) {
		e := &ix.entries[id]
		m := Match{Domain: orig, Trusted: e.name, Kind: e.kind, Reason: r, Distance: dist}
		if !found || better(m, best) {
			best, found = m, true
		}
	}
	for _, id := range ix.full[q.full] {
		consider(id, Confusable, 0)
	}
	for _, id := range ix.sep[q.sepKey] {
		consider(id, Separator, 0)
	}
	if q.ps != "" {
		for _, id := range ix.base[q.bkey] {
			e := &ix.entries[id]
			if e.ps != q.ps && (swapSuffixes[q.ps] || suffixTypo(q.ps, e.ps)) {
				consider(id, Suffix, 0)
			}
		}
	}
	ix.typos(q, q.tkey, q.dels, consider)
	if q.tkey2 != "" {
		ix.typos(q, q.tkey2, q.dels2, consider)
	}
	if embedded {
		if id, ok := ix.embedded(q.embed); ok {
			consider(id, Embedded, 0)
		}
	}
	return best, found
}

// typos finds trusted bases under the same suffix within the edits their
// length allows.
func (ix *Index) typos(q *entry, tkey string, dels []uint64, consider func(int32, Reason, int)) {
	qr := []rune(tkey)
	n := len(qr)
	if n < 3 || !ix.typoPS[q.psKey] {
		return
	}
	psh := maphash.String(seed, q.psKey)
	var seen []int32
	check := func(ids []int32) {
		for _, id := range ids {
			if slices.Contains(seen, id) {
				continue
			}
			seen = append(seen, id)
			e := &ix.entries[id]
			if e.psKey != q.psKey || e.tkey == tkey {
				continue
			}
			max := maxEdits(e.blen)
			d := osa(qr, []rune(e.tkey), max)
			if d == 0 || d > max {
				continue
			}
			if e.blen < minFreeEdit(e.kind) && !transposed(qr, []rune(e.tkey)) {
				continue
			}
			consider(id, Typo, d)
		}
	}
	for _, h := range dels {
		check(ix.dels[h^psh*0x9e3779b97f4a7c15])
	}
	if !ix.deep || n < 10 {
		return
	}
	for l := max(12, n-2); l <= n+2; l++ {
		if !ix.lens[l] {
			continue
		}
		for part := range 3 {
			lo, hi := third(l, part)
			for shift := -2; shift <= 2; shift++ {
				if lo+shift < 0 || hi+shift > n {
					continue
				}
				check(ix.segs[ix.segHash(l, part, string(qr[lo+shift:hi+shift]), psh)])
			}
		}
	}
}

// third returns the bounds of part (0, 1, 2) of a string of n runes.
func third(n, part int) (lo, hi int) { return part * n / 3, (part + 1) * n / 3 }

func (ix *Index) segHash(n, part int, seg string, psh uint64) uint64 {
	return maphash.String(seed, seg) ^ psh*0x9e3779b97f4a7c15 ^ uint64(n<<2|part)*0xbf58476d1ce4e5b9
}

// embedded looks for a trusted domain inside d, label-aligned: windows
// of 2 to 4 labels, as substrings of d.
func (ix *Index) embedded(d string) (int32, bool) {
	var buf [128]int
	starts := append(buf[:0], 0)
	for i := 0; i < len(d); i++ {
		if d[i] == '.' {
			starts = append(starts, i+1)
		}
	}
	n := len(starts)
	for i := range n {
		for k := 2; k <= 4 && i+k <= n; k++ {
			end := len(d)
			if i+k < n {
				end = starts[i+k] - 1
			}
			id, ok := ix.embed[d[starts[i]:end]]
			if !ok {
				continue
			}
			if e := &ix.entries[id]; e.blen < 4 && i+k == n {
				continue
			}
			return id, true
		}
	}
	return 0, false
}

// suffixTypo reports a mistyped ending: one edit away from a trusted
// one, not a swap of two real endings ("con", "cmo", "vom" for com).
func suffixTypo(typed, trusted string) bool {
	return len(typed) >= 2 && osa([]rune(typed), []rune(trusted), 1) == 1
}

// minSwapBase is the shortest base whose suffix swaps count. The
// organisation's own kinds of domain count from three characters
// (nec.co.jp, nec.com); providers from four, because their short names
// under other suffixes are mostly other real services (163.com, 163.net).
func minSwapBase(k Kind) int {
	if k == Provider {
		return 4
	}
	return 3
}

// minFreeEdit is the shortest trusted base for which any single edit
// counts; shorter ones (from 4 characters) match only a transposition.
// Providers are a curated list whose real neighbours are on it too
// (gmail, ymail; mail, email), so their typos count from 5 characters
// (gmai.com, gnail.com). The organisation's own kinds of domain are
// anybody's names, where one letter often makes another real company
// (nissan.co.jp, nissay.co.jp): any edit counts from 7.
func minFreeEdit(k Kind) int {
	if k == Provider {
		return 5
	}
	return 7
}

// maxEdits is the edit distance allowed for a trusted base of n
// characters (see the package comment).
func maxEdits(n int) int {
	switch {
	case n <= 3:
		return 0
	case n <= 11:
		return 1
	}
	return 2
}

// canonical lower-cases d, drops a final dot, and converts it to A-labels;
// ok is false for what is not a domain name.
func canonical(d string) (string, bool) {
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if d == "" || len(d) > 253 || strings.HasPrefix(d, "[") {
		return "", false
	}
	if isASCII(d) {
		d = strings.ToLower(d)
	} else {
		a, err := mailaddr.ToASCII(d)
		if err != nil {
			return "", false
		}
		d = a
	}
	if !strings.Contains(d, ".") || strings.Contains(d, "..") || strings.HasPrefix(d, ".") {
		return "", false
	}
	return d, true
}

// prepare computes the keys of a canonical domain.
func prepare(name string, kind Kind) entry {
	ps, _ := publicsuffix.PublicSuffix(name)
	if ps == name {
		// A bare suffix (or a single label): nothing to split off.
		ps = ""
	}
	base := strings.TrimSuffix(strings.TrimSuffix(name, ps), ".")
	ubase := unicodeOf(base)
	e := entry{
		name:  name,
		kind:  kind,
		ps:    ps,
		psKey: fold(unicodeOf(ps)),
		base:  base,
		blen:  utf8.RuneCountInString(stripSeparators(ubase)),
		full:  fold(unicodeOf(name)),
		embed: strings.NewReplacer("-", ".", "_", ".").Replace(name),
	}
	e.bkey = stripSeparators(fold(ubase))
	// Typos are counted on the letters as typed: the skeleton would turn
	// the slip "exmaple" (m and a swapped) into two edits of "exrnaple".
	e.tkey = stripSeparators(strings.ToLower(ubase))
	e.sepKey = stripSeparators(e.full)
	return e
}

// unicodeOf converts A-labels to Unicode for skeletons; what does not
// convert stays as it is.
func unicodeOf(d string) string {
	if !strings.Contains(d, "xn--") {
		return d
	}
	return mailaddr.ToUnicode(d)
}

// letterFold replaces every character whose confusables.txt prototype is
// one ASCII letter or digit by that prototype, lower-cased: 0 → o, 1 → l,
// Cyrillic а → a. Prototypes of several letters (m → rn) are left out, so
// that the result still counts edits as typed.
func letterFold(s string) string {
	t := loadTable()
	var b []byte
	for i, r := range s {
		p, ok := t.proto[r]
		if !ok || len(p) != 1 || !(p[0] >= 'a' && p[0] <= 'z' || p[0] >= 'A' && p[0] <= 'Z' || p[0] >= '0' && p[0] <= '9') {
			if b != nil {
				b = utf8.AppendRune(b, r)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(s)), s[:i]...)
		}
		c := p[0]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	if b == nil {
		return s
	}
	return string(b)
}

// fold is the comparison form: the skeleton, lower-cased, with "vv" as w.
func fold(s string) string {
	k := strings.ToLower(Skeleton(s))
	if strings.Contains(k, "vv") {
		k = strings.ReplaceAll(k, "vv", "w")
	}
	return k
}

func stripSeparators(s string) string {
	if !strings.ContainsAny(s, ".-_") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && c != '-' && c != '_' {
			b = append(b, c)
		}
	}
	return string(b)
}

// deletions calls fn with s and every string made from s by deleting one
// character (rune). The slice passed to fn is reused.
func deletions(s string, fn func([]byte)) {
	buf := make([]byte, 0, len(s))
	buf = append(buf, s...)
	fn(buf)
	prev := -1
	for i, r := range s {
		if r == rune(prev) {
			continue // deleting either of two equal neighbours gives the same string
		}
		prev = int(r)
		w := utf8.RuneLen(r)
		if w < 0 {
			w = 1
		}
		buf = append(append(buf[:0], s[:i]...), s[i+w:]...)
		fn(buf)
	}
}

// osa is the optimal string alignment distance (Damerau–Levenshtein with
// adjacent transpositions, no substring edited twice), or max+1 once it
// exceeds max.
func osa(a, b []rune, max int) int {
	if d := len(a) - len(b); d > max || -d > max {
		return max + 1
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > max {
			return max + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// transposed reports whether a and b differ by one swap of neighbours.
func transposed(a, b []rune) bool {
	if len(a) != len(b) {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && string(a[i+2:]) == string(b[i+2:])
}
