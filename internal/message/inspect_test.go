package message

import (
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
