package policy

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normText is a text in the two forms rules match against.
type normText struct {
	// nfkc is the text in Unicode NFKC: full-width letters and digits
	// become ASCII, half-width katakana become full-width. Regular
	// expressions match this form.
	nfkc string
	// lower is nfkc lower-cased. Keywords and the share-notice phrases
	// match this form.
	lower string
}

func normalize(s string) normText {
	n := s
	// NFKC costs a pass over the text even when nothing changes; the quick
	// check is much cheaper and true for most mail.
	if norm.NFKC.QuickSpanString(s) != len(s) {
		n = norm.NFKC.String(s)
	}
	return normText{nfkc: n, lower: strings.ToLower(n)}
}

// normalizeKeyword brings a configured keyword into the form of
// normText.lower.
func normalizeKeyword(k string) string {
	return strings.ToLower(norm.NFKC.String(strings.TrimSpace(k)))
}

// excerpt returns at most max bytes of s around nothing in particular: the
// start, cut at a rune boundary, with line breaks flattened. It is for
// evidence strings.
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
