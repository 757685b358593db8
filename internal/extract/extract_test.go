package extract_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/unicode"

	"github.com/egressguard/egressguard/internal/extract"
	"github.com/egressguard/egressguard/internal/extract/fixture"
)

var people = [][]string{
	{"氏名", "電話番号", "生年月日"},
	{"山田 太郎", "090-1234-5678", "1980/01/02"},
	{"佐藤 花子", "03-1234-5678", "昭和55年3月4日"},
}

func text(res *extract.Result) string {
	var sb strings.Builder
	for _, d := range res.Docs {
		sb.WriteString(d.Name + "\n")
		sb.WriteString(extract.RowsText(d.Rows))
		for _, l := range d.Links {
			sb.WriteString("link " + l + "\n")
		}
	}
	return sb.String()
}

func TestFormats(t *testing.T) {
	sjis, _ := japanese.ShiftJIS.NewEncoder().Bytes([]byte("氏名,電話番号\n山田 太郎,090-1234-5678\n"))
	euc, _ := japanese.EUCJP.NewEncoder().Bytes([]byte("氏名,電話番号\n山田 太郎,090-1234-5678\n"))
	u16le, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte("氏名\t電話番号\n山田 太郎\t090-1234-5678\n"))
	u16be, _ := unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder().Bytes([]byte("氏名,電話番号\n山田 太郎,090-1234-5678\n"))
	tests := []struct {
		name string
		data []byte
		want []string // substrings of the text
		enc  bool
	}{
		{"list.csv", sjis, []string{"山田 太郎\t090-1234-5678"}, false},
		{"list.csv", euc, []string{"山田 太郎\t090-1234-5678"}, false},
		{"list.tsv", u16le, []string{"山田 太郎\t090-1234-5678"}, false},
		{"list.csv", u16be, []string{"山田 太郎\t090-1234-5678"}, false},
		{"list.csv", append([]byte("\xEF\xBB\xBF"), "氏名,電話\n\"山田, 太郎\",090\n"...), []string{"氏名\t電話", "山田, 太郎\t090"}, false},
		{"患者一覧.xlsx", fixture.XLSX(fixture.Sheet{Name: "Sheet1", Rows: people}, fixture.Sheet{Name: "別紙", Rows: [][]string{{"", "x", "", "https://drive.google.com/drive/folders/abc"}}, Inline: true}),
			[]string{"患者一覧.xlsx (Sheet1)\n氏名\t電話番号\t生年月日\n山田 太郎\t090-1234-5678\t1980/01/02", "患者一覧.xlsx (別紙)\n\tx\t\thttps://drive.google.com/drive/folders/abc"}, false},
		{"a.docx", fixture.DOCX([]string{"本文の段落です", "リンク|https://www.dropbox.com/s/abc/x.pdf"}, people),
			[]string{"本文の段落です", "link https://www.dropbox.com/s/abc/x.pdf", "a.docx (table 1)\n氏名\t電話番号\t生年月日\n山田 太郎\t090-1234-5678"}, false},
		{"a.pptx", fixture.PPTX([]string{"一枚目"}, []string{"二枚目", "山田 太郎"}), []string{"a.pptx (slide1)\n一枚目", "a.pptx (slide2)\n二枚目\n山田 太郎"}, false},
		{"a.ods", fixture.ODF(true, nil, fixture.Sheet{Name: "名簿", Rows: people}), []string{"a.ods (名簿)\n氏名\t電話番号\t生年月日\n山田 太郎\t090-1234-5678\t1980/01/02\n佐藤"}, false},
		{"a.odt", fixture.ODF(false, []string{"社外秘の文書", "https://example.com/x"}), []string{"社外秘の文書\nhttps://example.com/x"}, false},
		{"a.pdf", fixture.PDF(people, fixture.PDFOptions{}), []string{"氏名" /* Latin-1 only: see below */}, false},
		{"b.pdf", fixture.PDF(people, fixture.PDFOptions{Compress: true, ToUnicode: true}), []string{"氏名\t電話番号\t生年月日\n山田 太郎\t090-1234-5678\t1980/01/02"}, false},
		{"c.pdf", fixture.PDF(people, fixture.PDFOptions{Compress: true, ToUnicode: true, ObjStm: true, URI: "https://wetransfer.com/downloads/abc"}), []string{"山田 太郎\t090-1234-5678", "link https://wetransfer.com/downloads/abc"}, false},
		{"d.pdf", fixture.PDF([][]string{{"https://drive.google.com/file/d/abc/view"}}, fixture.PDFOptions{Compress: true}), []string{"https://drive.google.com/file/d/abc/view"}, false},
		{"e.pdf", fixture.PDF(people, fixture.PDFOptions{Encrypt: true}), nil, true},
		{"f.pdf", fixture.PDF(people, fixture.PDFOptions{ASCII85: true, ToUnicode: true}), []string{"山田 太郎\t090-1234-5678"}, false},
		{"g.pdf", fixture.PDF([][]string{{"x"}}, fixture.PDFOptions{Compress: true, Embed: fixture.ZIP(fixture.Entry{Name: "list.csv", Data: []byte("氏名,電話\n山田 太郎,090-1234-5678\n")})}), []string{"g.pdf/embedded file 1/list.csv\n氏名\t電話\n山田 太郎\t090-1234-5678"}, false},
		{"a.zip", fixture.ZIP(fixture.Entry{Name: "dir/", Data: nil}, fixture.Entry{Name: "dir/list.csv", Data: sjis},
			fixture.Entry{Name: "in.zip", Data: fixture.ZIP(fixture.Entry{Name: "note.txt", Data: []byte("https://drive.google.com/drive/folders/xyz\n")})}),
			[]string{"a.zip/dir/list.csv\n氏名\t電話番号\n山田 太郎", "a.zip/in.zip/note.txt\nhttps://drive.google.com/drive/folders/xyz"}, false},
		{"emb.docx", fixture.ZIP(fixture.Entry{Name: "[Content_Types].xml", Data: []byte("<Types/>")}, fixture.Entry{Name: "word/document.xml", Data: []byte("<w:document><w:body><w:p><w:r><w:t>本文</w:t></w:r></w:p></w:body></w:document>")},
			fixture.Entry{Name: "word/embeddings/Microsoft_Excel_Worksheet.xlsx", Data: fixture.XLSX(fixture.Sheet{Name: "S", Rows: people})}),
			[]string{"emb.docx/Microsoft_Excel_Worksheet.xlsx (S)\n氏名\t電話番号"}, false},
		{"big.zip", fixture.ZIP(fixture.Entry{Name: "export.dat", Data: bigText()}), []string{"big.zip/export.dat\n山田 太郎0,090-0000-0000"}, false},
		{"renamed.xlsx", []byte("氏名,電話\n山田 太郎,090-1234-5678\n"), []string{"renamed.xlsx\n氏名,電話\n山田 太郎,090-1234-5678"}, false},
		{"enc.zip", fixture.ZIP(fixture.Entry{Name: "list.csv", Data: []byte("x"), Encrypted: true}), nil, true},
		{"aes.zip", fixture.ZIP(fixture.Entry{Name: "list.csv", Data: []byte("x"), AES: true}), nil, true},
		{"enc.xlsx", fixture.EncryptedOffice(), nil, true},
		{"enc.ods", fixture.ZIP(fixture.Entry{Name: "mimetype", Data: []byte("application/vnd.oasis.opendocument.spreadsheet"), Store: true},
			fixture.Entry{Name: "content.xml", Data: []byte("\x8f\x01ciphertext")},
			fixture.Entry{Name: "META-INF/manifest.xml", Data: []byte(`<manifest:manifest><manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data manifest:checksum-type="SHA1/1K"/></manifest:file-entry></manifest:manifest>`)}), nil, true},
		{"old.xls", fixture.XLS("名簿", people), []string{"old.xls (名簿)\n氏名\t電話番号\t生年月日\n山田 太郎\t090-1234-5678\t1980/01/02\n佐藤 花子"}, false},
		{"big.xls", fixture.XLS("S", bigRows()), []string{"big.xls (S)\n", "山田 太郎299\t9012345299", "山田 太郎899\t9012345899"}, false},
	}
	for _, tt := range tests {
		res := extract.File(tt.name, tt.data, extract.Limits{})
		got := text(res)
		if tt.name == "a.pdf" {
			// Base-14 fonts cannot show Japanese: only structure is
			// checked for the plain PDF.
			if !strings.Contains(got, "090-1234-5678\t1980/01/02") {
				t.Errorf("%s: text %q", tt.name, got)
			}
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: missing %q in\n%s", tt.name, w, got)
			}
		}
		if res.Encrypted != tt.enc {
			t.Errorf("%s: encrypted %v", tt.name, res.Encrypted)
		}
		if len(res.Problems) > 0 {
			t.Errorf("%s: problems %+v", tt.name, res.Problems)
		}
	}
}

