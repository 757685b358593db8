package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestBadConfigs loads every file in testdata/config/bad and compares the
// reported problems with the .err file beside it.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("../../testdata/config/bad/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs found: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(data, name, filepath.Dir(f))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want *config.Error, got %v", err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".toml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("problems differ\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

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
	cfg, err := Load("../../config/egressguard.toml")
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

// TestShortenerConfig: admins extend the URL shortener list; a bad entry is
// reported under its key.
func TestShortenerConfig(t *testing.T) {
	good := `
[[sharelink.shortener]]
host = "go.example.net"
[[sharelink.shortener]]
host = "s.example.com"
sites = ["example.com"]
[[sharelink.shortener]]
host = "t.co"
disable = true
`
	cfg, err := Parse([]byte(good), "x.toml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e, err := cfg.PolicyEngine()
	if err != nil {
		t.Fatal(err)
	}
	if !e.Catalog().IsShortener("go.example.net") || e.Catalog().IsShortener("t.co") || !e.Catalog().IsShortener("bit.ly") {
		t.Error("shortener list not applied")
	}
	_, err = Parse([]byte("[[sharelink.shortener]]\nhost = \"*\"\n"), "x.toml", t.TempDir())
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Key != "sharelink.shortener[0].host" {
		t.Errorf("bad shortener: %v", err)
	}
}
