package audit_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlite"
)

func testKey(t *testing.T) (ed25519.PrivateKey, ed25519.PublicKey) {
	t.Helper()
	line, public := audit.NewSigningKey()
	path := filepath.Join(t.TempDir(), "audit.key")
	if err := os.WriteFile(path, []byte("# audit signing key\n"+line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	priv, err := audit.LoadSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := audit.ParsePublicKey(public)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatal("public key does not belong to the private key")
	}
	return priv, pub
}

// checkpointed builds a chain of n entries, appends a checkpoint of its
// head (entry n+1 records it), writes it to a checkpoint file, and then
// adds more entries. It returns the database and checkpoint file paths.
func checkpointed(t *testing.T, n, more int, key ed25519.PrivateKey) (db, cpFile string) {
	t.Helper()
	db = chain(t, n)
	cpFile = filepath.Join(t.TempDir(), "checkpoints.jsonl")
	st, err := sqlite.Open(db, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	var cp *audit.Checkpoint
	err = st.Update(context.Background(), func(tx store.Tx) error {
		cp, err = audit.AppendCheckpoint(tx, key, at, "guard-1")
		return err
	})
	if err != nil || cp == nil || cp.Seq != int64(n) {
		t.Fatalf("checkpoint %+v %v", cp, err)
	}
	if err := audit.WriteCheckpointFile(cpFile, cp); err != nil {
		t.Fatal(err)
	}
	// Nothing new: no second checkpoint.
	err = st.Update(context.Background(), func(tx store.Tx) error {
		cp, err = audit.AppendCheckpoint(tx, key, at.Add(time.Hour), "guard-1")
		return err
	})
	if err != nil || cp != nil {
		t.Fatalf("checkpoint of an unchanged chain: %+v %v", cp, err)
	}
	for i := range more {
		err := st.Update(context.Background(), func(tx store.Tx) error {
			_, err := audit.Append(tx, at.Add(time.Duration(i)*time.Minute), audit.Event{Actor: "olga", Action: "hold.approve"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return db, cpFile
}

func verifyHead(t *testing.T, db, cpFile string, pub ed25519.PublicKey) (int64, error) {
	t.Helper()
	cp, err := audit.ReadCheckpointFile(cpFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(db, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return audit.VerifyHead(context.Background(), st, pub, cp)
}

func execSQL(t *testing.T, db, q string) {
	t.Helper()
	d, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyHeadDetectsTruncation: deleting the newest entries leaves a
// valid chain, which Verify alone accepts; against the published
// checkpoint it fails and names the missing range.
func TestVerifyHeadDetectsTruncation(t *testing.T) {
	priv, pub := testKey(t)
	db, cpFile := checkpointed(t, 20, 5, priv) // 20 entries, checkpoint (21), 5 more (22-26)
	if n, err := verifyHead(t, db, cpFile, pub); err != nil || n != 26 {
		t.Fatalf("untouched: %d %v", n, err)
	}

	execSQL(t, db, "DELETE FROM audit WHERE seq > 17")
	if n, err := verifyFile(t, db); err != nil || n != 17 {
		t.Fatalf("the chain alone should not see the truncation: %d %v", n, err)
	}
	_, err := verifyHead(t, db, cpFile, pub)
	var broken *audit.ErrBroken
	if !errors.As(err, &broken) || broken.Seq != 18 || !strings.Contains(broken.Reason, "entries 18 to 20 are missing") {
		t.Fatalf("truncation not detected: %v", err)
	}
}

func TestVerifyHeadCases(t *testing.T) {
	priv, pub := testKey(t)
	otherPub, _, _ := ed25519.GenerateKey(nil)
	cases := []struct {
		name string
		sql  string
		pub  ed25519.PublicKey
		want int64 // 0: passes; -1: ErrCheckpoint
	}{
		{"untouched", "", pub, 0},
		// Entries after the checkpoint: only the next checkpoint can tell.
		{"newer than the checkpoint deleted", "DELETE FROM audit WHERE seq > 21", pub, 0},
		{"checkpointed entry deleted", "DELETE FROM audit WHERE seq >= 20", pub, 20},
		{"everything deleted", "DELETE FROM audit", pub, 1},
		{"checkpointed entry rewritten", "UPDATE audit SET hash = zeroblob(32) WHERE seq = 20", pub, 20},
		{"gap before the checkpoint", "DELETE FROM audit WHERE seq = 10", pub, 10},
		{"other key", "", otherPub, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, cpFile := checkpointed(t, 20, 5, priv)
			if c.sql != "" {
				execSQL(t, db, c.sql)
			}
			_, err := verifyHead(t, db, cpFile, c.pub)
			var broken *audit.ErrBroken
			switch {
			case c.want == 0 && err != nil:
				t.Errorf("failed: %v", err)
			case c.want == -1 && !errors.Is(err, audit.ErrCheckpoint):
				t.Errorf("want ErrCheckpoint, got %v", err)
			case c.want > 0 && (!errors.As(err, &broken) || broken.Seq != c.want):
				t.Errorf("want entry %d named, got %v", c.want, err)
			}
		})
	}
}

// TestVerifyHeadRewrittenChain: rewriting the checkpointed entry and
// everything after it consistently (hashes recomputed) passes Verify but
// not the checkpoint.
func TestVerifyHeadRewrittenChain(t *testing.T) {
	priv, pub := testKey(t)
	db, cpFile := checkpointed(t, 5, 0, priv)
	st, err := sqlite.Open(db, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	es, _ := st.Audit(context.Background(), store.AuditFilter{})
	st.Close()
	d, _ := sql.Open("sqlite", db)
	defer d.Close()
	prev := es[3].Hash
	for _, e := range es[4:] {
		if e.Seq == 5 {
			e.Actor = "mallory"
		}
		e.Prev = prev
		e.Hash = audit.Hash(e)
		prev = e.Hash
		if _, err := d.Exec("UPDATE audit SET actor = ?, prev = ?, hash = ? WHERE seq = ?", e.Actor, e.Prev, e.Hash, e.Seq); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := verifyFile(t, db); err != nil {
		t.Fatalf("consistent rewrite should pass the chain check: %v", err)
	}
	_, err = verifyHead(t, db, cpFile, pub)
	var broken *audit.ErrBroken
	if !errors.As(err, &broken) || broken.Seq != 5 {
		t.Errorf("rewrite not detected: %v", err)
	}
}

func TestCheckpointFile(t *testing.T) {
	priv, _ := testKey(t)
	path := filepath.Join(t.TempDir(), "cp.jsonl")
	for _, seq := range []int64{3, 9, 7} {
		e := &store.AuditEntry{Seq: seq, Hash: make([]byte, 32)}
		cp := audit.Sign(priv, e)
		if err := audit.WriteCheckpointFile(path, &cp); err != nil {
			t.Fatal(err)
		}
	}
	// A write cut short at the end is ignored.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":12,"ha`)
	f.Close()
	cp, err := audit.ReadCheckpointFile(path)
	if err != nil || cp.Seq != 9 {
		t.Fatalf("newest %+v %v", cp, err)
	}
	// Garbage in the middle is an error.
	os.WriteFile(path, []byte("{\"seq\":1}\nnot json\n{\"seq\":2}\n"), 0o600)
	if _, err := audit.ReadCheckpointFile(path); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("garbage accepted: %v", err)
	}
	if _, err := audit.ParsePublicKey("ed25519:AAAA"); err == nil {
		t.Error("short public key accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(bad, []byte("ed25519-private:xyz\n"), 0o600)
	if _, err := audit.LoadSigningKey(bad); err == nil {
		t.Error("bad key file accepted")
	}
}
