package outbound

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

// A message that breaks anything that is not byte-exact: a DKIM signature
// over folded headers, a leading dot that must be stuffed on the wire and
// unstuffed by the server, a lone "." line, trailing white space, 8-bit
// UTF-8 and a long line.
var trickyBody = []byte("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1;\r\n" +
	"\th=from:to:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n" +
	"\tb=dGVzdA==\r\n" +
	"From: =?utf-8?q?J=C3=B6rg?= <joerg@example.com>\r\n" +
	"To: b@example.org\r\n" +
	"Subject:  two  spaces \t\r\n" +
	"\r\n" +
	".leading dot\r\n" +
	".\r\n" +
	"..two dots\r\n" +
	"Grüße, 8-bit body   \r\n" +
	strings.Repeat("x", 990) + "\r\n" +
	"\r\n")

func TestFastPathDeliversExactBytesAndEnvelope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	q, _ := e.start(e.config())

	m, _ := e.message("joerg@example.com", "b@example.org", "c@example.org")
	body := trickyBody
	m.Size = int64(len(body))
	m.Params = envelope.MailParams{SMTPUTF8: true, Body: "8BITMIME", Ret: "HDRS", EnvID: "env+42"}
	m.Rcpts[0].Notify = []string{"FAILURE", "DELAY"}
	m.Rcpts[0].ORcpt = "rfc822;B@Example.org"
	m.Rcpts[1].Notify = []string{"NEVER"}

	if !q.TryClaim(m) {
		t.Fatal("TryClaim refused with free slots")
	}
	if m.State != store.Sending || m.Owner != "test-1" || m.Attempts != 1 || !m.NextAttempt.After(e.clock.Now()) {
		t.Fatalf("claim: state %s owner %q attempts %d next %v", m.State, m.Owner, m.Attempts, m.NextAttempt)
	}
	e.insert(m, body)
	q.Deliver(m, body)

	got := e.up.WaitFor(1, 10*time.Second)[0]
	if !bytes.Equal(got.Data, body) {
		t.Errorf("bytes differ:\n got %q\nwant %q", got.Data, body)
	}
	if got.From != "joerg@example.com" || !got.Opts.UTF8 || got.Opts.Return != smtp.DSNReturnHeaders ||
		got.Opts.EnvelopeID != "env+42" || got.Opts.Body != smtp.Body8BitMIME || got.Opts.Size != int64(len(body)) {
		t.Errorf("MAIL: from %q opts %+v", got.From, got.Opts)
	}
	want := []fakesmtp.Rcpt{
		{Addr: "b@example.org", Notify: []smtp.DSNNotify{"FAILURE", "DELAY"}, ORcptType: "RFC822", ORcpt: "B@Example.org"},
		{Addr: "c@example.org", Notify: []smtp.DSNNotify{"NEVER"}},
	}
	if diff := cmp.Diff(want, got.Rcpts); diff != "" {
		t.Errorf("RCPT (-want +got):\n%s", diff)
	}
	if got.Helo != "guard.example.net" {
		t.Errorf("EHLO %q", got.Helo)
	}

	d := e.waitState(m.ID, store.Delivered)
	if d.Attempts != 1 || d.Owner != "" || d.LastError != "" {
		t.Errorf("record: attempts %d owner %q last error %q", d.Attempts, d.Owner, d.LastError)
	}
	for i, s := range d.Status {
		if !s.Done || s.Failed || s.Code != 250 {
			t.Errorf("status %d: %+v", i, s)
		}
	}
	if _, err := e.st.Body(context.Background(), m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("body of a delivered message: %v, want ErrNotFound", err)
	}
}

func TestTryClaimRespectsConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	cfg.Concurrency = 2
	q, _ := e.start(cfg)
	var claimed []*store.Message
	for i := 0; i < 3; i++ {
		m, _ := e.message("a@example.com", "b@example.org")
		if q.TryClaim(m) {
			claimed = append(claimed, m)
		} else if m.State != store.Queued || m.Attempts != 0 {
			t.Errorf("refused claim changed the message: %+v", m)
		}
	}
	if len(claimed) != 2 {
		t.Fatalf("claimed %d of 3 with concurrency 2", len(claimed))
	}
	q.Release()
	m, _ := e.message("a@example.com", "b@example.org")
	if !q.TryClaim(m) {
		t.Error("no slot after Release")
	}
	q.Release()
	q.Release()
}

