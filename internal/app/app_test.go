package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/config"
	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/testenv"
)

// testConfig returns a config for a guard on loopback with a temporary data
// directory, delivering to upstream ("" = outbox). extra is appended TOML.
func testConfig(t *testing.T, upstream, extra string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	text := fmt.Sprintf(`
hostname = "guard.test"
data_dir = %q
[smtp]
listen = "127.0.0.1:0"
trusted_networks = ["127.0.0.2"]
auth_fail_delay = "10ms"
[upstream]
address = %q
tls = "none"
backoff_min = "100ms"
backoff_max = "500ms"
connect_timeout = "2s"
[http]
listen = "127.0.0.1:0"
[console]
listen = "127.0.0.1:0"
[policy]
internal_domains = ["example.jp"]
allow = ["partner.example.com", "someone@friend.example.org"]
[[seed_user]]
name = "alice"
password = "alice-password"
roles = ["sender"]
addresses = ["alice@example.jp", "team@example.jp"]
[[seed_user]]
name = "olga"
password = "olga-password"
roles = ["officer"]
addresses = ["olga@example.jp"]
`, dir, upstream) + extra
	cfg, err := ParseConfig([]byte(text), "test.toml", dir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// untraced checks that data starts with the guard's Received: field and
// returns the bytes after it.
func untraced(t *testing.T, data []byte) []byte {
	t.Helper()
	m := regexp.MustCompile(`^Received: from [^\r\n]*\r\n\tby guard\.test with [^\r\n]*\r\n\t[^\r\n]*\r\n`).FindIndex(data)
	if m == nil {
		t.Errorf("no Received: field from the guard in front: %.200q", data)
		return data
	}
	return data[m[1]:]
}

func startApp(t *testing.T, cfg *config.Config, opts ...Option) *App {
	t.Helper()
	opts = append([]Option{WithBcryptCost(4)}, opts...)
	a, err := Open(context.Background(), cfg, zaptest.NewLogger(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	return a
}

// send submits one message as user (or unauthenticated if user is "") and
// returns the final reply text or the error.
func send(t *testing.T, addr, user, pass, from string, to []string, data []byte) (string, error) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return "", err
	}
	if user != "" {
		if err := c.Auth(sasl.NewPlainClient("", user, pass)); err != nil {
			return "", err
		}
	}
	if err := c.Mail(from, nil); err != nil {
		return "", err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return "", err
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := w.Write(data); err != nil {
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	c.Quit()
	return resp.StatusText, nil
}

func msg(subject, body string) []byte {
	return []byte("From: Alice <alice@example.jp>\r\nTo: someone\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + subject + "@example.jp>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
}

func idFrom(t *testing.T, reply string) string {
	t.Helper()
	f := strings.Fields(reply)
	if len(f) == 0 {
		t.Fatalf("no ID in reply %q", reply)
	}
	return f[len(f)-1]
}

// waitSent waits until no message is queued or being sent: everything
// that was to leave has reached the upstream, and whatever has not by
// then never will without a further decision. Tests call it instead of
// sleeping before they check that something was not delivered.
func waitSent(t *testing.T, st store.Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ms, err := st.List(context.Background(), store.Filter{States: []store.State{store.Queued, store.Sending}})
		if err == nil && len(ms) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still queued or being sent after 10 s: %d messages (err %v)", len(ms), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitState(t *testing.T, st store.Store, id string, want store.State) *store.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := st.Message(context.Background(), id)
		if err == nil && m.State == want {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s: state %v (err %v), want %s", id, m, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRelayByteForByte(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), ""))
	// A DKIM-signed shape: folded header, 8-bit body, trailing spaces, a dot line.
	data := []byte("DKIM-Signature: v=1; a=rsa-sha256; d=example.jp; s=s1;\r\n\th=from:to:subject; bh=abc=; b=def=\r\n" +
		"From: alice@example.jp\r\nTo: bob@example.jp\r\nSubject: =?UTF-8?B?5pel5pys6Kqe?=\r\n\r\n" +
		"line with trailing spaces   \r\n.\r\n..leading dots\r\n\xe6\x97\xa5\xe6\x9c\xac\r\n")
	reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp",
		[]string{"bob@example.jp", "bcc-only@example.jp"}, data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reply, "queued as") {
		t.Fatalf("reply %q", reply)
	}
	id := idFrom(t, reply)
	got := up.WaitFor(1, 10*time.Second)
	if len(got) != 1 {
		t.Fatalf("upstream got %d messages", len(got))
	}
	// Exactly the guard's Received: field (two recipients: no "for"),
	// then the bytes as submitted: a DKIM signature over them still
	// verifies.
	trace := regexp.MustCompile(`^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby guard\.test with ESMTPA id ` + id +
		`;\r\n\t[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\r\n`)
	loc := trace.FindIndex(got[0].Data)
	if loc == nil {
		t.Fatalf("no trace field in front: %q", got[0].Data)
	}
	if !bytes.Equal(got[0].Data[loc[1]:], data) {
		t.Errorf("bytes after the Received: field differ:\n got %q\nwant %q", got[0].Data[loc[1]:], data)
	}
	if got[0].From != "alice@example.jp" || strings.Join(got[0].Addrs(), ",") != "bob@example.jp,bcc-only@example.jp" {
		t.Errorf("envelope %q %v", got[0].From, got[0].Addrs())
	}
	m := waitState(t, a.Store, id, store.Delivered)
	if m.Attempts != 1 {
		t.Errorf("attempts %d", m.Attempts)
	}
	if _, err := a.Store.Body(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("body of delivered message still stored: %v", err)
	}
}

func TestShareLinkHeldUnlessInternalOrAllowed(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), ""))
	body := "資料はこちら：https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQrStUv?usp=sharing よろしくお願いします。"
	cases := []struct {
		to   []string
		want store.State
	}{
		{[]string{"colleague@example.jp"}, store.Delivered},
		{[]string{"colleague@sub.example.jp", "x@partner.example.com"}, store.Delivered},
		{[]string{"someone@friend.example.org"}, store.Delivered},
		// Split delivery: the colleague gets it at once, the stranger waits.
		{[]string{"colleague@example.jp", "stranger@elsewhere.example"}, store.Held},
		{[]string{"other@friend.example.org"}, store.Held},
	}
	delivered := 1 // the split part of case 3
	for i, c := range cases {
		reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", c.to, msg(fmt.Sprintf("share%d", i), body))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		id := idFrom(t, reply)
		if c.want == store.Held && !strings.Contains(reply, "held") {
			t.Errorf("case %d: reply %q does not say held", i, reply)
		}
		waitState(t, a.Store, id, c.want)
		if c.want == store.Delivered {
			delivered++
		}
	}
	waitSent(t, a.Store)
	n := 0
	for _, m := range up.Messages() {
		if m.From == "alice@example.jp" { // not the guard's notices
			n++
		}
	}
	if n != delivered {
		t.Errorf("upstream got %d of alice's messages, want %d", n, delivered)
	}
}

func TestRejectRule(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), `
[[policy.rule]]
name = "no-mynumber"
subject_regex = ["(?i)my ?number"]
action = "reject"
reason = "My Number data must not be mailed"
`))
	_, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"bob@example.jp"}, msg("MyNumber list", "x"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) {
		t.Fatalf("want 550 5.7.1, got %v", err)
	}
	if strings.Contains(se.Message, "no-mynumber") || strings.Contains(se.Message, "My Number") {
		t.Errorf("rule internals leaked to the client: %q", se.Message)
	}
	if len(up.Messages()) != 0 {
		t.Error("rejected message delivered")
	}
}

