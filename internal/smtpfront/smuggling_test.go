package smtpfront

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// smuggled is what an attacker hides after a fake end of data: a second
// transaction that, if a server ended the first message early, would be
// sent with the first sender's authority.
const smuggled = "MAIL FROM:<alice@example.com>\r\n" +
	"RCPT TO:<victim@example.org>\r\n" +
	"DATA\r\n" +
	"From: ceo@example.com\r\n" +
	"Subject: smuggled\r\n" +
	"\r\n" +
	"wire the money\r\n" +
	".\r\n"

// startData logs in as alice and opens a transaction up to 354.
func startData(t *testing.T, addr string) *rawClient {
	t.Helper()
	c := dialRaw(t, addr)
	c.greet()
	c.login("alice", "secret")
	c.cmd("MAIL FROM:<alice@example.com>", 250)
	c.cmd("RCPT TO:<bob@example.net>", 250)
	c.cmd("DATA", 354)
	return c
}

// Every fake end of data is refused with 5xx, the connection is closed, no
// message is submitted and the smuggled transaction never happens.
func TestSmugglingVariants(t *testing.T) {
	t.Parallel()
	variants := []struct {
		name string
		fake string // between the first message's body and the smuggled commands
		text string // start of the refusal text
	}{
		{"LF.LF", "\n.\n", "5.6.0 Bare LF"},
		{"LF.CRLF", "\n.\r\n", "5.6.0 Bare LF"},
		{"CRLF.LF", "\r\n.\n", "5.6.0 Bare LF"},
		{"CR.CR", "\r.\r", "5.6.0 Bare CR"},
		{"CR.CRLF", "\r.\r\n", "5.6.0 Bare CR"},
		{"CRLF.CR", "\r\n.\r", "5.6.0 Bare CR"}, // go-smtp alone would silently drop this CR
		{"CRLF.CRCRLF", "\r\n.\r\r\n", "5.6.0 Bare CR"},
		{"CRCRLF.CRLF", "\r\r\n.\r\n", "5.6.0 Bare CR"},
		{"LF.LF stuffed", "\n..\n", "5.6.0 Bare LF"},
		{"bare LF in headers", "\r\nX-Header: a\nb\r\n\r\n", "5.6.0 Bare LF"},
		{"bare CR in body", "\r\nsome\rthing\r\n", "5.6.0 Bare CR"},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			b, rec := newRecorder()
			ts := startServer(t, baseConfig(), b)
			c := startData(t, ts.addr)
			// Everything in one write, as the attack sends it; the
			// real end of data comes after the smuggled commands.
			c.send("From: alice@example.com\r\nSubject: real\r\n\r\nhello" + v.fake + smuggled + "QUIT\r\n")
			text := c.expect(554)
			if !strings.HasPrefix(text, v.text) || !strings.Contains(text, "[") {
				t.Errorf("refusal %q, want %q with the message ID", text, v.text)
			}
			c.expectClosed()
			if n := rec.count(); n != 0 {
				t.Errorf("%d messages submitted", n)
			}
			if n := ts.refused(reasonSmuggling); n != 1 {
				t.Errorf("smuggling refusals %v", n)
			}
		})
	}
}

// The attacker may also stop after the fake end and wait, as if the message
// were complete: the refusal comes at once, not after a timeout.
func TestSmugglingFakeEndThenWait(t *testing.T) {
	t.Parallel()
	for _, fake := range []string{"\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r"} {
		b, rec := newRecorder()
		ts := startServer(t, baseConfig(), b)
		c := startData(t, ts.addr)
		c.send("Subject: x\r\n\r\nhello" + fake)
		c.conn.SetReadDeadline(time.Now().Add(2 * time.Second)) // well below DataTimeout
		c.expect(554)
		c.expectClosed()
		if rec.count() != 0 {
			t.Errorf("%q: submitted", fake)
		}
	}
}

// Message data sent before the 354 reply (improper pipelining) is refused,
// whatever it contains, including the one case the reader's output cannot
// show: a CR after a leading dot that arrived before DATA was answered.
func TestDataBefore354(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		before string // sent with DATA
		after  string // sent after 354
	}{
		{"whole message", "Subject: x\r\n\r\nhi\r\n.\r\n", ""},
		{"whole message and more", "Subject: x\r\n\r\nhi\r\n.\r\n" + smuggled, ""},
		{"first line", "Subject: x\r\n", "\r\nhi\r\n.\r\n"},
		{"a dot", ".", "\rX\r\n.\r\n"},
		{"dot CR", ".\r", "X\r\n.\r\n"},
		{"end marker", ".\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, rec := newRecorder()
			ts := startServer(t, baseConfig(), b)
			c := dialRaw(t, ts.addr)
			c.greet()
			c.login("alice", "secret")
			c.cmd("MAIL FROM:<alice@example.com>", 250)
			c.cmd("RCPT TO:<bob@example.net>", 250)
			c.send("DATA\r\n" + tt.before)
			c.expect(354)
			if tt.after != "" {
				c.send(tt.after)
			}
			// 5.5.0 for data before 354; if the network split the
			// write, the scanner may see the bare CR first.
			text := c.expect(554)
			if !strings.HasPrefix(text, "5.5.0") && !strings.HasPrefix(text, "5.6.0") {
				t.Errorf("refusal %q", text)
			}
			c.expectClosed()
			if rec.count() != 0 {
				t.Error("submitted")
			}
		})
	}
}

