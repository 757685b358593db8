package pii

import "bytes"

// A row makes a person record when it holds two or more kinds of
// identifier; recordKinds counts them as a record does. A postal code and
// an address are one place: "〒100-0001 東京都千代田区…" alone is a
// letterhead or a map, not a person. A date of birth known only from
// being an old date (bareBirth) counts next to a person's name, not next
// to an address or a telephone number alone (a company's history, an old
// catalogue).
func recordKinds(kinds *[numKinds]bool, nk int, bareBirth bool) int {
	if kinds[kPostal] && kinds[kAddress] {
		nk--
	}
	if bareBirth && kinds[kBirth] && !kinds[kName] {
		nk--
	}
	return nk
}

// person: a row with two kinds of identifier or more is a person record
// unless it is an organisation's (organisationRow) or a block of fields
// without a name (blocks.go).
func (sc *Scanner) person(r *row) bool {
	if sc.multiBlock && !r.kinds[kName] {
		return false
	}
	return !organisationRow(r)
}

// organisationRow: a row in which no person's name was found but which
// names a company, branch, office or institution is that organisation's
// contact data (a branch list with addresses and telephone numbers, a
// supplier list), not a person's.
func organisationRow(r *row) bool {
	if r.kinds[kName] {
		return false
	}
	lower := r.ctx.lower()
	for _, w := range organisationWords {
		if bytes.Contains(lower, []byte(w)) {
			return true
		}
	}
	return false
}

// organisationWords are in lower case, after NFKC (㈱ is (株)).
var organisationWords = []string{
	"株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "(株)", "(有)", "(合)", "(同)",
	"一般社団法人", "一般財団法人", "公益社団法人", "公益財団法人", "社会福祉法人", "医療法人", "学校法人", "npo法人", "特定非営利活動法人",
	"支店", "支社", "本社", "本店", "営業所", "事業所", "出張所", "事務所", "工場", "研究所", "店舗", "店",
	"病院", "医院", "クリニック", "診療所", "薬局", "学校", "大学", "市役所", "区役所", "町役場", "村役場", "県庁", "都庁", "府庁",
	"協会", "組合", "銀行", "信用金庫", "郵便局", "ホテル", "旅館", "ホール", "会館", "センター", "会議室",
	"co.,ltd", "co., ltd", "inc.", "corporation", "ltd.", "llc", "k.k.",
}

// maxHeaderRow is the last row a table's column names are looked for in:
// titles, dates and notes often come first.
const maxHeaderRow = 10

// mayBeHeader: the row being scanned may be the table's column names: no
// header was found yet within the first rows, or the header found is the
// row right above (the upper row of a header in two rows).
func (sc *Scanner) mayBeHeader() bool {
	if sc.header == nil {
		return sc.rows <= maxHeaderRow
	}
	return sc.rows == sc.headerAt+1
}
