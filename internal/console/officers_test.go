package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestOfficerFigures: the approval-quality page counts each officer's
// decisions, approval rate, time from opening to deciding, and approvals
// given within seconds of opening; only admins see it.
func TestOfficerFigures(t *testing.T) {
	f := newFixture(t, 1)
	olga := f.loggedIn("olga")
	quick := f.held("alice", "quick", testBody("quick"))
	olga.get("/messages/" + quick)
	f.clock.Add(2 * time.Second)
	olga.post("/messages/"+quick+"/approve", url.Values{"confirm": {"1"}})

	slow := f.held("alice", "slow", testBody("slow"))
	olga.get("/messages/" + slow)
	f.clock.Add(5 * time.Minute)
	olga.post("/messages/"+slow+"/reject", url.Values{"comment": {"wrong address"}, "near_miss": {"1"}})

	resp, page := olga.get("/officers")
	wantStatus(t, resp, page, http.StatusForbidden)

	otto := f.loggedIn("otto")
	resp, page = otto.get("/officers")
	wantStatus(t, resp, page, http.StatusOK)
	row := page[strings.Index(page, `<tr id="officer-olga">`):]
	row = row[:strings.Index(row, "</tr>")]
	for _, want := range []string{">2 <", "1 approved, 1 rejected, 1 near misses", "50%", "2m 31s", `class="warn">1<`} {
		if !strings.Contains(row, want) {
			t.Errorf("olga's row lacks %q: %s", want, row)
		}
	}

	resp, js := f.api("GET", "/api/officers?days=7", f.token("otto"), "")
	wantStatus(t, resp, js, http.StatusOK)
	var a APIFigures
	if err := json.Unmarshal([]byte(js), &a); err != nil || a.Days != 7 || len(a.Officers) != 1 ||
		a.Officers[0].FastApprovals != 1 || a.Officers[0].Timed != 2 {
		t.Errorf("API figures: %s", js)
	}
	resp, js = f.api("GET", "/api/officers", f.token("olga"), "")
	wantStatus(t, resp, js, http.StatusForbidden)
}

// TestAwayPage: an officer names a delegate until a day; the page shows
// the absence, refuses a sender as delegate, and ends it.
func TestAwayPage(t *testing.T) {
	f := newFixture(t, 1)
	olga := f.loggedIn("olga")
	resp, page := olga.get("/settings/away")
	wantStatus(t, resp, page, http.StatusOK)
	if !strings.Contains(page, `<option value="oscar">oscar</option>`) || strings.Contains(page, `<option value="alice">`) {
		t.Errorf("delegates offered: %s", page)
	}
	tomorrow := f.clock.Now().Add(24 * time.Hour).Format("2006-01-02")
	resp, page = olga.post("/settings/away", url.Values{"delegate": {"alice"}, "until": {tomorrow}})
	wantStatus(t, resp, page, http.StatusUnprocessableEntity)
	resp, page = olga.post("/settings/away", url.Values{"delegate": {"oscar"}, "until": {tomorrow}})
	wantStatus(t, resp, page, http.StatusSeeOther)
	u, err := f.st.User(t.Context(), "olga")
	if err != nil || u.DelegateTo != "oscar" || !u.DelegateUntil.After(f.clock.Now().Add(24*time.Hour)) {
		t.Fatalf("delegation not stored: %+v %v", u, err)
	}
	if got := f.auditActions(""); got[len(got)-1] != "user.delegate" {
		t.Errorf("absence not audited: %v", got)
	}
	resp, page = olga.post("/settings/away", url.Values{"delegate": {""}})
	wantStatus(t, resp, page, http.StatusSeeOther)
	if u, _ := f.st.User(t.Context(), "olga"); u.DelegateTo != "" {
		t.Error("absence not ended")
	}
	resp, page = f.loggedIn("alice").get("/settings/away")
	wantStatus(t, resp, page, http.StatusForbidden)
}
