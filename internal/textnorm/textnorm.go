// Package textnorm brings text into the forms that rules and detectors
// compare: Unicode NFKC, and NFKC lower-cased. The results are exactly
// those of norm.NFKC.String and strings.ToLower; what the package adds is
// speed on the text mail is mostly made of (ASCII, kana, kanji, full-width
// forms): a word at a time over ASCII, a one-pass check that a text is
// already normal, and the one-to-one full-width mappings done by hand.
// FuzzNormalize holds every fast path to that plain reference.
package textnorm

import (
	"encoding/binary"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Text is a text in the two forms rules and detectors compare.
type Text struct {
	// NFKC is the text in Unicode NFKC: full-width letters and digits
	// become ASCII, half-width katakana become full-width. The policy's
	// regular expressions match this form.
	NFKC string
	// Lower is NFKC lower-cased (strings.ToLower). Keywords and the
	// share-notice phrases match this form.
	Lower string
}

// Normalize returns s in both forms: exactly norm.NFKC.String(s) and
// strings.ToLower of that.
func Normalize(s string) Text {
	mapped, upper, ok := scanText(s)
	if !ok {
		n := norm.NFKC.String(s)
		return Text{NFKC: n, Lower: Lower(n)}
	}
	n := s
	if mapped {
		n = mapWidth(s)
	}
	if !upper {
		return Text{NFKC: n, Lower: n}
	}
	return Text{NFKC: n, Lower: Lower(n)}
}

// NFKC returns norm.NFKC.String(s), without the general algorithm for the
// text that does not need it.
func NFKC(s string) string {
	mapped, _, ok := scanText(s)
	switch {
	case !ok:
		return norm.NFKC.String(s)
	case mapped:
		return mapWidth(s)
	}
	return s
}

// scanText decides in one pass whether s takes the fast path to NFKC: it
// is made of characters NFKC leaves alone and that start a normalisation
// segment (ASCII, kana, kanji, most punctuation), plus full-width ASCII and
// the ideographic space, which map one to one (mapped). Anything else —
// half-width katakana, combining marks, circled digits, invalid UTF-8 —
// gives ok = false and takes the general path. upper reports a character
// that lower-casing changes. The norm package's own quick check walks its
// trie for every rune and costs several times as much on Japanese mail.
func scanText(s string) (mapped, upper, ok bool) {
	t := runeTables()
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			if w := load8(s, i); w&hi8 == 0 {
				upper = upper || upperBits(w) != 0
				i += 8
				continue
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				upper = true
			}
			i++
			continue
		}
		var r rune
		var size int
		// Three-byte sequences (all of kana and kanji) decoded inline.
		if c >= 0xE0 && c < 0xF0 && i+2 < len(s) && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 {
			r = rune(c&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F)
			size = 3
			if r < 0x800 || r >= 0xD800 && r <= 0xDFFF {
				return false, false, false // overlong or surrogate
			}
		} else {
			r, size = utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return false, false, false
			}
		}
		switch {
		case r >= 0xFF01 && r <= 0xFF5E, r == 0x3000:
			mapped = true
			if r >= 0xFF21 && r <= 0xFF3A {
				upper = true
			}
		case r < 0x10000 && t.safe[r>>6]&(1<<(r&63)) != 0:
			if t.cased[r>>6]&(1<<(r&63)) != 0 {
				upper = true
			}
		default:
			return false, false, false
		}
		i += size
	}
	return mapped, upper, true
}

