package extract

import (
	"bytes"
	"compress/zlib"
	"encoding/ascii85"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
)

// PDF text is read from content streams, plain or FlateDecode-compressed,
// including those kept in object streams (PDF 1.5+). Strings shown with
// Tj, TJ, ' and " are decoded through the font's ToUnicode map where there
// is one, else as UTF-16 (with BOM) or PDFDocEncoding. Text positioned on
// the same baseline is joined with tabs, so that a table printed to PDF
// keeps its rows. Link annotations (/URI) are reported as links.

// maxPDFString bounds one string read from a PDF.
const maxPDFString = 64 << 10

var (
	fontRef     = regexp.MustCompile(`/([^\s/<>\[\]()]+)\s+(\d+)\s+\d+\s+R`)
	refRe       = regexp.MustCompile(`^(\d+)\s+\d+\s+R`)
	lengthRe    = regexp.MustCompile(`/Length\s+(\d+)(\s+\d+\s+R)?`)
	toUnicodeRe = regexp.MustCompile(`/ToUnicode\s+(\d+)\s+\d+\s+R`)
	hexItemRe   = regexp.MustCompile(`<([0-9A-Fa-f]*)>`)
	nRe         = regexp.MustCompile(`/N\s+(\d+)`)
	pageRe      = regexp.MustCompile(`/Type\s*/Page[^s\w]`)
	resourcesRe = regexp.MustCompile(`/Resources\s+(\d+)\s+\d+\s+R`)
	parentRe    = regexp.MustCompile(`/Parent\s+(\d+)\s+\d+\s+R`)
	contentsRe  = regexp.MustCompile(`/Contents\s*(\[[^\]]*\]|\d+\s+\d+\s+R)`)
	refsRe      = regexp.MustCompile(`(\d+)\s+\d+\s+R`)
	firstRe     = regexp.MustCompile(`/First\s+(\d+)`)
)

type pdfStreamInfo struct {
	obj  int // object number, -1 if unknown
	dict []byte
	data []byte // decoded
}

