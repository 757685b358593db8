package app

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// delayRule delays mail to anyone outside the organisation.
func delayRule(d string) string {
	return `
[[policy.rule]]
name = "delay-external"
action = "delay"
delay = "` + d + `"
reason = "External mail waits so that mistakes can be cancelled."
recipients = "any_external"
[notify]
from = "guard@example.jp"
language = "en"
`
}

// auditActions returns the actions of the audit entries about id.
func auditActions(t *testing.T, a *App, id string) []string {
	t.Helper()
	es, err := a.Store.Audit(context.Background(), store.AuditFilter{MsgID: id})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Action)
	}
	return out
}

func sendAs(t *testing.T, a *App, subject, body string, to ...string) (string, []byte) {
	t.Helper()
	data := msg(subject, body)
	reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", to, data)
	if err != nil {
		t.Fatal(err)
	}
	return idFrom(t, reply), data
}

// Delayed mail is not sent before its release time, survives a restart,
// and leaves by itself when due, byte for byte.
func TestDelayRestartReleasesOnTime(t *testing.T) {
	up := fakesmtp.Start(t)
	cfg := testConfig(t, up.Addr(), delayRule("3s"))
	ctx := context.Background()
	a, err := Open(ctx, cfg, zaptest.NewLogger(t), WithBcryptCost(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	id, data := sendAs(t, a, "delay-restart", "plain text", "bob@partner.example.com")
	m := waitState(t, a.Store, id, store.Delayed)
	if d := m.NextAttempt.Sub(m.Received); d < 3*time.Second || d > 4*time.Second {
		t.Errorf("release %v after receipt; want 3s (and never less)", d)
	}
	// The sender's notice names the release time and the console page.
	waitFor(t, "delay notice", func() bool { return len(messagesTo(up, "alice@example.jp")) == 1 })
	notice := decodeNotice(t, messagesTo(up, "alice@example.jp")[0].Data)
	for _, want := range []string{"bob@partner.example.com", "/messages/" + id, "send it now or cancel"} {
		if !strings.Contains(notice, want) {
			t.Errorf("notice lacks %q:\n%s", want, notice)
		}
	}
	// Restart while it waits.
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := a.Close(cctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if n := len(messagesTo(up, "bob@partner.example.com")); n != 0 {
		t.Fatalf("delivered %d before the release time", n)
	}
	cfg.SMTP.Listen, cfg.HTTP.Listen, cfg.Console.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	b := startApp(t, cfg)
	if got, _ := b.Store.Message(ctx, id); got.State != store.Delayed {
		t.Fatalf("after restart: %s", got.State)
	}
	got := waitState(t, b.Store, id, store.Delivered)
	elapsed := time.Since(sent)
	ms := messagesTo(up, "bob@partner.example.com")
	if len(ms) != 1 || !bytes.Equal(untraced(t, ms[0].Data), data) {
		t.Fatalf("delivered %d copies; bytes identical: %v", len(ms), len(ms) == 1 && bytes.Equal(untraced(t, ms[0].Data), data))
	}
	if elapsed < 3*time.Second {
		t.Errorf("delivered %v after sending; never earlier than 3s", elapsed)
	}
	if elapsed > 3*time.Second+pollMaxSlack {
		t.Errorf("delivered %v after sending; due at 3s, not promptly", elapsed)
	}
	if got.Attempts != 1 {
		t.Errorf("attempts %d", got.Attempts)
	}
	if acts := auditActions(t, b, id); !slicesContain(acts, "message.accepted") || !slicesContain(acts, "delivery.delivered") {
		t.Errorf("audit: %v", acts)
	}
}

// pollMaxSlack is how late "promptly" may be on a loaded machine: the
// scheduler's timer is set to the due time, not to a slow poll.
const pollMaxSlack = 3 * time.Second

func slicesContain(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// The sender cancels delayed mail: it is never sent. Send now sends
// another at once. Only the sender may do either.
func TestDelayCancelAndSendNow(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), delayRule("1h")))
	ctx := context.Background()
	alice, olga := user(t, a, "alice"), user(t, a, "olga")

	c, _ := sendAs(t, a, "cancel-me", "text", "bob@partner.example.com")
	waitState(t, a.Store, c, store.Delayed)
	if err := a.Hold.Cancel(ctx, olga, c, "test"); !errors.Is(err, hold.ErrForbidden) {
		t.Errorf("officer cancelling: %v", err)
	}
	if err := a.Hold.SendNow(ctx, olga, c, "test"); !errors.Is(err, hold.ErrForbidden) {
		t.Errorf("officer sending now: %v", err)
	}
	if err := a.Hold.Cancel(ctx, alice, c, "test"); err != nil {
		t.Fatal(err)
	}
	if err := a.Hold.SendNow(ctx, alice, c, "test"); !errors.Is(err, hold.ErrNotWaiting) {
		t.Errorf("send now after cancel: %v", err)
	}
	waitState(t, a.Store, c, store.Withdrawn)

	s, data := sendAs(t, a, "send-me-now", "text", "bob@partner.example.com")
	waitState(t, a.Store, s, store.Delayed)
	start := time.Now()
	if err := a.Hold.SendNow(ctx, alice, s, "test"); err != nil {
		t.Fatal(err)
	}
	waitState(t, a.Store, s, store.Delivered)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("send now took %v", d)
	}
	ms := messagesTo(up, "bob@partner.example.com")
	if len(ms) != 1 || !bytes.Equal(untraced(t, ms[0].Data), data) || !strings.Contains(string(ms[0].Data), "send-me-now") {
		t.Fatalf("%d messages reached the recipient; want only the one sent now, unchanged", len(ms))
	}
	if err := a.Hold.Cancel(ctx, alice, s, "test"); !errors.Is(err, hold.ErrNotWaiting) {
		t.Errorf("cancel after sending: %v", err)
	}
	if acts := auditActions(t, a, c); !slicesContain(acts, "sender.cancel") {
		t.Errorf("cancel not audited: %v", acts)
	}
	if acts := auditActions(t, a, s); !slicesContain(acts, "sender.send_now") {
		t.Errorf("send now not audited: %v", acts)
	}
	if n, err := audit.Verify(ctx, a.Store); err != nil {
		t.Errorf("audit verify after %d: %v", n, err)
	}
}

