package message

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/quotedprintable"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
)

func enc(t *testing.T, e encoding.Encoding, s string) string {
	t.Helper()
	b, err := e.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode %q: %v", s, err)
	}
	return string(b)
}

func b64std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func qp(s string) string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func linkURLs(f *Facts) map[string]string {
	m := make(map[string]string)
	for _, l := range f.Links {
		m[l.URL] = l.Part
	}
	return m
}

func noProblems(t *testing.T, f *Facts) {
	t.Helper()
	if len(f.Problems) != 0 {
		t.Errorf("unexpected problems: %+v", f.Problems)
	}
}

func TestCharsets(t *testing.T) {
	t.Parallel()
	const body = "お世話になっております。資料はこちら「https://drive.google.com/file/d/1Jp/view」です。①㈱"
	const url = "https://drive.google.com/file/d/1Jp/view"
	tests := []struct {
		name, charset, cte, encoded string
	}{
		{"iso-2022-jp 7bit", "ISO-2022-JP", "7bit", enc(t, japanese.ISO2022JP, body)},
		{"iso-2022-jp base64", "iso-2022-jp", "base64", b64std(enc(t, japanese.ISO2022JP, body))},
		{"shift_jis base64", "Shift_JIS", "base64", b64std(enc(t, japanese.ShiftJIS, body))},
		{"cp932 qp", "windows-31j", "quoted-printable", qp(enc(t, japanese.ShiftJIS, body))},
		{"euc-jp qp", "EUC-JP", "quoted-printable", qp(enc(t, japanese.EUCJP, body))},
		{"utf-8 qp", "utf-8", "quoted-printable", qp(body)},
		{"utf-8 8bit", "UTF-8", "8bit", body},
		{"undeclared shift_jis", "", "8bit", enc(t, japanese.ShiftJIS, body)},
		{"us-ascii labelled jis", "us-ascii", "7bit", enc(t, japanese.ISO2022JP, body)},
		{"iso-2022-jp labelled utf-8", "iso-2022-jp", "8bit", body},
		{"cp932 alias", "CP932", "base64", b64std(enc(t, japanese.ShiftJIS, body))},
		{"iso-2022-jp-ms alias", "ISO-2022-JP-MS", "7bit", enc(t, japanese.ISO2022JP, body)},
		{"cp50220 alias", "cp50220", "7-bit", enc(t, japanese.ISO2022JP, body)},
		{"eucjp-ms alias", "eucJP-ms", "8-bit", enc(t, japanese.EUCJP, body)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ct := "text/plain"
			if tt.charset != "" {
				ct += "; charset=" + tt.charset
			}
			raw := "Subject: x\r\nContent-Type: " + ct + "\r\nContent-Transfer-Encoding: " + tt.cte + "\r\n\r\n" + tt.encoded + "\r\n"
			f := Inspect([]byte(raw), Limits{})
			noProblems(t, f)
			if len(f.Parts) != 1 || !strings.Contains(f.Parts[0].Text, body) {
				t.Fatalf("text not decoded: %+v", f.Parts)
			}
			if _, ok := linkURLs(f)[url]; !ok || len(f.Links) != 1 {
				t.Errorf("links %+v", f.Links)
			}
		})
	}
}

