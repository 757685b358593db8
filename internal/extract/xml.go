package extract

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
)

// walkSpec says which elements of a document format (by local name, so
// that any namespace prefix works) make tables, rows, cells and
// paragraphs.
type walkSpec struct {
	table, row, cell, para, text, space, skip map[string]bool
	// allText: character data counts anywhere (ODF); otherwise only inside
	// text elements (OOXML w:t, a:t).
	allText bool
	// ODF repeat attributes (table:number-rows-repeated, …).
	rowRepeat, cellRepeat, tableName string
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

var (
	docxSpec = walkSpec{table: set("tbl"), row: set("tr"), cell: set("tc"), para: set("p"),
		text: set("t", "delText", "instrText"), space: set("tab", "br", "cr"), skip: set("rPr", "pPr")}
	pptxSpec = walkSpec{table: set("tbl"), row: set("tr"), cell: set("tc"), para: set("p"),
		text: set("t"), space: set("br", "tab")}
	odfSpec = walkSpec{table: set("table"), row: set("table-row"), cell: set("table-cell", "covered-table-cell"),
		para: set("p", "h"), space: set("s", "tab", "line-break"), allText: true,
		skip:      set("annotation-end", "forms"),
		rowRepeat: "number-rows-repeated", cellRepeat: "number-columns-repeated", tableName: "name"}
)

// block is a run of paragraphs (Text) or one table.
type block struct {
	table bool
	name  string
	rows  [][]string
}

// maxRepeat bounds how often an ODF repeated cell is expanded; empty
// repeated cells (thousands of them pad every row) are kept once.
const maxRepeat = 64

// walk reads an XML document into blocks. Nested tables are read as the
// text of the outer cell.
func (s *state) walk(name string, b []byte, spec *walkSpec) []block {
	var (
		blocks   []block
		text     = &block{}
		cur      *block
		tdepth   int
		inText   int
		skip     int
		line     bytes.Buffer
		cell     bytes.Buffer
		row      []string
		cellRep  int
		tables   int
		cellOpen bool
	)
	flushLine := func() {
		if t := strings.TrimSpace(line.String()); t != "" {
			text.rows = append(text.rows, []string{t})
		}
		line.Reset()
	}
	target := func() *bytes.Buffer {
		if tdepth > 0 && cellOpen {
			return &cell
		}
		return &line
	}
	start := func(n string, t *xtok) {
		switch {
		case spec.table[n]:
			tdepth++
			if tdepth == 1 {
				flushLine()
				tables++
				cur = &block{table: true, name: "table " + strconv.Itoa(tables)}
				if spec.tableName != "" {
					if v := xattr(t.attrs, spec.tableName); v != "" {
						cur.name = v
					}
				}
			}
		case spec.row[n] && tdepth == 1:
			row = row[:0:0]
		case spec.cell[n] && tdepth == 1:
			cell.Reset()
			cellOpen = true
			cellRep = 1
			if spec.cellRepeat != "" {
				if v, err := strconv.Atoi(xattr(t.attrs, spec.cellRepeat)); err == nil && v > 0 {
					cellRep = v
				}
			}
		case spec.text[n]:
			inText++
		case spec.space[n]:
			target().WriteByte(' ')
		}
	}
	end := func(n string) {
		switch {
		case spec.table[n]:
			if tdepth == 1 && cur != nil {
				blocks = append(blocks, *cur)
				cur = nil
			}
			tdepth = max(tdepth-1, 0)
		case spec.row[n] && tdepth == 1:
			for len(row) > 0 && row[len(row)-1] == "" {
				row = row[:len(row)-1]
			}
			// Identical repeated rows are one record: kept once.
			if cur != nil && !emptyRow(row) {
				cur.rows = append(cur.rows, row)
			}
			row = nil
		case spec.cell[n] && tdepth == 1:
			v := strings.TrimSpace(cell.String())
			// Repeated cells are the same value: a few copies keep the
			// columns of short repeats, the rest add nothing.
			k := 1
			if v != "" {
				k = min(cellRep, maxRepeat)
			}
			for range k {
				row = append(row, v)
			}
			cell.Reset()
			cellOpen = false
		case spec.para[n]:
			if tdepth > 0 {
				target().WriteByte(' ')
			} else {
				flushLine()
			}
		case spec.text[n]:
			inText = max(inText-1, 0)
		}
	}
	scanXML(b, func(t *xtok) bool {
		if s.tick(name) {
			return false
		}
		switch t.kind {
		case tokStart:
			n := string(t.name)
			if skip > 0 || spec.skip[n] {
				if !t.self {
					skip++
				}
				return true
			}
			start(n, t)
			if t.self {
				end(n)
			}
		case tokEnd:
			if skip > 0 {
				skip--
				return true
			}
			end(string(t.name))
		case tokText:
			if skip == 0 && (spec.allText || inText > 0) {
				appendText(target(), t)
			}
		}
		return true
	})
	flushLine()
	if cur != nil {
		blocks = append(blocks, *cur)
	}
	if len(text.rows) > 0 {
		blocks = append([]block{*text}, blocks...)
	}
	return blocks
}

func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}
