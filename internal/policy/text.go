package policy

import (
	"strings"
	"sync"
	"unicode"
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
	n, ok := fastNFKC(s)
	if !ok {
		n = norm.NFKC.String(s)
	}
	return normText{nfkc: n, lower: lower(n)}
}

// fastNFKC computes NFKC for the common case cheaply: text made of
// characters NFKC leaves alone and that start a normalisation segment
// (ASCII, kana, kanji, most punctuation), plus full-width ASCII and the
// ideographic space, which map one to one. Anything else — half-width
// katakana, combining marks, circled digits — returns ok = false and takes
// the general path. The norm package's own quick check walks its trie for
// every rune and costs several times as much on Japanese mail.
func fastNFKC(s string) (string, bool) {
	safe := safeRunes()
	mapped := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r >= 0xFF01 && r <= 0xFF5E, r == 0x3000:
			mapped = true
		case r < 0x10000 && safe[r>>6]&(1<<(r&63)) != 0:
		default:
			return "", false // also utf8.RuneError: let norm decide
		}
		i += size
	}
	if !mapped {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			b = append(b, byte(r-0xFF01+'!'))
		case r == 0x3000:
			b = append(b, ' ')
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b), true
}

// lower is strings.ToLower without its per-rune case lookup for the
// scripts that have no case, which make up most of Japanese mail. It
// returns s itself when nothing changes.
func lower(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !caseless(r) && unicode.ToLower(r) != r {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, i, len(s))
	copy(b, s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = utf8.AppendRune(b, utf8.RuneError) // as strings.ToLower does
		case caseless(r):
			b = append(b, s[i:i+size]...)
		default:
			b = utf8.AppendRune(b, unicode.ToLower(r))
		}
		i += size
	}
	return string(b)
}

// caseless reports runes in blocks without case: CJK symbols, kana,
// ideographs, Hangul, and the half- and full-width forms other than the
// full-width Latin letters.
func caseless(r rune) bool {
	switch {
	case r >= 0x3000 && r <= 0x9FFF, r >= 0xAC00 && r <= 0xD7A3, r >= 0xF900 && r <= 0xFAFF:
		return true
	case r >= 0xFF00 && r <= 0xFFEF:
		return !(r >= 0xFF21 && r <= 0xFF3A) && !(r >= 0xFF41 && r <= 0xFF5A)
	}
	return false
}

// safeRunes is a bitmap of the BMP code points c for which NFKC(c) = c
// and a normalisation segment may start at c. A string of such runes is
// its own NFKC form: it is a concatenation of normalised segments. The
// table is computed once from the norm package's data and never changes.
var safeRunes = sync.OnceValue(func() *[1024]uint64 {
	var t [1024]uint64
	var buf [utf8.UTFMax]byte
	for r := rune(0x80); r < 0x10000; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		n := utf8.EncodeRune(buf[:], r)
		c := buf[:n]
		if norm.NFKC.Properties(c).BoundaryBefore() && norm.NFKC.IsNormal(c) {
			t[r>>6] |= 1 << (r & 63)
		}
	}
	return &t
})

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
