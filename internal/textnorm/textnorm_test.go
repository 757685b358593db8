package textnorm

import (
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// FuzzNormalize holds Normalize, NFKC and Lower, with their word-at-a-time
// and run-copying fast paths, to the plain reference (norm.NFKC.String
// and strings.ToLower) on any input.
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
		if got, want := Lower(s), strings.ToLower(s); got != want {
			t.Fatalf("Lower(%q) = %q, want %q", s, got, want)
		}
		want := norm.NFKC.String(s)
		if got := Normalize(s); got.NFKC != want || got.Lower != strings.ToLower(want) {
			t.Fatalf("Normalize(%q) = %+v, want %q", s, got, want)
		}
		if got := NFKC(s); got != want {
			t.Fatalf("NFKC(%q) = %q, want %q", s, got, want)
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
				Lower(s)
			}
		})
	}
}

// The fast path must agree with the norm package and strings.ToLower on
// every text it accepts.
func TestNormalizeFastPath(t *testing.T) {
	t.Parallel()
	pieces := []string{"a", "Z", " ", "。", "、", "「", "」", "が", "か", "\u3099", "ｶ", "ﾞ", "Ａ", "ｚ", "！", "（", "）", "\u3000",
		"漢", "字", "ー", "・", "※", "…", "①", "㈱", "é", "e\u0301", "한", "\u1100\u1161", "ﬁ", "™", "\U0001D400", "〜", "〒", "〶", "\uFFE5", "Ω", "Ä", "ß", "İ", "\xff", "\xed\xa0\x80", "\xe0\x80\xaf"}
	accepted := 0
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for j := 0; j < 1+i%7; j++ {
			b.WriteString(pieces[(i*7+j*13+j*j)%len(pieces)])
		}
		s := b.String()
		want := norm.NFKC.String(s)
		if mapped, _, ok := scanText(s); ok {
			got := s
			if mapped {
				got = mapWidth(s)
			}
			accepted++
			if got != want {
				t.Fatalf("fast path NFKC(%q) = %q, want %q", s, got, want)
			}
		}
		if got := Normalize(s); got.NFKC != want || got.Lower != strings.ToLower(want) {
			t.Fatalf("Normalize(%q) = %+v, want %q", s, got, want)
		}
	}
	if accepted < 1000 {
		t.Errorf("fast path taken only %d times", accepted)
	}
	if _, _, ok := scanText("お世話になっております。（株）サンプル　ＴＥＬ：03-1234-5678 ※詳細は別途"); !ok {
		t.Error("typical Japanese business text not on the fast path")
	}
}

func BenchmarkNormalize(b *testing.B) {
	text := strings.Repeat("お世話になっております。（株）サンプルの山田です。ＴＥＬ：03-1234-5678 ※詳細は別途ご連絡いたします。\n", 20)
	runeTables() // build the tables outside the measurement
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			Normalize(text)
		}
	})
	b.Run("norm", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			n := norm.NFKC.String(text)
			_ = strings.ToLower(n)
		}
	})
}

func TestLower(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "abc", "ABC", "Hello 世界", "ÉCOLE", "İstanbul", "ＡＢＣ", "ｱｲｳ", "ΣΑΣ", "ДОК", "日本語のテキスト", "Mixed 日本 Text ÄÖÜ", "\xff\xfeA"} {
		if got, want := Lower(s), strings.ToLower(s); got != want {
			t.Errorf("Lower(%q) = %q, want %q", s, got, want)
		}
	}
}
