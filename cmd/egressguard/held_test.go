package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/app"
	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

// cliGuard runs a guard in-process with its console on loopback and
// returns it with the path of its config file (for the token command).
func cliGuard(t *testing.T, upstream string) (*app.App, string) {
	t.Helper()
	dir := t.TempDir()
	text := fmt.Sprintf(`
hostname = "guard.test"
data_dir = %q
[smtp]
listen = "127.0.0.1:0"
trusted_networks = ["127.0.0.0/8"]
[upstream]
address = %q
tls = "none"
backoff_min = "100ms"
backoff_max = "500ms"
connect_timeout = "2s"
[http]
listen = ""
[console]
listen = "127.0.0.1:0"
[policy]
internal_domains = ["example.jp"]
[[seed_user]]
name = "alice"
password = "alice-password"
roles = ["sender"]
addresses = ["alice@example.jp"]
[[seed_user]]
name = "olga"
password = "olga-password"
roles = ["officer"]
[[seed_user]]
name = "sam"
password = "sam-password"
roles = ["sender", "officer"]
addresses = ["sam@example.jp"]
`, filepath.Join(dir, "data"), upstream)
	path := filepath.Join(dir, "egressguard.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Open(context.Background(), cfg, zaptest.NewLogger(t), app.WithBcryptCost(4))
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
	return a, path
}

// holdVia sends a share link to an unknown recipient from a trusted
// address and waits until it is held.
func holdVia(t *testing.T, a *app.App, from, subject string) (string, []byte) {
	t.Helper()
	data := []byte("From: " + from + "\r\nTo: stranger@elsewhere.example\r\nSubject: " + subject +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Folder: https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQrStUv?usp=sharing\r\n")
	c, err := smtp.Dial(a.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(from, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("stranger@elsewhere.example", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	resp, err := w.CloseWithResponse()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(resp.StatusText)
	id := f[len(f)-1]
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := a.Store.Message(context.Background(), id)
		if err == nil && m.State == store.Held {
			return id, data
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not held: %v %v (reply %q)", id, m, err, resp.StatusText)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type cliResult struct {
	out, err string
	e        error
}

func callCmd(t *testing.T, fn func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) error, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	e := fn(context.Background(), args, &out, &errb)
	return cliResult{out.String(), errb.String(), e}
}

func heldCmd(ctx context.Context, args []string, out, errb *bytes.Buffer) error {
	return cmdHeld(ctx, args, out, errb)
}

func tokenCmd(ctx context.Context, args []string, out, errb *bytes.Buffer) error {
	return cmdToken(ctx, args, out, errb)
}

func TestHeldCLI(t *testing.T) {
	up := fakesmtp.Start(t)
	a, cfgPath := cliGuard(t, up.Addr())
	url := "http://" + a.ConsoleAddr()

	toks := map[string]string{}
	for _, u := range []string{"olga", "alice", "sam"} {
		r := callCmd(t, tokenCmd, "create", "--user", u, "--name", "laptop", "--config", cfgPath)
		if r.e != nil {
			t.Fatalf("token create %s: %v %s", u, r.e, r.err)
		}
		toks[u] = strings.TrimSpace(r.out)
		if !strings.HasPrefix(toks[u], "egt_") || strings.Count(r.out, "\n") != 1 {
			t.Fatalf("token create printed %q", r.out)
		}
	}
	if r := callCmd(t, tokenCmd, "create", "--user", "nobody", "--config", cfgPath); r.e == nil {
		t.Error("token for an unknown user")
	}

	// A subject that would clear the screen and reverse the line.
	// (Two messages: the ESC and the bidi override in one encoded word
	// are decoded differently by package message.)
	enc := func(s string) string { return "=?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?=" }
	id, data := holdVia(t, a, "alice@example.jp", enc("report\x1b[2J"))
	samID, _ := holdVia(t, a, "sam@example.jp", enc("sam's \u202Eown"))

	r := callCmd(t, heldCmd, "list", "--url", url, "--token", toks["olga"])
	if r.e != nil {
		t.Fatalf("list: %v %s", r.e, r.err)
	}
	for _, want := range []string{id, samID, "alice@example.jp", "stranger@elsewhere.example*", "report\uFFFD[2J", "sam's \uFFFDown", "* unknown recipient", "2 held"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("list lacks %q:\n%s", want, r.out)
		}
	}
	if strings.ContainsAny(r.out, "\x1b\u202E") {
		t.Errorf("list prints control characters: %q", r.out)
	}

	// URL and token from the environment; a sender sees only their own.
	t.Setenv("EGRESSGUARD_URL", url)
	t.Setenv("EGRESSGUARD_TOKEN", toks["alice"])
	r = callCmd(t, heldCmd, "list")
	if r.e != nil || !strings.Contains(r.out, id) || strings.Contains(r.out, samID) {
		t.Errorf("alice's list: %v\n%s", r.e, r.out)
	}
	r = callCmd(t, heldCmd, "show", samID)
	if r.e == nil || !strings.Contains(r.e.Error(), "not found") {
		t.Errorf("alice showing sam's message: %v", r.e)
	}
	// A sender cannot approve, not even their own.
	r = callCmd(t, heldCmd, "approve", id)
	if r.e == nil || !strings.Contains(r.e.Error(), "not allowed") {
		t.Errorf("sender approving: %v", r.e)
	}
	// Self-approval is refused.
	r = callCmd(t, heldCmd, "approve", samID, "--token", toks["sam"])
	if r.e == nil || !strings.Contains(r.e.Error(), "their own message") {
		t.Errorf("self-approval: %v", r.e)
	}
	// A rejection needs a comment before anything is sent.
	t.Setenv("EGRESSGUARD_TOKEN", toks["olga"])
	r = callCmd(t, heldCmd, "reject", samID)
	var ee exitError
	if !errors.As(r.e, &ee) || ee.code != 2 {
		t.Errorf("reject without comment: %v", r.e)
	}

	r = callCmd(t, heldCmd, "show", id)
	if r.e != nil {
		t.Fatalf("show: %v", r.e)
	}
	for _, want := range []string{"Why held:", "! https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQrStUv", "[unknown]", "approvals 0 of 1", "--- part 1 text/plain", "Folder: https://"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("show lacks %q:\n%s", want, r.out)
		}
	}
	if strings.ContainsAny(r.out, "\x1b\u202E\r") {
		t.Errorf("show prints control characters: %q", r.out)
	}
	r = callCmd(t, heldCmd, "show", id, "--json")
	var d map[string]any
	if err := json.Unmarshal([]byte(r.out), &d); err != nil || d["id"] != id || strings.ContainsAny(r.out, "\x1b\u202E") {
		t.Errorf("show --json: %v %q", err, r.out)
	}

	r = callCmd(t, heldCmd, "approve", id)
	if r.e != nil || !strings.Contains(r.out, "released for delivery") {
		t.Fatalf("approve: %v %q", r.e, r.out)
	}
	var got []fakesmtp.Message
	for deadline := time.Now().Add(10 * time.Second); len(got) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, m := range up.Messages() {
			if strings.Join(m.Addrs(), ",") == "stranger@elsewhere.example" {
				got = append(got, m)
			}
		}
	}
	// The guard's Received: field in front, then the bytes as submitted.
	if len(got) != 1 || !bytes.HasPrefix(got[0].Data, []byte("Received: from ")) || !bytes.HasSuffix(got[0].Data, data) ||
		bytes.Count(got[0].Data[:len(got[0].Data)-len(data)], []byte("\r\n\t")) != 2 {
		t.Fatalf("smarthost got %d copies for the recipient", len(got))
	}
	r = callCmd(t, heldCmd, "approve", id)
	if r.e == nil || !strings.Contains(r.e.Error(), "not held any more") {
		t.Errorf("second approval: %v", r.e)
	}
	r = callCmd(t, heldCmd, "reject", samID, "--comment", "wrong recipient", "--near-miss")
	if r.e != nil || !strings.Contains(r.out, "rejected") {
		t.Fatalf("reject: %v %q", r.e, r.out)
	}
	r = callCmd(t, heldCmd, "list")
	if r.e != nil || !strings.Contains(r.out, "0 held; near misses in the last 30 days: 1") {
		t.Errorf("list after decisions: %v\n%s", r.e, r.out)
	}

	// The audit log says the CLI did it.
	es, err := a.Store.Audit(context.Background(), store.AuditFilter{MsgID: id, Actor: "olga"})
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, e := range es {
		acts = append(acts, e.Action)
		if !bytes.Contains(e.Data, []byte(`"via":"cli"`)) {
			t.Errorf("%s not marked as from the CLI: %s", e.Action, e.Data)
		}
	}
	if strings.Join(acts, ",") != "message.view,message.view,hold.approve" {
		t.Errorf("audit: %v", acts)
	}

	// Tokens: listed by their ID (the hash), revoked, then refused.
	sum := sha256.Sum256([]byte(toks["olga"]))
	tokID := hex.EncodeToString(sum[:])
	r = callCmd(t, tokenCmd, "list", "--user", "olga", "--config", cfgPath)
	if r.e != nil || !strings.Contains(r.out, tokID) || !strings.Contains(r.out, "laptop") || strings.Contains(r.out, toks["olga"]) {
		t.Errorf("token list: %v\n%s", r.e, r.out)
	}
	r = callCmd(t, tokenCmd, "revoke", tokID, "--config", cfgPath)
	if r.e != nil {
		t.Fatalf("revoke: %v", r.e)
	}
	r = callCmd(t, heldCmd, "list")
	if r.e == nil || !strings.Contains(r.e.Error(), "valid API token") {
		t.Errorf("revoked token: %v", r.e)
	}
	r = callCmd(t, tokenCmd, "revoke", tokID, "--config", cfgPath)
	if r.e == nil || !strings.Contains(r.e.Error(), "no token") {
		t.Errorf("revoking twice: %v", r.e)
	}
}

func TestHeldCLIUsage(t *testing.T) {
	t.Setenv("EGRESSGUARD_TOKEN", "")
	for _, args := range [][]string{{}, {"frobnicate"}, {"show"}, {"approve", "a", "b"}, {"list", "extra"}} {
		r := callCmd(t, heldCmd, args...)
		var ee exitError
		if !errors.As(r.e, &ee) || ee.code != 2 {
			t.Errorf("held %v: %v", args, r.e)
		}
	}
	r := callCmd(t, heldCmd, "list", "--url", "http://127.0.0.1:1")
	if r.e == nil || !strings.Contains(r.e.Error(), "no API token") {
		t.Errorf("no token: %v", r.e)
	}
	r = callCmd(t, heldCmd, "list", "--url", "ftp://x", "--token", "t")
	if r.e == nil || !strings.Contains(r.e.Error(), "--url") {
		t.Errorf("bad URL: %v", r.e)
	}
	r = callCmd(t, heldCmd, "show", "../../etc", "--url", "http://127.0.0.1:1", "--token", "t")
	if r.e == nil || !strings.Contains(r.e.Error(), "invalid message ID") {
		t.Errorf("path in ID: %v", r.e)
	}
}
