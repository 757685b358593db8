// Package piiref is a frozen copy of package pii, the reference that
// FuzzPiiEquivalent holds the faster package to. It goes once the two
// have been compared.
package piiref

import (
	"hash/fnv"
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
	sum      Summary
	myNums   map[string]bool
	cards    map[string]bool
	records  map[uint64]bool
	header   map[int]Kind
	headerOK bool
	rows     int
}

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
	s := sc.sum
	s.MyNumbers, s.Cards = len(sc.myNums), len(sc.cards)
	return s
}

// Row scans one row. In a table, a row of column names (氏名, 電話番号,
// 生年月日, …) among the first five makes the cells below count as that
// kind when they look like one.
//
// Cells longer than maxCell are scanned in pieces of that size (cut at a
// space where there is one): a person record is never that long, and the
// detectors then stay linear in small steps.
func (sc *Scanner) Row(cells []string, table bool) {
	for i, c := range cells {
		if len(c) > maxCell {
			rest := append([]string(nil), cells[i+1:]...)
			sc.Row(append(append([]string(nil), cells[:i]...), c[:cut(c)]), table)
			sc.Row(append([]string{c[cut(c):]}, rest...), table)
			return
		}
	}
	sc.rows++
	var norm []string
	if table && !sc.headerOK && sc.rows <= 5 {
		norm = normalizeAll(cells)
		if h := headerKinds(norm); len(h) > 0 {
			sc.header, sc.headerOK = h, true
			return
		}
	}
	if sc.header == nil && !mayBeRecord(cells) {
		return
	}
	if norm == nil {
		norm = normalizeAll(cells)
	}
	var kinds [numKinds]bool
	nk := 0
	note := func(k Kind, masked string) {
		if sc.sum.Found == nil {
			sc.sum.Found = map[Kind]int{}
		}
		sc.sum.Found[k]++
		i := slices.Index(Kinds, k)
		if !kinds[i] {
			kinds[i] = true
			nk++
		}
		n := 0
		for _, s := range sc.sum.Samples {
			if s.Kind == k {
				n++
				if s.Masked == masked {
					n = maxSamples
					break
				}
			}
		}
		if n < maxSamples && masked != "" {
			sc.sum.Samples = append(sc.sum.Samples, Sample{k, masked})
		}
	}
	line := strings.Join(norm, " ")
	ctx := rowContext{line: line}
	for i, c := range norm {
		if c == "" {
			continue
		}
		if k, ok := sc.header[i]; ok && k == MyNumber {
			// The column says so: context for the number below.
			ctx.done[ctxMyNumber], ctx.has[ctxMyNumber] = true, true
		}
		if k, ok := sc.header[i]; ok && k != MyNumber && k != Card {
			if m := columnValue(k, c); m != "" {
				note(k, m)
				continue
			}
		}
		sc.cell(c, &ctx, note)
	}
	if nk >= 1 && !kinds[slices.Index(Kinds, Name)] {
		for i, c := range norm {
			if c == "" {
				continue
			}
			if k, ok := sc.header[i]; ok && k != MyNumber && k != Card && columnValue(k, c) != "" {
				continue // counted as its column's kind above
			}
			sc.names(c, &ctx, note)
		}
	}
	if nk >= 2 {
		// The key ignores spacing and separators, so that the same
		// person in a CSV row, a table cell row, the plain text and the
		// HTML of one message is one record.
		h := fnv.New64a()
		h.Write([]byte(strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', ',', ';', '|', '"', '\'':
				return -1
			}
			return r
		}, line)))
		key := h.Sum64()
		if !sc.records[key] {
			sc.records[key] = true
			sc.sum.Records++
			sc.sum.RecordKeys = append(sc.sum.RecordKeys, key)
			if sc.sum.RecordKinds == nil {
				sc.sum.RecordKinds = map[Kind]int{}
			}
			for i, ok := range kinds {
				if ok {
					sc.sum.RecordKinds[Kinds[i]]++
				}
			}
		}
	}
}

