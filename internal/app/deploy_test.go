package app

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/testenv"
)

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// The metrics listener serves /metrics, /healthz and /readyz and nothing
// else; profiles only with http.pprof = true.
func TestMetricsListenerPaths(t *testing.T) {
	a := startApp(t, testConfig(t, "", ""))
	base := "http://" + a.HTTPAddr()
	for path, want := range map[string]int{
		"/metrics": 200, "/healthz": 200, "/readyz": 200,
		"/": 404, "/debug/pprof/": 404, "/debug/pprof/cmdline": 404, "/debug/pprof/heap": 404,
		"/debug/vars": 404, "/login": 404, "/api/held": 404,
	} {
		if got := get(t, base+path); got != want {
			t.Errorf("GET %s: %d, want %d", path, got, want)
		}
	}
	resp, err := http.Post(base+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("POST /metrics: %d", resp.StatusCode)
	}

	cfg := testConfig(t, "", "")
	cfg.HTTP.Pprof = true
	a = startApp(t, cfg)
	base = "http://" + a.HTTPAddr()
	for path, want := range map[string]int{"/debug/pprof/": 200, "/debug/pprof/cmdline": 200, "/debug/pprof/heap": 200, "/metrics": 200, "/": 404} {
		if got := get(t, base+path); got != want {
			t.Errorf("pprof on: GET %s: %d, want %d", path, got, want)
		}
	}
}

