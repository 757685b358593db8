package extract

import (
	"bytes"
	"html"
)

// A small XML tokenizer for the large parts of documents (worksheets,
// shared strings, document bodies). encoding/xml reads a byte at a time
// through an interface and allocates per token, which made a 100 KB
// spreadsheet cost more than the rest of the inspection together; the
// formats here need only element names, two or three attributes and text.
// It is lenient: what it cannot parse it skips, and it never reads past
// the input.

type tokKind int

const (
	tokStart tokKind = iota
	tokEnd
	tokText
)

// xtok is one token; its slices point into the input and are valid only
// during the callback.
type xtok struct {
	kind  tokKind
	name  []byte // local name, without a namespace prefix
	attrs []byte // the raw attribute text of a start tag
	self  bool   // a self-closing start tag (no end token follows)
	text  []byte // character data, entities not yet decoded
}

// scanXML calls fn for every token of b until fn returns false.
func scanXML(b []byte, fn func(*xtok) bool) {
	var t xtok
	for i := 0; i < len(b); {
		if b[i] != '<' {
			j := bytes.IndexByte(b[i:], '<')
			if j < 0 {
				j = len(b) - i
			}
			t = xtok{kind: tokText, text: b[i : i+j]}
			if !fn(&t) {
				return
			}
			i += j
			continue
		}
		rest := b[i:]
		switch {
		case len(rest) < 2 || rest[1] != '!' && rest[1] != '?':
			// An element's tag: below.
		case bytes.HasPrefix(rest, []byte("<!--")):
			j := bytes.Index(rest, []byte("-->"))
			if j < 0 {
				return
			}
			i += j + 3
			continue
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			j := bytes.Index(rest, []byte("]]>"))
			if j < 0 {
				return
			}
			t = xtok{kind: tokText, text: rest[9:j], name: cdataMark}
			if !fn(&t) {
				return
			}
			i += j + 3
			continue
		default:
			j := bytes.IndexByte(rest, '>')
			if j < 0 {
				return
			}
			i += j + 1
			continue
		}
		j := tagEnd(rest)
		if j < 0 {
			return
		}
		tag := rest[1:j]
		i += j + 1
		t = xtok{kind: tokStart}
		if len(tag) > 0 && tag[0] == '/' {
			t.kind = tokEnd
			tag = tag[1:]
		}
		if len(tag) > 0 && tag[len(tag)-1] == '/' {
			t.self = true
			tag = tag[:len(tag)-1]
		}
		n := 0
		for n < len(tag) && !isSpace(tag[n]) {
			n++
		}
		t.name = tag[:n]
		if k := bytes.LastIndexByte(t.name, ':'); k >= 0 {
			t.name = t.name[k+1:]
		}
		t.attrs = tag[n:]
		if !fn(&t) {
			return
		}
	}
}

// cdataMark marks text from a CDATA section, which has no entities.
var cdataMark = []byte("cdata")

// tagEnd finds the '>' closing the tag at the start of b, skipping quoted
// attribute values.
func tagEnd(b []byte) int {
	// Usually the first '>' with an even number of '"' and no '\''
	// before it: then every value before it is closed.
	if len(b) < 2 {
		return -1
	}
	j := bytes.IndexByte(b[1:], '>') + 1
	if j == 0 {
		return -1
	}
	if bytes.IndexByte(b[1:j], '\'') < 0 && bytes.Count(b[1:j], quote)%2 == 0 {
		return j
	}
	return tagEndQuoted(b)
}

var quote = []byte{'"'}

// tagEndQuoted is tagEnd a byte at a time.
func tagEndQuoted(b []byte) int {
	var q byte
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '>':
			return i
		}
	}
	return -1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// xattr returns the value of the attribute with local name local in a
// start tag's raw attribute text.
func xattr(attrs []byte, local string) string {
	v, ok := xattrRaw(attrs, local)
	if !ok {
		return string(v)
	}
	return unescape(v, false)
}

// xattrRaw is xattr without decoding or copying: the value as it stands
// in attrs, and whether it was quoted (and so may hold entities).
func xattrRaw(attrs []byte, local string) (val []byte, quoted bool) {
	eachAttr(attrs, func(name, v []byte, q bool) bool {
		if localIs(name, local) {
			val, quoted = v, q
			return false
		}
		return true
	})
	return val, quoted
}

// eachAttr calls fn with the name, raw value and quoting of each attribute
// in a start tag's raw attribute text, until fn returns false.
func eachAttr(attrs []byte, fn func(name, v []byte, quoted bool) bool) {
	for i := 0; i < len(attrs); {
		for i < len(attrs) && isSpace(attrs[i]) {
			i++
		}
		k := i
		for i < len(attrs) && attrs[i] != '=' && !isSpace(attrs[i]) {
			i++
		}
		name := attrs[k:i]
		for i < len(attrs) && (isSpace(attrs[i]) || attrs[i] == '=') {
			i++
		}
		if i >= len(attrs) {
			return
		}
		q := attrs[i]
		if q != '"' && q != '\'' {
			// Unquoted (not XML, but tolerated): up to the next space.
			s := i
			for i < len(attrs) && !isSpace(attrs[i]) {
				i++
			}
			if !fn(name, attrs[s:i], false) {
				return
			}
			continue
		}
		e := bytes.IndexByte(attrs[i+1:], q)
		if e < 0 {
			return
		}
		v := attrs[i+1 : i+1+e]
		i += e + 2
		if !fn(name, v, true) {
			return
		}
	}
}

func localIs(name []byte, local string) bool {
	if k := bytes.LastIndexByte(name, ':'); k >= 0 {
		name = name[k+1:]
	}
	return string(name) == local
}

// unescape decodes XML entities and character references.
func unescape(b []byte, cdata bool) string {
	if cdata || bytes.IndexByte(b, '&') < 0 {
		return string(b)
	}
	return html.UnescapeString(string(b))
}

// appendText writes a text token, decoded, to sb.
func appendText(sb *bytes.Buffer, t *xtok) {
	if len(t.name) == 0 && bytes.IndexByte(t.text, '&') >= 0 {
		sb.WriteString(html.UnescapeString(string(t.text)))
		return
	}
	sb.Write(t.text)
}
