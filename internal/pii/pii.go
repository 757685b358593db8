// Package pii finds personal data in text: My Numbers (個人番号), credit
// card numbers, Japanese phone numbers, postal codes and addresses, dates
// of birth, e-mail addresses, insurance/patient/staff IDs and person
// names. It works on rows of cells (a spreadsheet, a CSV file, a table in
// a document) or lines of text (one cell each), and counts person
// records: rows in which two or more kinds of identifier occur together.
//
// It is pure and keeps no data: a Summary holds counts and masked samples
// (山田 **, 090-****-5678), never a whole value or a whole record.
package pii

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/egressguard/egressguard/internal/textnorm"
)

// Kind is a kind of identifier.
type Kind string

// Kinds, in the order reasons list them.
const (
	Name     Kind = "name"
	Phone    Kind = "phone"
	Birth    Kind = "birth_date"
	Address  Kind = "address"
	Postal   Kind = "postal_code"
	Email    Kind = "email"
	MyNumber Kind = "my_number"
	Card     Kind = "card_number"
	ID       Kind = "id_number"
)

const numKinds = 9

// Kinds lists every kind in reason order.
var Kinds = []Kind{Name, Phone, Birth, Address, Postal, Email, MyNumber, Card, ID}

// LabelJA and LabelEN name kinds for people.
var (
	LabelJA = map[Kind]string{Name: "氏名", Phone: "電話番号", Birth: "生年月日", Address: "住所", Postal: "郵便番号",
		Email: "メールアドレス", MyNumber: "個人番号", Card: "カード番号", ID: "ID番号"}
	LabelEN = map[Kind]string{Name: "name", Phone: "phone number", Birth: "date of birth", Address: "address", Postal: "postal code",
		Email: "e-mail address", MyNumber: "My Number", Card: "card number", ID: "ID number"}
)

// Sample is one masked value.
type Sample struct {
	Kind   Kind   `json:"kind"`
	Masked string `json:"masked"`
}

// Summary is what was found in one file (or sheet, or body).
type Summary struct {
	// Records counts distinct rows with two or more kinds of identifier.
	Records int `json:"records"`
	// RecordKinds counts, per kind, the records it occurs in.
	RecordKinds map[Kind]int `json:"record_kinds,omitempty"`
	// Found counts every value found, per kind, records or not.
	Found map[Kind]int `json:"found,omitempty"`
	// MyNumbers and Cards count distinct valid numbers.
	MyNumbers int `json:"my_numbers,omitempty"`
	Cards     int `json:"cards,omitempty"`
	// MyNumberContext: 個人番号 or マイナンバー is written next to one.
	MyNumberContext bool     `json:"my_number_context,omitempty"`
	Samples         []Sample `json:"samples,omitempty"`

	// RecordKeys identify the records (hashes of their normalised text),
	// so that a message can count each record once across files.
	RecordKeys []uint64 `json:"-"`
}

// Empty reports whether nothing was found.
func (s *Summary) Empty() bool { return len(s.Found) == 0 }

// KindsInRecords lists the kinds seen in records, in reason order.
func (s *Summary) KindsInRecords() []Kind {
	var out []Kind
	for _, k := range Kinds {
		if s.RecordKinds[k] > 0 {
			out = append(out, k)
		}
	}
	return out
}

// maxSamples bounds the samples per kind.
const maxSamples = 3

// Scanner finds personal data; the zero value is not usable, see
// NewScanner. It carries the distinct numbers seen so far, so that one
// Scanner per file counts each once.
type Scanner struct {
	sum Summary
	// found and inRecords are Summary.Found and RecordKinds by index
	// into Kinds; samples counts the samples of each kind.
	found, inRecords, samples [numKinds]int
	myNums                    map[string]bool
	cards                     map[string]bool
	records                   map[uint64]bool
	// header is the kind of each column (an index into Kinds, or -1)
	// once a row of column names has been seen.
	header   []int8
	headerAt int // the row the header is in
	rows     int
	// badTwelve counts twelve-digit numbers written like My Numbers whose
	// check digit is wrong (see chanceMyNumbers).
	badTwelve int
	// block holds labelled lines of text read as one row (blocks.go).
	block       []string
	blockLabels []string
	multiBlock  bool // the row is a block of several lines

	// Kept from row to row to save allocations.
	norm    []string
	counted []bool
	ctx     rowContext
	name    nameText
	digits  []byte
}

// Kinds by index.
const (
	kName = iota
	kPhone
	kBirth
	kAddress
	kPostal
	kEmail
	kMyNumber
	kCard
	kID
)

// NewScanner returns a Scanner for one file or table.
func NewScanner() *Scanner {
	return &Scanner{myNums: map[string]bool{}, cards: map[string]bool{}, records: map[uint64]bool{}}
}

// Scan is a Scanner over one table or text; table says the first rows
// may be a header naming the columns.
func Scan(rows [][]string, table bool) Summary {
	sc := NewScanner()
	for _, r := range rows {
		sc.Row(r, table)
	}
	return sc.Summary()
}

// Summary returns what the scanner found so far.
func (sc *Scanner) Summary() Summary {
	sc.flushBlock()
	s := sc.sum
	s.MyNumbers, s.Cards = len(sc.myNums), len(sc.cards)
	s.Found, s.RecordKinds = kindCounts(&sc.found), kindCounts(&sc.inRecords)
	if s.MyNumbers > 0 && sc.chanceMyNumbers() {
		s.MyNumbers = 0
		delete(s.Found, MyNumber)
		s.Samples = slices.DeleteFunc(slices.Clone(s.Samples), func(x Sample) bool { return x.Kind == MyNumber })
	}
	return s
}

// kindCounts is n as a map of the kinds counted, or nil if none is.
func kindCounts(n *[numKinds]int) map[Kind]int {
	var m map[Kind]int
	for i, v := range n {
		if v > 0 {
			if m == nil {
				m = map[Kind]int{}
			}
			m[Kinds[i]] = v
		}
	}
	return m
}

// Row scans one row. In a table, a row of column names (氏名, 電話番号,
// 生年月日, …) among the first ten makes the cells below count as that
// kind when they look like one; of a header in two rows (基本情報 |
// 連絡先 above 氏名 | 電話), the one naming more columns.
//
// Cells longer than maxCell are scanned in pieces of that size (cut at a
// space where there is one): a person record is never that long, and the
// detectors then stay linear in small steps.
func (sc *Scanner) Row(cells []string, table bool) {
	if !table && len(cells) == 1 && sc.inBlock(cells[0]) {
		return
	}
	sc.flushBlock() // any other row ends the block
	sc.scan(cells, table)
}

