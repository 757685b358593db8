package app

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

type testClock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.d) }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.d += d
	c.mu.Unlock()
}

// TestIncidentInBrowser walks the whole incident flow: a sender reports a
// delivered message as misdirected; the incident is pre-filled with the
// facts; an officer fills in the remaining report items and ticks the
// checklist; the deadlines show and a reminder goes out; the export opens.
// The audit log holds every step.
func TestIncidentInBrowser(t *testing.T) {
	ctx := chromium(t)
	up := fakesmtp.Start(t)
	clk := &testClock{}
	a := startApp(t, testConfig(t, up.Addr(), `
[notify]
from = "guard@example.jp"
incident_contacts = ["dpo@example.jp"]
`), WithClock(clk.Now))
	base := "http://" + a.ConsoleAddr()
	var blog browserLog
	blog.listen(t, ctx)

	// Alice sends a folder link to a partner (allowlisted: it passes) —
	// to the wrong person there.
	data := msg("患者一覧の共有", "フォルダはこちらです https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQrStUv?usp=sharing")
	reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"tanaka@partner.example.com"}, data)
	if err != nil {
		t.Fatal(err)
	}
	id := idFrom(t, reply)
	waitState(t, a.Store, id, store.Delivered)

	// 1. The sender reports it, in Japanese.
	step(t, ctx, "sender login",
		chromedp.Navigate(base+"/sent"),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "alice-password"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("sent-"+id)),
		chromedp.Click(chromedp.CSS(`button[value="ja"]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="ja"] #report-`+id)),
	)
	if s := text(t, ctx, chromedp.CSS("#report-"+id)); s != "誤送信を報告" {
		t.Errorf("report link reads %q", s)
	}
	step(t, ctx, "report",
		chromedp.Click(chromedp.ID("report-"+id)),
		chromedp.WaitVisible(chromedp.ID("incident-note")),
		chromedp.SendKeys(chromedp.ID("incident-note"), "オートコンプリートで別の田中さんを選んでしまった"),
		chromedp.Click(chromedp.ID("incident-open")),
		chromedp.WaitVisible(chromedp.ID("incident-id")),
	)
	incID := text(t, ctx, chromedp.CSS("#incident-id"))
	if !strings.HasPrefix(incID, "inc-") {
		t.Fatalf("incident ID %q", incID)
	}
	// 2. Pre-filled with the facts.
	facts := text(t, ctx, chromedp.CSS("#facts"))
	for _, want := range []string{"tanaka@partner.example.com", "配送済み", "drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQrStUv", "フォルダ", "その可能性が高い", "患者一覧の共有"} {
		if !strings.Contains(facts, want) {
			t.Errorf("facts lack %q:\n%s", want, facts)
		}
	}
	if rep := text(t, ctx, chromedp.CSS("#report")); !strings.Contains(rep, "tanaka@partner.example.com") || !strings.Contains(rep, "Google Drive") {
		t.Errorf("report not pre-filled:\n%s", rep)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#report-form, .step-form, #status-form").length`); n != 0 {
		t.Error("the sender is offered to edit the incident")
	}
	waitFor(t, "incident notice", func() bool { return len(messagesTo(up, "dpo@example.jp")) == 1 })
	step(t, ctx, "sender logout", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("user")))

	// 3. The officer fills in the rest and works the checklist.
	step(t, ctx, "officer login",
		chromedp.Navigate(base+"/incidents"),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "olga"),
		chromedp.SendKeys(chromedp.ID("password"), "olga-password"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("incident-row-"+incID)),
		chromedp.Click(chromedp.CSS("#incident-row-"+incID+" a")),
		chromedp.WaitVisible(chromedp.ID("report-form")),
		chromedp.SetValue(chromedp.ID("report-people"), "9,683名"),
		chromedp.SetValue(chromedp.ID("report-data_items"), "氏名、住所、症状、入院先の医療機関"),
		chromedp.Click(chromedp.ID("sensitive")),
		chromedp.Click(chromedp.ID("report-save")),
		chromedp.WaitVisible(chromedp.CSS("#reportable .badge")),
	)
	if r := text(t, ctx, chromedp.CSS("#reportable")); !strings.Contains(r, "Reportable") && !strings.Contains(r, "報告対象") {
		t.Errorf("not marked reportable after ticking special-care data: %q", r)
	}
	first := eval[string](t, ctx, `document.querySelector("#checklist li").id.slice(5)`)
	if !strings.Contains(first, "link1-revoke") {
		t.Errorf("first checklist step %q; want revoking the link", first)
	}
	step(t, ctx, "tick revoke",
		chromedp.Click(chromedp.ID("done-"+first)),
		chromedp.SendKeys(chromedp.ID("note-"+first), "制限付きに変更 12:05"),
		chromedp.Click(chromedp.ID("save-"+first)),
		chromedp.WaitVisible(chromedp.CSS("#step-"+first+" .badge.ok")),
	)
	if s := text(t, ctx, chromedp.CSS("#step-"+first)); !strings.Contains(s, "olga") || !strings.Contains(s, "制限付きに変更 12:05") {
		t.Errorf("ticked step: %q", s)
	}
	if cl := text(t, ctx, chromedp.CSS("#checklist")); !strings.Contains(cl, "every file") && !strings.Contains(cl, "ファイル") {
		t.Error("checklist does not ask to check every file link in the folder")
	}

	// 4. Deadlines; the preliminary report is sent; a reminder of the
	// final one goes out when it nears.
	dl := text(t, ctx, chromedp.CSS("#deadlines"))
	if !strings.Contains(dl, "Preliminary report") && !strings.Contains(dl, "速報") {
		t.Errorf("deadlines: %q", dl)
	}
	step(t, ctx, "status",
		chromedp.SetValue(chromedp.ID("status-select"), "preliminary_sent"),
		chromedp.Click(chromedp.ID("status-submit")),
		chromedp.WaitVisible(chromedp.CSS("#deadline-preliminary .badge.ok")),
	)
	if s := text(t, ctx, chromedp.CSS("#deadline-preliminary")); !strings.Contains(s, "Done") && !strings.Contains(s, "完了") {
		t.Errorf("preliminary deadline after the status change: %q", s)
	}

	// 5. The export opens (Japanese, printable), with the officer's text.
	step(t, ctx, "export",
		chromedp.Click(chromedp.ID("export-ja")),
		chromedp.WaitVisible(chromedp.ID("print-title")),
	)
	if s := text(t, ctx, chromedp.CSS("#print-report")); !strings.Contains(s, "9,683名") || !strings.Contains(s, "本人の数") {
		t.Errorf("printed report:\n%s", s)
	}
	if s := text(t, ctx, chromedp.CSS("#print-steps")); !strings.Contains(s, "☑") {
		t.Errorf("printed checklist: %q", s)
	}
	step(t, ctx, "export en", chromedp.Navigate(base+"/incidents/"+incID+"/export?lang=en"), chromedp.WaitVisible(chromedp.ID("print-title")))
	if s := text(t, ctx, chromedp.CSS("#print-title")); !strings.Contains(s, "Report on a leak") {
		t.Errorf("English export title %q", s)
	}
	blog.check(t)

	clk.Add(28 * 24 * time.Hour) // two days before the final report is due
	n, err := a.Incidents.Remind(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("reminders: %d %v", n, err)
	}
	waitFor(t, "reminder", func() bool { return len(messagesTo(up, "dpo@example.jp")) == 2 })
	if n, _ := a.Incidents.Remind(context.Background()); n != 0 {
		t.Errorf("reminder sent again: %d", n)
	}

	// The audit log shows every step.
	es, err := a.Store.Audit(context.Background(), store.AuditFilter{MsgID: id})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, e := range es {
		seen[e.Action] = e.Actor
	}
	for action, actor := range map[string]string{
		"incident.open": "alice", "incident.view": "", "incident.update": "olga", "incident.step": "olga",
		"incident.status": "olga", "incident.export": "olga", "incident.remind": "system",
	} {
		got, ok := seen[action]
		if !ok || (actor != "" && got != actor) {
			t.Errorf("audit: %s by %q (present %v); want by %q", action, got, ok, actor)
		}
	}
	if n, err := audit.Verify(context.Background(), a.Store); err != nil || n == 0 {
		t.Errorf("audit verify: %d %v", n, err)
	}
}
