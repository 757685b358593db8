package smtpfront

import (
	"bytes"
	"net/netip"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/egressguard/egressguard/internal/message"
)

// What the front end itself reads of a message's header: the Received:
// fields, for the hop count, and the From: fields, to check them against
// the sender's account. It does not parse the message otherwise; that is
// inspection's work.

// maxFromBytes bounds the From: fields collected from one header. Real ones
// are a few hundred bytes; longer ones cannot be checked and are refused
// when the check applies.
const maxFromBytes = 16 << 10

// headerFacts is what scanHeader found.
type headerFacts struct {
	received int      // Received: fields
	from     []string // values of the From: fields, unfolded
	fromLong bool     // From: fields beyond maxFromBytes
}

// scanHeader reads the header block of data (CRLF lines, as the front end
// has checked) up to the first empty line. A line starting with space or
// tab continues the field before it. Field names compare case-insensitively
// and may be followed by white space before the colon (RFC 5322 obsolete
// syntax, which mail readers still accept). Lines that are not fields are
// skipped, not taken as the end of the header: a reader that stops there
// sees fewer fields, never more, than this scan.
func scanHeader(data []byte) headerFacts {
	var (
		f       headerFacts
		inFrom  bool
		fromLen int
	)
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i+1], data[i+1:]
		}
		// One line end, as go-message reads it: a bare CR before it stays
		// in the value (trimming it would check a From that inspection,
		// and the recipient, read differently).
		if l, ok := bytes.CutSuffix(line, []byte("\n")); ok {
			line = bytes.TrimSuffix(l, []byte("\r"))
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if inFrom {
				fromLen += len(line)
				if fromLen > maxFromBytes {
					f.fromLong = true
				} else {
					f.from[len(f.from)-1] += string(line)
				}
			}
			continue
		}
		inFrom = false
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimRight(name, " \t")
		switch {
		case asciiEqualFold(name, "received"):
			f.received++
		case asciiEqualFold(name, "from"):
			inFrom = true
			fromLen += len(value)
			if fromLen > maxFromBytes {
				f.fromLong = true
				inFrom = false
				continue
			}
			f.from = append(f.from, string(value))
		}
	}
	return f
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// normAddr is an address as accounts are compared: the local part
// lower-cased (as every mail system here treats it), the domain lower-cased
// in IDNA A-label form, so that 例え.jp and xn--r8jz45g.jp are one domain.
// It returns "" for something that is not local@domain.
func normAddr(a string) string {
	a = strings.TrimSpace(a)
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 {
		return ""
	}
	d := a[at+1:]
	if !strings.HasPrefix(d, "[") {
		d = message.NormalizeHost(d)
		if d == "" {
			return ""
		}
	} else {
		d = strings.ToLower(d)
	}
	return strings.ToLower(a[:at]) + "@" + d
}

// ownsAddr reports whether addr is one of the account's addresses.
func ownsAddr(own []string, addr string) bool {
	n := normAddr(addr)
	if n == "" {
		return false
	}
	for _, o := range own {
		if normAddr(o) == n {
			return true
		}
	}
	return false
}

// headerFromProblem checks the From: fields of a message from an
// authenticated user: every address in every From: field, and every
// address-like word in their display names, must be one of the user's
// addresses. It returns what is wrong ("" if nothing) and the addresses
// found, for the log. A header without From: claims nobody and passes; a
// From: that cannot be parsed does not.
func headerFromProblem(f headerFacts, own []string) (problem string, addrs []string) {
	if f.fromLong {
		return "header From too long to check", nil
	}
	for _, v := range f.from {
		list, err := mail.ParseAddressList(v)
		if err != nil || len(list) == 0 {
			return "header From unreadable", addrs
		}
		for _, a := range list {
			addrs = append(addrs, a.Address)
			if !ownsAddr(own, a.Address) {
				return "header From not an address of the account", addrs
			}
			// "ceo@example.jp" <demo@example.jp> shows as the CEO in
			// most mail readers.
			for _, w := range addressWords(a.Name) {
				if !ownsAddr(own, w) {
					return "header From display name names another address", append(addrs, w)
				}
			}
		}
	}
	return "", addrs
}

// addressWords finds local@domain tokens in a display name.
func addressWords(s string) []string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '@' {
			continue
		}
		j := i
		for j > 0 && !strings.ContainsRune(" \t\"'<>()[],;:", rune(s[j-1])) {
			j--
		}
		k := i + 1
		for k < len(s) && !strings.ContainsRune(" \t\"'<>()[],;:", rune(s[k])) {
			k++
		}
		local, domain := s[j:i], strings.TrimRight(s[i+1:k], ".")
		if local != "" && strings.Contains(domain, ".") {
			out = append(out, local+"@"+domain)
		}
		i = k - 1
	}
	return out
}

// traceInfo is what goes into the guard's Received: field.
type traceInfo struct {
	helo     string
	ip       netip.Addr
	host     string // the guard's host name
	ehlo     bool
	tls      bool
	auth     bool
	smtputf8 bool
	id       string
	rcpts    []string
	at       time.Time
}

// traceHeader returns the guard's Received: field (RFC 5321 section 4.4),
// folded, ending in CRLF:
//
//	Received: from client.example ([192.0.2.1])
//		by guard.example with ESMTPSA id 0123456789abcdefghij
//		for <bob@example.net>; Wed, 02 Dec 2026 09:00:00 +0000
//
// The protocol is SMTP or ESMTP with S for TLS and A for AUTH (RFC 3848),
// UTF8SMTP... for SMTPUTF8 (RFC 6531). "for" is given only for a single
// recipient: naming all would show Bcc recipients to everyone.
func traceHeader(t traceInfo) []byte {
	proto := "SMTP"
	switch {
	case t.smtputf8:
		proto = "UTF8SMTP"
	case t.ehlo:
		proto = "ESMTP"
	}
	if t.tls {
		proto += "S"
	}
	if t.auth {
		proto += "A"
	}
	var b bytes.Buffer
	b.Grow(256)
	b.WriteString("Received: from ")
	b.WriteString(traceHelo(t.helo))
	b.WriteString(" (")
	b.WriteString(addressLiteral(t.ip))
	b.WriteString(")\r\n\tby ")
	b.WriteString(traceHelo(t.host))
	b.WriteString(" with ")
	b.WriteString(proto)
	b.WriteString(" id ")
	b.WriteString(t.id)
	if len(t.rcpts) == 1 {
		b.WriteString("\r\n\tfor <")
		b.WriteString(t.rcpts[0])
		b.WriteString(">; ")
	} else {
		b.WriteString(";\r\n\t")
	}
	b.WriteString(t.at.Format(time.RFC1123Z))
	b.WriteString("\r\n")
	return b.Bytes()
}

// traceHelo is a HELO argument or host name as written into Received:
// characters that could end a clause or a comment are dropped, and its
// length is bounded.
func traceHelo(h string) string {
	var b strings.Builder
	for _, r := range h {
		if r > ' ' && r < 0x7f && !strings.ContainsRune(`()<>;\"`, r) {
			b.WriteRune(r)
		}
		if b.Len() >= 255 {
			break
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// addressLiteral is the client's address as RFC 5321 writes it.
func addressLiteral(ip netip.Addr) string {
	switch {
	case !ip.IsValid():
		return "unknown"
	case ip.Is4() || ip.Is4In6():
		return "[" + ip.Unmap().String() + "]"
	default:
		return "[IPv6:" + ip.String() + "]"
	}
}
