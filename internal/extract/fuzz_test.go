package extract_test

import (
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/extract"
	"github.com/egressguard/egressguard/internal/extract/fixture"
)

// fuzzFile checks that any input is read within its bounds and without
// a panic (File recovers, so a recovered panic shows as a parse problem
// named "internal error", which fails here).
func fuzzFile(f *testing.F, name string, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := extract.Limits{MaxBytes: 4 << 20, Deadline: time.Now().Add(2 * time.Second)}
		res := extract.File(name, data, lim)
		if res.Used > lim.MaxBytes {
			t.Fatalf("used %d of %d", res.Used, lim.MaxBytes)
		}
		for _, p := range res.Problems {
			if p.Detail == "internal error reading the file" {
				t.Fatalf("panic on %q", data)
			}
		}
	})
}

var rows = [][]string{{"氏名", "電話番号"}, {"山田 太郎", "090-1234-5678"}, {"https://drive.google.com/drive/folders/x"}}

func FuzzZIP(f *testing.F) {
	fuzzFile(f, "a.zip", fixture.ZIP(fixture.Entry{Name: "a.csv", Data: []byte("a,b\n1,2\n")},
		fixture.Entry{Name: "in.zip", Data: fixture.ZIP(fixture.Entry{Name: "x.txt", Data: []byte("x")})}))
}

func FuzzXLSX(f *testing.F) {
	fuzzFile(f, "a.xlsx", fixture.XLSX(fixture.Sheet{Name: "S", Rows: rows}))
}

func FuzzDOCX(f *testing.F) {
	fuzzFile(f, "a.docx", fixture.DOCX([]string{"p", "l|https://x.example/"}, rows))
}

func FuzzPPTX(f *testing.F) { fuzzFile(f, "a.pptx", fixture.PPTX([]string{"a", "b"})) }

func FuzzODF(f *testing.F) {
	fuzzFile(f, "a.ods", fixture.ODF(true, nil, fixture.Sheet{Name: "S", Rows: rows}), fixture.ODF(false, []string{"x"}))
}

func FuzzPDF(f *testing.F) {
	fuzzFile(f, "a.pdf", fixture.PDF(rows, fixture.PDFOptions{}), fixture.PDF(rows, fixture.PDFOptions{Compress: true, ToUnicode: true, ObjStm: true, URI: "https://x.example/"}))
}

func FuzzCSV(f *testing.F) {
	fuzzFile(f, "a.csv", []byte("a,\"b\nc\",d\n"), []byte("\xff\xfea\x00,\x00b\x00"), []byte("\x82\xa0,\x82\xa2\n"))
}

func FuzzXLS(f *testing.F) {
	fuzzFile(f, "a.xls", fixture.XLS("S", rows), fixture.EncryptedOffice())
}

func FuzzTNEF(f *testing.F) {
	fuzzFile(f, "winmail.dat", fixture.TNEF(fixture.Entry{Name: "名簿.csv", Data: []byte("a,b\n1,2\n")}))
}

func FuzzWordDOC(f *testing.F) {
	fuzzFile(f, "a.doc", fixture.DOC([]string{"p"}, rows))
}
