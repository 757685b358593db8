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
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	var (
		blocks   []block
		text     = &block{}
		cur      *block
		tdepth   int
		inText   int
		skip     int
		line     strings.Builder
		cell     strings.Builder
		row      []string
		rowRep   int
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
	target := func() *strings.Builder {
		if tdepth > 0 && cellOpen {
			return &cell
		}
		return &line
	}
	for {
		if s.tick(name) {
			break
		}
		tok, err := d.RawToken()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := t.Name.Local
			if skip > 0 || spec.skip[n] {
				skip++
				continue
			}
			switch {
			case spec.table[n]:
				tdepth++
				if tdepth == 1 {
					flushLine()
					tables++
					cur = &block{table: true, name: "table " + strconv.Itoa(tables)}
					if v := attr(t, spec.tableName); v != "" && spec.tableName != "" {
						cur.name = v
					}
				}
			case spec.row[n] && tdepth == 1:
				row = row[:0:0]
				rowRep = repeat(t, spec.rowRepeat)
			case spec.cell[n] && tdepth == 1:
				cell.Reset()
				cellOpen = true
				cellRep = repeat(t, spec.cellRepeat)
			case spec.text[n]:
				inText++
			case spec.space[n]:
				w := target()
				w.WriteByte(' ')
			}
		case xml.EndElement:
			n := t.Name.Local
			if skip > 0 {
				skip--
				continue
			}
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
				if cur != nil && !emptyRow(row) {
					_ = rowRep // identical repeated rows are one record
					cur.rows = append(cur.rows, row)
				}
				row = nil
			case spec.cell[n] && tdepth == 1:
				v := strings.TrimSpace(cell.String())
				n := 1
				if v != "" {
					n = min(cellRep, maxRepeat)
				}
				for range n {
					if len(row) < maxCSVCells {
						row = append(row, v)
					}
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
		case xml.CharData:
			if skip == 0 && (spec.allText || inText > 0) {
				target().Write(t)
			}
		}
	}
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

func repeat(t xml.StartElement, local string) int {
	if local == "" {
		return 1
	}
	if v := attr(t, local); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return 1
}
