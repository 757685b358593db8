package pii

import (
	"reflect"
	"strings"
	"testing"

	"github.com/egressguard/egressguard/internal/pii/internal/piiref"
)

// equivWords are the pieces FuzzPiiEquivalent builds cells from: what the
// detectors look for, what normalisation changes, and what lower-casing
// changes.
var equivWords = []string{
	// digits and number punctuation
	"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "０", "１", "２", "９", "090", "080", "03", "0120", "0800", "+81", "+81 (0)", "+81(0)", "+81-",
	"(", ")", ".", "/", ":", "：", "#", "=", "no.", "No.", "NO ", "4111", "1111", "3530", "123", "4567", "100", "0001",
	// dashes
	"-", "‐", "‑", "‒", "–", "—", "―", "−", "ｰ", "－", "ー", "ーー",
	// names, honorifics, kana (half-width too)
	"山田", "太郎", "佐藤", "花子", "鈴木", "一郎", "高橋", "東", "西", "南", "三", "様", "さん", "殿", "氏", "先生", "くん", "君", "ちゃん",
	"ヤマダ", "タロウ", "やまだ", "たろう", "サトウ", "ハナコ", "ｻﾄｳ", "ﾀﾛｳ", "ｶﾞ", "ガ", "・",
	// context words
	"個人番号", "マイナンバー", "my number", "MyNumber", "MY NUMBER", "生年月日", "誕生日", "生まれ", "DOB", "d.o.b", "Birth", "生年", "生", "日生",
	"郵便", "〒", "ZIP", "postal", "Post Code", "postcode", "氏名", "名前", "患者", "Name", "被保険者番号", "患者ID", "患者id", "社員番号", "カルテNo",
	"Patient ID", "patient no", "MRN", "mrn", "会員番号", "伝票", "追跡", "問い合わせ番号", "注文", "order", "Order", "ORDER", "invoice", "Account",
	"serial", "ref", "TEL", "tel", "Tel", "FAX", "電話", "JAN", "tracking", "ｔｅｌ", "ＴＥＬ", "Ｏｒｄｅｒ",
	// dates
	"昭和", "平成", "令和", "明治", "大正", "S", "H", "R", "M", "T", "元", "年", "月", "日", "1980", "2001", "1975/03/12", "55年3月4日", "29221", "19900203",
	// places
	"東京都", "大阪府", "北海道", "京都府", "神奈川県", "千葉県", "架空県", "千代田区", "大阪市", "北区", "梅田", "中央町", "山村", "西郡", "市", "区",
	"町", "村", "郡", "丁目", "番地", "番", "ヶ", "ケ", "1-1",
	// header words
	"電話番号", "住所", "所在地", "address", "メール", "mail", "E-Mail", "携帯", "phone", "Mobile", "連絡先", "フリガナ", "ふりがな", "カナ", "Full Name",
	"姓", "名", "ID", "id", "no", "番号", "症状", "No", "【", "】", "※", "*", "（", "）",
	// romaji
	"Taro", "Yamada", "YAMADA", "Hanako", "Sato", "Satoh", "Suzuki", "Ichiro", "taro", "The", "Meeting",
	// e-mail and links
	"@", "＠", "example.jp", "t.yamada", "https://", "http://www.example.com/a", "www.", "ftp://x", "://", ".com", "ｗｗｗ．",
	// white space and separators
	" ", " ", "  ", "\t", "　", "\n", ",", ";", "|", "\"", "'", "\r",
	// what NFKC or lower-casing changes
	"Ⱥ", "İ", "Σ", "é", "e\u0301", "ｅ", "Ａ", "①", "㍻", "㈱", "\u3099", "\xff", "\xe3\x81", "K", "ﬁ", "ẞ", "Ǆ", "ſ", "㌔", "½",
}

// equivRows builds rows of cells from gen: each byte adds a piece, ends
// the cell or the row, or writes a number.
func equivRows(gen []byte) [][]string {
	var rows [][]string
	var row []string
	var cell strings.Builder
	next := func(i *int) byte {
		if *i+1 < len(gen) {
			*i++
			return gen[*i]
		}
		return 0
	}
	for i := 0; i < len(gen); i++ {
		b := gen[i]
		switch {
		case b < 10:
			row = append(row, cell.String())
			cell.Reset()
		case b < 14:
			row = append(row, cell.String())
			cell.Reset()
			rows = append(rows, row)
			row = nil
		case b < 16:
			// A number of 1 to 20 digits.
			n := int(next(&i))%20 + 1
			for range n {
				cell.WriteByte('0' + next(&i)%10)
			}
		case b < 18:
			// A valid My Number, plain or grouped.
			d := make([]byte, 11)
			for k := range d {
				d[k] = '0' + next(&i)%10
			}
			m := string(d) + myNumberCheck(string(d))
			switch next(&i) % 4 {
			case 0:
				cell.WriteString(m)
			case 1:
				cell.WriteString(m[:4] + "-" + m[4:8] + "-" + m[8:])
			case 2:
				cell.WriteString(m[:4] + " " + m[4:8] + " " + m[8:])
			default:
				cell.WriteString(strings.Map(func(r rune) rune { return r - '0' + '０' }, m))
			}
		case b < 19:
			// A card number that passes Luhn.
			pre := []string{"4", "51", "2221", "34", "3530", "36", "6011", "62"}[next(&i)%8]
			n := 13 + int(next(&i))%7
			d := []byte(pre)
			for len(d) < n-1 {
				d = append(d, '0'+next(&i)%10)
			}
			for c := byte('0'); c <= '9'; c++ {
				if Luhn(string(d) + string(c)) {
					d = append(d, c)
					break
				}
			}
			if next(&i)%2 == 0 {
				cell.Write(d)
			} else {
				for k := 0; k < len(d); k += 4 {
					if k > 0 {
						cell.WriteByte(' ')
					}
					cell.Write(d[k:min(k+4, len(d))])
				}
			}
		case b < 20:
			// A long cell: the detectors see it in pieces.
			s := cell.String()
			if s == "" {
				s = "山田 太郎 090-1234-5678 "
			}
			for cell.Len() < 2100+int(next(&i))*4 {
				cell.WriteString(s)
			}
		default:
			k := int(b-20)<<8 | int(next(&i))
			cell.WriteString(equivWords[k%len(equivWords)])
		}
	}
	row = append(row, cell.String())
	return append(rows, row)
}

