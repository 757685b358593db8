package message

import (
	"encoding/base64"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"

	"github.com/egressguard/egressguard/internal/mailaddr"
)

// maxUnwrap bounds nested redirectors. A URL still wrapped after that many
// layers is reported as opaque.
const maxUnwrap = 8

// maxHints bounds the hostnames reported for one opaque URL.
const maxHints = 16

// NormalizeHost returns h lower-cased, in IDNA A-label form, without port,
// brackets, trailing dot or percent-escapes. It returns "" for an empty or
// unusable host. IPv6 literals are returned without brackets.
func NormalizeHost(h string) string {
	h = strings.TrimSpace(h)
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return ""
		}
		return ipv6(h[1:end])
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if strings.Count(h, ":") > 1 {
			return ipv6(h)
		}
		h = h[:i]
	}
	if strings.Contains(h, "%") {
		h = string(percentDecode(h))
	}
	h = strings.TrimRight(h, ".")
	if !validHost(h) {
		return ""
	}
	if isASCII(h) {
		return strings.ToLower(h)
	}
	// Not valid under UTS 46 (e.g. underscores next to non-ASCII): still
	// a stable ASCII form rather than nothing.
	h = mailaddr.LenientASCII(h)
	h = strings.TrimRight(h, ".")
	if !validHost(h) || !isASCII(h) {
		return ""
	}
	return h
}

// ipv6 returns a lower-cased IPv6 literal, "" if it is not one.
func ipv6(h string) string {
	a, err := netip.ParseAddr(h)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return ""
	}
	return a.String()
}

// validHost rejects hosts with WHATWG forbidden host code points (and
// percent signs left after decoding): such a host is no host.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; c <= ' ' || c == 0x7f || strings.IndexByte("#%/:<>?@[\\]^|", c) >= 0 {
			return false
		}
	}
	return true
}

// parsedURL is a URL split the way a browser would for http(s)/ftp:
// backslashes as slashes, tabs and line breaks removed.
type parsedURL struct {
	scheme   string
	host     string // normalised
	port     string // "" when absent or the scheme's default
	path     string // as written, "/" when empty
	query    string // raw, without "?"
	fragment string // raw, without "#"
	hasQuery bool
	hasFrag  bool
}

func (u parsedURL) String() string {
	var b strings.Builder
	b.Grow(len(u.scheme) + len(u.host) + len(u.path) + len(u.query) + len(u.fragment) + 10)
	b.WriteString(u.scheme)
	b.WriteString("://")
	if strings.Contains(u.host, ":") {
		b.WriteString("[" + u.host + "]")
	} else {
		b.WriteString(u.host)
	}
	if u.port != "" {
		b.WriteString(":" + u.port)
	}
	b.WriteString(u.path)
	if u.hasQuery {
		b.WriteString("?" + u.query)
	}
	if u.hasFrag {
		b.WriteString("#" + u.fragment)
	}
	return b.String()
}

// rest is everything after the authority, as written.
func (u parsedURL) rest() string {
	s := u.path
	if u.hasQuery {
		s += "?" + u.query
	}
	if u.hasFrag {
		s += "#" + u.fragment
	}
	return s
}

var defaultPort = map[string]string{"http": "80", "https": "443", "ftp": "21"}

// URL is a URL split leniently, the way a browser splits an http(s) URL,
// without failing (see SplitURL). It is the one URL parser for links: the
// message package finds and unwraps links with it, and the share-link
// catalogue matches on its pieces.
type URL struct {
	Scheme   string // lower-case; "" when the URL had none
	Host     string // NormalizeHost's form; "" when there is no usable host
	Port     string // as written, without ":"; "" when absent
	Path     string // as written with "\" as "/"; "/" when empty
	Query    string // raw, without "?"
	Fragment string // raw, without "#"

	HasQuery, HasFragment bool
}