// scan is Row without the blocks of labelled lines; table says the row
// may be a table's column names.
func (sc *Scanner) scan(cells []string, table bool) {
	for i, c := range cells {
		if len(c) > maxCell {
			rest := append([]string(nil), cells[i+1:]...)
			sc.scan(append(append([]string(nil), cells[:i]...), c[:cut(c)]), table)
			sc.scan(append([]string{c[cut(c):]}, rest...), table)
			return
		}
	}
	sc.rows++
	var norm []string
	if table && sc.mayBeHeader() {
		norm = sc.normalizeAll(cells)
		if h := headerKinds(norm); namedColumns(h) > namedColumns(sc.header) {
			sc.header, sc.headerAt = h, sc.rows
			return
		}
	}
	if sc.header == nil && !mayBeRecord(cells) {
		return
	}
	if norm == nil {
		norm = sc.normalizeAll(cells)
	}
	r := row{sc: sc, ctx: &sc.ctx}
	r.ctx.reset(norm)
	// counted: the cell is a value of its column's kind.
	counted := sc.counted[:0]
	for i, c := range norm {
		counted = append(counted, false)
		if c == "" {
			continue
		}
		k := sc.column(i)
		if k == kMyNumber {
			// The column says so: context for the number below.
			r.ctx.set |= 1 << ctxMyNumber
		}
		if k >= 0 && k != kMyNumber && k != kCard {
			// The mask is made only if it may become a sample.
			if a, b, ok := columnValue(k, c, r.wantSample(k)); ok {
				counted[i] = true
				r.notePair(k, a, b)
				continue
			}
		}
		sc.cell(c, &r)
	}
	sc.counted = counted
	if r.nk >= 1 && !r.kinds[kName] {
		for i, c := range norm {
			if c == "" || counted[i] {
				continue
			}
			sc.names(c, &r)
		}
	}
	if recordKinds(&r.kinds, r.nk, r.ctx.bareBirth) >= 2 && sc.person(&r) {
		key := recordKey(norm)
		if !sc.records[key] {
			sc.records[key] = true
			sc.sum.Records++
			sc.sum.RecordKeys = append(sc.sum.RecordKeys, key)
			for i, ok := range r.kinds {
				if ok {
					sc.inRecords[i]++
				}
			}
		}
	}
}

// column is the kind of column i, or -1.
func (sc *Scanner) column(i int) int {
	if i < len(sc.header) {
		return int(sc.header[i])
	}
	return -1
}

// row is what one row has shown so far.
type row struct {
	sc    *Scanner
	ctx   *rowContext
	kinds [numKinds]bool
	nk    int
}

// wantSample reports whether a value of kind k may still become a sample:
// if not, its mask need not be made.
func (r *row) wantSample(k int) bool { return r.sc.samples[k] < maxSamples }

// note counts a value of kind k (an index into Kinds) and keeps its
// masked form as a sample if there are fewer than maxSamples of its kind
// and none the same.
func (r *row) note(k int, masked string) { r.notePair(k, masked, "") }

// notePair is note of the mask a+b, which it joins only for a new sample.
func (r *row) notePair(k int, a, b string) {
	sc := r.sc
	sc.found[k]++
	if !r.kinds[k] {
		r.kinds[k] = true
		r.nk++
	}
	if a == "" && b == "" || sc.samples[k] >= maxSamples {
		return
	}
	for _, s := range sc.sum.Samples {
		if len(s.Masked) == len(a)+len(b) && s.Kind == Kinds[k] && s.Masked[:len(a)] == a && s.Masked[len(a):] == b {
			return
		}
	}
	sc.sum.Samples = append(sc.sum.Samples, Sample{Kinds[k], a + b})
	sc.samples[k]++
}

// recordKey identifies a record: FNV-1a of its normalised cells without
// spacing and separators, so that the same person in a CSV row, a table
// cell row, the plain text and the HTML of one message is one record. An
// invalid UTF-8 byte counts as U+FFFD.
func recordKey(cells []string) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for _, c := range cells {
		for i := 0; i < len(c); {
			switch b := c[i]; {
			case b < utf8.RuneSelf:
				switch b {
				case ' ', '\t', ',', ';', '|', '"', '\'':
				default:
					h = (h ^ uint64(b)) * prime
				}
				i++
			case (b >= 0xE1 && b <= 0xEC || b >= 0xEE) && b <= 0xEF && i+2 < len(c) && c[i+1]&0xC0 == 0x80 && c[i+2]&0xC0 == 0x80:
				// A valid three-byte character (kana, kanji).
				h = (h ^ uint64(b)) * prime
				h = (h ^ uint64(c[i+1])) * prime
				h = (h ^ uint64(c[i+2])) * prime
				i += 3
			default:
				r, size := utf8.DecodeRuneInString(c[i:])
				if r == utf8.RuneError && size == 1 {
					h = (h ^ 0xEF) * prime
					h = (h ^ 0xBF) * prime
					h = (h ^ 0xBD) * prime
					i++
					continue
				}
				for end := i + size; i < end; i++ {
					h = (h ^ uint64(c[i])) * prime
				}
			}
		}
	}
	return h
}

func (sc *Scanner) normalizeAll(cells []string) []string {
	norm := sc.norm[:0]
	for _, c := range cells {
		norm = append(norm, normalize(c))
	}
	sc.norm = norm
	return norm
}

// mayBeRecord is a cheap look at a row without column names: every
// identifier but names and addresses needs a digit (or an '@'), and a
// record needs two kinds, so a row without digits, '@' or a city, ward,
// town or village cannot be one and is not scanned. (Names alone are then
// not counted in Found: they decide nothing.) Full-width digits and '＠'
// count.
func mayBeRecord(cells []string) bool {
	for _, c := range cells {
		for i := 0; i < len(c); i++ {
			// The characters looked for by their first byte (a lead
			// byte always starts a character).
			switch b := c[i]; b {
			case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '@':
				return true
			case 0xEF: // ０–９, ＠
				if i+2 < len(c) && c[i+1] == 0xBC && (c[i+2] >= 0x90 && c[i+2] <= 0x99 || c[i+2] == 0xA0) {
					return true
				}
			case 0xE5, 0xE6, 0xE7, 0xE9:
				if isPlaceAt(c, i) {
					return true
				}
			}
		}
	}
	return false
}

// hasAt reports whether s has sub at i.
func hasAt(s string, i int, sub string) bool {
	return len(s)-i >= len(sub) && s[i:i+len(sub)] == sub
}

// maxCell bounds the text scanned as one cell.
const maxCell = 2048

// cut finds where to split a long cell: the last space or line break
// before maxCell, else the last rune boundary.
func cut(c string) int {
	i := strings.LastIndexAny(c[:maxCell], " \t\n　")
	if i > maxCell/2 {
		return i + 1
	}
	i = maxCell
	for i > 0 && !utf8.RuneStart(c[i]) {
		i--
	}
	if i == 0 {
		return maxCell
	}
	return i
}