// [delay] all_external delays external mail; internal mail is not delayed,
// and with split delivery an internal co-recipient gets it at once.
func TestDelayAllExternalSplits(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), `
[delay]
all_external = "1h"
`))
	in, _ := sendAs(t, a, "internal-only", "text", "bob@example.jp")
	waitState(t, a.Store, in, store.Delivered)
	id, data := sendAs(t, a, "mixed", "text", "carol@example.jp", "dave@elsewhere.example")
	m := waitState(t, a.Store, id, store.Delayed)
	if m.Status[0].Part != id+"-1" || m.Status[1].Part != "" {
		t.Errorf("per-recipient state %+v", m.Status)
	}
	waitState(t, a.Store, id+"-1", store.Delivered)
	if ms := messagesTo(up, "carol@example.jp"); len(ms) != 1 || !bytes.Equal(untraced(t, ms[0].Data), data) || len(ms[0].Addrs()) != 1 {
		t.Fatalf("internal recipient: %d copies", len(ms))
	}
	if n := len(messagesTo(up, "dave@elsewhere.example")); n != 0 {
		t.Fatalf("external recipient got %d copies before the delay ended", n)
	}
}

// Split delivery with a hold: the internal recipient gets the message at
// once, the unknown one after an officer approves; both byte for byte.
// Each step is audited per recipient.
func TestSplitDeliveryHoldThenApprove(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), ""))
	ctx := context.Background()
	id, data := sendAs(t, a, "split", shareBody, "colleague@example.jp", "stranger@elsewhere.example", "bob@partner.example.com")
	m := waitState(t, a.Store, id, store.Held)
	part := id + "-1"
	if m.Status[0].Part != part || m.Status[1].Part != "" || m.Status[2].Part != part {
		t.Fatalf("per-recipient state %+v", m.Status)
	}
	p := waitState(t, a.Store, part, store.Delivered)
	if got := p.Addrs(); len(got) != 2 || got[0] != "colleague@example.jp" || got[1] != "bob@partner.example.com" {
		t.Errorf("part recipients %v", got)
	}
	for _, r := range []string{"colleague@example.jp", "bob@partner.example.com"} {
		if ms := messagesTo(up, r); len(ms) != 1 || !bytes.Equal(untraced(t, ms[0].Data), data) {
			t.Fatalf("%s: %d copies before the decision", r, len(ms))
		}
	}
	if n := len(messagesTo(up, "stranger@elsewhere.example")); n != 0 {
		t.Fatalf("held recipient got %d copies", n)
	}
	if v := m.Verdict; v.Recipients[1].Action != verdict.Hold || v.Recipients[0].Action != verdict.Pass {
		t.Errorf("verdict recipients %+v", v.Recipients)
	}
	if _, err := a.Hold.Approve(ctx, user(t, a, "olga"), id, "test"); err != nil {
		t.Fatal(err)
	}
	done := waitState(t, a.Store, id, store.Delivered)
	if ms := messagesTo(up, "stranger@elsewhere.example"); len(ms) != 1 || !bytes.Equal(untraced(t, ms[0].Data), data) || len(ms[0].Addrs()) != 1 {
		t.Fatalf("released: %d copies", len(ms))
	}
	// Nobody got it twice.
	for _, r := range []string{"colleague@example.jp", "bob@partner.example.com"} {
		if n := len(messagesTo(up, r)); n != 1 {
			t.Errorf("%s got %d copies", r, n)
		}
	}
	if done.Status[1].Done != true || done.Status[1].Failed {
		t.Errorf("waiting recipient status %+v", done.Status[1])
	}
	// Audit: the accepted entries name, per recipient, who waits and who
	// was sent at once; the part has its own delivery entry.
	es, _ := a.Store.Audit(ctx, store.AuditFilter{MsgID: id})
	if len(es) == 0 || !bytes.Contains(es[0].Data, []byte(`"sent_as":"`+part+`"`)) || !bytes.Contains(es[0].Data, []byte(`"waiting":true`)) {
		t.Errorf("accepted entry: %s", es[0].Data)
	}
	if acts := auditActions(t, a, part); !slicesContain(acts, "message.accepted") || !slicesContain(acts, "delivery.delivered") {
		t.Errorf("part audit: %v", acts)
	}
	// The sender's notice says who waits and who has the message already.
	waitFor(t, "hold notice", func() bool { return len(messagesTo(up, "alice@example.jp")) >= 1 })
	if n := decodeNotice(t, messagesTo(up, "alice@example.jp")[0].Data); !strings.Contains(n, "stranger@elsewhere.example") ||
		!strings.Contains(n, "colleague@example.jp, bob@partner.example.com") {
		t.Errorf("hold notice:\n%s", n)
	}
	// The approval names the recipients it released.
	es, _ = a.Store.Audit(ctx, store.AuditFilter{MsgID: id})
	for _, e := range es {
		if e.Action == "hold.approve" && !bytes.Contains(e.Data, []byte(`"waiting":["stranger@elsewhere.example"]`)) {
			t.Errorf("approval entry: %s", e.Data)
		}
	}
}

