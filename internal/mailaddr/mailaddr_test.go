package mailaddr

import (
	"errors"
	"testing"
)

func TestParseEntry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, kind, value string
		err             error
	}{
		{"example.com", EntryDomain, "example.com", nil},
		{" Example.COM. ", EntryDomain, "example.com", nil},
		{".example.com", EntrySubdomains, "example.com", nil},
		{"*.example.com", EntrySubdomains, "example.com", nil},
		{"Bob@Example.com", EntryAddress, "bob@example.com", nil},
		{"bob+tag@例え.jp", EntryAddress, "bob+tag@xn--r8jz45g.jp", nil},
		{"ＥＸＡＭＰＬＥ.com", EntryDomain, "example.com", nil}, // full-width forms mapped
		{"faß.de", EntryDomain, "xn--fa-hia.de", nil},    // non-transitional
		{"co.jp", EntryDomain, "co.jp", ErrPublicSuffix},
		{"*.lg.jp", EntrySubdomains, "lg.jp", ErrPublicSuffix},
		{"localhost", EntryDomain, "", ErrInvalidEntry},
		{"bad domain.com", EntryDomain, "", ErrInvalidEntry},
		{"under_score.example.com", EntryDomain, "", ErrInvalidEntry}, // STD3 rules
		{"-lead.example.com", EntryDomain, "", ErrInvalidEntry},       // hyphen check
		{"@example.com", EntryAddress, "", ErrInvalidEntry},
		{"<bob@example.com>", EntryAddress, "", ErrInvalidEntry},
		{"a b@example.com", EntryAddress, "", ErrInvalidEntry},
		{"bob@[192.0.2.1]", EntryAddress, "", ErrInvalidEntry}, // address literals are not allowlisted
		{"", EntryDomain, "", ErrInvalidEntry},
	} {
		e, err := ParseEntry(tc.in)
		if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) || e.Kind != tc.kind || e.Value != tc.value {
			t.Errorf("ParseEntry(%q) = %+v, %v; want %s %q, %v", tc.in, e, err, tc.kind, tc.value, tc.err)
		}
	}
}

func TestASCIIForms(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"例え.JP": "xn--r8jz45g.jp", "example.com": "example.com", "ＥＸＡＭＰＬＥ．ｃｏｍ": "example.com"} {
		if got, err := ToASCII(in); got != want || err != nil {
			t.Errorf("ToASCII(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// A name the profile rejects: an error, and still a stable form for
	// hosts found in mail.
	if _, err := ToASCII("ファイル_x.example.jp"); err == nil {
		t.Error("ToASCII accepted an underscore")
	}
	a, b := LenientASCII("ファイル_x.example.jp"), LenientASCII("ファイル_x.EXAMPLE.jp")
	if a != b || a == "" || a != "xn--_x-dg4am7vwe.example.jp" {
		t.Errorf("LenientASCII = %q, %q", a, b)
	}
	if got := ToUnicode("xn--r8jz45g.jp"); got != "例え.jp" {
		t.Errorf("ToUnicode = %q", got)
	}
	if got := Display(EntrySubdomains, "xn--r8jz45g.jp"); got != ".例え.jp" {
		t.Errorf("Display = %q", got)
	}
	if got := Display(EntryAddress, "bob@xn--r8jz45g.jp"); got != "bob@例え.jp" {
		t.Errorf("Display = %q", got)
	}
}
