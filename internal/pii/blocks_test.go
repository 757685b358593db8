package pii

import (
	"fmt"
	"strings"
	"testing"
)

// TestLabelledBlocks: a list written as one field per line is one record
// per person; the next person's first label ends the block.
func TestLabelledBlocks(t *testing.T) {
	t.Parallel()
	var lines [][]string
	lines = append(lines, []string{"下記の方々の登録をお願いします。"})
	for i := range 20 {
		lines = append(lines,
			[]string{fmt.Sprintf("【%d人目】", i+1)},
			[]string{"■氏名：山田 太郎"},
			[]string{"フリガナ：ヤマダ タロウ"},
			[]string{"性別：男"},
			[]string{fmt.Sprintf("生年月日：昭和45年3月%d日", i+1)},
			[]string{fmt.Sprintf("電話番号：090-1234-%04d", i)},
			[]string{"住所：〒100-0001 東京都千代田区千代田1-1"})
	}
	if s := Scan(lines, false); s.Records != 20 || s.RecordKinds[Birth] != 20 || s.RecordKinds[Name] != 20 {
		t.Errorf("with separators: %d records %v", s.Records, s.RecordKinds)
	}
	// Without a line between the people, and quoted in a reply.
	var quoted [][]string
	for _, l := range lines {
		if !strings.HasPrefix(l[0], "【") {
			quoted = append(quoted, []string{"> " + l[0]})
		}
	}
	if s := Scan(quoted, false); s.Records != 20 {
		t.Errorf("quoted: %d records", s.Records)
	}
	// Fields without a name (an office's, a venue's) are no person, and
	// lines that are no fields (a URL, a time) do not join a block.
	var venues [][]string
	for i := range 20 {
		venues = append(venues, []string{fmt.Sprintf("日時：2025年4月%d日 14:00～", i+1)}, []string{fmt.Sprintf("会場：東京都千代田区丸の内1-%d", i)},
			[]string{fmt.Sprintf("電話：03-1234-%04d", i)}, []string{"定員：50名"})
	}
	if s := Scan(venues, false); s.Records != 0 {
		t.Errorf("venues: %d records", s.Records)
	}
	sig := [][]string{{"氏名：山田 太郎"}, {"https://example.co.jp/"}, {"10:00 会議"}, {"TEL：03-1234-5678"}}
	if s := Scan(sig, false); s.Records != 0 {
		t.Errorf("split by other lines: %d records", s.Records)
	}
	// A name under a name label counts, listed or not.
	form := [][]string{{"お名前：百目鬼 ゆ"}, {"電話番号：090-1234-5678"}}
	if s := Scan(form, false); s.Records != 1 {
		t.Errorf("form: %d records", s.Records)
	}
}

func TestFieldLabel(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ line, label string }{
		{"氏名：山田 太郎", "氏名"},
		{"> ・お名前: 山田", "お名前"},
		{"【生年月日】昭和45年3月2日", "生年月日"},
		{"E-Mail : a@example.jp", "e-mail"},
		{"https://example.jp/x", ""},
		{"10:00 開始", ""},
		{"氏名：", ""},
		{"これはとても長い文章の一部でありラベルではありません：値", ""},
	} {
		if got, _ := fieldLabel(tt.line); got != tt.label {
			t.Errorf("%q: label %q, want %q", tt.line, got, tt.label)
		}
	}
}

// TestVCardBlocks: the contacts of a vCard file are one record each.
func TestVCardBlocks(t *testing.T) {
	t.Parallel()
	var lines [][]string
	for i := range 12 {
		// The name is not in the list: FN says it is one.
		for _, l := range []string{"BEGIN:VCARD", "VERSION:3.0", "N:百目鬼;ゆ;;;", "FN:百目鬼 ゆ", "X-PHONETIC-LAST-NAME:ドウメキ",
			fmt.Sprintf("TEL;TYPE=CELL:090-1234-%04d", i), fmt.Sprintf("EMAIL;TYPE=INTERNET:taro%d@example.jp", i), "BDAY:1970-03-02", "END:VCARD"} {
			lines = append(lines, []string{l})
		}
	}
	if s := Scan(lines, false); s.Records != 12 || s.RecordKinds[Birth] != 12 {
		t.Errorf("%d records %v", s.Records, s.RecordKinds)
	}
}

// TestBlockNeverHeader: a block is scanned as one row of data, never as
// a table's column names, even when it is the first thing in the text
// and holds no digit.
func TestBlockNeverHeader(t *testing.T) {
	t.Parallel()
	lines := [][]string{{"氏名：山田 太郎"}, {"住所：東京都千代田区千代田一丁目"}, {"勤務先：本町病院"}}
	if s := Scan(lines, false); s.Records != 1 {
		t.Errorf("%d records, want 1", s.Records)
	}
}