// bigText is over 1 MiB of varied lines, in a file whose name says
// nothing of its type.
func bigText() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 1<<21; i++ {
		fmt.Fprintf(&b, "山田 太郎%d,090-%04d-%04d,%x\n", i, i%10000, (i*7919)%10000, i*2654435761)
	}
	return b.Bytes()
}

// bigRows makes a shared string table larger than one record (CONTINUE).
func bigRows() [][]string {
	var rows [][]string
	for i := range 900 {
		rows = append(rows, []string{fmt.Sprintf("山田 太郎%d", i), fmt.Sprint(9012345000 + i)})
	}
	return rows
}

func TestBounds(t *testing.T) {
	bomb := fixture.ZIP(fixture.Entry{Name: "zeros.txt", Data: bytes.Repeat([]byte{'0'}, 50<<20)})
	nested := fixture.ZIP(fixture.Entry{Name: "x.txt", Data: []byte("x")})
	for range 6 {
		nested = fixture.ZIP(fixture.Entry{Name: "n.zip", Data: nested})
	}
	var many []fixture.Entry
	for i := range 200 {
		many = append(many, fixture.Entry{Name: strings.Repeat("d", i%7) + string(rune('a'+i%26)) + ".txt", Data: []byte("x")})
	}
	tests := []struct {
		name string
		data []byte
		lim  extract.Limits
		kind string
	}{
		{"bomb.zip", bomb, extract.Limits{MaxBytes: 100 << 20}, extract.KindLimitSize},
		{"bomb.zip", bomb, extract.Limits{MaxBytes: 1 << 20, MaxRatio: 1 << 30}, extract.KindLimitSize},
		{"nested.zip", nested, extract.Limits{}, extract.KindLimitDepth},
		{"many.zip", fixture.ZIP(many...), extract.Limits{MaxEntries: 100}, extract.KindLimitEntries},
		{"slow.zip", nested, extract.Limits{Deadline: time.Now().Add(-time.Second)}, extract.KindLimitTime},
		{"broken.zip", []byte("PK\x03\x04garbage"), extract.Limits{}, extract.KindParse},
		{"lzw.pdf", fixture.PDF(people, fixture.PDFOptions{LZW: true}), extract.Limits{}, extract.KindParse},
		{"fake.xlsx", []byte{0x00, 0x01, 0x02, 0xFF, 0xFE, 0x00, 0x10}, extract.Limits{}, extract.KindParse},
		{"fake.pdf", []byte("\x00\x00garbage\x00"), extract.Limits{}, extract.KindParse},
		{"broken.xls", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...), extract.Limits{}, extract.KindParse},
		{"bomb.pdf", fixture.PDF([][]string{{strings.Repeat("0", 30<<20)}}, fixture.PDFOptions{Compress: true}), extract.Limits{}, extract.KindLimitSize},
	}
	for _, tt := range tests {
		res := extract.File(tt.name, tt.data, tt.lim)
		found := false
		for _, p := range res.Problems {
			found = found || p.Kind == tt.kind
		}
		if !found {
			t.Errorf("%s: want a %s problem, got %+v", tt.name, tt.kind, res.Problems)
		}
		if res.Used > max(tt.lim.MaxBytes, extract.DefaultLimits.MaxBytes) {
			t.Errorf("%s: used %d", tt.name, res.Used)
		}
	}
}

