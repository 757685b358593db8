package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	buildversion "github.com/egressguard/egressguard/internal/version"
)

// TestHelpExitsZero: -h and --help exit 0 on every command and
// subcommand, and each lists only its own flags.
func TestHelpExitsZero(t *testing.T) {
	cases := []struct {
		args      []string
		want, not []string
	}{
		{[]string{"--help"}, []string{"held", "serve"}, nil},
		{[]string{"held", "--help"}, []string{"held approve ID"}, nil},
		{[]string{"held", "-h"}, []string{"held list"}, nil},
		{[]string{"held", "list", "--help"}, []string{"-json", "-rule"}, []string{"-comment", "-domain"}},
		{[]string{"held", "approve", "-h"}, []string{"-domain"}, []string{"-json", "-comment"}},
		{[]string{"held", "reject", "-h"}, []string{"-comment", "-near-miss"}, []string{"-json"}},
		{[]string{"user", "--help"}, []string{"user add"}, nil},
		{[]string{"user", "list", "-h"}, []string{"-json"}, []string{"-password-stdin", "-role"}},
		{[]string{"user", "add", "--help"}, []string{"-role", "-password-stdin"}, []string{"-json"}},
		{[]string{"token", "list", "-h"}, []string{"-json", "-user"}, []string{"-expires"}},
		{[]string{"token", "revoke", "-h"}, []string{"-config"}, []string{"-user", "-expires"}},
		{[]string{"allow", "list", "-h"}, []string{"-json"}, []string{"-reason", "-why"}},
		{[]string{"allow", "remove", "-h"}, []string{"-why"}, []string{"-reason", "-json"}},
		{[]string{"audit", "verify", "-h"}, []string{"-config"}, []string{"-since"}},
		{[]string{"audit", "export", "--help"}, []string{"-since", "-until"}, nil},
		{[]string{"config", "--help"}, []string{"config check"}, nil},
		{[]string{"config", "check", "-h"}, []string{"-config"}, nil},
		{[]string{"serve", "-h"}, []string{"-shutdown-timeout"}, nil},
		{[]string{"check", "--help"}, []string{"-from", "-to"}, nil},
		{[]string{"keygen", "-h"}, []string{"-id"}, []string{"-config"}},
		{[]string{"version", "--help"}, []string{"-json"}, []string{"-config"}},
		{[]string{"queue", "-h"}, []string{"-json"}, []string{"-instance"}},
		{[]string{"queue", "release", "-h"}, []string{"-instance", "-force"}, []string{"-json"}},
	}
	for _, c := range cases {
		code, out, errOut := runMain(t, c.args...)
		all := out + errOut
		if code != 0 {
			t.Errorf("%v: exit %d\n%s", c.args, code, all)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(all, w) {
				t.Errorf("%v: help lacks %q:\n%s", c.args, w, all)
			}
		}
		for _, n := range c.not {
			if strings.Contains(all, n+" ") || strings.Contains(all, n+"\n") {
				t.Errorf("%v: help lists another command's flag %q:\n%s", c.args, n, all)
			}
		}
	}
	// A wrong flag is still an error.
	if code, _, _ := runMain(t, "held", "list", "--nonsense"); code == 0 {
		t.Error("unknown flag accepted")
	}
}

// TestVersionShowsCommit: version names the commit (from the toolchain's
// build information, or -ldflags).
func TestVersionShowsCommit(t *testing.T) {
	old := buildversion.Revision
	buildversion.Revision = "0123456789abcdef"
	t.Cleanup(func() { buildversion.Revision = old })
	code, out, _ := runMain(t, "version")
	if code != 0 || !strings.Contains(out, "commit 0123456789abcdef") {
		t.Errorf("version: exit %d %q", code, out)
	}
	code, out, _ = runMain(t, "version", "--json")
	if code != 0 || !strings.Contains(out, `"revision": "0123456789abcdef"`) {
		t.Errorf("version --json: exit %d %q", code, out)
	}
}

// TestSince: --since takes a duration back from now, and a bad time is
// worded for people, not as a Go parse error.
func TestSince(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h": now.Add(-24 * time.Hour),
		"90m": now.Add(-90 * time.Minute),
		"7d":  now.Add(-7 * 24 * time.Hour),
	} {
		got, err := parseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	_, err := parseTime("yesterday", now)
	if err == nil || strings.Contains(err.Error(), "parsing time") || !strings.Contains(err.Error(), "24h") {
		t.Errorf("bad time: %v", err)
	}
}

// TestCLIErrorsInWords: a duplicate user and a bad --since are reported
// in words, with exit 1, and nothing of SQL or Go types reaches the user.
func TestCLIErrorsInWords(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("data_dir = \"data\"\ntime_zone = \"Asia/Tokyo\"\n"), 0o600)
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("a-long-password\n"), 0o600)
	addUser := func() (int, string) {
		f, _ := os.Open(pw)
		defer f.Close()
		old := os.Stdin
		os.Stdin = f
		defer func() { os.Stdin = old }()
		code, _, errOut := runMain(t, "user", "add", "kim", "--password-stdin", "--config", cfg)
		return code, errOut
	}
	if code, errOut := addUser(); code != 0 {
		t.Fatalf("first add: %d %s", code, errOut)
	}
	code, errOut := addUser()
	if code != 1 || !strings.Contains(errOut, `user "kim" already exists`) || strings.Contains(errOut, "store:") {
		t.Errorf("duplicate user: exit %d %q", code, errOut)
	}
	code, _, errOut = runMain(t, "audit", "export", "--since", "last tuesday", "--config", cfg)
	if code != 1 || strings.Contains(errOut, "parsing time") || !strings.Contains(errOut, "--since") {
		t.Errorf("bad --since: exit %d %q", code, errOut)
	}
	code, out, errOut := runMain(t, "audit", "export", "--since", "24h", "--config", cfg)
	if code != 0 || !strings.Contains(out, `"action":"user.add"`) {
		t.Errorf("--since 24h: exit %d %q %q", code, out, errOut)
	}
	code, out, _ = runMain(t, "user", "list", "--json", "--config", cfg)
	if code != 0 || !strings.Contains(out, `"name": "kim"`) {
		t.Errorf("user list --json: %d %q", code, out)
	}
}
