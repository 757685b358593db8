package smtp

import (
	"bufio"
	"bytes"
	"io"
)

// A bulk dot-writer for the client.
//
// net/textproto's DotWriter passes every byte of a message through a state
// machine and bufio.Writer.WriteByte: for a 100 KB message that costs more
// CPU than the rest of a transaction. Almost all of a message goes out
// unchanged, so dotWriter finds line ends with bytes.IndexByte and writes
// the unchanged runs of its input as they are, inserting only the stuffed
// dots (and, like textproto, a CR before a bare LF). Its output is byte for
// byte what textproto's DotWriter writes for the same input, however the
// input is split into writes (FuzzDotWriter holds it to that).

// dotWriter states, as in textproto's dotWriter.
const (
	dotBegin     = iota // nothing written yet
	dotLineStart        // at the start of a line
	dotText             // inside a line
	dotCR               // after a CR inside a line
)

// dotReadSize is the buffer DataCommand.ReadFrom reads with.
const dotReadSize = 32 << 10

// dotWriter writes message data dot-stuffed (RFC 5321 section 4.5.2) to w;
// Close writes the end-of-data line and flushes w.
type dotWriter struct {
	w      *bufio.Writer
	state  int
	closed bool
}

// Write implements io.Writer.
func (d *dotWriter) Write(b []byte) (int, error) {
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
		case dotBegin, dotLineStart:
			d.state = dotText
			if b[0] == '.' {
				if err := flush("."); err != nil {
					return 0, err
				}
				run = b[:0]
			}
		case dotCR:
			// Whatever follows a CR goes out as it is, even another CR
			// (it does not start a new CR state, as in textproto); only
			// an LF ends the line.
			d.state = dotText
			if b[0] == '\n' {
				d.state = dotLineStart
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
			d.state = dotLineStart
		case cr >= 0: // a CR, and something other than LF after it
			run = run[:len(run)+cr+1]
			b = b[cr+1:]
			d.state = dotCR
		case lf >= 0: // a bare LF goes out as CRLF
			run = run[:len(run)+lf]
			if err := flush("\r\n"); err != nil {
				return 0, err
			}
			b = b[lf+1:]
			run = b[:0]
			d.state = dotLineStart
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

// Close ends the data as textproto's DotWriter does: with a CRLF if the
// last line has none, then ".\r\n".
func (d *dotWriter) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var end string
	switch d.state {
	case dotLineStart:
		end = ".\r\n"
	case dotCR:
		end = "\n.\r\n"
	default:
		end = "\r\n.\r\n"
	}
	if _, err := d.w.WriteString(end); err != nil {
		return err
	}
	return d.w.Flush()
}

// ReadFrom implements io.ReaderFrom: it sends the message read from r
// (until io.EOF), dot-stuffed in bulk. It does not end the data; Close
// does. Data sent with ReadFrom and Write may be mixed.
func (cmd *DataCommand) ReadFrom(r io.Reader) (int64, error) {
	if wt, ok := r.(io.WriterTo); ok {
		// A bytes.Reader, say: written from its own memory.
		return wt.WriteTo(cmd.wc)
	}
	buf := make([]byte, dotReadSize)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := cmd.wc.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