func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	cfg.Concurrency = 3
	const n = 60
	var ids []string
	for i := 0; i < n; i++ {
		m, _ := e.enqueue("a@example.com", "b@example.org")
		ids = append(ids, m.ID)
	}
	e.start(cfg)
	e.up.WaitFor(n, 30*time.Second)
	for _, id := range ids {
		e.waitState(id, store.Delivered)
	}
	if c := e.up.Connections(); c > cfg.Concurrency {
		t.Errorf("%d messages used %d connections, want at most %d", n, c, cfg.Concurrency)
	}
}

func TestReusedConnectionClosedByServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	q, _ := e.start(e.config())
	var first []string
	for i := 0; i < 8; i++ {
		m, _ := e.enqueue("a@example.com", "b@example.org")
		first = append(first, m.ID)
	}
	for _, id := range first {
		e.waitState(id, store.Delivered)
	}
	// The upstream restarts: the pooled connection is dead.
	e.up.Stop()
	e.up.Restart()
	m2, _ := e.enqueue("a@example.com", "b@example.org")
	q.Kick()
	d := e.waitState(m2.ID, store.Delivered)
	if d.Attempts != 1 {
		t.Errorf("stale pooled connection cost an attempt: attempts %d, last error %q", d.Attempts, d.LastError)
	}
}

func TestUpstreamDownThenBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.up.Stop()
	q, _ := e.start(e.config())
	m, body := e.enqueue("a@example.com", "b@example.org")
	q.Kick()

	d := e.waitDeferred(m.ID, 1)
	if d.Attempts != 1 || d.Owner != "" || d.LastError == "" {
		t.Errorf("after failed attempt: attempts %d owner %q last error %q", d.Attempts, d.Owner, d.LastError)
	}
	delay := d.NextAttempt.Sub(e.clock.Now())
	if delay < 45*time.Second || delay > 75*time.Second {
		t.Errorf("first retry in %v, want about BackoffMin (1m)", delay)
	}
	if s := d.Status[0]; s.Done || !s.Failed {
		t.Errorf("status after network failure: %+v", s)
	}

	// Nothing happens while the retry is not due, however often we kick.
	for i := 0; i < 5; i++ {
		q.Kick()
		time.Sleep(20 * time.Millisecond)
	}
	if got := e.get(m.ID); got.Attempts != 1 || got.State != store.Queued {
		t.Fatalf("retried before due: %+v", got)
	}

	e.up.Restart()
	e.clock.Advance(2 * time.Minute)
	q.Kick()
	d = e.waitState(m.ID, store.Delivered)
	if d.Attempts != 2 {
		t.Errorf("attempts %d, want 2", d.Attempts)
	}
	if got := e.up.WaitFor(1, 5*time.Second)[0]; !bytes.Equal(got.Data, body) {
		t.Error("bytes differ after retry")
	}
}

