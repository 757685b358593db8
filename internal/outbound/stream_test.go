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

// At most maxStreams attempts stream a large body at once; the others
// wait for a turn and are delivered after.
func TestLargeBodiesStreamFewAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.up.SetDataDelay(300 * time.Millisecond)
	cfg := e.config()
	cfg.Concurrency = 2 * maxStreams
	e.start(cfg)
	var ids []string
	for range 2 * maxStreams {
		m, body := bigMessage(e, streamAbove+1000, "b@example.org")
		e.insert(m, body)
		ids = append(ids, m.ID)
	}
	stop, sampled := make(chan struct{}), make(chan int)
	go func() {
		most := 0
		for {
			select {
			case <-stop:
				sampled <- most
				return
			case <-time.After(5 * time.Millisecond):
				most = max(most, e.up.OpenSessions())
			}
		}
	}()
	for _, id := range ids {
		e.waitState(id, store.Delivered)
	}
	close(stop)
	most := <-sampled
	if most > maxStreams {
		t.Errorf("%d upstream sessions at once, want at most %d", most, maxStreams)
	}
	if most < 2 {
		t.Errorf("at most %d upstream session at once: large bodies were not streamed side by side", most)
	}
}