// The guard with implicit TLS configured listens on both submission ports;
// on 465 a real account logs in at once and its mail is delivered.
func TestAppImplicitTLS(t *testing.T) {
	dir := t.TempDir()
	pool := testenv.WriteCert(t, dir)
	up := fakesmtp.Start(t)
	cfg := testConfig(t, up.Addr(), "")
	cfg2, err := ParseConfig([]byte(fmt.Sprintf(`
[smtp]
listen = "127.0.0.1:0"
implicit_tls_listen = "127.0.0.1:0"
tls_cert = %q
tls_key = %q
`, filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem"))), "tls.toml", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SMTP.ImplicitTLSListen = cfg2.SMTP.ImplicitTLSListen
	cfg.SMTP.TLSConfig = cfg2.SMTP.TLSConfig
	*cfg.SMTP.RequireTLSForAuth = true
	a := startApp(t, cfg)
	if a.SMTPTLSAddr() == "" || a.SMTPTLSAddr() == a.SMTPAddr() {
		t.Fatalf("implicit-TLS listener %q", a.SMTPTLSAddr())
	}
	c, err := smtp.DialTLS(a.SMTPTLSAddr(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice", "alice-password")); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("alice@example.jp", []string{"bob@example.jp"}, strings.NewReader("Subject: 465\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := up.WaitFor(1, 10e9); len(got) != 1 || got[0].From != "alice@example.jp" {
		t.Fatalf("upstream got %+v", got)
	}
	if !strings.Contains(a.Banner("test"), a.SMTPTLSAddr()+" (implicit TLS)") {
		t.Errorf("banner:\n%s", a.Banner("test"))
	}
}

// The start-up banner: where passed mail goes, the console URL, the
// listeners, the store and every demo setting still in use; and none for
// a production-like config.
func TestBanner(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), ""))
	b := a.Banner("v1.2.3")
	for _, want := range []string{
		"egressguard v1.2.3 is running as guard.test",
		"passed mail   to the smarthost " + up.Addr() + " (no TLS, no AUTH)",
		"console       http://" + a.ConsoleAddr() + " (listening on " + a.ConsoleAddr() + ")",
		"submission    " + a.SMTPAddr() + " (no TLS)",
		"trusted       127.0.0.2/32 (relay without AUTH)",
		"metrics       " + a.HTTPAddr() + " (/metrics /healthz /readyz)",
		"store         sqlite " + a.Cfg.Path(a.Cfg.Store.Path) + " (bodies in the clear)",
		"DEMO SETTINGS still in use",
		`account "alice" still has the password from the config file`,
		`account "olga" still has the password from the config file`,
		"submission without TLS",
		"console without TLS",
		"console.base_url is not set",
		"upstream without verified TLS",
		"notify.officers is empty",
		`policy.internal_domains still names the example domain "example.jp"`,
		"NO ADMIN ACCOUNT yet", // alice is a sender, olga an officer
	} {
		if !strings.Contains(b, want) {
			t.Errorf("banner lacks %q:\n%s", want, b)
		}
	}
	// An admin account ends the reminder.
	if _, err := a.Accounts.Add(t.Context(), "test", "root", "a-long-admin-password", []string{"admin"}, nil); err != nil {
		t.Fatal(err)
	}
	if b := a.Banner("v1.2.3"); strings.Contains(b, "NO ADMIN ACCOUNT") {
		t.Errorf("banner with an admin:\n%s", b)
	}

	// Outbox, TLS everywhere, real names, no seed users: nothing to warn of
	// but the missing smarthost.
	dir := t.TempDir()
	testenv.WriteCert(t, dir)
	_, err := ParseConfig([]byte(fmt.Sprintf(`
hostname = "guard.corp.test"
data_dir = %q
[smtp]
listen = "127.0.0.1:0"
tls_cert = "fullchain.pem"
tls_key = "privkey.pem"
[http]
listen = ""
[console]
listen = "127.0.0.1:0"
tls_cert = "fullchain.pem"
tls_key = "privkey.pem"
base_url = "https://guard.corp.test:8443"
[policy]
internal_domains = ["corp.test"]
[store]
key_file = "body.keys"
`, dir)), "prod.toml", dir)
	if err == nil {
		t.Fatal("key file missing but config accepted")
	}
	cfg, err := ParseConfig([]byte(fmt.Sprintf(`
hostname = "guard.corp.test"
data_dir = %q
[smtp]
listen = "127.0.0.1:0"
tls_cert = "fullchain.pem"
tls_key = "privkey.pem"
[http]
listen = ""
[console]
listen = "127.0.0.1:0"
tls_cert = "fullchain.pem"
tls_key = "privkey.pem"
base_url = "https://guard.corp.test:8443"
[policy]
internal_domains = ["corp.test"]
[notify]
officers = ["security@corp.test"]
`, dir)), "prod.toml", dir)
	if err != nil {
		t.Fatal(err)
	}
	p := startApp(t, cfg)
	b = p.Banner("v1.2.3")
	for _, want := range []string{
		"passed mail   to the outbox folder " + filepath.Join(dir, "outbox") + " (no smarthost: nothing is delivered)",
		"console       https://guard.corp.test:8443 (listening on " + p.ConsoleAddr() + ")",
		"submission    " + p.SMTPAddr() + " (STARTTLS)",
		"DEMO SETTINGS still in use",
		"no smarthost (upstream.address)",
	} {
		if !strings.Contains(b, want) {
			t.Errorf("banner lacks %q:\n%s", want, b)
		}
	}
	if n := strings.Count(b, "\n    - "); n != 1 {
		t.Errorf("%d demo settings, want 1:\n%s", n, b)
	}
	if strings.Contains(b, "metrics ") {
		t.Errorf("metrics listener shown while off:\n%s", b)
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://eg:secret@db:5432/eg?sslmode=disable":   "postgres://eg:xxxxx@db:5432/eg?sslmode=disable",
		"postgres://eg@db/eg?password=secret&sslmode=allow": "postgres://eg@db/eg?password=xxxxx&sslmode=allow",
		"host=db user=eg password=secret dbname=eg":         "host=db user=eg password=xxxxx dbname=eg",
		"host=db password='se cret' dbname=eg":              "host=db password=xxxxx dbname=eg",
	} {
		if got := redactDSN(in); got != want {
			t.Errorf("redactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