func TestPermanentFailureBouncesWithDSN(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.up.SetRcptHandler(func(r string) *smtp.SMTPError {
		if strings.HasPrefix(r, "nobody@") {
			return fakesmtp.Reply(550, "5.1.1 <nobody@example.org>: no such user")
		}
		return nil
	})
	q, _ := e.start(e.config())
	m, body := e.message("sender@example.com", "nobody@example.org")
	m.Rcpts[0].ORcpt = "rfc822;Nobody@Example.org"
	m.Params.EnvID = "E1"
	e.insert(m, body)
	q.Kick()

	d := e.waitState(m.ID, store.Bounced)
	if s := d.Status[0]; !s.Done || !s.Failed || s.Code != 550 || !strings.HasPrefix(s.Detail, "5.1.1 ") {
		t.Errorf("status %+v", s)
	}
	if _, err := e.st.Body(context.Background(), m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("body of bounced message: %v", err)
	}

	// The DSN is queued and delivered in turn, from <> to the sender.
	got := e.up.WaitFor(1, 10*time.Second)[0]
	if got.From != "" || len(got.Rcpts) != 1 || got.Rcpts[0].Addr != "sender@example.com" {
		t.Fatalf("DSN envelope: from %q rcpts %v", got.From, got.Addrs())
	}
	r := parseDSN(t, got.Data)
	if r.perMessage.Get("Reporting-MTA") != "dns; guard.example.net" || r.perMessage.Get("Original-Envelope-Id") != "E1" {
		t.Errorf("per-message fields: %v", r.perMessage)
	}
	if len(r.rcpts) != 1 {
		t.Fatalf("%d recipient blocks", len(r.rcpts))
	}
	pr := r.rcpts[0]
	for k, want := range map[string]string{
		"Final-Recipient":    "rfc822; nobody@example.org",
		"Original-Recipient": "rfc822;Nobody@Example.org",
		"Action":             "failed",
		"Status":             "5.1.1",
		"Remote-MTA":         "dns; 127.0.0.1",
		"Diagnostic-Code":    "smtp; 550 5.1.1 <nobody@example.org>: no such user",
	} {
		if got := pr.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if !bytes.Equal(r.original, headerSection(body)) {
		t.Errorf("returned headers:\n%q\nwant\n%q", r.original, headerSection(body))
	}
	if r.originalType != "text/rfc822-headers" {
		t.Errorf("original part type %q", r.originalType)
	}

	var dsnID string
	for _, x := range e.all() {
		if x.ID != m.ID {
			dsnID = x.ID
		}
	}
	dd := e.waitState(dsnID, store.Delivered)
	if dd.From != "" || dd.Action != "pass" || dd.Verdict != nil {
		t.Errorf("DSN record: %+v", dd)
	}
}

func TestNullSenderBounceHasNoDSN(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.up.SetRcptHandler(func(string) *smtp.SMTPError { return fakesmtp.Reply(550, "5.1.1 no such user") })
	_, stop := e.start(e.config())
	m, _ := e.enqueue("", "nobody@example.org")
	e.waitState(m.ID, store.Bounced)
	// Stopped, the queue has finished all it started: a DSN or a second
	// delivery would be there now.
	stop()
	if ms := e.all(); len(ms) != 1 {
		t.Errorf("%d messages in the store, want only the bounced one", len(ms))
	}
	if n := len(e.up.Messages()); n != 0 {
		t.Errorf("upstream received %d messages", n)
	}
}

func TestNotifyNeverHasNoDSN(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.up.SetRcptHandler(func(string) *smtp.SMTPError { return fakesmtp.Reply(550, "5.1.1 no such user") })
	_, stop := e.start(e.config())
	m, body := e.message("a@example.com", "x@example.org", "y@example.org")
	m.Rcpts[0].Notify = []string{"NEVER"}
	m.Rcpts[1].Notify = []string{"SUCCESS", "DELAY"}
	e.insert(m, body)
	e.waitState(m.ID, store.Bounced)
	// Stopped, the queue has finished all it started: a DSN or a second
	// delivery would be there now.
	stop()
	if ms := e.all(); len(ms) != 1 {
		t.Errorf("%d messages in the store, want no DSN", len(ms))
	}
}

func TestPartialRecipientFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tempOK := make(chan struct{})
	e.up.SetRcptHandler(func(r string) *smtp.SMTPError {
		switch {
		case strings.HasPrefix(r, "perm@"):
			return fakesmtp.Reply(550, "5.1.1 no such user")
		case strings.HasPrefix(r, "temp@"):
			select {
			case <-tempOK:
				return nil
			default:
				return fakesmtp.Reply(451, "4.2.0 mailbox busy")
			}
		}
		return nil
	})
	q, _ := e.start(e.config())
	m, _ := e.enqueue("sender@example.com", "ok@example.org", "perm@example.org", "temp@example.org")
	q.Kick()

	d := e.waitDeferred(m.ID, 1)
	want := []store.RcptStatus{
		{Done: true, Code: 250},
		{Done: true, Failed: true, Code: 550, Detail: "5.1.1 no such user"},
		{Done: false, Failed: true, Code: 451, Detail: "4.2.0 mailbox busy"},
	}
	got := append([]store.RcptStatus(nil), d.Status...)
	got[0].Detail = "" // the server's acceptance text
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if !strings.Contains(d.LastError, "temp@example.org") && !strings.Contains(d.LastError, "perm@example.org") {
		t.Errorf("last error %q names no recipient", d.LastError)
	}

	// First the original to ok@, then a DSN for perm@ only.
	msgs := e.up.WaitFor(2, 10*time.Second)
	var orig, dsn *fakesmtp.Message
	for i := range msgs {
		if msgs[i].From == "" {
			dsn = &msgs[i]
		} else {
			orig = &msgs[i]
		}
	}
	if orig == nil || dsn == nil {
		t.Fatalf("want the message and a DSN, got %+v", msgs)
	}
	if diff := cmp.Diff([]string{"ok@example.org"}, orig.Addrs()); diff != "" {
		t.Errorf("first delivery rcpts: %s", diff)
	}
	r := parseDSN(t, dsn.Data)
	if len(r.rcpts) != 1 || r.rcpts[0].Get("Final-Recipient") != "rfc822; perm@example.org" {
		t.Errorf("DSN recipients: %v", r.rcpts)
	}

	// Only temp@ is tried again.
	close(tempOK)
	e.clock.Advance(2 * time.Minute)
	q.Kick()
	d = e.waitState(m.ID, store.Delivered)
	msgs = e.up.WaitFor(3, 10*time.Second)
	if diff := cmp.Diff([]string{"temp@example.org"}, msgs[2].Addrs()); diff != "" {
		t.Errorf("retry rcpts: %s", diff)
	}
	if d.Attempts != 2 || !d.Status[2].Done || d.Status[2].Failed || !d.Status[1].Failed {
		t.Errorf("final record: attempts %d status %+v", d.Attempts, d.Status)
	}
}

