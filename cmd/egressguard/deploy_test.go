package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"go.yaml.in/yaml/v3"

	"github.com/egressguard/egressguard/internal/testenv"
)

// dockerBuildFlags are the go build flags of the Dockerfile (with
// VERSION=test); the tests' binary is built with them and CGO_ENABLED=0.
var dockerBuildFlags = []string{"-trimpath", "-ldflags", "-s -w -X main.version=test"}

// containerFile is a TOML file meant for /etc/egressguard, with the mounted
// certificate beside it in dir/tls, as the image and the unit see it.
func containerFile(t *testing.T, src string) (dir string, pool *x509.CertPool) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	pool = testenv.WriteCert(t, filepath.Join(dir, "tls"))
	if err := os.WriteFile(filepath.Join(dir, "egressguard.toml"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, pool
}

// runBinary runs the built binary with env added and returns its output.
func runBinary(t *testing.T, stdin string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The Dockerfile builds the binary as the tests do, runs `config check` on
// the shipped config in the build stage, and ships that config with the
// ports it listens on exposed, the data directory as a volume, a non-root
// user and the first-admin instructions.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	stages := regexp.MustCompile(`(?m)^FROM `).Split(df, -1)
	if len(stages) != 3 {
		t.Fatalf("want a build and a run stage, got %d FROM lines", len(stages)-1)
	}
	build, run := stages[1], stages[2]
	want := fmt.Sprintf(`CGO_ENABLED=0 go build %s %s "-s -w -X main.version=${VERSION}"`, dockerBuildFlags[0], dockerBuildFlags[1])
	if !strings.Contains(build, want) {
		t.Errorf("build stage lacks %q: the tests build the binary differently from the image", want)
	}
	if !regexp.MustCompile(`(?m)^RUN [^\n]*(\\\n[^\n]*)*egressguard config check --config /tmp/check/egressguard.toml`).MatchString(build) ||
		!strings.Contains(build, "cp config/container.toml /tmp/check/egressguard.toml") {
		t.Error("the build stage does not run config check on config/container.toml")
	}
	for _, line := range []string{
		"COPY config/container.toml /etc/egressguard/egressguard.toml",
		"ENV EGRESSGUARD_CONFIG=/etc/egressguard/egressguard.toml",
		`VOLUME ["/var/lib/egressguard"]`,
		"USER 65532:65532",
		"io.egressguard.first-admin=\"docker exec -it CONTAINER egressguard user add admin",
	} {
		if !strings.Contains(run, line) {
			t.Errorf("run stage lacks %q", line)
		}
	}
	// Every port the container config listens on is exposed.
	m := regexp.MustCompile(`(?m)^EXPOSE (.*)$`).FindStringSubmatch(run)
	if m == nil {
		t.Fatal("no EXPOSE")
	}
	exposed := map[string]bool{}
	for _, p := range strings.Fields(m[1]) {
		exposed[p] = true
	}
	cfg := containerConfig(t, "../../config/container.toml")
	for key, addr := range cfg.listeners() {
		_, port, _ := net.SplitHostPort(addr)
		if !exposed[port] {
			t.Errorf("%s = %q: port not exposed (EXPOSE %s)", key, addr, m[1])
		}
	}
}

// rawContainerConfig is the part of a config file these tests look at.
type rawContainerConfig struct {
	DataDir string `toml:"data_dir"`
	SMTP    struct {
		Listen            string `toml:"listen"`
		ImplicitTLSListen string `toml:"implicit_tls_listen"`
		TLSCert           string `toml:"tls_cert"`
	} `toml:"smtp"`
	HTTP    struct{ Listen string } `toml:"http"`
	Console struct {
		Listen  string `toml:"listen"`
		TLSCert string `toml:"tls_cert"`
	} `toml:"console"`
	Store struct {
		Driver string `toml:"driver"`
		DSN    string `toml:"dsn"`
	} `toml:"store"`
	Seed []map[string]any `toml:"seed_user"`
}

func (c rawContainerConfig) listeners() map[string]string {
	return map[string]string{"smtp.listen": c.SMTP.Listen, "smtp.implicit_tls_listen": c.SMTP.ImplicitTLSListen,
		"http.listen": c.HTTP.Listen, "console.listen": c.Console.Listen}
}

func containerConfig(t *testing.T, path string) rawContainerConfig {
	t.Helper()
	var c rawContainerConfig
	if _, err := toml.DecodeFile(path, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// The container config (and the compose one built on it): all interfaces,
// data in the volume, TLS on, no accounts, no passwords; it passes
// `config check` with a certificate mounted, found through
// EGRESSGUARD_CONFIG as in the image, and refuses to run without one.
func TestContainerConfigCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	for _, src := range []string{"../../config/container.toml", "../../deploy/compose/egressguard.toml"} {
		t.Run(filepath.Base(filepath.Dir(src)), func(t *testing.T) {
			c := containerConfig(t, src)
			for key, addr := range c.listeners() {
				host, _, err := net.SplitHostPort(addr)
				if err != nil || (host != "" && host != "0.0.0.0" && host != "::") {
					t.Errorf("%s = %q: not all interfaces", key, addr)
				}
			}
			if c.DataDir != "/var/lib/egressguard" {
				t.Errorf("data_dir = %q", c.DataDir)
			}
			if c.SMTP.TLSCert == "" || c.Console.TLSCert == "" {
				t.Error("submission or console without TLS")
			}
			if len(c.Seed) != 0 {
				t.Errorf("seed users: %v", c.Seed)
			}
			text, _ := os.ReadFile(src)
			if regexp.MustCompile(`(?m)^\s*(password|auth_password)\s*=`).Match(text) || strings.Contains(c.Store.DSN, ":@") ||
				regexp.MustCompile(`postgres://[^/@:]+:[^@]+@`).MatchString(c.Store.DSN) {
				t.Error("a password in the container config")
			}

			dir, _ := containerFile(t, src)
			env := []string{"EGRESSGUARD_CONFIG=" + filepath.Join(dir, "egressguard.toml")}
			if out, err := runBinary(t, "", env, "config", "check"); err != nil || !strings.Contains(out, "egressguard.toml: ok") {
				t.Fatalf("config check: %v\n%s", err, out)
			}
			// Without the mounted certificate: refused, naming the key.
			os.RemoveAll(filepath.Join(dir, "tls"))
			out, err := runBinary(t, "", env, "config", "check")
			if err == nil || !strings.Contains(out, "smtp.tls_cert") || !strings.Contains(out, filepath.Join(dir, "tls", "fullchain.pem")) {
				t.Errorf("config check without certificate: %v\n%s", err, out)
			}
		})
	}
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The container config run for real: only its listen addresses (all
// interfaces there; loopback here) and its data directory (the volume) are
// mapped. Every listener answers as configured: STARTTLS on the submission
// port with AUTH only after it, implicit TLS, the console over HTTPS, the
// metrics listener with nothing but its three paths. No account exists
// until the first admin is added as the image's label says.
func TestContainerConfigServe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dir, pool := containerFile(t, "../../config/container.toml")
	cfgPath := filepath.Join(dir, "egressguard.toml")
	b, _ := os.ReadFile(cfgPath)
	text := string(b)
	addrs := map[string]string{}
	for _, port := range []string{"587", "465", "8025", "9025"} {
		addrs[port] = freePort(t)
		old := fmt.Sprintf(`listen = ":%s"`, port)
		if port == "465" {
			old = `implicit_tls_listen = ":465"`
		}
		if !strings.Contains(text, old) {
			t.Fatalf("container config lacks %s", old)
		}
		text = strings.Replace(text, old, strings.Replace(old, ":"+port, addrs[port], 1), 1)
	}
	text = strings.Replace(text, `data_dir = "/var/lib/egressguard"`, fmt.Sprintf("data_dir = %q", filepath.Join(dir, "volume")), 1)
	os.WriteFile(cfgPath, []byte(text), 0o600)
	env := []string{"EGRESSGUARD_CONFIG=" + cfgPath}

	cmd := exec.Command(binary(t), "serve")
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(strings.ToLower(stdout.String()), "demo settings") {
		if time.Now().After(deadline) {
			t.Fatal("no start-up banner")
		}
		time.Sleep(50 * time.Millisecond)
	}
	banner := stdout.String()
	for _, want := range []string{
		"egressguard test is running as egressguard.example.jp", // -X main.version, as the image is built
		addrs["587"] + " (STARTTLS)", addrs["465"] + " (implicit TLS)",
		"console       https://egressguard.example.jp:8025 (listening on " + addrs["8025"] + ")",
		"store         sqlite " + filepath.Join(dir, "volume", "egressguard.db"),
		"to the outbox folder " + filepath.Join(dir, "volume", "outbox"),
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	if !strings.Contains(banner, "NO ADMIN ACCOUNT yet; create the first one with\n    egressguard user add admin --role admin") {
		t.Errorf("banner does not say how to create the first admin:\n%s", banner)
	}
	if strings.Contains(banner, "account \"") || strings.Contains(banner, "without TLS") {
		t.Errorf("banner names demo accounts or missing TLS:\n%s", banner)
	}
	if strings.Contains(stderr.String(), "DEMO PASSWORD") {
		t.Error("demo password warning")
	}
	clientTLS := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}

	// 587: STARTTLS, AUTH only after it.
	c, err := smtp.Dial(addrs["587"])
	if err != nil {
		t.Fatal(err)
	}
	c.Hello("client.test")
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before STARTTLS")
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Error("STARTTLS not offered")
	}
	c.Close()
	c, err = smtp.DialStartTLS(addrs["587"], clientTLS)
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	c.Hello("client.test")
	if ok, _ := c.Extension("AUTH"); !ok {
		t.Error("no AUTH after STARTTLS")
	}
	// No account exists: nothing logs in.
	if err := c.Auth(sasl.NewPlainClient("", "demo", "demo-password")); err == nil {
		t.Error("demo account logged in")
	}
	c.Close()

	// 465: implicit TLS.
	c, err = smtp.DialTLS(addrs["465"], clientTLS)
	if err != nil {
		t.Fatalf("implicit TLS: %v", err)
	}
	c.Hello("client.test")
	if ok, _ := c.Extension("AUTH"); !ok {
		t.Error("no AUTH on implicit TLS")
	}
	c.Close()

	// Console over HTTPS, metrics listener limited to its paths.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS}}
	resp, err := hc.Get("https://" + addrs["8025"] + "/login")
	if err != nil {
		t.Fatalf("console: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("console /login: %s", resp.Status)
	}
	for path, code := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/debug/pprof/": 404, "/": 404} {
		resp, err := http.Get("http://" + addrs["9025"] + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("metrics listener %s: %d, want %d", path, resp.StatusCode, code)
		}
	}

	// The first admin, as the image's label says (docker exec runs the
	// binary with the image's EGRESSGUARD_CONFIG).
	out, err := runBinary(t, "", env, "user", "list")
	if err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("user list before the first admin: %v\n%s", err, out)
	}
	out, err = runBinary(t, "a-long-admin-password\n", env, "user", "add", "admin", "--role", "admin", "--role", "officer", "--address", "admin@example.jp", "--password-stdin")
	if err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	out, _ = runBinary(t, "", env, "user", "list")
	if !regexp.MustCompile(`(?m)^admin\s+admin,officer\s+admin@example.jp\s+active`).MatchString(out) {
		t.Errorf("user list:\n%s", out)
	}
}

// The compose file parses, runs the guard from this repository's
// Dockerfile with the compose config, keeps the database on an internal
// network and takes its password from the environment, never from a file
// in the repository.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("../../deploy/compose/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]struct {
			Image       string
			Build       struct{ Context string }
			Environment map[string]string
			Volumes     []string
			Ports       []string
			Networks    []string
			DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
		}
		Volumes  map[string]any
		Networks map[string]struct{ Internal bool }
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	db, guard := f.Services["db"], f.Services["guard"]
	if !strings.HasPrefix(db.Image, "postgres:") {
		t.Errorf("db image %q", db.Image)
	}
	if _, err := os.Stat(filepath.Join("../../deploy/compose", guard.Build.Context, "Dockerfile")); err != nil {
		t.Errorf("guard build context: %v", err)
	}
	if guard.DependsOn["db"].Condition != "service_healthy" {
		t.Errorf("guard does not wait for the database: %+v", guard.DependsOn)
	}
	pw := "${EGRESSGUARD_DB_PASSWORD:?"
	if !strings.HasPrefix(db.Environment["POSTGRES_PASSWORD"], pw) || !strings.HasPrefix(guard.Environment["PGPASSWORD"], pw) {
		t.Errorf("database password not from the environment: %v %v", db.Environment, guard.Environment)
	}
	mounts := strings.Join(guard.Volumes, " ")
	for _, m := range []string{"./egressguard.toml:/etc/egressguard/egressguard.toml:ro", "./tls:/etc/egressguard/tls:ro", ":/var/lib/egressguard"} {
		if !strings.Contains(mounts, m) {
			t.Errorf("guard lacks volume %q", m)
		}
	}
	ports := strings.Join(guard.Ports, " ")
	for _, p := range []string{`"587:587"`, `"465:465"`, `"8025:8025"`, `"127.0.0.1:9025:9025"`} {
		if !strings.Contains(ports, strings.Trim(p, `"`)) {
			t.Errorf("guard does not publish %s", p)
		}
	}
	if len(db.Ports) != 0 || len(db.Networks) != 1 || !f.Networks[db.Networks[0]].Internal {
		t.Errorf("database reachable from outside: ports %v networks %v", db.Ports, db.Networks)
	}
	c := containerConfig(t, "../../deploy/compose/egressguard.toml")
	if c.Store.Driver != "postgres" || !strings.Contains(c.Store.DSN, "@db:5432/") {
		t.Errorf("compose config store %+v", c.Store)
	}
}