func TestUnknownCharset(t *testing.T) {
	t.Parallel()
	raw := "Content-Type: text/plain; charset=x-klingon\r\n\r\nsee https://app.box.com/s/abc\r\n"
	f := Inspect([]byte(raw), Limits{})
	if len(f.Problems) != 1 || f.Problems[0].Kind != KindCharset || f.Problems[0].Part != "1" {
		t.Errorf("problems %+v", f.Problems)
	}
	if _, ok := linkURLs(f)["https://app.box.com/s/abc"]; !ok {
		t.Errorf("best-effort text lost the link: %+v", f.Links)
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	subj := "【至急】見積書の件"
	jis := enc(t, japanese.ISO2022JP, subj)
	tests := []struct {
		name, header, subject, from string
		to                          []string
	}{
		{"rfc2047 iso-2022-jp", "Subject: =?ISO-2022-JP?B?" + b64std(jis) + "?=\r\nFrom: =?ISO-2022-JP?B?" + b64std(enc(t, japanese.ISO2022JP, "山田太郎")) + "?= <taro@example.co.jp>\r\n", subj, "山田太郎 <taro@example.co.jp>", nil},
		{"raw jis", "Subject: " + jis + "\r\n", subj, "", nil},
		{"raw utf-8", "Subject: " + subj + "\r\n", subj, "", nil},
		{"split utf-8 words", "Subject: =?UTF-8?B?" + b64std(subj[:4]) + "?=\r\n =?UTF-8?B?" + b64std(subj[4:]) + "?=\r\n", subj, "", nil},
		{"q encoding", "Subject: =?utf-8?Q?caf=C3=A9_menu?=\r\n", "café menu", "", nil},
		{"addresses", "To: \"Yamada, Taro\" <Taro@Example.CO.JP>, b@x.org\r\nTo: group: c@y.org, d@z.org;\r\n", "", "", []string{"taro@example.co.jp", "b@x.org", "c@y.org", "d@z.org"}},
		{"broken address list", "To: " + enc(t, japanese.ShiftJIS, "山田") + " <taro@example.jp>, <<bad@@, jiro@example.jp\r\n", "", "", []string{"taro@example.jp", "jiro@example.jp"}},
		{"undisclosed", "To: undisclosed-recipients:;\r\n", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := Inspect([]byte(tt.header+"\r\nbody\r\n"), Limits{})
			if f.Subject != tt.subject || f.From != tt.from {
				t.Errorf("subject %q from %q, want %q %q", f.Subject, f.From, tt.subject, tt.from)
			}
			if strings.Join(f.To, ",") != strings.Join(tt.to, ",") {
				t.Errorf("To %v, want %v", f.To, tt.to)
			}
		})
	}
}

func TestFilenames(t *testing.T) {
	t.Parallel()
	name := "見積書_2024年度.xlsx"
	sjis := enc(t, japanese.ShiftJIS, name)
	jis := enc(t, japanese.ISO2022JP, name)
	pct := func(s string) string { return strings.ReplaceAll(url.PathEscape(s), "_", "%5F") }
	tests := []struct{ name, disp string }{
		{"rfc2231 utf-8", "attachment; filename*=UTF-8''" + pct(name)},
		{"rfc2231 shift_jis", "attachment; filename*=shift_jis''" + pct(sjis)},
		{"rfc2231 iso-2022-jp continuation", fmt.Sprintf("attachment;\r\n filename*0*=iso-2022-jp'ja'%s;\r\n filename*1*=%s", pct(jis[:9]), pct(jis[9:]))},
		{"rfc2231 mixed continuation", fmt.Sprintf("attachment; filename*1=\"%s\"; filename*0*=utf-8''%s", name[len(name)-5:], pct(name[:len(name)-5]))},
		{"rfc2047 in quotes", "attachment; filename=\"=?ISO-2022-JP?B?" + b64std(jis) + "?=\""},
		{"raw shift_jis", "attachment; filename=\"" + sjis + "\""},
		{"raw utf-8 unquoted", "attachment; filename=" + name},
		{"ct name only", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ct := "application/octet-stream"
			if tt.disp == "" {
				ct += "; name=\"=?UTF-8?B?" + b64std(name) + "?=\""
			}
			raw := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: " + ct + "\r\n"
			if tt.disp != "" {
				raw += "Content-Disposition: " + tt.disp + "\r\n"
			}
			raw += "Content-Transfer-Encoding: base64\r\n\r\nYSxiCg==\r\n--b--\r\n"
			f := Inspect([]byte(raw), Limits{})
			noProblems(t, f)
			if len(f.Attachments) != 1 || f.Attachments[0].Filename != name || f.Attachments[0].Part != "2" {
				t.Errorf("attachments %+v, want filename %q", f.Attachments, name)
			}
		})
	}
}