// SplitURL splits s into its pieces without failing:
//
//   - spaces, quotes and angle brackets around it are trimmed, and tabs
//     and line breaks inside it removed;
//   - "http:", "https:" and "ftp:" are schemes with or without slashes
//     after them ("https:\\host" too), any other scheme only when "//"
//     follows; a URL without a scheme may start with "//" or with its host;
//   - user info is dropped (it is not where the link goes), and the port
//     is split off;
//   - backslashes count as slashes.
//
// Anything it cannot make sense of ends up in the path, where it simply
// fails to match.
func SplitURL(s string) URL {
	u, _, _ := splitURL(s, true)
	return URL{Scheme: u.scheme, Host: u.host, Port: u.port, Path: u.path, Query: u.query, Fragment: u.fragment,
		HasQuery: u.hasQuery, HasFragment: u.hasFrag}
}

// How a URL string begins.
const (
	withScheme    = iota // "https:", "ftp:", "other://"
	protoRelative        // "//host"
	schemeless           // "host/path"
)

// splitURL is SplitURL, with the authority as written (without "//") and
// how the URL began. Without otherSchemes, only http, https and ftp are
// schemes, and "other://…" begins with its host, as links are found.
func splitURL(s string, otherSchemes bool) (u parsedURL, auth string, begin int) {
	s = strings.Trim(s, " \t\r\n\f\v<>\"'")
	if strings.ContainsAny(s, "\t\r\n") {
		s = strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(s)
	}
	rest := s
	begin = schemeless
	if i := strings.IndexByte(s, ':'); i > 0 && schemeSyntax(s[:i]) {
		switch sch := strings.ToLower(s[:i]); {
		case isScheme(sch):
			u.scheme, rest, begin = sch, strings.TrimLeft(s[i+1:], `/\`), withScheme
		case otherSchemes && strings.HasPrefix(s[i+1:], "//"):
			u.scheme, rest, begin = sch, s[i+3:], withScheme
		}
	}
	if begin == schemeless && strings.HasPrefix(s, "//") {
		rest, begin = s[2:], protoRelative
	}
	end := strings.IndexAny(rest, `/?#\`)
	if end < 0 {
		end = len(rest)
	}
	auth = rest[:end]
	rest = rest[end:]
	a := auth
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		a = a[i+1:]
	}
	hostport := a
	if strings.HasPrefix(a, "[") {
		if i := strings.IndexByte(a, ']'); i >= 0 {
			hostport = a[:i+1]
			if p, ok := strings.CutPrefix(a[i+1:], ":"); ok {
				u.port = p
			}
		}
	} else if i := strings.LastIndexByte(a, ':'); i >= 0 {
		hostport, u.port = a[:i], a[i+1:]
	}
	u.host = NormalizeHost(hostport)
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		u.fragment, u.hasFrag = rest[i+1:], true
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		u.query, u.hasQuery = rest[i+1:], true
		rest = rest[:i]
	}
	u.path = strings.ReplaceAll(rest, `\`, "/")
	if u.path == "" {
		u.path = "/"
	}
	return u, auth, begin
}

// parseURL parses an absolute http, https or ftp URL, a protocol-relative
// one, or a schemeless "www." or public-suffix host with optional path.
// User info is dropped: it is not where the link goes.
func parseURL(s string) (parsedURL, bool) {
	u, auth, begin := splitURL(s, false)
	switch begin {
	case protoRelative:
		u.scheme = "https"
	case schemeless:
		if strings.IndexByte(auth, '@') >= 0 {
			return u, false // an e-mail address, not a link
		}
		hp := auth
		if i := strings.LastIndexByte(hp, ':'); i >= 0 {
			hp = hp[:i]
		}
		if !hasPrefixFold(hp, "www.") && !publicHost(hp) {
			return u, false
		}
		u.scheme = "http"
	}
	if u.port == defaultPort[u.scheme] {
		u.port = ""
	}
	for i := 0; i < len(u.port); i++ {
		if u.port[i] < '0' || u.port[i] > '9' {
			return u, false
		}
	}
	return u, u.host != ""
}

// isScheme reports whether s is a scheme links are followed for.
func isScheme(s string) bool {
	switch strings.ToLower(s) {
	case "http", "https", "ftp":
		return true
	}
	return false
}

// schemeSyntax reports whether s is a scheme name (RFC 3986: a letter,
// then letters, digits, "+", "-" or ".").
func schemeSyntax(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// Unwrap removes known redirectors around rawURL and returns the URL the
// recipient would finally reach, normalised (scheme and host lower-case,
// host in A-label form, default port and user info dropped, path, query
// and fragment as written). Fragments are kept: some share links (MEGA)
// carry their key there.
//
// wrappers lists the redirectors removed, outermost first: "safelinks"
// (Outlook), "google" (/url?q=), "urldefense" (Proofpoint v1-v3),
// "barracuda", "trendmicro", "cisco", "sophos", "fireeye", "symantec",
// "facebook", "instagram", "slack", "youtube", "linkedin". Parameter values
// encoded more than once are decoded until they are a URL.
//
// opaque is true when the URL is a redirector whose target is not visible
// (Mimecast, a wrapper nested deeper than a bound or encoded more often
// than is decoded); hints then lists host names found in its query and
// path, after percent- and base64-decoding, so that a share provider named
// inside still counts. URL shorteners are not opaque here: which hosts are
// shorteners is the share-link catalogue's list, which admins extend.
//
// A string that is not an http, https or ftp URL (or a schemeless host
// with a public suffix) is returned trimmed, with no wrappers.
func Unwrap(rawURL string) (final string, wrappers []string, opaque bool, hints []string) {
	u, ok := parseURL(rawURL)
	if !ok {
		return strings.TrimSpace(rawURL), nil, false, nil
	}
	u, wrappers, opaque, hints = unwrapURL(u)
	return u.String(), wrappers, opaque, hints
}

func unwrapURL(u parsedURL) (parsedURL, []string, bool, []string) {
	var wrappers []string
	for n := 0; ; n++ {
		name, inner, opaque := unwrapOnce(u)
		if opaque || (name != "" && n == maxUnwrap) {
			return u, wrappers, true, urlHints(u)
		}
		if name == "" {
			return u, wrappers, false, nil
		}
		iu, ok := parseURL(inner)
		if !ok {
			if strings.Contains(inner, "%") {
				// Still encoded after deepUnescape's rounds: where it
				// leads is not known.
				return u, wrappers, true, urlHints(u)
			}
			// The wrapper points at something that is not a web URL
			// (mailto:, garbage): what the recipient reaches is the wrapper.
			return u, wrappers, false, nil
		}
		wrappers = append(wrappers, name)
		u = iu
	}
}

// unwrapOnce recognises one redirector. It returns the wrapper's name and
// the inner URL, or opaque=true for a redirector whose target it cannot
// see, or nothing for a URL that is not a known redirector.
func unwrapOnce(u parsedURL) (name, inner string, opaque bool) {
	h := u.host
	param := func(k string) (string, bool) { return queryParam(u.query, k) }
	switch {
	case strings.HasSuffix(h, ".safelinks.protection.outlook.com"),
		strings.HasSuffix(h, ".safelinks.protection.office365.us"),
		strings.HasSuffix(h, ".safelinks.protection.outlook.cn"),
		h == "safelinks.protection.outlook.com":
		if v, ok := param("url"); ok {
			return "safelinks", deepUnescape(v), false
		}
		return "", "", true
	case isGoogleHost(h) && strings.TrimSuffix(u.path, "/") == "/url":
		for _, k := range []string{"q", "url"} {
			if v, ok := param(k); ok && v != "" {
				return "google", deepUnescape(v), false
			}
		}
		return "", "", true
	case h == "urldefense.proofpoint.com" || h == "urldefense.com" || h == "urldefense.us":
		if v, ok := proofpoint(u); ok {
			return "urldefense", v, false
		}
		return "", "", true
	case h == "linkprotect.cudasvc.com":
		if v, ok := param("a"); ok {
			return "barracuda", deepUnescape(v), false
		}
		return "", "", true
	case strings.HasSuffix(h, ".trendmicro.com") && strings.Contains(u.path, "/clicktime/"):
		if v, ok := param("url"); ok {
			return "trendmicro", deepUnescape(v), false
		}
		return "", "", true
	case h == "secure-web.cisco.com":
		// https://secure-web.cisco.com/<token>/<percent-encoded URL>
		p := u.rest()
		low := strings.ToLower(p)
		if i := strings.Index(low, "/http"); i >= 0 {
			return "cisco", deepUnescape(p[i+1:]), false
		}
		return "", "", true
	case strings.HasSuffix(h, ".protection.sophos.com"):
		if v, ok := param("u"); ok {
			if d, ok := decodeB64Text(deepUnescape(v)); ok {
				return "sophos", d, false
			}
		}
		return "", "", true
	case h == "protect2.fireeye.com" || h == "protect.fireeye.com":
		if v, ok := param("u"); ok {
			return "fireeye", deepUnescape(v), false
		}
		return "", "", true
	case h == "clicktime.symantec.com":
		if v, ok := param("u"); ok {
			return "symantec", deepUnescape(v), false
		}
		return "", "", true
	case (h == "l.facebook.com" || h == "lm.facebook.com" || h == "www.facebook.com" || h == "m.facebook.com") && u.path == "/l.php":
		if v, ok := param("u"); ok {
			return "facebook", deepUnescape(v), false
		}
	case h == "l.instagram.com":
		if v, ok := param("u"); ok {
			return "instagram", deepUnescape(v), false
		}
	case h == "slack-redir.net":
		if v, ok := param("url"); ok {
			return "slack", deepUnescape(v), false
		}
	case h == "www.youtube.com" && u.path == "/redirect":
		if v, ok := param("q"); ok {
			return "youtube", deepUnescape(v), false
		}
	case h == "www.linkedin.com" && strings.HasPrefix(u.path, "/redir/redirect"):
		if v, ok := param("url"); ok {
			return "linkedin", deepUnescape(v), false
		}
	case strings.HasSuffix(h, ".mimecast.com") && strings.HasPrefix(h, "protect"),
		strings.HasSuffix(h, ".mimecastprotect.com") || h == "mimecastprotect.com":
		return "", "", true
	}
	return "", "", false
}

// isGoogleHost reports whether h is google.<public suffix>, with or
// without "www.": google.com, www.google.co.jp.
func isGoogleHost(h string) bool {
	h = strings.TrimPrefix(h, "www.")
	rest, ok := strings.CutPrefix(h, "google.")
	if !ok {
		return false
	}
	ps, icann := publicsuffix.PublicSuffix(h)
	return icann && ps == rest
}

// queryParam returns the first value of key in a raw query, decoded once
// (without turning "+" into a space: wrappers percent-encode "+", and a
// literal one in an inner URL must survive).
func queryParam(q, key string) (string, bool) {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k == key || string(percentDecode(k)) == key {
			return string(percentDecode(v)), true
		}
	}
	return "", false
}

// rawQueryParam is queryParam without decoding.
func rawQueryParam(q, key string) (string, bool) {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k == key {
			return v, true
		}
	}
	return "", false
}

// deepUnescape percent-decodes v until it starts like a URL, at most a few
// times: wrappers applied over wrappers double and triple encode.
func deepUnescape(v string) string {
	for range 4 {
		if looksLikeURL(v) || !strings.Contains(v, "%") {
			return v
		}
		v = string(percentDecode(v))
	}
	return v
}

func looksLikeURL(v string) bool {
	return hasPrefixFold(v, "http://") || hasPrefixFold(v, "https://") ||
		hasPrefixFold(v, "ftp://") || hasPrefixFold(v, "www.")
}

// proofpoint decodes the three Proofpoint URL Defense formats.
func proofpoint(u parsedURL) (string, bool) {
	switch {
	case strings.HasPrefix(u.path, "/v1/url"):
		if v, ok := queryParam(u.query, "u"); ok {
			return deepUnescape(v), true
		}
	case strings.HasPrefix(u.path, "/v2/url"):
		// v2: the URL is percent-encoded with "-" for "%" and "_" for "/".
		if v, ok := rawQueryParam(u.query, "u"); ok {
			v = strings.NewReplacer("-", "%", "_", "/").Replace(v)
			return deepUnescape(string(percentDecode(v))), true
		}
	case strings.HasPrefix(u.path, "/v3/__"):
		return proofpointV3(strings.TrimPrefix(u.rest(), "/v3/__"))
	}
	return "", false
}

// v3RunLength maps the character after "**" to the length of a run of
// replaced characters.
const v3RunChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// proofpointV3 decodes "<url>__;<base64url of replaced chars>!!…": in
// <url>, "*" stands for the next replaced character and "**X" for a run of
// them whose length X encodes.
func proofpointV3(s string) (string, bool) {
	end := strings.Index(s, "__;")
	if end < 0 {
		return "", false
	}
	enc := string(percentDecode(s[:end]))
	tail := s[end+3:]
	if i := strings.IndexByte(tail, '!'); i >= 0 {
		tail = tail[:i]
	}
	var repl []rune
	if tail != "" {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(tail, "="))
		if err != nil {
			return "", false
		}
		repl = []rune(string(b))
	}
	var out strings.Builder
	k := 0
	for i := 0; i < len(enc); i++ {
		if enc[i] != '*' {
			out.WriteByte(enc[i])
			continue
		}
		n := 1
		if i+2 < len(enc) && enc[i+1] == '*' {
			n = strings.IndexByte(v3RunChars, enc[i+2]) + 2
			if n < 2 {
				return "", false
			}
			i += 2
		}
		if k+n > len(repl) {
			return "", false
		}
		out.WriteString(string(repl[k : k+n]))
		k += n
	}
	return out.String(), true
}

// decodeB64Text decodes standard or URL-safe base64, padded or not, and
// reports whether the result is printable text.
func decodeB64Text(s string) (string, bool) {
	s = strings.TrimRight(s, "=")
	if len(s) < 8 {
		return "", false
	}
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !utf8.Valid(b) {
		return "", false
	}
	for _, c := range b {
		if c < ' ' || c == 0x7f {
			return "", false
		}
	}
	return string(b), true
}

// urlHints lists host names visible inside an opaque redirector URL: in
// query values and path segments, percent-decoded, and base64-decoded when
// they look like it.
func urlHints(u parsedURL) []string {
	var cands []string
	for q := u.query; q != ""; {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		_, v, _ := strings.Cut(kv, "=")
		cands = append(cands, v)
	}
	cands = append(cands, strings.Split(u.path, "/")...)
	if u.fragment != "" {
		cands = append(cands, u.fragment)
	}
	var hints []string
	add := func(h string) {
		if h != "" && h != u.host && len(hints) < maxHints && !contains(hints, h) {
			hints = append(hints, h)
		}
	}
	for _, c := range cands {
		if c == "" {
			continue
		}
		// Decode every layer: inside an opaque or too deep wrapper, the
		// hosts of all the layers are of interest.
		for range maxUnwrap {
			d := string(percentDecode(c))
			if d == c {
				break
			}
			c = d
		}
		texts := []string{c}
		if d, ok := decodeB64Text(c); ok {
			texts = append(texts, d)
		}
		for _, t := range texts {
			for _, l := range ExtractLinks(t) {
				if p, ok := parseURL(l); ok {
					add(p.host)
				}
			}
			for _, d := range findDomains(t, maxHints) {
				add(NormalizeHost(d))
			}
		}
	}
	return hints
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// embeddedURLs returns the absolute URLs carried in the values of a raw
// query. There is no bound of its own: the caller's bound on the links of
// a message applies, and reports when it is reached.
func embeddedURLs(q string) []string {
	var out []string
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		_, v, _ := strings.Cut(kv, "=")
		if len(v) < 10 || (v[0] != 'h' && v[0] != 'H') {
			continue
		}
		v = deepUnescape(v)
		if hasPrefixFold(v, "http://") || hasPrefixFold(v, "https://") {
			out = append(out, v)
		}
	}
	return out
}
