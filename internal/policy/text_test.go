package policy

import (
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// FuzzNormalize holds normalize and lower, with their word-at-a-time and
// run-copying fast paths, to the norm package and strings.ToLower on any
// input.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"",
		"ABCDEFGH",
		"abcdefgh",
		"0123456789abcdefXYZ0123456789abcdef",
		"1" + strings.Repeat("X", 78) + "\n2" + strings.Repeat("X", 78) + "\n",
		"Shared “Q3 PLAN” With You and Z@[",
		"お世話になっております。（株）サンプル　ＴＥＬ：03-1234-5678 ※詳細は別途",
		"Mixed 日本 Text ÄÖÜ İstanbul ΣΑΣ ＡＢＣ ｱｲｳ",
		"ASCII run then 漢字漢字漢字漢字 then ASCII AGAIN then \u3000\u3000ＡＢ",
		"\xff\xfeABCDEFGH\xef\xbc\x81\xef\xbc\xef\xe3\x80",
		"abcdefg\xe3\x80\x80hijklmno\xef\xbc\xa1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := lower(s), strings.ToLower(s); got != want {
			t.Fatalf("lower(%q) = %q, want %q", s, got, want)
		}
		want := norm.NFKC.String(s)
		if got := normalize(s); got.nfkc != want || got.lower != strings.ToLower(want) {
			t.Fatalf("normalize(%q) = %+v, want %q", s, got, want)
		}
		if mapped, _, ok := scanText(s); ok && mapped {
			if got := mapWidth(s); got != want {
				t.Fatalf("mapWidth(%q) = %q, want %q", s, got, want)
			}
		}
	})
}

func BenchmarkLower(b *testing.B) {
	for name, s := range map[string]string{
		"ascii-100K": strings.Repeat("1"+strings.Repeat("X", 78)+"\n", 1250),
		"ja-100K":    strings.Repeat("本件につきましては、来週の定例会議にてあらためてご説明させていただきます。Example Co., Ltd.\n", 800),
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				lower(s)
			}
		})
	}
}
