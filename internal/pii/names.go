package pii

import (
	_ "embed"
	"strings"
	"sync"
	"unicode/utf8"
)

// Name lists, see data/README.md.
var (
	//go:embed data/surnames.tsv
	surnamesTSV string
	//go:embed data/given.tsv
	givenTSV string
)

type nameSet struct {
	han    map[string]bool // kanji forms
	kana   map[string]bool // katakana readings (hiragana is folded to katakana)
	romaji map[string]bool // lower-case, with the usual spelling variants
	maxLen int             // longest kanji form, in runes
}

// The lists are parsed on first use, not when a program starts.
var (
	namesOnce            sync.Once
	surnames, givenNames *nameSet
)

func loadLists() {
	namesOnce.Do(func() { surnames, givenNames = loadNames(surnamesTSV), loadNames(givenTSV) })
}

func loadNames(tsv string) *nameSet {
	s := &nameSet{han: map[string]bool{}, kana: map[string]bool{}, romaji: map[string]bool{}}
	for line := range strings.SplitSeq(tsv, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		// kanji[,kanji…] TAB hiragana TAB romaji
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			continue
		}
		for k := range strings.SplitSeq(f[0], ",") {
			if k != "" {
				s.han[k] = true
				s.maxLen = max(s.maxLen, utf8.RuneCountInString(k))
				for _, v := range kanjiVariants(k) {
					s.han[v] = true
				}
			}
		}
		s.kana[toKatakana(f[1])] = true
		for _, r := range romajiVariants(strings.ToLower(f[2])) {
			s.romaji[r] = true
		}
	}
	return s
}

// romajiVariants: "satou" is also written "sato" and "satoh", "yuuko"
// "yuko".
func romajiVariants(r string) []string {
	out := []string{r}
	if strings.Contains(r, "ou") {
		out = append(out, strings.ReplaceAll(r, "ou", "o"), strings.ReplaceAll(r, "ou", "oh"))
	}
	if strings.Contains(r, "uu") {
		out = append(out, strings.ReplaceAll(r, "uu", "u"))
	}
	if strings.Contains(r, "oo") {
		out = append(out, strings.ReplaceAll(r, "oo", "o"))
	}
	return out
}

// toKatakana folds hiragana to katakana.
func toKatakana(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0x3041 && r <= 0x3096 {
			return r + 0x60
		}
		return r
	}, s)
}

func isHan(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF || r == '々' || r == 'ヶ' || r >= 0xF900 && r <= 0xFAFF ||
		r >= 0x20000 && r <= 0x3134F // extension B and later: 𠮷
}

// variantKanji are the other forms of kanji that names are written with
// (異体字: 髙橋, 山﨑, 𠮷田, 濵田), which NFKC leaves as they are.
var variantKanji = map[rune][]rune{
	'高': {'髙'}, '崎': {'﨑', '嵜'}, '吉': {'𠮷'}, '浜': {'濵', '濱'}, '徳': {'德'}, '瀬': {'瀨'}, '恵': {'惠'},
	'辺': {'邊', '邉'}, '斎': {'齋', '齊', '斉'}, '沢': {'澤'}, '島': {'嶋', '嶌'}, '広': {'廣'}, '桜': {'櫻'},
	'富': {'冨'}, '国': {'國'}, '円': {'圓'}, '竜': {'龍'}, '槙': {'槇'}, '柳': {'栁'},
}

// kanjiVariants lists k written with one variant form of one of its
// kanji.
func kanjiVariants(k string) []string {
	var out []string
	rs := []rune(k)
	for i, r := range rs {
		for _, v := range variantKanji[r] {
			w := append([]rune(nil), rs...)
			w[i] = v
			out = append(out, string(w))
		}
	}
	return out
}

func isKana(r rune) bool { return r >= 0x3041 && r <= 0x30FF && r != '・' }

