package message

import (
	"fmt"
	"testing"

	"github.com/egressguard/egressguard/internal/extract/fixture"
)

func benchRows(n int) [][]string {
	rows := [][]string{{"氏名", "電話番号", "生年月日", "住所", "症状"}}
	for i := range n {
		rows = append(rows, []string{fmt.Sprintf("山田 太郎%d", i%7), fmt.Sprintf("090-%04d-%04d", i%10000, (i*7)%10000),
			fmt.Sprintf("昭和%d年%d月%d日", 30+i%30, 1+i%12, 1+i%28), fmt.Sprintf("東京都千代田区千代田%d-%d", 1+i%9, 1+i%20), "頭痛と発熱"})
	}
	return rows
}

// BenchmarkAttachment measures Inspect on a message with one attachment
// of 10,000 person records, in MB/s of attachment.
func BenchmarkAttachment(b *testing.B) {
	rows := benchRows(10000)
	var csv []byte
	for _, r := range rows {
		for i, c := range r {
			if i > 0 {
				csv = append(csv, ',')
			}
			csv = append(csv, c...)
		}
		csv = append(csv, '\r', '\n')
	}
	files := []struct {
		name, ctype string
		data        []byte
	}{
		{"list.csv", "text/csv", csv},
		{"list.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", fixture.XLSX(fixture.Sheet{Name: "Sheet1", Rows: rows})},
		{"list.pdf", "application/pdf", fixture.PDF(rows[:2000], fixture.PDFOptions{Compress: true, ToUnicode: true})},
		{"list.zip", "application/zip", fixture.ZIP(fixture.Entry{Name: "list.csv", Data: csv})},
	}
	for _, f := range files {
		raw := mailWith(f.name, f.ctype, f.data)
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(f.data)))
			for b.Loop() {
				if r := Inspect(raw, Limits{}); r.PersonalRecords == 0 || len(r.Problems) > 0 {
					b.Fatalf("records %d problems %+v", r.PersonalRecords, r.Problems)
				}
			}
		})
	}
}

// BenchmarkInspect100KXLSX is the relay benchmark's message: a short
// mail with a 100 KB spreadsheet of person records.
func BenchmarkInspect100KXLSX(b *testing.B) {
	n := 500
	var x []byte
	for {
		x = fixture.XLSX(fixture.Sheet{Name: "Sheet1", Rows: benchRows(n)})
		if len(x) >= 100<<10 {
			break
		}
		n += 250
	}
	benchInspectRaw(b, mailWith("list.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", x))
}

// BenchmarkInspectBenchmail is the message tools/benchmail writes for the
// relay benchmark: a 100 KB XLSX of made-up patients (about 1,600, less
// repetitive than benchRows', so fewer fit in 100 KB) or of sales figures.
func BenchmarkInspectBenchmail(b *testing.B) {
	const ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	for _, k := range []struct {
		name string
		rows func(int) [][]string
	}{{"persons", fixture.PersonRows}, {"sales", fixture.SalesRows}} {
		raw := mailWith("list.xlsx", ctype, fixture.XLSXOfSize(100000, k.rows))
		b.Run(k.name, func(b *testing.B) { benchInspectRaw(b, raw) })
	}
}

func benchInspectRaw(b *testing.B, raw []byte) {
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if f := Inspect(raw, Limits{}); len(f.Problems) > 0 {
			b.Fatal(f.Problems)
		}
	}
}
