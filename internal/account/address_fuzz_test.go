package account

import "testing"

// FuzzNormalizeAddress: no panic; a normalised address normalises to
// itself; the header parser never panics.
func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range []string{"off2+x@example.jp", "KANRI@例え.ＪＰ", `"a+b"@[192.0.2.1]`, "<x@y.z.>", "a@b@c", "+@x.y",
		"Off Two <off2+x@example.jp>, =?UTF-8?B?5L+d5a6I?= <b@c.d>", "Off \"Two <off2+x@example.jp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeAddress(s)
		if n != "" && NormalizeAddress(n) != n {
			t.Fatalf("NormalizeAddress(%q) = %q, which normalises to %q", s, n, NormalizeAddress(n))
		}
		HeaderAddresses(s)
	})
}
