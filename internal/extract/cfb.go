package extract

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Legacy Office files (Excel 97–2003 .xls, Word .doc, PowerPoint .ppt) are
// Compound Files (MS-CFB). The workbook stream of an .xls is read record
// by record (MS-XLS: shared strings, text, number and formula cells) into
// sheets of rows; Word and PowerPoint streams are read for their UTF-16
// text runs, which is enough for links, My Numbers and lines of a list.

var errCFB = errors.New("malformed compound file")

const (
	cfbEnd  = 0xFFFFFFFE
	cfbFree = 0xFFFFFFFF
)

type cfbFile struct {
	data     []byte
	shift    uint
	fat      []uint32
	miniFAT  []uint32
	mini     []byte
	cutoff   uint32
	entries  []cfbEntry
	maxChain int
}

type cfbEntry struct {
	name  string
	typ   byte
	start uint32
	size  uint64
}

func openCFB(b []byte) (*cfbFile, error) {
	if len(b) < 512 || !bytes.HasPrefix(b, magicCFB) {
		return nil, errCFB
	}
	f := &cfbFile{data: b}
	f.shift = uint(binary.LittleEndian.Uint16(b[0x1E:]))
	if f.shift != 9 && f.shift != 12 {
		return nil, errCFB
	}
	f.maxChain = len(b)>>f.shift + 1
	f.cutoff = binary.LittleEndian.Uint32(b[0x38:])
	// DIFAT: 109 entries in the header, then a chain of DIFAT sectors.
	var fatSectors []uint32
	for i := 0; i < 109; i++ {
		if s := binary.LittleEndian.Uint32(b[0x4C+4*i:]); s < cfbEnd {
			fatSectors = append(fatSectors, s)
		}
	}
	per := (1 << f.shift) / 4
	next := binary.LittleEndian.Uint32(b[0x44:])
	for n := 0; next < cfbEnd && n < f.maxChain; n++ {
		sec, ok := f.sector(next)
		if !ok {
			return nil, errCFB
		}
		for i := 0; i < per-1; i++ {
			if s := binary.LittleEndian.Uint32(sec[4*i:]); s < cfbEnd {
				fatSectors = append(fatSectors, s)
			}
		}
		next = binary.LittleEndian.Uint32(sec[4*(per-1):])
	}
	for _, s := range fatSectors {
		sec, ok := f.sector(s)
		if !ok {
			return nil, errCFB
		}
		for i := 0; i < per; i++ {
			f.fat = append(f.fat, binary.LittleEndian.Uint32(sec[4*i:]))
		}
	}
	dir := f.chain(binary.LittleEndian.Uint32(b[0x30:]), math.MaxInt)
	for i := 0; i+128 <= len(dir); i += 128 {
		e := dir[i : i+128]
		n := int(binary.LittleEndian.Uint16(e[0x40:]))
		if n > 64 {
			n = 64
		}
		u := make([]uint16, 0, 32)
		for k := 0; k+1 < n; k += 2 {
			if c := binary.LittleEndian.Uint16(e[k:]); c != 0 {
				u = append(u, c)
			}
		}
		f.entries = append(f.entries, cfbEntry{
			name:  string(utf16.Decode(u)),
			typ:   e[0x42],
			start: binary.LittleEndian.Uint32(e[0x74:]),
			size:  binary.LittleEndian.Uint64(e[0x78:]) & 0xFFFFFFFF,
		})
	}
	if len(f.entries) == 0 || f.entries[0].typ != 5 {
		return nil, errCFB
	}
	f.mini = f.chain(f.entries[0].start, int(f.entries[0].size))
	mf := f.chain(binary.LittleEndian.Uint32(b[0x3C:]), math.MaxInt)
	for i := 0; i+4 <= len(mf); i += 4 {
		f.miniFAT = append(f.miniFAT, binary.LittleEndian.Uint32(mf[i:]))
	}
	return f, nil
}

