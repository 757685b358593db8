package console

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzSafeNext: whatever comes in, the Location the console sends (after
// http.Redirect's own cleaning) is a path on this site.
func FuzzSafeNext(f *testing.F) {
	for _, c := range redirectCases {
		f.Add(c.in)
	}
	f.Add("/%2e%2e/%5c%5cevil")
	f.Add("/a/%2e%2e%2f%2e%2e%2f%2fevil")
	f.Fuzz(func(t *testing.T, in string) {
		out := safeNext(in)
		if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.ContainsAny(out, "\\\r\n\t\x00") {
			t.Fatalf("safeNext(%q) = %q", in, out)
		}
		if again := safeNext(out); again != out {
			t.Fatalf("safeNext(%q) = %q, but safeNext(%q) = %q", in, out, out, again)
		}
		rec := httptest.NewRecorder()
		http.Redirect(rec, httptest.NewRequest("GET", "/login", nil), out, http.StatusSeeOther)
		loc := rec.Header().Get("Location")
		if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.Contains(loc, "\\") {
			t.Fatalf("safeNext(%q) = %q sends Location %q", in, out, loc)
		}
	})
}
