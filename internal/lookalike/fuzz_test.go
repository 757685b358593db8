package lookalike

import (
	"strings"
	"testing"
)

// FuzzLookup: any input is answered without a panic; a trusted domain or
// a subdomain of one is never reported; a report names a trusted domain
// other than the input.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{
		"gmial.com", "gmail.com", "xn--gmil-63d.com", "example.jp.mail-example.test", "a..b", "",
		"ｇｍａｉｌ.com", "xn--", "mail.gmail.com", "i.softbank.jp", "-.-.", "gmail.com.", "[::1]",
		strings.Repeat("a.", 130), "mitsubishi-elecrtic.co.jp", "xn--zz-zzz.xn--zz", "ｍ.ｃｏｍ",
	} {
		f.Add(s)
	}
	ix := trustedForTests()
	f.Fuzz(func(t *testing.T, d string) {
		m, ok := ix.Lookup(d)
		if _, _, trusted := ix.Trusted(d); trusted && ok {
			t.Fatalf("%q is trusted but reported: %s", d, m)
		}
		if !ok {
			return
		}
		if _, _, tr := ix.Trusted(m.Trusted); !tr {
			t.Fatalf("%q: match names %q, which is not in the index", d, m.Trusted)
		}
		if c, _ := canonical(d); c == m.Trusted {
			t.Fatalf("%q reported as a look-alike of itself", d)
		}
		_ = m.String() + m.Japanese()
	})
}
