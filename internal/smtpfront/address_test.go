package smtpfront

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckAddress(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 65)
	tests := []struct {
		addr string
		utf8 bool
		want error
	}{
		{"alice@example.com", false, nil},
		{"first.last+tag@sub.example.co.uk", false, nil},
		{"o'brien@example.com", false, nil},
		{"a!#$%&'*+-/=?^_`{|}~@example.com", false, nil},
		{"postmaster@[192.0.2.1]", false, nil},
		{"x@[IPv6:2001:db8::1]", false, nil},
		{"x@localhost", false, nil},
		{"x@x-1.example", false, nil},
		{"jörg@example.com", true, nil},
		{"user@bücher.example", true, nil},
		{"jörg@example.com", false, errAddrNeedsUTF8},
		{"user@bücher.example", false, errAddrNeedsUTF8},
		{"", false, errAddrSyntax},
		{"alice", false, errAddrSyntax},
		{"@example.com", false, errAddrSyntax},
		{"alice@", false, errAddrSyntax},
		{"a b@example.com", false, errAddrSyntax},     // from a quoted local part
		{"foo@bar@example.com", false, errAddrSyntax}, // ditto
		{"a\"b@example.com", false, errAddrSyntax},    // quote
		{".alice@example.com", false, errAddrSyntax},  // leading dot
		{"alice.@example.com", false, errAddrSyntax},  // trailing dot
		{"al..ice@example.com", false, errAddrSyntax}, // empty atom
		{"alice@example.com.", false, errAddrSyntax},  // trailing dot in domain
		{"alice@exa_mple.com", false, errAddrSyntax},  // underscore in host name
		{"alice@-example.com", false, errAddrSyntax},  // leading hyphen
		{"alice@example..com", false, errAddrSyntax},  // empty label
		{"alice@ex,ample.com", false, errAddrSyntax},  // go-smtp lets this through
		{"alice@example.com,bob@x.com", false, errAddrSyntax},
		{"alice@exa\rmple.com", false, errAddrSyntax},    // bare CR would reach upstream
		{"ali\x00ce@example.com", false, errAddrSyntax},  // NUL
		{"alice@[300.1.1.1]", false, errAddrSyntax},      // bad literal
		{"alice@[IPv6:192.0.2.1]", false, errAddrSyntax}, // v4 in a v6 tag
		{"alice@[fe80::1%eth0]", false, errAddrSyntax},   // untagged v6, zone
		{"alice@[192.0.2.1", false, errAddrSyntax},
		{long + "@example.com", false, errAddrSyntax}, // local part over 64
		{"a@" + strings.Repeat("b", 64) + ".com", false, errAddrSyntax},
		{"a@" + strings.Repeat("abcdefg.", 32) + "com", false, errAddrSyntax}, // over 254
		{"j\xffrg@example.com", true, errAddrSyntax},                          // invalid UTF-8
	}
	for _, tt := range tests {
		if got := checkAddress(tt.addr, tt.utf8); !errors.Is(got, tt.want) {
			t.Errorf("checkAddress(%q, %v) = %v, want %v", tt.addr, tt.utf8, got, tt.want)
		}
	}
}

// FuzzAddress checks that whatever the checker accepts can be written into
// an SMTP command without quoting and without changing its meaning.
func FuzzAddress(f *testing.F) {
	for _, s := range []string{"alice@example.com", "x@[IPv6:::1]", "jörg@bücher.example", "a b@c", "a@b@c", "a@b\r\n"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, addr string, allowUTF8 bool) {
		if checkAddress(addr, allowUTF8) != nil {
			return
		}
		if len(addr) > maxAddress || !utf8.ValidString(addr) {
			t.Fatalf("accepted %q: too long or not UTF-8", addr)
		}
		if strings.Count(addr, "@") != 1 {
			t.Fatalf("accepted %q: not exactly one @", addr)
		}
		for _, r := range addr {
			if r < 0x21 || r == 0x7f || strings.ContainsRune("<>()\\\",;\"", r) {
				t.Fatalf("accepted %q: contains %q", addr, r)
			}
			if r >= 0x80 && !allowUTF8 {
				t.Fatalf("accepted non-ASCII %q without SMTPUTF8", addr)
			}
		}
	})
}