// TestPDFFontsPerPage: the same font name on two pages with different
// ToUnicode maps is decoded with each page's own map.
func TestPDFFontsPerPage(t *testing.T) {
	cmap := func(to string) string {
		s := "/CIDInit /ProcSet findresource begin 12 dict begin begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange 1 beginbfchar <0001> <" + to + "> endbfchar endcmap end end"
		return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(s), s)
	}
	content := "BT /F1 12 Tf 1 0 0 1 10 10 Tm <00010001> Tj ET"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
		"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 7 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Page /Parent 2 0 R /Resources 11 0 R /Contents [6 0 R] >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type0 /ToUnicode 9 0 R >>",
		"<< /Type /Font /Subtype /Type0 /ToUnicode 10 0 R >>",
		cmap("5C71"), // 山
		cmap("7530"), // 田
		"<< /Font << /F1 8 0 R >> >>",
	}
	var b strings.Builder
	b.WriteString("%PDF-1.7\n")
	for i, o := range objs {
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	b.WriteString("trailer\n<< /Root 1 0 R >>\n%%EOF\n")
	res := extract.File("p.pdf", []byte(b.String()), extract.Limits{})
	if got := text(res); !strings.Contains(got, "山山\n田田") {
		t.Errorf("text %q", got)
	}
}

