package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"

	"github.com/egressguard/egressguard/internal/extract/fixture"
	"github.com/egressguard/egressguard/internal/pii"
)

// personRows returns a header and n person records: name, reading, phone,
// date of birth and address, all distinct.
func personRows(n int) [][]string {
	sur := []string{"山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤", "吉田", "山本", "松本", "井上", "木村"}
	giv := []string{"太郎", "花子", "一郎", "陽子", "健", "美咲", "翔太", "由美", "大輔", "直子", "誠", "恵子", "拓也", "愛", "剛"}
	rows := [][]string{{"氏名", "電話番号", "生年月日", "住所"}}
	for i := range n {
		rows = append(rows, []string{
			sur[i%len(sur)] + " " + giv[(i/len(sur))%len(giv)],
			fmt.Sprintf("090-%04d-%04d", 1000+i, 5000+i),
			fmt.Sprintf("昭和%d年%d月%d日", 30+i%30, 1+i%12, 1+i%28),
			fmt.Sprintf("東京都千代田区千代田%d-%d", 1+i%9, 1+i%20),
		})
	}
	return rows
}

func csvOf(rows [][]string) string {
	var sb strings.Builder
	for _, r := range rows {
		sb.WriteString(strings.Join(r, ",") + "\r\n")
	}
	return sb.String()
}

func sjis(t *testing.T, s string) []byte {
	b, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mailWithFile is a message with a short body and one attachment.
func mailWithFile(body, name, ctype string, data []byte) []byte {
	var b strings.Builder
	b.WriteString("From: demo@example.jp\r\nTo: x@elsewhere.example\r\nSubject: =?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte("資料")) + "?=\r\nMIME-Version: 1.0\r\n")
	if name == "" {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		b.WriteString(base64.StdEncoding.EncodeToString([]byte(body)) + "\r\n")
		return []byte(b.String())
	}
	b.WriteString("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n--b1\r\n")
	fmt.Fprintf(&b, "Content-Type: %s\r\nContent-Disposition: attachment; filename*=UTF-8''%s\r\nContent-Transfer-Encoding: base64\r\n\r\n", ctype, escapeName(name))
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b1--\r\n")
	return []byte(b.String())
}

func escapeName(s string) string {
	var sb strings.Builder
	for _, c := range []byte(s) {
		if c < 0x80 && c != '%' && c != ' ' && c != '\'' {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "%%%02X", c)
		}
	}
	return sb.String()
}

// myNumber completes 11 digits with their check digit.
func myNumber(t *testing.T, first11 string, valid bool) string {
	for c := '0'; c <= '9'; c++ {
		n := first11 + string(c)
		if pii.ValidMyNumber(n) == valid {
			return n
		}
	}
	t.Fatal("no check digit")
	return ""
}

type checkVerdict struct {
	Action  string
	Reasons []struct {
		Rule, Detail, Matched string
		Monitor               bool
	}
	Links []struct{ URL, Provider, Part string }
}

func runCheck(t *testing.T, raw []byte, to string) checkVerdict {
	t.Helper()
	file := filepath.Join(t.TempDir(), "m.eml")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runMain(t, "check", "--config", "../../config/egressguard.toml", "--from", "demo@example.jp", "--to", to, file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v checkVerdict
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return v
}

func hasRule(v checkVerdict, rule string) *struct {
	Rule, Detail, Matched string
	Monitor               bool
} {
	for i := range v.Reasons {
		if v.Reasons[i].Rule == rule {
			return &v.Reasons[i]
		}
	}
	return nil
}

// TestCheckPersonalData: with the example config, person records, My
// Numbers and what archives and PDFs hide are judged as the rules say.
func TestCheckPersonalData(t *testing.T) {
	t.Parallel()
	csv200 := sjis(t, csvOf(personRows(200)))
	csv20 := sjis(t, csvOf(personRows(20)))
	valid := myNumber(t, "12345678901", true)
	wrong := myNumber(t, "12345678901", false)
	ext, internal := "x@elsewhere.example", "colleague@example.jp"
	tests := []struct {
		name    string
		raw     []byte
		to      string
		action  string
		rule    string // a reason that must be there (enforced)
		matched string // in its Matched text
	}{
		{"sjis csv 200 external", mailWithFile("名簿です", "患者一覧.csv", "text/csv", csv200), ext, "hold", "personal-records-unknown-recipient", "患者一覧.csv: 200 件の個人レコード（氏名・電話番号・生年月日・住所）"},
		{"csv in zip", mailWithFile("名簿です", "data.zip", "application/zip", fixture.ZIP(fixture.Entry{Name: "名簿/患者一覧.csv", Data: csv200})), ext, "hold", "personal-records-unknown-recipient", "data.zip/名簿/患者一覧.csv: 200 件"},
		{"xlsx 200", mailWithFile("名簿です", "患者一覧.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", fixture.XLSX(fixture.Sheet{Name: "Sheet1", Rows: personRows(200)})), ext, "hold", "personal-records-unknown-recipient", "患者一覧.xlsx (Sheet1): 200 件の個人レコード"},
		{"body my number", mailWithFile("お世話になります。\n個人番号: "+valid[:4]+"-"+valid[4:8]+"-"+valid[8:]+"\nよろしくお願いします。", "", "", nil), ext, "hold", "my-number-unknown-recipient", "1 件の個人番号"},
		{"full-width my number", mailWithFile("マイナンバー　"+toFullWidth(valid), "", "", nil), ext, "hold", "my-number-unknown-recipient", "labelled as My Number"},
		{"csv 200 internal", mailWithFile("名簿です", "患者一覧.csv", "text/csv", csv200), internal, "pass", "", ""},
		{"csv 20 external", mailWithFile("名簿です", "list.csv", "text/csv", csv20), ext, "pass", "", ""},
		{"wrong check digit", mailWithFile("個人番号: "+wrong, "", "", nil), ext, "pass", "", ""},
		{"zip with drive link", mailWithFile("資料です", "docs.zip", "application/zip", fixture.ZIP(fixture.Entry{Name: "readme.txt", Data: []byte("こちら: https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQrStUvWxYz012345\n")})), ext, "hold", "share-link-unknown-recipient", "Google Drive"},
		{"pdf flate link", mailWithFile("資料です", "report.pdf", "application/pdf", fixture.PDF([][]string{{"https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz012345/view"}}, fixture.PDFOptions{Compress: true})), ext, "hold", "share-link-unknown-recipient", "Google Drive"},
		{"encrypted zip", mailWithFile("パスワードは別送します", "見積.zip", "application/zip", fixture.ZIP(fixture.Entry{Name: "見積.xlsx", Data: []byte("x"), AES: true})), ext, "hold", "encrypted-attachment-unknown-recipient", "encrypted"},
		{"encrypted pdf", mailWithFile("資料", "a.pdf", "application/pdf", fixture.PDF([][]string{{"x"}}, fixture.PDFOptions{Encrypt: true})), ext, "hold", "encrypted-attachment-unknown-recipient", "encrypted"},
		{"encrypted office", mailWithFile("資料", "a.xlsx", "application/octet-stream", fixture.EncryptedOffice()), ext, "hold", "encrypted-attachment-unknown-recipient", "encrypted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := runCheck(t, tt.raw, tt.to)
			if v.Action != tt.action {
				t.Fatalf("action %s, want %s: %+v", v.Action, tt.action, v.Reasons)
			}
			if tt.rule == "" {
				for _, r := range v.Reasons {
					if !r.Monitor {
						t.Errorf("enforced reason %+v", r)
					}
				}
				return
			}
			r := hasRule(v, tt.rule)
			if r == nil || r.Monitor || !strings.Contains(r.Matched, tt.matched) {
				t.Errorf("want %s with %q, got %+v", tt.rule, tt.matched, v.Reasons)
			}
		})
	}
	// 20 records are recorded by the monitor rule.
	v := runCheck(t, mailWithFile("名簿です", "list.csv", "text/csv", csv20), ext)
	if r := hasRule(v, "personal-records-10-unknown-recipient"); r == nil || !r.Monitor || !strings.Contains(r.Matched, "20 件") {
		t.Errorf("monitor at 10: %+v", v.Reasons)
	}
}

func toFullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r - '0' + '０'
		}
		return r
	}, s)
}

