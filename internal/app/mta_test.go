package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

// refusedEntries returns the data of the message.refused audit entries.
func refusedEntries(t *testing.T, st store.Store) []map[string]any {
	t.Helper()
	es, err := st.Audit(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range es {
		if e.Action != "message.refused" {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		d["msg_id"] = e.MsgID
		d["actor"] = e.Actor
		out = append(out, d)
	}
	return out
}

func smtpCode(err error) (int, string) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code, fmt.Sprintf("%d.%d.%d %s", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message)
	}
	return 0, fmt.Sprint(err)
}

// TestHeaderFromSpoofRefused: authenticated as alice with her envelope
// sender, a header From of someone else is refused with 550 5.7.1 and
// audited; her own address passes.
func TestHeaderFromSpoofRefused(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), ""))
	spoof := []byte("From: CEO <ceo@example.jp>\r\nTo: bob@example.jp\r\nSubject: urgent transfer\r\n\r\nplease pay\r\n")
	_, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"bob@example.jp"}, spoof)
	code, text := smtpCode(err)
	if code != 550 || !strings.HasPrefix(text, "5.7.1 Header From address not allowed for this account [") {
		t.Fatalf("spoofed header From: %d %q", code, text)
	}
	refs := refusedEntries(t, a.Store)
	if len(refs) != 1 || refs[0]["reason"] != "header_from" || refs[0]["actor"] != "alice" ||
		refs[0]["from"] != "alice@example.jp" || !strings.Contains(text, refs[0]["msg_id"].(string)) {
		t.Errorf("audit entries %v", refs)
	}
	ms, err := a.Store.List(context.Background(), store.Filter{})
	if err != nil || len(ms) != 0 {
		t.Errorf("refused message stored: %d %v", len(ms), err)
	}

	// Her own address, written differently, passes.
	own := []byte("From: Alice <ALICE@example.JP>\r\nTo: bob@example.jp\r\nSubject: hi\r\n\r\nhello\r\n")
	reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"bob@example.jp"}, own)
	if err != nil || !strings.Contains(reply, "queued as") {
		t.Fatalf("own header From: %q %v", reply, err)
	}
	waitState(t, a.Store, idFrom(t, reply), store.Delivered)
	if n := len(up.Messages()); n != 1 {
		t.Errorf("upstream got %d messages", n)
	}
}

// TestMailLoopRefused: a message that already carries 100 Received:
// fields is refused with 554 5.4.6 and audited, not relayed.
func TestMailLoopRefused(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), ""))
	var hdr strings.Builder
	for i := range 100 {
		fmt.Fprintf(&hdr, "Received: from hop%d.example.jp ([192.0.2.%d])\r\n\tby hop%d.example.jp with ESMTP id h%d;\r\n\tWed, 02 Dec 2026 09:00:00 +0900\r\n", i, i, i+1, i)
	}
	data := append([]byte(hdr.String()), msg("loop", "round and round")...)
	_, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"bob@example.jp"}, data)
	if code, text := smtpCode(err); code != 554 || !strings.HasPrefix(text, "5.4.6 ") {
		t.Fatalf("100 hops: %d %q", code, text)
	}
	refs := refusedEntries(t, a.Store)
	if len(refs) != 1 || refs[0]["reason"] != "too_many_hops" {
		t.Errorf("audit entries %v", refs)
	}
	// The default limit is 50 fields: 49 pass.
	data = append([]byte(hdr.String()[:strings.Index(hdr.String(), "Received: from hop49.")]), msg("fine", "ok")...)
	reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"bob@example.jp"}, data)
	if err != nil {
		t.Fatalf("49 hops: %v", err)
	}
	waitState(t, a.Store, idFrom(t, reply), store.Delivered)
	waitSent(t, a.Store)
	if n := len(up.Messages()); n != 1 {
		t.Errorf("upstream got %d messages, want 1", n)
	}
}

// TestDKIMSurvivesRelay: a message DKIM-signed by the sender (all header
// fields signed, a Received: field among them, simple and relaxed
// canonicalization) still verifies as the smarthost receives it, with the
// guard's Received: field in front.
func TestDKIMSurvivesRelay(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), ""))
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(domain string) ([]string, error) {
		if domain != "s1._domainkey.example.jp" {
			return nil, fmt.Errorf("no key for %s", domain)
		}
		return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
	}
	orig := "Received: from pc1.example.jp by mx.example.jp; Wed, 02 Dec 2026 09:00:00 +0900\r\n" +
		"From: Alice <alice@example.jp>\r\nTo: bob@example.jp\r\nSubject: =?UTF-8?B?5pel5pys6Kqe?=\r\n" +
		"Message-ID: <dkim@example.jp>\r\n\r\nline with trailing spaces   \r\n.\r\n..leading dots\r\n\xe6\x97\xa5\xe6\x9c\xac\r\n"
	for i, canon := range []dkim.Canonicalization{dkim.CanonicalizationSimple, dkim.CanonicalizationRelaxed} {
		var signed bytes.Buffer
		err := dkim.Sign(&signed, strings.NewReader(orig), &dkim.SignOptions{
			Domain: "example.jp", Selector: "s1", Signer: priv,
			HeaderCanonicalization: canon, BodyCanonicalization: canon,
		})
		if err != nil {
			t.Fatal(err)
		}
		reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"bob@example.jp"}, signed.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, a.Store, idFrom(t, reply), store.Delivered)
		got := up.WaitFor(i+1, 10*time.Second)[i].Data
		if !bytes.HasPrefix(got, []byte("Received: from client.test")) {
			t.Fatalf("%s: no trace field in front: %.100q", canon, got)
		}
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(got), &dkim.VerifyOptions{LookupTXT: lookup})
		if err != nil || len(vs) != 1 || vs[0].Err != nil {
			t.Errorf("%s: DKIM does not verify after the relay: %v %+v", canon, err, vs)
		}
		// The check can fail: one changed body byte breaks it.
		bad := bytes.Replace(got, []byte("leading dots"), []byte("leading dotz"), 1)
		if vs, _ := dkim.VerifyWithOptions(bytes.NewReader(bad), &dkim.VerifyOptions{LookupTXT: lookup}); len(vs) != 1 || vs[0].Err == nil {
			t.Errorf("%s: a changed body still verifies", canon)
		}
	}
}
