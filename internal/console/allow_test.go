package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/allowlist"
	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/store"
)

// auditSince returns the audit entries after seq, and the newest seq.
func (f *fixture) auditSince(seq int64) ([]*store.AuditEntry, int64) {
	f.t.Helper()
	es, err := f.st.Audit(context.Background(), store.AuditFilter{AfterSeq: seq})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(es) > 0 {
		seq = es[len(es)-1].Seq
	}
	return es, seq
}

func (f *fixture) lastSeq() int64 {
	_, seq := f.auditSince(0)
	return seq
}

// noAuditSince fails if anything was audited after seq.
func (f *fixture) noAuditSince(seq int64, what string) {
	f.t.Helper()
	if es, _ := f.auditSince(seq); len(es) != 0 {
		f.t.Errorf("%s: %d audit entries, want none (first %s by %s)", what, len(es), es[0].Action, es[0].Actor)
	}
}

// storeEntries returns the allowlist entries in the store (not the config's).
func (f *fixture) storeEntries() []*store.AllowEntry {
	f.t.Helper()
	es, err := f.st.AllowEntries(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

func (f *fixture) addAllow(actor string, e allowlist.Entry) *store.AllowEntry {
	f.t.Helper()
	got, err := f.allow.Add(context.Background(), actor, e)
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

func decodeJSON[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
	return v
}

// TestAllowRoles: senders neither see nor change the allowlist; officers
// see it read-only; admins change it. Refusals write nothing.
func TestAllowRoles(t *testing.T) {
	f := newFixture(t, 1)
	e := f.addAllow("ada", allowlist.Entry{Value: "vendor.example.net", Reason: "contract 42"})
	entryPath := "/allow/" + e.ID

	// The sender: 403 everywhere, console and API.
	alice := f.loggedIn("alice")
	aliceTok := f.token("alice")
	before := f.lastSeq()
	for _, p := range []string{"/allow", entryPath, "/audit"} {
		resp, body := alice.get(p)
		wantStatus(t, resp, body, http.StatusForbidden)
		if strings.Contains(body, "vendor.example.net") {
			t.Errorf("%s shows the allowlist to a sender", p)
		}
	}
	resp, body := alice.post("/allow", url.Values{"value": {"evil.example"}, "reason": {"x"}})
	wantStatus(t, resp, body, http.StatusForbidden)
	resp, body = alice.post(entryPath+"/remove", url.Values{"why": {"x"}})
	wantStatus(t, resp, body, http.StatusForbidden)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/allow", ""},
		{"GET", "/api/allow/" + e.ID + "/history", ""},
		{"POST", "/api/allow", `{"value":"evil.example","reason":"x"}`},
		{"DELETE", "/api/allow/" + e.ID, ""},
		{"GET", "/api/audit", ""},
	} {
		resp, body := f.api(c.method, c.path, aliceTok, c.body)
		wantAPIError(t, resp, body, http.StatusForbidden, "forbidden")
	}
	f.noAuditSince(before, "sender attempts")

	// The officer: sees the list and the history, cannot change either.
	olga := f.loggedIn("olga")
	olgaTok := f.token("olga")
	before = f.lastSeq()
	resp, body = olga.get("/allow")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "vendor.example.net") || !strings.Contains(body, `id="read-only"`) {
		t.Errorf("officer's list:\n%s", body)
	}
	if strings.Contains(body, `action="/allow"`+` class="grid-form"`) || strings.Contains(body, `id="allow-submit"`) {
		t.Error("officer is offered the add form")
	}
	resp, body = olga.get(entryPath)
	wantStatus(t, resp, body, http.StatusOK)
	if strings.Contains(body, `id="remove-submit"`) || !strings.Contains(body, "contract 42") {
		t.Errorf("officer's entry page:\n%s", body)
	}
	resp, body = olga.post("/allow", url.Values{"value": {"evil.example"}, "reason": {"x"}})
	wantStatus(t, resp, body, http.StatusForbidden)
	resp, body = olga.post(entryPath+"/remove", url.Values{"why": {"x"}})
	wantStatus(t, resp, body, http.StatusForbidden)
	resp, body = f.api("GET", "/api/allow", olgaTok, "")
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = f.api("GET", "/api/allow/"+e.ID+"/history", olgaTok, "")
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = f.api("POST", "/api/allow", olgaTok, `{"value":"evil.example","reason":"x"}`)
	wantAPIError(t, resp, body, http.StatusForbidden, "forbidden")
	resp, body = f.api("DELETE", "/api/allow/"+e.ID, olgaTok, `{"why":"x"}`)
	wantAPIError(t, resp, body, http.StatusForbidden, "forbidden")
	f.noAuditSince(before, "officer attempts")

	if es := f.storeEntries(); len(es) != 1 || es[0].ID != e.ID {
		t.Fatalf("store entries after refused changes: %+v", es)
	}

	// The admin changes it.
	resp, body = f.api("DELETE", "/api/allow/"+e.ID, f.token("ada"), `{"why":"contract ended"}`)
	wantStatus(t, resp, body, http.StatusOK)
	if es := f.storeEntries(); len(es) != 0 {
		t.Fatalf("entry not removed: %+v", es)
	}
}

// TestAllowAddRemoveInConsole: an admin adds an IDN domain with an expiry
// and a sender scope, sees it in Unicode, removes it with a reason; each
// change is exactly one audit entry with before/after, and the history
// shows both.
func TestAllowAddRemoveInConsole(t *testing.T) {
	f := newFixture(t, 1)
	ada := f.loggedIn("ada")
	before := f.lastSeq()
	resp, body := ada.post("/allow", url.Values{"value": {"例え.jp"}, "reason": {"Tokyo office of our auditor"},
		"expires": {"2026-06-30"}, "senders": {"alice@example.jp, @sales.example.jp"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	es := f.storeEntries()
	if len(es) != 1 {
		t.Fatalf("stored %d entries", len(es))
	}
	e := es[0]
	if e.Kind != store.AllowDomain || e.Value != "xn--r8jz45g.jp" || e.AddedBy != "ada" ||
		strings.Join(e.Senders, ",") != "alice@example.jp,@sales.example.jp" {
		t.Errorf("stored %+v", e)
	}
	wantExp := time.Date(2026, 7, 1, 0, 0, 0, 0, time.Local)
	if !e.Expires.Equal(wantExp) {
		t.Errorf("expires %v, want the end of 2026-06-30 (%v)", e.Expires, wantExp)
	}
	loc := resp.Header.Get("Location")
	if loc != "/allow?done=added&id="+e.ID {
		t.Errorf("redirect to %q", loc)
	}
	added, seq := f.auditSince(before)
	if len(added) != 1 || added[0].Action != "allow.add" || added[0].Actor != "ada" {
		t.Fatalf("audit after add: %d entries %v", len(added), added)
	}
	var data struct {
		ID    string         `json:"id"`
		After map[string]any `json:"after"`
	}
	if err := json.Unmarshal(added[0].Data, &data); err != nil || data.ID != e.ID || data.After["value"] != "xn--r8jz45g.jp" ||
		data.After["reason"] != "Tokyo office of our auditor" {
		t.Errorf("audit data %s", added[0].Data)
	}

	resp, body = ada.get(loc)
	wantStatus(t, resp, body, http.StatusOK)
	for _, want := range []string{`id="flash"`, "例え.jp was added", "xn--r8jz45g.jp", "Domain", "alice@example.jp, @sales.example.jp",
		"Tokyo office of our auditor", "partner.example.com", "from the config file"} {
		if !strings.Contains(body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	// A crafted link cannot put words in the flash.
	_, body = ada.get("/allow?done=added&id=no-such-entry")
	if strings.Contains(body, `id="flash"`) {
		t.Error("flash for an unknown entry")
	}

	// Remove: a reason is required.
	resp, body = ada.post("/allow/"+e.ID+"/remove", url.Values{"why": {"  "}})
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "Say why the entry is removed.") || !strings.Contains(body, `id="remove-submit"`) {
		t.Errorf("remove without a reason:\n%s", body)
	}
	f.noAuditSince(seq, "remove without a reason")
	resp, body = ada.post("/allow/"+e.ID+"/remove", url.Values{"why": {"audit finished"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if len(f.storeEntries()) != 0 {
		t.Fatal("entry still stored")
	}
	removed, _ := f.auditSince(seq)
	if len(removed) != 1 || removed[0].Action != "allow.remove" || removed[0].Actor != "ada" {
		t.Fatalf("audit after remove: %v", removed)
	}
	var rdata struct {
		ID     string         `json:"id"`
		Before map[string]any `json:"before"`
		Why    string         `json:"why"`
	}
	if err := json.Unmarshal(removed[0].Data, &rdata); err != nil || rdata.ID != e.ID || rdata.Why != "audit finished" ||
		rdata.Before["value"] != "xn--r8jz45g.jp" {
		t.Errorf("remove audit data %s", removed[0].Data)
	}
	resp, body = ada.get(resp.Header.Get("Location"))
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "was removed") || strings.Contains(body, "Tokyo office") {
		t.Errorf("list after removal:\n%s", body)
	}

	// The history stays, newest first, with before and after.
	seq = f.lastSeq()
	resp, body = ada.get("/allow/" + e.ID)
	wantStatus(t, resp, body, http.StatusOK)
	iRemove, iAdd := strings.Index(body, `id="change-`+itoa(removed[0].Seq)+`"`), strings.Index(body, `id="change-`+itoa(added[0].Seq)+`"`)
	if iRemove < 0 || iAdd < 0 || iRemove > iAdd {
		t.Errorf("history rows (remove at %d, add at %d):\n%s", iRemove, iAdd, body)
	}
	for _, want := range []string{`id="removed-note"`, "<h1 class=\"addr\">例え.jp</h1>", "audit finished", "&#34;value&#34;: &#34;xn--r8jz45g.jp&#34;", "removed", "added"} {
		if !strings.Contains(body, want) {
			t.Errorf("history page lacks %q", want)
		}
	}
	if strings.Contains(body, `id="remove-submit"`) {
		t.Error("a removed entry offers removal")
	}
	f.noAuditSince(seq, "reading the list and the history")

	// An unknown entry.
	resp, body = ada.get("/allow/0123456789abcdef")
	wantStatus(t, resp, body, http.StatusNotFound)
	resp, body = ada.post("/allow/0123456789abcdef/remove", url.Values{"why": {"x"}})
	wantStatus(t, resp, body, http.StatusNotFound)
	if !strings.Contains(body, "No such allowlist entry") || !strings.Contains(body, `href="/allow"`) {
		t.Errorf("unknown entry:\n%s", body)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestAllowFormErrors: every refusal shows the form again, filled in,
// with its reason in words (English and Japanese), and changes nothing.
func TestAllowFormErrors(t *testing.T) {
	f := newFixture(t, 1)
	f.addAllow("ada", allowlist.Entry{Value: "taken.example.com", Reason: "x"})
	ada := f.loggedIn("ada")
	past := f.clock.Now().Add(-48 * time.Hour).Local().Format(time.DateOnly)
	cases := []struct {
		name   string
		form   url.Values
		status int
		want   string
		wantJA string
	}{
		{"malformed", url.Values{"value": {"bad domain.com"}, "reason": {"r"}}, 422,
			"“bad domain.com” is not a valid address or domain", "「bad domain.com」は正しいアドレスまたはドメインではありません"},
		{"no dot", url.Values{"value": {"localhost"}, "reason": {"r"}}, 422, "is not a valid address or domain", ""},
		{"bad address", url.Values{"value": {"a b@example.com"}, "reason": {"r"}}, 422, "is not a valid address or domain", ""},
		{"public suffix", url.Values{"value": {"co.jp"}, "reason": {"r"}}, 422,
			"“co.jp” is a public suffix", "「co.jp」は com・co.jp・lg.jp のような公開サフィックス"},
		{"public suffix lg.jp", url.Values{"value": {".lg.jp"}, "reason": {"r"}}, 422, "is a public suffix", ""},
		{"no reason", url.Values{"value": {"new.example.com"}, "reason": {"  "}}, 422, "A reason is required", "理由を入力してください"},
		{"bad expiry", url.Values{"value": {"new.example.com"}, "reason": {"r"}, "expires": {"next week"}}, 422,
			"“next week” is not a date", "「next week」は日付ではありません"},
		{"past expiry", url.Values{"value": {"new.example.com"}, "reason": {"r"}, "expires": {past}}, 422,
			"The expiry date has passed", "有効期限が過ぎています"},
		{"bad sender", url.Values{"value": {"new.example.com"}, "reason": {"r"}, "senders": {"alice@example.jp, not a domain"}}, 422,
			"“not” is not a valid sender", "「not」は正しい送信者"},
		{"exists", url.Values{"value": {"Taken.Example.com"}, "reason": {"again"}}, 409,
			"“Taken.Example.com” is already on the allowlist", "すでに登録されています"},
		{"config entry exists", url.Values{"value": {"partner.example.com"}, "reason": {"again"}}, 409, "is already on the allowlist", ""},
		{"free mail", url.Values{"value": {"gmail.com"}, "reason": {"r"}}, 422,
			"“gmail.com” is a free-mail domain", "「gmail.com」はフリーメールのドメイン"},
	}
	seq := f.lastSeq()
	for _, c := range cases {
		resp, body := ada.post("/allow", c.form)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
		if !strings.Contains(body, c.want) || !strings.Contains(body, `id="allow-error"`) {
			t.Errorf("%s: page lacks %q:\n%s", c.name, c.want, body)
		}
		// The form keeps what was typed.
		if v := c.form.Get("value"); !strings.Contains(body, `value="`+v+`"`) {
			t.Errorf("%s: form lost the value %q", c.name, v)
		}
		if got := strings.Contains(body, `id="allow-confirm"`); got != (c.name == "free mail") {
			t.Errorf("%s: confirmation box shown: %v", c.name, got)
		}
		if c.wantJA != "" {
			ja := f.browser()
			ja.header.Set("Accept-Language", "ja")
			ja.login("ada", "ada-password")
			_, body := ja.post("/allow", c.form)
			if !strings.Contains(body, c.wantJA) {
				t.Errorf("%s (ja): page lacks %q:\n%s", c.name, c.wantJA, body)
			}
		}
	}
	if es := f.storeEntries(); len(es) != 1 {
		t.Errorf("%d store entries after refusals", len(es))
	}
	for _, e := range func() []*store.AuditEntry { es, _ := f.auditSince(seq); return es }() {
		if strings.HasPrefix(e.Action, "allow.") {
			t.Errorf("refused add audited: %s %s", e.Action, e.Data)
		}
	}

	// The confirmation is not offered before it is needed.
	_, body := ada.get("/allow")
	if strings.Contains(body, `id="allow-confirm"`) {
		t.Error("confirmation box shown on the empty form")
	}
	// Confirmed, the free-mail domain goes in, flagged.
	resp, body := ada.post("/allow", url.Values{"value": {"gmail.com"}, "reason": {"the whole team of a partner uses it"}, "confirm_free_mail": {"1"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = ada.get("/allow")
	row := body[strings.Index(body, "gmail.com"):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, "free mail") {
		t.Errorf("free-mail entry not flagged: %s", row)
	}
	if !strings.Contains(body, `class=" freemail"`) {
		t.Error("free-mail row not marked")
	}
}

// TestAllowConfigEntry: entries from the config file are listed as such
// and cannot be removed, neither in the console nor through the API.
func TestAllowConfigEntry(t *testing.T) {
	f := newFixture(t, 1)
	ada := f.loggedIn("ada")
	id := "config:partner.example.com"
	resp, body := ada.get("/allow/" + url.PathEscape(id))
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, `id="config-note"`) || strings.Contains(body, `id="remove-submit"`) {
		t.Errorf("config entry page:\n%s", body)
	}
	_, body = ada.get("/allow")
	if !strings.Contains(body, `href="/allow/config:partner.example.com"`) {
		t.Errorf("list does not link the config entry:\n%s", body)
	}
	seq := f.lastSeq()
	resp, body = ada.post("/allow/"+url.PathEscape(id)+"/remove", url.Values{"why": {"x"}})
	wantStatus(t, resp, body, http.StatusConflict)
	if !strings.Contains(body, "comes from the config file") {
		t.Errorf("refusal:\n%s", body)
	}
	resp, body = f.api("DELETE", "/api/allow/"+url.PathEscape(id), f.token("ada"), "")
	wantAPIError(t, resp, body, http.StatusConflict, "config_entry")
	seq++ // the token
	f.noAuditSince(seq, "removing a config entry")
	resp, body = f.api("GET", "/api/allow/"+url.PathEscape(id)+"/history", f.token("olga"), "")
	wantStatus(t, resp, body, http.StatusOK)
	h := decodeJSON[api.AllowHistory](t, body)
	if h.Entry == nil || h.Entry.Source != "config" || len(h.History) != 0 {
		t.Errorf("config entry history %s", body)
	}
}

// TestAllowAPI: add, list, search, history and remove through the API,
// with the error answers of each refusal.
func TestAllowAPI(t *testing.T) {
	f := newFixture(t, 1)
	tok := f.token("ada")
	seq := f.lastSeq()
	resp, body := f.api("POST", "/api/allow", tok, `{"value":"Bob@例え.jp","reason":"our notary","expires":"2026-05-01T12:00:00+09:00","senders":["alice@example.jp"]}`)
	wantStatus(t, resp, body, http.StatusCreated)
	e := decodeJSON[api.AllowEntry](t, body)
	if e.Kind != "address" || e.Value != "bob@xn--r8jz45g.jp" || e.Display != "bob@例え.jp" || e.AddedBy != "ada" || e.Source != "store" ||
		e.Expires == nil || !e.Expires.Equal(time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)) || e.Expired ||
		len(e.Senders) != 1 || e.FreeMail || e.Added == nil {
		t.Errorf("created %+v", e)
	}
	if loc := resp.Header.Get("Location"); loc != "/api/allow/"+e.ID+"/history" {
		t.Errorf("Location %q", loc)
	}
	es, seq := f.auditSince(seq)
	if len(es) != 1 || es[0].Action != "allow.add" || es[0].Actor != "ada" || !strings.Contains(string(es[0].Data), `"after":{`) {
		t.Fatalf("audit after API add: %v", es)
	}

	// A date means through that day; ".domain" is a domain with subdomains.
	resp, body = f.api("POST", "/api/allow", tok, `{"value":".Supplier.example","reason":"supplier","expires":"2026-12-31"}`)
	wantStatus(t, resp, body, http.StatusCreated)
	sub := decodeJSON[api.AllowEntry](t, body)
	if sub.Kind != "subdomains" || sub.Value != ".supplier.example" || sub.Expires == nil ||
		!sub.Expires.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.Local)) {
		t.Errorf("created %+v", sub)
	}
	_, seq = f.auditSince(seq)

	for _, c := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"not JSON", `value=x`, 400, "bad_request"},
		{"unknown field", `{"value":"a.example.com","reason":"r","confirm_free":true}`, 400, "bad_request"},
		{"two values", `{"value":"a.example.com","reason":"r"}{}`, 400, "bad_request"},
		{"empty", ``, 422, "invalid"},
		{"malformed", `{"value":"bad domain.com","reason":"r"}`, 422, "invalid"},
		{"no reason", `{"value":"a.example.com"}`, 422, "invalid"},
		{"bad expiry", `{"value":"a.example.com","reason":"r","expires":"soon"}`, 422, "invalid"},
		{"past expiry", `{"value":"a.example.com","reason":"r","expires":"2020-01-01"}`, 422, "invalid"},
		{"bad sender", `{"value":"a.example.com","reason":"r","senders":["x y"]}`, 422, "invalid"},
		{"public suffix", `{"value":"co.jp","reason":"r"}`, 422, "public_suffix"},
		{"public suffix com", `{"value":"*.com","reason":"r"}`, 422, "public_suffix"},
		{"free mail", `{"value":"yahoo.co.jp","reason":"r"}`, 422, "free_mail"},
		{"exists", `{"value":"bob@例え.jp","reason":"again","senders":["alice@example.jp"]}`, 409, "exists"},
		{"config exists", `{"value":"partner.example.com","reason":"again"}`, 409, "exists"},
	} {
		resp, body := f.api("POST", "/api/allow", tok, c.body)
		wantAPIError(t, resp, body, c.status, c.code)
	}
	f.noAuditSince(seq, "refused API adds")

	// Confirmed free mail is flagged.
	resp, body = f.api("POST", "/api/allow", tok, `{"value":"yahoo.co.jp","reason":"r","confirm_free_mail":true}`)
	wantStatus(t, resp, body, http.StatusCreated)
	if fm := decodeJSON[api.AllowEntry](t, body); !fm.FreeMail {
		t.Errorf("free mail not flagged: %s", body)
	}

	// List and search (value in Unicode or A-label, reason, added by).
	resp, body = f.api("GET", "/api/allow", f.token("olga"), "")
	wantStatus(t, resp, body, http.StatusOK)
	l := decodeJSON[api.AllowList](t, body)
	if len(l.Entries) != 4 || l.Entries[0].Source != "config" || l.Entries[1].Source != "store" {
		t.Fatalf("list %s", body)
	}
	for q, want := range map[string]int{"例え": 1, "xn--r8jz45g": 1, "NOTARY": 1, "ada": 3, "config": 1, "nothing-like-this": 0} {
		_, body := f.api("GET", "/api/allow?q="+url.QueryEscape(q), tok, "")
		if got := len(decodeJSON[api.AllowList](t, body).Entries); got != want {
			t.Errorf("search %q: %d entries, want %d", q, got, want)
		}
	}

	// Remove, with and without a body; again is 404.
	seq = f.lastSeq()
	resp, body = f.api("DELETE", "/api/allow/"+e.ID, tok, `{"why":"notary changed"}`)
	wantStatus(t, resp, body, http.StatusOK)
	if r := decodeJSON[api.AllowRemoved](t, body); r.ID != e.ID || !r.Removed {
		t.Errorf("removed %s", body)
	}
	resp, body = f.api("DELETE", "/api/allow/"+sub.ID, tok, "")
	wantStatus(t, resp, body, http.StatusOK)
	es, seq = f.auditSince(seq)
	if len(es) != 2 || es[0].Action != "allow.remove" || !strings.Contains(string(es[0].Data), `"why":"notary changed"`) ||
		!strings.Contains(string(es[0].Data), `"before":{`) || es[1].Action != "allow.remove" {
		t.Fatalf("audit after API removes: %v", es)
	}
	resp, body = f.api("DELETE", "/api/allow/"+e.ID, tok, "")
	wantAPIError(t, resp, body, http.StatusNotFound, "not_found")
	resp, body = f.api("DELETE", "/api/allow/"+e.ID, tok, `{"reason":"x"}`)
	wantAPIError(t, resp, body, http.StatusBadRequest, "bad_request")
	f.noAuditSince(seq, "refused API removes")

	// The history of the removed entry: newest first, before and after.
	resp, body = f.api("GET", "/api/allow/"+e.ID+"/history", f.token("olga"), "")
	wantStatus(t, resp, body, http.StatusOK)
	h := decodeJSON[api.AllowHistory](t, body)
	if h.ID != e.ID || h.Entry != nil || len(h.History) != 2 || h.History[0].Action != "allow.remove" || h.History[1].Action != "allow.add" ||
		h.History[0].Seq <= h.History[1].Seq || len(h.History[0].Hash) != 64 {
		t.Errorf("history %s", body)
	}
	resp, body = f.api("GET", "/api/allow/nonexistent/history", tok, "")
	wantAPIError(t, resp, body, http.StatusNotFound, "not_found")

	// Without a token.
	resp, body = f.api("POST", "/api/allow", "", `{"value":"a.example.com","reason":"r"}`)
	wantAPIError(t, resp, body, http.StatusUnauthorized, "unauthorized")
}

// TestAllowExpiredMarked: an entry past its expiry stays listed, marked.
func TestAllowExpiredMarked(t *testing.T) {
	f := newFixture(t, 1)
	e := f.addAllow("ada", allowlist.Entry{Value: "shortlived.example.com", Reason: "one project", Expires: f.clock.Now().Add(24 * time.Hour)})
	ada := f.loggedIn("ada")
	_, body := ada.get("/allow")
	if strings.Contains(body, "badge bad") {
		t.Error("marked expired too early")
	}
	f.clock.Add(25 * time.Hour)
	ada = f.loggedIn("ada")
	_, body = ada.get("/allow")
	row := body[strings.Index(body, `id="allow-`+e.ID+`"`):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, `class="expired"`) || !strings.Contains(row, ">expired<") {
		t.Errorf("expired row: %s", row)
	}
	_, body = f.api("GET", "/api/allow?q=shortlived", f.token("ada"), "")
	if l := decodeJSON[api.AllowList](t, body); len(l.Entries) != 1 || !l.Entries[0].Expired {
		t.Errorf("API: %s", body)
	}
}

// TestAllowCrossSiteRefused: the allowlist forms and the API's DELETE
// refuse requests a browser marks as coming from another site.
func TestAllowCrossSiteRefused(t *testing.T) {
	f := newFixture(t, 1)
	e := f.addAllow("ada", allowlist.Entry{Value: "keep.example.com", Reason: "x"})
	ada := f.loggedIn("ada")
	tok := f.token("ada")
	seq := f.lastSeq()
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "http://evil.example"},
	} {
		resp, body := ada.post("/allow", url.Values{"value": {"evil.example.com"}, "reason": {"x"}}, hdr...)
		wantStatus(t, resp, body, http.StatusForbidden)
		resp, body = ada.post("/allow/"+e.ID+"/remove", url.Values{"why": {"x"}}, hdr...)
		wantStatus(t, resp, body, http.StatusForbidden)
		resp, body = f.api("DELETE", "/api/allow/"+e.ID, tok, "", hdr...)
		wantAPIError(t, resp, body, http.StatusForbidden, "cross_origin")
		resp, body = f.api("POST", "/api/allow", tok, `{"value":"evil.example.com","reason":"x"}`, hdr...)
		wantAPIError(t, resp, body, http.StatusForbidden, "cross_origin")
	}
	if es := f.storeEntries(); len(es) != 1 || es[0].ID != e.ID {
		t.Fatalf("entries after cross-site requests: %+v", es)
	}
	f.noAuditSince(seq, "cross-site requests")
	// The same form from the console's own page goes through.
	resp, body := ada.post("/allow/"+e.ID+"/remove", url.Values{"why": {"x"}}, "Sec-Fetch-Site", "same-origin", "Origin", f.srv.URL)
	wantStatus(t, resp, body, http.StatusSeeOther)
}

// TestNavigationByRole: the header links only to what the user may open.
func TestNavigationByRole(t *testing.T) {
	f := newFixture(t, 1)
	for _, c := range []struct {
		user         string
		allow, audit bool
	}{
		{"alice", false, false},
		{"olga", true, true},
		{"ada", true, true},
	} {
		_, body := f.loggedIn(c.user).get("/held")
		if got := strings.Contains(body, `id="nav-allow"`); got != c.allow {
			t.Errorf("%s: allowlist link %v, want %v", c.user, got, c.allow)
		}
		if got := strings.Contains(body, `id="nav-audit"`); got != c.audit {
			t.Errorf("%s: audit link %v, want %v", c.user, got, c.audit)
		}
		if !strings.Contains(body, `id="nav-held" aria-current="page"`) {
			t.Errorf("%s: current section not marked", c.user)
		}
	}
	_, body := f.loggedIn("ada").get("/allow")
	if !strings.Contains(body, `id="nav-allow" aria-current="page"`) {
		t.Error("allowlist page not marked current")
	}
	ja := f.browser()
	ja.header.Set("Accept-Language", "ja")
	ja.login("olga", "olga-password")
	_, body = ja.get("/audit")
	if !strings.Contains(body, "許可リスト") || !strings.Contains(body, "監査ログ") {
		t.Errorf("Japanese navigation:\n%s", body)
	}
}

// TestAllowDisabled: without an allowlist service the pages, the API and
// the link are absent.
func TestAllowDisabled(t *testing.T) {
	f := newFixture(t, 1)
	c, err := New(Config{Now: f.clock.Now}, Deps{Store: f.st, Hold: f.hold, Accounts: f.acc, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	f.srv = srv
	b := f.loggedIn("ada")
	resp, body := b.get("/allow")
	wantStatus(t, resp, body, http.StatusNotFound)
	if strings.Contains(body, `id="nav-allow"`) {
		t.Error("link to disabled allowlist pages")
	}
	resp, body = f.api("GET", "/api/allow", f.token("ada"), "")
	wantAPIError(t, resp, body, http.StatusNotFound, "not_found")
	resp, body = b.get("/audit")
	wantStatus(t, resp, body, http.StatusOK)
}
