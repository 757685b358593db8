package smtpfront

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/testenv"
)

// startImplicitTLS starts a server with the plain (STARTTLS) listener and
// the implicit-TLS listener side by side, as the guard runs them.
func startImplicitTLS(t *testing.T, cfg Config, b Backend) (ts *testServer, tlsAddr string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := New(cfg, b, zaptest.NewLogger(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 2)
	go func() { served <- s.Serve(plainLn) }()
	go func() { served <- s.ServeTLS(tlsLn) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range 2 {
			if err := <-served; !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v", err)
			}
		}
	})
	return &testServer{Server: s, addr: plainLn.Addr().String(), reg: reg}, tlsLn.Addr().String()
}

// Implicit TLS (port 465): the handshake comes first; AUTH is offered and
// accepted at once, STARTTLS is not offered, and the message goes through
// with the same envelope rules as on the STARTTLS listener.
func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	cfg, client := tlsConfig(t) // RequireTLSForAuth = true
	b, rec := newRecorder()
	ts, tlsAddr := startImplicitTLS(t, cfg, b)

	gc, err := smtp.DialTLS(tlsAddr, client)
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	if err := gc.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if _, ok := gc.TLSConnectionState(); !ok {
		t.Fatal("client not on TLS")
	}
	if ok, mechs := gc.Extension("AUTH"); !ok || mechs != "PLAIN LOGIN" {
		t.Errorf("AUTH on implicit TLS: %v %q", ok, mechs)
	}
	if ok, _ := gc.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered inside implicit TLS")
	}
	// Without AUTH, from a network that is not trusted: refused, as on 587.
	if err := gc.Mail("alice@example.com", nil); err == nil {
		t.Error("MAIL without AUTH accepted")
	} else if se, ok := err.(*smtp.SMTPError); !ok || se.Code != 530 {
		t.Errorf("MAIL without AUTH: %v", err)
	}
	if err := gc.Auth(sasl.NewPlainClient("", "alice", "secret")); err != nil {
		t.Fatal(err)
	}
	if err := gc.SendMail("alice@example.com", []string{"bob@example.net"}, strings.NewReader("Subject: 465\r\n\r\nimplicit TLS\r\n")); err != nil {
		t.Fatal(err)
	}
	subs := rec.all()
	if len(subs) != 1 || subs[0].env.AuthUser != "alice" || string(subs[0].data) != "Subject: 465\r\n\r\nimplicit TLS\r\n" {
		t.Fatalf("submissions %+v", subs)
	}
	// The trace field says TLS and AUTH (RFC 3848), as after STARTTLS.
	if !strings.Contains(subs[0].trace, " with ESMTPSA ") {
		t.Errorf("trace field %q", subs[0].trace)
	}
	if n := ts.refused(reasonTLSRequired); n != 0 {
		t.Errorf("tls_required refusals on implicit TLS: %v", n)
	}

	// A plaintext client on the TLS port gets no SMTP greeting.
	raw, err := net.DialTimeout("tcp", tlsAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(5 * time.Second))
	raw.Write([]byte("EHLO plain.test\r\n"))
	buf := make([]byte, 64)
	n, _ := raw.Read(buf)
	if strings.HasPrefix(string(buf[:n]), "220") || strings.HasPrefix(string(buf[:n]), "250") {
		t.Errorf("plaintext client answered %q", buf[:n])
	}

	// The plain listener still requires STARTTLS before AUTH.
	c := dialRaw(t, ts.addr)
	c.greet()
	c.cmd("AUTH PLAIN "+plain("alice", "secret"), 538)
}

// The strict DATA reader reads the plaintext inside implicit TLS too.
func TestImplicitTLSSmuggling(t *testing.T) {
	t.Parallel()
	cfg, client := tlsConfig(t)
	b, rec := newRecorder()
	_, tlsAddr := startImplicitTLS(t, cfg, b)
	c := dialRaw(t, tlsAddr)
	c.upgradeTLS(client)
	c.greet()
	c.login("alice", "secret")
	c.cmd("MAIL FROM:<alice@example.com>", 250)
	c.cmd("RCPT TO:<bob@example.net>", 250)
	c.cmd("DATA", 354)
	c.send("Subject: x\r\n\r\nhi\n.\n" + smuggled)
	c.expect(554)
	c.expectClosed()
	if rec.count() != 0 {
		t.Error("submitted")
	}
}

// ServeTLS without a certificate is a configuration error, not a listener
// that fails every handshake.
func TestServeTLSNeedsCertificate(t *testing.T) {
	t.Parallel()
	s, err := New(baseConfig(), &fakeBackend{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ServeTLS(ln); err == nil {
		t.Fatal("ServeTLS without TLS served")
	}
}

// swaks --tlsc (TLS on connect) submits over the implicit-TLS listener.
func TestSwaksImplicitTLS(t *testing.T) {
	t.Parallel()
	swaks := testenv.Program(t, "swaks", "swaks")
	cfg, _ := tlsConfig(t)
	b, rec := newRecorder()
	_, tlsAddr := startImplicitTLS(t, cfg, b)
	host, port, _ := strings.Cut(tlsAddr, ":")
	out, err := exec.Command(swaks, "--server", host, "--port", port, "--tlsc",
		"--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "secret",
		"--from", "alice@example.com", "--to", "bob@example.net",
		"--header", "Subject: swaks tlsc", "--body", "over implicit TLS").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks --tlsc: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "TLS started") {
		t.Errorf("swaks did not report TLS:\n%s", out)
	}
	subs := rec.all()
	if len(subs) != 1 || subs[0].env.AuthUser != "alice" || !strings.Contains(string(subs[0].data), "over implicit TLS") {
		t.Fatalf("submissions %+v", subs)
	}
}

// Over the connection limit the implicit-TLS listener closes the
// connection before any handshake (a plaintext 421 would only confuse a
// TLS client) and counts the refusal.
func TestImplicitTLSConnectionLimit(t *testing.T) {
	t.Parallel()
	cfg, client := tlsConfig(t)
	cfg.MaxConnsPerIP = 1
	b, _ := newRecorder()
	ts, tlsAddr := startImplicitTLS(t, cfg, b)
	first, err := smtp.DialTLS(tlsAddr, client)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if err := first.Hello("client.test"); err != nil { // the slot is taken
		t.Fatal(err)
	}
	second, err := smtp.DialTLS(tlsAddr, client)
	if err == nil {
		second.Close()
		t.Fatal("second connection over the per-IP limit was served")
	}
	if n := ts.refused(reasonConnLimit); n != 1 {
		t.Errorf("conn_limit refusals %v", n)
	}
}
