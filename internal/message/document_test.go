package message

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/unicode"

	"github.com/egressguard/egressguard/internal/extract/fixture"
)

func people(n int) [][]string {
	rows := [][]string{{"氏名", "電話番号", "生年月日"}}
	for i := range n {
		rows = append(rows, []string{fmt.Sprintf("山田 太郎%c", 'ア'+rune(i)), fmt.Sprintf("090-1234-%04d", i), "1980/01/02"})
	}
	return rows
}

func csvText(rows [][]string) string {
	var sb strings.Builder
	for _, r := range rows {
		sb.WriteString(strings.Join(r, ",") + "\r\n")
	}
	return sb.String()
}

func eucjp(s string) []byte    { b, _ := japanese.EUCJP.NewEncoder().Bytes([]byte(s)); return b }
func shiftJIS(s string) []byte { b, _ := japanese.ShiftJIS.NewEncoder().Bytes([]byte(s)); return b }
func utf16(s string, e unicode.Endianness) []byte {
	b, _ := unicode.UTF16(e, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
	return b
}

// TestDocumentRecords: every format carries its rows to the person-record
// count, in its own file name (sheet, table) and part.
func TestDocumentRecords(t *testing.T) {
	t.Parallel()
	rows := people(5)
	csv := csvText(rows)
	eml := "From: a@example.jp\r\nSubject: fwd\r\nContent-Type: text/csv; charset=utf-8\r\nContent-Disposition: attachment; filename=\"in.csv\"\r\n\r\n" + csv
	tests := []struct {
		name, ctype string
		data        []byte
		file        string // Personal.File of the finding
	}{
		{"utf8.csv", "text/csv", []byte("\uFEFF" + csv), "utf8.csv"},
		{"sjis.csv", "application/octet-stream", shiftJIS(csv), "sjis.csv"},
		{"euc.csv", "text/csv", eucjp(csv), "euc.csv"},
		{"u16le.csv", "text/csv", utf16(csv, unicode.LittleEndian), "u16le.csv"},
		{"u16be.tsv", "text/tab-separated-values", utf16(strings.ReplaceAll(csv, ",", "\t"), unicode.BigEndian), "u16be.tsv"},
		{"list.txt", "text/plain", []byte(strings.ReplaceAll(csv, ",", " ")), "list.txt"},
		{"list.html", "text/html", []byte("<table>" + strings.ReplaceAll(strings.ReplaceAll(csv, ",", "</td><td>"), "\r\n", "</td></tr>\n<tr><td>") + "</table>"), "list.html"},
		{"book.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", fixture.XLSX(fixture.Sheet{Name: "名簿", Rows: rows}), "book.xlsx (名簿)"},
		{"doc.docx", "application/octet-stream", fixture.DOCX([]string{"一覧"}, rows), "doc.docx (table 1)"},
		{"deck.pptx", "application/octet-stream", fixture.PPTX(func() []string {
			var s []string
			for _, r := range rows {
				s = append(s, strings.Join(r, " "))
			}
			return s
		}()), "deck.pptx (slide1)"},
		{"old.xls", "application/vnd.ms-excel", fixture.XLS("名簿", rows), "old.xls (名簿)"},
		{"book.ods", "application/vnd.oasis.opendocument.spreadsheet", fixture.ODF(true, nil, fixture.Sheet{Name: "名簿", Rows: rows}), "book.ods (名簿)"},
		{"text.odt", "application/vnd.oasis.opendocument.text", fixture.ODF(false, []string{"一覧"}, fixture.Sheet{Name: "表1", Rows: rows}), "text.odt (表1)"},
		{"list.pdf", "application/pdf", fixture.PDF(rows, fixture.PDFOptions{Compress: true, ToUnicode: true, ObjStm: true}), "list.pdf"},
		{"data.zip", "application/zip", fixture.ZIP(fixture.Entry{Name: "a/list.csv", Data: shiftJIS(csv)}), "data.zip/a/list.csv"},
		{"nested.zip", "application/zip", fixture.ZIP(fixture.Entry{Name: "in.zip", Data: fixture.ZIP(fixture.Entry{Name: "book.xlsx", Data: fixture.XLSX(fixture.Sheet{Name: "S", Rows: rows})})}), "nested.zip/in.zip/book.xlsx (S)"},
		{"mail.zip", "application/zip", fixture.ZIP(fixture.Entry{Name: "fwd.eml", Data: []byte(eml)}), "in.csv"},
		{"fwd.eml", "message/rfc822", []byte(eml), "in.csv"},
		{"winmail.dat", "application/ms-tnef", fixture.TNEF(fixture.Entry{Name: "名簿.xls", Data: fixture.XLS("名簿", rows)}), "winmail.dat/名簿.xls (名簿)"},
		{"old.doc", "application/msword", fixture.DOC([]string{"一覧"}, rows), "old.doc (table 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := Inspect(mailWith(tt.name, tt.ctype, tt.data), Limits{})
			noProblems(t, f)
			if f.PersonalRecords != 5 {
				t.Errorf("records %d, want 5: %+v", f.PersonalRecords, f.Personal)
			}
			found := false
			for _, p := range f.Personal {
				found = found || p.File == tt.file && p.Records == 5 && strings.HasPrefix(p.Part, "2")
			}
			if !found {
				t.Errorf("no finding for %q: %+v", tt.file, f.Personal)
			}
		})
	}
}

