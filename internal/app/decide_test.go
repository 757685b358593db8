package app

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/store"
)

// relaySend submits a message without AUTH from 127.0.0.2, a trusted
// network in testConfig: how mail from an internal relay arrives.
func relaySend(t *testing.T, addr, from string, to []string, data []byte) string {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("relay.example.jp"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(from, nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		t.Fatal(err)
	}
	c.Quit()
	return resp.StatusText
}

const off2Seed = `
[[seed_user]]
name = "off2"
password = "off2-password"
roles = ["officer"]
addresses = ["off2@example.jp"]
`

// TestSelfApprovalThroughTrustedRelay: an officer's own mail that came
// through a trusted relay as off2+x@example.jp (no SMTP AUTH, so no
// authenticated user) is theirs: they cannot approve or reject it;
// another officer can.
func TestSelfApprovalThroughTrustedRelay(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), off2Seed))
	ctx := context.Background()
	for _, tc := range []struct{ name, from, header string }{
		{"envelope subaddress", "off2+x@example.jp", "From: Off Two <off2+x@example.jp>"},
		{"envelope case", "OFF2@EXAMPLE.JP", "From: off2@example.jp"},
		{"header From only", "list-bounce@example.jp", "From: =?UTF-8?B?5L+d5a6I?= <Off2+news@Example.jp>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.header + "\r\nTo: stranger@elsewhere.example\r\nSubject: " + tc.name +
				"\r\nMessage-ID: <" + time.Now().Format("150405.000000") + "@example.jp>\r\n\r\n" + shareBody + "\r\n")
			id := idFrom(t, relaySend(t, a.SMTPAddr(), tc.from, []string{"stranger@elsewhere.example"}, data))
			m := waitState(t, a.Store, id, store.Held)
			if m.AuthUser != "" {
				t.Fatalf("relayed mail has an authenticated user %q", m.AuthUser)
			}
			off2 := user(t, a, "off2")
			if _, err := a.Hold.Approve(ctx, off2, id, "test"); !errors.Is(err, hold.ErrSelfApproval) {
				t.Fatalf("off2 approving their own relayed mail: %v", err)
			}
			if err := a.Hold.Reject(ctx, off2, id, "mine", false, "test"); !errors.Is(err, hold.ErrSelfApproval) {
				t.Fatalf("off2 rejecting their own relayed mail: %v", err)
			}
			if out, err := a.Hold.Approve(ctx, user(t, a, "olga"), id, "test"); err != nil || !out.Released {
				t.Fatalf("another officer: %+v %v", out, err)
			}
		})
	}
}

// TestApprovalAfterExpiryNotSent: an approval that comes at the hold's
// end, before any expiry sweep, is refused and the message is never
// delivered.
func TestApprovalAfterExpiryNotSent(t *testing.T) {
	up := fakesmtp.Start(t)
	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	a := startApp(t, testConfig(t, up.Addr(), `
[notify]
from = "guard@example.jp"
language = "en"
`), WithClock(func() time.Time { return *now.Load() }))
	ctx := context.Background()
	id, _ := holdOne(t, a, "late-approval")
	// Let the hold notice be delivered before the clock jumps, so that
	// its delivery claim does not look expired.
	waitFor(t, "hold notice delivered", func() bool {
		c, err := a.Store.Count(ctx)
		return err == nil && c[store.Queued]+c[store.Sending] == 0 && len(messagesTo(up, "alice@example.jp")) == 1
	})
	m, err := a.Store.Message(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	end := m.HoldExpires
	now.Store(&end)
	_, err = a.Hold.Approve(ctx, user(t, a, "olga"), id, "test")
	if !errors.Is(err, hold.ErrNotHeld) { // ErrExpired, or ErrNotHeld had the sweep come first
		t.Fatalf("approval at the hold's end: %v", err)
	}
	waitState(t, a.Store, id, store.Expired)
	waitFor(t, "expiry notice", func() bool {
		for _, n := range messagesTo(up, "alice@example.jp") {
			if bytes.Contains(n.Data, []byte("Subject: [Held mail] Not sent (no decision in time): late-approval")) {
				return true
			}
		}
		return false
	})
	if got := len(messagesTo(up, "stranger@elsewhere.example")); got != 0 {
		t.Fatalf("expired message delivered %d times", got)
	}
}