func TestForwardedMessage(t *testing.T) {
	t.Parallel()
	inner := crlf(`From: Hanako <hanako@example.jp>
To: taro@example.co.jp
Subject: Fwd: share https://we.tl/t-SubjLink
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8

See the folder.
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>See <a href=3D"https://www.dropbox.com/scl/fo/abc/def?rlkey=3Dx&dl=3D0">the folder</a></p>
--inner--
`)
	single := crlf(`Subject: single
Content-Type: text/plain

https://app.box.com/s/single
`)
	raw := string(crlf(`From: Taro <taro@example.co.jp>
To: ext@partner.example
Subject: FW: files
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: text/plain

Forwarding.
--outer
Content-Type: message/rfc822

`)) + string(inner) + string(crlf(`
--outer
Content-Type: application/octet-stream; name="old.eml"
Content-Transfer-Encoding: base64

`)) + b64std(string(single)) + "\r\n--outer--\r\n"
	f := Inspect([]byte(raw), Limits{})
	noProblems(t, f)
	got := linkURLs(f)
	want := map[string]string{
		"https://we.tl/t-SubjLink":                            "2",
		"https://www.dropbox.com/scl/fo/abc/def?rlkey=x&dl=0": "2.2",
		"https://app.box.com/s/single":                        "3.1",
	}
	for u, p := range want {
		if got[u] != p {
			t.Errorf("link %s in part %q, want %q (all: %v)", u, got[u], p, got)
		}
	}
	var paths []string
	for _, p := range f.Parts {
		paths = append(paths, p.Path)
	}
	if strings.Join(paths, " ") != "1 2.1 2.2 3.1" {
		t.Errorf("part paths %v", paths)
	}
	if len(f.Attachments) != 2 || f.Attachments[0].ContentType != "message/rfc822" || f.Attachments[1].Filename != "old.eml" {
		t.Errorf("attachments %+v", f.Attachments)
	}
}

func TestBrokenEncodings(t *testing.T) {
	t.Parallel()
	raw := crlf(`Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain
Content-Transfer-Encoding: base64

` + b64std("first https://app.box.com/s/one ") + `
!!!not base64!!!
` + b64std("second") + `
--b
Content-Type: text/plain
Content-Transfer-Encoding: quoted-printable

https://app.box.com/s/t=
wo =ZZ end
--b
Content-Type: text/plain
Content-Transfer-Encoding: x-uuencode

https://app.box.com/s/three
--b--
`)
	f := Inspect(raw, Limits{})
	got := linkURLs(f)
	for _, u := range []string{"https://app.box.com/s/one", "https://app.box.com/s/two", "https://app.box.com/s/three"} {
		if _, ok := got[u]; !ok {
			t.Errorf("missing %s: %v", u, got)
		}
	}
	// Broken base64 loses data and the unknown encoding is not decoded:
	// problems. A stray "=" in quoted-printable is read literally, as by
	// every client: nothing lost, no problem.
	if len(f.Problems) != 2 {
		t.Errorf("want 2 parse problems, got %+v", f.Problems)
	}
	for _, p := range f.Problems {
		if p.Kind != KindParse {
			t.Errorf("problem %+v", p)
		}
	}
}

func TestMalformedStructure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw string
		link      string
		problems  int
	}{
		{"no boundary param", "Content-Type: multipart/mixed\r\n\r\nhttps://app.box.com/s/a\r\n", "https://app.box.com/s/a", 1},
		{"boundary never used", "Content-Type: multipart/mixed; boundary=zz\r\n\r\nhttps://app.box.com/s/a\r\n", "https://app.box.com/s/a", 1},
		{"no close delimiter", "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n\r\nhttps://app.box.com/s/a\r\n", "https://app.box.com/s/a", 0},
		{"LF only", "Content-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/html\n\n<a href=https://app.box.com/s/a>x</a>\n--zz--\n", "https://app.box.com/s/a", 0},
		{"bad header line", "Subject: x\r\nthis is not a header\r\nContent-Type: text/html\r\n\r\n<a href=https://app.box.com/s/a>x</a>\r\n", "https://app.box.com/s/a", 1},
		{"mbox From line", "From someone@example.com Mon Jan 1 00:00:00 2024\r\nSubject: x\r\n\r\nhttps://app.box.com/s/a\r\n", "https://app.box.com/s/a", 0},
		{"no header", "\r\nhttps://app.box.com/s/a\r\n", "https://app.box.com/s/a", 0},
		{"header only", "Subject: https://app.box.com/s/a", "https://app.box.com/s/a", 0},
		{"digest defaults", "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: x\r\n\r\nhttps://app.box.com/s/a\r\n--d--\r\n", "https://app.box.com/s/a", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := Inspect([]byte(tt.raw), Limits{})
			if _, ok := linkURLs(f)[tt.link]; !ok {
				t.Errorf("missing link: %+v", f.Links)
			}
			if len(f.Problems) != tt.problems {
				t.Errorf("problems %+v, want %d", f.Problems, tt.problems)
			}
		})
	}
}