// TestSJISOrEUC: bytes that decode both as Shift_JIS and as EUC-JP.
func TestSJISOrEUC(t *testing.T) {
	for _, tt := range []struct {
		text string
		enc  string
	}{
		{"ﾔﾏﾀﾞ ﾀﾛｳ,0312345678\nｻﾄｳ ﾊﾅｺ,0311112222\n", "shift_jis"}, // bank transfer data: half-width kana only
		{"ｶﾌﾞｼｷｶﾞｲｼｬ ﾔﾏﾀﾞ\n", "shift_jis"},
		{"山田太郎,佐藤花子\n", "euc-jp"}, // names only, no kana
		{"氏名,住所\n高橋一郎,東京都\n", "euc-jp"},
		{"山田です\n", "euc-jp"},
	} {
		var b []byte
		var err error
		if tt.enc == "shift_jis" {
			b, err = japanese.ShiftJIS.NewEncoder().Bytes([]byte(tt.text))
		} else {
			b, err = japanese.EUCJP.NewEncoder().Bytes([]byte(tt.text))
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, cs := extract.DecodeCharset(b); got != tt.text || cs != tt.enc {
			t.Errorf("%q: got %q as %s", tt.text, got, cs)
		}
	}
}

// rawPDF builds a PDF from object bodies, numbered from 1.
func rawPDF(objs ...string) []byte {
	var b strings.Builder
	b.WriteString("%PDF-1.7\n")
	for i, o := range objs {
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	b.WriteString("trailer\n<< /Root 1 0 R >>\n%%EOF\n")
	return []byte(b.String())
}

func pdfStream(s string) string {
	return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(s), s)
}

// TestPDFCellsOnABaseline: spreadsheet and word processor exports show
// each cell in a text object of its own, placed with an absolute Td (or
// with cm); cells on one baseline are one row, whatever way they got
// there.
func TestPDFCellsOnABaseline(t *testing.T) {
	rows := [][]string{{"氏名", "電話番号", "生年月日"}, {"山田 太郎", "090-1234-5678", "1980/01/02"}, {"佐藤 花子", "03-1234-5678", "1975/12/31"}}
	var td, cm strings.Builder
	for i, r := range rows {
		for j, c := range r {
			s := ""
			for _, u := range utf16.Encode([]rune(c)) {
				s += fmt.Sprintf("%04X", u)
			}
			// As LibreOffice writes it: BT x y Td … Tj ET per cell.
			fmt.Fprintf(&td, "q 0 0 0 rg\nBT\n%d.5 %d.25 Td /F1 10 Tf<%s>Tj\nET\nQ\n", 50+j*120, 700-i*14, s)
			// Moved by the graphics state instead, the text at 0 0.
			fmt.Fprintf(&cm, "q 1 0 0 1 %d %d cm BT /F1 10 Tf 0 0 Td <%s> Tj ET Q\n", 50+j*120, 700-i*14, s)
		}
	}
	for name, content := range map[string]string{"td": td.String(), "cm": cm.String()} {
		// A standard Japanese font, not embedded and without a ToUnicode
		// map: UniJIS-UCS2-H says the codes are UTF-16.
		pdf := rawPDF(
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
			pdfStream(content),
			"<< /Type /Font /Subtype /Type0 /BaseFont /HeiseiKakuGo-W5 /Encoding /UniJIS-UCS2-H /DescendantFonts [<< /Type /Font /Subtype /CIDFontType0 /BaseFont /HeiseiKakuGo-W5 /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 2 >> >>] >>",
		)
		res := extract.File("list.pdf", pdf, extract.Limits{})
		want := "氏名\t電話番号\t生年月日\n山田 太郎\t090-1234-5678\t1980/01/02\n佐藤 花子\t03-1234-5678\t1975/12/31\n"
		if len(res.Docs) != 1 || res.Docs[0].Kind != extract.Table || extract.RowsText(res.Docs[0].Rows) != want {
			t.Errorf("%s: %+v", name, res.Docs)
		}
	}
}

// TestPDFPredefinedCMaps: fonts without a ToUnicode map whose encoding is
// a predefined Japanese CMap.
func TestPDFPredefinedCMaps(t *testing.T) {
	sjis, _ := japanese.ShiftJIS.NewEncoder().Bytes([]byte("山田ﾀﾛｳ"))
	euc, _ := japanese.EUCJP.NewEncoder().Bytes([]byte("山田"))
	hexOf := func(b []byte) string { return fmt.Sprintf("%X", b) }
	for _, tt := range []struct{ enc, hex, want string }{
		{"UniJIS-UCS2-H", "5C71753000200031", "山田 1"},
		{"UniJIS-UTF16-V", "D842DFB7", "𠮷"},
		{"UniJIS-UCS2-HW-H", "FF76FF9E", "ｶﾞ"},
		{"UniJIS-UTF8-H", hexOf([]byte("山田")), "山田"},
		{"90ms-RKSJ-H", hexOf(sjis), "山田ﾀﾛｳ"},
		{"EUC-H", hexOf(euc), "山田"},
		{"H", "3B334544", "山田"},
		{"Identity-H", "0001", ""}, // glyph numbers: nothing to read without the font
	} {
		content := "BT /F1 10 Tf 10 10 Td <" + tt.hex + "> Tj ET"
		pdf := rawPDF(
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
			pdfStream(content),
			"<< /Type /Font /Subtype /Type0 /BaseFont /MS-Mincho /Encoding /"+tt.enc+" >>",
		)
		got := text(extract.File("a.pdf", pdf, extract.Limits{}))
		if tt.want == "" {
			if strings.Contains(got, "山") {
				t.Errorf("%s: %q", tt.enc, got)
			}
			continue
		}
		if !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.enc, got, tt.want)
		}
	}
}

