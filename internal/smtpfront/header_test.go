package smtpfront

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// sendMessage runs one transaction on an authenticated or trusted raw
// dialog and returns the final reply's code and text.
func sendMessage(t *testing.T, c *rawClient, from string, rcpts []string, msg string) (int, string) {
	t.Helper()
	c.cmd("MAIL FROM:<"+from+">", 250)
	for _, r := range rcpts {
		c.cmd("RCPT TO:<"+r+">", 250)
	}
	c.cmd("DATA", 354)
	c.send(msg + ".\r\n")
	code, text, err := c.reply()
	if err != nil {
		t.Fatal(err)
	}
	return code, text
}

// TestTraceHeader: the backend gets the guard's Received: field (RFC 5321
// section 4.4) followed by exactly the bytes the client sent.
func TestTraceHeader(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := testTLS(t)
	cfg := baseConfig()
	cfg.TLS = serverTLS
	cfg.TrustedNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	const msg = "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s1;\r\n\th=from:subject; bh=abc=; b=def=\r\n" +
		"From: Alice <alice@example.com>\r\nSubject: trace\r\n\r\nbody\r\n"
	date := `[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}`
	id := `([0-9a-z]{20})`

	// EHLO + AUTH, one recipient: ESMTPA with "for".
	c := dialRaw(t, ts.addr)
	c.greet()
	c.login("alice", "secret")
	if code, text := sendMessage(t, c, "alice@example.com", []string{"bob@example.net"}, msg); code != 250 {
		t.Fatalf("%d %s", code, text)
	}
	// Two recipients: no "for" (it would show one to the other).
	if code, text := sendMessage(t, c, "alice@example.com", []string{"bob@example.net", "carol@example.org"}, msg); code != 250 {
		t.Fatalf("%d %s", code, text)
	}
	// SMTPUTF8: UTF8SMTPA (RFC 6531).
	c.cmd("MAIL FROM:<alice@example.com> SMTPUTF8", 250)
	c.cmd("RCPT TO:<jörg@bücher.example>", 250)
	c.cmd("DATA", 354)
	c.send(msg + ".\r\n")
	c.expect(250)
	c.cmd("QUIT", 221)

	// STARTTLS + AUTH: ESMTPSA.
	c = dialRaw(t, ts.addr)
	c.greet()
	c.startTLS(clientTLS)
	c.cmd("EHLO tls.client.test", 250)
	c.login("alice", "secret")
	if code, text := sendMessage(t, c, "alice@example.com", []string{"bob@example.net"}, msg); code != 250 {
		t.Fatalf("%d %s", code, text)
	}

	// HELO from a trusted relay, with a HELO name that tries to end the
	// clause: SMTP, the name cleaned.
	c = dialRawFrom(t, ts.addr, "127.0.0.3")
	c.expect(220)
	c.cmd("HELO relay(x);y.test", 250)
	if code, text := sendMessage(t, c, "someone@internal.example", []string{"bob@example.net"}, msg); code != 250 {
		t.Fatalf("%d %s", code, text)
	}

	want := []*regexp.Regexp{
		regexp.MustCompile(`^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby guard\.test with ESMTPA id ` + id + `\r\n\tfor <bob@example\.net>; ` + date + "\r\n$"),
		regexp.MustCompile(`^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby guard\.test with ESMTPA id ` + id + `;\r\n\t` + date + "\r\n$"),
		regexp.MustCompile(`^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby guard\.test with UTF8SMTPA id ` + id + `\r\n\tfor <jörg@bücher\.example>; ` + date + "\r\n$"),
		regexp.MustCompile(`^Received: from tls\.client\.test \(\[127\.0\.0\.1\]\)\r\n\tby guard\.test with ESMTPSA id ` + id + `\r\n\tfor <bob@example\.net>; ` + date + "\r\n$"),
		regexp.MustCompile(`^Received: from relayxy\.test \(\[127\.0\.0\.3\]\)\r\n\tby guard\.test with SMTP id ` + id + `\r\n\tfor <bob@example\.net>; ` + date + "\r\n$"),
	}
	subs := rec.all()
	if len(subs) != len(want) {
		t.Fatalf("%d submissions, want %d", len(subs), len(want))
	}
	for i, s := range subs {
		m := want[i].FindStringSubmatch(s.trace)
		if m == nil {
			t.Errorf("submission %d: trace %q", i, s.trace)
			continue
		}
		if m[1] != s.env.ID {
			t.Errorf("submission %d: trace id %s, message %s", i, m[1], s.env.ID)
		}
		if string(s.data) != msg {
			t.Errorf("submission %d: bytes after the trace changed: %q", i, s.data)
		}
		at, err := time.Parse(time.RFC1123Z, strings.TrimLeft(s.trace[strings.LastIndex(s.trace, ";")+1:len(s.trace)-2], " \r\n\t"))
		if err != nil || at.Unix() != s.env.Received.Unix() {
			t.Errorf("submission %d: date %v %v, received %v", i, at, err, s.env.Received)
		}
		if strings.Contains(s.trace, "for <") {
			if _, after, _ := strings.Cut(s.trace, "for <"); strings.Count(after, "@") != 1 {
				t.Errorf("for clause names more than one recipient: %q", s.trace)
			}
		}
	}
}

