package message

import (
	"bytes"
	"net/url"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// maxAnchorText bounds the visible text kept for one anchor.
const maxAnchorText = 200

// html extracts links from an HTML part and returns its visible text.
//
// Reported as "href": a[href], area[href], form[action], iframe[src],
// frame[src], meta refresh targets, and href of VML shapes in Outlook's
// conditional comments (its "bulletproof buttons"); relative targets are
// resolved against <base href>. Not reported: img[src] and other embedded
// resources. They are not links the recipient is asked to follow, and
// signature images hosted on a file-sharing service would otherwise look
// like shared files in every message. Visible text is scanned like plain
// text ("html-text"). script, style, title and template content is not
// visible and not scanned.
func (in *inspector) html(src, part string) string {
	w := htmlWalk{in: in, part: part}
	w.tokens(src, false)
	w.closeAnchor()
	text := tidyText(w.vis.String())
	in.links(ExtractLinks(text), part, SourceHTMLText)
	return text
}

type htmlWalk struct {
	in     *inspector
	part   string
	vis    strings.Builder
	base   *url.URL
	anchor *anchor
	skip   int
	n      int
}

type anchor struct {
	href string
	text strings.Builder
}

func (w *htmlWalk) tokens(src string, comment bool) {
	z := html.NewTokenizer(strings.NewReader(src))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return
		}
		w.n++
		if w.n&1023 == 0 && w.in.expired(w.part) {
			return
		}
		switch tt {
		case html.TextToken:
			if w.skip > 0 || comment {
				continue
			}
			t := z.Text()
			w.vis.Write(t)
			if w.anchor != nil && w.anchor.text.Len() < maxAnchorText*4 {
				w.anchor.text.Write(t)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			w.startTag(z, string(name), hasAttr, tt == html.SelfClosingTagToken)
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "title", "template":
				if w.skip > 0 {
					w.skip--
				}
			case "a":
				w.closeAnchor()
			default:
				w.block(string(name))
			}
		case html.CommentToken:
			// Outlook hides VML buttons (with the real link) inside
			// <!--[if mso]> … <![endif]-->; only that level is opened.
			if d := z.Text(); !comment && bytes.HasPrefix(d, []byte("[if")) {
				w.tokens(string(d), true)
			}
		}
	}
}

func (w *htmlWalk) startTag(z *html.Tokenizer, name string, hasAttr, selfClosing bool) {
	var attrs map[string]string
	if hasAttr {
		attrs = make(map[string]string, 4)
		for more := true; more; {
			var k, v []byte
			k, v, more = z.TagAttr()
			key := string(k)
			if _, dup := attrs[key]; !dup {
				attrs[key] = string(v)
			}
		}
	}
	switch name {
	case "script", "style", "title", "template":
		if !selfClosing {
			w.skip++
		}
	case "a", "area":
		if name == "a" {
			w.closeAnchor()
		}
		if href, ok := attrs["href"]; ok {
			if name == "a" && !selfClosing {
				w.anchor = &anchor{href: href}
			} else {
				w.target(href, "", false)
			}
		}
	case "form":
		w.target(attrs["action"], "", false)
	case "iframe", "frame":
		w.target(attrs["src"], "", false)
	case "base":
		if b, err := url.Parse(strings.TrimSpace(attrs["href"])); err == nil && b.IsAbs() {
			w.base = b
		}
	case "meta":
		if strings.EqualFold(attrs["http-equiv"], "refresh") {
			c := attrs["content"]
			if i := strings.Index(strings.ToLower(c), "url="); i >= 0 {
				w.target(strings.Trim(c[i+4:], `'" `), "", false)
			}
		}
	case "v:roundrect", "v:rect", "v:shape", "v:oval":
		w.target(attrs["href"], "", false)
	default:
		w.block(name)
	}
}

// block separates the visible text at a block element: table cells by a
// space, so that a table row stays one line (one person record), other
// blocks by a line break.
func (w *htmlWalk) block(name string) {
	switch {
	case name == "td" || name == "th":
		w.vis.WriteByte('\t')
	case blockTag(name):
		w.vis.WriteByte('\n')
	}
}

// closeAnchor records the open anchor with its visible text.
func (w *htmlWalk) closeAnchor() {
	a := w.anchor
	if a == nil {
		return
	}
	w.anchor = nil
	text := strings.Join(strings.Fields(a.text.String()), " ")
	if utf8.RuneCountInString(text) > maxAnchorText {
		r := []rune(text)
		text = string(r[:maxAnchorText])
	}
	w.target(a.href, text, true)
}

// target records one link target with the anchor text that shows it.
func (w *htmlWalk) target(href, text string, isAnchor bool) {
	href = strings.TrimSpace(href)
	if href == "" || strings.HasPrefix(href, "#") {
		return
	}
	if w.base != nil {
		if r, err := url.Parse(href); err == nil && !r.IsAbs() && !strings.HasPrefix(href, "//") {
			href = w.base.ResolveReference(r).String()
		}
	}
	w.in.link(href, w.part, SourceHref, text, isAnchor)
}

// textMismatch reports whether anchor text names a host other than the
// one the link leads to ("https://drive.google.com/…" shown, another site
// reached). Text that names no host at all is no mismatch, and neither is
// text naming a host that an opaque redirector reveals in its hints.
func textMismatch(text, host string, hints []string) bool {
	hosts := hostsInText(text)
	if len(hosts) == 0 {
		return false
	}
	for _, h := range hosts {
		if sameSite(h, host) {
			return false
		}
		for _, hint := range hints {
			if sameSite(h, hint) {
				return false
			}
		}
	}
	return true
}

// sameSite treats a host and its subdomains (and "www." variants) as the
// same place.
func sameSite(a, b string) bool {
	a, b = strings.TrimPrefix(a, "www."), strings.TrimPrefix(b, "www.")
	return a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a)
}

func blockTag(name string) bool {
	switch name {
	case "p", "div", "br", "tr", "td", "th", "li", "ul", "ol", "table", "tbody", "thead",
		"h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "section",
		"article", "header", "footer", "dd", "dt", "dl", "body", "html", "center", "address":
		return true
	}
	return false
}

// tidyText collapses blank runs and empty lines in extracted HTML text.
func tidyText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	blank := 0
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			blank++
			continue
		}
		if b.Len() > 0 {
			if blank > 0 {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		blank = 0
		b.WriteString(line)
	}
	return b.String()
}
