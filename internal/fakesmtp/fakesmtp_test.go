package fakesmtp

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
)

const msg = "From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n"

func send(t *testing.T, c *smtp.Client, from string, to []string) error {
	t.Helper()
	if err := c.Mail(from, &smtp.MailOptions{Return: smtp.DSNReturnHeaders, EnvelopeID: "env-1"}); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, &smtp.RcptOptions{
			Notify:                []smtp.DSNNotify{smtp.DSNNotifyFailure, smtp.DSNNotifyDelayed},
			OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: r,
		}); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	return w.Close()
}

func TestRecordsEnvelopeAndBytes(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.SetRcptHandler(func(r string) *smtp.SMTPError {
		if strings.HasPrefix(r, "bad") {
			return Reply(550, "5.1.1 no such user")
		}
		return nil
	})
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(t, c, "a@example.com", []string{"b@example.org"}); err != nil {
		t.Fatal(err)
	}
	// The second transaction on the same connection, one recipient refused.
	err = send(t, c, "a@example.com", []string{"c@example.org", "bad@example.org"})
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) {
		t.Fatalf("refused rcpt: got %v", err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}

	got := s.WaitFor(1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("got %d messages, want 1", len(got))
	}
	m := got[0]
	if !bytes.Equal(m.Data, []byte(msg)) {
		t.Errorf("data:\n%q\nwant\n%q", m.Data, msg)
	}
	want := []Rcpt{{Addr: "b@example.org", Notify: []smtp.DSNNotify{"FAILURE", "DELAY"}, ORcptType: "RFC822", ORcpt: "b@example.org"}}
	if diff := cmp.Diff(want, m.Rcpts); diff != "" {
		t.Errorf("rcpts (-want +got):\n%s", diff)
	}
	if m.From != "a@example.com" || m.Opts.Return != "HDRS" || m.Opts.EnvelopeID != "env-1" || m.Conn != 1 || m.TLS {
		t.Errorf("envelope: %+v", m)
	}
	if s.Connections() != 1 {
		t.Errorf("connections: %d", s.Connections())
	}
}

func TestTLSAndAuth(t *testing.T) {
	t.Parallel()
	s := Start(t, WithTLS(), WithAuth("relay", "secret"))
	c, err := smtp.DialStartTLS(s.Addr(), s.ClientTLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(t, c, "a@example.com", []string{"b@example.org"}); err == nil {
		t.Fatal("MAIL before AUTH accepted")
	}
	if err := c.Auth(sasl.NewPlainClient("", "relay", "wrong")); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := c.Auth(sasl.NewPlainClient("", "relay", "secret")); err != nil {
		t.Fatal(err)
	}
	if err := send(t, c, "a@example.com", []string{"b@example.org"}); err != nil {
		t.Fatal(err)
	}
	m := s.WaitFor(1, 5*time.Second)[0]
	if !m.TLS || m.AuthUser != "relay" {
		t.Errorf("TLS %v, auth %q", m.TLS, m.AuthUser)
	}

	// A client that does not trust the generated CA must fail verification.
	// The handshake happens with the first command after STARTTLS.
	if c2, err := smtp.DialStartTLS(s.Addr(), nil); err == nil {
		defer c2.Close()
		if err := c2.Noop(); err == nil {
			t.Error("unverified certificate accepted")
		}
	}
}

func TestStopRestart(t *testing.T) {
	t.Parallel()
	s := Start(t)
	addr := s.Addr()
	s.Stop()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("dial succeeded while stopped")
	}
	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("address changed: %s → %s", addr, s.Addr())
	}
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(t, c, "", []string{"b@example.org"}); err != nil {
		t.Fatal(err)
	}
	if m := s.WaitFor(1, 5*time.Second)[0]; m.From != "" {
		t.Errorf("from %q", m.From)
	}
}

func TestFailureKnobs(t *testing.T) {
	t.Parallel()
	s := Start(t, WithoutDSN())
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	s.SetMailHandler(func(string) *smtp.SMTPError { return Reply(451, "4.3.0 try later") })
	var se *smtp.SMTPError
	if err := c.Mail("a@example.com", nil); !errors.As(err, &se) || !se.Temporary() {
		t.Fatalf("MAIL: %v", err)
	}
	s.SetMailHandler(nil)
	s.SetDataHandler(func(*Message) *smtp.SMTPError { return Reply(554, "5.6.0 no thanks") })
	// The client drops DSN parameters because the server does not advertise DSN.
	if err := send(t, c, "a@example.com", []string{"b@example.org"}); !errors.As(err, &se) || se.Code != 554 {
		t.Fatalf("DATA: %v", err)
	}
	s.SetDataHandler(nil)
	s.SetDataDelay(200 * time.Millisecond)
	start := time.Now()
	if err := send(t, c, "a@example.com", []string{"b@example.org"}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("slow DATA took %v", d)
	}
	if got := s.Messages(); len(got) != 1 || got[0].Rcpts[0].Notify != nil {
		t.Errorf("messages: %+v", got)
	}

	s.SetHelloError(Reply(421, "4.3.2 busy"))
	c2, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Hello("client.example"); !errors.As(err, &se) || se.Code != 421 {
		t.Fatalf("EHLO: %v", err)
	}
}

func TestReply(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code int
		text string
		want smtp.SMTPError
	}{
		{550, "5.1.1 no such user", smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}},
		{451, "try later", smtp.SMTPError{Code: 451, Message: "try later"}},
		{451, "4.x.1 odd", smtp.SMTPError{Code: 451, Message: "4.x.1 odd"}},
	} {
		if got := Reply(tc.code, tc.text); *got != tc.want {
			t.Errorf("Reply(%d, %q) = %+v, want %+v", tc.code, tc.text, *got, tc.want)
		}
	}
}
