package smtpfront

import (
	"bytes"
	"errors"
	"time"
)

// Why a tap.
//
// go-smtp's DATA reader (data.go) ends the message only at <CRLF>.<CRLF>, so
// a bare "\n.\n", "\r.\r", "\r\n.\n" or "\n.\r\n" never splits a transaction
// inside the guard. But it passes bare LF and bare CR through to the message
// (where a less careful server upstream might split on them), and it loses
// information on the way: after a dot at the start of a line it drops a
// following CR ("\r\n.\rX" comes out as "\r\nX", and go-smtp's state machine
// then no longer knows where lines begin). Inspecting the reader's output
// therefore cannot see every bare CR.
//
// The tap sees the bytes before that reader does. Each connection gets its
// own go-smtp server whose Debug writer is the tap; go-smtp copies every
// plaintext byte it reads (after TLS, before its buffered reader) and every
// reply it writes into it. While a DATA command is being read, the tap runs
// a strict RFC 5321 scanner over the raw bytes and the session compares its
// result with what go-smtp produced. A bare CR or LF, data sent before the
// 354 reply, or any disagreement about where the data ends refuses the
// message and closes the connection.
//
// Telling reads from replies: go-smtp sets a read deadline before each
// command line it reads and a write deadline before each reply it writes
// (both timeouts are always set here); the connection wrapper remembers
// which came last and counts its writes. A tap event is a reply only if the
// last deadline was a write deadline and the connection has been written to
// since the previous event, which also classifies go-smtp's discarding of a
// refused BDAT chunk (read after a reply) and TLS writes during a read
// correctly.

var (
	errBareLF     = errors.New("smtpfront: bare LF in message data")
	errBareCR     = errors.New("smtpfront: bare CR in message data")
	errEarlyData  = errors.New("smtpfront: message data sent before the 354 reply")
	errDataDesync = errors.New("smtpfront: end of data not where expected")
	errLongLine   = errors.New("smtpfront: line too long")
)

// Scanner states; see feed.
const (
	scanLineStart = iota // at the start of a line (and of the data)
	scanDot              // the line so far is "."
	scanDotCR            // the line so far is ".\r": the end if "\n" follows
	scanText             // inside a line
	scanCR               // after a "\r" that must be followed by "\n"
)

// dataScan is a strict RFC 5321 DATA scanner over raw (dot-stuffed) bytes.
// It counts the bytes the message has after dot-unstuffing, exactly as
// go-smtp's reader produces them for well-formed input, and stops at the
// first <CRLF>.<CRLF> or at the first bare CR or LF.
type dataScan struct {
	state int
	out   int64 // unstuffed message bytes so far
	ended bool  // saw the end-of-data line
	err   error // first violation
}

func (d *dataScan) done() bool { return d.ended || d.err != nil }

// feed scans p and reports how many bytes of it belong to the data
// (everything after the end-of-data line is not looked at).
func (d *dataScan) feed(p []byte) int {
	i := 0
	for i < len(p) && !d.done() {
		c := p[i]
		i++
		switch d.state {
		case scanText:
			// Fast path: plain text up to the next CR or LF, found with
			// IndexByte (the LF searched for only before the CR).
			j := i - 1 + lineBreak(p[i-1:])
			d.out += int64(j - (i - 1))
			i = j
			if j == len(p) {
				continue
			}
			c = p[j]
			i++
			if c == '\n' {
				d.err = errBareLF
				continue
			}
			d.out++
			d.state = scanCR
		case scanLineStart:
			switch c {
			case '.':
				d.state = scanDot // a leading dot is removed
			case '\r':
				d.out++
				d.state = scanCR
			case '\n':
				d.err = errBareLF
			default:
				d.out++
				d.state = scanText
			}
		case scanDot:
			switch c {
			case '\r':
				d.state = scanDotCR
			case '\n':
				d.err = errBareLF
			default:
				d.out++
				d.state = scanText
			}
		case scanDotCR:
			if c == '\n' {
				d.ended = true
			} else {
				d.err = errBareCR
			}
		case scanCR:
			if c == '\n' {
				d.out++
				d.state = scanLineStart
			} else {
				d.err = errBareCR
			}
		}
	}
	return i
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

// rawTap is the go-smtp Debug writer of one connection. Write is only ever
// called from the connection's goroutine (go-smtp reads and replies there,
// and so does the session while it reads DATA), so it needs no lock.
type rawTap struct {
	c          *conn
	seenWrites uint64 // c.writes at the previous event
	lastRead   byte   // last plaintext byte read from the client
	armed      bool   // a DATA command is being read
	scan       dataScan
}

// Write implements io.Writer for go-smtp's Debug hook. It never fails, so
// that it can never disturb the session.
func (t *rawTap) Write(p []byte) (int, error) {
	w := t.c.writes.Load()
	reply := !t.c.readMode.Load() && w != t.seenWrites
	t.seenWrites = w
	if reply || len(p) == 0 {
		return len(p), nil
	}
	t.lastRead = p[len(p)-1]
	if t.armed && !t.scan.done() {
		t.scan.feed(p)
		// go-smtp's reader returns only when its buffer is full or the
		// data ends, so the session can set a deadline only per buffer.
		// The tap sees every arrival, so it makes DataTimeout a limit on
		// silence and, after a violation, makes the reader's next read
		// fail at once, so that the refusal waits for neither.
		deadline := time.Now().Add(t.c.s.cfg.DataTimeout)
		if t.scan.err != nil {
			deadline = aLongTimeAgo
		}
		t.c.Conn.SetReadDeadline(deadline)
	}
	return len(p), nil
}

// arm starts scanning at the beginning of DATA, right after the 354 reply.
// The command line "DATA" ended with the last byte read; anything read after
// it was sent before the client could have seen 354.
func (t *rawTap) arm() {
	t.armed = true
	t.scan = dataScan{}
	if t.lastRead != '\n' {
		t.scan.err = errEarlyData
	}
}

// check compares the scanner with go-smtp's reader after n unstuffed bytes.
// The scanner has seen at least every byte the reader consumed (the reader
// reads through the tap), so it must have counted at least n bytes, unless
// the reader used bytes that were buffered before DATA began.
func (t *rawTap) check(n int64) error {
	if t.scan.err != nil {
		return t.scan.err
	}
	if n > t.scan.out {
		return errEarlyData
	}
	return nil
}

// finish is check at the end of the data: the scanner must have found the
// end-of-data line exactly where go-smtp's reader did.
func (t *rawTap) finish(n int64) error {
	if err := t.check(n); err != nil {
		return err
	}
	if !t.scan.ended || t.scan.out != n {
		return errDataDesync
	}
	return nil
}

// disarm ends scanning and reports whether the data ended cleanly. It is
// called after go-smtp has consumed the rest of a refused DATA (too large),
// which it does after the session has replied: if that did not end at a
// clean end-of-data line, the connection must not be used for commands.
func (t *rawTap) disarm() (clean bool) {
	if !t.armed {
		return true
	}
	t.armed = false
	return t.scan.ended && t.scan.err == nil
}

// checkLines verifies message bytes as handed to the backend: CR and LF only
// as CRLF, and no line longer than maxLine octets including its CRLF
// (0: no limit). BDAT data is checked with it alone (there is no dot
// stuffing and no terminator to confuse), DATA as a second line of defence.
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
