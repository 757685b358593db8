package outbound

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/egressguard/egressguard/internal/store"
)

// bigMessage is a stored message of about size bytes, larger than
// streamAbove, so that delivery streams it from the store.
func bigMessage(e *env, size int, rcpts ...string) (*store.Message, []byte) {
	m, small := e.message("a@example.com", rcpts...)
	var b bytes.Buffer
	b.Write(small)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "line %07d .%s\r\n", i, strings.Repeat("x", 60))
		if i%1000 == 0 {
			b.WriteString(".a line that starts with a dot\r\n")
		}
	}
	body := b.Bytes()
	m.Size = int64(len(body))
	return m, body
}

// A message larger than streamAbove is streamed from the store to the
// upstream server and arrives byte for byte, dot-stuffing undone.
func TestLargeBodyStreamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(e.config())
	m, body := bigMessage(e, 3<<20, "b@example.org")
	if m.Size <= streamAbove {
		t.Fatalf("message of %d bytes is not streamed", m.Size)
	}
	e.insert(m, body)
	e.waitState(m.ID, store.Delivered)
	got := e.up.Messages()
	if len(got) != 1 || !bytes.Equal(got[0].Data, body) {
		t.Fatalf("upstream got %d messages; first differs from the stored body", len(got))
	}
	if got[0].Opts.Size != int64(len(body)) {
		t.Errorf("MAIL SIZE=%d, want %d", got[0].Opts.Size, len(body))
	}
}

// A streamed message that bounces comes back with its headers only, even
// with RET=FULL (it is larger than maxReturnFull), never cut off and
// labelled as the whole message.
func TestLargeBodyBounceReturnsHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.up.SetRcptHandler(func(rcpt string) *smtp.SMTPError {
		if rcpt != "b@example.org" {
			return nil // the DSN's recipient
		}
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	})
	e.start(e.config())
	m, body := bigMessage(e, 2<<20, "b@example.org")
	m.Params.Ret = "FULL"
	e.insert(m, body)
	e.waitState(m.ID, store.Bounced)
	// The DSN is queued with the bounce and delivered upstream: what it
	// returns of the message is read there.
	var b []byte
	for _, x := range e.up.WaitFor(1, 10*time.Second) {
		if x.From == "" {
			b = x.Data
		}
	}
	if b == nil {
		t.Fatal("no DSN delivered")
	}
	if !bytes.Contains(b, []byte("text/rfc822-headers")) || bytes.Contains(b, []byte("message/rfc822")) {
		t.Errorf("DSN does not return headers only:\n%.2000s", b)
	}
	if !bytes.Contains(b, []byte("Subject: test "+m.ID)) || bytes.Contains(b, []byte("line 0000001")) {
		t.Errorf("DSN's returned part is not the header section")
	}
}
