package smtpfront

import (
	"net/netip"
	"strings"
	"testing"
)

// Not an open relay: without AUTH and outside the trusted networks, no
// transaction starts.
func TestOpenRelayRefused(t *testing.T) {
	t.Parallel()
	b, rec := newRecorder()
	ts := startServer(t, baseConfig(), b)
	c := dialRaw(t, ts.addr)
	c.greet()
	for _, from := range []string{"alice@example.com", "", "anyone@elsewhere.example"} {
		if text := c.cmd("MAIL FROM:<"+from+">", 530); text != "5.7.0 Authentication required" {
			t.Errorf("MAIL FROM:<%s>: %q", from, text)
		}
	}
	c.cmd("RCPT TO:<victim@example.org>", 502) // go-smtp: no MAIL
	c.cmd("DATA", 502)
	c.cmd("QUIT", 221)
	if rec.count() != 0 {
		t.Error("submitted")
	}
	if n := ts.refused(reasonAuthRequired); n != 3 {
		t.Errorf("auth_required %v", n)
	}
}

// Trusted networks relay without AUTH, with any sender, even <>.
func TestTrustedNetworkRelay(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.TrustedNets = []netip.Prefix{netip.MustParsePrefix("10.9.9.9/8"), netip.MustParsePrefix("127.0.0.1/32")}
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	c := dialRaw(t, ts.addr)
	c.greet()
	for _, from := range []string{"someone@internal.example", ""} {
		c.cmd("MAIL FROM:<"+from+">", 250)
		c.cmd("RCPT TO:<partner@example.org>", 250)
		c.cmd("DATA", 354)
		c.send("Subject: relayed\r\n\r\nbody\r\n.\r\n")
		c.expect(250)
	}
	c.cmd("QUIT", 221)
	subs := rec.all()
	if len(subs) != 2 || subs[0].env.From != "someone@internal.example" || subs[1].env.From != "" {
		t.Fatalf("submissions %+v", subs)
	}
	for _, s := range subs {
		if s.env.AuthUser != "" || s.env.ClientAddr != "127.0.0.1" {
			t.Errorf("envelope %+v", s.env)
		}
	}

	// Only the listed networks: 127.0.0.2 is not trusted.
	o := dialRawFrom(t, ts.addr, "127.0.0.2")
	o.greet()
	o.cmd("MAIL FROM:<someone@internal.example>", 530)
}

func TestSenderOwnership(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	// Authenticating from a trusted network does not lift the rule.
	cfg.TrustedNets = []netip.Prefix{loopback}
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	c := dialRaw(t, ts.addr)
	c.greet()
	c.login("alice", "secret")
	for _, from := range []string{"bob@example.com", "alice@example.net", "alice@example.com.evil", "alice+tag@example.com"} {
		if text := c.cmd("MAIL FROM:<"+from+">", 553); text != "5.7.1 Sender address not allowed for this account" {
			t.Errorf("MAIL FROM:<%s>: %q", from, text)
		}
	}
	if text := c.cmd("MAIL FROM:<>", 553); !strings.HasPrefix(text, "5.7.1 ") {
		t.Errorf("null sender: %q", text)
	}
	for _, from := range []string{"ALICE@example.COM", "alice.alias@example.com"} {
		c.cmd("MAIL FROM:<"+from+">", 250)
		c.cmd("RSET", 250)
	}
	c.cmd("QUIT", 221)
	if rec.count() != 0 {
		t.Error("submitted")
	}
	if n := ts.refused(reasonSenderSpoof); n != 5 {
		t.Errorf("sender_spoof %v", n)
	}
}

func TestAddressSyntax(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.TrustedNets = []netip.Prefix{loopback}
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	c := dialRaw(t, ts.addr)
	c.greet()

	c.cmd("MAIL FROM:<\"john doe\"@example.com>", 501)
	c.cmd("MAIL FROM:<jörg@example.com>", 553)
	c.cmd("MAIL FROM:<sender@example.com>", 250)
	c.cmd("MAIL FROM:<sender@example.com>", 503) // nested
	for _, rcpt := range []string{`"a b"@example.com`, `"x@y"@example.com`, "a@b,c@d", "a@exa mple.com", "a@@b"} {
		if code, text, err := sendCmd(c, "RCPT TO:<"+rcpt+">"); err != nil || code/100 != 5 {
			t.Errorf("RCPT %s: %d %s %v", rcpt, code, text, err)
		}
	}
	if text := c.cmd("RCPT TO:<jörg@example.com>", 553); !strings.HasPrefix(text, "5.6.7 ") {
		t.Errorf("non-ASCII without SMTPUTF8: %q", text)
	}
	c.cmd("RSET", 250)
	c.cmd("MAIL FROM:<jörg@bücher.example> SMTPUTF8", 250)
	c.cmd("RCPT TO:<jörg@example.com>", 250)
	c.cmd("DATA", 354)
	c.send("Subject: ü\r\n\r\nü\r\n.\r\n")
	c.expect(250)
	if subs := rec.all(); len(subs) != 1 || !subs[0].env.Params.SMTPUTF8 || subs[0].env.From != "jörg@bücher.example" {
		t.Errorf("submissions %+v", subs)
	}
}

func sendCmd(c *rawClient, line string) (int, string, error) {
	c.send(line + "\r\n")
	return c.reply()
}
