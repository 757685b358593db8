package extract

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"path"
	"sort"
	"strconv"
	"strings"
)

// maxRelsSize bounds one relationships part.
const maxRelsSize = 4 << 20

// ooxml reads an Office Open XML package: the sheets of a workbook, the
// paragraphs and tables of a document, the slides of a presentation, and
// the external relationship targets (hyperlinks, remote templates, linked
// objects) of all of them.
func (s *state) ooxml(name string, zr *zip.Reader, files map[string]*zip.File, depth int) {
	var links []string
	var other [][]string
	for _, f := range zr.File {
		if isEncrypted(f) {
			s.res.Encrypted = true
		}
	}
	for _, f := range zr.File {
		if s.expired(name) || !s.entry(name) {
			return
		}
		n := f.Name
		switch {
		case strings.HasSuffix(n, ".rels"):
			if f.UncompressedSize64 > maxRelsSize {
				s.problem(KindLimitSize, name, "relationships part over 4 MiB")
				continue
			}
			if b, ok := s.read(name, f); ok {
				for _, r := range relationships(b) {
					if r.external {
						links = append(links, r.target)
					}
				}
			}
		case strings.Contains(n, "/embeddings/"):
			// Files embedded in the document (an .xlsx in a .docx, an
			// OLE object): read as files of their own.
			if depth+1 > s.lim.MaxDepth {
				s.limit(KindLimitDepth, name, "files nested deeper than "+strconv.Itoa(s.lim.MaxDepth))
				continue
			}
			if b, ok := s.read(name, f); ok {
				s.file(name+"/"+path.Base(n), b, depth+1)
			}
		case ooxmlOtherText(n):
			if b, ok := s.read(name, f); ok {
				for _, bl := range s.walk(name, b, &docxSpec) {
					other = append(other, bl.rows...)
				}
			}
		}
	}
	if len(other) > 0 || len(links) > 0 {
		s.add(Doc{Name: name, Kind: Text, Source: "ooxml", Rows: other, Links: links})
	}
	has := func(prefix string) bool {
		for n := range files {
			if strings.HasPrefix(n, prefix) {
				return true
			}
		}
		return false
	}
	switch {
	case files["xl/workbook.xml"] != nil || has("xl/worksheets/"):
		s.xlsx(name, files)
	case files["word/document.xml"] != nil:
		if b, ok := s.read(name, files["word/document.xml"]); ok {
			s.blocks(name, "ooxml", s.walk(name, b, &docxSpec))
		}
	case has("ppt/slides/"):
		var slides []string
		for n := range files {
			if (strings.HasPrefix(n, "ppt/slides/slide") || strings.HasPrefix(n, "ppt/notesSlides/")) && strings.HasSuffix(n, ".xml") {
				slides = append(slides, n)
			}
		}
		sort.Slice(slides, func(i, j int) bool { return natLess(slides[i], slides[j]) })
		for _, n := range slides {
			if s.expired(name) {
				return
			}
			if b, ok := s.read(name, files[n]); ok {
				label := name + " (" + strings.TrimSuffix(path.Base(n), ".xml") + ")"
				s.blocks(label, "ooxml", s.walk(name, b, &pptxSpec))
			}
		}
	}
}

// ooxmlOtherText: parts besides the main ones whose text is read
// (headers, footers, notes, comments, drawings, chart titles).
func ooxmlOtherText(name string) bool {
	dir, file := path.Split(name)
	if !strings.HasSuffix(file, ".xml") {
		return false
	}
	switch dir {
	case "word/":
		return strings.HasPrefix(file, "header") || strings.HasPrefix(file, "footer") ||
			file == "footnotes.xml" || file == "endnotes.xml" || file == "comments.xml"
	case "xl/":
		return strings.HasPrefix(file, "comments")
	case "xl/drawings/", "word/charts/", "xl/charts/":
		return true
	}
	return false
}

// blocks adds the blocks of one document.
func (s *state) blocks(name, source string, bl []block) {
	tables := 0
	for _, b := range bl {
		if !b.table {
			s.add(Doc{Name: name, Kind: Text, Source: source, Rows: b.rows})
			continue
		}
		tables++
		label := b.name
		if strings.HasPrefix(label, "table ") {
			label = "table " + strconv.Itoa(tables)
		}
		s.add(Doc{Name: name + " (" + label + ")", Kind: Table, Source: source, Rows: b.rows})
	}
}

type relationship struct {
	id, target string
	external   bool
}

func relationships(b []byte) []relationship {
	var out []relationship
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
		r := relationship{id: attr(se, "Id"), target: attr(se, "Target")}
		r.external = strings.EqualFold(attr(se, "TargetMode"), "External")
		if r.target != "" {
			out = append(out, r)
		}
	}
}