// TestWordTables: a Word 97–2003 table keeps its rows and cells (cell
// marks end cells, one more ends the row), and short cells are kept.
func TestWordTables(t *testing.T) {
	table := [][]string{{"氏名", "性別", "電話"}, {"山田 太郎", "男", "090-1234-5678"}, {"佐藤 花子", "女", "03-1234-5678"}}
	res := extract.File("名簿.doc", fixture.DOC([]string{"会員名簿", "2025年3月"}, table), extract.Limits{})
	want := "名簿.doc\n会員名簿\n2025年3月\n名簿.doc (table 1)\n氏名\t性別\t電話\n山田 太郎\t男\t090-1234-5678\n佐藤 花子\t女\t03-1234-5678\n"
	if got := text(res); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, d := range res.Docs {
		if strings.HasSuffix(d.Name, "(table 1)") && d.Kind != extract.Table {
			t.Errorf("%s: kind %v", d.Name, d.Kind)
		}
	}
}

// xlsxWith builds a workbook from its sheet and styles parts.
func xlsxWith(workbookPr, styles, sheet string) []byte {
	return fixture.ZIP(
		fixture.Entry{Name: "[Content_Types].xml", Data: []byte(`<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`)},
		fixture.Entry{Name: "xl/workbook.xml", Data: []byte(`<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` + workbookPr + `<sheets><sheet name="名簿" sheetId="1" r:id="rId1"/></sheets></workbook>`)},
		fixture.Entry{Name: "xl/_rels/workbook.xml.rels", Data: []byte(`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`)},
		fixture.Entry{Name: "xl/styles.xml", Data: []byte(styles)},
		fixture.Entry{Name: "xl/worksheets/sheet1.xml", Data: []byte(`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` + sheet + `</sheetData></worksheet>`)},
	)
}