func (f *cfbFile) sector(n uint32) ([]byte, bool) {
	off := (int64(n) + 1) << f.shift
	end := off + 1<<f.shift
	if n >= cfbEnd || end > int64(len(f.data)) {
		return nil, false
	}
	return f.data[off:end], true
}

// chain reads the sectors of a FAT chain, at most size bytes; loops and
// bad sector numbers end it.
func (f *cfbFile) chain(start uint32, size int) []byte {
	var out []byte
	for n, s := 0, start; s < cfbEnd && n < f.maxChain && len(out) < size; n++ {
		sec, ok := f.sector(s)
		if !ok || int(s) >= len(f.fat) {
			break
		}
		out = append(out, sec...)
		s = f.fat[s]
	}
	if len(out) > size {
		out = out[:size]
	}
	return out
}

// stream returns the content of the named stream (case-insensitive), and
// whether it exists.
func (f *cfbFile) stream(name string) ([]byte, bool) {
	for _, e := range f.entries {
		if e.typ != 2 || !strings.EqualFold(e.name, name) {
			continue
		}
		if e.size >= uint64(f.cutoff) {
			return f.chain(e.start, int(min(e.size, uint64(len(f.data))))), true
		}
		var out []byte
		for n, s := 0, e.start; s < cfbEnd && n < len(f.miniFAT)+1 && uint64(len(out)) < e.size; n++ {
			off := int(s) * 64
			if off+64 > len(f.mini) || int(s) >= len(f.miniFAT) {
				break
			}
			out = append(out, f.mini[off:off+64]...)
			s = f.miniFAT[s]
		}
		if uint64(len(out)) > e.size {
			out = out[:e.size]
		}
		return out, true
	}
	return nil, false
}

// legacyOffice reads an unencrypted Compound File.
func (s *state) legacyOffice(name string, data []byte) {
	f, err := openCFB(data)
	if err != nil {
		s.problem(KindParse, name, "unreadable Office file: "+err.Error())
		return
	}
	if !s.take(name, int64(len(data))) {
		return
	}
	if wb, ok := f.stream("Workbook"); ok {
		s.xls(name, wb)
		return
	}
	if _, ok := f.stream("Book"); ok {
		s.problem(KindParse, name, "Excel 5.0/95 workbook is not read")
		return
	}
	if b, ok := f.stream("WordDocument"); ok {
		s.blocks(name, "office", wordBlocks(b))
		return
	}
	if b, ok := f.stream("PowerPoint Document"); ok {
		s.add(Doc{Name: name, Kind: Text, Source: "office", Rows: utf16Runs(b)})
		return
	}
	// Anything else in a Compound File (Outlook .msg items, Visio,
	// embedded objects): the UTF-16 text of every stream.
	var rows [][]string
	for _, e := range f.entries {
		if e.typ != 2 || s.expired(name) {
			continue
		}
		if b, ok := f.stream(e.name); ok {
			// Streams may share sectors in a hostile file: each read
			// counts against the budget.
			if !s.take(name, int64(len(b))) {
				return
			}
			rows = append(rows, utf16Runs(b)...)
		}
	}
	s.add(Doc{Name: name, Kind: Text, Source: "office", Rows: rows})
}

// utf16Runs extracts runs of readable UTF-16LE text (ASCII or Japanese)
// from binary data, one line each.
func utf16Runs(b []byte) [][]string {
	var rows [][]string
	var cur []uint16
	flush := func() {
		if len(cur) >= 4 {
			for line := range strings.SplitSeq(string(utf16.Decode(cur)), "\r") {
				if t := strings.TrimSpace(line); t != "" {
					rows = append(rows, []string{t})
				}
			}
		}
		cur = cur[:0]
	}
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == '\r' || c == '\t' || c >= 0x20 && c < 0x7F || c >= 0x3000 && c < 0xA000 || c >= 0xFF00 && c < 0xFFF0 {
			cur = append(cur, c)
			continue
		}
		flush()
	}
	flush()
	return rows
}