// pdf reads one PDF file.
func (s *state) pdf(name string, data []byte, depth int) {
	if i := pdfStart(data); i > 0 {
		data = data[i:]
	}
	if pdfEncrypted(data) {
		s.res.Encrypted = true
		return
	}
	objs := map[int][]byte{} // object number → dictionary text (before any stream)
	var streams []pdfStreamInfo
	uris, complete := appendURIs(nil, data)

	// Walk "N G obj" headers in file order.
	locs := objHeaders(data)
	for k, loc := range locs {
		if s.tick(name) {
			return
		}
		num, _ := strconv.Atoi(string(data[loc[2]:loc[3]]))
		end := len(data)
		if k+1 < len(locs) {
			end = locs[k+1][0]
		}
		body := data[loc[1]:end]
		si := bytes.Index(body, []byte("stream"))
		ei := bytes.Index(body, []byte("endobj"))
		if si < 0 || (ei >= 0 && ei < si) {
			if ei >= 0 {
				body = body[:ei]
			}
			objs[num] = body
			continue
		}
		dict := body[:si]
		objs[num] = dict
		raw := streamData(body[si:], dict)
		dec, ok := s.pdfDecode(name, dict, raw)
		if !ok {
			if s.stopped {
				return
			}
			continue
		}
		streams = append(streams, pdfStreamInfo{obj: num, dict: dict, data: dec})
	}
	// Files embedded in the PDF (attachments, portfolios) are read as
	// files of their own.
	embedded := 0
	for _, st := range streams {
		if bytes.Contains(st.dict, []byte("/EmbeddedFile")) {
			embedded++
			if depth+1 > s.lim.MaxDepth {
				s.limit(KindLimitDepth, name, "files nested deeper than "+strconv.Itoa(s.lim.MaxDepth))
				continue
			}
			s.file(name+"/embedded file "+strconv.Itoa(embedded), st.data, depth+1)
		}
	}
	// Objects inside object streams.
	for _, st := range streams {
		if !bytes.Contains(st.dict, []byte("/ObjStm")) {
			continue
		}
		for num, body := range objectStream(st.dict, st.data) {
			if _, ok := objs[num]; !ok {
				objs[num] = body
			}
		}
		var ok bool
		uris, ok = appendURIs(uris, st.data)
		complete = complete && ok
	}
	// Fonts: resource name → ToUnicode map.
	cmaps := map[int]*cmap{}
	for _, st := range streams {
		if bytes.Contains(st.data, []byte("begincmap")) || bytes.Contains(st.data, []byte("beginbfchar")) || bytes.Contains(st.data, []byte("beginbfrange")) {
			cmaps[st.obj] = parseCMap(st.data)
		}
	}
	// Fonts: resource name → ToUnicode map, per page (and form XObject)
	// where the page says, else from any resource dictionary.
	nums := make([]int, 0, len(objs))
	for n := range objs {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	fontsOf := func(body []byte) map[string]*cmap {
		out := map[string]*cmap{}
		for range 8 {
			if i := bytes.Index(body, []byte("/Font")); i >= 0 && (i+5 >= len(body) || !isRegular(body[i+5])) {
				rest := bytes.TrimLeft(body[i+5:], " \r\n\t")
				var dict []byte
				if bytes.HasPrefix(rest, []byte("<<")) {
					dict = rest[:dictEnd(rest)]
				} else if m := refRe.FindSubmatch(rest); m != nil {
					n, _ := strconv.Atoi(string(m[1]))
					dict = objs[n]
				}
				for _, m := range fontRef.FindAllSubmatch(dict, -1) {
					n, _ := strconv.Atoi(string(m[2]))
					if _, ok := out[string(m[1])]; !ok {
						if cm := fontCMap(objs, cmaps, n); cm != nil {
							out[string(m[1])] = cm
						}
					}
				}
				return out
			}
			// Resources by reference, or inherited from the page tree.
			m := resourcesRe.FindSubmatch(body)
			if m == nil {
				m = parentRe.FindSubmatch(body)
			}
			if m == nil {
				return out
			}
			n, _ := strconv.Atoi(string(m[1]))
			body = objs[n]
		}
		return out
	}
	fonts := map[string]*cmap{}
	for _, n := range nums {
		for k, v := range fontsOf(objs[n]) {
			if _, ok := fonts[k]; !ok {
				fonts[k] = v
			}
		}
	}
	pageFonts := map[int]map[string]*cmap{}
	for _, n := range nums {
		body := objs[n]
		if !pageRe.Match(body) {
			continue
		}
		pf := fontsOf(body)
		for _, ref := range contentsRefs(body) {
			pageFonts[ref] = pf
		}
	}
	for _, st := range streams {
		if bytes.Contains(st.dict, []byte("/Form")) {
			pageFonts[st.obj] = fontsOf(st.dict)
		}
	}
	var rows [][]string
	for _, st := range streams {
		if s.expired(name) {
			return
		}
		if bytes.Contains(st.dict, []byte("/ObjStm")) || bytes.Contains(st.dict, []byte("/EmbeddedFile")) || cmaps[st.obj] != nil || !bytes.Contains(st.data, []byte("BT")) {
			continue
		}
		fm := fonts
		if pf := pageFonts[st.obj]; len(pf) > 0 {
			fm = pf
		}
		rows = append(rows, s.pdfContent(name, st.data, fm)...)
	}
	if !complete {
		s.limit(KindLimitSize, name, "more than "+strconv.Itoa(maxURIs)+" link annotations, or one too long to read")
	}
	kind := Text
	if multiCell(rows) {
		// A table printed to PDF: its first rows may name the columns.
		kind = Table
	}
	s.add(Doc{Name: name, Kind: kind, Source: "pdf", Rows: rows, Links: uris})
}

// objHeaders finds "N G obj" headers as [start, end, numStart, numEnd]
// (the shape of a regexp submatch index): a hand scan for "obj" and the
// two numbers before it, much faster than a regular expression over
// megabytes of binary stream data.
func objHeaders(b []byte) [][]int {
	var out [][]int
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("obj"))
		if j < 0 {
			return out
		}
		at := i + j
		i = at + 3
		if at+3 < len(b) && isRegular(b[at+3]) && !(b[at+3] >= '0' && b[at+3] <= '9') {
			continue // "objstm", "object"
		}
		k := at
		ws := func() bool {
			n := 0
			for k > 0 && isSpace(b[k-1]) {
				k--
				n++
			}
			return n > 0
		}
		num := func() (int, int) {
			e := k
			for k > 0 && b[k-1] >= '0' && b[k-1] <= '9' {
				k--
			}
			return k, e
		}
		if !ws() {
			continue
		}
		if gs, ge := num(); gs == ge || !ws() {
			continue
		}
		ns, ne := num()
		if ns == ne || ne-ns > 10 {
			continue
		}
		out = append(out, []int{ns, at + 3, ns, ne})
	}
}

