package console

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/egressguard/egressguard/internal/api"
)

// TestNearMissWithNobodyToTell: with no incident contacts configured, the
// reject form says, in the page's language, next to the near-miss box that
// nobody will be notified; a rejection marked as a near miss says so again
// (console flash, API warning). With contacts, nothing of this is shown.
func TestNearMissWithNobodyToTell(t *testing.T) {
	const (
		en = "Nobody will be notified: no incident contacts are configured"
		ja = "インシデント連絡先が設定されていないため（notify.incident_contacts）、誰にも通知されません。"
	)
	nobodyNote := func(page string) string {
		i := strings.Index(page, `id="near-miss"`)
		if i < 0 {
			return ""
		}
		// The note sits in the near-miss box's label.
		end := strings.Index(page[i:], "</label>")
		if end < 0 {
			return ""
		}
		return html.UnescapeString(page[i : i+end])
	}

	f := newFixture(t, 1) // IncidentContacts: 0
	id := f.held("alice", "oops", testBody("oops"))
	olga := f.loggedIn("olga")
	olga.header.Set("Accept-Language", "en")
	_, page := olga.get("/messages/" + id)
	if note := nobodyNote(page); !strings.Contains(note, en) || !strings.Contains(note, `id="near-miss-nobody"`) {
		t.Errorf("English reject form: no nobody-to-tell note next to the near-miss box:\n%s", note)
	}
	olga.header.Set("Accept-Language", "ja")
	_, page = olga.get("/messages/" + id)
	if note := nobodyNote(page); !strings.Contains(note, ja) {
		t.Errorf("Japanese reject form: no nobody-to-tell note next to the near-miss box:\n%s", note)
	}
	resp, body := olga.post("/messages/"+id+"/reject", url.Values{"comment": {"wrong customer"}, "near_miss": {"1"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	loc := resp.Header.Get("Location")
	_, page = olga.get(loc)
	if !strings.Contains(html.UnescapeString(page), "誰にも通知されていません") {
		t.Errorf("after a near miss (%s): no word that nobody was told", loc)
	}
	// Without the box ticked, a rejection says nothing about it.
	id2 := f.held("alice", "plain", testBody("plain"))
	resp, _ = olga.post("/messages/"+id2+"/reject", url.Values{"comment": {"no"}})
	if _, page = olga.get(resp.Header.Get("Location")); strings.Contains(page, "誰にも通知") {
		t.Error("a plain rejection warns about near-miss contacts")
	}
	// The API says it as a warning.
	id3 := f.held("alice", "api", testBody("api"))
	resp, body = f.api("POST", "/api/messages/"+id3+"/reject", f.token("olga"), `{"comment":"x","near_miss":true}`)
	var out api.Outcome
	if err := json.Unmarshal([]byte(body), &out); err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(out.Warning, "Nobody will be notified") {
		t.Errorf("API near miss without contacts: %d %s", resp.StatusCode, body)
	}

	// With incident contacts: the usual wording, no warning.
	g := newFixture(t, 1, func(c *Config) { c.IncidentContacts = 1 })
	id = g.held("alice", "oops", testBody("oops"))
	oscar := g.loggedIn("oscar")
	for _, lang := range []string{"en", "ja"} {
		oscar.header.Set("Accept-Language", lang)
		_, page = oscar.get("/messages/" + id)
		if note := nobodyNote(page); note == "" || strings.Contains(note, en) || strings.Contains(note, ja) {
			t.Errorf("%s: nobody-to-tell note shown although contacts are configured:\n%s", lang, note)
		}
	}
	resp, _ = oscar.post("/messages/"+id+"/reject", url.Values{"comment": {"x"}, "near_miss": {"1"}})
	if _, page = oscar.get(resp.Header.Get("Location")); strings.Contains(page, "誰にも通知") {
		t.Error("near miss with contacts: warned that nobody was told")
	}
	resp, body = g.api("POST", "/api/messages/"+g.held("alice", "b", testBody("b"))+"/reject", g.token("olga"), `{"comment":"x","near_miss":true}`)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "warning") {
		t.Errorf("API near miss with contacts: %d %s", resp.StatusCode, body)
	}
}
