package message

import (
	"bytes"
	"net/url"
	"slices"
	"strconv"
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
// conditional comments (its "bulletproof buttons"); in SVG (inline, or an
// SVG part, which is read as HTML) a[xlink:href] under any prefix, and
// the href an animation (set, animate) gives its link; href on any other
// element that does not load a resource (MathML links), formaction of
// buttons, the HTML of iframe[srcdoc] and of noscript (which a reader
// without scripts shows); relative targets are resolved against
// <base href>. Not reported: img[src] and other embedded
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
	in.textLinks(text, part, SourceHTMLText)
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
	// noscript: the next text token is the raw content of a noscript
	// element, which is read as HTML.
	noscript bool
	depth    int // nesting of srcdoc and noscript content
}

// maxHTMLNesting bounds how deep srcdoc and noscript content is opened.
const maxHTMLNesting = 8

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
			if w.noscript {
				w.noscript = false
				w.nested(string(z.Text()), comment)
				continue
			}
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
			w.noscript = false
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
	if i := strings.LastIndexByte(name, ':'); i >= 0 && !strings.HasPrefix(name, "v:") {
		// A prefixed element of a standalone SVG document: "svg:a".
		name = name[i+1:]
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
		// SVG 2 prefers href to xlink:href, older readers the other
		// way round: both count.
		extra := prefixedHrefs(attrs)
		href, ok := attrs["href"]
		if !ok && len(extra) > 0 {
			href, ok, extra = extra[0], true, extra[1:]
		}
		for _, x := range extra {
			w.target(x, "", false)
		}
		if ok {
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
	case "noscript":
		w.noscript = !selfClosing
	case "link", "img", "image", "use", "feimage", "textpath", "tref", "mpath", "pattern", "filter", "lineargradient", "radialgradient", "cursor", "font-face-uri", "color-profile", "altglyph":
		// Resources, references within the document and, for link,
		// style sheets: nothing to click.
	case "set", "animate":
		// <a><set attributeName="href" to="…"/></a> makes the SVG link
		// lead where "to" (or one of "values") says.
		if an := strings.ToLower(attrs["attributename"]); an == "href" || strings.HasSuffix(an, ":href") {
			w.target(attrs["to"], "", false)
			for v := range strings.SplitSeq(attrs["values"], ";") {
				w.target(v, "", false)
			}
		}
	default:
		w.block(name)
		if h, ok := attrs["href"]; ok {
			w.target(h, "", false)
		}
	}
	if fa, ok := attrs["formaction"]; ok {
		w.target(fa, "", false)
	}
	if doc, ok := attrs["srcdoc"]; ok {
		w.nested(doc, false)
	}
}

// block separates the visible text at a block element: table cells by a
// tab, so that a table row stays one line (one person record), other
// blocks by a line break.
func (w *htmlWalk) block(name string) {
	switch {
	case name == "td" || name == "th":
		w.vis.WriteByte('\t')
	case blockTag(name):
		w.vis.WriteByte('\n')
	}
}

// nested reads HTML held in an attribute or a raw-text element.
func (w *htmlWalk) nested(src string, comment bool) {
	if w.depth >= maxHTMLNesting {
		w.in.limit(w.part, KindLimitDepth, "HTML nested in srcdoc or noscript deeper than "+strconv.Itoa(maxHTMLNesting))
		return
	}
	w.depth++
	w.tokens(src, comment)
	w.depth--
}

// prefixedHrefs returns the values of "xlink:href" attributes under any
// namespace prefix, in the order of their names.
func prefixedHrefs(attrs map[string]string) []string {
	var keys []string
	for k := range attrs {
		if strings.HasSuffix(k, ":href") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = attrs[k]
	}
	return out
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
