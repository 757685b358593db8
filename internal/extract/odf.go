package extract

import (
	"archive/zip"
	"strconv"
	"strings"
)

// odf reads an OpenDocument package (ODS, ODT, ODP): content.xml holds
// the text, tables (every sheet of a spreadsheet is one) and slides.
func (s *state) odf(name string, zr *zip.Reader, files map[string]*zip.File, depth int) {
	for _, f := range zr.File {
		if isEncrypted(f) {
			s.res.Encrypted = true
		}
	}
	if f := files["META-INF/manifest.xml"]; f != nil && f.UncompressedSize64 < maxRelsSize {
		// An encrypted OpenDocument file lists encryption-data in its
		// manifest; content.xml is then ciphertext.
		if b, ok := s.read(name, f); ok && strings.Contains(string(b), "encryption-data") {
			s.res.Encrypted = true
			return
		}
	}
	// Embedded objects (a spreadsheet in a text, images aside) are files
	// of their own.
	for _, f := range zr.File {
		n := f.Name
		if !strings.HasPrefix(n, "Object ") || !strings.HasSuffix(n, "/content.xml") || !s.entry(name) {
			continue
		}
		if depth+1 > s.lim.MaxDepth {
			s.limit(KindLimitDepth, name, "files nested deeper than "+strconv.Itoa(s.lim.MaxDepth))
			break
		}
		if b, ok := s.read(name, f); ok {
			s.blocks(name+" ("+strings.TrimSuffix(n, "/content.xml")+")", "odf", s.walk(name, b, &odfSpec))
		}
	}
	for _, part := range []string{"content.xml", "styles.xml"} {
		f := files[part]
		if f == nil || !s.entry(name) {
			continue
		}
		b, ok := s.read(name, f)
		if !ok {
			return
		}
		if part == "styles.xml" {
			// Headers and footers only.
			s.blocks(name, "odf", onlyText(s.walk(name, b, &odfSpec)))
			continue
		}
		s.blocks(name, "odf", s.walk(name, b, &odfSpec))
	}
}

func onlyText(bl []block) []block {
	var out []block
	for _, b := range bl {
		if !b.table {
			out = append(out, b)
		}
	}
	return out
}
