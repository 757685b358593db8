package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/egressguard/egressguard/internal/fakesmtp"
)

// runMain runs the command in-process and returns its exit code and output.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestConfigCheck(t *testing.T) {
	code, out, _ := runMain(t, "config", "check", "--config", "../../config/egressguard.toml")
	if code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("example config: exit %d %q", code, out)
	}
	code, _, errOut := runMain(t, "config", "check", "--config", "../../testdata/config/bad/02-many-problems.toml")
	if code != 1 || strings.Count(errOut, "\n  ") < 9 {
		t.Errorf("bad config: exit %d\n%s", code, errOut)
	}
}

// TestCheckCommand: the dry run prints the verdict as JSON and exits 0
// whatever the action.
func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	eml := filepath.Join(dir, "m.eml")
	os.WriteFile(eml, []byte("From: a@example.jp\r\nTo: x@elsewhere.example\r\nSubject: files\r\n\r\n"+
		"https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.dropbox.com%2Fscl%2Ffi%2Fabc123%2Freport.xlsx%3Frlkey%3Dxyz&data=05\r\n"), 0o600)
	code, out, errOut := runMain(t, "check", "--config", "../../config/egressguard.toml", "--from", "demo@example.jp",
		"--to", "x@elsewhere.example", "--to", "colleague@example.jp", eml)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v struct {
		Action  string
		Reasons []struct{ Rule, Detail string }
		Links   []struct{ URL, Provider, Part string }
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if v.Action != "hold" || len(v.Reasons) == 0 || v.Reasons[0].Rule == "" || v.Reasons[0].Detail == "" {
		t.Errorf("verdict %+v", v)
	}
	if len(v.Links) != 1 || !strings.HasPrefix(v.Links[0].URL, "https://www.dropbox.com/scl/fi/") || v.Links[0].Provider == "" || v.Links[0].Part != "1" {
		t.Errorf("links %+v", v.Links)
	}
	// To an internal recipient only: pass, still exit 0.
	code, out, _ = runMain(t, "check", "--config", "../../config/egressguard.toml", "--from", "demo@example.jp", "--to", "colleague@example.jp", eml)
	if code != 0 || !strings.Contains(out, `"action": "pass"`) {
		t.Errorf("internal: exit %d %s", code, out)
	}
	if code, _, _ := runMain(t, "check", "--config", "../../config/egressguard.toml", "--from", "a@example.jp", "--to", "b@example.jp", filepath.Join(dir, "missing.eml")); code != 1 {
		t.Errorf("missing file: exit %d", code)
	}
	if code, _, _ := runMain(t, "check", "--config", "../../config/egressguard.toml", eml); code != 2 {
		t.Errorf("usage error: exit %d", code)
	}
}

func sendShare(addr, to string, i int) (string, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.Mail("a@example.jp", nil); err != nil {
		return "", err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return "", err
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "From: a@example.jp\r\nTo: %s\r\nSubject: share %d\r\n\r\nhttps://app.box.com/s/abcdefghijklmnop%d\r\n", to, i, i)
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	return resp.StatusText, nil
}

// TestReloadAllowAndAudit runs the real binary: an allowlist entry added
// with the CLI counts for the next message; SIGHUP applies a new config
// file and refuses a broken one without stopping; audit verify passes and
// export writes the entries.
func TestReloadAllowAndAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	up := fakesmtp.Start(t)
	dir := t.TempDir()
	listen := freePort(t)
	cfgPath := writeConfig(t, dir, listen, up.Addr())
	g := startGuard(t, cfgPath, listen)

	reply, err := sendShare(listen, "x@newpartner.example.com", 1)
	if err != nil || !strings.Contains(reply, "held") {
		t.Fatalf("before allow: %q %v", reply, err)
	}
	code, out, errOut := runMain(t, "allow", "add", "--config", cfgPath, "newpartner.example.com", "--reason", "contract 42")
	if code != 0 {
		t.Fatalf("allow add: %d %s %s", code, out, errOut)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		reply, err = sendShare(listen, "x@newpartner.example.com", 2)
		if err == nil && strings.Contains(reply, "queued") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after allow add: %q %v", reply, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if code, out, _ := runMain(t, "allow", "add", "--config", cfgPath, "co.jp", "--reason", "x"); code == 0 {
		t.Errorf("public suffix accepted: %s", out)
	}

	// SIGHUP with a config that allows another domain.
	b, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, bytes.Replace(b, []byte(`internal_domains = ["example.jp"]`), []byte("internal_domains = [\"example.jp\"]\nallow = [\"hup.example.org\"]"), 1), 0o600)
	g.cmd.Process.Signal(syscall.SIGHUP)
	deadline = time.Now().Add(5 * time.Second)
	for {
		reply, err = sendShare(listen, "x@hup.example.org", 3)
		if err == nil && strings.Contains(reply, "queued") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP: %q %v", reply, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A broken config is refused; the guard keeps running on the old one.
	os.WriteFile(cfgPath, append(b, []byte("\n[smtp]\nnot_a_key = 1\n")...), 0o600)
	g.cmd.Process.Signal(syscall.SIGHUP)
	// The refusal is logged once the reload has been tried: from then on
	// the guard runs on whatever the reload left it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		g.mu.Lock()
		logs := g.logs.String()
		g.mu.Unlock()
		if strings.Contains(logs, "config reload refused") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bad reload not logged")
		}
	}
	if reply, err = sendShare(listen, "x@hup.example.org", 4); err != nil || !strings.Contains(reply, "queued") {
		t.Fatalf("after a bad SIGHUP: %q %v", reply, err)
	}
	os.WriteFile(cfgPath, b, 0o600)

	code, out, _ = runMain(t, "audit", "verify", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "ok:") {
		t.Fatalf("audit verify: %d %s", code, out)
	}
	code, out, _ = runMain(t, "audit", "export", "--config", cfgPath, "--user", cliActor())
	if code != 0 || !strings.Contains(out, `"action":"allow.add"`) {
		t.Errorf("audit export: %d %s", code, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Errorf("export line %q: %v", line, err)
		}
	}
}
