package pii

import (
	"strconv"
	"strings"
	"testing"
)

func TestMyNumberCheckDigit(t *testing.T) {
	t.Parallel()
	// 12345678901 → check digit 8 by the official formula:
	// Σ P(n)Q(n) = 1·2+0·3+9·4+8·5+7·6+6·7+5·2+4·3+3·4+2·5+1·6 = 212,
	// 212 mod 11 = 3, 11−3 = 8.
	if !ValidMyNumber("123456789018") {
		t.Error("123456789018 should be valid")
	}
	for _, bad := range []string{"123456789017", "123456789019", "000000000000", "12345678901", "12345678901a"} {
		if ValidMyNumber(bad) {
			t.Errorf("%s should be invalid", bad)
		}
	}
	// Remainder 0 or 1 gives check digit 0.
	if !ValidMyNumber("100000000000") && !ValidMyNumber("100000000010") {
		t.Log("no zero-check example in range")
	}
}

func TestDetectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line  string
		kinds []Kind
		mask  string
	}{
		{"個人番号 1234-5678-9018", []Kind{MyNumber}, "****-****-**18"},
		{"マイナンバー：１２３４ ５６７８ ９０１８", []Kind{MyNumber}, "****-****-**18"},
		{"注文番号 123456789017", nil, ""},
		{"お問い合わせ伝票番号 123456789018", nil, ""},                             // valid check digit, but a tracking number
		{"個人番号（注文書に記載）123456789018", []Kind{MyNumber}, "****-****-**18"}, // labelled as My Number after all
		{"order 9123456789018 x", nil, ""},                               // 13 digits: not a My Number
		{"カード 4111 1111 1111 1111", []Kind{Card}, "****-****-****-1111"},
		{"カード 4111 1111 1111 1112", nil, ""},
		{"TEL 090-1234-5678", []Kind{Phone}, "090-****-5678"},
		{"電話 03(1234)5678", []Kind{Phone}, "03-****-5678"},
		{"tel +81 90 1234 5678", []Kind{Phone}, "090-****-5678"},
		{"0120-123-456", []Kind{Phone}, "01-****-3456"},
		{"請求額 1234567890円", nil, ""},
		{"〒100-0001", []Kind{Postal}, "〒100-****"},
		{"100-0001 東京都千代田区千代田1-1", []Kind{Postal, Address}, "〒100-****"},
		{"部品 100-0001", nil, ""},
		{"大阪府大阪市北区梅田1-1", []Kind{Address}, "大阪府***"},
		{"生年月日 昭和55年3月4日", []Kind{Birth}, "昭和**年**月**日"},
		{"DOB: 1980/03/04", []Kind{Birth}, "19**年**月**日"},
		{"納期 2024/03/04", nil, ""},
		{"yamada@example.jp", []Kind{Email}, "y***@example.jp"},
		{"被保険者番号：12345678", []Kind{ID}, "12******"},
		{"患者ID A-12345", []Kind{ID}, "A-*****"},
		{"山田 太郎", []Kind{Name}, "山田 **"},
		{"佐藤様", []Kind{Name}, "佐藤 **"},
		{"ヤマダ タロウ", []Kind{Name}, "ヤマダ **"},
		{"Taro Yamada", []Kind{Name}, "Yamada **"},
		{"The meeting is at noon", nil, ""},
		{"Meeting at 10 with Yamada Taro", []Kind{Name}, "Yamada **"},
	}
	for _, tt := range tests {
		if len(tt.kinds) == 1 && tt.kinds[0] == Name {
			// A name alone cannot make a record and rows without digits
			// are not scanned (mayBeRecord): the name finder is asked.
			if got := findName(normalize(tt.line), func() bool { return false }); got != tt.mask {
				t.Errorf("%q: name %q, want %q", tt.line, got, tt.mask)
			}
			continue
		}
		s := Scan([][]string{{tt.line}}, false)
		var got []Kind
		for _, k := range Kinds {
			if s.Found[k] > 0 {
				got = append(got, k)
			}
		}
		if !sameKinds(got, tt.kinds) {
			t.Errorf("%q: kinds %v, want %v", tt.line, got, tt.kinds)
			continue
		}
		if tt.mask != "" && (len(s.Samples) == 0 || s.Samples[0].Masked != tt.mask) {
			t.Errorf("%q: samples %+v, want %q", tt.line, s.Samples, tt.mask)
		}
		for _, smp := range s.Samples {
			if strings.Contains(tt.line, smp.Masked) && !strings.Contains(smp.Masked, "*") {
				t.Errorf("%q: sample %q is not masked", tt.line, smp.Masked)
			}
		}
	}
}

