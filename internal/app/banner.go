package app

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/account"
)

// Banner is the block `serve` prints once the guard listens: where passed
// mail goes, how the console is reached, what listens where, the store,
// and which settings are still demo settings. It is for the person who
// just started the guard; the JSON log says the same for machines.
func (a *App) Banner(version string) string {
	cfg := a.Cfg
	var b strings.Builder
	line := func(k, format string, args ...any) {
		fmt.Fprintf(&b, "  %-13s %s\n", k, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(&b, "egressguard %s is running as %s (instance %s)\n", version, cfg.Hostname, cfg.Instance)
	if u := cfg.Upstream; u.Address != "" {
		tls := "STARTTLS " + u.TLS
		if u.TLS == "none" {
			tls = "no TLS"
		}
		auth := "no AUTH"
		if u.AuthUser != "" {
			auth = "AUTH as " + u.AuthUser
		}
		line("passed mail", "to the smarthost %s (%s, %s)", u.Address, tls, auth)
	} else {
		line("passed mail", "to the outbox folder %s (no smarthost: nothing is delivered)", absPath(cfg.Path(u.OutboxDir)))
	}
	if a.ConsoleAddr() != "" {
		line("console", "%s (listening on %s)", a.ConsoleURL(), a.ConsoleAddr())
	} else {
		line("console", "off (console.listen is empty)")
	}
	starttls := "STARTTLS"
	if cfg.SMTP.TLSConfig == nil {
		starttls = "no TLS"
	}
	line("submission", "%s (%s)", a.SMTPAddr(), starttls)
	if a.SMTPTLSAddr() != "" {
		line("submission", "%s (implicit TLS)", a.SMTPTLSAddr())
	}
	if len(cfg.SMTP.Trusted) > 0 {
		nets := make([]string, len(cfg.SMTP.Trusted))
		for i, p := range cfg.SMTP.Trusted {
			nets[i] = p.String()
		}
		line("trusted", "%s (relay without AUTH)", strings.Join(nets, ", "))
	}
	if a.HTTPAddr() != "" {
		what := "/metrics /healthz /readyz"
		if cfg.HTTP.Pprof {
			what += " /debug/pprof/"
		}
		line("metrics", "%s (%s)", a.HTTPAddr(), what)
	}
	enc := "bodies in the clear"
	if cfg.Store.KeyFile != "" {
		enc = "bodies encrypted"
	}
	switch cfg.Store.Driver {
	case "postgres":
		line("store", "postgres %s (%s)", redactDSN(cfg.Store.DSN), enc)
	default:
		line("store", "%s %s (%s)", cfg.Store.Driver, absPath(cfg.Path(cfg.Store.Path)), enc)
	}
	if !a.hasAdmin() {
		b.WriteString("  NO ADMIN ACCOUNT yet; create the first one with\n" +
			"    egressguard user add admin --role admin --role officer --address admin@YOUR-DOMAIN\n")
	}
	if demo := a.DemoSettings(); len(demo) > 0 {
		b.WriteString("  DEMO SETTINGS still in use; change them before production:\n")
		for _, d := range demo {
			b.WriteString("    - " + d + "\n")
		}
	} else {
		b.WriteString("  no demo settings in use\n")
	}
	return b.String()
}

// hasAdmin reports whether an enabled admin account exists (true if the
// store cannot say: the banner must not send anyone to create a second).
func (a *App) hasAdmin() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	users, err := a.Accounts.List(ctx)
	if err != nil {
		return true
	}
	for _, u := range users {
		if !u.Disabled && account.HasRole(u, account.RoleAdmin) {
			return true
		}
	}
	return false
}

// ConsoleURL is how users reach the console: console.base_url, or, when
// that was derived from a wildcard or port-0 listen address, the address
// the console is bound to.
func (a *App) ConsoleURL() string {
	if a.consoleLn == nil {
		return ""
	}
	if !placeholderURL(a.Cfg.Console.BaseURL) {
		return a.Cfg.Console.BaseURL
	}
	scheme := "http"
	if a.Cfg.Console.TLSConfig != nil {
		scheme = "https"
	}
	return scheme + "://" + a.ConsoleAddr()
}

// DemoSettings lists the settings that are fine for trying the guard out
// and wrong in production, each with what to do about it.
func (a *App) DemoSettings() []string {
	cfg := a.Cfg
	var out []string
	for _, name := range a.demo {
		out = append(out, fmt.Sprintf("account %q still has the password from the config file ([[seed_user]]): change it (egressguard user passwd %s) or remove the entry", name, name))
	}
	if cfg.SMTP.TLSConfig == nil {
		out = append(out, "submission without TLS (smtp.tls_cert, smtp.tls_key): passwords and mail cross the network in clear")
	}
	if a.Console != nil && cfg.Console.TLSConfig == nil && !strings.HasPrefix(cfg.Console.BaseURL, "https://") {
		out = append(out, "console without TLS (console.tls_cert, or an https:// console.base_url behind a TLS proxy): console passwords cross the network in clear")
	}
	if a.Console != nil && placeholderURL(cfg.Console.BaseURL) {
		out = append(out, fmt.Sprintf("console.base_url is not set: links in notices would point to %s, which nobody can open", cfg.Console.BaseURL))
	} else if u, err := url.Parse(cfg.Console.BaseURL); a.Console != nil && err == nil && exampleDomain(u.Hostname()) {
		out = append(out, fmt.Sprintf("console.base_url is still the example %q: links in notices point there", cfg.Console.BaseURL))
	}
	if cfg.Upstream.Address == "" {
		out = append(out, "no smarthost (upstream.address): passed mail is written to the outbox folder and not delivered")
	} else if cfg.Upstream.TLS == "none" || cfg.Upstream.InsecureSkipVerify {
		out = append(out, "upstream without verified TLS (upstream.tls, upstream.insecure_skip_verify)")
	}
	for _, d := range cfg.Policy.InternalDomains {
		if exampleDomain(d) {
			out = append(out, fmt.Sprintf("policy.internal_domains still names the example domain %q", d))
		}
	}
	if len(cfg.Notify.Officers) == 0 && cfg.Notify.WebhookURL == "" {
		out = append(out, "notify.officers is empty (and no webhook_url): nobody is told when mail is held")
	}
	if exampleDomain(cfg.Hostname) {
		out = append(out, fmt.Sprintf("hostname is still the example %q", cfg.Hostname))
	}
	return out
}

// exampleDomain reports the domains reserved for documentation (RFC 2606,
// and example.jp, which JPRS reserves), as the example config uses them.
func exampleDomain(d string) bool {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	for _, e := range []string{"example.jp", "example.com", "example.net", "example.org", "example"} {
		if d == e || strings.HasSuffix(d, "."+e) {
			return true
		}
	}
	return false
}

// placeholderURL reports a console URL derived from a listen address that
// no client can use (":8025", "0.0.0.0:8025", port 0).
func placeholderURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return true
	}
	host, port := u.Hostname(), u.Port()
	if host == "" || port == "0" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

var dsnPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|\S+)`)

// redactDSN hides the password of a PostgreSQL connection string.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return dsnPassword.ReplaceAllString(dsn, "${1}xxxxx")
}
