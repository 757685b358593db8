package app

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

// TestBccAndDKIM states what docs/flow.md says about the bcc action and
// DKIM: a signature that covers To or Cc no longer verifies after the
// rewrite; one that does not cover them still does (everything else is
// byte-identical), so sign after the guard.
func TestBccAndDKIM(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), `
[[policy.rule]]
name = "exposed"
action = "bcc"
reason = "External addresses would see each other."
external_header_rcpts_over = 1
`))
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
	orig := "From: Alice <alice@example.jp>\r\nTo: x@one.example, y@two.example\r\nSubject: list\r\n" +
		"Message-ID: <bcc-dkim@example.jp>\r\n\r\nhello\r\n"
	rcpts := []string{"x@one.example", "y@two.example"}
	for i, c := range []struct {
		headers  []string
		verifies bool
	}{
		{[]string{"From", "To", "Subject", "Message-ID"}, false},
		{[]string{"From", "Subject", "Message-ID"}, true},
	} {
		var signed bytes.Buffer
		if err := dkim.Sign(&signed, strings.NewReader(orig), &dkim.SignOptions{
			Domain: "example.jp", Selector: "s1", Signer: priv, HeaderKeys: c.headers,
		}); err != nil {
			t.Fatal(err)
		}
		reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", rcpts, signed.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, a.Store, idFrom(t, reply), store.Delivered)
		got := up.WaitFor(i+1, 10*time.Second)[i].Data
		if !bytes.Contains(got, []byte("\r\nTo: undisclosed-recipients:;\r\n")) {
			t.Fatalf("not rewritten: %q", got)
		}
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(got), &dkim.VerifyOptions{LookupTXT: lookup})
		if err != nil || len(vs) != 1 {
			t.Fatalf("verify: %v %d", err, len(vs))
		}
		if ok := vs[0].Err == nil; ok != c.verifies {
			t.Errorf("signed %v: verifies %v, want %v (%v)", c.headers, ok, c.verifies, vs[0].Err)
		}
	}
}