// dashes folds the hyphen look-alikes Japanese text uses into '-'.
var dashes = strings.NewReplacer("‐", "-", "‑", "-", "‒", "-", "–", "-", "—", "-", "―", "-", "−", "-", "ｰ", "-", "－", "-")

// normalize applies NFKC (full-width digits and letters become ASCII;
// package textnorm, whose form the policy's rules match too) and folds
// dashes; the long vowel mark ー is kept inside kana words.
func normalize(s string) string {
	if isASCII(s) {
		return strings.TrimSpace(s)
	}
	s = textnorm.NFKC(s)
	s = trimSpace(s)
	dash, vowel := dashesAt(s)
	if dash {
		s = dashes.Replace(s)
		vowel = strings.Index(s, "ー")
	}
	if vowel >= 0 && (digitVowel(s, vowel) || !utf8.ValidString(s)) {
		// ー between digits is a dash (090ー1234ー5678). (An invalid
		// byte becomes U+FFFD on the way.)
		rs := []rune(s)
		for i := 1; i+1 < len(rs); i++ {
			if rs[i] == 'ー' && isDigit(rs[i-1]) && isDigit(rs[i+1]) {
				rs[i] = '-'
			}
		}
		s = string(rs)
	}
	return s
}

// digitVowel reports whether a ー at or after s[i] stands between two
// digits.
func digitVowel(s string, i int) bool {
	for i >= 0 {
		if i > 0 && isDigitB(s[i-1]) && i+3 < len(s) && isDigitB(s[i+3]) {
			return true
		}
		j := strings.Index(s[i+3:], "ー")
		if j < 0 {
			break
		}
		i += 3 + j
	}
	return false
}

// isASCII reports whether s is all ASCII, eight bytes at a time.
func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if (uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56)&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// trimSpace is strings.TrimSpace, which trims a text that does not start
// with ASCII rune by rune from both ends through a function value: most
// cells start and end with no space at all, and the first and last bytes
// mostly tell.
func trimSpace(s string) string {
	if s == "" || !mayStartSpace(s) && !mayEndSpace(s) {
		return s
	}
	return strings.TrimSpace(s)
}

// mayStartSpace: s may start with white space (unicode.IsSpace). Its
// non-ASCII characters (U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028,
// U+2029, U+202F, U+205F, U+3000) have the lead bytes C2, E1, E2 and E3.
func mayStartSpace(s string) bool {
	switch b := s[0]; b {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xC2, 0xE1, 0xE2:
		return true
	case 0xE3:
		return strings.HasPrefix(s, "\u3000")
	}
	return false
}

// mayEndSpace: s may end with white space; the non-ASCII spaces end in
// one of the bytes 80–8A, 85, 9F, A0, A8, A9, AF.
func mayEndSpace(s string) bool {
	switch b := s[len(s)-1]; {
	case b < utf8.RuneSelf:
		return b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r' || b == ' '
	case b <= 0x8A, b == 0x9F, b == 0xA0, b == 0xA8, b == 0xA9, b == 0xAF:
		r, _ := utf8.DecodeLastRuneInString(s)
		return unicode.IsSpace(r)
	}
	return false
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// hasPlace: s names a city, ward, town, village or district.
func hasPlace(s string) bool {
	for i := 0; i < len(s); i++ {
		// The characters looked for by their first byte (a lead byte
		// always starts a character).
		switch s[i] {
		case 0xE5, 0xE6, 0xE7, 0xE9:
			if isPlaceAt(s, i) {
				return true
			}
		}
	}
	return false
}

// isPlaceAt: 市, 区, 町, 村 or 郡 at s[i].
func isPlaceAt(s string, i int) bool {
	return hasAt(s, i, "市") || hasAt(s, i, "区") || hasAt(s, i, "町") || hasAt(s, i, "村") || hasAt(s, i, "郡")
}

// dashesAt reports whether s has one of the dashes folded into '-'
// (U+2010–U+2015 and U+2212, lead byte E2; U+FF0D and U+FF70, EF), and
// if not, where its first ー is, or -1.
func dashesAt(s string) (dash bool, vowel int) {
	for i := strings.IndexByte(s, 0xE2); i >= 0 && i+2 < len(s); {
		if s[i+1] == 0x80 && s[i+2] >= 0x90 && s[i+2] <= 0x95 || s[i+1] == 0x88 && s[i+2] == 0x92 {
			return true, -1
		}
		j := strings.IndexByte(s[i+1:], 0xE2)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	for i := strings.IndexByte(s, 0xEF); i >= 0 && i+2 < len(s); {
		if s[i+1] == 0xBC && s[i+2] == 0x8D || s[i+1] == 0xBD && s[i+2] == 0xB0 {
			return true, -1
		}
		j := strings.IndexByte(s[i+1:], 0xEF)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false, strings.Index(s, "ー")
}

var urlRe = regexp.MustCompile(`(?i)\b(?:https?|ftp)://\S+|\bwww\.\S+`)

// rowContext says which context words the row holds: all kinds are
// looked up at once, the first time a detector asks.
type rowContext struct {
	cells []string // normalised
	set   uint8    // kinds the columns give
	has   uint8
	done  bool
	buf   []byte
	// bareBirth: a date of birth was taken from a cell that is only an
	// old date, without context (bareOldDate).
	bareBirth bool
}

const (
	ctxMyNumber = iota
	ctxBirth
	ctxPostal
	ctxName
	ctxID
	ctxOtherNumber
)

var contextWords = [6][]string{myNumberContext, birthCtx, postalCtx, nameContext, idWords, otherNumberContext}

// otherNumberContext labels numbers that are not My Numbers.
var otherNumberContext = []string{"伝票", "追跡", "問い合わせ番号", "問合せ番号", "お問合せ", "注文", "受注", "発注", "請求", "口座",
	"振込", "取引", "契約番号", "会員番号", "顧客番号", "管理番号", "製造番号", "シリアル", "品番", "型番", "jan", "tracking", "order",
	"invoice", "account", "serial", "ref", "tel", "fax", "電話"}

func (c *rowContext) reset(cells []string) {
	c.cells, c.set, c.has, c.done, c.bareBirth = cells, 0, 0, false, false
}

func (c *rowContext) is(k int) bool {
	if c.set&(1<<k) != 0 {
		return true
	}
	c.lower()
	return c.has&(1<<k) != 0
}

// lower returns the row's cells lower-cased and joined by spaces, as
// words such as "my number" may span two cells, and finds its context
// words.
func (c *rowContext) lower() []byte {
	if !c.done {
		b := c.buf[:0]
		for i, s := range c.cells {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendLower(b, s)
		}
		c.buf, c.has, c.done = b, contextKinds(b), true
	}
	return c.buf
}

// appendLower appends strings.ToLower(s) (unicode.ToLower of each
// character; an invalid byte becomes U+FFFD) to b. Runs of characters
// that stay the same are copied whole.
func appendLower(b []byte, s string) []byte {
	start := 0 // s[start:i] is to be copied
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c < utf8.RuneSelf:
			if 'A' <= c && c <= 'Z' {
				b = append(append(b, s[start:i]...), c+'a'-'A')
				start = i + 1
			}
			i++
		case c >= 0xE3 && c <= 0xE9 && i+2 < len(s) && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80:
			// U+3000–U+9FFF: CJK symbols, kana and kanji have no case.
			i += 3
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if l := unicode.ToLower(r); l != r || r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(append(b, s[start:i]...), l)
				start = i + size
			}
			i += size
		}
	}
	return append(b, s[start:]...)
}

