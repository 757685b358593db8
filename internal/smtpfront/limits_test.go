package smtpfront

import (
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

func TestMessageSizeLimit(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.MaxMessageBytes = 10000
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	c := dialRaw(t, ts.addr)
	c.greet()
	c.login("alice", "secret")

	// Declared too large: refused at MAIL.
	if text := c.cmd("MAIL FROM:<alice@example.com> SIZE=10001", 552); !strings.HasPrefix(text, "5.3.4 ") {
		t.Errorf("SIZE refusal %q", text)
	}

	// Sent too large: refused after the data, which is read to its end,
	// so the session goes on.
	body := strings.Repeat(strings.Repeat("y", 98)+"\r\n", 150) // 15000 bytes
	c.cmd("MAIL FROM:<alice@example.com>", 250)
	c.cmd("RCPT TO:<bob@example.net>", 250)
	c.cmd("DATA", 354)
	c.send(body + strings.ReplaceAll(smuggled, "\r\n.\r\n", "\r\n..\r\n") + ".\r\n")
	text := c.expect(552)
	if !strings.HasPrefix(text, "5.3.4 ") || !strings.HasSuffix(text, "]") {
		t.Errorf("data refusal %q", text)
	}
	c.cmd("NOOP", 250)

	// Just below the limit: accepted, with a SIZE hint and without.
	just := strings.Repeat(strings.Repeat("z", 99)+"\r\n", 99) // 9999 bytes
	for _, size := range []string{" SIZE=9999", ""} {
		c.cmd("MAIL FROM:<alice@example.com>"+size, 250)
		c.cmd("RCPT TO:<bob@example.net>", 250)
		c.cmd("DATA", 354)
		c.send(just + ".\r\n")
		c.expect(250)
	}
	c.cmd("QUIT", 221)
	subs := rec.all()
	if len(subs) != 2 || string(subs[0].data) != just || string(subs[1].data) != just {
		t.Fatalf("%d submissions", len(subs))
	}
	if n := ts.refused(reasonSize); n != 1 { // the SIZE refusal is go-smtp's and not counted
		t.Errorf("size refusals %v", n)
	}
	if len(subs[0].data) > 0 && cap(subs[0].data) != 9999 {
		t.Errorf("buffer for SIZE=9999 has capacity %d", cap(subs[0].data))
	}
}

// Too large and, after the limit, a bare LF: go-smtp consumes the rest up to
// CRLF.CRLF before the reply, but that stream was not clean, so the
// connection is closed after the reply.
func TestSizeLimitThenBareLF(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.MaxMessageBytes = 1000
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	c := startData(t, ts.addr)
	c.send(strings.Repeat("a\r\n", 2000) + "b\n.\n" + smuggled)
	text, err := readReplyOrClose(c)
	if err == nil && !strings.HasPrefix(text, "552 5.3.4") && !strings.HasPrefix(text, "554 5.6.0") {
		t.Errorf("reply %q", text)
	}
	c.expectClosed()
	if rec.count() != 0 {
		t.Error("submitted")
	}
}

// readReplyOrClose returns "code text" of the next reply.
func readReplyOrClose(c *rawClient) (string, error) {
	code, text, err := c.reply()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(fmtInt(code) + " " + text), nil
}

func fmtInt(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

func TestRecipientLimit(t *testing.T) {
	t.Parallel()
	b, rec := newRecorder()
	ts := startServer(t, baseConfig(), b) // MaxRecipients 10
	c := dialRaw(t, ts.addr)
	c.greet()
	c.login("alice", "secret")
	c.cmd("MAIL FROM:<alice@example.com>", 250)
	for i := range 9 {
		c.cmd("RCPT TO:<r"+fmtInt(i)+"@example.net>", 250)
	}
	c.cmd("RCPT TO:<R000@example.net>", 250) // a duplicate still counts
	if text := c.cmd("RCPT TO:<r010@example.net>", 452); !strings.HasPrefix(text, "4.5.3 ") {
		t.Errorf("refusal %q", text)
	}
	c.cmd("DATA", 354)
	c.send("Subject: x\r\n\r\nhi\r\n.\r\n")
	c.expect(250)
	if subs := rec.all(); len(subs) != 1 || len(subs[0].env.Rcpts) != 9 {
		t.Errorf("submissions %+v", subs)
	}
	if n := ts.refused(reasonRcptLimit); n != 1 {
		t.Errorf("rcpt refusals %v", n)
	}
}

func TestLineLength(t *testing.T) {
	t.Parallel()
	b, rec := newRecorder()
	ts := startServer(t, baseConfig(), b) // MaxLineLength 1000

	// A command line: go-smtp's reply, and the connection is closed.
	c := dialRaw(t, ts.addr)
	c.greet()
	c.send("NOOP " + strings.Repeat("x", 1100) + "\r\n")
	c.expect(500)
	c.expectClosed()

	// 998 octets and CRLF is the RFC limit and fine.
	c = startData(t, ts.addr)
	c.send(strings.Repeat("x", 998) + "\r\n.\r\n")
	c.expect(250)

	// A data line: refused with the ID, closed.
	c = startData(t, ts.addr)
	c.send("Subject: x\r\n\r\n" + strings.Repeat("x", 1100) + "\r\n" + smuggled)
	text := c.expect(500)
	if !strings.HasPrefix(text, "5.5.2 Line too long [") {
		t.Errorf("refusal %q", text)
	}
	c.expectClosed()
	if n := rec.count(); n != 1 {
		t.Errorf("%d submissions", n)
	}
	if n := ts.refused(reasonLineLength); n != 1 {
		t.Errorf("line refusals %v", n)
	}
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.CommandTimeout = 300 * time.Millisecond
	// Far above the trickle's 150 ms, so that a loaded machine's late
	// wake-up is not taken for a stall.
	cfg.DataTimeout = time.Second
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)

	// Idle between commands.
	c := dialRaw(t, ts.addr)
	c.greet()
	start := time.Now()
	if text := c.expect(421); !strings.HasPrefix(text, "4.4.2 ") {
		t.Errorf("command timeout %q", text)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("timed out after %v", d)
	}
	c.expectClosed()

	// Stalled in the middle of the data; it keeps trickling less than
	// a timeout apart first, which is not a timeout.
	c = dialRaw(t, ts.addr)
	c.greet()
	c.login("alice", "secret")
	c.cmd("MAIL FROM:<alice@example.com>", 250)
	c.cmd("RCPT TO:<bob@example.net>", 250)
	c.cmd("DATA", 354)
	for range 3 {
		c.send("part\r\n")
		time.Sleep(150 * time.Millisecond)
	}
	text := c.expect(421)
	if !strings.HasPrefix(text, "4.4.2 ") || !strings.Contains(text, "[") {
		t.Errorf("data timeout %q", text)
	}
	c.expectClosed()
	if rec.count() != 0 {
		t.Error("submitted")
	}
	waitFor(t, "timeout refusals", func() bool { return ts.refused(reasonTimeout) == 2 })
}

// A limit hit in one session leaves the others alone.
func TestLimitsDoNotDisturbOtherSessions(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.MaxMessageBytes = 5000
	cfg.DataTimeout = 300 * time.Millisecond
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)

	other := startData(t, ts.addr)
	other.send("Subject: patient\r\n\r\n")
	// It sends a line now and then, staying within the data timeout
	// that one of the abusers runs into.
	stop := make(chan struct{})
	trickled := make(chan int)
	go func() {
		n := 0
		defer func() { trickled <- n }()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := other.conn.Write([]byte("line\r\n")); err != nil {
					return
				}
				n++
			}
		}
	}()

	var wg sync.WaitGroup
	for _, abuse := range []func(c *rawClient){
		func(c *rawClient) { c.send(strings.Repeat("x", 1500) + "\r\n") },           // line too long
		func(c *rawClient) { c.send(strings.Repeat("x\r\n", 3000) + ".\r\n") },      // too large
		func(c *rawClient) { c.send("a\n.\n" + smuggled) },                          // bare LF
		func(c *rawClient) { c.send("stall") },                                      // data timeout
		func(c *rawClient) { c.send("NOOP " + strings.Repeat("y", 2000) + "\r\n") }, // command too long
	} {
		c := startData(t, ts.addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			abuse(c)
			c.reply()
		}()
	}
	wg.Wait()
	close(stop)
	n := <-trickled
	other.send("still here\r\n.\r\n")
	other.expect(250)
	want := "Subject: patient\r\n\r\n" + strings.Repeat("line\r\n", n) + "still here\r\n"
	if subs := rec.all(); len(subs) != 1 || string(subs[0].data) != want {
		t.Errorf("submissions %+v", subs)
	}
}

