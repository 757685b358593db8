package smtp_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func TestServerStrictData(t *testing.T) {
	tests := []struct {
		name   string
		before string // sent with DATA, before the 354 reply
		data   string
		err    error
		code   string
	}{
		{"clean", "", "Subject: x\r\n\r\n.a\r\n.\r\n", nil, "250 "},
		{"bare LF", "", "Subject: x\r\n\r\nhello\n.\n", smtp.ErrBareLF, "554 "},
		{"bare CR after dot", "", "hello\r\n.\rX\r\n.\r\n", smtp.ErrBareCR, "554 "},
		{"CR CR LF", "", "hello\r\r\n.\r\n", smtp.ErrBareCR, "554 "},
		{"before 354", "Subject: x\r\n\r\nhi\r\n.\r\n", "", smtp.ErrDataBeforeReply, "554 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be, s, c, scanner := testServerAuthenticated(t, func(s *smtp.Server) { s.StrictData = true })
			defer s.Close()
			defer c.Close()
			be.dataErrors = make(chan error, 10)
			io.WriteString(c, "MAIL FROM:<root@nsa.gov>\r\nRCPT TO:<root@gchq.gov.uk>\r\n")
			scanner.Scan()
			scanner.Scan()
			io.WriteString(c, "DATA\r\n"+tt.before)
			scanner.Scan()
			if !strings.HasPrefix(scanner.Text(), "354 ") {
				t.Fatalf("DATA: %q", scanner.Text())
			}
			io.WriteString(c, tt.data+"NOOP\r\n")
			if err := <-be.dataErrors; !errors.Is(err, tt.err) {
				t.Errorf("Data got error %v, want %v", err, tt.err)
			}
			scanner.Scan()
			if !strings.HasPrefix(scanner.Text(), tt.code) {
				t.Errorf("reply %q, want %q", scanner.Text(), tt.code)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			more := scanner.Scan()
			if tt.err == nil && (!more || !strings.HasPrefix(scanner.Text(), "250 ")) {
				t.Errorf("after a clean message: %q, %v", scanner.Text(), scanner.Err())
			}
			if tt.err != nil && more {
				t.Errorf("connection still open after a refusal: %q", scanner.Text())
			}
		})
	}
}

func TestServerBDATReader(t *testing.T) {
	be, s, c, scanner := testServerAuthenticated(t)
	defer s.Close()
	defer c.Close()
	var kind = make(chan bool, 1)
	be.dataReaderKind = kind
	io.WriteString(c, "MAIL FROM:<root@nsa.gov>\r\nRCPT TO:<root@gchq.gov.uk>\r\n")
	scanner.Scan()
	scanner.Scan()
	io.WriteString(c, "BDAT 4 LAST\r\nhi\r\n")
	scanner.Scan()
	if !strings.HasPrefix(scanner.Text(), "250 ") {
		t.Fatalf("BDAT: %q", scanner.Text())
	}
	if !<-kind {
		t.Error("BDAT data not given as a *smtp.BDATReader")
	}
	io.WriteString(c, "MAIL FROM:<root@nsa.gov>\r\nRCPT TO:<root@gchq.gov.uk>\r\nDATA\r\n")
	scanner.Scan()
	scanner.Scan()
	scanner.Scan()
	io.WriteString(c, "hi\r\n.\r\n")
	scanner.Scan()
	if <-kind {
		t.Error("DATA data given as a *smtp.BDATReader")
	}
}

// In strict mode a BDAT chunk that stops arriving (the read times out in
// the middle of it) closes the connection with 421: what comes later is
// the rest of the chunk and must never be read as commands. Also when the
// chunk is being discarded (no recipients yet, or over the size limit).
func TestServerStrictBDATTimeout(t *testing.T) {
	for _, tt := range []struct{ name, setup string }{
		{"data", "MAIL FROM:<root@nsa.gov>\r\nRCPT TO:<root@gchq.gov.uk>\r\n"},
		{"discarded", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, s, c, scanner := testServerAuthenticated(t, func(s *smtp.Server) {
				s.StrictData = true
				s.ReadTimeout = 300 * time.Millisecond
			})
			defer s.Close()
			defer c.Close()
			io.WriteString(c, tt.setup)
			for i := 0; i < strings.Count(tt.setup, "\r\n"); i++ {
				scanner.Scan()
			}
			io.WriteString(c, "BDAT 100 LAST\r\nSubject: x\r\n\r\n")
			time.Sleep(600 * time.Millisecond) // past ReadTimeout: the chunk read times out
			io.WriteString(c, "NOOP\r\nMAIL FROM:<x@example.org>\r\n")
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			var replies []string
			for scanner.Scan() {
				replies = append(replies, scanner.Text())
			}
			// The refused chunk's own reply (502) may come first; then 421
			// and the end of the connection, never a reply to NOOP or MAIL.
			if len(replies) == 0 || !strings.HasPrefix(replies[len(replies)-1], "421 ") {
				t.Fatalf("replies %q, want 421 last", replies)
			}
			for _, r := range replies {
				if strings.HasPrefix(r, "250 ") {
					t.Errorf("smuggled command answered: %q", replies)
				}
			}
		})
	}
}