// ctxWord is a context word and the kinds (bits) it gives.
type ctxWord struct {
	word  string
	kinds uint8
}

// The context words are found through their first three bytes: ctxStart
// marks the bytes a word starts with, ctxCJK the characters of
// U+3000–U+9FFF, and ctxSlots is an open-addressing table from the three
// bytes to the words in ctxWords that start with them.
var (
	ctxStart [256]bool
	ctxCJK   [(0xA000 - 0x3000) / 64]uint64
	ctxSlots [256]struct {
		key    uint32 // 0: empty
		lo, hi uint8  // ctxWords[lo:hi]
	}
	ctxWords []ctxWord
)

func ctxHash(key uint32) uint32 { return key * 0x9E3779B1 >> 24 }

func init() {
	var keys []uint32
	byKey := map[uint32][]ctxWord{}
	for k, words := range contextWords {
		for _, w := range words {
			if len(w) < 3 {
				panic("pii: context word shorter than three bytes: " + w)
			}
			key := uint32(w[0])<<16 | uint32(w[1])<<8 | uint32(w[2])
			ws := byKey[key]
			if ws == nil {
				keys = append(keys, key)
			}
			i := slices.IndexFunc(ws, func(cw ctxWord) bool { return cw.word == w })
			if i < 0 {
				ws = append(ws, ctxWord{w, 0})
				i = len(ws) - 1
			}
			ws[i].kinds |= 1 << k
			byKey[key] = ws
			ctxStart[w[0]] = true
			if r, _ := utf8.DecodeRuneInString(w); r >= 0x3000 && r < 0xA000 {
				ctxCJK[(r-0x3000)/64] |= 1 << ((r - 0x3000) % 64)
			}
		}
	}
	for _, key := range keys {
		h := ctxHash(key)
		for ctxSlots[h].key != 0 {
			h = (h + 1) % uint32(len(ctxSlots))
		}
		lo := len(ctxWords)
		ctxWords = append(ctxWords, byKey[key]...)
		ctxSlots[h].key, ctxSlots[h].lo, ctxSlots[h].hi = key, uint8(lo), uint8(len(ctxWords))
	}
}

// contextKinds reports, as bits, the kinds whose context words lower (a
// lower-cased row, valid UTF-8) contains, in one pass over it.
func contextKinds(lower []byte) uint8 {
	const all = 1<<len(contextWords) - 1
	var has uint8
	for i := 0; i+3 <= len(lower); i++ {
		c := lower[i]
		if !ctxStart[c] {
			continue
		}
		if c >= 0xE3 && c <= 0xE9 {
			// U+3000–U+9FFF; not a word's first character: skip it
			// whole.
			if r := rune(c&0x0F)<<12 | rune(lower[i+1]&0x3F)<<6 | rune(lower[i+2]&0x3F) - 0x3000; ctxCJK[r/64]&(1<<(r%64)) == 0 {
				i += 2
				continue
			}
		}
		key := uint32(c)<<16 | uint32(lower[i+1])<<8 | uint32(lower[i+2])
		for h := ctxHash(key); ctxSlots[h].key != 0; h = (h + 1) % uint32(len(ctxSlots)) {
			if ctxSlots[h].key != key {
				continue
			}
			for _, w := range ctxWords[ctxSlots[h].lo:ctxSlots[h].hi] {
				if has&w.kinds != w.kinds && hasPrefix(lower[i:], w.word) {
					if has |= w.kinds; has == all {
						return has
					}
				}
			}
			break
		}
	}
	return has
}

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

// cell runs every detector on one normalised cell.
func (sc *Scanner) cell(c string, r *row) {
	ctx := r.ctx
	digits, colon, dot := 0, false, false
	for i := 0; i < len(c); i++ {
		switch b := c[i]; {
		case b >= '0' && b <= '9':
			digits++
		case b == ':':
			colon = true
		case b == '.':
			dot = true
		}
	}
	if colon && strings.Contains(c, "://") || dot && strings.Contains(c, "www.") {
		c = urlRe.ReplaceAllString(c, " ")
		digits = countDigits(c)
	}
	// Masks are made only for samples.
	if digits >= 12 {
		valid, invalid := twelveDigits(c)
		sc.badTwelve += invalid
		for _, m := range valid {
			if !ctx.is(ctxMyNumber) && ctx.is(ctxOtherNumber) {
				// A 12-digit number labelled as something else (a
				// tracking, order or account number) passes the check
				// digit by chance one time in eleven.
				continue
			}
			sc.myNums[m] = true
			if ctx.is(ctxMyNumber) {
				sc.sum.MyNumberContext = true
			}
			mask := ""
			if r.wantSample(kMyNumber) {
				mask = "****-****-**" + m[10:]
			}
			r.note(kMyNumber, mask)
		}
		sc.digits = cards(c, sc.digits, func(m []byte) {
			if !sc.cards[string(m)] {
				sc.cards[string(m)] = true
			}
			mask := ""
			if r.wantSample(kCard) {
				mask = "****-****-****-" + string(m[len(m)-4:])
			}
			r.note(kCard, mask)
		})
	}
	if digits >= 9 {
		sc.digits = phones(c, sc.digits, func(d []byte) {
			mask := ""
			if r.wantSample(kPhone) {
				mask = maskPhone(d)
			}
			r.note(kPhone, mask)
		})
	}
	if digits >= 7 {
		if m := postal(c, ctx); m != "" {
			r.note(kPostal, m)
		}
	}
	if digits >= 4 {
		if m := birthDate(c, ctx); m != "" {
			r.note(kBirth, m)
		}
		if ctx.is(ctxID) {
			if m := contextID(c); m != "" {
				r.note(kID, m)
			}
		}
	}
	if strings.IndexByte(c, '@') > 0 {
		for _, m := range emailRe.FindAllString(c, 4) {
			r.note(kEmail, maskEmail(m))
		}
	}
	if hasPlace(c) {
		if m := address(c); m != "" {
			r.note(kAddress, m)
		}
	}
}