// wordBlocks reads the UTF-16 text runs of a Word 97–2003 document
// stream as paragraphs and tables. In Word's text a table cell ends with
// a cell mark (0x07) and a table row with one more, so "A␇B␇␇" is the
// row A, B; an empty cell therefore ends its row early. A paragraph mark
// (0x0D) inside a row joins the cell's paragraphs.
func wordBlocks(b []byte) []block {
	var (
		out   []block
		text  [][]string // paragraphs since the last table
		table [][]string
		row   []string
		cur   []uint16
	)
	flushText := func() {
		if len(text) > 0 {
			out = append(out, block{rows: text})
			text = nil
		}
	}
	flushTable := func() {
		if len(row) > 0 {
			table = append(table, row)
			row = nil
		}
		if len(table) > 0 {
			out = append(out, block{table: true, name: "table ", rows: table})
			table = nil
		}
	}
	str := func() string {
		t := strings.TrimSpace(strings.ReplaceAll(string(utf16.Decode(cur)), "\v", " "))
		cur = cur[:0]
		return t
	}
	// run handles one run of readable text.
	run := func(u []uint16) {
		if len(u) < 4 {
			return
		}
		prevMark := false
		for _, c := range u {
			switch c {
			case 0x07:
				if prevMark && len(cur) == 0 {
					// Row end mark.
					if len(row) > 0 {
						table = append(table, row)
						row = nil
					}
					prevMark = false
					continue
				}
				if len(table) == 0 && len(row) == 0 {
					flushText()
				}
				row = append(row, str())
				prevMark = true
				continue
			case '\r':
				if len(row) > 0 {
					cur = append(cur, ' ') // another paragraph of the cell
				} else if t := str(); t != "" {
					if len(table) > 0 {
						flushTable()
					}
					text = append(text, []string{t})
				}
			default:
				cur = append(cur, c)
			}
			prevMark = false
		}
		if len(row) == 0 {
			if t := str(); t != "" {
				flushTable()
				text = append(text, []string{t})
			}
		}
	}
	var u []uint16
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == '\r' || c == '\t' || c == 0x07 || c == 0x0B || c >= 0x20 && c < 0x7F || c >= 0x3000 && c < 0xA000 || c >= 0xFF00 && c < 0xFFF0 {
			u = append(u, c)
			continue
		}
		run(u)
		u = u[:0]
	}
	run(u)
	if len(cur) > 0 {
		row = append(row, str())
	}
	flushTable()
	flushText()
	return out
}

