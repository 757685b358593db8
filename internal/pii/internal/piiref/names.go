package piiref

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
	return r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF || r == '々' || r == 'ヶ' || r >= 0xF900 && r <= 0xFAFF
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
	loadLists()
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case isHan(r):
			if i > 0 && isHan(rs[i-1]) {
				continue
			}
			if m := hanName(rs, i, ctx); m != "" {
				return m
			}
		case isKana(r):
			if i > 0 && isKana(rs[i-1]) {
				continue
			}
			if m := kanaName(rs, i); m != "" {
				return m
			}
		case isLatin(r):
			if i > 0 && isLatin(rs[i-1]) {
				continue
			}
			if m := romajiName(rs, i); m != "" {
				return m
			}
		}
	}
	return ""
}

func hanName(rs []rune, i int, ctx func() bool) string {
	for n := min(surnames.maxLen, len(rs)-i); n >= 1; n-- {
		sur := string(rs[i : i+n])
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
			g := string(rs[j : j+m])
			if givenNames.han[g] && (j+m == len(rs) || !isHan(rs[j+m])) {
				return sur + " **"
			}
		}
		if spaced && n >= 2 {
			k := j
			for k < len(rs) && isHan(rs[k]) && k-j < 4 {
				k++
			}
			if k-j >= 1 && k-j <= 3 && (k == len(rs) || !isHan(rs[k]) && !isKana(rs[k])) {
				return sur + " **"
			}
		}
		if !spaced && n >= 2 && ctx() {
			k := j
			for k < len(rs) && isHan(rs[k]) {
				k++
			}
			if k-j >= 1 && k-j <= 2 && (k == len(rs) || !isKana(rs[k])) {
				return sur + " **"
			}
		}
		rest := string(rs[j:])
		for _, h := range honorifics {
			if strings.HasPrefix(rest, h) && !spaced && n >= 2 {
				return sur + " **"
			}
		}
	}
	return ""
}

func kanaName(rs []rune, i int) string {
	j := i
	for j < len(rs) && isKana(rs[j]) {
		j++
	}
	first := toKatakana(string(rs[i:j]))
	k := j
	for k < len(rs) && (rs[k] == ' ' || rs[k] == '\u3000') {
		k++
	}
	if k > j && k < len(rs) && isKana(rs[k]) {
		e := k
		for e < len(rs) && isKana(rs[e]) {
			e++
		}
		if surnames.kana[first] && givenNames.kana[toKatakana(string(rs[k:e]))] {
			return string(rs[i:j]) + " **"
		}
	}
	// Written together: try every split.
	fr := []rune(first)
	if len(fr) >= 4 && len(fr) <= 12 {
		for cut := 2; cut <= len(fr)-2; cut++ {
			if surnames.kana[string(fr[:cut])] && givenNames.kana[string(fr[cut:])] {
				return string(rs[i:i+cut]) + " **"
			}
		}
	}
	return ""
}

func romajiName(rs []rune, i int) string {
	// Names are written capitalised (Taro Yamada, YAMADA Taro); checking
	// that first keeps ordinary words out of the lookup.
	if rs[i] < 'A' || rs[i] > 'Z' {
		return ""
	}
	j := i
	for j < len(rs) && isLatin(rs[j]) {
		j++
	}
	w1 := strings.ToLower(string(rs[i:j]))
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
	w2 := strings.ToLower(string(rs[k:e]))
	if len(w1) < 2 || len(w2) < 2 {
		return ""
	}
	switch {
	case surnames.romaji[w1] && givenNames.romaji[w2]:
		return string(rs[i:j]) + " **"
	case givenNames.romaji[w1] && surnames.romaji[w2]:
		return string(rs[k:e]) + " **"
	}
	return ""
}