// natLess orders "slide2.xml" before "slide10.xml".
func natLess(a, b string) bool {
	na, nb := trailingNumber(a), trailingNumber(b)
	if na >= 0 && nb >= 0 && strings.TrimRight(strings.TrimSuffix(a, ".xml"), "0123456789") == strings.TrimRight(strings.TrimSuffix(b, ".xml"), "0123456789") {
		return na < nb
	}
	return a < b
}

func trailingNumber(s string) int {
	s = strings.TrimSuffix(s, ".xml")
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(s[i:])
	if err != nil {
		return -1
	}
	return n
}

// xlsx reads every sheet of a workbook, each as a table named after the
// sheet, with cells in their columns.
func (s *state) xlsx(name string, files map[string]*zip.File) {
	var sst []string
	if f := files["xl/sharedStrings.xml"]; f != nil {
		if b, ok := s.read(name, f); ok {
			sst = s.sharedStrings(name, b)
		}
	}
	var formats []cellFormat
	if f := files["xl/styles.xml"]; f != nil {
		if b, ok := s.read(name, f); ok {
			formats = s.xlsxStyles(name, b)
		}
	}
	date1904 := false
	type sheet struct{ name, part string }
	var sheets []sheet
	targets := map[string]string{}
	if f := files["xl/_rels/workbook.xml.rels"]; f != nil {
		if b, ok := s.read(name, f); ok {
			for _, r := range relationships(b) {
				t := r.target
				if strings.HasPrefix(t, "/") {
					t = strings.TrimPrefix(t, "/")
				} else {
					t = path.Join("xl", t)
				}
				targets[r.id] = t
			}
		}
	}
	seen := map[string]bool{}
	if f := files["xl/workbook.xml"]; f == nil {
	} else if b, ok := s.read(name, f); ok {
		d := xml.NewDecoder(bytes.NewReader(b))
		d.Strict = false
		for {
			tok, err := d.RawToken()
			if err != nil {
				break
			}
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "workbookPr" {
				v := attr(se, "date1904")
				date1904 = v == "1" || v == "true"
			}
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "sheet" {
				part := targets[attr(se, "id")]
				if part != "" && files[part] != nil && !seen[part] {
					seen[part] = true
					sheets = append(sheets, sheet{attr(se, "name"), part})
				}
			}
		}
	}
	// Sheets the workbook does not list are read too.
	var rest []string
	for n := range files {
		if strings.HasPrefix(n, "xl/worksheets/") && strings.HasSuffix(n, ".xml") && !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return natLess(rest[i], rest[j]) })
	for _, n := range rest {
		sheets = append(sheets, sheet{strings.TrimSuffix(path.Base(n), ".xml"), n})
	}
	used := make([]bool, len(sst))
	for _, sh := range sheets {
		if s.expired(name) {
			return
		}
		b, ok := s.read(name, files[sh.part])
		if !ok {
			continue
		}
		rows := s.sheet(name, b, sst, used, formats, date1904)
		s.add(Doc{Name: name + " (" + sh.name + ")", Kind: Table, Source: "ooxml", Rows: rows})
	}
	// Shared strings no cell refers to are still in the file.
	var rest2 [][]string
	for i, u := range used {
		if !u && strings.TrimSpace(sst[i]) != "" {
			rest2 = append(rest2, []string{sst[i]})
		}
	}
	if len(rest2) > 0 {
		s.add(Doc{Name: name, Kind: Text, Source: "ooxml", Rows: rest2})
	}
}

// sharedStrings reads the shared string table. Phonetic runs (rPh, the
// furigana of Japanese names) are left out: they repeat the cell.
func (s *state) sharedStrings(name string, b []byte) []string {
	var out []string
	var sb bytes.Buffer
	inT, inPh := 0, 0
	scanXML(b, func(t *xtok) bool {
		if s.tick(name) {
			return false
		}
		switch t.kind {
		case tokStart:
			switch string(t.name) {
			case "si":
				sb.Reset()
				if t.self {
					out = append(out, "")
				}
			case "t":
				if !t.self {
					inT++
				}
			case "rPh":
				if !t.self {
					inPh++
				}
			}
		case tokEnd:
			switch string(t.name) {
			case "si":
				out = append(out, sb.String())
			case "t":
				inT = max(inT-1, 0)
			case "rPh":
				inPh = max(inPh-1, 0)
			}
		case tokText:
			if inT > 0 && inPh == 0 {
				appendText(&sb, t)
			}
		}
		return true
	})
	return out
}

// maxColumn bounds the column a cell is placed in by its reference (empty
// cells are added up to it); cells further right are appended next to the
// last one, so that a hostile "XFD1" costs nothing and no cell is lost.
const maxColumn = 512

