package smtpfront

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// A message with everything that dot stuffing and 8-bit transport could
// get wrong: leading dots, a line that is a single dot, UTF-8, an empty
// line, a long line.
var testMessage = "From: Alice <alice@example.com>\r\n" +
	"To: bob@example.net\r\n" +
	"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"\r\n" +
	".leading dot\r\n" +
	"..two dots\r\n" +
	".\r\n" +
	"Grüße aus Köln\r\n" +
	"\r\n" +
	strings.Repeat("x", 990) + "\r\n" +
	"last line\r\n"

var idPattern = regexp.MustCompile(`^[0-9a-z]{20}$`)

func TestSubmitHappyPath(t *testing.T) {
	t.Parallel()
	b, rec := newRecorder()
	ts := startServer(t, baseConfig(), b)

	c, err := smtp.Dial(ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN", "AUTH"} {
		if ok, _ := c.Extension(ext); !ok {
			t.Errorf("extension %s not offered", ext)
		}
	}
	if size, ok := c.MaxMessageSize(); !ok || size != 1<<20 {
		t.Errorf("SIZE %d %v", size, ok)
	}
	if err := c.Auth(sasl.NewPlainClient("", "alice", "secret")); err != nil {
		t.Fatal(err)
	}
	// The alias, in other case: senders compare case-insensitively.
	err = c.Mail("alice.alias@EXAMPLE.com", &smtp.MailOptions{
		Size:       int64(len(testMessage)),
		UTF8:       true,
		Return:     smtp.DSNReturnHeaders,
		EnvelopeID: "QQ314159 +=x",
	})
	if err != nil {
		t.Fatal(err)
	}
	rcpts := []struct {
		addr string
		opts *smtp.RcptOptions
	}{
		{"bob@example.net", &smtp.RcptOptions{
			Notify:                []smtp.DSNNotify{smtp.DSNNotifySuccess, smtp.DSNNotifyFailure},
			OriginalRecipientType: smtp.DSNAddressTypeRFC822,
			OriginalRecipient:     "bob+orig@example.net",
		}},
		{"jörg@bücher.example", nil},
		{"BOB@example.net", &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifyNever}}}, // duplicate
		{"carol@example.org", &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifyNever}}},
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r.addr, r.opts); err != nil {
			t.Fatalf("RCPT %s: %v", r.addr, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(testMessage)); err != nil {
		t.Fatal(err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		t.Fatal(err)
	}
	id, ok := strings.CutPrefix(resp.StatusText, "2.0.0 Ok: queued as ")
	if !ok || !idPattern.MatchString(id) {
		t.Fatalf("reply %q", resp.StatusText)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}

	subs := rec.all()
	if len(subs) != 1 {
		t.Fatalf("%d submissions", len(subs))
	}
	got := subs[0]
	if string(got.data) != testMessage {
		t.Errorf("data differs:\n%s", cmp.Diff(testMessage, string(got.data)))
	}
	want := &envelope.Envelope{
		ID:         id,
		ClientAddr: "127.0.0.1",
		Helo:       "client.test",
		AuthUser:   "alice",
		From:       "alice.alias@EXAMPLE.com",
		Params:     envelope.MailParams{SMTPUTF8: true, Body: "8BITMIME", Ret: "HDRS", EnvID: "QQ314159 +=x"},
		Rcpts: []envelope.Rcpt{
			{Addr: "bob@example.net", Notify: []string{"SUCCESS", "FAILURE"}, ORcpt: "RFC822;bob+orig@example.net"},
			{Addr: "jörg@bücher.example"},
			{Addr: "carol@example.org", Notify: []string{"NEVER"}},
		},
	}
	if diff := cmp.Diff(want, got.env, cmpopts.IgnoreFields(envelope.Envelope{}, "Received")); diff != "" {
		t.Errorf("envelope (-want +got):\n%s", diff)
	}
	if time.Since(got.env.Received) > time.Minute {
		t.Errorf("Received %v", got.env.Received)
	}
	if n := ts.messages(resultQueued); n != 1 {
		t.Errorf("queued metric %v", n)
	}
}

// Each outcome of Submit has its reply; internals never reach the client.
func TestSubmitReplies(t *testing.T) {
	t.Parallel()
	internal := errors.New("sqlite: disk I/O error at /var/lib/guard/db")
	tests := []struct {
		name   string
		res    Result
		err    error
		code   int
		enh    smtp.EnhancedCode
		text   string // %s is the message ID
		result string
	}{
		{"pass", Result{verdict.Pass}, nil, 250, smtp.EnhancedCode{2, 0, 0}, "Ok: queued as %s", resultQueued},
		{"hold", Result{verdict.Hold}, nil, 250, smtp.EnhancedCode{2, 0, 0}, "Ok: held for review as %s", resultHeld},
		{"reject", Result{verdict.Reject}, nil, 550, smtp.EnhancedCode{5, 7, 1}, "Message refused by policy [%s]", resultRejected},
		{"full", Result{}, fmt.Errorf("insert: %w", store.ErrFull), 452, smtp.EnhancedCode{4, 3, 1}, "Insufficient system storage, try again later [%s]", resultTempfail},
		{"internal", Result{}, internal, 451, smtp.EnhancedCode{4, 3, 0}, "Temporary local problem, try again later [%s]", resultTempfail},
		{"smtp error", Result{}, fmt.Errorf("wrapped: %w", &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 9}, Message: "Chosen words"}), 554, smtp.EnhancedCode{5, 7, 9}, "Chosen words", resultRejected},
		{"unknown action", Result{"maybe"}, nil, 451, smtp.EnhancedCode{4, 3, 0}, "Temporary local problem, try again later [%s]", resultTempfail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gotID string
			b := &fakeBackend{AuthFunc: testAuth, SubmitFunc: func(_ context.Context, env *envelope.Envelope, _ []byte) (Result, error) {
				gotID = env.ID
				return tt.res, tt.err
			}}
			ts := startServer(t, baseConfig(), b)
			c := dialRaw(t, ts.addr)
			c.greet()
			c.login("alice", "secret")
			c.cmd("MAIL FROM:<alice@example.com>", 250)
			c.cmd("RCPT TO:<bob@example.net>", 250)
			c.cmd("DATA", 354)
			c.send("Subject: x\r\n\r\nhi\r\n.\r\n")
			code, text, err := c.reply()
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("%d.%d.%d ", tt.enh[0], tt.enh[1], tt.enh[2]) + strings.ReplaceAll(tt.text, "%s", gotID)
			if code != tt.code || text != want {
				t.Errorf("got %d %q, want %d %q", code, text, tt.code, want)
			}
			if strings.Contains(text, "sqlite") || strings.Contains(text, "/var") {
				t.Errorf("internals leaked: %q", text)
			}
			if n := ts.messages(tt.result); n != 1 {
				t.Errorf("metric %s = %v", tt.result, n)
			}
			// The session goes on.
			c.cmd("NOOP", 250)
		})
	}
}

