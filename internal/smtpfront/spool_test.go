package smtpfront

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/membudget"

	"github.com/egressguard/egressguard/internal/verdict"
)

// bigBody is a message longer than spoolAbove.
func bigBody(n int) string {
	line := strings.Repeat("s", 98) + "\r\n"
	return "Subject: big\r\n\r\n" + strings.Repeat(line, n/len(line))
}

func spoolConfig(t *testing.T) Config {
	cfg := baseConfig()
	cfg.MaxMessageBytes = 4 << 20
	cfg.SpoolDir = t.TempDir()
	return cfg
}

// emptyDir fails the test if dir has files in it, or if this process
// still has a file of dir open (spool files are unlinked at once, so only
// the open descriptor would show a leak).
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) > 0 {
		t.Errorf("spool directory not empty: %v", ents)
	}
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd")
	}
	if spoolOpen(dir) {
		t.Errorf("a spool file in %s is still open", dir)
	}
}

// A message longer than spoolAbove goes through the spool and arrives
// byte for byte, by DATA and by BDAT, with and without a SIZE hint; a
// message too large while spooled is refused and the session goes on; the
// spool leaves nothing behind.
func TestSpooledMessages(t *testing.T) {
	t.Parallel()
	cfg := spoolConfig(t)
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	body := bigBody(1 << 20)
	stuffed := strings.ReplaceAll(body, "\r\n.", "\r\n..")

	c := dialRaw(t, ts.addr)
	c.greet()
	c.login("alice", "secret")
	for _, size := range []string{"", " SIZE=" + strconv.Itoa(len(body))} {
		c.cmd("MAIL FROM:<alice@example.com>"+size, 250)
		c.cmd("RCPT TO:<bob@example.net>", 250)
		c.cmd("DATA", 354)
		c.send(stuffed + ".\r\n")
		c.expect(250)
	}
	c.cmd("MAIL FROM:<alice@example.com>", 250)
	c.cmd("RCPT TO:<bob@example.net>", 250)
	half := len(body) / 2
	c.send("BDAT " + strconv.Itoa(half) + "\r\n" + body[:half])
	c.expect(250)
	c.send("BDAT " + strconv.Itoa(len(body)-half) + " LAST\r\n" + body[half:])
	c.expect(250)

	// Too large: 5 MB in a spooled DATA.
	c.cmd("MAIL FROM:<alice@example.com>", 250)
	c.cmd("RCPT TO:<bob@example.net>", 250)
	c.cmd("DATA", 354)
	c.send(bigBody(5<<20) + ".\r\n")
	if text := c.expect(552); !strings.HasPrefix(text, "5.3.4 ") {
		t.Errorf("too large: %q", text)
	}
	c.cmd("NOOP", 250)
	emptyDir(t, cfg.SpoolDir)

	// The client goes away in the middle of a spooled message.
	c.cmd("MAIL FROM:<alice@example.com>", 250)
	c.cmd("RCPT TO:<bob@example.net>", 250)
	c.cmd("DATA", 354)
	c.send(body[:len(body)/2])
	c.conn.Close()
	waitFor(t, "the spool file closed", func() bool { return !spoolOpen(cfg.SpoolDir) })

	subs := rec.all()
	if len(subs) != 3 {
		t.Fatalf("%d submissions", len(subs))
	}
	for i, s := range subs {
		if string(s.data) != body {
			t.Errorf("submission %d: %d bytes, want %d", i, len(s.data), len(body))
		}
	}
}

// spoolOpen reports whether this process has a file of dir open.
func spoolOpen(dir string) bool {
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		target, err := os.Readlink("/proc/self/fd/" + fd.Name())
		if err == nil && strings.HasPrefix(target, dir+"/") {
			return true
		}
	}
	return false
}

// A bare LF in a spooled BDAT message is refused like any other.
func TestSpooledBDATBareLF(t *testing.T) {
	t.Parallel()
	cfg := spoolConfig(t)
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	c := dialRaw(t, ts.addr)
	c.greet()
	c.login("alice", "secret")
	c.cmd("MAIL FROM:<alice@example.com>", 250)
	c.cmd("RCPT TO:<bob@example.net>", 250)
	bad := bigBody(1<<20) + "bare\nLF\r\n"
	c.send("BDAT " + strconv.Itoa(len(bad)) + " LAST\r\n" + bad)
	if text := c.expect(554); !strings.HasPrefix(text, "5.6.0 Bare LF") {
		t.Errorf("reply %q", text)
	}
	c.cmd("QUIT", 221)
	if rec.count() != 0 {
		t.Error("submitted")
	}
}

