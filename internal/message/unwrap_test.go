package message

import (
	"encoding/base64"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnwrap(t *testing.T) {
	t.Parallel()
	share := "https://drive.google.com/file/d/1AbC/view?usp=sharing"
	safe := "https://nam12.safelinks.protection.outlook.com/?url=" + url.QueryEscape(share) + "&data=05%7C01%7Cx&sdata=abc&reserved=0"
	google := "https://www.google.com/url?q=" + url.QueryEscape(share) + "&sa=D&source=editors&ust=1&usg=AOv"
	tests := []struct {
		name, raw, final string
		wrappers         []string
		opaque           bool
		hints            []string
	}{
		{"plain", "HTTPS://Drive.Google.COM:443/file/d/1AbC/view", "https://drive.google.com/file/d/1AbC/view", nil, false, nil},
		{"schemeless", "www.example.com", "http://www.example.com/", nil, false, nil},
		{"userinfo dropped", "https://drive.google.com@evil.example/x", "https://evil.example/x", nil, false, nil},
		{"backslashes", `https:\\example.com\a\b`, "https://example.com/a/b", nil, false, nil},
		{"safelinks", safe, share, []string{"safelinks"}, false, nil},
		{"safelinks gcc", "https://gcc02.safelinks.protection.office365.us/?url=https%3A%2F%2Fapp.box.com%2Fs%2Fabc&data=1", "https://app.box.com/s/abc", []string{"safelinks"}, false, nil},
		{"google q", google, share, []string{"google"}, false, nil},
		{"google url co.jp", "https://www.google.co.jp/url?sa=t&url=https%3A%2F%2Fwww.dropbox.com%2Fs%2Fabc%2Fx.pdf%3Fdl%3D0", "https://www.dropbox.com/s/abc/x.pdf?dl=0", []string{"google"}, false, nil},
		{"google search not wrapper", "https://www.google.com/search?q=https://example.com", "https://www.google.com/search?q=https://example.com", nil, false, nil},
		{"urldefense v1", "https://urldefense.proofpoint.com/v1/url?u=https://app.box.com/s/abc&k=xyz", "https://app.box.com/s/abc", []string{"urldefense"}, false, nil},
		{"urldefense v2", "https://urldefense.proofpoint.com/v2/url?u=https-3A__drive.google.com_file_d_1AbC_view-3Fusp-3Dsharing&d=DwMFaQ&c=abc&r=def&m=ghi&s=jkl&e=", share, []string{"urldefense"}, false, nil},
		{"urldefense v3", "https://urldefense.com/v3/__https://app.box.com/s/abc123__;!!ABCD!efgh$", "https://app.box.com/s/abc123", []string{"urldefense"}, false, nil},
		{"urldefense v3 replaced", "https://urldefense.com/v3/__https://example.com/a*b__;" + b64("#") + "!!x!y$", "https://example.com/a#b", []string{"urldefense"}, false, nil},
		{"urldefense v3 run", "https://urldefense.com/v3/__https://example.com/**Ax__;" + b64("?q") + "!!x$", "https://example.com/?qx", []string{"urldefense"}, false, nil},
		{"urldefense v3 unicode", "https://urldefense.com/v3/__https://example.com/*/x__;" + b64("é") + "!!x$", "https://example.com/é/x", []string{"urldefense"}, false, nil},
		{"nested", "https://nam12.safelinks.protection.outlook.com/?url=" + url.QueryEscape(google) + "&data=1", share, []string{"safelinks", "google"}, false, nil},
		{"double encoded", "https://nam12.safelinks.protection.outlook.com/?url=" + url.QueryEscape(url.QueryEscape(share)) + "&data=1", share, []string{"safelinks"}, false, nil},
		{"triple encoded", "https://nam12.safelinks.protection.outlook.com/?url=" + url.QueryEscape(url.QueryEscape(url.QueryEscape(share))), share, []string{"safelinks"}, false, nil},
		{"barracuda", "https://linkprotect.cudasvc.com/url?a=https%3a%2f%2fwww.dropbox.com%2fs%2fabc&c=E,1,xyz&typo=1", "https://www.dropbox.com/s/abc", []string{"barracuda"}, false, nil},
		{"trendmicro", "https://imsva91-ctp.trendmicro.com:443/wis/clicktime/v1/query?url=https%3a%2f%2fwe.tl%2ft-AbC&umid=1", "https://we.tl/t-AbC", []string{"trendmicro"}, false, nil},
		{"cisco", "https://secure-web.cisco.com/1AbCdEf-gh/https%3A%2F%2Fwetransfer.com%2Fdownloads%2Fabc", "https://wetransfer.com/downloads/abc", []string{"cisco"}, false, nil},
		{"sophos", "https://eu-central-1.protection.sophos.com?d=box.com&u=" + b64("https://app.box.com/s/abc") + "&i=x", "https://app.box.com/s/abc", []string{"sophos"}, false, nil},
		{"fireeye", "https://protect2.fireeye.com/v1/url?k=abc&q=def&u=https%3A%2F%2Fmega.nz%2Ffile%2Fx", "https://mega.nz/file/x", []string{"fireeye"}, false, nil},
		{"facebook", "https://l.facebook.com/l.php?u=https%3A%2F%2F1drv.ms%2Fu%2Fs!abc&h=x", "https://1drv.ms/u/s!abc", []string{"facebook"}, false, nil},
		{"mimecast opaque", "https://protect-eu.mimecast.com/s/AbCdEfGh?domain=drive.google.com", "https://protect-eu.mimecast.com/s/AbCdEfGh?domain=drive.google.com", nil, true, []string{"drive.google.com"}},
		{"mimecast base64 hint", "https://protect-us.mimecast.com/s/x?u=" + b64("https://www.dropbox.com/s/abc"), "https://protect-us.mimecast.com/s/x?u=" + b64("https://www.dropbox.com/s/abc"), nil, true, []string{"www.dropbox.com"}},
		{"safelinks without url", "https://nam12.safelinks.protection.outlook.com/?data=1", "https://nam12.safelinks.protection.outlook.com/?data=1", nil, true, nil},
		{"shortener (the catalogue's business)", "https://bit.ly/3AbCd", "https://bit.ly/3AbCd", nil, false, nil},
		{"encoded beyond the decoding rounds", "https://www.google.com/url?q=https%2525252525253A%2525252525252F%2525252525252Fx.example", "https://www.google.com/url?q=https%2525252525253A%2525252525252F%2525252525252Fx.example", nil, true, []string{"x.example"}},
		{"wrapper to mailto", "https://www.google.com/url?q=mailto:a@example.com", "https://www.google.com/url?q=mailto:a@example.com", nil, false, nil},
		{"idn", "https://例え.jp/x", "https://xn--r8jz45g.jp/x", nil, false, nil},
		{"not a url", "mailto:a@example.com", "mailto:a@example.com", nil, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			final, wrappers, opaque, hints := Unwrap(tt.raw)
			if final != tt.final || opaque != tt.opaque {
				t.Errorf("Unwrap(%q) = %q opaque=%v, want %q opaque=%v", tt.raw, final, opaque, tt.final, tt.opaque)
			}
			if diff := cmp.Diff(tt.wrappers, wrappers); diff != "" {
				t.Errorf("wrappers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.hints, hints); diff != "" {
				t.Errorf("hints (-want +got):\n%s", diff)
			}
		})
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestUnwrapDeepNestingIsOpaque(t *testing.T) {
	t.Parallel()
	u := "https://app.box.com/s/abc"
	for range maxUnwrap + 3 {
		u = "https://www.google.com/url?q=" + url.QueryEscape(u)
	}
	final, wrappers, opaque, hints := Unwrap(u)
	if !opaque || len(wrappers) != maxUnwrap {
		t.Fatalf("final %q wrappers %d opaque %v", final, len(wrappers), opaque)
	}
	if len(hints) == 0 || hints[0] != "app.box.com" && hints[0] != "www.google.com" {
		t.Errorf("hints %v", hints)
	}
}

func TestNormalizeHost(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"Example.COM.":          "example.com",
		"example.com:8080":      "example.com",
		"例え.jp":                 "xn--r8jz45g.jp",
		"ＥＸＡＭＰＬＥ．ｃｏｍ":           "example.com",
		"bücher.de":             "xn--bcher-kva.de",
		"b%C3%BCcher.de":        "xn--bcher-kva.de",
		"[2001:DB8::1]:25":      "2001:db8::1",
		"under_score.例え.jp":     "under_score.xn--r8jz45g.jp",
		"":                      "",
		"xn--r8jz45g.jp":        "xn--r8jz45g.jp",
		"MÜNCHEN.example.":      "xn--mnchen-3ya.example",
		"192.0.2.1:443":         "192.0.2.1",
		"sub.Domain.Example.jp": "sub.domain.example.jp",
	}
	for in, want := range tests {
		if got := NormalizeHost(in); got != want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
}
