package outbound

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// dsnRcpt is one recipient to report on in a DSN.
type dsnRcpt struct {
	rcpt      envelope.Rcpt
	action    string // failed, relayed or delivered (RFC 3464 §2.3.3)
	code      int    // SMTP reply code, 0 if the problem was local
	detail    string // "x.y.z text"
	status    string // overrides the status taken from detail
	remoteMTA string
	expired   bool
}

// maxReturnFull caps the original message returned with RET=FULL. Larger
// messages come back as headers only, as Postfix does with its
// bounce_size_limit: a bounce should not double a mailbox's load.
const maxReturnFull = 1 << 20

// buildDSN writes a delivery status notification (RFC 3464
// multipart/report) about m for its envelope sender, and the record that
// queues it. The caller makes sure m.From is not the null sender.
//
// With non-ASCII addresses it follows RFC 6533: message/global-delivery-
// status with utf-8 address types, and the DSN is sent with SMTPUTF8.
func buildDSN(hostname string, m *store.Message, orig []byte, rcpts []dsnRcpt, now time.Time) (*store.Message, []byte) {
	id := store.NewID(now)
	global := needsUTF8(&m.Envelope)
	failed := false
	for _, r := range rcpts {
		if r.action == "failed" {
			failed = true
		}
	}

	var b bytes.Buffer
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteString("\r\n")
	}
	boundary := newBoundary()
	subject := "Successful Mail Delivery Report"
	if failed {
		subject = "Undelivered Mail Returned to Sender"
	}
	from := "MAILER-DAEMON@" + hostname

	line("Date: %s", now.Format(time.RFC1123Z))
	line("From: Mail Delivery System <%s>", from)
	line("To: <%s>", clean(m.From))
	line("Subject: %s", subject)
	line("Message-ID: <%s.dsn@%s>", id, hostname)
	line("Auto-Submitted: auto-replied")
	line("MIME-Version: 1.0")
	line("Content-Type: multipart/report; report-type=delivery-status;")
	line("\tboundary=\"%s\"", boundary)
	line("")
	line("This is a MIME-formatted delivery status notification.")
	line("")

	// The human-readable part.
	var text bytes.Buffer
	fmt.Fprintf(&text, "This is the mail system at host %s.\r\n\r\n", hostname)
	if failed {
		text.WriteString("Your message could not be delivered to one or more recipients.\r\n")
		text.WriteString("It is attached below.\r\n\r\n")
	} else {
		text.WriteString("Your message was delivered as requested.\r\n\r\n")
	}
	for _, r := range rcpts {
		switch {
		case r.expired:
			fmt.Fprintf(&text, "<%s>: could not be delivered before the message expired; %s\r\n", clean(r.rcpt.Addr), clean(r.detail))
		case r.action == "failed" && r.code != 0:
			fmt.Fprintf(&text, "<%s>: host %s said: %d %s\r\n", clean(r.rcpt.Addr), r.remoteMTA, r.code, clean(r.detail))
		case r.action == "failed":
			fmt.Fprintf(&text, "<%s>: %s\r\n", clean(r.rcpt.Addr), clean(r.detail))
		case r.action == "relayed":
			fmt.Fprintf(&text, "<%s>: relayed to %s, which does not send delivery notifications\r\n", clean(r.rcpt.Addr), r.remoteMTA)
		default:
			fmt.Fprintf(&text, "<%s>: delivered\r\n", clean(r.rcpt.Addr))
		}
	}
	line("--%s", boundary)
	line("Content-Type: text/plain; charset=utf-8")
	line("Content-Description: Notification")
	line("Content-Transfer-Encoding: %s", cte(text.Bytes()))
	line("")
	b.Write(text.Bytes())
	line("")

	// The machine-readable part.
	var st bytes.Buffer
	field := func(format string, args ...any) {
		fmt.Fprintf(&st, format, args...)
		st.WriteString("\r\n")
	}
	field("Reporting-MTA: dns; %s", hostname)
	field("X-Egressguard-Msg-ID: %s", m.ID)
	if m.Params.EnvID != "" {
		field("Original-Envelope-Id: %s", clean(m.Params.EnvID))
	}
	if !m.Received.IsZero() {
		field("Arrival-Date: %s", m.Received.Format(time.RFC1123Z))
	}
	for _, r := range rcpts {
		st.WriteString("\r\n")
		field("Final-Recipient: %s", typedAddr(r.rcpt.Addr))
		if r.rcpt.ORcpt != "" {
			field("Original-Recipient: %s", clean(r.rcpt.ORcpt))
		}
		field("Action: %s", r.action)
		field("Status: %s", statusOf(r))
		if r.remoteMTA != "" {
			field("Remote-MTA: dns; %s", r.remoteMTA)
		}
		if r.code != 0 {
			field("Diagnostic-Code: smtp; %d %s", r.code, truncate(clean(r.detail), 900))
		}
		if r.action == "failed" || r.action == "relayed" {
			field("Last-Attempt-Date: %s", now.Format(time.RFC1123Z))
		}
	}
	statusType := "message/delivery-status"
	if global {
		statusType = "message/global-delivery-status"
	}
	line("--%s", boundary)
	line("Content-Type: %s", statusType)
	line("Content-Description: Delivery report")
	line("")
	b.Write(st.Bytes())
	line("")

	// The original: headers, or all of it for RET=FULL.
	hdr := headerSection(orig)
	part, partType := hdr, "text/rfc822-headers"
	if !isASCII(hdr) {
		partType = "message/global-headers"
	}
	if strings.EqualFold(m.Params.Ret, "FULL") && len(orig) <= maxReturnFull {
		part, partType = orig, "message/rfc822"
		if m.Params.SMTPUTF8 {
			partType = "message/global"
		}
	}
	if len(part) > 0 {
		line("--%s", boundary)
		line("Content-Type: %s", partType)
		line("Content-Description: Undelivered message")
		if !isASCII(part) {
			line("Content-Transfer-Encoding: 8bit")
		}
		line("")
		b.Write(part)
		if !bytes.HasSuffix(part, []byte("\r\n")) {
			b.WriteString("\r\n")
		}
		line("")
	}
	line("--%s--", boundary)

	body := b.Bytes()
	params := envelope.MailParams{SMTPUTF8: !isASCII(m.From)}
	if !isASCII(body) {
		params.Body = "8BITMIME"
	}
	rec := &store.Message{
		Envelope: envelope.Envelope{
			ID:       id,
			Received: now,
			Helo:     hostname,
			From:     "",
			Params:   params,
			Rcpts:    []envelope.Rcpt{{Addr: m.From}},
		},
		State:       store.Queued,
		Updated:     now,
		Size:        int64(len(body)),
		NextAttempt: now,
		Status:      make([]store.RcptStatus, 1),
		Subject:     subject,
		HeaderFrom:  from,
		Action:      verdict.Pass,
	}
	return rec, body
}