// Controls: what looks like an end of data but is correct SMTP is accepted
// as one message, byte for byte.
func TestCleanDataEdgeCases(t *testing.T) {
	t.Parallel()
	b, rec := newRecorder()
	ts := startServer(t, baseConfig(), b)
	tests := []struct {
		name string
		send []string // written one after another, with a pause
		want string   // the message
	}{
		{"stuffed dot line", []string{"a\r\n..\r\nb\r\n.\r\n"}, "a\r\n.\r\nb\r\n"},
		{"stuffed text", []string{"..a\r\n...\r\n.\r\n"}, ".a\r\n..\r\n"},
		{"end split over writes", []string{"a\r\n.", "\r", "\n"}, "a\r\n"},
		{"end split after CR", []string{"a\r", "\n.\r\n"}, "a\r\n"},
		{"empty message", []string{".\r\n"}, ""},
		{"smuggled text as data", []string{"x\r\n" + strings.ReplaceAll(smuggled, "\r\n.\r\n", "\r\n..\r\n") + ".\r\n"},
			"x\r\n" + smuggled},
	}
	for i, tt := range tests {
		c := startData(t, ts.addr)
		for j, s := range tt.send {
			if j > 0 {
				time.Sleep(20 * time.Millisecond)
			}
			c.send(s)
		}
		c.expect(250)
		c.cmd("QUIT", 221)
		subs := rec.all()
		if len(subs) != i+1 {
			t.Fatalf("%s: %d submissions", tt.name, len(subs))
		}
		if got := string(subs[i].data); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// Commands pipelined after a clean end of data are commands: a client that
// sends the next transaction right after the dot gets two messages, and a
// bare-LF QUIT after the dot does not taint the message.
func TestPipelinedTransactions(t *testing.T) {
	t.Parallel()
	b, rec := newRecorder()
	ts := startServer(t, baseConfig(), b)
	c := dialRaw(t, ts.addr)
	c.greet()
	c.login("alice", "secret")
	c.send("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.net>\r\nDATA\r\n")
	c.expect(250)
	c.expect(250)
	c.expect(250)
	c.expect(354)
	c.send("Subject: one\r\n\r\nfirst\r\n.\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<dave@example.net>\r\nDATA\r\n")
	c.expect(250)
	c.expect(250)
	c.expect(250)
	c.expect(354)
	c.send("Subject: two\r\n\r\nsecond\r\n.\r\nQUIT\n")
	c.expect(250)
	c.expect(221)
	subs := rec.all()
	if len(subs) != 2 {
		t.Fatalf("%d submissions", len(subs))
	}
	if string(subs[0].data) != "Subject: one\r\n\r\nfirst\r\n" || len(subs[0].env.Rcpts) != 2 {
		t.Errorf("first: %q %v", subs[0].data, subs[0].env.Rcpts)
	}
	if string(subs[1].data) != "Subject: two\r\n\r\nsecond\r\n" || subs[1].env.Rcpts[0].Addr != "dave@example.net" {
		t.Errorf("second: %q %v", subs[1].data, subs[1].env.Rcpts)
	}
	if subs[0].env.ID == subs[1].env.ID {
		t.Error("same message ID twice")
	}
}

// BDAT (go-smtp always offers CHUNKING) has no terminator to fake, but its
// bytes go upstream with DATA, so they obey the same rules.
func TestBDAT(t *testing.T) {
	t.Parallel()
	b, rec := newRecorder()
	ts := startServer(t, baseConfig(), b)
	c := dialRaw(t, ts.addr)
	c.greet()
	c.login("alice", "secret")

	c.cmd("MAIL FROM:<alice@example.com>", 250)
	c.cmd("RCPT TO:<bob@example.net>", 250)
	part1, part2 := "Subject: chunked\r\n\r\n.a dot", " stays\r\n.\r\n"
	c.send("BDAT " + strconv.Itoa(len(part1)) + "\r\n" + part1)
	c.expect(250)
	c.send("BDAT " + strconv.Itoa(len(part2)) + " LAST\r\n" + part2)
	text := c.expect(250)
	if !strings.HasPrefix(text, "2.0.0 Ok: queued as ") {
		t.Errorf("reply %q", text)
	}
	if subs := rec.all(); len(subs) != 1 || string(subs[0].data) != part1+part2 {
		t.Fatalf("submissions %v", subs)
	}

	// Bare LF: refused, and since chunks cannot be confused the session
	// may go on.
	c.cmd("MAIL FROM:<alice@example.com>", 250)
	c.cmd("RCPT TO:<bob@example.net>", 250)
	bad := "Subject: x\n\nhi\n"
	c.send("BDAT " + strconv.Itoa(len(bad)) + " LAST\r\n" + bad)
	if text := c.expect(554); !strings.HasPrefix(text, "5.6.0 Bare LF") {
		t.Errorf("reply %q", text)
	}
	c.cmd("NOOP", 250)

	// RSET between chunks abandons the message.
	c.cmd("MAIL FROM:<alice@example.com>", 250)
	c.cmd("RCPT TO:<bob@example.net>", 250)
	c.send("BDAT 4\r\nab\r\n")
	c.expect(250)
	c.cmd("RSET", 250)
	c.cmd("QUIT", 221)
	if n := rec.count(); n != 1 {
		t.Errorf("%d submissions", n)
	}
}
