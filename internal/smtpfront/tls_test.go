package smtpfront

import (
	"github.com/egressguard/egressguard/internal/testenv"

	"context"
	"crypto/tls"
	"os/exec"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// tlsConfig is baseConfig with STARTTLS and AUTH only after it, and the
// client side's TLS configuration.
func tlsConfig(t *testing.T) (Config, *tls.Config) {
	t.Helper()
	server, client := testTLS(t)
	cfg := baseConfig()
	cfg.TLS = server
	cfg.RequireTLSForAuth = true
	return cfg, client
}

// RequireTLSForAuth: AUTH is neither offered nor accepted before STARTTLS;
// after it, it is, and a message goes through.
func TestRequireTLSForAuth(t *testing.T) {
	t.Parallel()
	cfg, client := tlsConfig(t)
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)

	c := dialRaw(t, ts.addr)
	c.expect(220)
	ehlo := c.cmd("EHLO client.test", 250)
	if !strings.Contains(ehlo, "STARTTLS") || strings.Contains(ehlo, "AUTH") {
		t.Errorf("EHLO before TLS:\n%s", ehlo)
	}
	if text := c.cmd("AUTH PLAIN "+plain("alice", "secret"), 538); !strings.HasPrefix(text, "5.7.11 ") {
		t.Errorf("AUTH before TLS: %q", text)
	}
	c.cmd("AUTH LOGIN", 538)
	c.cmd("MAIL FROM:<alice@example.com>", 530)
	if n := ts.refused(reasonTLSRequired); n != 2 {
		t.Errorf("tls_required %v", n)
	}

	// The go-smtp client, over STARTTLS.
	gc, err := smtp.DialStartTLS(ts.addr, client)
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	if err := gc.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, mechs := gc.Extension("AUTH"); !ok || mechs != "PLAIN LOGIN" {
		t.Errorf("AUTH after TLS: %v %q", ok, mechs)
	}
	if ok, _ := gc.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered again")
	}
	if err := gc.Auth(sasl.NewLoginClient("bob", "hunter2")); err != nil {
		t.Fatal(err)
	}
	if err := gc.SendMail("bob@example.com", []string{"alice@example.com"}, strings.NewReader("Subject: tls\r\n\r\nover TLS\r\n")); err != nil {
		t.Fatal(err)
	}
	if subs := rec.all(); len(subs) != 1 || subs[0].env.AuthUser != "bob" || string(subs[0].data) != "Subject: tls\r\n\r\nover TLS\r\n" {
		t.Fatalf("submissions %+v", subs)
	}
}

// Commands sent in the same packet as STARTTLS (CVE-2011-0411 style) are
// never run inside the TLS session.
func TestSTARTTLSCommandInjection(t *testing.T) {
	t.Parallel()
	cfg, client := tlsConfig(t)
	cfg.TrustedNets = append(cfg.TrustedNets, loopback) // so that MAIL would work
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	c := dialRaw(t, ts.addr)
	c.greet()
	c.send("STARTTLS\r\nMAIL FROM:<injected@example.com>\r\nRCPT TO:<victim@example.org>\r\n")
	c.expect(220)
	c.upgradeTLS(client)
	c.cmd("EHLO client.test", 250)
	// Had the injected MAIL run, RCPT would be accepted now.
	c.cmd("RCPT TO:<victim@example.org>", 502)
	c.cmd("QUIT", 221)
	if rec.count() != 0 {
		t.Error("submitted")
	}
}

// The strict DATA reader reads the plaintext inside TLS too.
func TestSmugglingOverTLS(t *testing.T) {
	t.Parallel()
	cfg, client := tlsConfig(t)
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	for _, fake := range []string{"\r\n.\r", "\n.\n"} {
		c := dialRaw(t, ts.addr)
		c.greet()
		c.startTLS(client)
		c.cmd("EHLO client.test", 250)
		c.login("alice", "secret")
		c.cmd("MAIL FROM:<alice@example.com>", 250)
		c.cmd("RCPT TO:<bob@example.net>", 250)
		c.cmd("DATA", 354)
		c.send("Subject: x\r\n\r\nhi" + fake + smuggled)
		c.expect(554)
		c.expectClosed()
	}
	if rec.count() != 0 {
		t.Error("submitted")
	}
}

// swaks, a real-world SMTP client, submits with STARTTLS and AUTH.
func TestSwaksSubmission(t *testing.T) {
	t.Parallel()
	swaks := testenv.Program(t, "swaks", "swaks")
	cfg, _ := tlsConfig(t)
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	host, port, _ := strings.Cut(ts.addr, ":")
	for i, mech := range []string{"PLAIN", "LOGIN"} {
		cmd := exec.CommandContext(context.Background(), swaks,
			"--server", host, "--port", port,
			"--tls", "--auth", mech, "--auth-user", "alice", "--auth-password", "secret",
			"--ehlo", "swaks.test",
			"--from", "alice@example.com", "--to", "bob@example.net,carol@example.net",
			"--header", "Subject: swaks "+mech, "--body", "hello from swaks\n.dot line\n",
			"--hide-all")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("swaks %s: %v\n%s", mech, err, out)
		}
		subs := rec.all()
		if len(subs) != i+1 {
			t.Fatalf("%d submissions after swaks %s", len(subs), mech)
		}
		s := subs[i]
		if s.env.AuthUser != "alice" || s.env.From != "alice@example.com" || len(s.env.Rcpts) != 2 || s.env.Helo != "swaks.test" {
			t.Errorf("envelope %+v", s.env)
		}
		data := string(s.data)
		if !strings.Contains(data, "Subject: swaks "+mech+"\r\n") || !strings.Contains(data, "\r\nhello from swaks\r\n.dot line\r\n") {
			t.Errorf("data %q", data)
		}
		if err := checkLines(s.data, 0); err != nil {
			t.Errorf("data: %v", err)
		}
	}
	// And a wrong password fails swaks.
	cmd := exec.Command(swaks, "--server", host, "--port", port, "--tls", "--auth", "PLAIN",
		"--auth-user", "alice", "--auth-password", "wrong", "--from", "alice@example.com", "--to", "bob@example.net", "--hide-all")
	if err := cmd.Run(); err == nil {
		t.Error("swaks with a wrong password succeeded")
	}
	if n := ts.metric("egressguard_smtp_accept_seconds"); n != 2 {
		t.Errorf("accept histogram count %v", n)
	}
}
