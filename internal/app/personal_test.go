package app

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// TestPersonalDataHeldAndAuditedAsCounts: over SMTP, a list of 150 person
// records to an outside address is held; the audit entry has the count
// and none of the data, and the verdict stored with the message neither.
func TestPersonalDataHeldAndAuditedAsCounts(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), ""))
	var csv strings.Builder
	csv.WriteString("氏名,電話番号,生年月日\r\n")
	for i := range 150 {
		fmt.Fprintf(&csv, "山田 太郎%d,090-7777-%04d,1980/01/%02d\r\n", i, i, 1+i%28)
	}
	data := []byte("From: alice@example.jp\r\nTo: stranger@elsewhere.example\r\nSubject: list\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n名簿を送ります\r\n" +
		"--b\r\nContent-Type: text/csv; charset=utf-8\r\nContent-Disposition: attachment; filename=\"list.csv\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		wrap76(base64.StdEncoding.EncodeToString([]byte(csv.String()))) + "--b--\r\n")
	reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"stranger@elsewhere.example"}, data)
	if err != nil || !strings.Contains(reply, "held") {
		t.Fatalf("reply %q %v", reply, err)
	}
	id := idFrom(t, reply)
	m := waitState(t, a.Store, id, store.Held)
	if vj := verdictJSON(t, m); !strings.Contains(vj, `"records":150`) || strings.Contains(vj, "090-7777") {
		t.Errorf("verdict %s", vj)
	}
	es, err := a.Store.Audit(context.Background(), store.AuditFilter{MsgID: id})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range es {
		if strings.Contains(string(e.Data), "090-7777") || strings.Contains(string(e.Data), "山田") {
			t.Errorf("audit entry %s holds data: %s", e.Action, e.Data)
		}
		if e.Action == "message.accepted" && strings.Contains(string(e.Data), `"personal":{"card_numbers":0,"my_numbers":0,"records":150}`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no count in the audit: %+v", es)
	}
}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s + "\r\n"
}

// verdictJSON is m's verdict as it is stored.
func verdictJSON(t *testing.T, m *store.Message) string {
	t.Helper()
	b, err := verdict.Encode(m.Verdict)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