// A spool that cannot be written is a temporary failure, and the session
// goes on.
func TestSpoolFailure(t *testing.T) {
	t.Parallel()
	cfg := spoolConfig(t)
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	if err := os.RemoveAll(cfg.SpoolDir); err != nil {
		t.Fatal(err)
	}
	c := startData(t, ts.addr)
	c.send(bigBody(1<<20) + ".\r\n")
	if text := c.expect(451); !strings.HasPrefix(text, "4.3.0 ") {
		t.Errorf("reply %q", text)
	}
	c.cmd("NOOP", 250)
	// Small messages do not need the spool.
	c.cmd("MAIL FROM:<alice@example.com>", 250)
	c.cmd("RCPT TO:<bob@example.net>", 250)
	c.cmd("DATA", 354)
	c.send("Subject: small\r\n\r\nhi\r\n.\r\n")
	c.expect(250)
	if rec.count() != 1 {
		t.Errorf("%d submissions", rec.count())
	}
}

// New removes spool files a crash left behind.
func TestSpoolCleanedOnStart(t *testing.T) {
	t.Parallel()
	cfg := spoolConfig(t)
	left := cfg.SpoolDir + "/smtp-123.spool"
	other := cfg.SpoolDir + "/keep.txt"
	for _, f := range []string{left, other} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := newRecorder()
	startServer(t, cfg, b)
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("left-over spool file: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("other file removed: %v", err)
	}
}

// The budget admits spooled messages to the backend only as far as it
// goes: with room for one, a second waits until the first is done.
func TestSpoolBudget(t *testing.T) {
	t.Parallel()
	cfg := spoolConfig(t)
	cfg.Budget = membudget.New(1500 << 10)
	entered := make(chan int, 2)
	proceed := make(chan struct{})
	b := &fakeBackend{
		AuthFunc: testAuth,
		SubmitFunc: func(_ context.Context, env *envelope.Envelope, data []byte) (Result, error) {
			entered <- len(data)
			<-proceed
			return Result{Action: verdict.Pass}, nil
		},
	}
	ts := startServer(t, cfg, b)
	body := bigBody(1 << 20)
	done := make(chan string, 2)
	for range 2 {
		go func() {
			c := startData(t, ts.addr)
			c.send(body + ".\r\n")
			code, _, err := c.reply()
			if err != nil {
				done <- err.Error()
				return
			}
			done <- strconv.Itoa(code)
		}()
	}
	<-entered
	select {
	case <-entered:
		t.Fatal("two 1 MiB messages in memory at once with a 1.5 MiB budget")
	case <-time.After(300 * time.Millisecond):
	}
	proceed <- struct{}{}
	<-entered
	proceed <- struct{}{}
	for range 2 {
		if got := <-done; got != "250" {
			t.Errorf("reply %s", got)
		}
	}
	emptyDir(t, cfg.SpoolDir)
}

// What the spool file holds is encrypted: the message's text is nowhere
// in it, and load gives back the message byte for byte.
func TestSpoolEncrypted(t *testing.T) {
	t.Parallel()
	msg := []byte(bigBody(3 * spoolAbove))
	d := newDataBuf(0, 4<<20, t.TempDir())
	r := strings.NewReader(string(msg))
	for {
		if err := d.read(r); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
	}
	if d.spool == nil {
		t.Fatal("message was not spooled")
	}
	if err := d.flushSpool(); err != nil {
		t.Fatal(err)
	}
	onDisk := make([]byte, d.spooled)
	if _, err := d.spool.ReadAt(onDisk, 0); err != nil {
		t.Fatal(err)
	}
	if len(onDisk) != len(msg) || bytes.Contains(onDisk, []byte("Subject: big")) || bytes.Contains(onDisk, []byte("ssssssss")) {
		t.Fatalf("spool file of %d bytes holds the message's text", len(onDisk))
	}
	if err := d.load(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.b, msg) {
		t.Fatal("loaded message differs from what was received")
	}
	if d.spool != nil || d.key != nil {
		t.Error("spool file or key kept after load")
	}
}
