package message

import (
	"strings"
	"testing"
)

func TestHTML(t *testing.T) {
	t.Parallel()
	src := `<html><head><title>https://title.example.com/x</title><style>a{background:url(https://style.example.com/bg.png)}</style>
<base href="https://drive.google.com/">
<meta http-equiv="refresh" content="0; URL='https://refresh.example.com/go'"></head>
<body>
<p>こんにちは<a href="https://app.box.com/s/abc?x=1&amp;y=2">app.box.com/s/abc</a></p>
<a href="https://evil.example/login">https://www.dropbox.com/s/xyz</a>
<a href="https://www.google.com/url?q=https%3A%2F%2Fwe.tl%2Ft-Abc&amp;sa=D">we.tl/t-Abc</a>
<a href="file/d/relative/view">資料</a>
<a href="mailto:x@example.com">x@example.com</a>
<img src="https://drive.google.com/uc?id=signature-image">
<form action="https://forms.example.com/post"></form><iframe src="https://frame.example.com/"></iframe>
<script>var u = "https://script.example.com/";</script>
<!--[if mso]><v:roundrect href="https://1drv.ms/b/s!Button" style="x"><w:anchorlock/></v:roundrect><![endif]-->
<!-- https://comment.example.com/hidden -->
<div>https://visible.example.com/text<span>more</span></div><div>https://second.example.com/</div>
<a href="https://nowhere.example/">click here</a>
</body></html>`
	raw := "Content-Type: text/html; charset=utf-8\r\n\r\n" + src
	f := Inspect([]byte(raw), Limits{})
	noProblems(t, f)
	type want struct {
		source   string
		mismatch bool
	}
	wants := map[string]want{
		"https://app.box.com/s/abc?x=1&y=2":             {SourceHref, false},
		"https://evil.example/login":                    {SourceHref, true},
		"https://we.tl/t-Abc":                           {SourceHref, false},
		"https://drive.google.com/file/d/relative/view": {SourceHref, false},
		"https://refresh.example.com/go":                {SourceHref, false},
		"https://forms.example.com/post":                {SourceHref, false},
		"https://frame.example.com/":                    {SourceHref, false},
		"https://1drv.ms/b/s!Button":                    {SourceHref, false},
		"https://www.dropbox.com/s/xyz":                 {SourceHTMLText, false},
		"https://visible.example.com/textmore":          {SourceHTMLText, false},
		"https://second.example.com/":                   {SourceHTMLText, false},
		"https://nowhere.example/":                      {SourceHref, false},
		// Visible text naming a link without a scheme is a link too.
		"http://app.box.com/s/abc": {SourceHTMLText, false},
		"http://we.tl/t-Abc":       {SourceHTMLText, false},
	}
	for _, l := range f.Links {
		w, ok := wants[l.URL]
		if !ok {
			t.Errorf("unexpected link %+v", l)
			continue
		}
		delete(wants, l.URL)
		if l.Source != w.source || l.Mismatch != w.mismatch || l.Part != "1" {
			t.Errorf("link %s: source %q mismatch %v, want %q %v", l.URL, l.Source, l.Mismatch, w.source, w.mismatch)
		}
	}
	for u := range wants {
		t.Errorf("missing %s", u)
	}
	text := f.Parts[0].Text
	if !strings.Contains(text, "こんにちはapp.box.com/s/abc") || strings.Contains(text, "script.example") || strings.Contains(text, "title.example") {
		t.Errorf("visible text %q", text)
	}
}

