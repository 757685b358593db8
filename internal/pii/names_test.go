package pii

import "testing"

// TestNamesWithHonorifics: a surname and a given name written together
// before an honorific, and given names not in the list (older names in
// kana) before one.
func TestNamesWithHonorifics(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"石井翔太様", "石井 **"},
		{"佐藤花子殿", "佐藤 **"},
		{"西川トメ様", "西川 **"},
		{"熊谷 ヨシ子 様", "熊谷 **"},
		{"田中ハナコさん", "田中 **"},
		{"山田 ハナコ", "山田 **"},
		{"西川トメ", ""},   // no honorific, not a listed given name
		{"東京都の様子", ""}, // not a listed surname
	} {
		if got := findName(normalize(tt.in), func() bool { return false }); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNameHeaders: more names of name columns, and 氏名 spaced out.
func TestNameHeaders(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"宛名", "会員名", "契約者名", "氏　名", "お 名 前"} {
		// The name is not in the list: only the column says it is one.
		s := Scan([][]string{{h, "電話"}, {"百目鬼 ゆ", "090-1234-5678"}}, true)
		if s.Records != 1 {
			t.Errorf("%q: %d records", h, s.Records)
		}
	}
}

// TestKanjiVariants: names written with variant kanji.
func TestKanjiVariants(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"髙橋 一郎", "髙橋 **"},
		{"山﨑 花子", "山﨑 **"},
		{"𠮷田 太郎", "𠮷田 **"},
		{"濵田 健", "濵田 **"},
	} {
		if got := findName(normalize(tt.in), func() bool { return false }); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestMoreColumnNames: column names from contact exports, rosters and
// English forms, each with a value that only its column makes an
// identifier of, next to a telephone number.
func TestMoreColumnNames(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ h, v string }{
		{"契約者", "百目鬼 ゆ"}, {"担当者", "百目鬼 ゆ"}, {"患者", "百目鬼 ゆ"}, {"NAME(KANA)", "ﾄﾞｳﾒｷ ﾕ"},
		{"Date of Birth", "02/03/1970"}, {"DOB", "3.2.1970"}, {"番地", "千代田1-1"}, {"市区町村", "千代田区"},
		{"社員No", "E123"}, {"従業員コード", "E123"}, {"会員ID", "M1234"}, {"顧客コード", "C123"},
	} {
		s := Scan([][]string{{c.h, "携帯"}, {c.v, "090-1111-2222"}, {c.v, "090-1111-3333"}}, true)
		if s.Records != 2 {
			t.Errorf("%q=%q: %d records, found %v", c.h, c.v, s.Records, s.Found)
		}
	}
	// With context in the row, a date written year last is a date of
	// birth too; without, it is not.
	if s := Scan([][]string{{"DOB: 02/03/1970 Tel 090-1234-5678"}}, false); s.Records != 1 {
		t.Errorf("DOB in a line: %d records", s.Records)
	}
	if s := Scan([][]string{{"Delivery 02/03/2026 Tel 090-1234-5678"}}, false); s.Found[Birth] != 0 {
		t.Errorf("delivery date taken for a date of birth")
	}
}

// TestTitleAboveHeader: a title in one cell above the table (患者一覧表,
// 参加者名簿) is not taken for its column names.
func TestTitleAboveHeader(t *testing.T) {
	t.Parallel()
	for _, title := range []string{"患者一覧表", "氏名一覧", "参加者", "Name list"} {
		s := Scan([][]string{{title}, {"氏名", "生年月日"}, {"百目鬼 ゆ", "19700302"}, {"四月一日 ゆ", "19710302"}}, true)
		if s.Records != 2 {
			t.Errorf("%q: %d records", title, s.Records)
		}
	}
}

// TestHeaderPlaces: column names in the lower row of a header in two
// rows, and below several rows of notes.
func TestHeaderPlaces(t *testing.T) {
	t.Parallel()
	header := []string{"氏名", "フリガナ", "生年月日", "電話", "メール"}
	data := [][]string{{"百目鬼 ゆ", "ドウメキ ユ", "19700302", "9012345678", "x"}, {"四月一日 ゆ", "ワタヌキ ユ", "19710302", "9012345679", "y"}}
	two := append([][]string{{"基本情報", "", "", "連絡先", ""}, header}, data...)
	var notes [][]string
	for range 7 {
		notes = append(notes, []string{"注意事項", "取扱注意"})
	}
	notes = append(append(notes, header), data...)
	for name, rows := range map[string][][]string{"two rows": two, "below notes": notes} {
		if s := Scan(rows, true); s.Records != 2 {
			t.Errorf("%s: %d records", name, s.Records)
		}
	}
}