func TestMaxAgeExpiryBounces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.up.SetRcptHandler(func(r string) *smtp.SMTPError {
		if strings.HasPrefix(r, "slow@") {
			return fakesmtp.Reply(452, "4.2.2 mailbox full")
		}
		return nil
	})
	cfg := e.config()
	cfg.MaxAge = time.Hour
	q, _ := e.start(cfg)
	m, _ := e.enqueue("sender@example.com", "slow@example.org")
	q.Kick()
	e.waitDeferred(m.ID, 1)

	e.clock.Advance(61 * time.Minute)
	q.Kick()
	d := e.waitState(m.ID, store.Bounced)
	if s := d.Status[0]; !s.Done || !s.Failed || s.Detail != "4.4.7 delivery time expired after 2 attempts; last error: 4.2.2 mailbox full" {
		t.Errorf("status %+v", s)
	}
	got := e.up.WaitFor(1, 10*time.Second)[0]
	r := parseDSN(t, got.Data)
	pr := r.rcpts[0]
	if pr.Get("Action") != "failed" || pr.Get("Status") != "4.4.7" || pr.Get("Diagnostic-Code") != "smtp; 452 4.2.2 mailbox full" {
		t.Errorf("DSN fields: %v", pr)
	}
}

func TestDataAndMailErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.up.SetDataHandler(func(*fakesmtp.Message) *smtp.SMTPError { return fakesmtp.Reply(554, "5.7.1 content rejected") })
	q, _ := e.start(e.config())
	m, _ := e.enqueue("", "a@example.org", "b@example.org")
	q.Kick()
	d := e.waitState(m.ID, store.Bounced)
	for _, s := range d.Status {
		if !s.Done || !s.Failed || s.Code != 554 || s.Detail != "5.7.1 content rejected" {
			t.Errorf("after DATA 554: %+v", s)
		}
	}

	e.up.SetDataHandler(nil)
	e.up.SetMailHandler(func(string) *smtp.SMTPError { return fakesmtp.Reply(421, "4.3.2 closing") })
	m2, _ := e.enqueue("", "a@example.org")
	q.Kick()
	if d := e.waitDeferred(m2.ID, 1); d.Status[0].Code != 421 {
		t.Errorf("after MAIL 421: %+v", d.Status[0])
	}
	e.up.SetMailHandler(func(string) *smtp.SMTPError { return fakesmtp.Reply(553, "5.1.8 bad sender") })
	e.clock.Advance(5 * time.Minute)
	q.Kick()
	if d := e.waitState(m2.ID, store.Bounced); d.Status[0].Code != 553 {
		t.Errorf("after MAIL 553: %+v", d.Status[0])
	}
}

func TestSlowUpstreamTimesOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.up.SetDataDelay(3 * time.Second)
	cfg := e.config()
	cfg.DataTimeout = 300 * time.Millisecond
	q, _ := e.start(cfg)
	m, _ := e.enqueue("a@example.com", "b@example.org")
	q.Kick()
	d := e.waitDeferred(m.ID, 1)
	if !strings.Contains(d.LastError, "timeout") {
		t.Errorf("last error %q", d.LastError)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	t.Run("required against plain upstream defers", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		cfg := e.config()
		cfg.TLS = TLSRequired
		q, _ := e.start(cfg)
		m, _ := e.enqueue("a@example.com", "b@example.org")
		q.Kick()
		d := e.waitDeferred(m.ID, 1)
		if !strings.Contains(d.LastError, "STARTTLS") {
			t.Errorf("last error %q", d.LastError)
		}
		if n := len(e.up.Messages()); n != 0 {
			t.Errorf("%d messages went out in plain text", n)
		}
	})
	t.Run("required verifies the certificate", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, fakesmtp.WithTLS())
		cfg := e.config()
		cfg.TLS = TLSRequired // no RootCAs: the generated CA is unknown
		q, _ := e.start(cfg)
		m, _ := e.enqueue("a@example.com", "b@example.org")
		q.Kick()
		d := e.waitDeferred(m.ID, 1)
		if !strings.Contains(d.LastError, "certificate") {
			t.Errorf("last error %q", d.LastError)
		}
	})
	t.Run("required with auth", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, fakesmtp.WithTLS(), fakesmtp.WithAuth("relay", "s3cret"))
		cfg := e.config()
		cfg.TLS = TLSRequired
		cfg.TLSConfig = e.up.ClientTLSConfig()
		cfg.AuthUser, cfg.AuthPass = "relay", "s3cret"
		q, _ := e.start(cfg)
		m, _ := e.enqueue("a@example.com", "b@example.org")
		q.Kick()
		e.waitState(m.ID, store.Delivered)
		got := e.up.WaitFor(1, 5*time.Second)[0]
		if !got.TLS || got.AuthUser != "relay" || got.Helo != "guard.example.net" {
			t.Errorf("TLS %v auth %q helo %q", got.TLS, got.AuthUser, got.Helo)
		}
	})
	t.Run("opportunistic", func(t *testing.T) {
		t.Parallel()
		plain := newEnv(t)
		cfg := plain.config()
		cfg.TLS = TLSOpportunistic
		plain.start(cfg)
		m, _ := plain.enqueue("a@example.com", "b@example.org")
		plain.waitState(m.ID, store.Delivered)
		if got := plain.up.WaitFor(1, 5*time.Second)[0]; got.TLS {
			t.Error("TLS without STARTTLS?")
		}

		tl := newEnv(t, fakesmtp.WithTLS())
		cfg = tl.config()
		cfg.TLS = TLSOpportunistic // unverified, like Postfix's "may"
		tl.start(cfg)
		m, _ = tl.enqueue("a@example.com", "b@example.org")
		tl.waitState(m.ID, store.Delivered)
		if got := tl.up.WaitFor(1, 5*time.Second)[0]; !got.TLS {
			t.Error("opportunistic TLS did not use the offered STARTTLS")
		}
	})
	t.Run("opportunistic falls back when the handshake fails", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, fakesmtp.WithTLS())
		cfg := e.config()
		cfg.TLS = TLSOpportunistic
		// The fake wants TLS 1.2 at least: no common version.
		cfg.TLSConfig = &tls.Config{MaxVersion: tls.VersionTLS11}
		e.start(cfg)
		m, _ := e.enqueue("a@example.com", "b@example.org")
		if d := e.waitState(m.ID, store.Delivered); d.Attempts != 1 {
			t.Errorf("attempts %d", d.Attempts)
		}
		if got := e.up.WaitFor(1, 5*time.Second)[0]; got.TLS {
			t.Error("delivered over TLS?")
		}
		if c := e.up.Connections(); c != 2 {
			t.Errorf("%d connections, want 2 (failed TLS, then plain)", c)
		}
	})
	t.Run("no credentials in the clear", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, fakesmtp.WithAuth("relay", "s3cret"))
		cfg := e.config()
		cfg.TLS = TLSOpportunistic
		cfg.AuthUser, cfg.AuthPass = "relay", "s3cret"
		e.start(cfg)
		m, _ := e.enqueue("a@example.com", "b@example.org")
		d := e.waitDeferred(m.ID, 1)
		if !strings.Contains(d.LastError, "credentials") {
			t.Errorf("last error %q", d.LastError)
		}
	})
	t.Run("wrong password defers", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, fakesmtp.WithAuth("relay", "s3cret"))
		cfg := e.config()
		cfg.AuthUser, cfg.AuthPass = "relay", "wrong"
		e.start(cfg)
		m, _ := e.enqueue("a@example.com", "b@example.org")
		d := e.waitDeferred(m.ID, 1)
		if !strings.Contains(d.LastError, "535") {
			t.Errorf("last error %q", d.LastError)
		}
	})
}