func isLatin(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

var honorifics = []string{"様", "さん", "殿", "氏", "先生", "くん", "君", "ちゃん"}

// findName finds a person name in s (NFKC-normalised) and returns its
// masked form ("山田 **"), or "".
//
//   - kanji: a listed surname, an optional space, and a listed given name;
//     or a listed surname (two characters or more), a space and one to
//     three kanji; or a listed surname with an honorific (山田様);
//   - kana: a listed surname reading and a listed given-name reading,
//     with or without a space (ヤマダ タロウ, やまだたろう);
//   - romaji: a listed surname and a listed given name next to each
//     other, in either order (Taro Yamada, YAMADA Taro).
//
// With ctx (the row says 氏名, 名前, 患者, …) a listed surname followed by
// one or two kanji and nothing else (佐藤花子) counts too.
func findName(s string, ctx func() bool) string {
	var t nameText
	if m := t.find(s, ctx); m != "" {
		return m + " **"
	}
	return ""
}

// nameText is a text findName reads: s, its characters rs, and where
// each starts in s (off[len(rs)] is len(s)), so that a run of characters
// is a substring of s. A Scanner keeps one to reuse its buffers.
type nameText struct {
	s         string
	rs        []rune
	off       []int
	buf, buf2 []byte
}

// sub is the text of the characters i to j.
func (t *nameText) sub(i, j int) string { return t.s[t.off[i]:t.off[j]] }

// find is findName, returning the part of the name the mask keeps (山田).
func (t *nameText) find(s string, ctx func() bool) string {
	loadLists()
	if !t.decode(s) {
		// Each invalid byte is a U+FFFD, as in []rune(s).
		t.decode(string([]rune(s)))
	}
	rs := t.rs
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case isHan(r):
			if i > 0 && isHan(rs[i-1]) {
				continue
			}
			if m := t.hanName(i, ctx); m != "" {
				return m
			}
		case isKana(r):
			if i > 0 && isKana(rs[i-1]) {
				continue
			}
			if m := t.kanaName(i); m != "" {
				return m
			}
		case isLatin(r):
			if i > 0 && isLatin(rs[i-1]) {
				continue
			}
			if m := t.romajiName(i); m != "" {
				return m
			}
		}
	}
	return ""
}

// decode reads s into t; it reports false if s is not valid UTF-8.
func (t *nameText) decode(s string) bool {
	rs, off := t.rs[:0], t.off[:0]
	for i := 0; i < len(s); {
		c := s[i]
		r, size := rune(c), 1
		switch {
		case c < utf8.RuneSelf:
		case (c >= 0xE1 && c <= 0xEC || c >= 0xEE) && c <= 0xEF && i+2 < len(s) && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80:
			// A valid three-byte character (kana, kanji).
			r, size = rune(c&0x0F)<<12|rune(s[i+1]&0x3F)<<6|rune(s[i+2]&0x3F), 3
		default:
			if r, size = utf8.DecodeRuneInString(s[i:]); r == utf8.RuneError && size == 1 {
				return false
			}
		}
		rs = append(rs, r)
		off = append(off, i)
		i += size
	}
	t.s, t.rs, t.off = s, rs, append(off, len(s))
	return true
}

func (t *nameText) hanName(i int, ctx func() bool) string {
	rs := t.rs
	for n := min(surnames.maxLen, len(rs)-i); n >= 1; n-- {
		sur := t.sub(i, i+n)
		if !surnames.han[sur] {
			continue
		}
		j := i + n
		spaced := false
		for j < len(rs) && (rs[j] == ' ' || rs[j] == '\u3000') {
			j++
			spaced = true
		}
		// Listed given name, ending where the run of kanji/kana ends.
		for m := min(4, len(rs)-j); m >= 1; m-- {
			if givenNames.han[t.sub(j, j+m)] && (j+m == len(rs) || !isHan(rs[j+m]) || t.honorificAt(j+m)) {
				return sur
			}
		}
		if n >= 2 || spaced {
			// A listed given name in katakana or hiragana (山田 ハナコ).
			k := j
			for k < len(rs) && isKana(rs[k]) {
				k++
			}
			if k > j && (k == len(rs) || !isHan(rs[k]) || t.honorificAt(k)) {
				t.buf2 = appendKatakana(t.buf2[:0], t.sub(j, k))
				if givenNames.kana[string(t.buf2)] {
					return sur
				}
			}
			// Any short given name before an honorific (西川トメ様,
			// 熊谷 ヨシ子 様).
			k = j
			for k < len(rs) && k-j < 4 && (isHan(rs[k]) || isKana(rs[k])) && !t.honorificAt(k) {
				k++
			}
			e := k
			for e < len(rs) && (rs[e] == ' ' || rs[e] == '\u3000') {
				e++
			}
			if k > j && t.honorificAt(e) {
				return sur
			}
		}
		if spaced && n >= 2 {
			k := j
			for k < len(rs) && isHan(rs[k]) && k-j < 4 {
				k++
			}
			if k-j >= 1 && k-j <= 3 && (k == len(rs) || !isHan(rs[k]) && !isKana(rs[k])) {
				return sur
			}
		}
		if !spaced && n >= 2 && ctx() {
			k := j
			for k < len(rs) && isHan(rs[k]) {
				k++
			}
			if k-j >= 1 && k-j <= 2 && (k == len(rs) || !isKana(rs[k])) {
				return sur
			}
		}
		rest := t.s[t.off[j]:]
		for _, h := range honorifics {
			if strings.HasPrefix(rest, h) && !spaced && n >= 2 {
				return sur
			}
		}
	}
	return ""
}

