package app

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/egressguard/egressguard/internal/config"
	"github.com/egressguard/egressguard/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestBadConfigs loads every file in testdata/config/bad as the guard
// does (the text, the files it names, the rules compiled) and compares the
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
			_, err = ParseConfig(data, name, filepath.Dir(f))
			var ce *config.Error
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

// TestConfigFiles: the files a config names are read where the guard is
// built, and their problems are reported with the text's, each at its line.
func TestConfigFiles(t *testing.T) {
	dir := t.TempDir()
	text := `hostname = "relay.example.jp"
time_zone = "Mars/Olympus_Mons"
[smtp]
tls_cert = "cert.pem"
tls_key = "key.pem"
[upstream]
auth_user = "relay"
auth_password_file = "password"
ca_file = "ca.pem"
[store]
key_file = "store.key"
[console]
tls_cert = "cert.pem"
tls_key = "key.pem"
[policy]
allow = ["partner.example", "not a domain"]
[log]
level = "loud"
`
	_, err := ParseConfig([]byte(text), "x.toml", dir)
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *config.Error, got %v", err)
	}
	var got []string
	for _, p := range ce.Problems {
		got = append(got, p.Key+"@"+strings.TrimSpace(strings.Fields(p.String())[1]))
	}
	want := []string{"time_zone@(line", "smtp.tls_cert@(line", "upstream.auth_password_file@(line", "upstream.ca_file@(line",
		"store.key_file@(line", "console.tls_cert@(line", "policy.allow[1]@(line", "log.level@(line"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("problems\n%v\nwant\n%v\n%v", got, want, err)
	}

	// With the files in place the TLS configurations and the password are
	// filled in.
	if err := os.WriteFile(filepath.Join(dir, "password"), []byte("s3cret\r\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	testenv.WriteCert(t, dir)
	for from, to := range map[string]string{"fullchain.pem": "cert.pem", "privkey.pem": "key.pem"} {
		if err := os.Rename(filepath.Join(dir, from), filepath.Join(dir, to)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "ca.pem")); err != nil {
		t.Fatal(err)
	}
	good := strings.NewReplacer("Mars/Olympus_Mons", "Asia/Tokyo", "key_file = \"store.key\"\n", "", ", \"not a domain\"", "", "\"loud\"", "\"info\"").Replace(text)
	cfg, err := ParseConfig([]byte(good), "x.toml", dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SMTP.TLSConfig == nil || cfg.Console.TLSConfig == nil || cfg.Upstream.AuthPassword != "s3cret" || cfg.Zone.Name() != "Asia/Tokyo" {
		t.Errorf("TLS %v/%v, password %q", cfg.SMTP.TLSConfig != nil, cfg.Console.TLSConfig != nil, cfg.Upstream.AuthPassword)
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
	cfg, err := ParseConfig([]byte(good), "x.toml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e, err := PolicyEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Catalog().IsShortener("go.example.net") || e.Catalog().IsShortener("t.co") || !e.Catalog().IsShortener("bit.ly") {
		t.Error("shortener list not applied")
	}
	_, err = ParseConfig([]byte("[[sharelink.shortener]]\nhost = \"*\"\n"), "x.toml", t.TempDir())
	var ce *config.Error
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Key != "sharelink.shortener[0].host" {
		t.Errorf("bad shortener: %v", err)
	}
}
