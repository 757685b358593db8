package app

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

// TestCheckpointPublished: with a signing key configured, the chain head is
// published at start in the log (an audit.checkpoint entry), the checkpoint
// file and the webhook, all the same signed checkpoint; an idle guard adds
// no more of them.
func TestCheckpointPublished(t *testing.T) {
	var (
		mu     sync.Mutex
		events []map[string]any
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}))
	defer hook.Close()
	dir := t.TempDir()
	line, public := audit.NewSigningKey()
	os.WriteFile(filepath.Join(dir, "audit.key"), []byte(line+"\n"), 0o600)
	cpFile := filepath.Join(dir, "cp.jsonl")
	up := fakesmtp.Start(t)
	cfg := testConfig(t, up.Addr(), `
[notify]
webhook_url = "`+hook.URL+`"
[audit]
checkpoint_key_file = "`+filepath.Join(dir, "audit.key")+`"
checkpoint_file = "`+cpFile+`"
checkpoint_interval = "50ms"
`)
	a := startApp(t, cfg)
	pub, _ := audit.ParsePublicKey(public)

	var ev map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for ev == nil {
		mu.Lock()
		for _, e := range events {
			if e["event"] == audit.ActionAuditCheckpoint {
				ev = e
			}
		}
		mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint posted to the webhook")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cp, err := audit.ReadCheckpointFile(cpFile)
	if err != nil {
		t.Fatal(err)
	}
	if ev["seq"] != float64(cp.Seq) || ev["hash"] != hex.EncodeToString(cp.Hash) ||
		ev["sig"] != base64.StdEncoding.EncodeToString(cp.Signature) || ev["public_key"] != public {
		t.Errorf("webhook %v, file %+v", ev, cp)
	}
	if _, err := audit.VerifyHead(context.Background(), a.Store, pub, cp); err != nil {
		t.Errorf("verify against the published head: %v", err)
	}
	es, err := a.Store.Audit(context.Background(), store.AuditFilter{AfterSeq: cp.Seq})
	if err != nil || len(es) == 0 || es[0].Action != audit.ActionAuditCheckpoint {
		t.Fatalf("no checkpoint entry after entry %d: %v", cp.Seq, err)
	}
	var d map[string]any
	json.Unmarshal(es[0].Data, &d)
	if d["seq"] != float64(cp.Seq) || d["hash"] != ev["hash"] || d["sig"] != ev["sig"] {
		t.Errorf("log entry %v", d)
	}
	// Idle: three more passes of the checkpointer, nothing new to sign.
	after := a.checkpoints.passes.Load() + 3
	waitFor(t, "three checkpointer passes", func() bool { return a.checkpoints.passes.Load() >= after })
	if n, _ := a.Store.Audit(context.Background(), store.AuditFilter{AfterSeq: cp.Seq + 1}); len(n) != 0 {
		t.Errorf("%d entries added by an idle guard", len(n))
	}
}
