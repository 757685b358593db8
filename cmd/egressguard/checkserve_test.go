package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/allowlist"
	"github.com/egressguard/egressguard/internal/app"
	"github.com/egressguard/egressguard/internal/store"
)

// TestCheckMatchesServe: an allowlist entry an admin added at run time
// (in the store, not the config file) counts for check as it does for
// serve, so both pass the same share link to partner.test; without the
// entry both hold it.
func TestCheckMatchesServe(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "egressguard.toml")
	if err := os.WriteFile(cfgFile, []byte(`
hostname = "guard.test"
data_dir = "data"
[smtp]
listen = "127.0.0.1:0"
trusted_networks = ["127.0.0.1"]
[http]
listen = ""
[console]
listen = ""
[policy]
internal_domains = ["example.jp"]
allow = ["partner.example.com"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadConfig(cfgFile)
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
	eml := filepath.Join(dir, "share.eml")
	data := "From: a@example.jp\r\nTo: bob@partner.test\r\nSubject: files\r\nMessage-ID: <s@example.jp>\r\n\r\nhttps://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp\r\n"
	if err := os.WriteFile(eml, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}

	// serve's verdict: the state the message reaches.
	serve := func() string {
		t.Helper()
		c, err := smtp.Dial(a.SMTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Mail("a@example.jp", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("bob@partner.test", nil); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(w, data)
		resp, err := w.CloseWithResponse()
		if err != nil {
			t.Fatal(err)
		}
		id := lastField(resp.StatusText)
		m, err := a.Store.Message(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if m.State == store.Held {
			return "hold"
		}
		return "pass"
	}
	// check's verdict, from the command as an admin runs it.
	check := func() string {
		t.Helper()
		code, out, errOut := runMain(t, "check", "--config", cfgFile, "--from", "a@example.jp", "--to", "bob@partner.test", eml)
		if code != 0 {
			t.Fatalf("check: exit %d: %s", code, errOut)
		}
		var v struct{ Action string }
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return v.Action
	}

	if s, c := serve(), check(); s != "hold" || c != "hold" {
		t.Fatalf("before the entry: serve %s, check %s; want hold, hold", s, c)
	}
	if _, err := a.Allow.Add(context.Background(), "admin", allowlist.Entry{Value: "partner.test", Reason: "partner"}); err != nil {
		t.Fatal(err)
	}
	// The running guard sees store changes within its refresh bound.
	deadline := time.Now().Add(5 * time.Second)
	s := serve()
	for s != "pass" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		s = serve()
	}
	if c := check(); s != "pass" || c != "pass" {
		t.Errorf("with the store entry: serve %s, check %s; want pass, pass", s, c)
	}
}

func lastField(s string) string {
	f := []rune(s)
	i := len(f)
	for i > 0 && f[i-1] != ' ' {
		i--
	}
	return string(f[i:])
}
