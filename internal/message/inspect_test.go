package message

import (
	"fmt"
	"strings"
	"testing"
)

// crlf turns a readable literal into wire form.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func TestInspectBasic(t *testing.T) {
	t.Parallel()
	raw := crlf(`From: Taro <taro@example.co.jp>
To: A <A@Example.com>, b@x.org
Cc: c@y.org
Subject: =?UTF-8?B?6LOH5paZ?=
Message-ID: <1@example.co.jp>
Content-Type: multipart/mixed; boundary=XX

--XX
Content-Type: text/plain; charset=utf-8

資料はhttps://drive.google.com/file/d/abc/view?usp=sharingです。
--XX
Content-Type: text/html

<a href="https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Fevil.example%2Fx&data=1">https://drive.google.com/file/d/zz</a>
--XX--
`)
	f := Inspect(raw, Limits{})
	if f.Subject != "資料" || f.MessageID != "<1@example.co.jp>" {
		t.Errorf("subject %q, message-id %q", f.Subject, f.MessageID)
	}
	if strings.Join(f.To, ",") != "a@example.com,b@x.org" || strings.Join(f.Cc, ",") != "c@y.org" {
		t.Errorf("To %v Cc %v", f.To, f.Cc)
	}
	if len(f.Parts) != 2 || f.Parts[0].Path != "1" || f.Parts[1].Path != "2" {
		t.Fatalf("parts %+v", f.Parts)
	}
	want := map[string]string{
		"https://drive.google.com/file/d/abc/view?usp=sharing": "1",
		"https://evil.example/x":                               "2",
		"https://drive.google.com/file/d/zz":                   "2",
	}
	for _, l := range f.Links {
		if p, ok := want[l.URL]; !ok || p != l.Part {
			t.Errorf("unexpected link %+v", l)
		}
		delete(want, l.URL)
		if l.URL == "https://evil.example/x" && (!l.Mismatch || l.Wrappers[0] != "safelinks") {
			t.Errorf("safelinks anchor: %+v", l)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing links %v", want)
	}
	if len(f.Problems) != 0 {
		t.Errorf("problems %+v", f.Problems)
	}
}

func TestEmbeddedRedirectTargets(t *testing.T) {
	t.Parallel()
	raw := "Content-Type: text/plain\r\n\r\n" +
		"tracked: https://click.example.com/track?id=7&u=https%3A%2F%2Fdrive.google.com%2Ffile%2Fd%2F1Emb%2Fview\r\n" +
		"login: https://accounts.google.com/ServiceLogin?continue=https://drive.google.com/drive/folders/1Fold&hl=ja\r\n" +
		"plain: https://example.com/search?q=not+a+url\r\n"
	f := Inspect([]byte(raw), Limits{})
	noProblems(t, f)
	type row struct{ url, wrappers string }
	var got []row
	for _, l := range f.Links {
		got = append(got, row{l.URL, strings.Join(l.Wrappers, ",")})
	}
	want := []row{
		{"https://click.example.com/track?id=7&u=https%3A%2F%2Fdrive.google.com%2Ffile%2Fd%2F1Emb%2Fview", ""},
		{"https://drive.google.com/file/d/1Emb/view", "embedded"},
		{"https://accounts.google.com/ServiceLogin?continue=https://drive.google.com/drive/folders/1Fold&hl=ja", ""},
		{"https://drive.google.com/drive/folders/1Fold", "embedded"},
		{"https://example.com/search?q=not+a+url", ""},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("links\n got %v\nwant %v", got, want)
	}
}

func TestAnchorMismatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text, href string
		mismatch   bool
	}{
		{"https://drive.google.com/file/d/x", "https://evil.example/x", true},
		{"drive.google.com", "https://evil.example/x", true},
		{"example.com", "https://www.example.com/x", false},
		{"www.example.com/a", "https://mail.example.com/b", false},
		{"Click here", "https://evil.example/x", false},
		{"ｄｒｉｖｅ．ｇｏｏｇｌｅ．ｃｏｍ", "https://evil.example/x", true},
		{"https://drive.google.com/file/d/x", "https://www.google.com/url?q=https://drive.google.com/file/d/x", false},
		{"app.box.com", "https://protect-eu.mimecast.com/s/x?domain=app.box.com", false},
	}
	for _, tt := range tests {
		raw := "Content-Type: text/html\r\n\r\n<a href=\"" + tt.href + "\">" + tt.text + "</a>"
		f := Inspect([]byte(raw), Limits{})
		var href *Link
		for i := range f.Links {
			if f.Links[i].Source == SourceHref {
				href = &f.Links[i]
			}
		}
		if href == nil || href.Mismatch != tt.mismatch || href.Text != tt.text {
			t.Errorf("text %q href %q: %+v, want mismatch %v", tt.text, tt.href, href, tt.mismatch)
		}
	}
}
