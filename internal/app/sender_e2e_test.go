package app

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

// withAttachment is a message with a link in its text and a PDF attached.
func withAttachment(subject string) []byte {
	return []byte("From: Alice <alice@example.jp>\r\nTo: partner\r\nSubject: " + subject + "\r\n" +
		"Message-ID: <" + subject + "@example.jp>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee https://www.example.com/docs/plan for details.\r\n" +
		"--b1\r\nContent-Type: application/pdf; name=\"estimate-2026.pdf\"\r\nContent-Disposition: attachment; filename=\"estimate-2026.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK\r\n--b1--\r\n")
}

// TestSenderPagesInBrowser: the sender's console page for delayed mail
// shows who waits (and who was sent at once), the attachments and links,
// with send-now and cancel; the signed link from a confirmation notice
// opens a page whose button confirms once. Every click is audited.
func TestSenderPagesInBrowser(t *testing.T) {
	ctx := chromium(t)
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), `
[[policy.rule]]
name = "delay-partners"
action = "delay"
delay = "1h"
reason = "Mail to partners waits a moment so that mistakes can be cancelled."
recipients = "any_allowlisted"
[[policy.rule]]
name = "confirm-unknown"
action = "confirm"
reason = "A recipient nobody here has written to: please confirm."
recipients = "any_unknown"
[notify]
from = "guard@example.jp"
language = "en"
`))
	base := "http://" + a.ConsoleAddr()
	var blog browserLog
	blog.listen(t, ctx)

	// Delayed, split: the colleague gets it at once, the partner waits.
	data := withAttachment("estimate")
	reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp",
		[]string{"colleague@example.jp", "bob@partner.example.com"}, data)
	if err != nil {
		t.Fatal(err)
	}
	id := idFrom(t, reply)
	waitState(t, a.Store, id, store.Delayed)
	waitState(t, a.Store, id+"-1", store.Delivered)

	step(t, ctx, "sender login",
		chromedp.Navigate(base+"/held"),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "alice-password"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("row-"+id)),
	)
	if row := text(t, ctx, chromedp.CSS("#row-"+id)); !strings.Contains(row, "delayed") || !strings.Contains(row, "Send now") || !strings.Contains(row, "sent at once") {
		t.Errorf("queue row: %q", row)
	}
	step(t, ctx, "open delayed message",
		chromedp.Click(chromedp.CSS("#row-"+id+" td.subject a")),
		chromedp.WaitVisible(chromedp.ID("sender-actions")),
	)
	if s := text(t, ctx, chromedp.CSS("#release-at")); !strings.Contains(s, "Leaves by itself") {
		t.Errorf("release time: %q", s)
	}
	if s := text(t, ctx, chromedp.CSS("#external-rcpts")); !strings.Contains(s, "bob@partner.example.com") || strings.Contains(s, "colleague") {
		t.Errorf("external recipients: %q", s)
	}
	env := text(t, ctx, chromedp.CSS("#envelope"))
	if !strings.Contains(env, "waiting") || !strings.Contains(env, "sent at once") {
		t.Errorf("envelope does not show who waits: %q", env)
	}
	if s := text(t, ctx, chromedp.CSS("#attachments")); !strings.Contains(s, "estimate-2026.pdf") {
		t.Errorf("attachments: %q", s)
	}
	if s := text(t, ctx, chromedp.CSS("#links")); !strings.Contains(s, "https://www.example.com/docs/plan") {
		t.Errorf("links: %q", s)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#approve, #reject, #withdraw").length`); n != 0 {
		t.Error("delayed mail offers officer or hold actions")
	}
	step(t, ctx, "send now",
		chromedp.Click(chromedp.ID("send-now")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if f := text(t, ctx, chromedp.CSS("#flash")); !strings.Contains(f, id) || !strings.Contains(f, "being sent now") {
		t.Errorf("flash: %q", f)
	}
	waitState(t, a.Store, id, store.Delivered)
	if ms := messagesTo(up, "bob@partner.example.com"); len(ms) != 1 || !bytes.Equal(untraced(t, ms[0].Data), data) {
		t.Fatalf("partner got %d copies", len(ms))
	}

	// Cancel another delayed message from the queue page.
	c, _ := sendAs(t, a, "cancel-this", "text", "bob@partner.example.com")
	waitState(t, a.Store, c, store.Delayed)
	step(t, ctx, "cancel from the queue",
		chromedp.Navigate(base+"/held"),
		chromedp.WaitVisible(chromedp.ID("row-"+c)),
		chromedp.Click(chromedp.CSS("#row-"+c+" button.danger")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	waitState(t, a.Store, c, store.Withdrawn)

	// Confirmation through the signed link of the notice.
	k, kdata := sendAs(t, a, "confirm-this", "text", "stranger@elsewhere.example")
	waitState(t, a.Store, k, store.Unconfirmed)
	var token string
	waitFor(t, "confirmation notice", func() bool {
		for _, m := range messagesTo(up, "alice@example.jp") {
			if sm := confirmLinkRE.FindStringSubmatch(decodeNotice(t, m.Data)); sm != nil && strings.HasPrefix(sm[1], k+".") {
				token = sm[1]
				return true
			}
		}
		return false
	})
	step(t, ctx, "open the link",
		chromedp.Navigate(base+"/confirm?t="+token),
		chromedp.WaitVisible(chromedp.ID("confirm-ask")),
	)
	if s := text(t, ctx, chromedp.CSS("#confirm-rcpts")); !strings.Contains(s, "stranger@elsewhere.example") {
		t.Errorf("link page recipients: %q", s)
	}
	// Opening the link sent nothing.
	if m, _ := a.Store.Message(context.Background(), k); m.State != store.Unconfirmed {
		t.Fatalf("a GET changed the state to %s", m.State)
	}
	step(t, ctx, "confirm",
		chromedp.Click(chromedp.ID("confirm-send")),
		chromedp.WaitVisible(chromedp.ID("confirm-done")),
	)
	waitState(t, a.Store, k, store.Delivered)
	if ms := messagesTo(up, "stranger@elsewhere.example"); len(ms) != 1 || !bytes.Equal(untraced(t, ms[0].Data), kdata) {
		t.Fatalf("confirmed message: %d copies", len(ms))
	}
	// The link works once.
	step(t, ctx, "open the link again",
		chromedp.Navigate(base+"/confirm?t="+token),
		chromedp.WaitVisible(chromedp.ID("confirm-gone")),
	)
	if n := eval[int](t, ctx, `document.querySelectorAll("#confirm-send").length`); n != 0 {
		t.Error("a used link still offers the button")
	}
	step(t, ctx, "forged link",
		chromedp.Navigate(base+"/confirm?t="+k+".99999999999.AAAA"),
		chromedp.WaitVisible(chromedp.ID("error-message")),
	)

	// Audit: who did what, from where.
	// Each opening of the link page is a view; the first came before the
	// confirmation.
	acts := auditActions(t, a, k)
	views := 0
	for _, x := range acts {
		if x == "message.view" {
			views++
		}
	}
	if views != 3 || len(acts) < 3 || acts[1] != "message.view" || acts[2] != "sender.confirm" {
		t.Errorf("confirmed message's audit: %v", acts)
	}
	for msgID, want := range map[string]string{id: "sender.send_now", c: "sender.cancel", k: "sender.confirm"} {
		es, _ := a.Store.Audit(context.Background(), store.AuditFilter{MsgID: msgID})
		found := false
		for _, e := range es {
			if e.Action == want {
				found = true
				if want == "sender.confirm" && (e.Actor != "link:alice@example.jp" || !bytes.Contains(e.Data, []byte(`"via":"link"`))) {
					t.Errorf("confirm entry: %s %s", e.Actor, e.Data)
				}
				if want != "sender.confirm" && (e.Actor != "alice" || !bytes.Contains(e.Data, []byte(`"via":"console"`))) {
					t.Errorf("%s entry: %s %s", want, e.Actor, e.Data)
				}
			}
		}
		if !found {
			t.Errorf("%s: no %s entry", msgID, want)
		}
	}
	if n, err := audit.Verify(context.Background(), a.Store); err != nil || n == 0 {
		t.Errorf("audit verify: %d %v", n, err)
	}
	waitSent(t, a.Store)
	if n := len(messagesTo(up, "bob@partner.example.com")); n != 1 {
		t.Errorf("partner got %d messages; the cancelled one must not leave", n)
	}
	blog.check(t)
}
