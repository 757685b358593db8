package message

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"html"
	"io"
	"path"
	"strconv"
	"strings"
)

// maxZipEntries bounds the entries of an Office document that are looked
// at; real documents have tens to a few hundred.
const maxZipEntries = 5000

// maxRelsSize bounds one relationships part.
const maxRelsSize = 4 << 20

// ooxml opens an Office Open XML attachment and extracts its external
// relationship targets (hyperlinks, remote templates, linked objects) and
// the URLs in its text. Decompressed bytes count against MaxDecodedSize,
// which is what defeats zip bombs; the entry count is bounded too. It
// reports false when the part is not a ZIP package after all, so that it
// is inspected as any binary part.
func (in *inspector) ooxml(eh *entityHeader, body []byte, p *Part) bool {
	data := in.transferDecode(eh, body, p.Path, int64(len(body)))
	p.Size = int64(len(data))
	if bytes.HasPrefix(data, magicCFB) {
		// An encrypted OOXML document is a CFB container.
		eh.encrypted = true
		return true
	}
	if !bytes.HasPrefix(data, magicZIP) {
		return false
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		in.problem(p.Path, KindParse, "office document: "+err.Error())
		eh.encrypted = zipEncrypted(data)
		return true
	}
	if len(zr.File) > maxZipEntries {
		in.limit(p.Path, KindLimitSize, "office document with more than "+strconv.Itoa(maxZipEntries)+" entries")
		return true
	}
	var text strings.Builder
	for _, f := range zr.File {
		if f.Flags&1 != 0 {
			eh.encrypted = true
			continue
		}
		if in.expired(p.Path) {
			break
		}
		name := f.Name
		isRels := strings.HasSuffix(name, ".rels")
		if !isRels && !ooxmlTextPart(name) {
			continue
		}
		b, err := in.readZipEntry(f, p.Path, isRels)
		if err != nil {
			in.problem(p.Path, KindParse, "office document entry "+strconv.Quote(name)+": "+err.Error())
			continue
		}
		if isRels {
			for _, t := range externalTargets(b) {
				in.link(t, p.Path, SourceOOXML, "", false)
			}
			continue
		}
		xmlText(b, &text)
		text.WriteByte('\n')
	}
	p.Text = strings.TrimSpace(text.String())
	in.textLinks(p.Text, p.Path, SourceOOXML)
	return true
}

// readZipEntry decompresses one entry within the decoded-size budget.
func (in *inspector) readZipEntry(f *zip.File, part string, rels bool) ([]byte, error) {
	limit := in.budget
	if rels {
		limit = min(limit, maxRelsSize)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if int64(len(b)) > limit {
		b = b[:limit]
		if rels {
			return nil, errRelsTooBig
		}
		in.take(part, limit+1)
		return b, nil
	}
	in.take(part, int64(len(b)))
	if err != nil && err != io.ErrUnexpectedEOF {
		return b, err
	}
	return b, nil
}

// ooxmlTextPart reports whether a package entry holds document text.
func ooxmlTextPart(name string) bool {
	dir, file := path.Split(name)
	if !strings.HasSuffix(file, ".xml") {
		return false
	}
	switch dir {
	case "word/":
		return file == "document.xml" || strings.HasPrefix(file, "header") || strings.HasPrefix(file, "footer") ||
			file == "footnotes.xml" || file == "endnotes.xml" || file == "comments.xml"
	case "xl/":
		return file == "sharedStrings.xml" || strings.HasPrefix(file, "comments")
	case "xl/worksheets/", "ppt/slides/", "ppt/notesSlides/", "xl/drawings/":
		return true
	}
	return false
}

// externalTargets returns the Target of every Relationship with
// TargetMode="External" in a .rels part.
func externalTargets(b []byte) []string {
	var out []string
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	for {
		tok, err := d.RawToken()
		if err != nil {
			return out
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" {
			continue
		}
		var target, mode string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "Target":
				target = a.Value
			case "TargetMode":
				mode = a.Value
			}
		}
		if strings.EqualFold(mode, "External") && target != "" {
			out = append(out, target)
		}
	}
}

// xmlText appends the character data of an XML document to sb, with a line
// break after paragraphs, rows and cells. Runs are joined without a
// separator: Word splits a typed URL into several runs.
func xmlText(b []byte, sb *strings.Builder) {
	start := sb.Len()
	for len(b) > 0 {
		lt := bytes.IndexByte(b, '<')
		if lt < 0 {
			sb.Write(b)
			break
		}
		sb.Write(b[:lt])
		gt := bytes.IndexByte(b[lt:], '>')
		if gt < 0 {
			break
		}
		switch tag := b[lt+1 : lt+gt]; {
		case bytes.HasPrefix(tag, []byte("/w:p")) && (len(tag) == 4 || tag[4] == ' '),
			bytes.Equal(tag, []byte("/a:p")), bytes.Equal(tag, []byte("/si")),
			bytes.Equal(tag, []byte("/c")), bytes.Equal(tag, []byte("/row")),
			bytes.HasPrefix(tag, []byte("w:br")), bytes.HasPrefix(tag, []byte("a:br")),
			bytes.HasPrefix(tag, []byte("w:tab")), bytes.HasPrefix(tag, []byte("w:cr")):
			sb.WriteByte('\n')
		}
		b = b[lt+gt+1:]
	}
	if s := sb.String()[start:]; strings.Contains(s, "&") {
		u := html.UnescapeString(s)
		t := sb.String()[:start]
		sb.Reset()
		sb.WriteString(t)
		sb.WriteString(u)
	}
}