// received returns n Received: fields.
func received(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "Received: from hop%d.example ([192.0.2.%d])\r\n\tby hop%d.example with ESMTP id x%d; Wed, 02 Dec 2026 09:00:00 +0000\r\n", i, i%250, i+1, i)
	}
	return b.String()
}

// TestMailLoop: a message that arrives with max_hops Received: fields or
// more is refused with 554 5.4.6, as Postfix does, and the refusal is
// recorded; the session goes on.
func TestMailLoop(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.MaxHops = 50
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	c := dialRaw(t, ts.addr)
	c.greet()
	c.login("alice", "secret")
	body := "From: alice@example.com\r\nSubject: loop\r\n\r\nround and round\r\n"
	for _, tc := range []struct {
		hops int
		code int
	}{{100, 554}, {50, 554}, {49, 250}, {0, 250}} {
		// Field names are case-insensitive; mix the spelling.
		hdr := strings.ReplaceAll(received(tc.hops), "Received: from hop1", "RECEIVED : from hop1")
		code, text := sendMessage(t, c, "alice@example.com", []string{"bob@example.net"}, hdr+body)
		if code != tc.code {
			t.Errorf("%d hops: %d %s, want %d", tc.hops, code, text, tc.code)
		}
		if code == 554 && !strings.HasPrefix(text, "5.4.6 ") {
			t.Errorf("%d hops: %q", tc.hops, text)
		}
	}
	// Received: after the header is body text, not a hop.
	if code, text := sendMessage(t, c, "alice@example.com", []string{"bob@example.net"}, body+received(60)); code != 250 {
		t.Errorf("Received lines in the body: %d %s", code, text)
	}
	c.cmd("NOOP", 250)
	if n := rec.count(); n != 3 {
		t.Errorf("%d submissions, want 3", n)
	}
	refs := b.refusals()
	if len(refs) != 2 || refs[0].reason != reasonLoop || refs[0].env.ID == "" || refs[0].env.AuthUser != "alice" {
		t.Errorf("refusals recorded: %+v", refs)
	}
	if n := ts.refused(reasonLoop); n != 2 {
		t.Errorf("too_many_hops metric %v", n)
	}
}

// TestHeaderFrom: an authenticated user's header From must be theirs
// (every address of every From: field), compared without regard to case
// and IDN form; a trusted relay is not checked.
func TestHeaderFrom(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.EnforceHeaderFrom = true
	cfg.TrustedNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	c := dialRaw(t, ts.addr)
	c.greet()
	c.login("alice", "secret")
	cases := []struct {
		name, header string
		ok           bool
	}{
		{"spoofed", "From: CEO <ceo@example.com>\r\n", false},
		{"own", "From: Alice <alice@example.com>\r\n", true},
		{"own in other case", "From: ALICE@Example.COM\r\n", true},
		{"alias", "From: \"Alias\" <alice.alias@example.com>\r\n", true},
		{"no From", "Sender: alice@example.com\r\n", true},
		{"lower-case field name", "from: ceo@example.com\r\n", false},
		{"space before colon", "From : ceo@example.com\r\n", false},
		{"second address", "From: alice@example.com, ceo@example.com\r\n", false},
		{"second field", "From: alice@example.com\r\nTo: x@example.net\r\nFrom: ceo@example.com\r\n", false},
		{"folded", "From: Alice <alice@example.com>,\r\n ceo@example.com\r\n", false},
		{"subaddress", "From: alice+news@example.com\r\n", false},
		{"look-alike domain", "From: alice@example.com.evil\r\n", false},
		{"address in the display name", "From: \"ceo@example.com\" <alice@example.com>\r\n", false},
		{"encoded display name", "From: =?UTF-8?B?Y2VvQGV4YW1wbGUuY29t?= <alice@example.com>\r\n", false},
		{"unreadable", "From: <ceo@example.com\r\n", false},
		{"empty group", "From: undisclosed:;\r\n", false},
	}
	for _, tc := range cases {
		code, text := sendMessage(t, c, "alice@example.com", []string{"bob@example.net"}, tc.header+"Subject: x\r\n\r\nhi\r\n")
		switch {
		case tc.ok && code != 250:
			t.Errorf("%s: refused: %d %s", tc.name, code, text)
		case !tc.ok && code != 550:
			t.Errorf("%s: %d %s, want 550", tc.name, code, text)
		case !tc.ok && !strings.HasPrefix(text, "5.7.1 Header From address not allowed for this account ["):
			t.Errorf("%s: reply text %q", tc.name, text)
		}
	}
	c.cmd("QUIT", 221)
	okCount := 0
	for _, tc := range cases {
		if tc.ok {
			okCount++
		}
	}
	if n := rec.count(); n != okCount {
		t.Errorf("%d submissions, want %d", n, okCount)
	}
	refs := b.refusals()
	if len(refs) != len(cases)-okCount {
		t.Errorf("%d refusals recorded, want %d", len(refs), len(cases)-okCount)
	}
	for _, r := range refs {
		if r.reason != reasonHeaderFrom || r.env.AuthUser != "alice" || r.env.From != "alice@example.com" {
			t.Errorf("refusal %+v", r)
		}
	}

	// IDN: the account's address in Unicode, the header in A-labels.
	c = dialRaw(t, ts.addr)
	c.greet()
	c.login("carol", "tiger123")
	if code, text := sendMessage(t, c, "carol@xn--r8jz45g.xn--zckzah", []string{"bob@example.net"},
		"From: Carol <Carol@XN--R8JZ45G.xn--zckzah>\r\n\r\nhi\r\n"); code != 250 {
		t.Errorf("IDN: %d %s", code, text)
	}
	if code, text := sendMessage(t, c, "carol@xn--r8jz45g.xn--zckzah", []string{"bob@example.net"},
		"From: Carol <carol@xn--r8jz45g.example>\r\n\r\nhi\r\n"); code != 550 {
		t.Errorf("IDN, other domain: %d %s", code, text)
	}

	// A trusted relay carries mail of many senders: not checked.
	r := dialRawFrom(t, ts.addr, "127.0.0.3")
	r.greet()
	if code, text := sendMessage(t, r, "someone@internal.example", []string{"bob@example.net"},
		"From: CEO <ceo@example.com>\r\n\r\nhi\r\n"); code != 250 {
		t.Errorf("trusted relay: %d %s", code, text)
	}

	// Off: not checked.
	cfg.EnforceHeaderFrom = false
	b2, rec2 := newRecorder()
	ts2 := startServer(t, cfg, b2)
	c = dialRaw(t, ts2.addr)
	c.greet()
	c.login("alice", "secret")
	if code, text := sendMessage(t, c, "alice@example.com", []string{"bob@example.net"}, "From: CEO <ceo@example.com>\r\n\r\nhi\r\n"); code != 250 || rec2.count() != 1 {
		t.Errorf("check off: %d %s", code, text)
	}
	if n := ts.refused(reasonHeaderFrom); n != float64(len(cases)-okCount+1) {
		t.Errorf("header_from metric %v", n)
	}
}