func TestRestartDeliversUnfinishedClaim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// What a crash mid-attempt leaves: claimed by this instance, the claim
	// running for another half hour, attempts already counted.
	m, body := e.message("a@example.com", "b@example.org")
	m.State, m.Owner, m.Attempts = store.Sending, "test-1", 1
	m.NextAttempt = e.clock.Now().Add(30 * time.Minute)
	e.insert(m, body)

	e.start(e.config())
	d := e.waitState(m.ID, store.Delivered)
	if d.Attempts != 2 {
		t.Errorf("attempts %d, want 2", d.Attempts)
	}
	if got := e.up.WaitFor(1, 5*time.Second)[0]; !bytes.Equal(got.Data, body) {
		t.Error("bytes differ")
	}
}

func TestOtherInstanceClaimIsLeftAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m, body := e.message("a@example.com", "b@example.org")
	m.State, m.Owner, m.Attempts = store.Sending, "test-2", 1
	m.NextAttempt = e.clock.Now().Add(10 * time.Minute)
	e.insert(m, body)
	q, _ := e.start(e.config())
	// Two whole scheduling passes, the second one kicked: each would have
	// claimed the message if it were to be taken.
	waitPasses(t, q, 1)
	q.Kick()
	waitPasses(t, q, 2)
	if got := e.get(m.ID); got.State != store.Sending || got.Owner != "test-2" {
		t.Fatalf("another instance's live claim was touched: %+v", got)
	}
	// Its claim expires (that instance died): now we take over.
	e.clock.Advance(11 * time.Minute)
	q.Kick()
	if d := e.waitState(m.ID, store.Delivered); d.Attempts != 2 {
		t.Errorf("attempts %d", d.Attempts)
	}
}

func TestTwoInstancesNeverDeliverTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 80
	ids := map[string]bool{}
	for i := 0; i < n; i++ {
		m, _ := e.enqueue("a@example.com", "b@example.org")
		ids[m.ID] = true
	}
	a, b := e.config(), e.config()
	a.Instance, b.Instance = "inst-a", "inst-b"
	qa, stopA := e.start(a)
	qb, stopB := e.start(b)
	for i := 0; i < 10; i++ {
		qa.Kick()
		qb.Kick()
	}
	e.up.WaitFor(n, 30*time.Second)
	// Stopped, neither queue can deliver anything more: a duplicate would
	// have reached upstream by now.
	stopA()
	stopB()
	msgs := e.up.Messages()
	seen := map[string]int{}
	for _, m := range msgs {
		id := messageID(m.Data)
		seen[id]++
	}
	if len(msgs) != n {
		t.Errorf("upstream got %d messages for %d queued", len(msgs), n)
	}
	for id := range ids {
		if seen[id] != 1 {
			t.Errorf("message %s delivered %d times", id, seen[id])
		}
		if d := e.get(id); d.State != store.Delivered || d.Attempts != 1 {
			t.Errorf("message %s: state %s attempts %d", id, d.State, d.Attempts)
		}
	}
}

