package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/store"
)

// Published chain head. The hash chain shows any change to an entry and
// any gap, but not that its newest entries were deleted: the shortened
// chain is still a valid chain. So the guard publishes its chain head
// outside the database at intervals: a checkpoint (the newest entry's
// sequence number and hash, signed with Ed25519) is appended to the audit
// log itself, to a file on other storage and to the webhook. VerifyHead
// checks the database against the newest published checkpoint: entries up
// to it must all be there, unchanged.

const (
	privPrefix = "ed25519-private:"
	pubPrefix  = "ed25519:"
)

// NewSigningKey returns a new key as a line for the key file, and its
// public key as text (for `audit verify --pubkey`).
func NewSigningKey() (keyLine, public string) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return privPrefix + base64.StdEncoding.EncodeToString(priv.Seed()), PublicKeyString(pub)
}

// LoadSigningKey reads a key file written by NewSigningKey (blank lines and
// lines starting with # are ignored).
func LoadSigningKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		enc, ok := strings.CutPrefix(line, privPrefix)
		seed, err := base64.StdEncoding.DecodeString(enc)
		if !ok || err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("audit signing key %s: not a key line (%s...)", path, privPrefix)
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	return nil, fmt.Errorf("audit signing key %s: no key in the file", path)
}

// PublicKeyString is the text form of a public key.
func PublicKeyString(pub ed25519.PublicKey) string {
	return pubPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads the text form of a public key.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	enc, ok := strings.CutPrefix(strings.TrimSpace(s), pubPrefix)
	b, err := base64.StdEncoding.DecodeString(enc)
	if !ok || err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("audit public key: want %s followed by base64", pubPrefix)
	}
	return ed25519.PublicKey(b), nil
}

// AppendCheckpoint signs the chain head inside tx and appends the
// checkpoint entry. It returns nil (and appends nothing) when the chain is
// empty or nothing was added since the last checkpoint, so an idle guard
// does not grow its log; of several instances sharing a store, the first
// to run writes the checkpoint and the others find nothing new.
func AppendCheckpoint(tx Appender, key ed25519.PrivateKey, now time.Time, instance string) (*Checkpoint, error) {
	last, err := tx.LastAudit()
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if last == nil || last.Action == ActionAuditCheckpoint {
		return nil, nil
	}
	cp := Sign(key, last)
	cp.At = now.UTC().Truncate(time.Millisecond)
	cp.Instance = instance
	_, err = Append(tx, now, Event{Actor: "system", Action: ActionAuditCheckpoint, Data: map[string]any{
		"seq": cp.Seq, "hash": hex.EncodeToString(cp.Hash), "sig": base64.StdEncoding.EncodeToString(cp.Signature),
		"instance": instance,
	}})
	if err != nil {
		return nil, err
	}
	return &cp, nil
}

// WriteCheckpointFile appends cp to the file at path as one JSON line and
// syncs it.
func WriteCheckpointFile(path string, cp *Checkpoint) error {
	line, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadCheckpointFile returns the checkpoint with the highest sequence
// number in a file written by WriteCheckpointFile. A last line without its
// newline (a write cut short) is ignored; any other unreadable line is an
// error.
func ReadCheckpointFile(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var newest *Checkpoint
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var cp Checkpoint
		if err := json.Unmarshal(line, &cp); err != nil || cp.Seq <= 0 {
			if !bytes.HasSuffix(b, []byte("\n")) && bytes.HasSuffix(bytes.TrimSpace(b), line) {
				break // the last line, cut short
			}
			return nil, fmt.Errorf("%s line %d: not a checkpoint", path, n)
		}
		if newest == nil || cp.Seq > newest.Seq {
			newest = &cp
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if newest == nil {
		return nil, fmt.Errorf("%s: no checkpoints", path)
	}
	return newest, nil
}

// VerifyHead verifies the chain (as Verify) and then checks it against the
// published checkpoint cp, signed by pub: the entry cp covers must still be
// there with the signed hash, and so every entry before it (the chain
// links them). It returns the number of entries checked, an *ErrBroken
// naming the first missing or changed entry, or ErrCheckpoint for a
// checkpoint that pub did not sign.
func VerifyHead(ctx context.Context, r Reader, pub ed25519.PublicKey, cp *Checkpoint) (int64, error) {
	if !ed25519.Verify(pub, checkpointMessage(cp.Seq, cp.Hash), cp.Signature) {
		return 0, fmt.Errorf("%w: bad signature for entry %d (wrong public key, or the checkpoint was altered)", ErrCheckpoint, cp.Seq)
	}
	n, first, last, err := walk(ctx, r)
	if err != nil {
		return n, err
	}
	when := ""
	if !cp.At.IsZero() {
		when = " of " + cp.At.UTC().Format(time.RFC3339)
	}
	if last == nil || last.Seq < cp.Seq {
		var head int64
		if last != nil {
			head = last.Seq
		}
		return n, &ErrBroken{Seq: head + 1, Reason: fmt.Sprintf(
			"entries %d to %d are missing: the log ends at entry %d, but the checkpoint%s covers entry %d (the newest entries were deleted)",
			head+1, cp.Seq, head, when, cp.Seq)}
	}
	if first.Seq > cp.Seq {
		// Purged by retention (walk checked that the purge is
		// recorded); the chain from the purge on is intact and reaches
		// past the checkpoint.
		return n, nil
	}
	es, err := r.Audit(ctx, store.AuditFilter{AfterSeq: cp.Seq - 1, Limit: 1})
	if err != nil {
		return n, err
	}
	if len(es) == 0 || es[0].Seq != cp.Seq {
		return n, &ErrBroken{Seq: cp.Seq, Reason: "entry missing"} // walk would have seen the gap
	}
	if !bytes.Equal(es[0].Hash, cp.Hash) {
		return n, &ErrBroken{Seq: cp.Seq, Reason: fmt.Sprintf("does not match the signed checkpoint%s: the chain was rewritten up to here", when)}
	}
	return n, nil
}
