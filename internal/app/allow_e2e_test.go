package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/allowlist"
	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

// adminSeed adds adam, an admin (and nothing else), to testConfig's users.
const adminSeed = `
[[seed_user]]
name = "adam"
password = "adam-password"
roles = ["admin"]
addresses = ["adam@example.jp"]
`

// sendShare sends alice's share link to rcpt and returns the message ID.
func sendShare(t *testing.T, a *App, subject, rcpt string) string {
	t.Helper()
	reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{rcpt}, msg(subject, shareBody))
	if err != nil {
		t.Fatal(err)
	}
	return idFrom(t, reply)
}

// allowAudit returns the allowlist changes in the audit log.
func allowAudit(t *testing.T, a *App) []*store.AuditEntry {
	t.Helper()
	es, err := a.Store.Audit(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*store.AuditEntry
	for _, e := range es {
		if strings.HasPrefix(e.Action, "allow.") {
			out = append(out, e)
		}
	}
	return out
}

// TestAllowlistInBrowser: an admin adds a domain in the console; a share
// link to it, which was held before, is delivered; the admin removes the
// domain; the next such message is held again. Each change is one audit
// entry, which the audit page shows.
func TestAllowlistInBrowser(t *testing.T) {
	ctx := chromium(t)
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), adminSeed))
	base := "http://" + a.ConsoleAddr()
	var blog browserLog
	blog.listen(t, ctx)
	const rcpt = "bob@newpartner.example"

	// Before: a share link to the partner is held.
	first := sendShare(t, a, "before-allow", rcpt)
	waitState(t, a.Store, first, store.Held)

	// The admin logs in and adds the partner's domain.
	step(t, ctx, "admin login",
		chromedp.Navigate(base+"/allow"),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "adam"),
		chromedp.SendKeys(chromedp.ID("password"), "adam-password"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("allow-value")),
	)
	if nav := text(t, ctx, chromedp.CSS("nav.who")); !strings.Contains(nav, "Allowlist") || !strings.Contains(nav, "Audit log") {
		t.Errorf("navigation: %q", nav)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#allow-confirm").length`); n != 0 {
		t.Error("free-mail confirmation offered before it is needed")
	}
	step(t, ctx, "add the domain",
		chromedp.SendKeys(chromedp.ID("allow-value"), "NewPartner.example"),
		chromedp.SendKeys(chromedp.ID("allow-reason"), "Joint project with New Partner"),
		chromedp.Click(chromedp.ID("allow-submit")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if f := text(t, ctx, chromedp.CSS("#flash")); !strings.Contains(f, "newpartner.example was added") {
		t.Errorf("flash after adding: %q", f)
	}
	if list := text(t, ctx, chromedp.CSS("#allowlist")); !strings.Contains(list, "Joint project with New Partner") ||
		!strings.Contains(list, "adam") || !strings.Contains(list, "from the config file") {
		t.Errorf("list after adding: %q", list)
	}
	changes := allowAudit(t, a)
	if len(changes) != 1 || changes[0].Action != "allow.add" || changes[0].Actor != "adam" ||
		!strings.Contains(string(changes[0].Data), `"value":"newpartner.example"`) {
		t.Fatalf("audit after adding: %v", changes)
	}

	// The next share link to the partner is delivered.
	second := sendShare(t, a, "while-allowed", rcpt)
	waitState(t, a.Store, second, store.Delivered)
	if got := messagesTo(up, rcpt); len(got) != 1 || !strings.Contains(string(got[0].Data), "Subject: while-allowed") {
		t.Fatalf("smarthost got %d messages for %s", len(got), rcpt)
	}

	// A free-mail domain takes the confirmation the console asks for.
	step(t, ctx, "free mail refused without confirmation",
		chromedp.SendKeys(chromedp.ID("allow-value"), "gmail.com"),
		chromedp.SendKeys(chromedp.ID("allow-reason"), "test"),
		chromedp.Click(chromedp.ID("allow-submit")),
		chromedp.WaitVisible(chromedp.ID("allow-error")),
		chromedp.WaitVisible(chromedp.ID("allow-confirm")),
	)
	if e := text(t, ctx, chromedp.CSS("#allow-error")); !strings.Contains(e, "free-mail domain") {
		t.Errorf("free-mail refusal: %q", e)
	}
	step(t, ctx, "free mail confirmed",
		chromedp.Click(chromedp.ID("allow-confirm")),
		chromedp.Click(chromedp.ID("allow-submit")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if row := text(t, ctx, chromedp.CSS("tr.freemail")); !strings.Contains(row, "gmail.com") || !strings.Contains(row, "free mail") {
		t.Errorf("free-mail row: %q", row)
	}

	// The admin removes the partner's domain, saying why.
	stored, err := a.Store.AllowEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var entryID string
	for _, e := range stored {
		if e.Value == "newpartner.example" {
			entryID = e.ID
		}
	}
	if entryID == "" {
		t.Fatalf("entry not stored: %v", stored)
	}
	step(t, ctx, "open the entry",
		chromedp.Click(chromedp.CSS("#allow-"+entryID+" td.entry a")),
		chromedp.WaitVisible(chromedp.ID("remove-why")),
	)
	step(t, ctx, "remove the entry",
		chromedp.SendKeys(chromedp.ID("remove-why"), "Project finished"),
		chromedp.Click(chromedp.ID("remove-submit")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if n := eval[int](t, ctx, `document.querySelectorAll("#allow-`+entryID+`").length`); n != 0 {
		t.Error("removed entry still listed")
	}
	changes = allowAudit(t, a)
	if len(changes) != 3 || changes[2].Action != "allow.remove" || changes[2].Actor != "adam" ||
		!strings.Contains(string(changes[2].Data), `"why":"Project finished"`) || !strings.Contains(string(changes[2].Data), `"before":{`) {
		t.Fatalf("audit after removing: %v", changes)
	}

	// The next share link to the partner is held again.
	third := sendShare(t, a, "after-remove", rcpt)
	waitState(t, a.Store, third, store.Held)
	waitSent(t, a.Store)
	if got := messagesTo(up, rcpt); len(got) != 1 {
		t.Errorf("smarthost got %d messages for %s, want only the one sent while allowed", len(got), rcpt)
	}

	// The history and the audit page show both changes.
	step(t, ctx, "history",
		chromedp.Navigate(base+"/allow/"+entryID),
		chromedp.WaitVisible(chromedp.ID("history")),
	)
	if h := text(t, ctx, chromedp.CSS("#history")); !strings.Contains(h, "removed") || !strings.Contains(h, "added") || !strings.Contains(h, "Project finished") {
		t.Errorf("history: %q", h)
	}
	step(t, ctx, "audit page",
		chromedp.Click(chromedp.ID("nav-audit")),
		chromedp.WaitVisible(chromedp.ID("audit-user")),
		chromedp.SendKeys(chromedp.ID("audit-user"), "adam"),
		chromedp.Click(chromedp.ID("audit-submit")),
		chromedp.WaitVisible(chromedp.ID("audit")),
	)
	if n := eval[int](t, ctx, `[...document.querySelectorAll("#audit code.action")].filter(e => e.textContent.startsWith("allow.")).length`); n != 3 {
		t.Errorf("audit page shows %d allowlist changes, want 3", n)
	}
	if w := eval[int](t, ctx, `document.querySelectorAll("#audit td.data pre").length`); w == 0 {
		t.Error("audit page shows no details")
	}

	// On a phone the list does not overflow the screen.
	step(t, ctx, "list on a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(base+"/allow"),
		chromedp.WaitVisible(chromedp.ID("allowlist")),
	)
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("allowlist is %dpx wider than a phone's screen", w)
	}
	blog.check(t)
}

// TestAllowlistChangeRefusedForOfficerAndSender: neither an officer nor a
// sender can change the allowlist, through the API or the console; the
// sender cannot even read it. Nothing is written; an admin can.
func TestAllowlistChangeRefusedForOfficerAndSender(t *testing.T) {
	a := startApp(t, testConfig(t, "", adminSeed))
	base := "http://" + a.ConsoleAddr()
	ctx := context.Background()
	existing, err := a.Allow.Add(ctx, "adam", allowlist.Entry{Value: "keep.example.com", Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	token := func(user string) string {
		tok, _, err := account.CreateToken(ctx, a.Store, "test", user, "test", time.Time{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	call := func(method, path, tok, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	type res struct{ method, path, body string }
	changes := []res{
		{"POST", "/api/allow", `{"value":"evil.example","reason":"exfiltration"}`},
		{"POST", "/api/allow", `{"value":"gmail.com","reason":"x","confirm_free_mail":true}`},
		{"DELETE", "/api/allow/" + existing.ID, `{"why":"x"}`},
		{"DELETE", "/api/allow/" + url.PathEscape("config:partner.example.com"), ""},
	}
	for _, user := range []string{"olga", "alice"} {
		tok := token(user)
		for _, c := range changes {
			if status, body := call(c.method, c.path, tok, c.body); status != http.StatusForbidden || !strings.Contains(body, `"forbidden"`) {
				t.Errorf("%s %s %s: %d %s", user, c.method, c.path, status, body)
			}
		}
		want := http.StatusOK
		if user == "alice" {
			want = http.StatusForbidden
		}
		if status, _ := call("GET", "/api/allow", tok, ""); status != want {
			t.Errorf("%s lists the allowlist: %d, want %d", user, status, want)
		}

		// The console's forms, from a logged-in browser session.
		jar, _ := cookiejar.New(nil)
		b := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := b.PostForm(base+"/login", url.Values{"user": {user}, "password": {user + "-password"}})
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login %s: %v %v", user, resp, err)
		}
		resp.Body.Close()
		for path, form := range map[string]url.Values{
			"/allow":                            {"value": {"evil.example"}, "reason": {"x"}},
			"/allow/" + existing.ID + "/remove": {"why": {"x"}},
		} {
			resp, err := b.PostForm(base+path, form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s posting %s: %d", user, path, resp.StatusCode)
			}
		}
	}
	es, err := a.Allow.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, e := range es {
		values = append(values, e.Value)
	}
	// The config's two entries and the admin's one.
	if len(values) != 3 || !slices.Contains(values, "partner.example.com") || !slices.Contains(values, "keep.example.com") {
		t.Errorf("allowlist after refused changes: %v", values)
	}
	if n := len(allowAudit(t, a)); n != 1 {
		t.Errorf("%d allowlist audit entries, want only the admin's add", n)
	}
	// The same request by an admin goes through: the refusals above were
	// about the role, not the request.
	status, body := call("POST", "/api/allow", token("adam"), changes[0].body)
	if status != http.StatusCreated {
		t.Fatalf("admin add: %d %s", status, body)
	}
	var e api.AllowEntry
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Value != "evil.example" || e.AddedBy != "adam" {
		t.Errorf("admin add: %s", body)
	}
}