// failingStore fails every write with err.
type failingStore struct {
	store.Store
	mu  sync.Mutex
	err error
}

func (f *failingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	f.mu.Lock()
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.Store.Update(ctx, fn)
}

func TestStoreFailureNever250(t *testing.T) {
	up := fakesmtp.Start(t)
	cfg := testConfig(t, up.Addr(), "")
	real, err := OpenStore(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	fs := &failingStore{Store: real}
	a := startApp(t, cfg, WithStore(fs))
	// One message first: the queue is up and delivering before the store fails.
	if _, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"bob@example.jp"}, msg("first", "y")); err != nil {
		t.Fatal(err)
	}
	up.WaitFor(1, 10*time.Second)
	for _, c := range []struct {
		err  error
		code int
	}{
		{fmt.Errorf("insert: %w", store.ErrFull), 452},
		{errors.New("database is locked"), 451},
	} {
		fs.mu.Lock()
		fs.err = c.err
		fs.mu.Unlock()
		_, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"bob@example.jp"}, msg("x", "y"))
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != c.code {
			t.Errorf("store error %v: want %d, got %v", c.err, c.code, err)
		} else if strings.Contains(se.Message, "locked") || strings.Contains(se.Message, "insert") {
			t.Errorf("internal error leaked: %q", se.Message)
		}
	}
	fs.mu.Lock()
	fs.err = nil
	fs.mu.Unlock()
	if _, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"bob@example.jp"}, msg("ok", "y")); err != nil {
		t.Fatal(err)
	}
	if got := up.WaitFor(2, 10*time.Second); len(got) != 2 {
		t.Fatalf("upstream got %d, want only the messages that were stored", len(got))
	}
	waitSent(t, a.Store)
	if n := len(up.Messages()); n != 2 {
		t.Errorf("upstream got %d messages; refused ones must not be delivered", n)
	}
}

