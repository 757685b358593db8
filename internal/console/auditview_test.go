package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAuditPageInWords: the audit page names actions in the reader's
// language, links the message, verifies the chain on request, and exports
// what the search selects (the export is audited).
func TestAuditPageInWords(t *testing.T) {
	f := newFixture(t, 1)
	id := f.held("alice", "audited", testBody("audited"))
	olga := f.loggedIn("olga")
	olga.get("/messages/" + id)
	olga.post("/messages/"+id+"/reject", url.Values{"comment": {"宛先違い"}})
	olga.post("/settings/lang", url.Values{"lang": {"ja"}})

	resp, page := olga.get("/audit?msg=" + id)
	wantStatus(t, resp, page, http.StatusOK)
	for _, want := range []string{`<span class="event">却下</span>`, `<span class="event">メールを閲覧</span>`,
		"宛先違い", `href="/messages/` + id + `"`, `id="chain-verify"`, `id="audit-export"`} {
		if !strings.Contains(page, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	_, page = olga.get("/audit?verify=1")
	if !strings.Contains(page, `id="chain-ok"`) || !strings.Contains(page, "チェーンは正常です") {
		t.Error("chain not verified on request")
	}

	resp, body := olga.get("/audit/export?msg=" + id)
	wantStatus(t, resp, body, http.StatusOK)
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("export disposition %q", cd)
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `"action":"hold.reject"`) {
		t.Errorf("export: %q", body)
	}
	if got := f.auditActions(""); got[len(got)-1] != "audit.export" {
		t.Errorf("export not audited: %v", got[len(got)-3:])
	}
	resp, body = f.loggedIn("alice").get("/audit/export")
	wantStatus(t, resp, body, http.StatusForbidden)
}
