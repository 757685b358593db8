package console

import (
	"net/url"
	"path"
	"strings"
)

// safeNext is the one check of a redirect target that comes from a
// request (the login's next, the language switch's back): it returns a
// path on this site, or "/" when the target is anything else. An empty
// target is the held-mail queue, the console's home.
//
// Browsers read "//host" and "/\host" as another host, and they treat
// a backslash as a slash. The check therefore runs on the path as the
// browser will finally see it: percent-decoded and cleaned of "." and
// ".." segments, as http.Redirect cleans it before sending. "/./%5Cevil"
// and "/x/../%5Cevil" clean to "/\evil"; "/.%2F%5Cevil" decodes to
// "/./\evil". Any backslash or control character, encoded or not, any
// scheme, host or user, and anything not starting with exactly one "/"
// is refused. What is returned is the cleaned path with the query, so
// that what was checked is what is sent.
func safeNext(next string) string {
	const fallback = "/"
	if next == "" {
		return "/held"
	}
	if len(next) > 2000 || next[0] != '/' || len(next) > 1 && (next[1] == '/' || next[1] == '\\') || unsafeChars(next) {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return fallback
	}
	// u.Path is percent-decoded: %5C, %2F and %0A are seen as what they are.
	if unsafeChars(u.Path) || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return fallback
	}
	clean := path.Clean(u.Path)
	if strings.HasSuffix(u.Path, "/") && clean != "/" {
		clean += "/"
	}
	if strings.HasPrefix(clean, "//") || clean == "/login" || strings.HasPrefix(clean, "/login/") {
		return fallback
	}
	out := (&url.URL{Path: clean}).EscapedPath()
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.ContainsRune(out, '\\') {
		return fallback
	}
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out
}

// unsafeChars reports a backslash, a control character or a space of
// any kind that browsers strip or rewrite in URLs.
func unsafeChars(s string) bool {
	for _, r := range s {
		if r == '\\' || r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0xfffd {
			return true
		}
	}
	return false
}
