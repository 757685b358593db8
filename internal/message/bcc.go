package message

import (
	"bytes"
	"errors"
	"net/mail"
	"strings"
)

// BccRewrite is the outcome of MoveToBcc.
type BccRewrite struct {
	Data        []byte   // the rewritten message; the input itself when nothing moved
	Moved       []string // addresses taken out of To and Cc, as written
	Undisclosed bool     // To had no address left and became "undisclosed-recipients:;"
}

// ErrHeaderUnparseable: a To or Cc field could not be parsed, so the
// addresses in it cannot be moved.
var ErrHeaderUnparseable = errors.New("message: To/Cc cannot be parsed")

// MoveToBcc takes the addresses for which keep returns false out of the To
// and Cc header fields of a message (the bcc action: they are still
// envelope recipients, so they still get the message, unseen by the
// others). Only those fields change, and only when something moves out of
// them; every other byte stays as it was. A To left with no address
// becomes "To: undisclosed-recipients:;"; a Cc left empty is removed.
// Kept addresses are written again in canonical form (display names RFC
// 2047-encoded when not ASCII); group syntax is flattened.
//
// A DKIM signature that covers To or Cc no longer verifies after the
// rewrite: sign after the guard.
func MoveToBcc(data []byte, keep func(addr string) bool) (BccRewrite, error) {
	out := BccRewrite{Data: data}
	end := headerEnd(data)
	type edit struct {
		start, end int
		repl       []byte
	}
	var edits []edit
	for pos := 0; pos < end; {
		fieldEnd := fieldEndAt(data, pos, end)
		line := data[pos:fieldEnd]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			pos = fieldEnd
			continue
		}
		name := strings.ToLower(strings.TrimRight(string(line[:colon]), " \t"))
		if name != "to" && name != "cc" {
			pos = fieldEnd
			continue
		}
		value := unfoldValue(line[colon+1:])
		var list []*mail.Address
		if strings.TrimSpace(value) != "" {
			var err error
			list, err = mail.ParseAddressList(value)
			if err != nil {
				return BccRewrite{Data: data}, ErrHeaderUnparseable
			}
		}
		var kept []*mail.Address
		for _, a := range list {
			if keep(a.Address) {
				kept = append(kept, a)
			} else {
				out.Moved = append(out.Moved, a.Address)
			}
		}
		if len(kept) == len(list) {
			pos = fieldEnd
			continue
		}
		var repl []byte
		switch {
		case len(kept) > 0:
			repl = foldAddresses(string(line[:colon]), kept)
		case name == "to":
			repl = []byte(string(line[:colon]) + ": undisclosed-recipients:;\r\n")
			out.Undisclosed = true
		default:
			repl = nil // an empty Cc goes
		}
		edits = append(edits, edit{pos, fieldEnd, repl})
		pos = fieldEnd
	}
	if len(edits) == 0 {
		return out, nil
	}
	var b bytes.Buffer
	b.Grow(len(data))
	last := 0
	for _, e := range edits {
		b.Write(data[last:e.start])
		b.Write(e.repl)
		last = e.end
	}
	b.Write(data[last:])
	out.Data = b.Bytes()
	return out, nil
}

// headerEnd returns the offset just after the header's last field (the
// start of the blank line), or len(data) for a message of header only.
func headerEnd(data []byte) int {
	if bytes.HasPrefix(data, []byte("\r\n")) {
		return 0
	}
	if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
		return i + 2
	}
	return len(data)
}

// fieldEndAt returns the end of the field starting at pos: after the CRLF
// of its last line, continuation lines (starting with space or tab)
// included.
func fieldEndAt(data []byte, pos, end int) int {
	for {
		i := bytes.Index(data[pos:end], []byte("\r\n"))
		if i < 0 {
			return end
		}
		pos += i + 2
		if pos >= end || (data[pos] != ' ' && data[pos] != '\t') {
			return pos
		}
	}
}

// unfoldValue removes the CRLFs of folding (RFC 5322 §2.2.3).
func unfoldValue(v []byte) string {
	s := strings.ReplaceAll(string(v), "\r\n", "")
	return strings.TrimSpace(s)
}

// foldAddresses writes "Name: a, b, c\r\n", folded before an address when
// a line would pass 78 characters.
func foldAddresses(name string, list []*mail.Address) []byte {
	var b strings.Builder
	b.WriteString(name + ":")
	lineLen := len(name) + 1
	for i, a := range list {
		s := a.String()
		sep := " "
		if i > 0 {
			b.WriteString(",")
			lineLen++
			if lineLen+1+len(s) > 78 {
				sep = "\r\n "
				lineLen = 0
			}
		}
		b.WriteString(sep + s)
		lineLen += 1 + len(s)
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}