// TestCheckEncryptedMonitor: an admin switches the PPAP rule to monitor
// with a rule of the same name; the encrypted zip then passes, recorded.
func TestCheckEncryptedMonitor(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile("../../config/egressguard.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "egressguard.toml")
	extra := "\n[[policy.rule]]\nname = \"encrypted-attachment-unknown-recipient\"\nencrypted_attachment = true\nrecipients = \"any_unknown\"\naction = \"hold\"\nmode = \"monitor\"\nreason = \"PPAP, recorded only.\"\n"
	if err := os.WriteFile(cfg, append(example, extra...), 0o600); err != nil {
		t.Fatal(err)
	}
	eml := filepath.Join(dir, "m.eml")
	os.WriteFile(eml, mailWithFile("パスワードは別送します", "見積.zip", "application/zip", fixture.ZIP(fixture.Entry{Name: "見積.xlsx", Data: []byte("x"), Encrypted: true})), 0o600)
	code, out, errOut := runMain(t, "check", "--config", cfg, "--from", "demo@example.jp", "--to", "x@elsewhere.example", eml)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v checkVerdict
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if r := hasRule(v, "encrypted-attachment-unknown-recipient"); v.Action != "pass" || r == nil || !r.Monitor {
		t.Errorf("verdict %+v", v)
	}
}

// TestCheckPatientList: the list of the incident behind this project, as
// a spreadsheet: the reason names the file and sheet, the count and the
// kinds of identifier, in Japanese and English.
func TestCheckPatientList(t *testing.T) {
	t.Parallel()
	rows := [][]string{{"氏名", "電話番号", "生年月日", "症状"}}
	sur := []string{"山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤"}
	giv := []string{"太郎", "花子", "一郎", "陽子", "健", "美咲", "翔太", "由美", "大輔", "直子"}
	for i := range 9683 {
		rows = append(rows, []string{
			sur[i%10] + " " + giv[(i/10)%10], fmt.Sprintf("090-%04d-%04d", i/10000, i%10000),
			fmt.Sprintf("平成%d年%d月%d日", 1+i%30, 1+i%12, 1+i%28), "発熱",
		})
	}
	x := fixture.XLSX(fixture.Sheet{Name: "Sheet1", Rows: rows})
	v := runCheck(t, mailWithFile("患者一覧です", "患者一覧.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", x), "x@elsewhere.example")
	want := "患者一覧.xlsx (Sheet1): 9,683 件の個人レコード（氏名・電話番号・生年月日） / 9,683 person records (name, phone number, date of birth)"
	if r := hasRule(v, "personal-records-unknown-recipient"); v.Action != "hold" || r == nil || !strings.Contains(r.Matched, want) {
		t.Errorf("verdict %+v, want %q", v.Reasons, want)
	}
}