// names looks for a person's name in a cell. Row calls it only once the
// row has another kind of identifier: a name alone makes no record, and
// name matching (romaji above all) is the costliest detector.
func (sc *Scanner) names(c string, r *row) {
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			if m := sc.name.find(c, func() bool { return r.ctx.is(ctxName) }); m != "" {
				r.notePair(kName, m, " **")
			}
			return
		}
	}
}

var nameContext = []string{"氏名", "名前", "患者", "様", "さん", "殿", "name"}

var myNumberContext = []string{"個人番号", "マイナンバー", "my number", "mynumber"}

var emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

func maskEmail(m string) string {
	at := strings.IndexByte(m, '@')
	return m[:1] + "***" + m[at:]
}

// digitRuns calls fn with each number written in s as a run of digits
// with single separators (seps: hyphen, space, dot, parentheses) between
// groups, as its digits, if it stands alone (no digit, letter or
// separator-digit right before or after it). The digits are written to
// buf, which it returns, and are fn's only for the call.
func digitRuns(s, seps string, buf []byte, fn func(d []byte)) []byte {
	for i := 0; i < len(s); {
		if !isDigitB(s[i]) {
			i++
			continue
		}
		// Not preceded by a letter, digit, or "digit-".
		if i > 0 && (isAlnumB(s[i-1]) || s[i-1] == '+' && strings.IndexByte(seps, '+') < 0) {
			for i < len(s) && isAlnumB(s[i]) {
				i++
			}
			continue
		}
		j := i
		d := buf[:0]
		for j < len(s) {
			if isDigitB(s[j]) {
				d = append(d, s[j])
				j++
				continue
			}
			if strings.IndexByte(seps, s[j]) >= 0 && j+1 < len(s) && isDigitB(s[j+1]) {
				j++
				continue
			}
			break
		}
		buf = d
		if j < len(s) && isLetterB(s[j]) {
			i = j
			continue
		}
		fn(d)
		i = j
	}
	return buf
}

