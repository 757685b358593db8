package config

import (
	"errors"
	"testing"
)

// implicit_tls_listen needs the certificate and a port of its own; pprof
// is off unless set.
func TestImplicitTLSListen(t *testing.T) {
	keys := func(text string) map[string]bool {
		t.Helper()
		_, err := Parse([]byte(text), "t.toml", t.TempDir())
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("want problems, got %v", err)
		}
		m := map[string]bool{}
		for _, p := range ce.Problems {
			m[p.Key] = true
		}
		return m
	}
	if k := keys("[smtp]\nimplicit_tls_listen = \":465\"\n"); !k["smtp.implicit_tls_listen"] {
		t.Errorf("no certificate: %v", k)
	}
	if k := keys("[smtp]\nimplicit_tls_listen = \"465\"\n"); !k["smtp.implicit_tls_listen"] {
		t.Errorf("not host:port: %v", k)
	}
	if k := keys("[smtp]\nlisten = \":587\"\nimplicit_tls_listen = \":587\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n"); !k["smtp.implicit_tls_listen"] {
		t.Errorf("same port: %v", k)
	}
	cfg, err := Parse([]byte(""), "t.toml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SMTP.ImplicitTLSListen != "" || cfg.HTTP.Pprof {
		t.Errorf("defaults: implicit TLS %q, pprof %v", cfg.SMTP.ImplicitTLSListen, cfg.HTTP.Pprof)
	}
}