// contentsRefs lists the content stream objects of a page.
func contentsRefs(page []byte) []int {
	m := contentsRe.FindSubmatch(page)
	if m == nil {
		return nil
	}
	var out []int
	for _, r := range refsRe.FindAllSubmatch(m[1], 1000) {
		n, _ := strconv.Atoi(string(r[1]))
		out = append(out, n)
	}
	return out
}

// pdfEncrypted: the trailer (or cross-reference stream) names an /Encrypt
// dictionary.
func pdfEncrypted(b []byte) bool {
	for rest := b; ; {
		i := bytes.Index(rest, []byte("/Encrypt"))
		if i < 0 {
			return false
		}
		rest = rest[i+8:]
		// "/EncryptMetadata" is a key of the encryption dictionary
		// itself, not the marker.
		if len(rest) == 0 || !isRegular(rest[0]) {
			return true
		}
	}
}

func isRegular(c byte) bool {
	return c > ' ' && !strings.ContainsRune("/<>[]()%{}", rune(c))
}

// streamData returns the bytes of the stream starting at b ("stream…").
func streamData(b, dict []byte) []byte {
	start := len("stream")
	if start < len(b) && b[start] == '\r' {
		start++
	}
	if start < len(b) && b[start] == '\n' {
		start++
	}
	b = b[start:]
	if m := lengthRe.FindSubmatch(dict); m != nil && len(m[2]) == 0 {
		if n, err := strconv.Atoi(string(m[1])); err == nil && n <= len(b) && n >= 0 {
			rest := b[n:]
			if e := bytes.Index(rest[:min(len(rest), 64)], []byte("endstream")); e >= 0 {
				return b[:n]
			}
		}
	}
	if e := bytes.Index(b, []byte("endstream")); e >= 0 {
		return b[:e]
	}
	return b
}

// pdfDecode undoes a stream's filters (FlateDecode, ASCII85Decode,
// ASCIIHexDecode, RunLengthDecode, in any chain). Streams that carry no
// text (images, fonts, colour profiles, cross-reference streams) are
// skipped; a text-bearing stream with a filter that is not implemented
// (LZWDecode, Crypt) is a problem: its text would go unseen.
func (s *state) pdfDecode(name string, dict, raw []byte) ([]byte, bool) {
	for _, skip := range []string{"/Image", "/FontFile", "/Length1", "/Length2", "/Type1C", "/CIDFontType0C", "/OpenType", "/XRef", "/Alternate", "/Metadata"} {
		if bytes.Contains(dict, []byte(skip)) {
			return nil, false
		}
	}
	b := raw
	for _, f := range pdfFilters(dict) {
		var err error
		switch f {
		case "FlateDecode", "Fl":
			var ok bool
			if b, ok = s.inflate(name, b); !ok {
				return nil, false
			}
			continue
		case "ASCII85Decode", "A85":
			b, err = decodeASCII85(b)
		case "ASCIIHexDecode", "AHx":
			b, _ = hexString(b)
		case "RunLengthDecode", "RL":
			b, err = runLength(b, s.remaining())
		case "DCTDecode", "DCT", "JPXDecode", "CCITTFaxDecode", "CCF", "JBIG2Decode":
			return nil, false // image data
		default:
			s.problem(KindParse, name, "PDF stream compressed with "+f+" is not read")
			return nil, false
		}
		if err != nil {
			s.problem(KindParse, name, "unreadable PDF stream ("+f+")")
			return nil, false
		}
	}
	if !s.take(name, int64(len(b))) {
		return nil, false
	}
	return b, true
}

