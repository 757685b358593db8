package pii

import (
	"hash/fnv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzScan: any row is scanned without a panic, and no sample shows 8 or
// more digits of a value (an e-mail sample keeps its domain).
func FuzzScan(f *testing.F) {
	for _, s := range []string{"山田 太郎\t090-1234-5678\t昭和55年3月4日", "個人番号 1234-5678-9018", "4111 1111 1111 1111",
		"〒100-0001 東京都千代田区", "Taro Yamada <t@example.jp>", "氏名\t電話"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		s := Scan([][]string{strings.Split(line, "\t"), strings.Split(line, "\t")}, true)
		for _, smp := range s.Samples {
			m := smp.Masked
			if smp.Kind == Email {
				m, _, _ = strings.Cut(m, "@") // the domain is kept
			}
			d := onlyDigits(m)
			if len(d) >= 8 {
				t.Fatalf("sample %q shows %d digits", smp.Masked, len(d))
			}
		}
	})
}

// FuzzSeireki holds findSeireki to seirekiRe, the expression it replaces.
func FuzzSeireki(f *testing.F) {
	for _, s := range []string{"1975/03/12", "生年月日 1980年4月1日生", "x2001-1-2", "12001/1/1", "1999 / 12 . 31", "2020/123/4",
		"2020/1/23456", "19991/1/1 2000/1/1", "2000年 1月 2日", "\n1990\r/\t1.1", "1990/1/", "1990//1", "１９９０/1/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, c string) {
		y, mo, d, ok := findSeireki(c)
		m := seirekiRe.FindStringSubmatch(c)
		if ok != (m != nil) {
			t.Fatalf("%q: found %v, expression %q", c, ok, m)
		}
		if ok && (y != m[1] || mo != atoi(m[2]) || d != atoi(m[3])) {
			t.Fatalf("%q: got %s %d %d, expression %q", c, y, mo, d, m)
		}
	})
}

// FuzzWareki holds findWareki to warekiRe, the expression it replaces.
func FuzzWareki(f *testing.F) {
	for _, s := range []string{"昭和55年3月4日", "S55.3.4", "平成元年1月8日生", "令和 5 / 12 . 31", "H123.1.1 R1.1.1", "明治1年1月1", "MS1.2.3", "大正元年元月1日"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, c string) {
		era, mo, d, ok := findWareki(c)
		m := warekiRe.FindStringSubmatch(c)
		if ok != (m != nil) {
			t.Fatalf("%q: found %v, expression %q", c, ok, m)
		}
		if ok && (era != m[1] || mo != atoi(m[3]) || d != atoi(m[4])) {
			t.Fatalf("%q: got %s %d %d, expression %q", c, era, mo, d, m)
		}
	})
}

