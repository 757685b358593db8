package smtp

import (
	"bytes"
	"errors"
	"io"
)

// Strict DATA mode (Server.StrictData).
//
// The DATA reader ends a message only at <CRLF>.<CRLF>, but it passes a bare
// CR or a bare LF through to the message, where a less careful server
// further on may take it for a line end (SMTP smuggling), and after a dot at
// the start of a line it drops a following CR, so a session that inspects
// what it reads cannot see every bare CR. A client that sends message data
// before the 354 reply (improper pipelining, RFC 5321 section 4.5.3.2 and
// RFC 2920 section 3.1) cannot be told apart from one smuggling a message
// either. In strict mode the reader refuses all three: it returns one of the
// errors below, and keeps returning it; the server replies with what
// Session.Data returned and then closes the connection, since what follows
// can no longer be told apart from commands. It also closes the connection
// after any other DATA that did not end at a clean end-of-data line (a read
// error or time-out while it consumed the rest of a refused message).
//
// In strict mode, Read returns what it has as soon as no more input is
// buffered, instead of waiting to fill the caller's buffer, so that a
// session can keep a read deadline per read as a limit on silence.

var (
	// ErrBareLF is returned by the strict DATA reader for an LF not
	// preceded by CR.
	ErrBareLF = errors.New("smtp: bare LF in message data")
	// ErrBareCR is returned by the strict DATA reader for a CR not
	// followed by LF.
	ErrBareCR = errors.New("smtp: bare CR in message data")
	// ErrDataBeforeReply is returned by the strict DATA reader when the
	// client sent message data before the 354 reply to DATA.
	ErrDataBeforeReply = errors.New("smtp: message data sent before the 354 reply")
)

// A BDATReader is the reader Session.Data (and LMTPSession.LMTPData) is
// given for a message sent in BDAT chunks (RFC 3030) rather than with DATA.
// A session that treats the two differently tells them apart with a type
// assertion. Chunk data is passed on as it is, in any mode.
type BDATReader struct {
	pr *io.PipeReader
}

// Read implements io.Reader.
func (r *BDATReader) Read(p []byte) (int, error) { return r.pr.Read(p) }

// Strict reader states.
const (
	strictLineStart = iota // at the start of a line (and of the data)
	strictDot              // the line so far is "."
	strictDotCR            // the line so far is ".\r": the end if LF follows
	strictText             // inside a line
	strictCR               // after a CR, which must be followed by LF
	strictEOF              // read the end-of-data line
)

// readStrict is Read in strict mode: it yields exactly what the default
// reader yields for data without a bare CR or LF (FuzzStrictDataReader
// holds it to that), and an error at the first one.
func (r *dataReader) readStrict(b []byte) (n int, err error) {
	if r.err != nil {
		return 0, r.err
	}
	for n < len(b) && r.state != strictEOF {
		if n > 0 && r.r.Buffered() == 0 {
			break // return what there is rather than wait for more
		}
		if r.state == strictText {
			// Bulk copy up to the next CR or LF.
			if r.r.Buffered() == 0 {
				if _, err = r.r.Peek(1); err != nil {
					break
				}
			}
			buf, _ := r.r.Peek(r.r.Buffered())
			if len(buf) > len(b)-n {
				buf = buf[:len(b)-n]
			}
			i := lineBreak(buf)
			copy(b[n:], buf[:i])
			n += i
			if i == len(buf) {
				r.r.Discard(i)
				continue
			}
			r.r.Discard(i + 1)
			if buf[i] == '\n' {
				err = ErrBareLF
				break
			}
			b[n] = '\r'
			n++
			r.state = strictCR
			continue
		}
		var c byte
		c, err = r.r.ReadByte()
		if err != nil {
			break
		}
		switch r.state {
		case strictLineStart:
			switch c {
			case '.':
				r.state = strictDot // removed, as in the default reader
				continue
			case '\r':
				r.state = strictCR
			case '\n':
				err = ErrBareLF
			default:
				r.state = strictText
			}
		case strictDot:
			switch c {
			case '\r':
				r.state = strictDotCR
				continue
			case '\n':
				err = ErrBareLF
			default:
				r.state = strictText
			}
		case strictDotCR:
			if c == '\n' {
				r.state = strictEOF
				continue
			}
			err = ErrBareCR
		case strictCR:
			if c == '\n' {
				r.state = strictLineStart
			} else {
				err = ErrBareCR
			}
		}
		if err != nil {
			break
		}
		b[n] = c
		n++
	}
	switch {
	case err == io.EOF:
		err = io.ErrUnexpectedEOF
		r.err = err
	case err != nil:
		r.err = err
	case r.state == strictEOF:
		err = io.EOF
	}
	return n, err
}

// clean reports whether the reader stopped at the end-of-data line, with
// nothing wrong before it.
func (r *dataReader) clean() bool {
	return r.strict && r.err == nil && r.state == strictEOF
}

// lineBreak returns the position of the first CR or LF in p, or len(p).
func lineBreak(p []byte) int {
	k := bytes.IndexByte(p, '\r')
	if k < 0 {
		k = len(p)
	}
	if l := bytes.IndexByte(p[:k], '\n'); l >= 0 {
		return l
	}
	return k
}