// messageID finds the store ID in a test message's Message-ID header.
func messageID(data []byte) string {
	_, rest, _ := bytes.Cut(data, []byte("Message-ID: <"))
	id, _, _ := bytes.Cut(rest, []byte("@"))
	return string(id)
}

func TestStopWaitsForAttemptInProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.up.SetDataDelay(500 * time.Millisecond)
	q, stop := e.start(e.config())
	m, _ := e.enqueue("a@example.com", "b@example.org")
	q.Kick()
	e.waitState(m.ID, store.Sending)
	e.up.WaitBodies(1, 10*time.Second) // into DATA, waiting for the reply
	stop()
	if d := e.get(m.ID); d.State != store.Delivered {
		t.Errorf("after graceful stop: %s (%s)", d.State, d.LastError)
	}
	m2, _ := e.message("a@example.com", "b@example.org")
	if q.TryClaim(m2) {
		t.Error("TryClaim after stop")
	}
}

func TestStopTimeoutCutsAttempt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.up.SetDataDelay(20 * time.Second)
	cfg := e.config()
	cfg.StopTimeout = 200 * time.Millisecond
	q, stop := e.start(cfg)
	m, _ := e.enqueue("a@example.com", "b@example.org")
	q.Kick()
	e.waitState(m.ID, store.Sending)
	e.up.WaitBodies(1, 10*time.Second) // into DATA, waiting for the reply
	start := time.Now()
	stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %v", d)
	}
	d := e.get(m.ID)
	if d.State != store.Queued || d.Owner != "" || d.NextAttempt.After(e.clock.Now()) {
		t.Errorf("cut attempt: state %s owner %q next %v (now %v)", d.State, d.Owner, d.NextAttempt, e.clock.Now())
	}
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	cfg := e.config()
	cfg.Upstream, cfg.OutboxDir = "", dir
	q, _ := e.start(cfg)

	m, _ := e.message("a@example.com", "b@example.org")
	m.Params = envelope.MailParams{SMTPUTF8: true, Ret: "FULL", EnvID: "x1"}
	m.Rcpts[0].Notify = []string{"SUCCESS"}
	body := trickyBody
	if !q.TryClaim(m) {
		t.Fatal("no slot")
	}
	e.insert(m, body)
	q.Deliver(m, body)
	e.waitState(m.ID, store.Delivered)

	// NOTIFY=SUCCESS: the outbox is the end of the line, so a "delivered"
	// DSN goes to the sender, into the outbox too.
	var dsn *store.Message
	for _, x := range e.all() {
		if x.ID != m.ID {
			dsn = x
		}
	}
	if dsn == nil {
		t.Fatal("no success DSN")
	}
	e.waitState(dsn.ID, store.Delivered)
	// Only now is no file being written.
	checkOutbox(t, dir, m, body)
	r := parseDSN(t, readFile(t, filepath.Join(dir, dsn.ID+".eml")))
	if r.rcpts[0].Get("Action") != "delivered" {
		t.Errorf("success DSN: %v", r.rcpts)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	q := &Queue{cfg: Config{BackoffMin: time.Minute, BackoffMax: time.Hour}}
	for n, base := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 6: 32 * time.Minute, 7: time.Hour, 50: time.Hour} {
		lo, hi := base*3/4, min(base*5/4, time.Hour)
		seen := map[time.Duration]bool{}
		for i := 0; i < 200; i++ {
			d := q.backoff(n)
			if d < lo || d > hi {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, lo, hi)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("backoff(%d): only %d distinct values; no jitter?", n, len(seen))
		}
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	for name, cfg := range map[string]Config{
		"no instance":   {Upstream: "127.0.0.1:25"},
		"bad tls":       {Upstream: "127.0.0.1:25", Instance: "x", TLS: "maybe"},
		"bad upstream":  {Upstream: "127.0.0.1", Instance: "x"},
		"no target":     {Instance: "x"},
		"backoff order": {Upstream: "127.0.0.1:25", Instance: "x", BackoffMin: time.Hour, BackoffMax: time.Minute},
		"short lease":   {Upstream: "127.0.0.1:25", Instance: "x", Lease: time.Second},
	} {
		if _, err := New(cfg, st, zapNop(), nil); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", name, err)
		}
	}
}