func isDigitB(c byte) bool  { return c >= '0' && c <= '9' }
func isLetterB(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnumB(c byte) bool  { return isDigitB(c) || isLetterB(c) }

// digitText is what the number checks read: a string, or the bytes
// digitRuns gathers.
type digitText interface{ ~string | ~[]byte }

// ValidMyNumber checks the check digit of a 12-digit individual number
// (the formula of the Ordinance on the My Number Act, art. 5): with P(n)
// the n-th digit counted from the right excluding the check digit, and
// Q(n) = n+1 for n ≤ 6 and n−5 for n ≥ 7, the check digit is 0 if
// Σ P(n)Q(n) mod 11 ≤ 1, else 11 − that remainder.
func ValidMyNumber(d string) bool { return validMyNumber(d) }

func validMyNumber[T digitText](d T) bool {
	if len(d) != 12 {
		return false
	}
	sum := 0
	for n := 1; n <= 11; n++ {
		c := d[11-n]
		if c < '0' || c > '9' {
			return false
		}
		q := n + 1
		if n >= 7 {
			q = n - 5
		}
		sum += int(c-'0') * q
	}
	r := sum % 11
	check := 0
	if r > 1 {
		check = 11 - r
	}
	if d[11] < '0' || d[11] > '9' {
		return false
	}
	if allSame(d) {
		return false // 000000000000 and the like
	}
	return int(d[11]-'0') == check
}

// allSame: every byte of d is its first.
func allSame[T digitText](d T) bool {
	for i := 1; i < len(d); i++ {
		if d[i] != d[0] {
			return false
		}
	}
	return true
}

// numbers calls found with each number in c that ok accepts, written with
// the separators seps; only if there are none, spaces are taken as
// separators too (sepsSpace: spaced groups are common, but a space also
// separates two numbers). buf is as for digitRuns.
func numbers(c, seps, sepsSpace string, buf []byte, ok func([]byte) bool, found func(d []byte)) []byte {
	n := 0
	buf = digitRuns(c, seps, buf, func(d []byte) {
		if ok(d) {
			n++
			found(d)
		}
	})
	if n == 0 && strings.IndexByte(c, ' ') >= 0 {
		buf = digitRuns(c, sepsSpace, buf, func(d []byte) {
			if ok(d) {
				found(d)
			}
		})
	}
	return buf
}

// Luhn checks a card number's check digit.
func Luhn(d string) bool { return luhn(d) }

func luhn[T digitText](d T) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// plausibleCard: a known issuer prefix with a length it issues.
func plausibleCard[T digitText](d T) bool {
	n := len(d)
	p := func(s string) bool {
		if len(d) < len(s) {
			return false
		}
		for i := 0; i < len(s); i++ {
			if d[i] != s[i] {
				return false
			}
		}
		return true
	}
	p2 := atoi(d[:2])
	p4 := atoi(d[:4])
	switch {
	case p("4"):
		// Visa; its 13-digit numbers are no longer issued, and JAN codes
		// (13 digits from 45 or 49) would pass for them.
		return n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return n == 16 // Mastercard
	case p("34"), p("37"):
		return n == 15 // American Express
	case p4 >= 3528 && p4 <= 3589:
		return n >= 16 && n <= 19 // JCB
	case p("36"), p("38"), p("300"), p("301"), p("302"), p("303"), p("304"), p("305"), p("39"):
		return n >= 14 && n <= 19 // Diners Club
	case p("6011"), p("65"), p4 >= 6440 && p4 <= 6499:
		return n >= 16 && n <= 19 // Discover
	case p("62"):
		return n >= 16 && n <= 19 // UnionPay
	}
	return false
}

func atoi[T digitText](s T) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func cards(c string, buf []byte, found func(d []byte)) []byte {
	return numbers(c, "-", "- ", buf, func(d []byte) bool {
		return len(d) >= 13 && len(d) <= 19 && plausibleCard(d) && luhn(d) && !allSame(d)
	}, found)
}

// plus81 writes +81 as the leading 0 it stands for.
var plus81 = strings.NewReplacer("+81 (0)", "0", "+81(0)", "0", "+81-", "0", "+81 ", "0", "+81", "0")

// phones finds Japanese phone numbers: mobile and IP (070/080/090/050/
// 020/060, 11 digits), fixed lines and free dial (10 digits from 0), and
// the same with +81 instead of the leading 0, and calls found with the
// digits of each.
func phones(c string, buf []byte, found func(d []byte)) []byte {
	if strings.Contains(c, "+81") {
		c = plus81.Replace(c)
	}
	return numbers(c, "-().", "-(). ", buf, isPhone, found)
}

func isPhone(d []byte) bool {
	if len(d) < 10 || len(d) > 11 || d[0] != '0' || d[1] == '0' {
		return false
	}
	// 070, 080, 090, 050, 020, 060 (and 0800) start mobile, IP and
	// free-dial numbers of eleven digits.
	mobile := d[2] == '0' && (d[1] == '7' || d[1] == '8' || d[1] == '9' || d[1] == '5' || d[1] == '2' || d[1] == '6')
	if len(d) == 11 {
		return mobile
	}
	return !mobile
}

func maskPhone(d []byte) string {
	if d[2] == '0' {
		return string(d[:3]) + "-****-" + string(d[len(d)-4:])
	}
	return string(d[:2]) + "-****-" + string(d[len(d)-4:])
}

var (
	postalMarkRe = regexp.MustCompile(`〒\s?(\d{3})-?(\d{4})\b`)
)

// postal finds 〒123-4567, or 123-4567 with context (郵便, zip, postal, or
// a prefecture right after it).
var postalCtx = []string{"郵便", "〒", "zip", "postal", "post code", "postcode"}

func postal(c string, ctx *rowContext) string {
	if strings.Contains(c, "〒") {
		if m := postalMarkRe.FindStringSubmatch(c); m != nil {
			return "〒" + m[1] + "-****"
		}
	}
	// ddd-dddd standing alone (no digit or hyphen on either side),
	// looked for at each hyphen.
	for h := strings.IndexByte(c, '-'); h >= 0; {
		if i := h - 3; i >= 0 && i+8 <= len(c) && allDigits(c[i:i+3]) && allDigits(c[i+4:i+8]) &&
			!(i > 0 && (isDigitB(c[i-1]) || c[i-1] == '-') || i+8 < len(c) && (isDigitB(c[i+8]) || c[i+8] == '-')) {
			if ctx.is(ctxPostal) || prefectureIndex(strings.TrimLeft(c[i+8:], " ")) >= 0 {
				return "〒" + c[i:i+3] + "-****"
			}
		}
		next := strings.IndexByte(c[h+1:], '-')
		if next < 0 {
			break
		}
		h += 1 + next
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigitB(s[i]) {
			return false
		}
	}
	return true
}

var prefectures = []string{"北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県",
	"埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県",
	"愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県",
	"山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県"}

// prefectureIndex is the index in prefectures of the one s starts with, or
// -1. (No prefecture's name starts another's.)
func prefectureIndex(s string) int {
	if len(s) < 6 {
		return -1
	}
	for _, i := range prefecturesByFirst[s[:3]] {
		if strings.HasPrefix(s, prefectures[i]) {
			return i
		}
	}
	return -1
}

// prefecturesByFirst indexes prefectures by their first character;
// prefectureMasks are their masked forms.
var prefecturesByFirst, prefectureMasks = func() (map[string][]int, []string) {
	by, masks := map[string][]int{}, make([]string, len(prefectures))
	for i, p := range prefectures {
		by[p[:3]] = append(by[p[:3]], i)
		masks[i] = p + "***"
	}
	return by, masks
}()

var (
	// A prefecture followed, within a dozen characters, by a city, ward,
	// district, town or village.
	addrPrefRe = regexp.MustCompile(`(北海道|東京都|京都府|大阪府|[\p{Han}]{2,3}県)\s?[\p{Han}\p{Katakana}\p{Hiragana}ヶケ]{1,10}?[市区郡町村]`)
	// Without a prefecture: a city or ward, a town and a block number.
	addrCityRe = regexp.MustCompile(`[\p{Han}\p{Katakana}ヶケ]{1,6}[市区][\p{Han}\p{Katakana}\p{Hiragana}ヶケ]{1,10}\s?\d{1,4}(丁目|番地?|-\d)`)
)

// address finds a postal address; masked to its prefecture or city.
func address(c string) string {
	if m := addrPrefRe.FindStringSubmatch(c); m != nil {
		p := m[1]
		if strings.HasSuffix(p, "県") && !slices.Contains(prefectures, p) {
			return ""
		}
		return p + "***"
	}
	if m := addrCityRe.FindString(c); m != "" {
		r := []rune(m)
		return string(r[:1]) + "***"
	}
	return ""
}

var (
	seirekiRe = regexp.MustCompile(`(?:^|[^\d])((?:19|20)\d{2})\s?[年/.\-]\s?(\d{1,2})\s?[月/.\-]\s?(\d{1,2})\s?日?`)
	warekiRe  = regexp.MustCompile(`(明治|大正|昭和|平成|令和|[MTSHR])\s?(元|\d{1,2})\s?[年./\-]\s?(\d{1,2})\s?[月./\-]\s?(\d{1,2})\s?日?`)
	birthCtx  = []string{"生年月日", "誕生日", "生まれ", "dob", "d.o.b", "birth", "生年", "bday"}
)

// birthDate finds a date of birth: a date (西暦 or 和暦) with context
// (生年月日, DOB, …) in the row, or followed by 生 (昭和55年3月4日生), or
// a cell that is only a date before 2000 (bareOldDate).
func birthDate(c string, ctx *rowContext) string {
	if !strings.Contains(c, "生") && !ctx.is(ctxBirth) {
		m := bareOldDate(c)
		ctx.bareBirth = ctx.bareBirth || m != ""
		return m
	}
	m, ok := parseDate(c)
	if !ok {
		if m = yearLastDate(c); m == "" {
			return ""
		}
	}
	if strings.Contains(c, "日生") || strings.HasSuffix(c, "生") || ctx.is(ctxBirth) {
		return m
	}
	return ""
}

// parseDate finds a plausible date in c and returns it masked.
func parseDate(c string) (string, bool) {
	if mayHaveEra(c) {
		if m, ok := parseWareki(c); ok {
			return m, true
		}
	}
	// Dates are read by hand (a fraction of the regular expressions'
	// cost); seirekiRe and warekiRe stay as the definitions the fuzzers
	// hold the readers to.
	if y, mo, d, ok := findSeireki(c); ok {
		if mo >= 1 && mo <= 12 && d >= 1 && d <= 31 {
			return centuryMask(y), true
		}
	}
	return "", false
}

func parseWareki(c string) (string, bool) {
	if era, mo, d, ok := findWareki(c); ok {
		if mo >= 1 && mo <= 12 && d >= 1 && d <= 31 {
			for i, e := range eras {
				if e == era {
					return eraMasks[i], true
				}
			}
			return era + "**年**月**日", true
		}
	}
	return "", false
}

// centuryMask is a date of birth in year y (19xx or 20xx) masked.
func centuryMask(y string) string {
	switch y[:2] {
	case "19":
		return "19**年**月**日"
	case "20":
		return "20**年**月**日"
	}
	return y[:2] + "**年**月**日"
}

// eraMasks are the masked dates of birth of each era in eras.
var eraMasks = func() []string {
	m := make([]string, len(eras))
	for i, e := range eras {
		m[i] = e + "**年**月**日"
	}
	return m
}()

// mayHaveEra is strings.ContainsAny(c, "MTSHR明大昭平令"): c has an era's
// initial or the first character of its name.
func mayHaveEra(c string) bool {
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case 'M', 'T', 'S', 'H', 'R':
			return true
		case 0xE4, 0xE5, 0xE6:
			if hasAt(c, i, "明") || hasAt(c, i, "大") || hasAt(c, i, "昭") || hasAt(c, i, "平") || hasAt(c, i, "令") {
				return true
			}
		}
	}
	return false
}