func normalizeAll(cells []string) []string {
	norm := make([]string, len(cells))
	for i, c := range cells {
		norm[i] = normalize(c)
	}
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
			if b := c[i]; b >= '0' && b <= '9' || b == '@' {
				return true
			}
		}
		for _, r := range c {
			switch {
			case r >= '０' && r <= '９', r == '＠', r == '市', r == '区', r == '町', r == '村', r == '郡':
				return true
			}
		}
	}
	return false
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
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.TrimSpace(s)
	}
	s = textnorm.NFKC(s)
	s = strings.TrimSpace(s)
	if hasDash(s) {
		s = dashes.Replace(s)
	}
	if strings.Contains(s, "ー") {
		// ー between digits is a dash (090ー1234ー5678).
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

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// hasPlace: s names a city, ward, town, village or district.
func hasPlace(s string) bool {
	for _, r := range s {
		if r == '市' || r == '区' || r == '町' || r == '村' || r == '郡' {
			return true
		}
	}
	return false
}

// hasDash reports whether s has one of the dashes folded into '-'.
func hasDash(s string) bool {
	for _, r := range s {
		if r >= 0x2010 && r <= 0x2015 || r == 0x2212 || r == 0xFF70 || r == 0xFF0D {
			return true
		}
	}
	return false
}

var urlRe = regexp.MustCompile(`(?i)\b(?:https?|ftp)://\S+|\bwww\.\S+`)

// rowContext says which context words the row holds, each looked up the
// first time a detector asks.
type rowContext struct {
	line  string
	lower string
	done  [6]bool
	has   [6]bool
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

func (c *rowContext) is(k int) bool {
	if !c.done[k] {
		if c.lower == "" {
			c.lower = textnorm.Lower(c.line)
		}
		c.done[k], c.has[k] = true, hasAny(c.lower, contextWords[k])
	}
	return c.has[k]
}

// cell runs every detector on one normalised cell.
func (sc *Scanner) cell(c string, ctx *rowContext, note func(Kind, string)) {
	if strings.Contains(c, "://") || strings.Contains(c, "www.") {
		c = urlRe.ReplaceAllString(c, " ")
	}
	digits := 0
	for i := 0; i < len(c); i++ {
		if c[i] >= '0' && c[i] <= '9' {
			digits++
		}
	}
	if digits >= 12 {
		for _, m := range myNumbers(c) {
			if !ctx.is(ctxMyNumber) && ctx.is(ctxOtherNumber) {
				// A 12-digit number labelled as something else (a
				// tracking, order or account number) passes the check
				// digit by chance one time in eleven.
				continue
			}
			if !sc.myNums[m] {
				sc.myNums[m] = true
			}
			if ctx.is(ctxMyNumber) {
				sc.sum.MyNumberContext = true
			}
			note(MyNumber, "****-****-**"+m[10:])
		}
		for _, m := range cards(c) {
			sc.cards[m] = true
			note(Card, "****-****-****-"+m[len(m)-4:])
		}
	}
	if digits >= 9 {
		for _, m := range phones(c) {
			note(Phone, m)
		}
	}
	if digits >= 7 {
		if m := postal(c, ctx); m != "" {
			note(Postal, m)
		}
	}
	if digits >= 4 {
		if m := birthDate(c, ctx); m != "" {
			note(Birth, m)
		}
		if ctx.is(ctxID) {
			if m := contextID(c); m != "" {
				note(ID, m)
			}
		}
	}
	if strings.IndexByte(c, '@') > 0 {
		for _, m := range emailRe.FindAllString(c, 4) {
			note(Email, maskEmail(m))
		}
	}
	if hasPlace(c) {
		if m := address(c); m != "" {
			note(Address, m)
		}
	}
}

// names looks for a person's name in a cell. Row calls it only once the
// row has another kind of identifier: a name alone makes no record, and
// name matching (romaji above all) is the costliest detector.
func (sc *Scanner) names(c string, ctx *rowContext, note func(Kind, string)) {
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			if m := findName(c, func() bool { return ctx.is(ctxName) }); m != "" {
				note(Name, m)
			}
			return
		}
	}
}