func sameKinds(a, b []Kind) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[Kind]bool{}
	for _, k := range a {
		m[k] = true
	}
	for _, k := range b {
		if !m[k] {
			return false
		}
	}
	return true
}

// TestRecordsWithHeader: a header row makes plain cells count as their
// column's kind; duplicates are one record; one identifier is no record.
func TestRecordsWithHeader(t *testing.T) {
	t.Parallel()
	rows := [][]string{
		{"No", "氏名", "電話番号", "生年月日", "症状"},
		{"1", "東 一", "9012345678", "29221", "頭痛"}, // phone without 0 and a date serial, as Excel stores them
		{"2", "西 二", "08011112222", "1990-02-03", "発熱"},
		{"2", "西 二", "08011112222", "1990-02-03", "発熱"},
		{"3", "南 三", "", "", "咳"},
	}
	s := Scan(rows, true)
	if s.Records != 2 {
		t.Errorf("records %d, want 2: %+v", s.Records, s)
	}
	if got := s.KindsInRecords(); !sameKinds(got, []Kind{Name, Phone, Birth}) {
		t.Errorf("kinds %v", got)
	}
	// Without the header the cells are only a phone number each: no
	// names (not in the list), no dates of birth (no context; an old
	// date alone in a cell counts only next to a name).
	if s := Scan(rows[1:], false); s.Records != 0 {
		t.Errorf("without header: records %d", s.Records)
	}
}

func BenchmarkScanTable(b *testing.B) {
	rows := [][]string{{"No", "氏名", "フリガナ", "電話番号", "生年月日", "住所", "症状"}}
	for i := range 1000 {
		rows = append(rows, []string{strconv.Itoa(i), "山田 太郎", "ヤマダ タロウ", "090-1234-" + strconv.Itoa(1000+i), "昭和55年3月4日", "東京都千代田区千代田1-" + strconv.Itoa(i), "頭痛と発熱、咳が続く"})
	}
	b.ReportAllocs()
	for b.Loop() {
		if s := Scan(rows, true); s.Records != 1000 {
			b.Fatal(s.Records)
		}
	}
}

func BenchmarkScanText(b *testing.B) {
	var rows [][]string
	for i := range 1000 {
		rows = append(rows, []string{"お世話になっております。山田様、先日の件で 03-1234-" + strconv.Itoa(1000+i) + " までご連絡ください。 Please call Taro Yamada."})
	}
	b.ReportAllocs()
	for b.Loop() {
		Scan(rows, false)
	}
}

// TestMyNumberColumn: under a 個人番号 column a valid number counts, with
// context, even next to a TEL column; an invalid one does not.
func TestMyNumberColumn(t *testing.T) {
	t.Parallel()
	s := Scan([][]string{{"氏名", "TEL", "個人番号"}, {"山田 太郎", "090-1234-5678", "123456789018"}, {"佐藤 花子", "090-1234-5679", "123456789017"}}, true)
	if s.MyNumbers != 1 || !s.MyNumberContext || s.Records != 2 {
		t.Errorf("%+v", s)
	}
}

// TestDataRowIsNoHeader: a first row that names its fields and carries the
// values ("氏名：山田 太郎", a phone number) is a record, not a header.
func TestDataRowIsNoHeader(t *testing.T) {
	t.Parallel()
	s := Scan([][]string{{"氏名：山田 太郎", "電話：090-1234-5678"}, {"佐藤 花子", "090-1234-5679"}}, true)
	if s.Records != 2 {
		t.Errorf("records %d: %+v", s.Records, s)
	}
}

// TestContextIDAfterCasedText: an ID is read right after its label even
// when lower-casing the cell changes the length of text before it (Ⱥ
// becomes the longer ⱥ, İ the shorter i); the offset in the lower-cased
// cell once ran past the end of the cell.
func TestContextIDAfterCasedText(t *testing.T) {
	t.Parallel()
	for _, line := range []string{"ȺȺȺȺȺȺȺȺ社員番号 A1234", "İİİİİİİİ社員番号 A1234", "\xff\xff\xff\xff社員番号 A1234"} {
		s := Scan([][]string{{line}}, false)
		if s.Found[ID] != 1 || len(s.Samples) != 1 || s.Samples[0].Masked != "A1***" {
			t.Errorf("%q: %+v", line, s)
		}
	}
	// The label at the end of the cell: nothing after it.
	if s := Scan([][]string{{"1234 ȺȺȺȺȺȺȺȺ社員番号"}}, false); s.Found[ID] != 0 {
		t.Errorf("%+v", s)
	}
}
