package message

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The fast scans in links.go and decode.go must decide exactly as the plain loops they
// replace. These are those loops, kept as the reference.

func needsNFKCRef(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		switch s[i] {
		case 0xEF:
			if c := s[i+1]; c == 0xB9 || c == 0xBC || c == 0xBD {
				return true
			}
		case 0xE2:
			if c := s[i+1]; c == 0x80 && s[i+2] >= 0xA4 && s[i+2] <= 0xA6 || c >= 0x91 && c <= 0x93 {
				return true
			}
		case 0xF0:
			if s[i+1] == 0x9D {
				return true
			}
		}
	}
	return false
}

func foldCompatRef(s string) string {
	b := make([]byte, 0, len(s)+len(s)/4)
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			b = append(b, byte(r-0xFEE0))
		case r >= 0xFE50 && r <= 0xFE6F, r >= 0x2024 && r <= 0x2026,
			r >= 0x2460 && r <= 0x24FF, r >= 0x1D400 && r <= 0x1D7FF:
			b = norm.NFKC.AppendString(b, string(r))
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return string(b)
}

// firstOfRef is byteFinder.from as a loop over every byte.
func firstOfRef(s string, i int, c []byte) int {
	for ; i < len(s); i++ {
		if strings.IndexByte(string(c), s[i]) >= 0 {
			return i
		}
	}
	return len(s)
}

var scanSeeds = []string{
	"",
	"plain ascii text with www.example.com/a and https://x.example/",
	"資料はｈｔｔｐｓ：／／ｄｒｉｖｅ．ｇｏｏｇｌｅ．ｃｏｍ／ａです。",
	"﹕﹒ ․‥… ①②ⓐⓩ 𝐡𝐭𝐭𝐩𝐬",
	"（注）「全角」：…※→ＡＢＣ",
	"invalid \xef\xbc utf-8 \xe2\x80 \xf0\x9d\x90 at the end \xef",
	"\xef\xbc\x81\xff\xfe\xe2\x91\xa0",
	"line\r\n\r\r\nbare\rCR\r\n\n\r",
}

func TestScansMatchReference(t *testing.T) {
	t.Parallel()
	for _, s := range scanSeeds {
		checkScans(t, s)
	}
}

func FuzzScans(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkScans(t, s) })
}

func checkScans(t *testing.T, s string) {
	t.Helper()
	if got, want := needsNFKC(s), needsNFKCRef(s); got != want {
		t.Errorf("needsNFKC(%q) = %v, want %v", s, got, want)
	}
	if got, want := foldCompat(s), foldCompatRef(s); got != want {
		t.Errorf("foldCompat(%q) = %q, want %q", s, got, want)
	}
	if got, want := crlfToLF([]byte(s)), strings.ReplaceAll(s, "\r\n", "\n"); got != want {
		t.Errorf("crlfToLF(%q) = %q, want %q", s, got, want)
	}
	for _, set := range []string{":/wW", "\xef\xe2\xf0", "w"} {
		f := newByteFinder(s, []byte(set)...)
		// Queries as ExtractLinks makes them: forwards, sometimes
		// jumping ahead.
		for i, step := 0, 1; i <= len(s); i, step = i+step, step%3+1 {
			if got, want := f.from(i), firstOfRef(s, i, []byte(set)); got != want {
				t.Fatalf("byteFinder(%q, %q).from(%d) = %d, want %d", s, set, i, got, want)
			}
		}
	}
}