// TestXLSXNumberFormats: numbers are read as their cell style shows them:
// date serials as dates (built-in and custom formats, Japanese eras, the
// 1904 date system), integers in patterns with their leading zeros
// (phone numbers, postal codes); other numbers as stored.
func TestXLSXNumberFormats(t *testing.T) {
	styles := `<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="5">` +
		`<numFmt numFmtId="176" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/>` +
		`<numFmt numFmtId="177" formatCode="00000000000"/>` +
		`<numFmt numFmtId="178" formatCode="000\-0000"/>` +
		`<numFmt numFmtId="179" formatCode="[$-ja-JP-x-gannen]ggge&quot;年&quot;m&quot;月&quot;d&quot;日&quot;;@"/>` +
		`<numFmt numFmtId="180" formatCode="yyyy/mm/dd\ hh:mm"/>` +
		`</numFmts><cellXfs count="10">` +
		`<xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="176"/><xf numFmtId="177"/><xf numFmtId="178"/>` +
		`<xf numFmtId="179"/><xf numFmtId="3"/><xf numFmtId="20"/><xf numFmtId="180"/><xf numFmtId="57"/>` +
		`</cellXfs></styleSheet>`
	cells := []struct{ style, v, want string }{
		{"1", "25629", "1970/3/2"},
		{"2", "25629", "1970/3/2"},
		{"3", "9012345678", "09012345678"},
		{"4", "1000001", "100-0001"},
		{"5", "32599", "1989/4/1"},
		{"6", "1234567", "1234567"},
		{"7", "0.5", "0.5"},
		{"8", "45000.75", "2023/3/15 18:00"},
		{"9", "12785", "1935/1/1"},
		{"", "25630", "25630"},
		{"42", "25630", "25630"}, // no such style
	}
	var sheet, want strings.Builder
	want.WriteString("a.xlsx (名簿)\n")
	for i, c := range cells {
		s := ""
		if c.style != "" {
			s = ` s="` + c.style + `"`
		}
		fmt.Fprintf(&sheet, `<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c><c r="B%d"%s><v>%s</v></c></row>`, i+1, i+1, i+1, s, c.v)
		want.WriteString("x\t" + c.want + "\n")
	}
	if got := text(extract.File("a.xlsx", xlsxWith("", styles, sheet.String()), extract.Limits{})); got != want.String() {
		t.Errorf("got\n%s\nwant\n%s", got, want.String())
	}
	// The 1904 date system (old Macintosh workbooks).
	got := text(extract.File("a.xlsx", xlsxWith(`<workbookPr date1904="1"/>`, styles, `<row r="1"><c r="A1" s="1"><v>24167</v></c></row>`), extract.Limits{}))
	if !strings.Contains(got, "1970/3/2") {
		t.Errorf("1904: %q", got)
	}
}