// mapWidth maps full-width ASCII to ASCII and the ideographic space to a
// space, which is what NFKC does to them. The text between candidates (a
// 0xEF lead byte, U+3000) is copied whole.
func mapWidth(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	nextFW, nextSP := -1, -1 // next candidates at or after i; len(s) if none
	for i := 0; i < len(s); {
		if nextFW < i {
			nextFW = indexFrom(s, i, "\xef")
		}
		if nextSP < i {
			nextSP = indexFrom(s, i, "\u3000")
		}
		j := min(nextFW, nextSP)
		b.WriteString(s[i:j])
		if i = j; i == len(s) {
			break
		}
		c := s[i]
		if i+2 < len(s) {
			switch {
			case c == 0xEF && (s[i+1] == 0xBC || s[i+1] == 0xBD):
				// U+FF00–U+FF7F: EF BC 80–BF, EF BD 80–BF.
				r := rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F) + 0xF000
				if r >= 0xFF01 && r <= 0xFF5E {
					b.WriteByte(byte(r - 0xFF01 + '!'))
					i += 3
					continue
				}
			case c == 0xE3 && s[i+1] == 0x80 && s[i+2] == 0x80: // U+3000
				b.WriteByte(' ')
				i += 3
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// indexFrom is the position of sub in s at or after i, or len(s).
func indexFrom(s string, i int, sub string) int {
	if j := strings.Index(s[i:], sub); j >= 0 {
		return i + j
	}
	return len(s)
}

// Word-at-a-time ASCII: eight bytes are ASCII if no high bit is set.
const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// load8 reads s[i:i+8] as a little-endian word; the compiler makes it a
// single load.
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// upperBits has the high bit set in each byte of w, eight ASCII bytes,
// that is 'A'–'Z': adding 0x3F carries a byte into the high bit from 'A'
// on, adding 0x25 from '['; no byte carries into the next.
func upperBits(w uint64) uint64 {
	return (w + 0x3F*lo8) &^ (w + 0x25*lo8) & hi8
}

// Lower is strings.ToLower without its per-rune case lookup for the
// scripts that have no case, which make up most of Japanese mail. It
// returns s itself when nothing changes.
func Lower(s string) string {
	i := 0
	for i < len(s) {
		if i+8 <= len(s) {
			if w := load8(s, i); w&hi8 == 0 && upperBits(w) == 0 {
				i += 8
				continue
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				break
			}
			i++
			continue
		}
		if isCJK3(s, i) {
			i += 3
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
	// A Builder grows without zeroing and hands over its bytes without a
	// copy; ASCII is lower-cased a block at a time on the stack.
	var sb strings.Builder
	sb.Grow(len(s))
	sb.WriteString(s[:i])
	var blk [512]byte
	for i < len(s) {
		if i+8 <= len(s) && load8(s, i)&hi8 == 0 {
			n := 0
			for ; i+8 <= len(s) && n+8 <= len(blk); i, n = i+8, n+8 {
				w := load8(s, i)
				if w&hi8 != 0 {
					break
				}
				binary.LittleEndian.PutUint64(blk[n:], w|upperBits(w)>>2)
			}
			sb.Write(blk[:n])
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			sb.WriteByte(c)
			i++
			continue
		}
		if isCJK3(s, i) {
			j := i + 3
			for isCJK3(s, j) {
				j += 3
			}
			sb.WriteString(s[i:j])
			i = j
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			sb.WriteRune(utf8.RuneError) // as strings.ToLower does
		case caseless(r):
			sb.WriteString(s[i : i+size])
		default:
			sb.WriteRune(unicode.ToLower(r))
		}
		i += size
	}
	return sb.String()
}

// isCJK3 reports a well-formed three-byte sequence at s[i] for a rune in
// U+3000–U+9FFF (lead bytes E3–E9): CJK symbols, kana and ideographs,
// none of which has case.
func isCJK3(s string, i int) bool {
	return i+2 < len(s) && s[i] >= 0xE3 && s[i] <= 0xE9 && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80
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

// runeTables are bitmaps over the BMP, computed once from the Unicode
// tables and never changed:
//   - safe: NFKC(c) = c and a normalisation segment may start at c. A
//     string of such runes is its own NFKC form, being a concatenation of
//     normalised segments;
//   - cased: lower-casing changes c.
var runeTables = sync.OnceValue(func() *struct{ safe, cased [1024]uint64 } {
	t := new(struct{ safe, cased [1024]uint64 })
	var buf [utf8.UTFMax]byte
	for r := rune(0x80); r < 0x10000; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		n := utf8.EncodeRune(buf[:], r)
		c := buf[:n]
		if norm.NFKC.Properties(c).BoundaryBefore() && norm.NFKC.IsNormal(c) {
			t.safe[r>>6] |= 1 << (r & 63)
		}
		if unicode.ToLower(r) != r {
			t.cased[r>>6] |= 1 << (r & 63)
		}
	}
	return t
})