// inflate decompresses zlib data within the budget and the ratio bound.
// The bytes are taken from the budget by pdfDecode; only the check is
// made here.
func (s *state) inflate(name string, raw []byte) ([]byte, bool) {
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		s.problem(KindParse, name, "unreadable compressed PDF stream")
		return nil, false
	}
	limit := s.remaining()
	b, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if int64(len(b)) > limit {
		s.take(name, int64(len(b)))
		return nil, false
	}
	if int64(len(b)) > ratioFloor && int64(len(b))/int64(max(len(raw), 1)) > s.lim.MaxRatio {
		s.limit(KindLimitSize, name, "compression ratio over "+strconv.FormatInt(s.lim.MaxRatio, 10)+" (zip bomb)")
		s.stopped = true
		return nil, false
	}
	if err != nil && len(b) == 0 {
		s.problem(KindParse, name, "unreadable compressed PDF stream")
		return nil, false
	}
	// A truncated stream (no checksum at the end) is common and still
	// readable as far as it goes.
	return b, true
}

var (
	filterRe   = regexp.MustCompile(`/Filter\s*(\[[^\]]*\]|/[A-Za-z0-9]+)`)
	filterName = regexp.MustCompile(`/([A-Za-z0-9]+)`)
)

// pdfFilters lists a stream's filters in the order they are applied.
func pdfFilters(dict []byte) []string {
	m := filterRe.FindSubmatch(dict)
	if m == nil {
		return nil
	}
	var out []string
	for _, n := range filterName.FindAllSubmatch(m[1], 8) {
		out = append(out, string(n[1]))
	}
	return out
}

// decodeASCII85 decodes ASCII base-85 data up to "~>".
func decodeASCII85(b []byte) ([]byte, error) {
	if i := bytes.Index(b, []byte("~>")); i >= 0 {
		b = b[:i]
	}
	b = bytes.TrimPrefix(bytes.TrimSpace(b), []byte("<~"))
	dst := make([]byte, 4*len(b)/5+8+4*bytes.Count(b, []byte("z")))
	n, _, err := ascii85.Decode(dst, b, true)
	return dst[:n], err
}

// runLength decodes RunLengthDecode data, at most limit bytes.
func runLength(b []byte, limit int64) ([]byte, error) {
	var out []byte
	for i := 0; i < len(b) && int64(len(out)) <= limit; {
		n := int(b[i])
		i++
		switch {
		case n == 128:
			return out, nil
		case n < 128:
			end := min(i+n+1, len(b))
			out = append(out, b[i:end]...)
			i = end
		default:
			if i >= len(b) {
				return out, nil
			}
			for range 257 - n {
				out = append(out, b[i])
			}
			i++
		}
	}
	return out, nil
}

// objectStream splits an object stream into its objects.
func objectStream(dict, data []byte) map[int][]byte {
	n := pdfInt(dict, nRe)
	first := pdfInt(dict, firstRe)
	if n <= 0 || first <= 0 || first > len(data) || n > 100000 {
		return nil
	}
	fields := bytes.Fields(data[:first])
	type ent struct{ num, off int }
	var ents []ent
	for i := 0; i+1 < len(fields) && len(ents) < n; i += 2 {
		num, e1 := strconv.Atoi(string(fields[i]))
		off, e2 := strconv.Atoi(string(fields[i+1]))
		if e1 != nil || e2 != nil || off < 0 || first+off > len(data) {
			return nil
		}
		ents = append(ents, ent{num, first + off})
	}
	out := make(map[int][]byte, len(ents))
	for i, e := range ents {
		end := len(data)
		if i+1 < len(ents) && ents[i+1].off >= e.off {
			end = ents[i+1].off
		}
		out[e.num] = data[e.off:end]
	}
	return out
}