func TestHeaderUnknownCharset(t *testing.T) {
	t.Parallel()
	f := Inspect([]byte("Subject: =?x-klingon?B?AAAA?=\r\n\r\nbody\r\n"), Limits{})
	if len(f.Problems) != 1 || f.Problems[0].Kind != KindCharset {
		t.Errorf("problems %+v", f.Problems)
	}
}

// TestParamIssues: parameters readers would read differently, or that are
// not read at all, are reported.
func TestParamIssues(t *testing.T) {
	t.Parallel()
	many := "application/octet-stream"
	for i := range maxParams {
		many += "; x" + strconv.Itoa(i) + "=1"
	}
	tests := []struct{ v, kind string }{
		{`multipart/mixed; boundary="a"`, ""},
		{`multipart/mixed; boundary="a"; boundary="b"`, KindAmbiguous},
		{`multipart/mixed; BOUNDARY=a; boundary=a`, KindAmbiguous},
		{`text/plain; charset=utf-8; charset="utf-8"`, ""},
		{`text/plain; charset=utf-8; charset=iso-2022-jp`, KindAmbiguous},
		{`text/plain; name*0="a"; name*0="b"`, KindAmbiguous},
		{`text/plain; name="a.txt"; name*=utf-8''a.html`, KindAmbiguous},
		{`text/plain; name="a.txt"; name*=utf-8''a.txt`, ""},
		{`text/plain; name="report.pdf"; name*=utf-8''%E5%A0%B1%E5%91%8A.pdf`, ""},
		{`text/plain; boundary="a"; boundary*=utf-8''b`, KindAmbiguous},
		{`text/plain; name="=?utf-8?B?44GC?="; name*=utf-8''%E3%81%82`, ""},
		{`text/plain; name*0=a; name*1000=b`, KindLimitSize},
		{many, ""},
		{many + "; name=page.html", KindLimitSize},
	}
	for _, tt := range tests {
		_, _, is := parseParams(tt.v)
		if is.kind != tt.kind {
			t.Errorf("%.80s: issue %+v, want kind %q", tt.v, is, tt.kind)
		}
	}
}

// TestPreambleEpilogue: links outside the parts are found and labelled.
func TestPreambleEpilogue(t *testing.T) {
	t.Parallel()
	raw := "Content-Type: multipart/mixed; boundary=b\r\n\r\npre https://a.example.com/1\r\n--b\r\n\r\nbody\r\n--b--\r\npost https://b.example.com/2\r\n"
	f := Inspect([]byte(raw), Limits{})
	got := map[string]string{}
	for _, l := range f.Links {
		got[l.URL] = l.Part
	}
	if got["https://a.example.com/1"] != "preamble" || got["https://b.example.com/2"] != "epilogue" || len(f.Problems) > 0 {
		t.Errorf("links %v, problems %+v", got, f.Problems)
	}
	parts, pre, epi, err := splitMultipart([]byte("x\r\n--b\r\n\r\n1\r\n--b--  \r\ny"), "b")
	if err != nil || len(parts) != 1 || string(pre) != "x\r\n" || string(epi) != "y" {
		t.Errorf("split: %q %q %q %v", parts, pre, epi, err)
	}
}
