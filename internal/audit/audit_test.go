package audit_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlite"
)

// chain builds a store with n audit entries and returns its path.
func chain(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "eg.db")
	st, err := sqlite.Open(path, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		err := st.Update(context.Background(), func(tx store.Tx) error {
			_, err := audit.Append(tx, at.Add(time.Duration(i)*time.Minute), audit.Event{
				Actor: fmt.Sprintf("user%d", i%3), Action: "hold.approve", MsgID: fmt.Sprintf("msg%d", i),
				Data: map[string]any{"i": i, "comment": "<b>ok</b> 了解"}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func verifyFile(t *testing.T, path string) (int64, error) {
	t.Helper()
	st, err := sqlite.Open(path, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return audit.Verify(context.Background(), st)
}

func TestVerifyIntact(t *testing.T) {
	path := chain(t, 20)
	n, err := verifyFile(t, path)
	if err != nil || n != 20 {
		t.Fatalf("verify: %d %v", n, err)
	}
}

// TestTamperDetected changes every field of an entry in the database
// file, deletes and reorders entries: verify fails and names the entry.
func TestTamperDetected(t *testing.T) {
	cases := []struct {
		name string
		sql  string
		want int64
	}{
		{"at", "UPDATE audit SET at = at + 1 WHERE seq = 7", 7},
		{"actor", "UPDATE audit SET actor = 'mallory' WHERE seq = 7", 7},
		{"action", "UPDATE audit SET action = 'hold.reject' WHERE seq = 7", 7},
		{"msg_id", "UPDATE audit SET msg_id = 'other' WHERE seq = 7", 7},
		{"data", "UPDATE audit SET data = CAST('{\"i\":99}' AS BLOB) WHERE seq = 7", 7},
		{"prev", "UPDATE audit SET prev = zeroblob(32) WHERE seq = 7", 7},
		{"hash", "UPDATE audit SET hash = zeroblob(32) WHERE seq = 7", 7},
		{"first prev", "UPDATE audit SET prev = randomblob(32) WHERE seq = 1", 1},
		{"last entry", "UPDATE audit SET actor = 'mallory' WHERE seq = 20", 20},
		{"delete", "DELETE FROM audit WHERE seq = 7", 7},
		{"delete first", "DELETE FROM audit WHERE seq = 1", 1},
		{"delete oldest three", "DELETE FROM audit WHERE seq <= 3", 1},
		{"reorder", `UPDATE audit SET seq = CASE seq WHEN 7 THEN -8 WHEN 8 THEN -7 END WHERE seq IN (7, 8);
			UPDATE audit SET seq = -seq WHERE seq < 0`, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := chain(t, 20)
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(c.sql); err != nil {
				t.Fatal(err)
			}
			db.Close()
			n, err := verifyFile(t, path)
			var broken *audit.ErrBroken
			if !errors.As(err, &broken) {
				t.Fatalf("tampering not detected: %d entries verified, err %v", n, err)
			}
			if broken.Seq != c.want {
				t.Errorf("named entry %d, want %d (%v)", broken.Seq, c.want, broken)
			}
		})
	}
}

// TestCheckpoint: a signed checkpoint detects a rewrite of the whole chain
// from that entry on, which the chain alone cannot.
func TestCheckpoint(t *testing.T) {
	ctx := context.Background()
	pub, priv, _ := ed25519.GenerateKey(nil)
	path := chain(t, 5)
	st, err := sqlite.Open(path, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	es, _ := st.Audit(ctx, store.AuditFilter{})
	cp := audit.Sign(priv, es[4])
	if err := audit.VerifyCheckpoint(ctx, st, pub, cp); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Rewrite entry 5 consistently (recompute its hash): the chain verifies,
	// the checkpoint does not.
	e := es[4]
	e.Actor = "mallory"
	e.Hash = audit.Hash(e)
	db, _ := sql.Open("sqlite", path)
	if _, err := db.Exec("UPDATE audit SET actor = ?, hash = ? WHERE seq = 5", e.Actor, e.Hash); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := verifyFile(t, path); err != nil {
		t.Fatalf("consistent rewrite of the head should pass the chain check: %v", err)
	}
	st, _ = sqlite.Open(path, zaptest.NewLogger(t))
	defer st.Close()
	if err := audit.VerifyCheckpoint(ctx, st, pub, cp); !errors.Is(err, audit.ErrCheckpoint) {
		t.Errorf("rewrite not detected by the checkpoint: %v", err)
	}
	cp.Signature[0] ^= 1
	if err := audit.VerifyCheckpoint(ctx, st, pub, cp); !errors.Is(err, audit.ErrCheckpoint) {
		t.Errorf("bad signature accepted: %v", err)
	}
}