func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.MaxConns = 4
	cfg.MaxConnsPerIP = 2
	b, _ := newRecorder()
	ts := startServer(t, cfg, b)

	a1 := dialRawFrom(t, ts.addr, "127.0.0.1")
	a1.expect(220)
	a2 := dialRawFrom(t, ts.addr, "127.0.0.1")
	a2.expect(220)
	a3 := dialRawFrom(t, ts.addr, "127.0.0.1")
	if text := a3.expect(421); !strings.HasPrefix(text, "4.7.0 guard.test Too many connections from your address") {
		t.Errorf("per-IP refusal %q", text)
	}
	a3.expectClosed()

	// Another client is not affected by the first one's limit...
	b1 := dialRawFrom(t, ts.addr, "127.0.0.2")
	b1.expect(220)
	b2 := dialRawFrom(t, ts.addr, "127.0.0.2")
	b2.expect(220)
	// ...but the total limit holds for everyone.
	c1 := dialRawFrom(t, ts.addr, "127.0.0.3")
	if text := c1.expect(421); !strings.HasPrefix(text, "4.7.0 guard.test Too many connections") {
		t.Errorf("total refusal %q", text)
	}
	c1.expectClosed()

	// The sessions that were let in work normally.
	a1.cmd("EHLO a1", 250)
	b2.cmd("EHLO b2", 250)

	// A slot frees when a session ends.
	a1.cmd("QUIT", 221)
	waitFor(t, "slot to free", func() bool { return ts.metric("egressguard_smtp_active_sessions") == 3 })
	a4 := dialRawFrom(t, ts.addr, "127.0.0.1")
	a4.expect(220)

	if n := ts.refused(reasonConnLimit); n != 2 {
		t.Errorf("conn_limit refusals %v", n)
	}
	if n := ts.metric("egressguard_smtp_connections_total"); n != 7 {
		t.Errorf("connections_total %v", n)
	}
}

