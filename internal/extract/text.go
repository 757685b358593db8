package extract

import (
	"bytes"
	"encoding/csv"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/unicode"
)

// Decode converts text of unknown charset to UTF-8 with LF line ends.
// In order: a BOM (UTF-8, UTF-16LE/BE), UTF-16 without BOM (NULs in every
// other byte), ISO-2022-JP (escape sequences), UTF-8, then Shift_JIS
// (CP932) or EUC-JP, whichever decodes cleanly and reads more like
// Japanese, and Windows-1252 last, which keeps every ASCII byte.
func Decode(b []byte) string {
	s, _ := DecodeCharset(b)
	return s
}

// DecodeCharset is Decode that also names the charset it chose.
func DecodeCharset(b []byte) (string, string) {
	s, cs := decode(b)
	if strings.Contains(s, "\r") {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return s, cs
}

func decode(b []byte) (string, string) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return strings.ToValidUTF8(string(b[3:]), "\uFFFD"), "utf-8"
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		s, _ := decodeWith(unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), b)
		return s, "utf-16le"
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		s, _ := decodeWith(unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM), b)
		return s, "utf-16be"
	}
	if e := utf16Order(b); e != nil {
		s, _ := decodeWith(unicode.UTF16(*e, unicode.IgnoreBOM), b)
		if *e == unicode.LittleEndian {
			return s, "utf-16le"
		}
		return s, "utf-16be"
	}
	esc := bytes.IndexByte(b, 0x1b) >= 0
	if esc {
		if s, ok := decodeWith(japanese.ISO2022JP, b); ok {
			return s, "iso-2022-jp"
		}
	}
	if utf8.Valid(b) {
		return string(b), "utf-8"
	}
	sj, sjOK := decodeWith(japanese.ShiftJIS, b)
	eu, euOK := decodeWith(japanese.EUCJP, b)
	switch {
	case sjOK && euOK:
		// Both decode: then every byte above 0x7F is in A1–FE (or a
		// Shift_JIS lead byte E0–FC), which is either EUC-JP kanji or
		// Shift_JIS half-width katakana. Kana first: EUC-JP text almost
		// always has hiragana or katakana. Else the implausible readings
		// decide: half-width voicing marks after a kana that takes none
		// (Shift_JIS read of EUC-JP bytes), or JIS level-2 kanji, rare in
		// names and addresses (EUC-JP read of Shift_JIS kana).
		sk, ek := kanaCount(sj), kanaCount(eu)
		switch {
		case ek > 0 && sk == 0:
			return eu, "euc-jp"
		case sk > 0 && ek == 0:
			return sj, "shift_jis"
		}
		if sjisOdd(b) > eucOdd(b) {
			return eu, "euc-jp"
		}
		return sj, "shift_jis"
	case sjOK:
		return sj, "shift_jis"
	case euOK:
		return eu, "euc-jp"
	}
	// Mostly Shift_JIS with a broken byte or two beats Windows-1252.
	if n := strings.Count(sj, "\uFFFD"); n*50 < utf8.RuneCountInString(sj) {
		return sj, "shift_jis"
	}
	s, _ := decodeWith(charmap.Windows1252, b)
	return s, "windows-1252"
}

// utf16Order guesses the byte order of UTF-16 text without a BOM from its
// NUL bytes (ASCII characters have one in every pair); nil if it is not
// UTF-16.
func utf16Order(b []byte) *unicode.Endianness {
	n := min(len(b), 4096) &^ 1
	if n < 8 {
		return nil
	}
	var even, odd int
	for i := 0; i < n; i += 2 {
		if b[i] == 0 {
			even++
		}
		if b[i+1] == 0 {
			odd++
		}
	}
	pairs := n / 2
	switch {
	case odd*10 > pairs*3 && even*50 < pairs:
		e := unicode.LittleEndian
		return &e
	case even*10 > pairs*3 && odd*50 < pairs:
		e := unicode.BigEndian
		return &e
	}
	return nil
}

func decodeWith(enc encoding.Encoding, b []byte) (string, bool) {
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(out), "\uFFFD"), false
	}
	s := string(out)
	return s, !strings.ContainsRune(s, utf8.RuneError) && utf8.ValidString(s)
}

// kanaCount counts full-width hiragana and katakana.
func kanaCount(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x3041 && r <= 0x30FA {
			n++
		}
	}
	return n
}

// sjisOdd counts, in bytes read as Shift_JIS, half-width voicing marks
// (ﾞ ﾟ) after a kana that takes none, and half-width punctuation (｡｢｣､･).
func sjisOdd(b []byte) int {
	n := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= 0x81 && c <= 0x9F, c >= 0xE0 && c <= 0xFC:
			i++ // a double-byte character
		case c == 0xDE || c == 0xDF:
			p := byte(0)
			if i > 0 {
				p = b[i-1]
			}
			voiceable := p == 0xB3 || p >= 0xB6 && p <= 0xC4 || p >= 0xCA && p <= 0xCE
			if !voiceable || c == 0xDF && !(p >= 0xCA && p <= 0xCE) {
				n++
			}
		case c >= 0xA1 && c <= 0xA5:
			n++
		}
	}
	return n
}

// eucOdd counts, in bytes read as EUC-JP, JIS level-2 kanji (lead byte
// D0 or above).
func eucOdd(b []byte) int {
	n := 0
	for i := 0; i+1 < len(b); i++ {
		c := b[i]
		switch {
		case c == 0x8E:
			i++
		case c == 0x8F:
			i += 2
		case c >= 0xA1 && c <= 0xFE:
			if c >= 0xD0 {
				n++
			}
			i++
		}
	}
	return n
}

// CSV parses delimited text into rows. The delimiter is guessed from the
// first lines (tab, comma, semicolon or '|'; a .tsv name means tab);
// quoting follows RFC 4180 leniently. Text that is not valid CSV is split
// by lines and delimiters without quoting rules, so nothing is lost.
func CSV(text, name string) [][]string {
	delim := sniffDelimiter(text, name)
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = delim
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = false
	var rows [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			// Fall back to plain splitting of the whole text.
			return splitRows(text, delim)
		}
		if !emptyRow(rec) {
			rows = append(rows, rec)
		}
	}
}

func splitRows(text string, delim rune) [][]string {
	var rows [][]string
	for line := range strings.SplitSeq(text, "\n") {
		cells := strings.Split(line, string(delim))
		if !emptyRow(cells) {
			rows = append(rows, cells)
		}
	}
	return rows
}

func emptyRow(r []string) bool {
	for _, c := range r {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func sniffDelimiter(text, name string) rune {
	switch strings.ToLower(path.Ext(name)) {
	case ".tsv", ".tab":
		return '\t'
	}
	head := text[:min(len(text), 8192)]
	best, bestN := ',', 0
	for _, d := range []rune{',', '\t', ';', '|'} {
		// The delimiter appears about as often in each of the first lines.
		n, lines := 0, 0
		for line := range strings.SplitSeq(head, "\n") {
			if lines == 10 {
				break
			}
			if c := strings.Count(line, string(d)); c > 0 {
				n += c
				lines++
			}
		}
		if n > bestN {
			best, bestN = d, n
		}
	}
	return best
}
