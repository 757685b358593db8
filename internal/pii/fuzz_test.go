package pii

import (
	"strings"
	"testing"
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