// honorificAt reports whether an honorific (様, 殿, さん, …) starts at
// character k.
func (t *nameText) honorificAt(k int) bool {
	rest := t.s[t.off[k]:]
	for _, h := range honorifics {
		if strings.HasPrefix(rest, h) {
			return true
		}
	}
	return false
}

// appendKatakana appends s with hiragana folded to katakana (toKatakana)
// to b.
func appendKatakana(b []byte, s string) []byte {
	for _, r := range s {
		if r >= 0x3041 && r <= 0x3096 {
			r += 0x60
		}
		b = utf8.AppendRune(b, r)
	}
	return b
}

func (t *nameText) kanaName(i int) string {
	rs := t.rs
	j := i
	for j < len(rs) && isKana(rs[j]) {
		j++
	}
	// The reading in katakana; every kana is three bytes.
	t.buf = appendKatakana(t.buf[:0], t.sub(i, j))
	first := t.buf
	k := j
	for k < len(rs) && (rs[k] == ' ' || rs[k] == '\u3000') {
		k++
	}
	if k > j && k < len(rs) && isKana(rs[k]) {
		e := k
		for e < len(rs) && isKana(rs[e]) {
			e++
		}
		if surnames.kana[string(first)] {
			t.buf2 = appendKatakana(t.buf2[:0], t.sub(k, e))
			if givenNames.kana[string(t.buf2)] {
				return t.sub(i, j)
			}
		}
	}
	// Written together: try every split.
	if n := j - i; n >= 4 && n <= 12 {
		for cut := 2; cut <= n-2; cut++ {
			if surnames.kana[string(first[:3*cut])] && givenNames.kana[string(first[3*cut:])] {
				return t.sub(i, i+cut)
			}
		}
	}
	return ""
}

// appendLowerASCII appends s lower-cased, s being ASCII letters.
func appendLowerASCII(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

func (t *nameText) romajiName(i int) string {
	rs := t.rs
	// Names are written capitalised (Taro Yamada, YAMADA Taro); checking
	// that first keeps ordinary words out of the lookup.
	if rs[i] < 'A' || rs[i] > 'Z' {
		return ""
	}
	j := i
	for j < len(rs) && isLatin(rs[j]) {
		j++
	}
	k := j
	if k < len(rs) && rs[k] == ',' {
		k++
	}
	for k < len(rs) && rs[k] == ' ' {
		k++
	}
	if k == j || k >= len(rs) || rs[k] < 'A' || rs[k] > 'Z' {
		return ""
	}
	e := k
	for e < len(rs) && isLatin(rs[e]) {
		e++
	}
	if e < len(rs) && (isLatin(rs[e]) || rs[e] >= '0' && rs[e] <= '9') {
		return ""
	}
	// Letters are ASCII: one byte each.
	if j-i < 2 || e-k < 2 {
		return ""
	}
	t.buf = appendLowerASCII(t.buf[:0], t.sub(i, j))
	t.buf2 = appendLowerASCII(t.buf2[:0], t.sub(k, e))
	w1, w2 := t.buf, t.buf2
	switch {
	case surnames.romaji[string(w1)] && givenNames.romaji[string(w2)]:
		return t.sub(i, j)
	case givenNames.romaji[string(w1)] && surnames.romaji[string(w2)]:
		return t.sub(k, e)
	}
	return ""
}