// TestXLSNumberFormats: in an Excel 97–2003 workbook too, numbers are read
// as their cell style (XF, FORMAT) shows them.
func TestXLSNumberFormats(t *testing.T) {
	rows := [][]string{{"山田 太郎", "25629", "9012345678", "1234"}, {"佐藤 花子", "32599", "312345678", "5678"}}
	xls := fixture.XLSFormatted("名簿", rows, map[int]string{1: `yyyy"年"m"月"d"日"`, 2: "00000000000"})
	want := "名簿.xls (名簿)\n山田 太郎\t1970/3/2\t09012345678\t1234\n佐藤 花子\t1989/4/1\t00312345678\t5678\n"
	if got := text(extract.File("名簿.xls", xls, extract.Limits{})); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// pdfOfPieces is a one-page PDF showing each string at its position, in
// the order given, each in its own text object (UTF-16 through a
// predefined CMap).
func pdfOfPieces(pieces []pdfPiece) []byte {
	var content strings.Builder
	for _, p := range pieces {
		s := ""
		for _, u := range utf16.Encode([]rune(p.text)) {
			s += fmt.Sprintf("%04X", u)
		}
		fmt.Fprintf(&content, "BT /F1 11 Tf %g %g Td <%s> Tj ET\n", p.x, p.y, s)
	}
	return rawPDF(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		pdfStream(content.String()),
		"<< /Type /Font /Subtype /Type0 /BaseFont /HeiseiKakuGo-W5 /Encoding /UniJIS-UCS2-H >>",
	)
}

type pdfPiece struct {
	x, y float64
	text string
}

// TestPDFWrappedTable: a word processor's table printed to PDF, cell by
// cell and column by column, with long cells wrapped onto lines closer
// together than the rows: each row is whole again.
func TestPDFWrappedTable(t *testing.T) {
	var ps []pdfPiece
	ps = append(ps, pdfPiece{90, 700, "氏名"}, pdfPiece{160, 700, "電話"}, pdfPiece{230, 700, "メール"}, pdfPiece{400, 700, "備考"})
	y := 675.0
	for i, r := range [][3]string{{"山田 太郎", "090-1234-5678", "taro.yamada@example.jp"}, {"佐藤 花子", "03-1234-5678", "hanako@example.jp"}, {"鈴木 一郎", "06-1234-5678", "ichiro.suzuki@example.co.jp"}} {
		// Column by column; the name, the phone and the address wrap
		// (mid-word, as narrow cells do).
		ps = append(ps, pdfPiece{90, y, r[0][:7]}, pdfPiece{90, y - 14.5, r[0][7:]},
			pdfPiece{160, y, r[1][:7]}, pdfPiece{160, y - 14.5, r[1][7:]},
			pdfPiece{230, y, r[2][:9]}, pdfPiece{230, y - 14.5, r[2][9:]})
		if i == 1 {
			ps = append(ps, pdfPiece{400, y, "要連絡"}) // the fourth column, filled in once
		}
		y -= 40
	}
	got := text(extract.File("t.pdf", pdfOfPieces(ps), extract.Limits{}))
	// (The names wrapped at their space, which goes.)
	want := "t.pdf\n氏名\t電話\tメール\t備考\n山田太郎\t090-1234-5678\ttaro.yamada@example.jp\n佐藤花子\t03-1234-5678\thanako@example.jp\t要連絡\n鈴木一郎\t06-1234-5678\tichiro.suzuki@example.co.jp\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestPDFEvenRows: evenly spaced rows (a spreadsheet) are never joined,
// not even a row with an empty cell under a full one.
func TestPDFEvenRows(t *testing.T) {
	var ps []pdfPiece
	for i := range 12 {
		y := 700 - float64(i)*13
		ps = append(ps, pdfPiece{90, y, fmt.Sprintf("患者%02d", i)})
		if i%3 != 1 {
			ps = append(ps, pdfPiece{160, y, fmt.Sprintf("090-1234-%04d", i)})
		}
	}
	// A title and a footer further away.
	ps = append(ps, pdfPiece{90, 760, "患者一覧"}, pdfPiece{90, 400, "1 / 1"})
	res := extract.File("e.pdf", pdfOfPieces(ps), extract.Limits{})
	if len(res.Docs) != 1 || len(res.Docs[0].Rows) != 14 {
		t.Fatalf("%q", text(res))
	}
	if r := res.Docs[0].Rows[2]; len(r) != 1 || r[0] != "患者01" {
		t.Errorf("row with an empty cell: %q", r)
	}
}

// TestPDFGlyphByGlyph: a writer that places every glyph on its own; the
// cells are told by the space between glyphs, not by where glyphs line up
// from row to row.
func TestPDFGlyphByGlyph(t *testing.T) {
	rows := [][]string{{"氏名", "電話番号", "メール"}, {"山田　太郎", "090-1234-5678", "taro@example.jp"}, {"佐藤　花子", "03-1234-5678", "hanako@example.jp"}}
	var ps []pdfPiece
	for i, r := range rows {
		y := 700 - float64(i)*14
		for j, c := range r {
			x := 50 + float64(j)*150
			for _, ch := range c {
				if ch != '　' {
					ps = append(ps, pdfPiece{x, y, string(ch)})
				}
				// Widths of a proportional font.
				w := 0.55
				switch {
				case ch >= 0x2E80:
					w = 1
				case strings.ContainsRune("ijl", ch):
					w = 0.22
				case strings.ContainsRune("rtf-", ch):
					w = 0.33
				case ch == '.':
					w = 0.28
				case ch == 'm':
					w = 0.83
				case ch == '@':
					w = 0.92
				}
				x += w * 11
			}
		}
	}
	want := "g.pdf\n氏名\t電話番号\tメール\n山田 太郎\t090-1234-5678\ttaro@example.jp\n佐藤 花子\t03-1234-5678\thanako@example.jp\n"
	if got := text(extract.File("g.pdf", pdfOfPieces(ps), extract.Limits{})); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestTNEF: the attachments inside Outlook's winmail.dat are read, with
// their Shift_JIS names.
func TestTNEF(t *testing.T) {
	csv := []byte("氏名,電話\n山田 太郎,090-1234-5678\n")
	tnef := fixture.TNEF(fixture.Entry{Name: "名簿.csv", Data: csv}, fixture.Entry{Name: "a.zip", Data: fixture.ZIP(fixture.Entry{Name: "b.txt", Data: []byte("佐藤 花子 03-1234-5678")})})
	got := text(extract.File("winmail.dat", tnef, extract.Limits{}))
	want := "winmail.dat/名簿.csv\n氏名\t電話\n山田 太郎\t090-1234-5678\nwinmail.dat/a.zip/b.txt\n佐藤 花子 03-1234-5678\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Truncated: what was read is kept, and the damage is reported.
	res := extract.File("winmail.dat", tnef[:len(tnef)-40], extract.Limits{})
	if len(res.Problems) == 0 || !strings.Contains(text(res), "山田 太郎") {
		t.Errorf("truncated: %q %+v", text(res), res.Problems)
	}
}