// With split_delivery = false the whole message waits.
func TestSplitDeliveryOff(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), "[hold]\nsplit_delivery = false\n"))
	id, _ := sendAs(t, a, "nosplit", shareBody, "colleague@example.jp", "stranger@elsewhere.example")
	waitState(t, a.Store, id, store.Held)
	if _, err := a.Store.Message(context.Background(), id+"-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a part exists: %v", err)
	}
	waitSent(t, a.Store)
	if n := len(messagesTo(up, "colleague@example.jp")); n != 0 {
		t.Errorf("internal recipient got %d copies", n)
	}
}

const confirmRule = `
[[policy.rule]]
name = "confirm-unknown"
action = "confirm"
reason = "A recipient you have not written to before: please confirm."
recipients = "any_unknown"
[notify]
from = "guard@example.jp"
language = "en"
[confirm]
expire_after = "30m"
`

var confirmLinkRE = regexp.MustCompile(`/confirm\?t=([A-Za-z0-9._-]+)`)

// Confirmation by the signed link in the notice releases the message;
// the link works once, and not for a forged or altered token. Mail not
// confirmed in time expires unsent.
func TestConfirmLinkAndExpiry(t *testing.T) {
	up := fakesmtp.Start(t)
	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	clock := func() time.Time { return *now.Load() }
	a := startApp(t, testConfig(t, up.Addr(), confirmRule), WithClock(clock))
	ctx := context.Background()

	id, data := sendAs(t, a, "confirm-me", "text", "stranger@elsewhere.example")
	m := waitState(t, a.Store, id, store.Unconfirmed)
	if d := m.HoldExpires.Sub(start); d < 30*time.Minute-time.Second || d > 30*time.Minute+time.Second {
		t.Errorf("expires %v", m.HoldExpires)
	}
	waitFor(t, "confirm notice", func() bool { return len(messagesTo(up, "alice@example.jp")) == 1 })
	notice := decodeNotice(t, messagesTo(up, "alice@example.jp")[0].Data)
	sm := confirmLinkRE.FindStringSubmatch(notice)
	if sm == nil {
		t.Fatalf("no confirmation link in:\n%s", notice)
	}
	token := sm[1]
	// An officer cannot confirm for the sender.
	if err := a.Hold.Confirm(ctx, user(t, a, "olga"), id, "test"); !errors.Is(err, hold.ErrForbidden) {
		t.Errorf("officer confirming: %v", err)
	}
	for _, bad := range []string{token + "x", strings.Replace(token, ".", ".9", 1), "", id + ".99999999999.AAAA"} {
		if _, err := a.Hold.ConfirmLink(ctx, bad, "test"); !errors.Is(err, hold.ErrBadLink) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	if got, err := a.Hold.ConfirmLink(ctx, token, "test"); err != nil || got != id {
		t.Fatalf("confirm: %q %v", got, err)
	}
	if _, err := a.Hold.ConfirmLink(ctx, token, "test"); !errors.Is(err, hold.ErrNotWaiting) {
		t.Errorf("second use of the link: %v", err)
	}
	waitState(t, a.Store, id, store.Delivered)
	if ms := messagesTo(up, "stranger@elsewhere.example"); len(ms) != 1 || !bytes.Equal(untraced(t, ms[0].Data), data) {
		t.Fatalf("confirmed: %d copies", len(ms))
	}
	if acts := auditActions(t, a, id); !slicesContain(acts, "sender.confirm") {
		t.Errorf("audit %v", acts)
	}

	// Not confirmed: expires unsent, with a notice; the link is dead.
	e, _ := sendAs(t, a, "expire-me", "text", "other@elsewhere.example")
	waitState(t, a.Store, e, store.Unconfirmed)
	waitFor(t, "second confirm notice", func() bool { return len(messagesTo(up, "alice@example.jp")) == 2 })
	token2 := confirmLinkRE.FindStringSubmatch(decodeNotice(t, messagesTo(up, "alice@example.jp")[1].Data))[1]
	if n, err := a.Hold.ExpireDue(ctx); err != nil || n != 0 {
		t.Fatalf("expired early: %d %v", n, err)
	}
	later := start.Add(31 * time.Minute)
	now.Store(&later)
	if _, err := a.Hold.ConfirmLink(ctx, token2, "test"); !errors.Is(err, hold.ErrBadLink) {
		t.Errorf("expired link: %v", err)
	}
	// Confirming in the console after the deadline, before the expiry
	// loop came by, does not send it: it expires there and then.
	if err := a.Hold.Confirm(ctx, user(t, a, "alice"), e, "test"); !errors.Is(err, hold.ErrTooLate) {
		t.Fatalf("late confirmation: %v", err)
	}
	if n, err := a.Hold.ExpireDue(ctx); err != nil || n != 0 {
		t.Fatalf("expire: %d %v", n, err)
	}
	waitState(t, a.Store, e, store.Expired)
	waitFor(t, "expiry notice", func() bool { return len(messagesTo(up, "alice@example.jp")) == 3 })
	if s := decodeNotice(t, messagesTo(up, "alice@example.jp")[2].Data); !strings.Contains(s, "did not confirm") {
		t.Errorf("expiry notice:\n%s", s)
	}
	if n := len(messagesTo(up, "other@elsewhere.example")); n != 0 {
		t.Errorf("expired mail sent %d times", n)
	}
	if acts := auditActions(t, a, e); !slicesContain(acts, "sender.expire") {
		t.Errorf("audit %v", acts)
	}
	if n, err := audit.Verify(ctx, a.Store); err != nil {
		t.Errorf("audit verify after %d: %v", n, err)
	}
}

// The bcc action: the external To/Cc addresses leave the header, the
// envelope is unchanged, everything else is byte-identical.
func TestBccRewrite(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), `
[[policy.rule]]
name = "exposed-recipients"
action = "bcc"
reason = "External addresses would see each other."
external_header_rcpts_over = 1
`))
	head := "From: Alice <alice@example.jp>\r\n" +
		"To: \"Yamada\" <yamada@one.example>,\r\n Suzuki <suzuki@two.example>, Carol <carol@example.jp>\r\n" +
		"Cc: sato@three.example\r\n" +
		"Subject: bcc-me\r\nMessage-ID: <bcc-me@example.jp>\r\nDKIM-Signature: v=1; a=rsa-sha256; h=from:to:cc:subject; b=abc\r\n"
	rest := "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	data := []byte(head + rest)
	rcpts := []string{"yamada@one.example", "suzuki@two.example", "carol@example.jp", "sato@three.example"}
	reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", rcpts, data)
	if err != nil {
		t.Fatal(err)
	}
	id := idFrom(t, reply)
	m := waitState(t, a.Store, id, store.Delivered)
	ms := up.Messages()
	if len(ms) != 1 {
		t.Fatalf("%d messages upstream", len(ms))
	}
	if got := ms[0].Addrs(); strings.Join(got, ",") != strings.Join(rcpts, ",") {
		t.Errorf("envelope changed: %v", got)
	}
	want := "From: Alice <alice@example.jp>\r\n" +
		"To: \"Carol\" <carol@example.jp>\r\n" +
		"Subject: bcc-me\r\nMessage-ID: <bcc-me@example.jp>\r\nDKIM-Signature: v=1; a=rsa-sha256; h=from:to:cc:subject; b=abc\r\n" + rest
	if string(untraced(t, ms[0].Data)) != want {
		t.Errorf("delivered:\n%q\nwant:\n%q", ms[0].Data, want)
	}
	if v := m.Verdict; v.Bcc == nil || !v.Bcc.Applied || strings.Join(v.Bcc.Moved, ",") != "yamada@one.example,suzuki@two.example,sato@three.example" {
		t.Errorf("verdict bcc %+v", v.Bcc)
	}
	es, _ := a.Store.Audit(context.Background(), store.AuditFilter{MsgID: id})
	if len(es) == 0 || !bytes.Contains(es[0].Data, []byte(`"moved":["yamada@one.example"`)) {
		t.Errorf("audit entry %s", es[0].Data)
	}
}

