package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestManyProblemsReportedAtOnce(t *testing.T) {
	data, _ := os.ReadFile("../../testdata/config/bad/02-many-problems.toml")
	_, err := Parse(data, "x.toml", ".")
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, p := range ce.Problems {
		keys[p.Key] = true
		if p.Hint == "" {
			t.Errorf("problem %q has no hint", p)
		}
	}
	for _, k := range []string{"log.level", "smtp.listen", "smtp.trusted_networks[0]", "smtp.trusted_networks[2]",
		"smtp.max_recipients", "smtp.max_line_length", "upstream.tls", "upstream.backoff_max", "store.driver"} {
		if !keys[k] {
			t.Errorf("no problem reported for %s; got %v", k, ce.Problems)
		}
	}
	if keys["smtp.trusted_networks[1]"] {
		t.Error("a bare address must be accepted as a /32 network")
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse([]byte(""), "empty.toml", "/srv/eg")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SMTP.Listen != "127.0.0.1:2525" || cfg.Store.Driver != "sqlite" {
		t.Errorf("defaults: %+v", cfg.SMTP)
	}
	if got := cfg.Path(cfg.Store.Path); got != "/srv/eg/data/egressguard.db" {
		t.Errorf("store path %q", got)
	}
	if *cfg.SMTP.RequireTLSForAuth {
		t.Error("require_tls_for_auth must default to false without TLS")
	}
	if cfg.Upstream.MaxAge.D() != 5*24*time.Hour {
		t.Errorf("max_age %v", cfg.Upstream.MaxAge.D())
	}
	if cfg.Instance != cfg.Hostname {
		t.Errorf("instance %q, hostname %q", cfg.Instance, cfg.Hostname)
	}
}

func TestSizesAndDurations(t *testing.T) {
	cfg, err := Parse([]byte(`
[smtp]
max_message_size = "10MiB"
command_timeout = "90s"
[upstream]
max_age = "3d"
[inspect]
max_decoded_size = 1048576
`), "x.toml", ".")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SMTP.MaxMessageSize != 10<<20 {
		t.Errorf("size %d", cfg.SMTP.MaxMessageSize)
	}
	if cfg.SMTP.CommandTimeout.D() != 90*time.Second {
		t.Errorf("timeout %v", cfg.SMTP.CommandTimeout.D())
	}
	if cfg.Upstream.MaxAge.D() != 72*time.Hour {
		t.Errorf("max_age %v", cfg.Upstream.MaxAge.D())
	}
	if cfg.Inspect.MaxDecodedSize != 1<<20 {
		t.Errorf("decoded %d", cfg.Inspect.MaxDecodedSize)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/config/bad/*.toml")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte("[smtp]\nlisten = \"127.0.0.1:25\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.toml", ".")
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && cfg != nil {
			t.Fatal("config with error")
		}
	})
}

// TestExampleConfig keeps the documented example loadable.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile("../../config/egressguard.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(data, "egressguard.toml", "../../config")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SMTP.Listen != "127.0.0.1:2525" {
		t.Errorf("example listens on %q", cfg.SMTP.Listen)
	}
	if cfg.Upstream.Address != "" {
		t.Error("the quickstart must not need a smarthost")
	}
	if len(cfg.Seed) == 0 {
		t.Error("the quickstart needs a demo account")
	}
}

// TestParseReadsNoFiles: the config's text is checked without reading the
// files it names or compiling its rules; that is the builder's part.
func TestParseReadsNoFiles(t *testing.T) {
	text := `
hostname = "relay.example.jp"
time_zone = "Mars/Olympus_Mons"
[smtp]
tls_cert = "missing-cert.pem"
tls_key = "missing-key.pem"
[upstream]
auth_user = "relay"
auth_password_file = "missing-password"
ca_file = "missing-ca.pem"
[store]
key_file = "missing.key"
[audit]
checkpoint_key_file = "missing-checkpoint.key"
[policy]
allow = ["not a domain"]
[[policy.rule]]
name = "bad"
action = "frobnicate"
`
	cfg, err := Parse([]byte(text), "x.toml", t.TempDir())
	if err != nil {
		t.Fatalf("Parse read a file or compiled a rule: %v", err)
	}
	if cfg.SMTP.TLSConfig != nil || cfg.Upstream.AuthPassword != "" {
		t.Error("Parse filled in what only the files hold")
	}
	if cfg.Line("upstream.ca_file") != 10 || cfg.Line("policy.rule[0].action") != 19 || cfg.Line("nowhere") != 0 {
		t.Errorf("lines: ca_file %d, rule action %d", cfg.Line("upstream.ca_file"), cfg.Line("policy.rule[0].action"))
	}
}

// TestUnknownKeys: a key the config does not have is refused and named,
// at any depth, also when it differs from a real key only in case; keys
// under an unknown table are not listed one by one.
func TestUnknownKeys(t *testing.T) {
	text := `hostname = "relay.example.jp"
Data_Dir = "x"
[smpt]
listen = "127.0.0.1:25"
[smtp]
trusted_networks = ["10.0.0.0/8", 7]
[[policy.rule]]
name = "r"
action = "hold"
reason = "x"
[[policy.rule]]
name = "s"
action = "hold"
reason = "y"
subjekt_regex = ["a"]
`
	_, err := Parse([]byte(text), "x.toml", t.TempDir())
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want problems, got %v", err)
	}
	var got []string
	for _, p := range ce.Problems {
		got = append(got, p.String())
	}
	want := []string{
		`Data_Dir (line 2): unknown key (hint: did you mean "data_dir"?)`,
		`smpt (line 3): unknown key (hint: check the spelling against config/egressguard.toml)`,
		`smtp.trusted_networks (line 6): wrong type: the value is an integer, but this key takes a string (hint: see this key in config/egressguard.toml)`,
		`policy.rule[1].subjekt_regex (line 15): unknown key (hint: did you mean "subject_regex"?)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The decoder's own account of what it did not take.
	u := undecodedKeys(text, reflect.TypeFor[Config]())
	for _, k := range []string{"smpt", "smpt.listen", "policy.rule.subjekt_regex"} {
		if !u[k] {
			t.Errorf("%s not undecoded: %v", k, u)
		}
	}
	for _, k := range []string{"hostname", "smtp.trusted_networks", "policy.rule.name", "policy.rule.reason"} {
		if u[k] {
			t.Errorf("%s undecoded: %v", k, u)
		}
	}
}