// sheet reads one worksheet into rows of cells; numbers are shown in
// their cell style's number format where it is a date or an integer
// pattern (see numfmt.go).
func (s *state) sheet(name string, b []byte, sst []string, used []bool, formats []cellFormat, date1904 bool) [][]string {
	var (
		rows  [][]string
		row   []string
		val   bytes.Buffer
		fml   bytes.Buffer
		typ   string
		ref   []byte // points into b
		style int
		inV   int
		inF   int
		inPh  int
		inRow bool
		inC   bool
		width int
	)
	endCell := func() {
		inC = false
		if !inRow {
			return
		}
		var v string
		switch typ {
		case "s":
			if i, ok := index(bytes.TrimSpace(val.Bytes())); ok && i < len(sst) {
				v = sst[i]
				used[i] = true
			}
		case "", "n":
			v = plainNumber(string(bytes.TrimSpace(val.Bytes())))
			if style >= 0 && style < len(formats) {
				v = formats[style].apply(v, date1904)
			}
		default:
			v = val.String()
		}
		if fml.Len() > 0 && bytes.Contains(fml.Bytes(), []byte("://")) {
			// HYPERLINK("https://…") formulas carry their target only in
			// the formula.
			v = strings.TrimSpace(v + " " + fml.String())
		}
		col := column(ref)
		if col < 0 || col >= maxColumn || col < len(row) {
			col = len(row)
		}
		if v == "" {
			return
		}
		for len(row) < col {
			row = append(row, "")
		}
		row = append(row, strings.TrimSpace(v))
	}
	scanXML(b, func(t *xtok) bool {
		if s.tick(name) {
			return false
		}
		switch t.kind {
		case tokStart:
			switch string(t.name) {
			case "row":
				// Rows of a sheet are mostly as wide as the one before.
				row, inRow = make([]string, 0, width), !t.self
			case "c":
				val.Reset()
				fml.Reset()
				typ, ref, style = cellAttrs(t.attrs)
				inC = !t.self
			case "v", "t":
				if !t.self {
					inV++
				}
			case "f":
				if !t.self {
					inF++
				}
			case "rPh":
				if !t.self {
					inPh++
				}
			}
		case tokEnd:
			switch string(t.name) {
			case "row":
				if inC {
					endCell()
				}
				if !emptyRow(row) {
					rows = append(rows, row)
					width = min(len(row), maxColumn)
				}
				row, inRow = nil, false
			case "c":
				endCell()
			case "v", "t":
				inV = max(inV-1, 0)
			case "f":
				inF = max(inF-1, 0)
			case "rPh":
				inPh = max(inPh-1, 0)
			}
		case tokText:
			if inV > 0 && inPh == 0 {
				appendText(&val, t)
			}
			if inF > 0 && fml.Len() < 8192 {
				appendText(&fml, t)
			}
		}
		return true
	})
	return rows
}

// cellAttrs reads a cell's type (t), reference (r) and style (s, -1 for
// none) in one pass over its attributes, the usual types without
// allocating.
func cellAttrs(attrs []byte) (typ string, ref []byte, style int) {
	var t []byte
	quoted := false
	style = -1
	eachAttr(attrs, func(name, v []byte, q bool) bool {
		switch {
		case localIs(name, "t"):
			t, quoted = v, q
		case localIs(name, "r"):
			ref = v
		case localIs(name, "s"):
			if n, ok := index(v); ok {
				style = n
			}
		}
		return true
	})
	if quoted && bytes.IndexByte(t, '&') >= 0 {
		return unescape(t, false), ref, style
	}
	for _, c := range cellTypes {
		if string(t) == c {
			return c, ref, style
		}
	}
	return string(t), ref, style
}

var cellTypes = [...]string{"", "s", "n", "str", "inlineStr", "b", "e", "d"}

// index reads a shared-string index as strconv.Atoi would, without
// allocating; false for anything but a number in int's range, or a
// negative one.
func index(b []byte) (int, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	for len(b) > 1 && b[0] == '0' {
		b = b[1:]
	}
	if len(b) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg && n != 0 {
		return 0, false
	}
	return n, true
}

// column is the 0-based column of a cell reference such as "C12".
func column(ref []byte) int {
	col := 0
	n := 0
	for _, c := range ref {
		switch {
		case c >= 'A' && c <= 'Z':
			col = col*26 + int(c-'A'+1)
			n++
		case c >= 'a' && c <= 'z':
			col = col*26 + int(c-'a'+1)
			n++
		default:
			if n == 0 || n > 3 {
				return -1
			}
			return col - 1
		}
	}
	return -1
}

// plainNumber writes integral numbers in exponent form ("9.0123456789E9",
// how large integers may be stored) as digits, so that phone and ID
// numbers are whole.
func plainNumber(v string) string {
	if !strings.ContainsAny(v, "Ee") {
		return v
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f != float64(int64(f)) || f > 1e18 || f < -1e18 {
		return v
	}
	return strconv.FormatInt(int64(f), 10)
}