// DSNs follow the split: a recipient of the part sent at once that the
// smarthost refuses is reported in a DSN of its own, naming only it; the
// recipient still waiting is neither reported nor delivered.
func TestSplitDeliveryDSNPerRecipient(t *testing.T) {
	up := fakesmtp.Start(t)
	up.SetRcptHandler(func(rcpt string) *smtp.SMTPError {
		if rcpt == "gone@example.jp" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	a := startApp(t, testConfig(t, up.Addr(), ""))
	id, _ := sendAs(t, a, "split-dsn", shareBody, "colleague@example.jp", "gone@example.jp", "stranger@elsewhere.example")
	waitState(t, a.Store, id, store.Held)
	p := waitState(t, a.Store, id+"-1", store.Delivered)
	if !p.Status[1].Failed || p.Status[0].Failed {
		t.Errorf("part status %+v", p.Status)
	}
	var dsn []byte
	waitFor(t, "DSN", func() bool {
		for _, m := range messagesTo(up, "alice@example.jp") {
			if m.From == "" {
				dsn = m.Data
				return true
			}
		}
		return false
	})
	if !bytes.Contains(dsn, []byte("Final-Recipient: rfc822; gone@example.jp")) || bytes.Contains(dsn, []byte("stranger@elsewhere.example")) ||
		bytes.Contains(dsn, []byte("Final-Recipient: rfc822; colleague@example.jp")) {
		t.Errorf("DSN:\n%s", dsn)
	}
	if n := len(messagesTo(up, "stranger@elsewhere.example")); n != 0 {
		t.Errorf("waiting recipient got %d copies", n)
	}
}

// Send now and cancel at the same moment: exactly one wins, and the
// outcome is consistent (cancelled mail never leaves; sent mail leaves
// once).
func TestSendNowCancelRace(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), delayRule("1h")))
	ctx := context.Background()
	alice := user(t, a, "alice")
	for i := 0; i < 5; i++ {
		id, _ := sendAs(t, a, "race"+string(rune('a'+i)), "text", "bob@partner.example.com")
		waitState(t, a.Store, id, store.Delayed)
		errs := make(chan error, 2)
		go func() { errs <- a.Hold.SendNow(ctx, alice, id, "test") }()
		go func() { errs <- a.Hold.Cancel(ctx, alice, id, "test") }()
		e1, e2 := <-errs, <-errs
		ok := 0
		for _, err := range []error{e1, e2} {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, hold.ErrNotWaiting):
				t.Fatalf("unexpected error %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of send-now and cancel succeeded", ok)
		}
		m, _ := a.Store.Message(ctx, id)
		if m.State == store.Withdrawn {
			continue
		}
		waitState(t, a.Store, id, store.Delivered)
	}
	waitSent(t, a.Store)
	ms, _ := a.Store.List(ctx, store.Filter{States: []store.State{store.Withdrawn}})
	withdrawn := len(ms)
	if got := len(messagesTo(up, "bob@partner.example.com")); got != 5-withdrawn {
		t.Errorf("partner got %d messages; %d of 5 were cancelled", got, withdrawn)
	}
}
