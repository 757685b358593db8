package message

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzInspect(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.eml"))
	// The shapes a security review got past the inspection.
	more, _ := filepath.Glob(filepath.Join("../../testdata/failclosed", "*.eml"))
	for _, file := range append(files, more...) {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		facts := Inspect(raw, Limits{MaxParts: 200, MaxDecodedSize: 1 << 20})
		if facts == nil {
			t.Fatal("nil facts")
		}
		for _, p := range facts.Problems {
			// Inspect recovers panics into a problem; for the fuzzer a
			// recovered panic is still a bug.
			if strings.HasPrefix(p.Detail, "internal error") {
				t.Fatalf("panic: %s", p.Detail)
			}
		}
		for _, l := range facts.Links {
			if l.URL == "" || l.Host == "" || NormalizeHost(l.Host) != l.Host {
				t.Fatalf("bad link %+v", l)
			}
		}
		for _, p := range facts.Parts {
			if !utf8.ValidString(p.Text) || !utf8.ValidString(p.Filename) {
				t.Fatalf("invalid UTF-8 in part %s", p.Path)
			}
		}
		if !utf8.ValidString(facts.Subject) || !utf8.ValidString(facts.From) {
			t.Fatalf("invalid UTF-8 in header facts")
		}
	})
}

func FuzzExtractLinks(f *testing.F) {
	for _, s := range []string{
		"資料はhttps://drive.google.com/file/d/abc/viewです。",
		"ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ／ａ",
		"(see https://en.wikipedia.org/wiki/Foo_(bar)) www.example.com/x 1drv.ms/u/s!a",
		"https://例え.テスト/パス https://a.example.com/xとhttps://b.example.com/y",
		"URL：www.box.com/s/abc。 a@b.example.com/x",
		`https:\\drive.google.com\drive\folders\abc https:/\\x.example/y http:/z.example`,
		"<https://drive.google.com/drive/\r\n folders/abc> <URL:https://a.example/\n\tb>",
		"<https://a.example/x\n y z>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, u := range ExtractLinks(text) {
			if u == "" || strings.ContainsAny(u, " \t\r\n\"<>") {
				t.Fatalf("bad link %q from %q", u, text)
			}
			if !utf8.ValidString(text) {
				continue
			}
			// A link found in text is found whole in itself.
			if again := ExtractLinks(u); len(again) == 0 || again[0] != u {
				t.Fatalf("ExtractLinks(%q) = %q, not itself (from %q)", u, again, text)
			}
		}
	})
}

func FuzzUnwrap(f *testing.F) {
	for _, s := range []string{
		"https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Fdrive.google.com%2Ffile%2Fd%2F1&data=1",
		"https://www.google.com/url?q=https%253A%252F%252Fapp.box.com%252Fs%252Fabc&sa=D",
		"https://urldefense.proofpoint.com/v2/url?u=https-3A__we.tl_t-2DAbC&d=x",
		"https://urldefense.com/v3/__https://example.com/**Ax__;P3E!!x$",
		"https://protect-eu.mimecast.com/s/x?domain=drive.google.com",
		"https://secure-web.cisco.com/1abc/https%3A%2F%2Fmega.nz%2Ffile%2Fx",
		"HTTPS://[2001:db8::1]:8443/a\\b?c#d",
		"www.例え.jp/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		final, wrappers, opaque, hints := Unwrap(raw)
		if len(wrappers) > maxUnwrap || len(hints) > maxHints {
			t.Fatalf("unbounded: %d wrappers, %d hints", len(wrappers), len(hints))
		}
		u, ok := parseURL(final)
		if !ok {
			if len(wrappers) > 0 {
				t.Fatalf("unwrapped to a non-URL %q", final)
			}
			return
		}
		if NormalizeHost(u.host) != u.host {
			t.Fatalf("host %q not normal", u.host)
		}
		if !opaque {
			// Unwrapping is idempotent.
			if again, _, _, _ := Unwrap(final); again != final {
				t.Fatalf("Unwrap(%q) = %q, want itself (from %q)", final, again, raw)
			}
		}
	})
}
