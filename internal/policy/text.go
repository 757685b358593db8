package policy

import (
	"strings"
	"unicode/utf8"

	"github.com/egressguard/egressguard/internal/textnorm"
)

// normalizeKeyword brings a configured keyword into the form of
// textnorm.Text.Lower.
func normalizeKeyword(k string) string {
	return textnorm.Normalize(strings.TrimSpace(k)).Lower
}

// excerpt returns the start of s, at most max bytes cut at a rune
// boundary, with runs of white space (line breaks too) made single
// spaces. It is for evidence strings.
func excerpt(s string, max int) string {
	s = strings.TrimSpace(s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.Join(strings.Fields(s), " ")
}