// Trusted networks (mail servers relaying for many users) are not limited
// per address, only in total.
func TestConnectionLimitTrustedNets(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.MaxConnsPerIP = 1
	cfg.MaxConns = 3
	cfg.TrustedNets = append(cfg.TrustedNets, loopback)
	b, _ := newRecorder()
	ts := startServer(t, cfg, b)
	for range 3 {
		dialRaw(t, ts.addr).expect(220)
	}
	dialRaw(t, ts.addr).expect(421)
}

func TestAuthFailureLimit(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.MaxAuthFailures = 3
	cfg.AuthFailWindow = 10 * time.Minute
	cfg.AuthFailDelay = 100 * time.Millisecond
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	b, _ := newRecorder()
	ts := startServerWith(t, cfg, b, zaptest.NewLogger(t), func(s *Server) { s.now = clock.now })

	c := dialRawFrom(t, ts.addr, "127.0.0.1")
	c.greet()
	start := time.Now()
	c.cmd("AUTH PLAIN "+plain("alice", "guess1"), 535)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("failure answered after %v, before the delay", d)
	}
	c.cmd("AUTH PLAIN "+plain("alice", "guess2"), 535)
	c2 := dialRawFrom(t, ts.addr, "127.0.0.1") // failures count per client, not per connection
	c2.greet()
	c2.cmd("AUTH PLAIN "+plain("alice", "guess3"), 535)

	// Blocked now, even with the right password, on every connection.
	if text := c.cmd("AUTH PLAIN "+plain("alice", "secret"), 421); !strings.HasPrefix(text, "4.7.0 ") {
		t.Errorf("refusal %q", text)
	}
	c.expectClosed()
	c3 := dialRawFrom(t, ts.addr, "127.0.0.1")
	c3.greet()
	c3.cmd("AUTH LOGIN", 421)
	c3.expectClosed()

	// Another client is not affected.
	o := dialRawFrom(t, ts.addr, "127.0.0.2")
	o.greet()
	o.login("alice", "secret")

	// Failures leave the window.
	clock.advance(10*time.Minute + time.Second)
	c4 := dialRawFrom(t, ts.addr, "127.0.0.1")
	c4.greet()
	c4.login("alice", "secret")

	if n := ts.refused(reasonBadAuth); n != 3 {
		t.Errorf("bad_auth %v", n)
	}
	if n := ts.refused(reasonAuthLimit); n != 2 {
		t.Errorf("auth_limit %v", n)
	}
}

// TestLimitKey: one IPv6 client is its /64, for the limits per client.
func TestLimitKey(t *testing.T) {
	t.Parallel()
	if limitKey(mustAddr("2001:db8::2")) != limitKey(mustAddr("2001:db8::ffff")) {
		t.Error("IPv6 /64 not counted together")
	}
	if limitKey(mustAddr("2001:db8::1")) == limitKey(mustAddr("2001:db8:0:1::1")) {
		t.Error("other /64 counted together")
	}
	if limitKey(mustAddr("192.0.2.1")) == limitKey(mustAddr("192.0.2.2")) {
		t.Error("IPv4 addresses counted together")
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
