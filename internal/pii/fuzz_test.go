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