func TestAuthMechanisms(t *testing.T) {
	t.Parallel()
	b, _ := newRecorder()
	backendDown := errors.New("ldap: connection refused")
	b.AuthFunc = func(ctx context.Context, user, pass string) (*Identity, error) {
		if user == "carol" {
			return nil, backendDown
		}
		return testAuth(ctx, user, pass)
	}
	ts := startServer(t, baseConfig(), b)

	tests := []struct {
		name   string
		dialog func(c *rawClient)
	}{
		{"plain ok", func(c *rawClient) { c.cmd("AUTH PLAIN "+plain("alice", "secret"), 235) }},
		{"plain without initial response", func(c *rawClient) {
			c.cmd("AUTH PLAIN", 334)
			c.cmd(plain("bob", "hunter2"), 235)
		}},
		{"plain wrong password", func(c *rawClient) {
			if text := c.cmd("AUTH PLAIN "+plain("alice", "wrong"), 535); !strings.HasPrefix(text, "5.7.8 ") {
				t.Errorf("text %q", text)
			}
		}},
		{"plain unknown user", func(c *rawClient) { c.cmd("AUTH PLAIN "+plain("mallory", "secret"), 535) }},
		{"plain other authorization identity", func(c *rawClient) {
			c.cmd("AUTH PLAIN "+b64("bob\x00alice\x00secret"), 535)
		}},
		{"plain malformed", func(c *rawClient) {
			if text := c.cmd("AUTH PLAIN "+b64("just one part"), 501); strings.Contains(text, "sasl") {
				t.Errorf("library text leaked: %q", text)
			}
		}},
		{"login ok", func(c *rawClient) {
			if text := c.cmd("AUTH LOGIN", 334); text != b64("Username:") {
				t.Errorf("challenge %q", text)
			}
			if text := c.cmd(b64("alice"), 334); text != b64("Password:") {
				t.Errorf("challenge %q", text)
			}
			c.cmd(b64("secret"), 235)
		}},
		{"login with initial response", func(c *rawClient) {
			c.cmd("AUTH LOGIN "+b64("bob"), 334)
			c.cmd(b64("hunter2"), 235)
		}},
		{"login wrong password", func(c *rawClient) {
			c.cmd("AUTH LOGIN "+b64("bob"), 334)
			c.cmd(b64("nope"), 535)
		}},
		{"cancelled", func(c *rawClient) {
			c.cmd("AUTH LOGIN", 334)
			c.cmd("*", 501)
		}},
		{"unknown mechanism", func(c *rawClient) { c.cmd("AUTH CRAM-MD5", 504) }},
		{"backend down", func(c *rawClient) {
			text := c.cmd("AUTH PLAIN "+plain("carol", "x"), 454)
			if strings.Contains(text, "ldap") {
				t.Errorf("internals leaked: %q", text)
			}
		}},
		{"twice", func(c *rawClient) {
			c.login("alice", "secret")
			c.cmd("AUTH PLAIN "+plain("bob", "hunter2"), 503)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, ts.addr)
			c.greet()
			tt.dialog(c)
		})
	}

	// Authenticated users can send; the identity is per session.
	c := dialRaw(t, ts.addr)
	c.greet()
	c.cmd("MAIL FROM:<alice@example.com>", 530)
	c.login("alice", "secret")
	c.cmd("MAIL FROM:<alice@example.com>", 250)
	c.cmd("AUTH PLAIN "+plain("bob", "hunter2"), 503) // during a transaction (and already authenticated)
	c.cmd("RSET", 250)
	c.cmd("QUIT", 221)
}