// findSeireki is seirekiRe.FindStringSubmatch: the leftmost year 19xx or
// 20xx, not preceded by a digit, then month and day with the separators
// 年/./-/月 and optional single white space, as numbers.
func findSeireki(c string) (year string, month, day int, ok bool) {
	for i := 0; i+4 <= len(c); i++ {
		if !(c[i] == '1' && c[i+1] == '9' || c[i] == '2' && c[i+1] == '0') || !isDigitB(c[i+2]) || !isDigitB(c[i+3]) {
			continue
		}
		if i > 0 && isDigitB(c[i-1]) {
			continue
		}
		if mo, d, ok := dateTail(c, i+4); ok {
			return c[i : i+4], mo, d, true
		}
	}
	return "", 0, 0, false
}

var eras = []string{"明治", "大正", "昭和", "平成", "令和", "M", "T", "S", "H", "R"}

// findWareki is warekiRe.FindStringSubmatch: the leftmost era (name or
// initial), its year (元 or one or two digits), then month and day as in
// findSeireki.
func findWareki(c string) (era string, month, day int, ok bool) {
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case 'M', 'T', 'S', 'H', 'R', 0xE4, 0xE5, 0xE6: // the eras' first bytes
		default:
			continue
		}
		for _, e := range eras {
			if !strings.HasPrefix(c[i:], e) {
				continue
			}
			j := skipSpace(c, i+len(e))
			k := j
			if strings.HasPrefix(c[j:], "元") {
				k = j + len("元")
			} else if k = digits2(c, j); k < 0 {
				break
			}
			if mo, d, ok := dateTail(c, k); ok {
				return e, mo, d, true
			}
			break
		}
	}
	return "", 0, 0, false
}

// dateTail reads what follows a year at c[j:] in both expressions:
// \s?[年/.-]\s?(\d{1,2})\s?[月/.-]\s?(\d{1,2}).
func dateTail(c string, j int) (month, day int, ok bool) {
	j = skipSpace(c, j)
	n, ok := dateSep(c, j, "年")
	if !ok {
		return 0, 0, false
	}
	j = skipSpace(c, j+n)
	k := digits2(c, j)
	if k < 0 {
		return 0, 0, false
	}
	mo := atoi(c[j:k])
	j = skipSpace(c, k)
	if n, ok = dateSep(c, j, "月"); !ok {
		return 0, 0, false
	}
	j = skipSpace(c, j+n)
	k = j
	for k < len(c) && k < j+2 && isDigitB(c[k]) {
		k++
	}
	if k == j {
		return 0, 0, false
	}
	return mo, atoi(c[j:k]), true
}

// digits2 is (\d{1,2}) where a separator must follow: the end of one or
// two digits at c[j:], or -1 if there are none or more than two.
func digits2(c string, j int) int {
	k := j
	for k < len(c) && k < j+2 && isDigitB(c[k]) {
		k++
	}
	if k == j || k < len(c) && isDigitB(c[k]) {
		return -1
	}
	return k
}

// skipSpace skips one character of \s (RE2: tab, LF, FF, CR, space).
func skipSpace(c string, j int) int {
	if j < len(c) {
		switch c[j] {
		case '\t', '\n', '\f', '\r', ' ':
			return j + 1
		}
	}
	return j
}

// dateSep reports whether a date separator ('/', '.', '-' or kanji)
// starts at c[j], and its length.
func dateSep(c string, j int, kanji string) (int, bool) {
	if j >= len(c) {
		return 0, false
	}
	switch c[j] {
	case '/', '.', '-':
		return 1, true
	}
	if strings.HasPrefix(c[j:], kanji) {
		return len(kanji), true
	}
	return 0, false
}

// idWords precede insurance, patient and staff numbers.
var idWords = []string{"被保険者番号", "保険者番号", "被保険者証", "保険証番号", "記号番号", "患者id", "患者番号", "患者コード",
	"カルテ番号", "カルテno", "診察券番号", "受診者番号", "社員番号", "社員id", "職員番号", "従業員番号", "学籍番号", "会員番号",
	"顧客番号", "受給者番号", "基礎年金番号", "年金番号", "免許証番号", "旅券番号", "パスポート番号", "patient id", "patient no",
	"employee id", "employee no", "staff id", "member id", "mrn",
	"社員no", "社員コード", "従業員コード", "従業員id", "職員id", "職員コード", "会員id", "会員no", "会員コード", "顧客id", "顧客コード", "顧客no",
	"患者no", "利用者番号", "利用者id", "受給者証番号"}

var idValueRe = regexp.MustCompile(`^\s*[:：#=]?\s*(?:no\.?\s*)?([A-Za-z0-9][A-Za-z0-9\-]{2,19})`)

// contextID finds an ID number right after one of idWords.
func contextID(c string) string {
	lc := strings.ToLower(c)
	for _, w := range idWords {
		i := strings.Index(lc, w)
		if i < 0 {
			continue
		}
		end := i + len(w)
		if lc != c {
			end = lowerOffset(c, end)
		}
		if m := idValueRe.FindStringSubmatch(c[end:]); m != nil && strings.ContainsAny(m[1], "0123456789") {
			return maskID(m[1])
		}
	}
	return ""
}

// lowerOffset is the offset in s of offset n in strings.ToLower(s): the
// two differ where lower-casing changes a rune's length (Ⱥ, 2 bytes,
// becomes ⱥ, 3; İ, 2, becomes i) or replaces an invalid byte.
func lowerOffset(s string, n int) int {
	j, l := 0, 0
	for l < n && j < len(s) {
		r, size := utf8.DecodeRuneInString(s[j:])
		l += utf8.RuneLen(unicode.ToLower(r))
		j += size
	}
	return j
}

func maskID(v string) string {
	if len(v) <= 3 {
		return "***"
	}
	return v[:2] + strings.Repeat("*", min(len(v)-2, 8))
}

