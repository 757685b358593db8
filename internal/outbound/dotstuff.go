package outbound

import (
	"bufio"
	"bytes"
	"io"
)

// Why a dot-stuffer of our own.
//
// go-smtp's DataCommand writes through net/textproto's DotWriter, which
// passes every byte through a state machine and bufio.Writer.WriteByte:
// for a 100 KB message that is more CPU than the rest of the attempt. The
// stored message is CRLF-only (the front end refuses anything else), so
// almost all of it goes out unchanged: dotStuffer finds line ends with
// bytes.IndexByte and writes the unchanged runs of the input as they are,
// inserting only the dots (and, like textproto, a CR before a bare LF).
// Its output is byte for byte what textproto's DotWriter writes for the
// same input, whatever the input (FuzzDotStuffer holds it to that), so the
// upstream sees exactly what it saw before.

// dotStuffer states, as in textproto's dotWriter.
const (
	stuffLineStart = iota // at the start of a line (and of the data)
	stuffText             // inside a line
	stuffCR               // after a CR inside a line
)

// dotStuffer writes message data dot-stuffed (RFC 5321 §4.5.2) to w,
// without the end-of-data line.
type dotStuffer struct {
	w     *bufio.Writer
	state int
}

// Write implements io.Writer.
func (d *dotStuffer) Write(b []byte) (int, error) {
	total := len(b)
	// run is the unchanged input not yet written: it is written whole
	// where something must be inserted, and at the end.
	run := b[:0]
	flush := func(extra string) error {
		if _, err := d.w.Write(run); err != nil {
			return err
		}
		_, err := d.w.WriteString(extra)
		return err
	}
	for len(b) > 0 {
		switch d.state {
		case stuffLineStart:
			d.state = stuffText
			if b[0] == '.' {
				if err := flush("."); err != nil {
					return 0, err
				}
				run = b[:0]
			}
		case stuffCR:
			// Whatever follows a CR goes out as it is, even another CR
			// (it does not start a new CR state, as in textproto); only
			// an LF ends the line.
			d.state = stuffText
			if b[0] == '\n' {
				d.state = stuffLineStart
			}
			run = run[:len(run)+1]
			b = b[1:]
			continue
		}
		// Inside a line: up to the next LF, or to a CR before it.
		lf := bytes.IndexByte(b, '\n')
		line := b
		if lf >= 0 {
			line = b[:lf]
		}
		cr := bytes.IndexByte(line, '\r')
		switch {
		case cr >= 0 && cr == lf-1: // CRLF: the usual case
			run = run[:len(run)+lf+1]
			b = b[lf+1:]
			d.state = stuffLineStart
		case cr >= 0: // a CR, and something other than LF after it
			run = run[:len(run)+cr+1]
			b = b[cr+1:]
			d.state = stuffCR
		case lf >= 0: // a bare LF goes out as CRLF
			run = run[:len(run)+lf]
			if err := flush("\r\n"); err != nil {
				return 0, err
			}
			b = b[lf+1:]
			run = b[:0]
			d.state = stuffLineStart
		default: // the line goes on in the next Write
			run = run[:len(run)+len(b)]
			b = b[len(b):]
		}
	}
	if _, err := d.w.Write(run); err != nil {
		return 0, err
	}
	return total, nil
}

// writeData writes body as the data of an SMTP DATA command. Everything
// up to its last line is stuffed by a dotStuffer straight onto conn, which
// must be the connection under dc with nothing buffered for it; the last
// line (an empty body has none) goes through dc, so that dc's Close ends
// the data exactly as if dc had written the whole body: ".\r\n" after a
// final CRLF, "\r\n.\r\n" otherwise. dc is go-smtp's DataCommand, whose
// writer stuffs a line's leading dot as dotStuffer does, and knows only
// what has been written through it.
func writeData(conn *bufio.Writer, dc io.Writer, body []byte) error {
	last := bytes.LastIndexByte(body[:max(len(body)-1, 0)], '\n') + 1
	if last > 0 {
		d := dotStuffer{w: conn}
		if _, err := d.Write(body[:last]); err != nil {
			return err
		}
		if err := conn.Flush(); err != nil {
			return err
		}
	}
	_, err := dc.Write(body[last:])
	return err
}
