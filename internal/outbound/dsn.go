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
func buildDSN(hostname string, m *store.Message, orig []byte, whole bool, rcpts []dsnRcpt, now time.Time) (*store.Message, []byte) {
	id := store.NewID(now)
	failed := anyFailed(rcpts)
	subject := "Successful Mail Delivery Report"
	if failed {
		subject = "Undelivered Mail Returned to Sender"
	}
	from := "MAILER-DAEMON@" + hostname
	boundary := newBoundary()

	var b bytes.Buffer
	writeLines(&b,
		"Date: "+now.Format(time.RFC1123Z),
		"From: Mail Delivery System <"+from+">",
		"To: <"+clean(m.From)+">",
		"Subject: "+subject,
		"Message-ID: <"+id+".dsn@"+hostname+">",
		"Auto-Submitted: auto-replied",
		"MIME-Version: 1.0",
		"Content-Type: multipart/report; report-type=delivery-status;",
		"\tboundary=\""+boundary+"\"",
		"",
		"This is a MIME-formatted delivery status notification.",
		"",
	)

	text := dsnText(hostname, failed, rcpts)
	writePart(&b, boundary, text, "Content-Type: text/plain; charset=utf-8", "Content-Description: Notification",
		"Content-Transfer-Encoding: "+cte(text))

	statusType := "message/delivery-status"
	if needsUTF8(&m.Envelope) {
		statusType = "message/global-delivery-status"
	}
	writePart(&b, boundary, dsnFields(hostname, m, rcpts, now), "Content-Type: "+statusType, "Content-Description: Delivery report")

	if part, partType := returnedPart(m, orig, whole); len(part) > 0 {
		header := []string{"Content-Type: " + partType, "Content-Description: Undelivered message"}
		if !isASCII(part) {
			header = append(header, "Content-Transfer-Encoding: 8bit")
		}
		if !bytes.HasSuffix(part, []byte("\r\n")) {
			part = append(part[:len(part):len(part)], "\r\n"...)
		}
		writePart(&b, boundary, part, header...)
	}
	writeLines(&b, "--"+boundary+"--")

	body := b.Bytes()
	return dsnRecord(hostname, m.From, id, subject, from, body, now), body
}

// anyFailed reports whether the DSN reports a failure (else it reports
// successes only).
func anyFailed(rcpts []dsnRcpt) bool {
	for _, r := range rcpts {
		if r.action == "failed" {
			return true
		}
	}
	return false
}

// writeLines writes each line with CRLF.
func writeLines(b *bytes.Buffer, lines ...string) {
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
}

// writePart writes one part of a multipart body: the boundary line, the
// part's header fields, a blank line, the content (ending in CRLF) and a
// blank line.
func writePart(b *bytes.Buffer, boundary string, content []byte, header ...string) {
	writeLines(b, "--"+boundary)
	writeLines(b, header...)
	writeLines(b, "")
	b.Write(content)
	writeLines(b, "")
}

// dsnText is the human-readable part: one line per recipient.
func dsnText(hostname string, failed bool, rcpts []dsnRcpt) []byte {
	var text bytes.Buffer
	fmt.Fprintf(&text, "This is the mail system at host %s.\r\n\r\n", hostname)
	if failed {
		text.WriteString("Your message could not be delivered to one or more recipients.\r\n")
		text.WriteString("It is attached below.\r\n\r\n")
	} else {
		text.WriteString("Your message was delivered as requested.\r\n\r\n")
	}
	for _, r := range rcpts {
		text.WriteString(rcptLine(r))
		text.WriteString("\r\n")
	}
	return text.Bytes()
}

// rcptLine says in words what happened to one recipient.
func rcptLine(r dsnRcpt) string {
	addr := clean(r.rcpt.Addr)
	switch {
	case r.expired:
		return fmt.Sprintf("<%s>: could not be delivered before the message expired; %s", addr, clean(r.detail))
	case r.action == "failed" && r.code != 0:
		return fmt.Sprintf("<%s>: host %s said: %d %s", addr, r.remoteMTA, r.code, clean(r.detail))
	case r.action == "failed":
		return fmt.Sprintf("<%s>: %s", addr, clean(r.detail))
	case r.action == "relayed":
		return fmt.Sprintf("<%s>: relayed to %s, which does not send delivery notifications", addr, r.remoteMTA)
	}
	return fmt.Sprintf("<%s>: delivered", addr)
}

// dsnFields is the machine-readable part (RFC 3464 §2.2, §2.3): the
// per-message fields, then a block per recipient.
func dsnFields(hostname string, m *store.Message, rcpts []dsnRcpt, now time.Time) []byte {
	var st bytes.Buffer
	writeLines(&st, "Reporting-MTA: dns; "+hostname, "X-Egressguard-Msg-ID: "+m.ID)
	if m.Params.EnvID != "" {
		writeLines(&st, "Original-Envelope-Id: "+clean(m.Params.EnvID))
	}
	if !m.Received.IsZero() {
		writeLines(&st, "Arrival-Date: "+m.Received.Format(time.RFC1123Z))
	}
	for _, r := range rcpts {
		writeLines(&st, "")
		writeLines(&st, rcptFields(r, now)...)
	}
	return st.Bytes()
}

// rcptFields are the per-recipient fields of one recipient.
func rcptFields(r dsnRcpt, now time.Time) []string {
	f := []string{"Final-Recipient: " + typedAddr(r.rcpt.Addr)}
	if r.rcpt.ORcpt != "" {
		f = append(f, "Original-Recipient: "+clean(r.rcpt.ORcpt))
	}
	f = append(f, "Action: "+r.action, "Status: "+statusOf(r))
	if r.remoteMTA != "" {
		f = append(f, "Remote-MTA: dns; "+r.remoteMTA)
	}
	if r.code != 0 {
		f = append(f, fmt.Sprintf("Diagnostic-Code: smtp; %d %s", r.code, truncate(clean(r.detail), 900)))
	}
	if r.action == "failed" || r.action == "relayed" {
		f = append(f, "Last-Attempt-Date: "+now.Format(time.RFC1123Z))
	}
	return f
}

// returnedPart is what the DSN returns of the original and its content
// type: the header, or all of it for RET=FULL up to maxReturnFull.
func returnedPart(m *store.Message, orig []byte, whole bool) ([]byte, string) {
	if strings.EqualFold(m.Params.Ret, "FULL") && whole && len(orig) <= maxReturnFull {
		if m.Params.SMTPUTF8 {
			return orig, "message/global"
		}
		return orig, "message/rfc822"
	}
	hdr := headerSection(orig)
	if !isASCII(hdr) {
		return hdr, "message/global-headers"
	}
	return hdr, "text/rfc822-headers"
}

// dsnRecord is the record that queues a DSN (body) for to: from the null
// sender, due at once, policy already applied.
func dsnRecord(hostname, to, id, subject, from string, body []byte, now time.Time) *store.Message {
	params := envelope.MailParams{SMTPUTF8: !isASCII(to)}
	if !isASCII(body) {
		params.Body = "8BITMIME"
	}
	return &store.Message{
		Envelope: envelope.Envelope{
			ID:       id,
			Received: now,
			Helo:     hostname,
			From:     "",
			Params:   params,
			Rcpts:    []envelope.Rcpt{{Addr: to}},
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