// hasAny reports whether lower (lower-cased) contains one of words.
func hasAny(lower string, words []string) bool {
	for _, w := range words {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

var nameContext = []string{"氏名", "名前", "患者", "様", "さん", "殿", "name"}

var myNumberContext = []string{"個人番号", "マイナンバー", "my number", "mynumber"}

var emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

func maskEmail(m string) string {
	at := strings.IndexByte(m, '@')
	return m[:1] + "***" + m[at:]
}

// digitRuns returns the numbers written in s as runs of digits with
// single separators (hyphen, space, dot, parentheses) between groups,
// each as its digits and whether it stands alone (no digit, letter or
// separator-digit right before or after it).
func digitRuns(s string, seps string) []string {
	var out []string
	b := []byte(s)
	for i := 0; i < len(b); {
		if !isDigitB(b[i]) {
			i++
			continue
		}
		// Not preceded by a letter, digit, or "digit-".
		if i > 0 && (isAlnumB(b[i-1]) || b[i-1] == '+' && !strings.Contains(seps, "+")) {
			for i < len(b) && isAlnumB(b[i]) {
				i++
			}
			continue
		}
		j := i
		var d []byte
		for j < len(b) {
			if isDigitB(b[j]) {
				d = append(d, b[j])
				j++
				continue
			}
			if strings.IndexByte(seps, b[j]) >= 0 && j+1 < len(b) && isDigitB(b[j+1]) {
				j++
				continue
			}
			break
		}
		if j < len(b) && isLetterB(b[j]) {
			i = j
			continue
		}
		out = append(out, string(d))
		i = j
	}
	return out
}

func isDigitB(c byte) bool  { return c >= '0' && c <= '9' }
func isLetterB(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnumB(c byte) bool  { return isDigitB(c) || isLetterB(c) }

// ValidMyNumber checks the check digit of a 12-digit individual number
// (the formula of the Ordinance on the My Number Act, art. 5): with P(n)
// the n-th digit counted from the right excluding the check digit, and
// Q(n) = n+1 for n ≤ 6 and n−5 for n ≥ 7, the check digit is 0 if
// Σ P(n)Q(n) mod 11 ≤ 1, else 11 − that remainder.
func ValidMyNumber(d string) bool {
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
	if strings.Count(d, d[:1]) == 12 {
		return false // 000000000000 and the like
	}
	return int(d[11]-'0') == check
}

// myNumbers finds valid My Numbers: twelve digits, contiguous or in
// groups of four separated by a hyphen or a space.
func myNumbers(c string) []string {
	return numbers(c, "-", " ", func(d string) bool { return len(d) == 12 && ValidMyNumber(d) })
}

// numbers finds the numbers in c that ok accepts, written with the
// separators seps; only if there are none, spaces are taken as separators
// too (spaced groups are common, but a space also separates two numbers).
func numbers(c, seps, more string, ok func(string) bool) []string {
	var out []string
	for _, d := range digitRuns(c, seps) {
		if ok(d) {
			out = append(out, d)
		}
	}
	if len(out) == 0 && strings.Contains(c, more) {
		for _, d := range digitRuns(c, seps+more) {
			if ok(d) {
				out = append(out, d)
			}
		}
	}
	return out
}

// Luhn checks a card number's check digit.
func Luhn(d string) bool {
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
func plausibleCard(d string) bool {
	n := len(d)
	p := func(s string) bool { return strings.HasPrefix(d, s) }
	p2 := atoi(d[:2])
	p4 := atoi(d[:4])
	switch {
	case p("4"):
		return n == 13 || n == 16 || n == 19 // Visa
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

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func cards(c string) []string {
	return numbers(c, "-", " ", func(d string) bool {
		return len(d) >= 13 && len(d) <= 19 && plausibleCard(d) && Luhn(d) && strings.Count(d, d[:1]) != len(d)
	})
}

// phones finds Japanese phone numbers: mobile and IP (070/080/090/050/
// 020/060, 11 digits), fixed lines and free dial (10 digits from 0), and
// the same with +81 instead of the leading 0. Masked as 090-****-5678.
func phones(c string) []string {
	var out []string
	s := c
	if strings.Contains(s, "+81") {
		s = strings.NewReplacer("+81 (0)", "0", "+81(0)", "0", "+81-", "0", "+81 ", "0", "+81", "0").Replace(s)
	}
	for _, d := range numbers(s, "-().", " ", isPhone) {
		out = append(out, maskPhone(d))
	}
	return out
}

func isPhone(d string) bool {
	if len(d) < 10 || len(d) > 11 || d[0] != '0' || d[1] == '0' {
		return false
	}
	if len(d) == 11 {
		switch d[:3] {
		case "070", "080", "090", "050", "020", "060":
			return true
		}
		return strings.HasPrefix(d, "0800")
	}
	switch d[:3] {
	case "070", "080", "090", "050", "020", "060":
		return false
	}
	return true
}

func maskPhone(d string) string {
	if d[2] == '0' {
		return d[:3] + "-****-" + d[len(d)-4:]
	}
	return d[:2] + "-****-" + d[len(d)-4:]
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
	// ddd-dddd standing alone (no digit or hyphen on either side).
	for i := 0; i+8 <= len(c); i++ {
		if c[i+3] != '-' || !allDigits(c[i:i+3]) || !allDigits(c[i+4:i+8]) {
			continue
		}
		if i > 0 && (isDigitB(c[i-1]) || c[i-1] == '-') || i+8 < len(c) && (isDigitB(c[i+8]) || c[i+8] == '-') {
			continue
		}
		if ctx.is(ctxPostal) || prefectureAt(strings.TrimLeft(c[i+8:], " ")) != "" {
			return "〒" + c[i:i+3] + "-****"
		}
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

func prefectureAt(s string) string {
	for _, p := range prefectures {
		if strings.HasPrefix(s, p) {
			return p
		}
	}
	return ""
}

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
	birthCtx  = []string{"生年月日", "誕生日", "生まれ", "dob", "d.o.b", "birth", "生年"}
)

// birthDate finds a date of birth: a date (西暦 or 和暦) with context
// (生年月日, DOB, …) in the row, or followed by 生 (昭和55年3月4日生).
func birthDate(c string, ctx *rowContext) string {
	if !strings.Contains(c, "生") && !ctx.is(ctxBirth) {
		return ""
	}
	m, ok := parseDate(c)
	if !ok {
		return ""
	}
	if strings.Contains(c, "日生") || strings.HasSuffix(c, "生") || ctx.is(ctxBirth) {
		return m
	}
	return ""
}

// parseDate finds a plausible date in c and returns it masked.
func parseDate(c string) (string, bool) {
	if strings.ContainsAny(c, "MTSHR明大昭平令") {
		if m, ok := parseWareki(c); ok {
			return m, true
		}
	}
	// Dates are read by hand (a fraction of the regular expressions'
	// cost); seirekiRe and warekiRe stay as the definitions the fuzzers
	// hold the readers to.
	if y, mo, d, ok := findSeireki(c); ok {
		if mo >= 1 && mo <= 12 && d >= 1 && d <= 31 {
			return y[:2] + "**年**月**日", true
		}
	}
	return "", false
}

func parseWareki(c string) (string, bool) {
	if era, mo, d, ok := findWareki(c); ok {
		if mo >= 1 && mo <= 12 && d >= 1 && d <= 31 {
			return era + "**年**月**日", true
		}
	}
	return "", false
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
	"employee id", "employee no", "staff id", "member id", "mrn"}

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

// headerKinds recognises a header row: cells that name a kind.
func headerKinds(cells []string) map[int]Kind {
	var h map[int]Kind
	for _, c := range cells {
		// Column names carry no numbers: a row with a phone number or
		// a date in it is data, whatever words it has.
		if len(onlyDigits(c)) >= 4 {
			return nil
		}
	}
	for i, c := range cells {
		if c == "" || utf8.RuneCountInString(c) > 24 {
			continue
		}
		if k, ok := headerKind(c); ok {
			if h == nil {
				h = map[int]Kind{}
			}
			h[i] = k
		}
	}
	return h
}

var headerWords = []struct {
	kind  Kind
	words []string
	exact []string
}{
	{MyNumber, []string{"個人番号", "マイナンバー", "my number"}, nil},
	{ID, idWords, []string{"id", "no", "番号"}},
	{Birth, []string{"生年月日", "誕生日", "birth", "dob", "生年"}, nil},
	{Postal, []string{"郵便番号", "〒", "zip", "postal", "postcode"}, nil},
	{Address, []string{"住所", "所在地", "address", "現住所", "居所"}, nil},
	{Email, []string{"メール", "mail", "e-mail"}, nil},
	{Phone, []string{"電話", "tel", "携帯", "phone", "mobile", "連絡先", "fax"}, nil},
	{Name, []string{"氏名", "名前", "患者名", "顧客名", "社員名", "職員名", "利用者名", "受診者名", "お名前", "フリガナ", "ふりがな", "カナ", "full name", "fullname", "given name", "family name", "first name", "last name", "surname"},
		[]string{"姓", "名", "name", "姓名", "名字", "苗字"}},
}

func headerKind(c string) (Kind, bool) {
	lc := strings.ToLower(strings.Trim(c, " :：*※()（）[]【】"))
	for _, hw := range headerWords {
		for _, w := range hw.exact {
			if lc == w {
				if hw.kind == ID {
					return "", false // too vague alone
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
	return "", false
}

// columnValue decides whether a cell under a header of kind k is such a
// value, and returns it masked.
func columnValue(k Kind, c string) string {
	switch k {
	case Name:
		n := utf8.RuneCountInString(c)
		if n < 2 || n > 30 || strings.ContainsAny(c, "0123456789@") {
			return ""
		}
		// The column says it is a name: the mask keeps the family name
		// when a space marks it, else the first character.
		if i := strings.IndexAny(c, " \u3000"); i > 0 {
			return c[:i] + " **"
		}
		r, _ := utf8.DecodeRuneInString(c)
		return string(r) + " **"
	case Phone:
		d := onlyDigits(c)
		if len(d) >= 9 && len(d) <= 13 {
			return d[:min(3, len(d))] + "-****-" + d[len(d)-4:]
		}
	case Birth:
		if m, ok := parseDate(c); ok {
			return m
		}
		d := onlyDigits(c)
		if len(d) == 8 && (d[:2] == "19" || d[:2] == "20") {
			return d[:2] + "**年**月**日"
		}
		// An Excel date serial (1900 system): 1920–2030.
		if len(d) == 5 && d == c && atoi(d) >= 7300 && atoi(d) <= 47500 {
			return "****年**月**日"
		}
	case Address:
		if utf8.RuneCountInString(c) >= 4 && !strings.ContainsAny(c, "@") {
			if p := prefectureAt(c); p != "" {
				return p + "***"
			}
			r := []rune(c)
			return string(r[:2]) + "***"
		}
	case Postal:
		d := onlyDigits(c)
		if len(d) == 7 {
			return "〒" + d[:3] + "-****"
		}
	case Email:
		if m := emailRe.FindString(c); m != "" {
			return maskEmail(m)
		}
	case MyNumber:
		d := onlyDigits(c)
		if ValidMyNumber(d) {
			return "****-****-**" + d[10:]
		}
	case ID:
		if len(c) >= 3 && len(c) <= 24 && strings.ContainsAny(c, "0123456789") && !strings.ContainsAny(c, " @") {
			return maskID(c)
		}
	}
	return ""
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
