package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/app"
	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/fakesmtp"
)

// TestAuditVerifyHead: the guard publishes signed checkpoints of its audit
// chain to a file; `audit verify --head` passes on the untouched database
// and fails, naming the missing entries, once the newest entries are
// deleted (which plain `audit verify` cannot see).
func TestAuditVerifyHead(t *testing.T) {
	up := fakesmtp.Start(t)
	dir := t.TempDir()
	code, keyOut, _ := runMain(t, "audit", "keygen")
	if code != 0 || !strings.Contains(keyOut, "ed25519-private:") {
		t.Fatalf("keygen: %d %q", code, keyOut)
	}
	public := keyOut[strings.Index(keyOut, "ed25519:"):]
	public = public[:strings.IndexByte(public, '\n')]
	if err := os.WriteFile(filepath.Join(dir, "audit.key"), []byte(keyOut), 0o600); err != nil {
		t.Fatal(err)
	}
	cpFile := filepath.Join(dir, "elsewhere", "checkpoints.jsonl")
	os.MkdirAll(filepath.Dir(cpFile), 0o700)
	cfgPath := writeConfig(t, dir, "127.0.0.1:0", up.Addr())
	b, _ := os.ReadFile(cfgPath)
	b = append(b, []byte("[audit]\ncheckpoint_key_file = \"audit.key\"\ncheckpoint_file = \""+cpFile+"\"\ncheckpoint_interval = \"100ms\"\n")...)
	os.WriteFile(cfgPath, b, 0o600)
	cfg, err := app.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}

	a, err := app.Open(context.Background(), cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := sendTrusted(a.SMTPAddr(), i); err != nil {
			t.Fatal(err)
		}
	}
	// Periodic checkpoints: one soon covers the three acceptances.
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp, err := audit.ReadCheckpointFile(cpFile)
		if err == nil && cp.Seq >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint covering the acceptances: %+v %v", cp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cp, err := audit.ReadCheckpointFile(cpFile)
	if err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runMain(t, "audit", "verify", "--config", cfgPath, "--head", cpFile)
	if code != 0 || !strings.Contains(out, "ok:") {
		t.Fatalf("untouched: %d %s %s", code, out, errOut)
	}
	code, out, _ = runMain(t, "audit", "verify", "--config", cfgPath, "--head", cpFile, "--pubkey", public)
	if code != 0 {
		t.Fatalf("with --pubkey: %d %s", code, out)
	}

	// Delete the newest entries, down to two before the checkpoint.
	db, err := sql.Open("sqlite", cfg.Path(cfg.Store.Path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM audit WHERE seq > ?", cp.Seq-2); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if code, out, _ := runMain(t, "audit", "verify", "--config", cfgPath); code != 0 {
		t.Fatalf("plain verify should still pass (the truncation is what it cannot see): %d %s", code, out)
	}
	code, out, _ = runMain(t, "audit", "verify", "--config", cfgPath, "--head", cpFile)
	want := "entries " + itoa(cp.Seq-1) + " to " + itoa(cp.Seq) + " are missing"
	if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, want) {
		t.Fatalf("truncation: exit %d %q, want %q", code, out, want)
	}
	// A checkpoint from another key is refused.
	_, other := audit.NewSigningKey()
	if code, out, _ := runMain(t, "audit", "verify", "--config", cfgPath, "--head", cpFile, "--pubkey", other); code != 1 || !strings.Contains(out, "signature") {
		t.Errorf("other key: %d %s", code, out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