func pdfInt(dict []byte, re *regexp.Regexp) int {
	m := re.FindSubmatch(dict)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// dictEnd is the length of the balanced "<<…>>" at the start of b.
func dictEnd(b []byte) int {
	depth := 0
	for i := 0; i+1 < len(b); i++ {
		switch {
		case b[i] == '<' && b[i+1] == '<':
			depth++
			i++
		case b[i] == '>' && b[i+1] == '>':
			depth--
			i++
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(b)
}

// fontCMap finds the ToUnicode map of font object n, also through a
// Type0 font's descendant.
//
// A composite font without one whose encoding is one of the predefined
// CMaps that are Unicode or a Japanese charset (UniJIS-UCS2-H,
// 90ms-RKSJ-H, EUC-H, …: what PDF writers use for the standard Japanese
// fonts they do not embed) is read through that encoding.
func fontCMap(objs map[int][]byte, cmaps map[int]*cmap, n int) *cmap {
	body := objs[n]
	if m := toUnicodeRe.FindSubmatch(body); m != nil {
		k, _ := strconv.Atoi(string(m[1]))
		return cmaps[k]
	}
	if m := encodingRe.FindSubmatch(body); m != nil {
		if enc := predefinedCMap(string(m[1])); enc != "" {
			return &cmap{predefined: enc}
		}
	}
	return nil
}

var encodingRe = regexp.MustCompile(`/Encoding\s*/([A-Za-z0-9_.+-]+)`)

// predefinedCMap names the text encoding of a predefined CMap, or "".
func predefinedCMap(name string) string {
	if name == "H" || name == "V" {
		return "jis" // JIS X 0208 row and cell
	}
	n := strings.TrimSuffix(strings.TrimSuffix(name, "-H"), "-V")
	n = strings.TrimSuffix(n, "-HW")
	switch {
	case n == name:
		return "" // every predefined CMap ends in -H or -V
	case strings.HasPrefix(n, "Uni") && (strings.HasSuffix(n, "-UCS2") || strings.HasSuffix(n, "-UTF16")):
		return "utf-16be"
	case strings.HasPrefix(n, "Uni") && strings.HasSuffix(n, "-UTF8"):
		return "utf-8"
	case strings.HasPrefix(n, "Uni") && strings.HasSuffix(n, "-UTF32"):
		return "utf-32be"
	case strings.HasSuffix(n, "RKSJ"):
		return "shift_jis"
	case n == "EUC":
		return "euc-jp"
	}
	return ""
}

// cmap is a ToUnicode map: character codes of one to four bytes. With
// predefined set it is instead a predefined CMap's text encoding.
type cmap struct {
	m          map[uint32]string
	width      int // code length in bytes (1 or 2, as declared)
	predefined string
}

var (
	bfcharRe   = regexp.MustCompile(`<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>`)
	bfrangeRe  = regexp.MustCompile(`<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\[[^\]]*\])`)
	codespaceR = regexp.MustCompile(`begincodespacerange\s*<([0-9A-Fa-f]+)>`)
)

// maxCMapRange bounds the codes one bfrange line may define.
const maxCMapRange = 1 << 16

func parseCMap(b []byte) *cmap {
	cm := &cmap{m: map[uint32]string{}, width: 2}
	if m := codespaceR.FindSubmatch(b); m != nil {
		cm.width = max(1, min(len(m[1])/2, 4))
	}
	for _, sec := range sections(b, "beginbfchar", "endbfchar") {
		for _, m := range bfcharRe.FindAllSubmatch(sec, -1) {
			cm.m[hexUint(m[1])] = utf16Hex(m[2])
		}
	}
	for _, sec := range sections(b, "beginbfrange", "endbfrange") {
		for _, m := range bfrangeRe.FindAllSubmatch(sec, -1) {
			lo, hi := hexUint(m[1]), hexUint(m[2])
			if hi < lo || hi-lo > maxCMapRange {
				continue
			}
			dst := m[3]
			if dst[0] == '[' {
				list := hexItemRe.FindAllSubmatch(dst, -1)
				for i, x := range list {
					if lo+uint32(i) > hi {
						break
					}
					cm.m[lo+uint32(i)] = utf16Hex(x[1])
				}
				continue
			}
			base := []rune(utf16Hex(dst[1 : len(dst)-1]))
			if len(base) == 0 {
				continue
			}
			for c := lo; c <= hi; c++ {
				r := append([]rune(nil), base...)
				r[len(r)-1] += rune(c - lo)
				cm.m[c] = string(r)
			}
		}
	}
	return cm
}

func sections(b []byte, begin, end string) [][]byte {
	var out [][]byte
	for {
		i := bytes.Index(b, []byte(begin))
		if i < 0 {
			return out
		}
		b = b[i+len(begin):]
		j := bytes.Index(b, []byte(end))
		if j < 0 {
			return append(out, b)
		}
		out = append(out, b[:j])
		b = b[j:]
	}
}

func hexUint(h []byte) uint32 {
	var v uint32
	for _, c := range h[:min(len(h), 8)] {
		v = v<<4 | uint32(unhex(c))
	}
	return v
}

func utf16Hex(h []byte) string {
	var u []uint16
	for i := 0; i+4 <= len(h); i += 4 {
		u = append(u, uint16(hexUint(h[i:i+4])))
	}
	if len(h) == 2 {
		return string(rune(hexUint(h)))
	}
	return string(utf16.Decode(u))
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// decode turns the bytes of a shown string into text.
func (cm *cmap) decode(b []byte) string {
	if cm.predefined != "" {
		return decodePredefined(cm.predefined, b)
	}
	var sb strings.Builder
	w := cm.width
	for i := 0; i+w <= len(b); i += w {
		var code uint32
		for k := range w {
			code = code<<8 | uint32(b[i+k])
		}
		if s, ok := cm.m[code]; ok {
			sb.WriteString(s)
		}
	}
	return sb.String()
}

// decodePredefined decodes a string shown with a font whose encoding is a
// predefined CMap (see predefinedCMap).
func decodePredefined(enc string, b []byte) string {
	var s string
	switch enc {
	case "utf-16be":
		u := make([]uint16, 0, len(b)/2)
		for i := 0; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return string(utf16.Decode(u))
	case "utf-32be":
		r := make([]rune, 0, len(b)/4)
		for i := 0; i+3 < len(b); i += 4 {
			r = append(r, rune(uint32(b[i])<<24|uint32(b[i+1])<<16|uint32(b[i+2])<<8|uint32(b[i+3])))
		}
		s = string(r)
	case "utf-8":
		s = string(b)
	case "shift_jis":
		s, _ = decodeWith(japanese.ShiftJIS, b)
	case "euc-jp":
		s, _ = decodeWith(japanese.EUCJP, b)
	case "jis":
		// Two-byte JIS X 0208 codes: ISO-2022-JP in its kanji mode.
		w := make([]byte, 0, len(b)+6)
		w = append(append(append(w, 0x1b, '$', 'B'), b...), 0x1b, '(', 'B')
		s, _ = decodeWith(japanese.ISO2022JP, w)
	}
	return strings.ToValidUTF8(s, "")
}

// plainPDFString decodes a string shown with a font without a ToUnicode
// map: UTF-16BE with BOM, UTF-8 with BOM, else PDFDocEncoding (Latin-1 for
// the characters that matter).
func plainPDFString(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		var u []uint16
		for i := 2; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return string(utf16.Decode(u))
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return strings.ToValidUTF8(string(b[3:]), "")
	}
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, 0, len(b))
	for _, c := range b {
		if c >= 0x20 || c == '\t' {
			r = append(r, rune(c))
		}
	}
	return string(r)
}

// pdfContent interprets the text operators of a content stream.
//
// The position of every string shown is followed through the text matrix
// (BT, Td, TD, Tm, T*) and the graphics state's matrix (cm, q, Q); the
// strings are then laid out in rows by their baselines (see layoutRows).
// Spreadsheet and word processor exports start each cell with its own BT
// and an absolute Td, and write a table cell by cell, even column by
// column, so the order in the stream says little.
func (s *state) pdfContent(name string, b []byte, fonts map[string]*cmap) [][]string {
	var pieces []*textPiece
	var cell *strings.Builder
	var font *cmap
	var operands [][]byte // string operands since the last operator
	var nums []float64
	var lastName string
	var pos textPos
	show := func(strs [][]byte) {
		if cell == nil || pos.moved {
			p := pos.piece()
			pieces = append(pieces, p)
			cell = &p.text
		}
		for _, str := range strs {
			if font != nil {
				cell.WriteString(font.decode(str))
			} else {
				cell.WriteString(plainPDFString(str))
			}
		}
	}
	i := 0
	for i < len(b) {
		if s.tick(name) {
			break
		}
		c := b[i]
		switch {
		case c == '(':
			str, n := literalString(b[i+1:])
			operands = append(operands, str)
			i += 1 + n
		case c == '<' && i+1 < len(b) && b[i+1] == '<':
			i += dictEnd(b[i:])
		case c == '<':
			str, n := hexString(b[i+1:])
			operands = append(operands, str)
			i += 1 + n
		case c == '[':
			// TJ array: strings and kerning; a large gap is a space.
			j := i + 1
			var parts [][]byte
			for j < len(b) && b[j] != ']' {
				switch {
				case b[j] == '(':
					str, n := literalString(b[j+1:])
					parts = append(parts, str)
					j += 1 + n
				case b[j] == '<':
					str, n := hexString(b[j+1:])
					parts = append(parts, str)
					j += 1 + n
				case b[j] == '-' || b[j] >= '0' && b[j] <= '9' || b[j] == '.':
					k := j
					for k < len(b) && (b[k] == '-' || b[k] == '.' || b[k] >= '0' && b[k] <= '9') {
						k++
					}
					if v, err := strconv.ParseFloat(string(b[j:k]), 64); err == nil && v < -150 {
						parts = append(parts, nil) // a word gap
					}
					j = k
				default:
					j++
				}
			}
			operands = operands[:0]
			for _, p := range parts {
				if p == nil {
					operands = append(operands, []byte{})
				} else {
					operands = append(operands, p)
				}
			}
			i = j + 1
		case c == '/':
			j := i + 1
			for j < len(b) && isRegular(b[j]) {
				j++
			}
			lastName = string(b[i+1 : j])
			i = j
		case c == '%':
			for i < len(b) && b[i] != '\n' && b[i] != '\r' {
				i++
			}
		case c == '-' || c == '+' || c == '.' || c >= '0' && c <= '9':
			j := i + 1
			for j < len(b) && (b[j] == '.' || b[j] >= '0' && b[j] <= '9') {
				j++
			}
			if v, err := strconv.ParseFloat(string(b[i:j]), 64); err == nil {
				nums = append(nums, v)
				if len(nums) > 8 {
					nums = nums[1:]
				}
			}
			i = j
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '\'' || c == '"' || c == '*':
			j := i + 1
			for j < len(b) && (b[j] >= 'A' && b[j] <= 'Z' || b[j] >= 'a' && b[j] <= 'z' || b[j] == '*') {
				j++
			}
			if c == '\'' || c == '"' {
				j = i + 1
			}
			switch op := string(b[i:j]); op {
			case "Tf":
				font = fonts[lastName]
				if len(nums) >= 1 {
					pos.size = nums[len(nums)-1]
				}
			case "Tj":
				show(operands)
			case "TJ":
				for k, p := range operands {
					if len(p) == 0 {
						if k == 0 {
							show(nil)
						}
						cell.WriteByte(' ')
						continue
					}
					show([][]byte{p})
				}
			case "'", "\"":
				pos.nextLine()
				show(operands)
			case "BT":
				pos.beginText()
			case "Td", "TD":
				if len(nums) >= 2 {
					pos.move(nums[len(nums)-2], nums[len(nums)-1], op == "TD")
				}
			case "TL":
				if len(nums) >= 1 {
					pos.leading = nums[len(nums)-1]
				}
			case "Tm":
				if len(nums) >= 6 {
					pos.setMatrix(nums[len(nums)-6:])
				}
			case "T*":
				pos.nextLine()
			case "cm":
				if len(nums) >= 6 {
					pos.concat(nums[len(nums)-6:])
				}
			case "q":
				pos.save()
			case "Q":
				pos.restore()
			case "BI":
				// Inline image: skip to EI.
				if e := bytes.Index(b[j:], []byte("EI")); e >= 0 {
					j += e + 2
				} else {
					j = len(b)
				}
			}
			operands = operands[:0]
			nums = nums[:0]
			i = j
		default:
			i++
		}
	}
	return layoutRows(pieces)
}

// matrix is a PDF transformation matrix [a b c d e f].
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul is m × n: m applied first, then n.
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// textPos follows where text is shown on the page, enough to tell a
// string on the same baseline as the one before it from one on another.
type textPos struct {
	ctm     matrix
	stack   []matrix
	tm, tlm matrix
	leading float64
	size    float64
	moved   bool // the position changed since the last string shown
	ready   bool
}

// maxGraphicsStack bounds the q nesting followed.
const maxGraphicsStack = 64

func (p *textPos) init() {
	if !p.ready {
		p.ctm, p.tm, p.tlm, p.ready = identity, identity, identity, true
	}
}

func (p *textPos) beginText() {
	p.init()
	p.tm, p.tlm, p.moved = identity, identity, true
}

func (p *textPos) move(tx, ty float64, setLeading bool) {
	p.init()
	if setLeading {
		p.leading = -ty
	}
	p.tlm = matrix{1, 0, 0, 1, tx, ty}.mul(p.tlm)
	p.tm, p.moved = p.tlm, true
}

func (p *textPos) setMatrix(v []float64) {
	p.init()
	p.tlm = matrix{v[0], v[1], v[2], v[3], v[4], v[5]}
	p.tm, p.moved = p.tlm, true
}

func (p *textPos) nextLine() {
	p.init()
	l := p.leading
	if l == 0 {
		l = max(math.Abs(p.size), 1) * 1.2 // no TL: the usual leading
	}
	p.move(0, -l, false)
}

func (p *textPos) concat(v []float64) {
	p.init()
	p.ctm = matrix{v[0], v[1], v[2], v[3], v[4], v[5]}.mul(p.ctm)
	p.moved = true
}

func (p *textPos) save() {
	p.init()
	if len(p.stack) < maxGraphicsStack {
		p.stack = append(p.stack, p.ctm)
	}
}

func (p *textPos) restore() {
	p.init()
	if n := len(p.stack); n > 0 {
		p.ctm, p.stack = p.stack[n-1], p.stack[:n-1]
		p.moved = true
	}
}

// piece starts a string shown at the current position.
func (p *textPos) piece() *textPiece {
	p.init()
	m := p.tm.mul(p.ctm)
	// The baseline is across the direction of the text, which a rotated
	// page turns.
	dx, dy := m[0], m[1]
	if l := math.Hypot(dx, dy); l > 0 {
		dx, dy = dx/l, dy/l
	} else {
		dx, dy = 1, 0
	}
	p.moved = false
	return &textPiece{
		base:  -dy*m[4] + dx*m[5],
		along: dx*m[4] + dy*m[5],
		size:  math.Abs(p.size) * math.Hypot(m[2], m[3]),
	}
}

// literalString reads a literal string after "(", returning its bytes and
// how many input bytes it used (closing parenthesis included).
func literalString(b []byte) ([]byte, int) {
	var out []byte
	depth := 0
	for i := 0; i < len(b); i++ {
		if len(out) >= maxPDFString {
			return out, i
		}
		c := b[i]
		switch c {
		case '\\':
			if i+1 >= len(b) {
				return out, len(b)
			}
			i++
			switch e := b[i]; e {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b', 'f':
			case '\r':
				if i+1 < len(b) && b[i+1] == '\n' {
					i++
				}
			case '\n':
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'; k++ {
						i++
						v = v*8 + int(b[i]-'0')
					}
					out = append(out, byte(v))
				} else {
					out = append(out, e)
				}
			}
		case '(':
			depth++
			out = append(out, c)
		case ')':
			if depth == 0 {
				return out, i + 1
			}
			depth--
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return out, len(b)
}

// hexString reads a hex string after "<".
func hexString(b []byte) ([]byte, int) {
	var out []byte
	var hi byte
	half := false
	for i, c := range b {
		if c == '>' {
			if half {
				out = append(out, hi<<4)
			}
			return out, i + 1
		}
		if len(out) >= maxPDFString || !isHex(c) {
			continue
		}
		if half {
			out = append(out, hi<<4|unhex(c))
		} else {
			hi = unhex(c)
		}
		half = !half
	}
	return out, len(b)
}

// maxURIs bounds the link annotations read from one PDF, as the links of
// one text are bounded; more, or a URI of maxPDFString bytes or more, make
// the reading incomplete.
const maxURIs = 10000

// appendURIs appends the values of /URI entries in b; complete is false
// when a bound stopped it.
func appendURIs(out []string, b []byte) (_ []string, complete bool) {
	for {
		i := bytes.Index(b, []byte("/URI"))
		if i < 0 {
			return out, true
		}
		b = b[i+4:]
		j := 0
		for j < len(b) && (b[j] == ' ' || b[j] == '\r' || b[j] == '\n' || b[j] == '\t') {
			j++
		}
		if j >= len(b) {
			return out, true
		}
		var v []byte
		switch b[j] {
		case '(':
			v, _ = literalString(b[j+1:])
		case '<':
			if j+1 < len(b) && b[j+1] != '<' {
				v, _ = hexString(b[j+1:])
			}
		}
		if len(v) == 0 {
			continue
		}
		if len(out) >= maxURIs || len(v) >= maxPDFString {
			return out, false
		}
		out = append(out, plainPDFString(v))
	}
}

// multiCell: most rows have two or more cells.
func multiCell(rows [][]string) bool {
	n := 0
	for _, r := range rows {
		if len(r) >= 2 {
			n++
		}
	}
	return n > 0 && n*2 >= len(rows)
}