// The transaction log line has the agreed fields; failed AUTH is logged
// with user and address but never the password.
func TestLogging(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.DebugLevel)
	b, _ := newRecorder()
	ts := startServerLog(t, baseConfig(), b, zap.New(core))
	c := dialRaw(t, ts.addr)
	c.greet()
	c.cmd("AUTH PLAIN "+plain("alice", "Tr0ub4dor&3"), 535)
	c.login("alice", "secret")
	c.cmd("MAIL FROM:<alice@example.com>", 250)
	c.cmd("RCPT TO:<bob@example.net>", 250)
	c.cmd("RCPT TO:<carol@example.net>", 250)
	c.cmd("DATA", 354)
	c.send("Subject: x\r\n\r\nhello\r\n.\r\n")
	text := c.expect(250)
	id := strings.TrimPrefix(text, "2.0.0 Ok: queued as ")
	c.cmd("QUIT", 221)

	for _, e := range logs.All() {
		for _, f := range e.Context {
			if strings.Contains(f.String, "Tr0ub4dor") {
				t.Errorf("password logged in %q", e.Message)
			}
		}
	}
	failed := logs.FilterMessage("authentication failed").All()
	if len(failed) != 1 || failed[0].ContextMap()["user"] != "alice" || failed[0].ContextMap()["client_ip"] != "127.0.0.1" {
		t.Errorf("auth failure log: %+v", failed)
	}
	tx := logs.FilterMessage("smtp transaction").All()
	if len(tx) != 1 {
		t.Fatalf("%d transaction lines", len(tx))
	}
	m := tx[0].ContextMap()
	for k, v := range map[string]any{
		"msg_id": id, "client_ip": "127.0.0.1", "auth_user": "alice", "from": "alice@example.com",
		"rcpts": int64(2), "size": int64(len("Subject: x\r\n\r\nhello\r\n")), "outcome": "queued", "code": int64(250),
	} {
		if m[k] != v {
			t.Errorf("log field %s = %v (%T), want %v", k, m[k], m[k], v)
		}
	}
	if _, ok := m["duration"]; !ok {
		t.Error("no duration")
	}
}

func TestNewConfigErrors(t *testing.T) {
	t.Parallel()
	b, _ := newRecorder()
	tls, _ := testTLS(t)
	bad := []Config{
		{MaxMessageBytes: -1},
		{MaxConns: -1},
		{AuthFailWindow: -time.Second},
		{RequireTLSForAuth: true},
		{MaxLineLength: 500},
	}
	for _, cfg := range bad {
		if _, err := New(cfg, b, nil, nil); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	if _, err := New(Config{}, nil, nil, nil); err == nil {
		t.Error("New without backend succeeded")
	}
	s, err := New(Config{TLS: tls, RequireTLSForAuth: true}, b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.MaxMessageBytes != 25<<20 || s.cfg.MaxRecipients != 100 || s.cfg.Hostname == "" {
		t.Errorf("defaults not applied: %+v", s.cfg)
	}
}
