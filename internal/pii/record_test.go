package pii

import (
	"fmt"
	"testing"
)

// TestOrganisationRows: the addresses, telephone numbers and e-mail
// addresses of branches and companies are no person records; a person's
// row that names a company still is.
func TestOrganisationRows(t *testing.T) {
	t.Parallel()
	var branches, vendors, staff, stores [][]string
	branches = append(branches, []string{"支店名", "郵便番号", "所在地", "電話番号", "売上高"})
	vendors = append(vendors, []string{"取引先名", "電話", "住所", "メール"})
	staff = append(staff, []string{"氏名", "会社", "電話", "住所"})
	for i := range 20 {
		branches = append(branches, []string{fmt.Sprintf("第%d支店", i), "160-0023", fmt.Sprintf("東京都新宿区西新宿1-%d-3", i), fmt.Sprintf("03-1234-%04d", i), "12,345"})
		vendors = append(vendors, []string{fmt.Sprintf("㈱アクメ商事%d", i), fmt.Sprintf("06-1234-%04d", i), fmt.Sprintf("大阪府大阪市北区梅田%d-1", i), fmt.Sprintf("info%d@acme.example.co.jp", i)})
		staff = append(staff, []string{"山田 太郎", "株式会社アクメ", fmt.Sprintf("090-1234-%04d", i), fmt.Sprintf("大阪府大阪市北区梅田%d-1", i)})
		stores = append(stores, []string{fmt.Sprintf("梅田%d号店", i), "10:00-20:00", fmt.Sprintf("06-1234-%04d", i), fmt.Sprintf("大阪府大阪市北区梅田%d-1", i)})
	}
	for _, tt := range []struct {
		name string
		rows [][]string
		want int
	}{
		{"branches", branches, 0},
		{"vendors", vendors, 0},
		{"vendors without header", vendors[1:], 0},
		{"people at a company", staff, 20},
		{"stores", stores, 0},
	} {
		if s := Scan(tt.rows, true); s.Records != tt.want {
			t.Errorf("%s: %d records, want %d", tt.name, s.Records, tt.want)
		}
	}
	// The same in lines of text.
	if s := Scan([][]string{{"新宿支店 〒160-0023 東京都新宿区西新宿1-2-3 TEL 03-1234-5678"}}, false); s.Records != 0 {
		t.Errorf("branch line: %d records", s.Records)
	}
}

// TestPostalAndAddressArePlace: a postal code with its address is one
// identifier; with a telephone number or a name it makes a record.
func TestPostalAndAddressArePlace(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line string
		want int
	}{
		{"〒100-0001 東京都千代田区千代田1-1", 0},
		{"〒100-0001 東京都千代田区千代田1-1 TEL 03-1234-5678", 1},
		{"山田 太郎 〒100-0001 東京都千代田区千代田1-1", 1},
	} {
		if s := Scan([][]string{{tt.line}}, false); s.Records != tt.want {
			t.Errorf("%q: %d records, want %d", tt.line, s.Records, tt.want)
		}
	}
}

// TestBareOldDates: without context, a cell that is only a date before
// 2000 is a date of birth; dates in text, recent dates and dates with
// other words are not.
func TestBareOldDates(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		row  []string
		want int
	}{
		{[]string{"山田 太郎", "男", "1970/3/2"}, 1},
		{[]string{"ヤマダ タロウ", "S45.3.2"}, 1},
		{[]string{"ヤマダ タロウ", "昭和45年3月2日"}, 1},
		{[]string{"ヤマダ タロウ", "H11/12/31"}, 1},
		{[]string{"ヤマダ タロウ", "平成元年11月28日"}, 1},
		{[]string{"ヤマダ タロウ", "H12/1/1"}, 0},
		{[]string{"山田 太郎", "2025/3/2"}, 0},
		{[]string{"山田 太郎", "1970/13/2"}, 0},
		{[]string{"山田 太郎", "1970/3/2 入社"}, 0},
		{[]string{"定例会議 1970/3/2 山田 太郎"}, 0},
		// Without a name: a company's history, an old catalogue.
		{[]string{"1964/10/10", "東京都新宿区霞ヶ丘町10-1"}, 0},
		{[]string{"V-0001", "1985/4/1", "0120-123-456"}, 0},
		{[]string{"1985/4/1", "0120-123-456", "東京都新宿区霞ヶ丘町10-1"}, 1},
	} {
		if s := Scan([][]string{tt.row}, true); s.Records != tt.want {
			t.Errorf("%q: %d records, want %d", tt.row, s.Records, tt.want)
		}
	}
}
