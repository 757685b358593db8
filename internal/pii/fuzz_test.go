package pii

import (
	"strings"
	"testing"
)

// FuzzScan: any row is scanned without a panic, and no sample repeats a
// value of 8 or more digits from the input unmasked.
func FuzzScan(f *testing.F) {
	for _, s := range []string{"山田 太郎\t090-1234-5678\t昭和55年3月4日", "個人番号 1234-5678-9018", "4111 1111 1111 1111",
		"〒100-0001 東京都千代田区", "Taro Yamada <t@example.jp>", "氏名\t電話"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		s := Scan([][]string{strings.Split(line, "\t"), strings.Split(line, "\t")}, true)
		for _, smp := range s.Samples {
			d := onlyDigits(smp.Masked)
			if len(d) >= 8 {
				t.Fatalf("sample %q shows %d digits", smp.Masked, len(d))
			}
		}
	})
}
