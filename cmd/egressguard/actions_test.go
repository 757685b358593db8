package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestCheckShowsActions: check prints the new actions with what they
// mean for this message: delay and its length, the action per recipient
// (which recipients split delivery would send at once), and what bcc
// moves out of the header.
func TestCheckShowsActions(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile("../../config/egressguard.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "egressguard.toml")
	os.WriteFile(cfg, append(example, []byte(`
[[policy.rule]]
name = "delay-external-test"
action = "delay"
delay = "5m"
reason = "External mail waits five minutes."
recipients = "any_external"

[[policy.rule]]
name = "bcc-exposed-test"
action = "bcc"
reason = "External addresses would see each other."
external_header_rcpts_over = 1
`)...), 0o600)
	eml := filepath.Join(dir, "m.eml")
	os.WriteFile(eml, []byte("From: demo@example.jp\r\nTo: a@one.example, b@two.example, colleague@example.jp\r\nSubject: hello\r\n\r\nplain\r\n"), 0o600)
	code, out, errOut := runMain(t, "check", "--config", cfg, "--from", "demo@example.jp",
		"--to", "a@one.example", "--to", "b@two.example", "--to", "colleague@example.jp", eml)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v struct {
		Action       string
		DelaySeconds int64 `json:"delay_seconds"`
		Recipients   []struct{ Addr, Class, Action string }
		Bcc          struct {
			Applied bool
			Moved   []string
		}
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if v.Action != "delay" || v.DelaySeconds != 300 {
		t.Errorf("action %q delay %d\n%s", v.Action, v.DelaySeconds, out)
	}
	want := map[string]string{"a@one.example": "delay", "b@two.example": "delay", "colleague@example.jp": "bcc"}
	for _, r := range v.Recipients {
		if want[r.Addr] != r.Action {
			t.Errorf("%s: action %q, want %q", r.Addr, r.Action, want[r.Addr])
		}
	}
	if !v.Bcc.Applied || len(v.Bcc.Moved) != 2 {
		t.Errorf("bcc %+v", v.Bcc)
	}
}
