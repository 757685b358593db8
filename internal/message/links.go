package message

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"
	"golang.org/x/text/unicode/norm"
)

// maxLinksPerText bounds what one text yields; a message stuffed with
// millions of URLs must not make Facts unbounded.
const maxLinksPerText = 10000

// ExtractLinks returns the URLs in free text, each once, in order of first
// appearance, as written (after NFKC normalisation of full-width and other
// compatibility forms of ASCII) and with trailing
// punctuation and quoting removed. It finds
//
//   - http, https and ftp URLs, also glued to surrounding text without a
//     space, as in Japanese ("資料はhttps://example.com/aです。");
//   - full-width URLs ("ｈｔｔｐｓ：／／…"), through NFKC;
//   - schemeless "www." hosts;
//   - bare host names with a path whose top-level domain is a public
//     suffix ("drive.google.com/file/d/…", "1drv.ms/u/s!…").
//
// Scheme URLs may have an internationalised host; their path ends at the
// first non-ASCII character, because in mail a URL glued to Japanese text
// is far more common than a raw IRI path. Parentheses are kept when
// balanced (Wikipedia-style paths) and dropped when they close around the
// URL.
//
// Written the way browsers read them, "https:\\host\path" and
// "https:/\host" count too, and a URL in angle brackets that was folded
// across lines ("<https://host/a/\n b>", RFC 3986 appendix C) is joined.
func ExtractLinks(text string) []string {
	out, _ := extractLinks(text)
	return out
}