// The systemd unit: a non-root user, 587 and 465 through one ambient
// capability, the usual hardening, reload by SIGHUP after a config check.
// systemd-analyze verifies it (with the binary's path mapped to the test
// build) and rates its exposure.
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile("../../deploy/egressguard.service")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && !strings.HasPrefix(k, "#") {
			keys[k] = append(keys[k], v)
		}
	}
	for k, want := range map[string]string{
		"User":                    "egressguard",
		"AmbientCapabilities":     "CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet":   "CAP_NET_BIND_SERVICE",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ReadWritePaths":          "/var/lib/egressguard",
		"PrivateTmp":              "yes",
		"ProtectHome":             "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"SystemCallFilter":        "@system-service",
		"ExecReload":              "/bin/kill -HUP $MAINPID",
		"Environment":             "EGRESSGUARD_CONFIG=/etc/egressguard/egressguard.toml",
	} {
		found := false
		for _, v := range keys[k] {
			found = found || v == want
		}
		if !found {
			t.Errorf("%s=%s missing (have %v)", k, want, keys[k])
		}
	}
	if testing.Short() {
		return
	}
	analyze := testenv.Program(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	unit := filepath.Join(dir, "egressguard.service")
	os.WriteFile(unit, bytes.ReplaceAll(b, []byte("/usr/local/bin/egressguard"), []byte(binary(t))), 0o644)
	cmd := exec.Command(analyze, "verify", unit)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// Exposure 0 (locked down) to 10 (unprotected); threshold is tenths.
	// Rating a unit file that is not installed needs systemd 250.
	v, _ := exec.Command(analyze, "--version").Output()
	if m := regexp.MustCompile(`^systemd (\d+)`).FindSubmatch(v); m == nil || atoi(string(m[1])) < 250 {
		t.Logf("systemd-analyze security --offline needs systemd 250; have %q", bytes.SplitN(v, []byte("\n"), 2)[0])
		return
	}
	cmd = exec.Command(analyze, "security", "--offline=true", "--threshold=25", unit)
	cmd.Dir = dir
	out, err = cmd.CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for egressguard.service: ([0-9.]+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Errorf("systemd-analyze security: %v\n%s", err, out)
	} else {
		t.Logf("systemd-analyze security: exposure %s", m[1])
	}
}

// CI runs README's test command verbatim, with CI set so that nothing is
// skipped for a missing tool.
func TestCIRunsREADMECommand(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^(\./scripts/test-deps\.sh && go test .*)$`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no test command")
	}
	for _, flag := range []string{" -race ", " -shuffle=on "} {
		if !strings.Contains(string(m[1]), flag) {
			t.Errorf("README's test command %q lacks %s", m[1], flag)
		}
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(string(m[1])) + `$`).Match(ci) {
		t.Errorf(".ci/run does not run README's command %q", m[1])
	}
	if !regexp.MustCompile(`(?m)^export CI=true$`).Match(ci) {
		t.Error(".ci/run does not export CI=true")
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