// xls reads the Workbook stream of an Excel 97–2003 file.
func (s *state) xls(name string, wb []byte) {
	type rec struct {
		typ  uint16
		data []byte
	}
	var recs []rec
	for i := 0; i+4 <= len(wb); {
		t := binary.LittleEndian.Uint16(wb[i:])
		n := int(binary.LittleEndian.Uint16(wb[i+2:]))
		if i+4+n > len(wb) {
			break
		}
		recs = append(recs, rec{t, wb[i+4 : i+4+n]})
		i += 4 + n
	}
	var sheetNames []string
	var sst []string
	// Number formats (FORMAT), the format of each cell style (XF) and
	// the date system (DATEMODE), as for XLSX (numfmt.go).
	formats := map[int]string{}
	var xfFormats []int
	date1904 := false
	for i := 0; i < len(recs); i++ {
		switch recs[i].typ {
		case 0x041E: // FORMAT
			if d := recs[i].data; len(d) >= 5 && len(formats) < maxStyles {
				code, _ := xlString(d[2:], 2)
				formats[int(binary.LittleEndian.Uint16(d))] = code
			}
		case 0x00E0: // XF
			if d := recs[i].data; len(d) >= 4 && len(xfFormats) < maxStyles {
				xfFormats = append(xfFormats, int(binary.LittleEndian.Uint16(d[2:])))
			}
		case 0x0022: // DATEMODE
			if d := recs[i].data; len(d) >= 2 {
				date1904 = binary.LittleEndian.Uint16(d) == 1
			}
		case 0x002F: // FILEPASS
			s.res.Encrypted = true
			return
		case 0x0085: // BOUNDSHEET
			d := recs[i].data
			if len(d) >= 8 {
				str, _ := xlString(d[6:], 1)
				sheetNames = append(sheetNames, str)
			}
		case 0x00FC: // SST, continued by CONTINUE records
			segs := [][]byte{recs[i].data}
			for i+1 < len(recs) && recs[i+1].typ == 0x003C {
				i++
				segs = append(segs, recs[i].data)
			}
			sst = parseSST(segs)
		}
	}
	sheet := -1
	type cell struct {
		row, col int
		v        string
	}
	var cells []cell
	flush := func() {
		if sheet < 0 || len(cells) == 0 {
			cells = nil
			return
		}
		sort.SliceStable(cells, func(i, j int) bool {
			if cells[i].row != cells[j].row {
				return cells[i].row < cells[j].row
			}
			return cells[i].col < cells[j].col
		})
		var rows [][]string
		var row []string
		last := -1
		for _, c := range cells {
			if c.row != last {
				if !emptyRow(row) {
					rows = append(rows, row)
				}
				row, last = nil, c.row
			}
			col := min(c.col, maxColumn)
			for len(row) < col {
				row = append(row, "")
			}
			row = append(row, c.v)
		}
		if !emptyRow(row) {
			rows = append(rows, row)
		}
		label := "sheet " + strconv.Itoa(sheet+1)
		if sheet < len(sheetNames) && sheetNames[sheet] != "" {
			label = sheetNames[sheet]
		}
		s.add(Doc{Name: name + " (" + label + ")", Kind: Table, Source: "office", Rows: rows})
		cells = nil
	}
	parsed := map[int]cellFormat{}
	number := func(ixfe []byte, v float64) string {
		n := formatNumber(v)
		if len(ixfe) < 2 {
			return n
		}
		xf := int(binary.LittleEndian.Uint16(ixfe))
		if xf >= len(xfFormats) {
			return n
		}
		id := xfFormats[xf]
		f, ok := parsed[id]
		if !ok {
			code, custom := formats[id]
			if !custom {
				code = builtinFormats[id]
			}
			f = parseNumberFormat(code)
			parsed[id] = f
		}
		return f.apply(n, date1904)
	}
	inSheet := false
	add := func(d []byte, v string) {
		if inSheet && len(d) >= 4 && v != "" {
			cells = append(cells, cell{int(binary.LittleEndian.Uint16(d)), int(binary.LittleEndian.Uint16(d[2:])), v})
		}
	}
	for i, r := range recs {
		if s.tick(name) {
			return
		}
		d := r.data
		switch r.typ {
		case 0x0809: // BOF
			if len(d) >= 4 && binary.LittleEndian.Uint16(d[2:]) == 0x0010 {
				flush()
				sheet++
				inSheet = true
			} else {
				inSheet = false
			}
		case 0x000A: // EOF
			if inSheet {
				flush()
			}
			inSheet = false
		case 0x00FD: // LABELSST
			if len(d) >= 10 {
				if k := int(binary.LittleEndian.Uint32(d[6:])); k >= 0 && k < len(sst) {
					add(d, sst[k])
				}
			}
		case 0x0204, 0x00D6: // LABEL, RSTRING
			if len(d) >= 8 {
				v, _ := xlString(d[6:], 2)
				add(d, v)
			}
		case 0x0203: // NUMBER
			if len(d) >= 14 {
				add(d, number(d[4:6], math.Float64frombits(binary.LittleEndian.Uint64(d[6:]))))
			}
		case 0x027E: // RK
			if len(d) >= 10 {
				add(d, number(d[4:6], rkValue(binary.LittleEndian.Uint32(d[6:]))))
			}
		case 0x00BD: // MULRK
			if len(d) >= 6 {
				row := d[:2]
				col := int(binary.LittleEndian.Uint16(d[2:]))
				for k := 4; k+6 <= len(d)-2; k += 6 {
					hdr := []byte{row[0], row[1], byte(col), byte(col >> 8)}
					add(hdr, number(d[k:k+2], rkValue(binary.LittleEndian.Uint32(d[k+2:]))))
					col++
				}
			}
		case 0x0006: // FORMULA: a string result follows in a STRING record
			if len(d) >= 14 {
				if d[12] == 0xFF && d[13] == 0xFF {
					if d[6] == 0 && i+1 < len(recs) && recs[i+1].typ == 0x0207 {
						v, _ := xlString(recs[i+1].data, 2)
						add(d, v)
					}
				} else {
					add(d, number(d[4:6], math.Float64frombits(binary.LittleEndian.Uint64(d[6:]))))
				}
			}
		}
	}
	flush()
}