func TestCalendar(t *testing.T) {
	t.Parallel()
	ics := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:定例\r\nDESCRIPTION:資料: https://drive.google.com/drive/fo\r\n lders/1CalAbC\\, 議事録\\nhttps://app.box.com/s/\r\n\tcal\r\nURL:https://example.com/event\r\nATTACH;FMTTYPE=application/pdf:https://www.dropbox.com/s/att/x.pdf\r\nX-ALT-DESC;FMTTYPE=text/html:<a href=\"https://we.tl/t-Cal\">x</a>\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	raw := "Content-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: text/calendar; method=REQUEST; charset=UTF-8\r\n\r\n" + ics + "--c\r\nContent-Type: application/octet-stream; name=invite.ics\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64std(ics) + "\r\n--c--\r\n"
	f := Inspect([]byte(raw), Limits{})
	noProblems(t, f)
	want := []string{
		"https://drive.google.com/drive/folders/1CalAbC",
		"https://app.box.com/s/cal",
		"https://example.com/event",
		"https://www.dropbox.com/s/att/x.pdf",
		"https://we.tl/t-Cal",
	}
	for _, part := range []string{"1", "2"} {
		var got []string
		for _, l := range f.Links {
			if l.Part == part {
				got = append(got, l.URL)
				if l.Source != SourceCalendar {
					t.Errorf("source %q", l.Source)
				}
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("part %s links\n got %v\nwant %v", part, got, want)
		}
	}
}

func TestTextAttachments(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"links.txt", "list.csv", "notes.md", "page.html", "page.htm", "doc.rtf", "share.url", "share.webloc"} {
		raw := mailWith(name, "application/octet-stream", []byte("<p>https://app.box.com/s/"+name+"</p>\n"))
		f := Inspect(raw, Limits{})
		noProblems(t, f)
		if _, ok := linkURLs(f)["https://app.box.com/s/"+name]; !ok {
			t.Errorf("%s: links %+v", name, f.Links)
		}
	}
	// Binary attachments are not scanned as text.
	f := Inspect(mailWith("data.bin", "application/octet-stream", []byte("https://app.box.com/s/hidden")), Limits{})
	if len(f.Links) != 0 || f.Parts[1].Text != "" {
		t.Errorf("binary scanned: %+v", f.Links)
	}
}

// TestHTMLStillClickable: targets a reader can follow that are not a[href].
func TestHTMLStillClickable(t *testing.T) {
	t.Parallel()
	src := `<svg xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href="https://svg1.example.com/x"><text>a</text></a>
<a href="https://svg2.example.com/new" xlink:href="https://svg2.example.com/old">b</a>
<a><set attributeName="href" to="https://svg3.example.com/x"/><animate attributeName="xlink:href" values="https://svg4.example.com/a;https://svg5.example.com/b"/>c</a>
<image href="https://img.example.com/pic.png"/></svg>
<math><mtext href="https://math.example.com/x">m</mtext></math>
<form><button formaction="https://button.example.com/go">go</button></form>
<iframe srcdoc="&lt;a href=&quot;https://srcdoc.example.com/x&quot;&gt;d&lt;/a&gt;"></iframe>
<noscript><a href="https://noscript.example.com/x">e</a></noscript>
<link rel="stylesheet" href="https://css.example.com/a.css">`
	f := Inspect([]byte("Content-Type: text/html\r\n\r\n"+src), Limits{})
	noProblems(t, f)
	got := linkURLs(f)
	for _, u := range []string{"https://svg1.example.com/x", "https://svg2.example.com/new", "https://svg2.example.com/old",
		"https://svg3.example.com/x", "https://svg4.example.com/a", "https://svg5.example.com/b", "https://math.example.com/x",
		"https://button.example.com/go", "https://srcdoc.example.com/x", "https://noscript.example.com/x"} {
		if _, ok := got[u]; !ok {
			t.Errorf("missing %s", u)
		}
	}
	for _, u := range []string{"https://img.example.com/pic.png", "https://css.example.com/a.css"} {
		if _, ok := got[u]; ok {
			t.Errorf("resource %s reported as a link", u)
		}
	}
	// An SVG document on its own, prefixed.
	svg := `<svg:svg xmlns:svg="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink"><svg:a x:href="https://svgdoc.example.com/x"><svg:text>z</svg:text></svg:a></svg:svg>`
	f = Inspect([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: image/svg+xml; name=a.svg\r\n\r\n"+svg+"\r\n--b--\r\n"), Limits{})
	if _, ok := linkURLs(f)["https://svgdoc.example.com/x"]; !ok {
		t.Errorf("SVG part: links %+v", f.Links)
	}
}
