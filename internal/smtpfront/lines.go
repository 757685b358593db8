package smtpfront

import (
	"bytes"
	"errors"
)

// DATA is read by go-smtp in its strict mode (smtp.Server.StrictData),
// which refuses a bare CR or LF and data sent before the 354 reply, and
// closes the connection after data that did not end cleanly. BDAT chunks
// are counted, not terminated, so nothing can end a message early; their
// bytes are still held to the same rules here, since they are sent on with
// DATA.

var (
	errBareLF   = errors.New("smtpfront: bare LF in message data")
	errBareCR   = errors.New("smtpfront: bare CR in message data")
	errLongLine = errors.New("smtpfront: line too long")
)

// checkLines verifies message bytes as handed to the backend: CR and LF only
// as CRLF, and no line longer than maxLine octets including its CRLF
// (0: no limit).
func checkLines(b []byte, maxLine int) error {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		line := b
		if i >= 0 {
			line = b[:i+1]
		}
		if maxLine > 0 && len(line) > maxLine {
			return errLongLine
		}
		body := line
		if i >= 0 {
			if i == 0 || b[i-1] != '\r' {
				return errBareLF
			}
			body = line[:len(line)-2]
		}
		if bytes.IndexByte(body, '\r') >= 0 {
			return errBareCR
		}
		b = b[len(line):]
	}
	return nil
}