func rkValue(rk uint32) float64 {
	var v float64
	if rk&2 != 0 {
		v = float64(int32(rk) >> 2)
	} else {
		v = math.Float64frombits(uint64(rk&0xFFFFFFFC) << 32)
	}
	if rk&1 != 0 {
		v /= 100
	}
	return v
}

func formatNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e18 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// xlString reads an XLUnicodeString (lenBytes 2) or ShortXLUnicodeString
// (lenBytes 1): character count, flags, characters.
func xlString(d []byte, lenBytes int) (string, int) {
	if len(d) < lenBytes+1 {
		return "", len(d)
	}
	n := int(d[0])
	if lenBytes == 2 {
		n = int(binary.LittleEndian.Uint16(d))
	}
	flags := d[lenBytes]
	p := lenBytes + 1
	if flags&1 == 0 {
		end := min(p+n, len(d))
		return latin1(d[p:end]), end
	}
	end := min(p+2*n, p+(len(d)-p)&^1) // whole characters only
	return utf16LE(d[p:end]), end
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func utf16LE(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// parseSST reads the shared string table from an SST record and its
// CONTINUE records. A string's characters may continue in the next
// record, which then starts with a fresh flags byte.
func parseSST(segs [][]byte) []string {
	seg, pos := 0, 8 // skip total and unique counts
	avail := func() int {
		for seg < len(segs) && pos >= len(segs[seg]) {
			seg++
			pos = 0
		}
		if seg >= len(segs) {
			return 0
		}
		return len(segs[seg]) - pos
	}
	readN := func(n int) []byte {
		var out []byte
		for n > 0 && avail() > 0 {
			k := min(n, avail())
			out = append(out, segs[seg][pos:pos+k]...)
			pos += k
			n -= k
		}
		return out
	}
	var out []string
	unique := 0
	if len(segs) > 0 && len(segs[0]) >= 8 {
		unique = int(binary.LittleEndian.Uint32(segs[0][4:]))
	}
	for len(out) < unique && avail() >= 3 {
		h := readN(3)
		n := int(binary.LittleEndian.Uint16(h))
		flags := h[2]
		rt, ext := 0, 0
		if flags&8 != 0 {
			rt = int(binary.LittleEndian.Uint16(readN(2)))
		}
		if flags&4 != 0 {
			if b := readN(4); len(b) == 4 {
				ext = int(binary.LittleEndian.Uint32(b))
			}
		}
		var sb strings.Builder
		wide := flags&1 != 0
		for n > 0 && avail() > 0 {
			if wide {
				k := min(n, avail()/2)
				if k == 0 {
					break
				}
				sb.WriteString(utf16LE(segs[seg][pos : pos+2*k]))
				pos += 2 * k
				n -= k
			} else {
				k := min(n, avail())
				sb.WriteString(latin1(segs[seg][pos : pos+k]))
				pos += k
				n -= k
			}
			if n > 0 {
				// Continued in the next record: a new flags byte first.
				seg++
				pos = 0
				if avail() == 0 {
					break
				}
				wide = segs[seg][pos]&1 != 0
				pos++
			}
		}
		readN(4*rt + ext)
		out = append(out, sb.String())
		if len(out) > 1<<22 {
			break
		}
	}
	return out
}