// TestDocumentLinks: links inside archives, HTML in archives and PDF
// content streams are found like any other link.
func TestDocumentLinks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data []byte
		url  string
	}{
		{"a.zip", fixture.ZIP(fixture.Entry{Name: "note.txt", Data: []byte("see https://drive.google.com/drive/folders/1AbCdEfGhIjKlMn\n")}), "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMn"},
		{"b.zip", fixture.ZIP(fixture.Entry{Name: "page.html", Data: []byte(`<a href="https://www.dropbox.com/scl/fo/abc123/x">here</a>`)}), "https://www.dropbox.com/scl/fo/abc123/x"},
		{"c.zip", fixture.ZIP(fixture.Entry{Name: "x.zip", Data: fixture.ZIP(fixture.Entry{Name: "d.docx", Data: fixture.DOCX([]string{"l|https://app.box.com/s/abc123"}, nil)})}), "https://app.box.com/s/abc123"},
		{"d.pdf", fixture.PDF([][]string{{"https://we.tl/t-abc123"}}, fixture.PDFOptions{Compress: true}), "https://we.tl/t-abc123"},
		{"e.odt", fixture.ODF(false, []string{"https://mega.nz/folder/abc#k"}), "https://mega.nz/folder/abc#k"},
	}
	for _, tt := range tests {
		f := Inspect(mailWith(tt.name, "application/octet-stream", tt.data), Limits{})
		noProblems(t, f)
		if _, ok := linkURLs(f)[tt.url]; !ok {
			t.Errorf("%s: missing %s in %+v", tt.name, tt.url, f.Links)
		}
	}
}

// TestDocumentBounds: a bound hit inside an attachment is an inspection
// problem (the message is held), and so is an unreadable archive.
func TestDocumentBounds(t *testing.T) {
	t.Parallel()
	bomb := fixture.ZIP(fixture.Entry{Name: "z.txt", Data: []byte(strings.Repeat("0", 20<<20))})
	nested := fixture.ZIP(fixture.Entry{Name: "x.txt", Data: []byte("x")})
	for range 6 {
		nested = fixture.ZIP(fixture.Entry{Name: "n.zip", Data: nested})
	}
	tests := []struct {
		name string
		data []byte
		lim  Limits
		kind string
	}{
		{"bomb.zip", bomb, Limits{}, KindLimitSize},
		{"bomb2.zip", bomb, Limits{MaxDecodedSize: 1 << 20}, KindLimitSize},
		{"nested.zip", nested, Limits{}, KindLimitDepth},
		{"broken.zip", []byte("PK\x03\x04 not really"), Limits{}, KindParse},
		{"disguised.pdf", []byte{0x7F, 'E', 'L', 'F', 0, 0, 1, 2}, Limits{}, KindParse},
	}
	for _, tt := range tests {
		f := Inspect(mailWith(tt.name, "application/zip", tt.data), tt.lim)
		if problemKinds(f) != tt.kind {
			t.Errorf("%s: problems %+v, want %s", tt.name, f.Problems, tt.kind)
		}
	}
}

// TestRecordsDistinctPerMessage: the same list attached twice (once as
// CSV, once inside a zip) is five records per file and five per message.
func TestRecordsDistinctPerMessage(t *testing.T) {
	t.Parallel()
	csv := []byte(csvText(people(5)))
	raw := []byte("From: a@example.jp\r\nTo: b@example.org\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=a.csv\r\n\r\n" + string(csv) +
		"\r\n--b\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=b.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(fixture.ZIP(fixture.Entry{Name: "a.csv", Data: csv})) + "\r\n--b--\r\n")
	f := Inspect(raw, Limits{})
	noProblems(t, f)
	if f.PersonalRecords != 5 || len(f.Personal) != 2 || f.Personal[0].Records != 5 || f.Personal[1].Records != 5 {
		t.Errorf("records %d, per file %+v", f.PersonalRecords, f.Personal)
	}
}

// TestMyNumberInSubject: the subject is scanned like a line of the body.
func TestMyNumberInSubject(t *testing.T) {
	t.Parallel()
	f := Inspect([]byte("From: a@example.jp\r\nSubject: 個人番号 1234 5678 9018 の件\r\n\r\nhi\r\n"), Limits{})
	if f.MyNumbers != 1 || len(f.Personal) != 1 || f.Personal[0].File != "件名/Subject" {
		t.Errorf("%d %+v", f.MyNumbers, f.Personal)
	}
}

// TestRecordsAlternativeBodies: a list in both the plain and the HTML
// version of a body is counted once.
func TestRecordsAlternativeBodies(t *testing.T) {
	t.Parallel()
	var plain, html strings.Builder
	for i := range 3 {
		fmt.Fprintf(&plain, "山田 太郎%c  090-1234-%04d\r\n", 'ア'+rune(i), i)
		fmt.Fprintf(&html, "<tr><td>山田 太郎%c</td><td>090-1234-%04d</td></tr>\r\n", 'ア'+rune(i), i)
	}
	raw := "From: a@example.jp\r\nSubject: x\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		plain.String() + "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<table>" + html.String() + "</table>\r\n--b--\r\n"
	f := Inspect([]byte(raw), Limits{})
	if f.PersonalRecords != 3 || len(f.Personal) != 2 {
		t.Errorf("records %d: %+v", f.PersonalRecords, f.Personal)
	}
}