// headerKinds recognises a header row: cells that name a kind. It
// returns the kind of each column (an index into Kinds, or -1), or nil if
// no cell names one.
func headerKinds(cells []string) []int8 {
	var h []int8
	n := 0
	for _, c := range cells {
		// Column names carry no numbers: a row with a phone number or
		// a date in it is data, whatever words it has.
		if countDigits(c) >= 4 {
			return nil
		}
		if c != "" {
			n++
		}
	}
	if n < 2 {
		return nil // a title (患者一覧表) above the table, not its columns
	}
	for i, c := range cells {
		if c == "" || utf8.RuneCountInString(c) > 24 {
			continue
		}
		if k, ok := headerKind(c); ok {
			if h == nil {
				h = make([]int8, len(cells))
				for j := range h {
					h[j] = -1
				}
			}
			h[i] = int8(k)
		}
	}
	return h
}

// namedColumns counts the columns h (from headerKinds) names.
func namedColumns(h []int8) int {
	n := 0
	for _, k := range h {
		if k >= 0 {
			n++
		}
	}
	return n
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigitB(s[i]) {
			n++
		}
	}
	return n
}

var headerWords = []struct {
	kind  int
	words []string
	exact []string
}{
	{kMyNumber, []string{"個人番号", "マイナンバー", "my number"}, nil},
	{kID, idWords, []string{"id", "no", "番号"}},
	{kBirth, []string{"生年月日", "誕生日", "birth", "dob", "生年", "bday"}, nil},
	{kPostal, []string{"郵便番号", "〒", "zip", "postal", "postcode"}, nil},
	{kAddress, []string{"住所", "所在地", "address", "現住所", "居所", "番地", "市区町村"}, nil},
	{kEmail, []string{"メール", "mail", "e-mail"}, nil},
	{kPhone, []string{"電話", "tel", "携帯", "phone", "mobile", "連絡先", "fax"}, nil},
	{kName, []string{"氏名", "名前", "患者名", "顧客名", "社員名", "職員名", "利用者名", "受診者名", "お名前",
		"宛名", "会員名", "契約者名", "加入者名", "被保険者名", "申込者名", "参加者名", "受講者名", "入居者名", "保護者名", "生徒名", "児童名", "学生名",
		"kana", "furigana", "フリガナ", "ふりがな", "カナ", "full name", "fullname", "given name", "family name", "first name", "last name", "surname"},
		[]string{"姓", "名", "name", "姓名", "名字", "苗字", "fn", "患者", "契約者", "担当者", "申込者", "利用者", "受診者", "入居者", "参加者", "保護者"}},
}

func headerKind(c string) (int, bool) {
	lc := strings.ToLower(strings.Trim(c, " :：*※()（）[]【】"))
	if strings.Contains(lc, " ") && !strings.ContainsFunc(lc, func(r rune) bool { return r >= 'a' && r <= 'z' }) {
		lc = strings.ReplaceAll(lc, " ", "") // 氏　名, spaced to line up
	}
	for _, hw := range headerWords {
		for _, w := range hw.exact {
			if lc == w {
				if hw.kind == kID {
					return 0, false // too vague alone
				}
				return hw.kind, true
			}
		}
		for _, w := range hw.words {
			if strings.Contains(lc, w) {
				return hw.kind, true
			}
		}
	}
	return 0, false
}

// columnValue decides whether a cell under a header of kind k (an index
// into Kinds) is such a value, and returns it masked (as a+b; for some
// kinds only if mask is set).
func columnValue(k int, c string, mask bool) (a, b string, ok bool) {
	switch k {
	case kName:
		// Two to thirty characters (counted only where the length in
		// bytes leaves a doubt).
		if len(c) <= 4*2 || len(c) > 30 {
			if n := utf8.RuneCountInString(c); n < 2 || n > 30 {
				return "", "", false
			}
		}
		space := -1
		for i := 0; i < len(c); i++ {
			switch b := c[i]; {
			case b >= '0' && b <= '9', b == '@':
				return "", "", false
			case space < 0 && (b == ' ' || b == 0xE3 && hasAt(c, i, "\u3000")):
				space = i
			}
		}
		// The column says it is a name: the mask keeps the family name
		// when a space marks it, else the first character.
		if space > 0 {
			return c[:space], " **", true
		}
		return firstRunes(c, 1), " **", true
	case kPhone:
		n, d := digitEnds(c)
		if n >= 9 && n <= 13 {
			if !mask {
				return "", "", true
			}
			return string(d[:3]) + "-****-" + string(d[3:]), "", true
		}
	case kBirth:
		if m, ok := parseDate(c); ok {
			return m, "", true
		}
		if m := yearLastDate(c); m != "" {
			return m, "", true
		}
		n, d := digitEnds(c)
		if n == 8 && (d[0] == '1' && d[1] == '9' || d[0] == '2' && d[1] == '0') {
			return centuryMask(string(d[:2])), "", true
		}
		// An Excel date serial (1900 system): 1920–2030.
		if n == 5 && len(c) == 5 && atoi(c) >= 7300 && atoi(c) <= 47500 {
			return "****年**月**日", "", true
		}
	case kAddress:
		if (len(c) >= 4*4 || utf8.RuneCountInString(c) >= 4) && strings.IndexByte(c, '@') < 0 {
			if p := prefectureIndex(c); p >= 0 {
				return prefectureMasks[p], "", true
			}
			return firstRunes(c, 2), "***", true
		}
	case kPostal:
		n, d := digitEnds(c)
		if n == 7 {
			return "〒" + string(d[:3]) + "-****", "", true
		}
	case kEmail:
		if m := emailRe.FindString(c); m != "" {
			return maskEmail(m), "", true
		}
	case kMyNumber:
		d := onlyDigits(c)
		if ValidMyNumber(d) {
			return "****-****-**" + d[10:], "", true
		}
	case kID:
		if len(c) >= 3 && len(c) <= 24 && countDigits(c) > 0 && strings.IndexByte(c, ' ') < 0 && strings.IndexByte(c, '@') < 0 {
			if !mask {
				return "", "", true
			}
			return maskID(c), "", true
		}
	}
	return "", "", false
}

// firstRunes is string([]rune(c)[:n]) (c has n characters or more): a
// substring where they are valid UTF-8.
func firstRunes(c string, n int) string {
	j := 0
	for range n {
		r, size := utf8.DecodeRuneInString(c[j:])
		if r == utf8.RuneError && size == 1 {
			return string([]rune(c)[:n])
		}
		j += size
	}
	return c[:j]
}

// digitEnds counts the digits in s and returns the first three and the
// last four of them (d[:3] and d[3:], when there are seven or more).
func digitEnds(s string) (n int, d [7]byte) {
	var last [4]byte
	for i := 0; i < len(s); i++ {
		if b := s[i]; isDigitB(b) {
			if n < 3 {
				d[n] = b
			}
			last[n%4] = b
			n++
		}
	}
	for i := max(n-4, 0); i < n; i++ {
		d[min(n, 3)+i-max(n-4, 0)] = last[i%4]
	}
	return n, d
}

func onlyDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isDigitB(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
