package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// TestRecipientSignalsEndToEnd: over SMTP, a delivery teaches the
// correspondents record in the transaction that records it, so the next
// message to the same recipient is no first contact; a domain mailed
// regularly becomes trusted, and a look-alike of it, like one of a
// free-mail domain, is held without any link.
func TestRecipientSignalsEndToEnd(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), `
[[policy.rule]]
name = "first-contact-address"
first_contact = "address"
action = "hold"
mode = "monitor"
reason = "First mail from this sender to this address."
`))
	ctx := context.Background()
	verdictOf := func(id string) *verdict.Verdict {
		t.Helper()
		m, err := a.Store.Message(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return m.Verdict
	}
	submit := func(from string, to ...string) string {
		t.Helper()
		reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", from, to, msg("quote", "お見積りをお送りします。"))
		if err != nil {
			t.Fatal(err)
		}
		return idFrom(t, reply)
	}

	id := submit("alice@example.jp", "Yamada@Customer.example", "colleague@example.jp")
	waitState(t, a.Store, id, store.Delivered)
	v := verdictOf(id)
	if len(v.FirstContact) != 1 || v.FirstContact[0].Rcpt != "Yamada@Customer.example" || !v.FirstContact[0].NewDomain {
		t.Errorf("first message: first contact %+v", v.FirstContact)
	}
	c, err := a.Store.Correspondent(ctx, "alice@example.jp", "yamada@customer.example")
	if err != nil || c.Count != 1 || c.Domain != "customer.example" {
		t.Fatalf("correspondent after delivery: %+v %v", c, err)
	}
	if _, err := a.Store.CorrespondentDomain(ctx, "example.jp"); err == nil {
		t.Error("internal recipient recorded as a correspondent")
	}

	// Known now, although the in-memory domains were not refreshed.
	id = submit("alice@example.jp", "yamada@customer.example")
	waitState(t, a.Store, id, store.Delivered)
	if v := verdictOf(id); len(v.FirstContact) != 0 || len(v.Reasons) != 0 {
		t.Errorf("second message: first contact %+v, reasons %+v", v.FirstContact, v.Reasons)
	}
	// The same address from another of alice's addresses: the domain is
	// known, the address is new to this sender (monitored).
	id = submit("team@example.jp", "yamada@customer.example")
	waitState(t, a.Store, id, store.Delivered)
	v = verdictOf(id)
	if len(v.FirstContact) != 1 || v.FirstContact[0].NewDomain || !v.FirstContact[0].NewAddress ||
		len(v.Reasons) != 1 || v.Reasons[0].Rule != "first-contact-address" || !v.Reasons[0].Monitor {
		t.Errorf("other sender: %+v %+v", v.FirstContact, v.Reasons)
	}

	// customer.example has 3 deliveries: a regular correspondent once the
	// record is refreshed; a look-alike of it is held.
	if err := a.Corr.Load(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ rcpt, trusted string }{
		{"yamada@custmer.example", "customer.example"},
		{"yamada@gmial.com", "gmail.com"},
		{"x@exmaple.jp", "example.jp"},
		{"x@partner-example.com", "partner.example.com"},
	} {
		reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{tc.rcpt}, msg("quote", "リンクのないメールです。"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(reply, "held") {
			t.Errorf("%s: reply %q, want held", tc.rcpt, reply)
			continue
		}
		v := verdictOf(idFrom(t, reply))
		if len(v.Lookalikes) != 1 || v.Lookalikes[0].Trusted != tc.trusted || len(v.Rules()) != 1 || v.Rules()[0] != "lookalike-recipient-domain" {
			t.Errorf("%s: %+v %v", tc.rcpt, v.Lookalikes, v.Rules())
		}
	}
	// The sender's notice (Japanese by default) names the pair.
	want := "yamada@gmial.com: gmial.com は gmail.com に似ています"
	deadline := time.Now().Add(10 * time.Second)
	for {
		found := false
		for _, m := range up.Messages() {
			if len(m.Addrs()) == 1 && m.Addrs()[0] == "alice@example.jp" && strings.Contains(noticeText(t, m.Data), want) {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no notice to the sender names %q", want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// noticeText decodes the base64 body of one of the guard's notices.
func noticeText(t *testing.T, data []byte) string {
	t.Helper()
	_, body, ok := bytes.Cut(data, []byte("\r\n\r\n"))
	if !ok {
		return ""
	}
	dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), ""))
	if err != nil {
		return ""
	}
	return string(dec)
}
