package account

import (
	"slices"
	"testing"
)

func TestNormalizeMailbox(t *testing.T) {
	for in, want := range map[string]string{
		"off2@example.jp":              "off2@example.jp",
		" <Off2+x@Example.JP> ":        "off2@example.jp",
		"off2+a+b@example.jp":          "off2@example.jp",
		"off2@example.jp.":             "off2@example.jp",
		"kanri@例え.jp":                  "kanri@xn--r8jz45g.jp",
		"KANRI@例え.ＪＰ":                  "kanri@xn--r8jz45g.jp",
		`"off2+x"@example.jp`:          "off2@example.jp",
		"+tag@example.jp":              "+tag@example.jp", // no local part before the "+": kept
		"user@[192.0.2.1]":             "user@[192.0.2.1]",
		"":                             "",
		"no-at-sign":                   "",
		"@example.jp":                  "",
		"off2@":                        "",
		"a b@example.jp":               "",
		"off2@example.jp.evil.example": "off2@example.jp.evil.example",
	} {
		if got := NormalizeMailbox(in); got != want {
			t.Errorf("NormalizeMailbox(%q) = %q, want %q", in, got, want)
		}
	}
	if SameMailbox("", "") || SameMailbox("x", "x") {
		t.Error("non-addresses compare equal")
	}
}

func TestHeaderAddresses(t *testing.T) {
	for in, want := range map[string][]string{
		"Off Two <off2+x@example.jp>":            {"off2+x@example.jp"},
		"=?UTF-8?B?5L+d5a6I?= <OFF2@example.jp>": {"OFF2@example.jp"},
		"a@example.net, B <b@example.jp>":        {"a@example.net", "b@example.jp"},
		"\"off2@example.jp\" <ceo@example.jp>":   {"ceo@example.jp"},
		"Off \"Two <off2+x@example.jp":           {"off2+x@example.jp"},
		"=?x-unknown?B?AAAA?= <off2@example.jp>": {"off2@example.jp"},
		"":                                       nil,
		"undisclosed-recipients:;":               nil,
	} {
		if got := HeaderAddresses(in); !slices.Equal(got, want) {
			t.Errorf("HeaderAddresses(%q) = %q, want %q", in, got, want)
		}
	}
}