// extractLinks is ExtractLinks; complete is false when the text holds more
// than maxLinksPerText URLs and the rest were not read.
func extractLinks(text string) (out []string, complete bool) {
	if needsNFKC(text) {
		text = foldCompat(text)
	}
	complete = true
	var seen map[string]bool
	emit := func(u string) {
		if len(out) >= maxLinksPerText {
			if !seen[u] {
				complete = false
			}
			return
		}
		if seen == nil {
			seen = make(map[string]bool)
		}
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	last := 0 // end of the last URL found; nothing before it is reconsidered
	// Only ':', '/' and 'w' can start a link; the finder skips the text
	// between them at memchr speed instead of looking at every byte.
	cand := newByteFinder(text, ':', '/', 'w', 'W')
	for i := cand.from(0); i < len(text); i = cand.from(i + 1) {
		switch c := text[i]; {
		case c == ':':
			// Browsers read any run of slashes and backslashes after a
			// web scheme as "//": "https:\\host", "https:/\\host".
			slashes := 0
			for i+1+slashes < len(text) && (text[i+1+slashes] == '/' || text[i+1+slashes] == '\\') {
				slashes++
			}
			if slashes == 0 {
				continue
			}
			start := schemeStart(text, i, last)
			if start < 0 {
				continue
			}
			hostStart := i + 1 + slashes
			end, ok := scanURL(text, hostStart, true)
			if !ok {
				continue
			}
			j, joined, capped := foldedAngleURL(text, start, end)
			if joined != "" {
				emit(joined)
				last = j
				i = last - 1
				continue
			}
			complete = complete && !capped
			if u := trimURL(text[start:end]); len(u) > hostStart-start {
				emit(u)
				last = start + len(u)
				i = last - 1
			}
		case c == 'w' || c == 'W':
			if !hasPrefixFold(text[i:], "www.") || (i > last && !wordBoundary(text[i-1])) {
				continue
			}
			end, ok := scanURL(text, i, false)
			if !ok {
				continue
			}
			u := trimURL(text[i:end])
			if h := hostPart(u); len(h) > 4 && publicHost(h[4:]) {
				emit(u)
				last = i + len(u)
				i = last - 1
			}
		case c == '/':
			j := i
			for j > last && isHostByte(text[j-1]) {
				j--
			}
			for j < i && (text[j] == '.' || text[j] == '-') {
				j++
			}
			if j == i || (j > last && !wordBoundary(text[j-1])) || !publicHost(text[j:i]) {
				continue
			}
			u := trimURL(text[j:scanPath(text, i)])
			emit(u)
			last = j + len(u)
			i = last - 1
		}
	}
	return out, complete
}

// maxFoldedURL bounds how far a URL in angle brackets is followed across
// line breaks.
const maxFoldedURL = 4096

// foldedAngleURL joins a URL in angle brackets ("<https://…>" or
// "<URL:https://…>") that a line break interrupts: text[start:end] is the
// URL up to the break. Whitespace up to the closing ">" is dropped, as RFC
// 3986 appendix C says a reader should. It returns the position after
// the ">" and the joined URL, or "" when there is no such fold: no
// bracket before, no line break at end, anything but URL characters and
// blanks before the ">". capped is true when the fold ran past
// maxFoldedURL and was not followed to its end.
func foldedAngleURL(text string, start, end int) (next int, joined string, capped bool) {
	if end >= len(text) || (text[end] != '\n' && text[end] != '\r' && text[end] != ' ' && text[end] != '\t') {
		return 0, "", false
	}
	if !(start > 0 && text[start-1] == '<') && !(start >= 5 && strings.EqualFold(text[start-5:start], "<URL:")) {
		return 0, "", false
	}
	limit := min(len(text), start+maxFoldedURL)
	var b strings.Builder
	newline := false
	for j := end; j < limit; j++ {
		switch c := text[j]; {
		case c == '>':
			if !newline || b.Len() == 0 {
				return 0, "", false
			}
			u := trimURL(text[start:end] + b.String())
			return j + 1, u, false
		case c == '\n' || c == '\r':
			newline = true
		case c == ' ' || c == '\t':
		case c < utf8.RuneSelf && (isURLByte(c) || c == '\\'):
			b.WriteByte(c)
		default:
			return 0, "", false
		}
	}
	return 0, "", newline && limit < len(text)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// needsNFKC reports whether s holds characters whose NFKC form can make
// up a URL: the full-width and small-form blocks (ｈｔｔｐｓ：／／, ．),
// one-dot leaders, circled and mathematical alphanumerics. Normalising only
// then keeps ordinary text, Japanese included, off the slow path.
func needsNFKC(s string) bool {
	for _, lead := range foldLeads {
		for i := 0; ; i++ {
			j := strings.IndexByte(s[i:], lead)
			if j < 0 {
				break
			}
			i += j
			if i+2 >= len(s) {
				break
			}
			if foldsAt(s, i) {
				return true
			}
		}
	}
	return false
}

// foldLeads are the lead bytes of the characters needsNFKC looks for.
var foldLeads = [...]byte{0xEF, 0xE2, 0xF0}

// foldsAt reports whether s[i], one of foldLeads with two more bytes
// after it, starts a character needsNFKC looks for.
func foldsAt(s string, i int) bool {
	switch s[i] {
	case 0xEF: // U+FE50..FE6F small forms, U+FF00..FF7F full-width
		c := s[i+1]
		return c == 0xB9 || c == 0xBC || c == 0xBD
	case 0xE2: // U+2024..2026 leaders, U+2460..24FF enclosed alphanumerics
		c := s[i+1]
		return c == 0x80 && s[i+2] >= 0xA4 && s[i+2] <= 0xA6 || c >= 0x91 && c <= 0x93
	case 0xF0: // U+1D400..1D7FF mathematical alphanumerics
		return s[i+1] == 0x9D
	}
	return false
}

// byteFinder finds the next occurrence of any of a few bytes in s with one
// strings.IndexByte per byte value and occurrence, which is much faster
// than a loop over every byte when the bytes are rare.
type byteFinder struct {
	s    string
	c    []byte
	next []int // next[k]: position of c[k] at or after the last query, len(s) if none
}

func newByteFinder(s string, c ...byte) *byteFinder {
	next := make([]int, len(c))
	for k := range next {
		next[k] = -1
	}
	return &byteFinder{s: s, c: c, next: next}
}

// from returns the position of the first of the bytes at or after i, or
// len(s). Queries must not go backwards.
func (f *byteFinder) from(i int) int {
	m := len(f.s)
	for k, c := range f.c {
		if f.next[k] < i {
			f.next[k] = len(f.s)
			if i < len(f.s) {
				if j := strings.IndexByte(f.s[i:], c); j >= 0 {
					f.next[k] = i + j
				}
			}
		}
		m = min(m, f.next[k])
	}
	return m
}

// foldCompat applies NFKC to the characters needsNFKC looks for and leaves
// the rest of s alone. Normalising the whole text would be simpler, but
// NFKC expands some characters eighteen-fold (U+FDFA), which a hostile
// message could use to multiply its memory cost; the characters folded
// here expand at most four-fold. Full-width ASCII, by far the most common,
// is mapped directly.
func foldCompat(s string) string {
	b := make([]byte, 0, len(s)+len(s)/4)
	if !utf8.ValidString(s) {
		return string(foldRunes(b, s))
	}
	// Valid UTF-8 comes out unchanged except for the folded characters,
	// which all start with one of foldLeads: what lies between those is
	// copied whole.
	leads := newByteFinder(s, foldLeads[:]...)
	for i := 0; i < len(s); {
		j := leads.from(i)
		b = append(b, s[i:j]...)
		if j == len(s) {
			break
		}
		_, size := utf8.DecodeRuneInString(s[j:])
		b = foldRunes(b, s[j:j+size])
		i = j + size
	}
	return string(b)
}

// foldRunes appends s to b with the characters needsNFKC looks for
// folded, and invalid UTF-8 replaced by U+FFFD.
func foldRunes(b []byte, s string) []byte {
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			b = append(b, byte(r-0xFEE0))
		case r >= 0xFE50 && r <= 0xFE6F, r >= 0x2024 && r <= 0x2026,
			r >= 0x2460 && r <= 0x24FF, r >= 0x1D400 && r <= 0x1D7FF:
			b = norm.NFKC.AppendString(b, string(r))
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// wordBoundary reports whether c may precede a schemeless host: not part of
// a word, a path, an e-mail address or another URL.
func wordBoundary(c byte) bool {
	if c >= utf8.RuneSelf {
		return true // Japanese text glued to the host
	}
	if isHostByte(c) {
		return false
	}
	return strings.IndexByte("@/\\_%&?#~+$!", c) < 0
}

// schemeStart returns where the scheme ending at text[colon] starts, or -1
// if it is not one we report. Letters glued before the scheme
// ("見るにはhttps://", "linkhttps://") are not part of it.
func schemeStart(text string, colon, last int) int {
	for _, s := range [...]string{"https", "http", "ftp"} {
		st := colon - len(s)
		if st >= last && strings.EqualFold(text[st:colon], s) {
			return st
		}
	}
	return -1
}

// scanURL scans a URL whose host starts at hostStart and returns where it
// ends. ok is false when there is no host at all. With backslash, a
// backslash counts as a slash in the path, as browsers read web URLs.
func scanURL(text string, hostStart int, backslash bool) (int, bool) {
	i := hostStart
	nonASCII := false
	for i < len(text) {
		c := text[i]
		if c < utf8.RuneSelf {
			if c == '/' || c == '?' || c == '#' || !isURLByte(c) {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
			break
		}
		nonASCII = true
		i += size
	}
	if nonASCII {
		// "https://example.comをご覧ください": the Japanese text glued to
		// the host is not part of it. The last label is cut where it turns
		// from ASCII to non-ASCII; a wholly non-ASCII label (an IDN TLD)
		// stays.
		host := strings.TrimRight(text[hostStart:i], ".")
		dot := strings.LastIndexByte(host, '.')
		label := host[dot+1:]
		if len(label) > 0 && label[0] < utf8.RuneSelf {
			for k := 0; k < len(label); k++ {
				if label[k] >= utf8.RuneSelf {
					return hostStart + dot + 1 + k, true
				}
			}
		}
	}
	if i == hostStart {
		return i, false
	}
	if backslash {
		return scanPathBackslash(text, i), true
	}
	return scanPath(text, i), true
}

// scanPath returns where a URL's path, query and fragment starting at i
// end.
func scanPath(text string, i int) int {
	if i < len(text) && (text[i] == '/' || text[i] == '?' || text[i] == '#') {
		for i < len(text) && text[i] < utf8.RuneSelf && isURLByte(text[i]) {
			i++
		}
	}
	return i
}

// scanPathBackslash is scanPath for a URL with a scheme, where a
// backslash is a path separator too ("https:\\host\path").
func scanPathBackslash(text string, i int) int {
	if i < len(text) && (text[i] == '/' || text[i] == '?' || text[i] == '#' || text[i] == '\\') {
		for i < len(text) && text[i] < utf8.RuneSelf && (isURLByte(text[i]) || text[i] == '\\') {
			i++
		}
	}
	return i
}

// isURLByte reports whether an ASCII byte can be part of a URL in text.
func isURLByte(c byte) bool {
	if c <= ' ' || c == 0x7f {
		return false
	}
	switch c {
	case '"', '<', '>', '\\', '^', '`', '{', '|', '}':
		return false
	}
	return true
}

// trimURL drops trailing punctuation that ends a sentence or closes
// quoting around a URL, keeping balanced parentheses and brackets.
func trimURL(u string) string {
	// Counted once: a URL followed by thousands of ")" must not cost a
	// count per character.
	openP, closeP := strings.Count(u, "("), strings.Count(u, ")")
	openB, closeB := strings.Count(u, "["), strings.Count(u, "]")
	for len(u) > 0 {
		switch u[len(u)-1] {
		case '.', ',', ';', ':', '!', '?', '\'', '"', '*':
			u = u[:len(u)-1]
			continue
		case '(':
			// An opening bracket at the end comes from text such as
			// "https://x.example/a（注）" after NFKC.
			u, openP = u[:len(u)-1], openP-1
			continue
		case '[':
			u, openB = u[:len(u)-1], openB-1
			continue
		case ')':
			if openP < closeP {
				u, closeP = u[:len(u)-1], closeP-1
				continue
			}
		case ']':
			if openB < closeB {
				u, closeB = u[:len(u)-1], closeB-1
				continue
			}
		}
		break
	}
	return u
}

// hostPart returns the authority of a schemeless or scheme URL, without
// user info and port.
func hostPart(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexAny(u, "/?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.LastIndexByte(u, '@'); i >= 0 {
		u = u[i+1:]
	}
	if i := strings.LastIndexByte(u, ':'); i >= 0 {
		u = u[:i]
	}
	return u
}

// publicHost reports whether h is a host name under a public suffix
// (ICANN section of the public suffix list) with at least one label of its
// own: "drive.google.com", "1drv.ms", "example.co.jp", not "file.txt" or
// "co.jp".
func publicHost(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if len(h) < 4 || !strings.Contains(h, ".") || len(h) > 253 {
		return false
	}
	if !isASCII(h) {
		h = NormalizeHost(h)
		if h == "" {
			return false
		}
	} else {
		h = strings.ToLower(h)
	}
	for i := 0; i < len(h); i++ {
		if !isHostByte(h[i]) {
			return false
		}
	}
	ps, icann := publicsuffix.PublicSuffix(h)
	return icann && len(ps) < len(h) && h[len(h)-len(ps)-1] == '.' && h[0] != '.'
}

// hostsInText returns the hosts a short text names, as URLs or as bare
// domain names ("example.com", "drive.google.com"). It serves the
// link-text mismatch check.
func hostsInText(s string) []string {
	var out []string
	for _, u := range ExtractLinks(s) {
		if p, ok := parseURL(u); ok {
			out = append(out, p.host)
		}
	}
	if len(out) > 0 {
		return out
	}
	if needsNFKC(s) {
		s = foldCompat(s)
	}
	return findDomains(s, 4)
}

// findDomains returns up to n bare domain names in s.
func findDomains(s string, n int) []string {
	var out []string
	for i := 0; i < len(s) && len(out) < n; {
		if !isHostByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isHostByte(s[j]) {
			j++
		}
		tok := strings.Trim(s[i:j], ".-")
		if (i == 0 || s[i-1] != '@') && publicHost(tok) {
			out = append(out, strings.ToLower(tok))
		}
		i = j
	}
	return out
}