// TestWithHeaderNoCopy: the Received: field goes into the room in front of
// the message; the message itself is not copied.
func TestWithHeaderNoCopy(t *testing.T) {
	d := newDataBuf(1<<20, 25<<20, "")
	d.b = append(d.b, strings.Repeat("x", 1<<20)...)
	h := traceHeader(traceInfo{helo: strings.Repeat("h", 300), host: strings.Repeat("g", 300), id: "0123456789abcdefghij",
		rcpts: []string{strings.Repeat("r", 60) + "@" + strings.Repeat("d", 190) + ".example"}, at: time.Now()})
	if len(h) > traceRoom {
		t.Fatalf("the longest trace field (%d bytes) does not fit the room (%d)", len(h), traceRoom)
	}
	var out []byte
	allocs := testing.AllocsPerRun(10, func() { out = d.withHeader(h) })
	if allocs != 0 {
		t.Errorf("%v allocations prepending the field", allocs)
	}
	if &out[len(h)] != &d.b[0] || string(out[:len(h)]) != string(h) {
		t.Error("message copied or field not in front")
	}
	for line := range strings.SplitSeq(string(h), "\r\n") {
		if len(line) > 998 {
			t.Errorf("trace line of %d octets", len(line))
		}
	}
}

// FuzzHeaderFrom compares the front end's own header scan with go-message's
// header parser (which inspection uses): whenever the check lets a message
// through, every From: address go-message finds is the sender's, and a
// Received: field added on top counts once more.
func FuzzHeaderFrom(f *testing.F) {
	for _, s := range []string{
		"From: alice@example.com\r\n\r\nbody\r\n",
		"From: a <alice@example.com>,\r\n ceo@example.com\r\nSubject: x\r\n\r\n",
		"from : ceo@example.com\r\n\r\n",
		"X: y\r\nFrom: \"ceo@example.com\" <alice@example.com>\r\n\r\n",
		"Received: from a\r\n\tby b\r\nFrom: alice@example.com\r\n\r\n",
		"bad line\r\nFrom: ceo@example.com\r\n\r\n",
		"From: =?UTF-8?B?Y2Vv?= <alice@example.com>\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	own := []string{"alice@example.com"}
	f.Fuzz(func(t *testing.T, data []byte) {
		hf := scanHeader(data)
		again := scanHeader(append([]byte("Received: from x\r\n\tby y\r\n"), data...))
		if again.received != hf.received+1 {
			t.Fatalf("received %d, with one more %d", hf.received, again.received)
		}
		problem, _ := headerFromProblem(hf, own)
		if problem != "" {
			return
		}
		h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		for _, v := range h.Values("From") {
			list, err := mail.ParseAddressList(v)
			if err != nil {
				t.Fatalf("check passed, but go-message cannot parse From %q", v)
			}
			for _, a := range list {
				if !ownsAddr(own, a.Address) {
					t.Fatalf("check passed a From of %q (%q)", a.Address, data)
				}
			}
		}
	})
}