func myNumberCheck(d string) string {
	for c := byte('0'); c <= '9'; c++ {
		if ValidMyNumber(d + string(c)) {
			return string(c)
		}
	}
	return "0"
}

func fromRef(s piiref.Summary) Summary {
	out := Summary{Records: s.Records, MyNumbers: s.MyNumbers, Cards: s.Cards, MyNumberContext: s.MyNumberContext, RecordKeys: s.RecordKeys}
	if s.RecordKinds != nil {
		out.RecordKinds = map[Kind]int{}
		for k, n := range s.RecordKinds {
			out.RecordKinds[Kind(k)] = n
		}
	}
	if s.Found != nil {
		out.Found = map[Kind]int{}
		for k, n := range s.Found {
			out.Found[Kind(k)] = n
		}
	}
	for _, smp := range s.Samples {
		out.Samples = append(out.Samples, Sample{Kind(smp.Kind), smp.Masked})
	}
	return out
}

// checkEquivalent scans rows with both packages, as a table and as text,
// and compares the summaries after every row.
func checkEquivalent(t *testing.T, rows [][]string) {
	t.Helper()
	for _, table := range []bool{true, false} {
		sc, ref := NewScanner(), piiref.NewScanner()
		for i, r := range rows {
			sc.Row(r, table)
			ref.Row(r, table)
			got, want := sc.Summary(), fromRef(ref.Summary())
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("table %v, after row %d of %q:\n got %+v\nwant %+v", table, i, rows, got, want)
			}
		}
	}
}

// FuzzPiiEquivalent holds the package to piiref, the copy it was before it
// was made faster: the same rows give the same Summary.
func FuzzPiiEquivalent(f *testing.F) {
	for _, s := range []string{"山田 太郎\t090-1234-5678\t昭和55年3月4日", "個人番号 1234-5678-9018", "4111 1111 1111 1111",
		"〒100-0001 東京都千代田区", "Taro Yamada <t@example.jp>", "氏名\t電話", "No\t氏名\tフリガナ\t電話番号\t生年月日\t住所\t症状\n" +
			"1\t山田 太郎\tヤマダ タロウ\t090-1234-1001\t昭和55年3月4日\t東京都千代田区千代田1-1\t頭痛と発熱、咳が続く",
		"お世話になっております。山田様、先日の件で 03-1234-1000 までご連絡ください。 Please call Taro Yamada.",
		"ＴＥＬ：０９０ー１２３４ー５６７８　山田様", "社員番号 A1234\t佐藤 花子\tDOB 1980/03/04", "注文 123456789018\t個人番号"} {
		f.Add(s, []byte(nil))
	}
	f.Add("", []byte{20, 5, 3, 15, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 21, 7, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 10, 20, 100})
	f.Add("x", []byte{20, 200, 0, 20, 201, 10, 18, 1, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1, 19, 3})
	for k := range equivWords {
		f.Add("", []byte{20 + byte(k>>8), byte(k), 15, 11, 0, 9, 0, 9, 0, 9, 0, 9, 0, 9, 0, 9})
	}
	f.Fuzz(func(t *testing.T, raw string, gen []byte) {
		var rows [][]string
		for line := range strings.SplitSeq(raw, "\n") {
			rows = append(rows, strings.Split(line, "\t"))
		}
		checkEquivalent(t, rows)
		checkEquivalent(t, equivRows(gen))
		// And rows of random pieces, seeded by the input.
		x := uint64(len(raw))*0x9E3779B97F4A7C15 + 1
		for _, b := range append([]byte(raw), gen...) {
			x = (x ^ uint64(b)) * 0x100000001B3
		}
		checkEquivalent(t, equivRows(randomBytes(&x, 40+int(x%400))))
	})
}

// randomBytes is n bytes of xorshift64 from *x.
func randomBytes(x *uint64, n int) []byte {
	if *x == 0 {
		*x = 1
	}
	b := make([]byte, n)
	for i := range b {
		*x ^= *x << 13
		*x ^= *x >> 7
		*x ^= *x << 17
		b[i] = byte(*x >> 24)
	}
	return b
}

// TestPiiEquivalentRows: a fixed pseudo-random set of generated rows.
func TestPiiEquivalentRows(t *testing.T) {
	x := uint64(1)
	for n := range 3000 {
		checkEquivalent(t, equivRows(randomBytes(&x, 20+n%200)))
	}
}