// statusOf is the RFC 3463 status code of a report line.
func statusOf(r dsnRcpt) string {
	if r.status != "" {
		return r.status
	}
	if first, _, _ := strings.Cut(r.detail, " "); first != "" {
		if ec, ok := parseEnhanced(first); ok {
			return fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2])
		}
	}
	switch {
	case r.action != "failed":
		return "2.0.0"
	case r.code/100 == 4:
		return "4.0.0"
	}
	return "5.0.0"
}

// typedAddr is an address with its RFC 3464/6533 address type.
func typedAddr(addr string) string {
	if isASCII(addr) {
		return "rfc822; " + clean(addr)
	}
	return "utf-8; " + clean(addr)
}

// headerSection returns the header of a message including the CRLF that
// ends its last field, or all of it if it has no body.
func headerSection(msg []byte) []byte {
	if bytes.HasPrefix(msg, []byte("\r\n")) {
		return nil
	}
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i+2]
	}
	return msg
}

// clean keeps upstream text and addresses from breaking the DSN's lines:
// control characters become spaces, runs of white space one space.
func clean(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	s = strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// truncate cuts s to at most n bytes, at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func cte(b []byte) string {
	if isASCII(b) {
		return "7bit"
	}
	return "8bit"
}

func newBoundary() string {
	var b [12]byte
	rand.Read(b[:])
	return "=_dsn_" + hex.EncodeToString(b[:])
}