func TestOutboxQuickstart(t *testing.T) {
	cfg := testConfig(t, "", "")
	a := startApp(t, cfg)
	reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"bob@example.jp"}, msg("outbox", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	id := idFrom(t, reply)
	waitState(t, a.Store, id, store.Delivered)
	b, err := os.ReadFile(filepath.Join(cfg.Path(cfg.Upstream.OutboxDir), id+".eml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(untraced(t, b), msg("outbox", "hello")) {
		t.Errorf("outbox bytes differ")
	}
	if _, err := os.Stat(filepath.Join(cfg.Path(cfg.Upstream.OutboxDir), id+".json")); err != nil {
		t.Error(err)
	}
}

func TestSwaks(t *testing.T) {
	swaks := testenv.Program(t, "swaks", "swaks")
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), ""))
	out, err := exec.Command(swaks, "--server", a.SMTPAddr(), "--auth", "LOGIN", "--auth-user", "alice",
		"--auth-password", "alice-password", "--from", "team@example.jp", "--to", "bob@example.jp",
		"--header", "Subject: via swaks", "--body", "hello from swaks").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	got := up.WaitFor(1, 10*time.Second)
	if len(got) != 1 || !bytes.Contains(got[0].Data, []byte("hello from swaks")) || got[0].From != "team@example.jp" {
		t.Fatalf("upstream got %+v", got)
	}
	// The wrong password and a spoofed sender are refused.
	out, err = exec.Command(swaks, "--server", a.SMTPAddr(), "--auth", "PLAIN", "--auth-user", "alice",
		"--auth-password", "wrong-password", "--from", "alice@example.jp", "--to", "bob@example.jp").CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("535")) {
		t.Errorf("wrong password: %v\n%s", err, out)
	}
	es, _ := a.Store.Audit(context.Background(), store.AuditFilter{Actor: "smtp:127.0.0.1"})
	failed := 0
	for _, e := range es {
		if e.Action == "smtp.login_failed" && bytes.Contains(e.Data, []byte(`"user":"alice"`)) {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d smtp.login_failed audit entries, want 1", failed)
	}
	out, err = exec.Command(swaks, "--server", a.SMTPAddr(), "--auth", "PLAIN", "--auth-user", "alice",
		"--auth-password", "alice-password", "--from", "ceo@example.jp", "--to", "bob@example.jp").CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("553")) {
		t.Errorf("spoofed sender: %v\n%s", err, out)
	}
}
