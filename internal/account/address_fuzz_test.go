package account

import "testing"

// FuzzNormalizeMailbox: no panic; a normalised address normalises to
// itself; the header parser never panics.
func FuzzNormalizeMailbox(f *testing.F) {
	for _, s := range []string{"off2+x@example.jp", "KANRI@例え.ＪＰ", `"a+b"@[192.0.2.1]`, "<x@y.z.>", "a@b@c", "+@x.y",
		"Off Two <off2+x@example.jp>, =?UTF-8?B?5L+d5a6I?= <b@c.d>", "Off \"Two <off2+x@example.jp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeMailbox(s)
		if n != "" && NormalizeMailbox(n) != n {
			t.Fatalf("NormalizeMailbox(%q) = %q, which normalises to %q", s, n, NormalizeMailbox(n))
		}
		HeaderAddresses(s)
	})
}
