package app

import (
	"context"
	"mime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/policy"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/tz"
)

// englishReasons are the built-in reasons in English: none may appear in
// a Japanese page or notice.
func englishReasons() []string {
	out := []string{policy.InspectionReasonEN}
	for _, r := range policy.DefaultRules() {
		for _, s := range []string{r.ReasonEN, r.Reason} {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// bccShare is a share link whose external recipient is a blind copy: the
// To header names only a colleague.
func bccShare(subject string) []byte {
	return []byte("From: Alice <alice@example.jp>\r\nTo: colleague@example.jp\r\nSubject: " + subject +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + shareBody + "\r\n")
}

type decideWords struct {
	lang, summary, lookalike, wrongAddress, justified, escalated, escalateNotice, approvedBy, badDomain string
}

var decideLangs = []decideWords{
	{
		lang:           "ja",
		summary:        "外部の未知の宛先 1件 tanaka@kawasaki-shoji.example（Bcc）← Google Drive フォルダ共有リンク",
		lookalike:      "gmial.com は gmail.com に似ています",
		wrongAddress:   "宛先が誤っている場合は取り下げて送り直してください",
		justified:      "の説明を記録しました",
		escalated:      "代理の担当者に通知",
		escalateNotice: "あなたは代理の担当者です",
		approvedBy:     "承認者: olga",
		badDomain:      "入力されたドメインが宛先と一致しません",
	},
	{
		lang:           "en",
		summary:        "1 unknown external recipient(s) tanaka@kawasaki-shoji.example (Bcc) ← Google Drive folder share link",
		lookalike:      "gmial.com looks like gmail.com",
		wrongAddress:   "If an address is wrong, withdraw the message and send it again.",
		justified:      "Your explanation of",
		escalated:      "backup officers told",
		escalateNotice: "you are its backup officer",
		approvedBy:     "Approved by: olga",
		badDomain:      "The domain you typed does not match",
	},
}

// TestDecisionFlowInBrowser walks the decision flow at phone width, in
// Japanese and in English: the sender explains a held message; the hold
// is escalated to the backup officer after the set time (injected clock),
// once; the officer sees the one-line summary with the blind copy marked,
// the explanation and the escalation, confirms on a page of its own, and
// for a high-risk hold must type the recipient's domain. Japanese pages
// and notices carry no English reason.
func TestDecisionFlowInBrowser(t *testing.T) {
	for _, w := range decideLangs {
		t.Run(w.lang, func(t *testing.T) { decisionFlow(t, w) })
	}
}

func decisionFlow(t *testing.T, w decideWords) {
	ctx := chromium(t)
	up := fakesmtp.Start(t)
	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	clock := func() time.Time { return *now.Load() }
	cfg := testConfig(t, up.Addr(), `
[notify]
from = "guard@example.jp"
language = "`+w.lang+`"
contact = "security@example.jp"
[[route.group]]
name = "staff"
senders = ["alice"]
officers = ["lead@example.jp"]
backup = ["backup@example.jp"]
escalate_after = "1h"
`)
	// time_zone is a top-level key, which testConfig's text cannot take
	// after its tables.
	cfg.Zone, _ = tz.Load("Asia/Tokyo")
	a := startApp(t, cfg, WithClock(clock))
	base := "http://" + a.ConsoleAddr()
	var blog browserLog
	blog.listen(t, ctx)
	bg := context.Background()

	reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp",
		[]string{"colleague@example.jp", "tanaka@kawasaki-shoji.example"}, bccShare("見積書の共有"))
	if err != nil {
		t.Fatal(err)
	}
	id := idFrom(t, reply)
	waitState(t, a.Store, id, store.Held)
	reply, err = send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp",
		[]string{"yamada@gmial.com"}, msg("risky", shareBody))
	if err != nil {
		t.Fatal(err)
	}
	risky := idFrom(t, reply)
	waitState(t, a.Store, risky, store.Held)
	waitFor(t, "hold notices", func() bool {
		return len(messagesTo(up, "alice@example.jp")) == 2 && len(messagesTo(up, "lead@example.jp")) == 2
	})

	// The sender's notice: what was found, by when, whom to ask, and
	// what to do about a wrong address, in the sender's language.
	// The two hold notices may arrive in either order.
	held := messagesTo(up, "alice@example.jp")[0]
	if !strings.Contains(decodeNotice(t, held.Data), id) {
		held = messagesTo(up, "alice@example.jp")[1]
	}
	notice := decodeNotice(t, held.Data)
	for _, want := range []string{w.wrongAddress, "tanaka@kawasaki-shoji.example", "drive.google.com", "security@example.jp", "JST (+09:00)", id} {
		if !strings.Contains(notice, want) {
			t.Errorf("hold notice lacks %q:\n%s", want, notice)
		}
	}
	if subj := headerOf(t, held.Data, "Subject"); w.lang == "ja" && !strings.HasPrefix(subj, "【送信保留】") {
		t.Errorf("hold notice subject %q lacks the tag", subj)
	}
	if from := headerOf(t, held.Data, "From"); !strings.Contains(from, "guard@example.jp") || !strings.ContainsAny(from, "送Oo") {
		t.Errorf("hold notice From %q lacks a display name", from)
	}
	if len(messagesTo(up, "security@example.jp"))+len(messagesTo(up, "backup@example.jp")) != 0 {
		t.Error("the group's hold went to someone other than its officers")
	}

	// The sender, on a phone, explains why the message must go out.
	login(t, ctx, a, "alice", "alice-password", w.lang)
	step(t, ctx, "sender opens the held message",
		chromedp.Navigate(base+"/messages/"+id),
		chromedp.WaitVisible(chromedp.ID("justification-text")),
	)
	if s := text(t, ctx, chromedp.CSS("#wrong-address")); !strings.Contains(s, w.wrongAddress) {
		t.Errorf("sender's page: %q", s)
	}
	noWiderThanPhone(t, ctx, "sender's message page")
	step(t, ctx, "justify",
		chromedp.SendKeys(chromedp.ID("justification-text"), "先方の依頼で見積書を共有します"),
		chromedp.Click(chromedp.ID("justify")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if f := text(t, ctx, chromedp.CSS("#flash")); !strings.Contains(f, w.justified) {
		t.Errorf("flash after justifying: %q", f)
	}
	step(t, ctx, "sender logs out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("user")))

	// Two hours later nobody has decided: the backup officer is told,
	// once, even when asked again (as by a second instance).
	later := start.Add(2 * time.Hour)
	now.Store(&later)
	if _, err := a.Hold.EscalateDue(bg); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Hold.EscalateDue(bg); err != nil || n != 0 {
		t.Errorf("second escalation run escalated %d (%v)", n, err)
	}
	waitFor(t, "escalation notices", func() bool { return len(messagesTo(up, "backup@example.jp")) == 2 })
	esc := decodeNotice(t, messagesTo(up, "backup@example.jp")[0].Data)
	if !strings.Contains(esc, w.escalateNotice) {
		t.Errorf("escalation notice:\n%s", esc)
	}
	waitSent(t, a.Store)
	if n := len(messagesTo(up, "backup@example.jp")); n != 2 {
		t.Errorf("backup officer told %d times about 2 holds", n)
	}

	// The officer opens the message on a phone.
	login(t, ctx, a, "olga", "olga-password", w.lang)
	step(t, ctx, "queue", chromedp.Navigate(base+"/held"), chromedp.WaitVisible(chromedp.ID("row-"+risky)))
	if n := eval[int](t, ctx, `document.querySelectorAll("#row-`+risky+` .risk").length + 10*document.querySelectorAll("#row-`+id+` .risk").length`); n != 1 {
		t.Errorf("high-risk badges in the queue: %d, want 1 on the high-risk hold only", n)
	}
	noWiderThanPhone(t, ctx, "queue")
	step(t, ctx, "officer opens the message",
		chromedp.Navigate(base+"/messages/"+id),
		chromedp.WaitVisible(chromedp.ID("summary")),
	)
	if s := text(t, ctx, chromedp.CSS("#summary")); s != w.summary {
		t.Errorf("summary %q, want %q", s, w.summary)
	}
	if s := text(t, ctx, chromedp.CSS("#justification")); !strings.Contains(s, "先方の依頼で見積書を共有します") {
		t.Errorf("justification not shown to the officer: %q", s)
	}
	if s := text(t, ctx, chromedp.CSS("#history")); !strings.Contains(s, w.escalated) {
		t.Errorf("history lacks the escalation: %q", s)
	}
	if s := text(t, ctx, chromedp.CSS("#envelope")); !strings.Contains(s, "Bcc") {
		t.Errorf("blind copy not marked: %q", s)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#high-risk, #tech").length`); n != 0 {
		t.Error("an ordinary hold is marked high-risk, or an officer sees the technical details")
	}
	noWiderThanPhone(t, ctx, "officer's message page")
	// Approve and reject are far apart: the reject box starts well below
	// the approve button.
	if gap := eval[float64](t, ctx, `document.getElementById("reject-box").getBoundingClientRect().top - document.getElementById("approve").getBoundingClientRect().bottom`); gap < 100 {
		t.Errorf("reject is %.0fpx below approve", gap)
	}
	page := text(t, ctx, chromedp.CSS("main"))
	if w.lang == "ja" {
		for _, en := range englishReasons() {
			if strings.Contains(page, en) {
				t.Errorf("Japanese page shows the English reason %q", en)
			}
		}
		for _, n := range []string{notice, esc} {
			for _, en := range englishReasons() {
				if strings.Contains(n, en) {
					t.Errorf("Japanese notice shows the English reason %q", en)
				}
			}
		}
	}

	// Approve: a confirmation page. Submitting it without the tick is
	// refused by the server too (the page can be skipped with a plain POST).
	step(t, ctx, "confirmation page",
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.ID("confirm-check")),
	)
	if s := text(t, ctx, chromedp.CSS("#summary")); s != w.summary {
		t.Errorf("confirmation summary %q", s)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#confirm-domain").length`); n != 0 {
		t.Error("an ordinary hold asks for the domain")
	}
	noWiderThanPhone(t, ctx, "confirmation page")
	step(t, ctx, "approve",
		chromedp.Click(chromedp.ID("confirm-check")),
		chromedp.Click(chromedp.ID("approve-confirm")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if f := text(t, ctx, chromedp.CSS("#flash")); !strings.Contains(f, "見積書の共有") || !strings.Contains(f, id) {
		t.Errorf("result banner does not name the subject: %q", f)
	}
	waitState(t, a.Store, id, store.Delivered)
	waitFor(t, "approval notice", func() bool { return len(messagesTo(up, "alice@example.jp")) == 3 })
	if n := decodeNotice(t, messagesTo(up, "alice@example.jp")[2].Data); !strings.Contains(n, w.approvedBy) {
		t.Errorf("approval notice does not name the officer:\n%s", n)
	}

	// A high-risk hold (a look-alike recipient domain): the warning is on
	// the panel in the reader's language, and the domain must be typed.
	step(t, ctx, "high-risk message",
		chromedp.Navigate(base+"/messages/"+risky),
		chromedp.WaitVisible(chromedp.ID("high-risk")),
	)
	if s := text(t, ctx, chromedp.CSS("#signals")); !strings.Contains(s, w.lookalike) {
		t.Errorf("look-alike warning not on the panel: %q", s)
	}
	step(t, ctx, "high-risk confirmation",
		chromedp.Navigate(base+"/messages/"+risky+"/approve"),
		chromedp.WaitVisible(chromedp.ID("confirm-domain")),
		chromedp.SendKeys(chromedp.ID("confirm-domain"), "gmail.com"),
		chromedp.Click(chromedp.ID("confirm-check")),
		chromedp.Click(chromedp.ID("approve-confirm")),
		chromedp.WaitVisible(chromedp.ID("confirm-error")),
	)
	if s := text(t, ctx, chromedp.CSS("#confirm-error")); !strings.Contains(s, w.badDomain) {
		t.Errorf("wrong domain: %q", s)
	}
	if m, _ := a.Store.Message(bg, risky); m.State != store.Held {
		t.Fatalf("approved with the wrong domain: %s", m.State)
	}
	step(t, ctx, "high-risk approval",
		chromedp.SendKeys(chromedp.ID("confirm-domain"), "GMIAL.com"),
		chromedp.Click(chromedp.ID("confirm-check")),
		chromedp.Click(chromedp.ID("approve-confirm")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	waitState(t, a.Store, risky, store.Delivered)
	es, err := a.Store.Audit(bg, store.AuditFilter{MsgID: risky})
	if err != nil {
		t.Fatal(err)
	}
	typed := false
	for _, e := range es {
		if e.Action == "hold.approve" && strings.Contains(string(e.Data), `"typed_domain":"gmial.com"`) {
			typed = true
		}
	}
	if !typed {
		t.Error("the typed domain is not in the approval's audit entry")
	}
	blog.check(t)
}

// login logs user in on a phone-sized screen, with the console in lang
// (the user's setting, as the language switch stores it).
func login(t *testing.T, ctx context.Context, a *App, user, pass, lang string) {
	t.Helper()
	u, err := a.Store.User(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	u.Lang = lang
	if err := a.Store.Update(context.Background(), func(tx store.Tx) error { return tx.PutUser(u) }); err != nil {
		t.Fatal(err)
	}
	base := "http://" + a.ConsoleAddr()
	step(t, ctx, "login "+user,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(base+"/held"),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), user),
		chromedp.SendKeys(chromedp.ID("password"), pass),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.CSS(`html[lang=`+lang+`]`)),
	)
}

func noWiderThanPhone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("%s is %dpx wider than a phone's screen", what, w)
	}
}

// headerOf returns a decoded header field of a notice.
func headerOf(t *testing.T, data []byte, name string) string {
	t.Helper()
	head, _, _ := strings.Cut(string(data), "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(k, name) {
			d, err := (&mime.WordDecoder{}).DecodeHeader(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	return ""
}