// FuzzFastPaths holds the hand-written scans to the plain definitions
// they replace: byte loops for rune loops, one pass over the row for the
// context words of every kind, the record key hashed from the cells.
func FuzzFastPaths(f *testing.F) {
	for _, s := range []string{"山田 太郎\t090-1234-5678\t昭和55年3月4日", "個人番号 1234-5678-9018", "TEL：０９０ー１２３４ー５６７８",
		"〒100-0001\t東京都千代田区", "Patient ID\tİstanbul ȺȺ\xff\xe3\x81", "\u3000 x \u2028", "my\tnumber", "―‑−－ｰ\t1ー2", "注文\tお問合せ 様 d.o.b",
		"\u0085x\u00a0", "\u00a0y\u0085", "\u1680\t\u2000\t\u200a\t\u2028\t\u2029\t\u202f\t\u205f\t\u3000", "a\u1680", "b\u205f", "c\u2029", "z\u00a0", "z\u0085", "z\u2000", "z\u200a", "z\u202f", "z\u3000", "z\u2028", "ｰ", "a－b", "‒", "―"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cells := strings.Split(line, "\t")
		joined := strings.Join(cells, " ")
		if got, want := recordKey(cells), plainRecordKey(joined); got != want {
			t.Errorf("recordKey(%q) = %x, want %x", cells, got, want)
		}
		if got, want := contextKinds(appendLower(nil, joined)), plainContextKinds(joined); got != want {
			t.Errorf("contextKinds(%q) = %b, want %b", joined, got, want)
		}
		if got, want := string(appendLower(nil, line)), strings.ToLower(line); got != want {
			t.Errorf("appendLower(%q) = %q, want %q", line, got, want)
		}
		if got, want := normalize(line), plainNormalize(line); got != want {
			t.Errorf("normalize(%q) = %q, want %q", line, got, want)
		}
		dash, vowel := dashesAt(line)
		if want := strings.ContainsFunc(line, func(r rune) bool {
			return r >= 0x2010 && r <= 0x2015 || r == 0x2212 || r == 0xFF70 || r == 0xFF0D
		}); dash != want || !dash && vowel != strings.Index(line, "ー") {
			t.Errorf("dashesAt(%q) = %v, %d", line, dash, vowel)
		}
		for _, c := range cells {
			if got, want := trimSpace(c), strings.TrimSpace(c); got != want {
				t.Errorf("trimSpace(%q) = %q, want %q", c, got, want)
			}
		}
		if got, want := trimSpace(line), strings.TrimSpace(line); got != want {
			t.Errorf("trimSpace(%q) = %q, want %q", line, got, want)
		}
		if got, want := mayBeRecord(cells), plainMayBeRecord(cells); got != want {
			t.Errorf("mayBeRecord(%q) = %v", cells, got)
		}
		if got, want := hasPlace(line), strings.ContainsAny(line, "市区町村郡"); got != want {
			t.Errorf("hasPlace(%q) = %v", line, got)
		}
		if got, want := mayHaveEra(line), strings.ContainsAny(line, "MTSHR明大昭平令"); got != want {
			t.Errorf("mayHaveEra(%q) = %v", line, got)
		}
		if got, want := isASCII(line), !strings.ContainsFunc(line, func(r rune) bool { return r >= utf8.RuneSelf }); got != want {
			t.Errorf("isASCII(%q) = %v", line, got)
		}
		for i := range line {
			want := -1
			for j, p := range prefectures {
				if strings.HasPrefix(line[i:], p) {
					want = j
				}
			}
			if got := prefectureIndex(line[i:]); got != want {
				t.Errorf("prefectureIndex(%q) = %d, want %d", line[i:], got, want)
			}
		}
	})
}

// plainRecordKey is FNV-1a of the row without spacing and separators.
func plainRecordKey(line string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', ',', ';', '|', '"', '\'':
			return -1
		}
		return r
	}, line)))
	return h.Sum64()
}

// plainContextKinds looks each kind's words up in the lower-cased row.
func plainContextKinds(line string) uint8 {
	lower := strings.ToLower(line)
	var has uint8
	for k, words := range contextWords {
		for _, w := range words {
			if strings.Contains(lower, w) {
				has |= 1 << k
				break
			}
		}
	}
	return has
}

func plainNormalize(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) {
		return strings.TrimSpace(s)
	}
	s = strings.TrimSpace(norm.NFKC.String(s))
	if strings.ContainsFunc(s, func(r rune) bool {
		return r >= 0x2010 && r <= 0x2015 || r == 0x2212 || r == 0xFF70 || r == 0xFF0D
	}) {
		s = dashes.Replace(s)
	}
	if strings.Contains(s, "ー") {
		rs := []rune(s)
		for i := 1; i+1 < len(rs); i++ {
			if rs[i] == 'ー' && isDigit(rs[i-1]) && isDigit(rs[i+1]) {
				rs[i] = '-'
			}
		}
		s = string(rs)
	}
	return s
}

func plainMayBeRecord(cells []string) bool {
	for _, c := range cells {
		if strings.ContainsAny(c, "0123456789@０１２３４５６７８９＠市区町村郡") {
			return true
		}
	}
	return false
}
