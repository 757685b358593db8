package sharelink

import (
	"path"
	"strings"
)

// target is a URL split into the pieces the catalogue matches on. It is
// built by splitURL, which is deliberately more lenient than net/url: a
// browser opens "https://www.dropbox.com/s/abc%zz" or a path written with
// backslashes, so the catalogue must not lose such a link just because
// url.Parse would reject it.
type target struct {
	host     string   // lower-case, without userinfo, port or trailing dot
	path     string   // percent-decoded, "/" when empty, dot segments and "//" removed
	fragment string   // percent-decoded, without "#"
	params   []string // query parameter names, percent-decoded and lower-cased
}

// splitURL splits s without failing. Anything it cannot make sense of ends
// up in the path, where it simply fails to match.
func splitURL(s string) target {
	var t target
	if i := strings.Index(s, "://"); i > 0 && isScheme(s[:i]) {
		s = s[i+3:]
	} else {
		s = strings.TrimPrefix(s, "//")
	}
	// Browsers treat "\" like "/" in http(s) URLs.
	end := strings.IndexAny(s, "/?#\\")
	if end < 0 {
		end = len(s)
	}
	t.host = hostOnly(s[:end])
	rest := s[end:]
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		t.fragment = unescape(rest[i+1:], false)
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		t.params = paramNames(rest[i+1:])
		rest = rest[:i]
	}
	t.path = cleanPath(unescape(strings.ReplaceAll(rest, "\\", "/"), false))
	return t
}

func isScheme(s string) bool {
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

// hostOnly strips userinfo and port from an authority and lower-cases it.
func hostOnly(a string) string {
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		a = a[i+1:]
	}
	if strings.HasPrefix(a, "[") {
		if i := strings.IndexByte(a, ']'); i > 0 {
			return strings.ToLower(a[1:i])
		}
		return strings.ToLower(a)
	}
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		a = a[:i]
	}
	return normalizeHost(a)
}

// normalizeHost lower-cases ASCII and drops one trailing dot. Hosts given
// by the message package are already in this form; this is for callers
// (and fuzzed input) that are not.
func normalizeHost(h string) string {
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// paramNames returns the names of the query parameters, decoded and
// lower-cased. Parameter names are compared case-insensitively: a signed
// URL whose signature parameter was re-cased by a mail client is still a
// signed URL.
func paramNames(q string) []string {
	if q == "" {
		return nil
	}
	names := make([]string, 0, strings.Count(q, "&")+1)
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if kv == "" {
			continue
		}
		name, _, _ := strings.Cut(kv, "=")
		if name == "" {
			continue
		}
		names = append(names, strings.ToLower(unescape(name, true)))
	}
	return names
}

// unescape decodes %XX escapes leniently: a malformed escape is kept as
// written. With plus, "+" means a space (query syntax).
func unescape(s string, plus bool) string {
	if strings.IndexByte(s, '%') < 0 && (!plus || strings.IndexByte(s, '+') < 0) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case c == '+' && plus:
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func ishex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// cleanPath removes what servers ignore and attackers could use to dodge an
// anchored pattern: repeated slashes and dot segments ("/./s/x",
// "//s/x", "/a/../s/x"). A trailing slash is kept because some patterns
// use it.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return p
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}
