// Package audit keeps the guard's tamper-evident record of who did what and
// when. Each entry carries the SHA-256 of the previous entry and a SHA-256
// over its own canonical encoding, so changing, deleting or reordering any
// entry breaks the chain at that entry. Entries are appended inside the
// store transaction of the action they record: no action without its
// entry, no entry without its action.
package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/egressguard/egressguard/internal/store"
)

// Appender is what Append needs of a store transaction.
type Appender interface {
	// LastAudit returns the newest entry (nil if there is none) and holds
	// the chain for the rest of the transaction, so that concurrent
	// appenders serialise.
	LastAudit() (*store.AuditEntry, error)
	InsertAudit(e *store.AuditEntry) error
}

// Reader is what Verify and Export need of a store.
type Reader interface {
	Audit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEntry, error)
}

// domain separates this hash from any other use of SHA-256.
const domain = "egressguard-audit-v1\n"

var zeroHash = make([]byte, sha256.Size)

// Hash computes an entry's hash over its canonical encoding: the domain
// string, then Seq and At (milliseconds) as 8-byte big-endian integers,
// then Actor, Action, MsgID and Data each prefixed with its 4-byte length,
// then Prev.
func Hash(e *store.AuditEntry) []byte {
	h := sha256.New()
	h.Write([]byte(domain))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.At.UnixMilli()))
	h.Write(n[:])
	for _, f := range [][]byte{[]byte(e.Actor), []byte(e.Action), []byte(e.MsgID), e.Data} {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(f)))
		h.Write(l[:])
		h.Write(f)
	}
	h.Write(e.Prev)
	return h.Sum(nil)
}

// Event is what an action records.
type Event struct {
	Actor  string
	Action string
	MsgID  string
	Data   map[string]any // details; encoded as JSON with sorted keys
}

// Append adds ev to the chain inside tx, at time now.
func Append(tx Appender, now time.Time, ev Event) (*store.AuditEntry, error) {
	data, err := canonical(ev.Data)
	if err != nil {
		return nil, fmt.Errorf("audit: encode %s: %w", ev.Action, err)
	}
	last, err := tx.LastAudit()
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	e := &store.AuditEntry{
		Seq:    1,
		At:     now.UTC().Truncate(time.Millisecond),
		Actor:  ev.Actor,
		Action: ev.Action,
		MsgID:  ev.MsgID,
		Data:   data,
		Prev:   zeroHash,
	}
	if last != nil {
		e.Seq = last.Seq + 1
		e.Prev = last.Hash
	}
	e.Hash = Hash(e)
	if err := tx.InsertAudit(e); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return e, nil
}

// canonical encodes details as a JSON object with sorted keys (encoding/json
// sorts map keys) and no HTML escaping.
func canonical(d map[string]any) ([]byte, error) {
	if d == nil {
		d = map[string]any{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// ErrBroken reports the first entry at which the chain does not verify.
type ErrBroken struct {
	Seq    int64 // the entry that does not match (or the first missing sequence number)
	Reason string
}

func (e *ErrBroken) Error() string {
	return fmt.Sprintf("audit chain broken at entry %d: %s", e.Seq, e.Reason)
}

// Verify walks the whole chain and returns how many entries it checked, or
// an *ErrBroken naming the first entry that does not match. The oldest
// remaining entry anchors the chain (older ones may have been purged by
// retention). The chain alone cannot show that its newest entries were
// deleted: VerifyHead checks it against a published checkpoint.
func Verify(ctx context.Context, r Reader) (int64, error) {
	n, _, _, err := walk(ctx, r)
	return n, err
}

// walk verifies the chain and returns the number of entries, the oldest
// and the newest.
func walk(ctx context.Context, r Reader) (n int64, first, last *store.AuditEntry, err error) {
	var (
		prev   *store.AuditEntry
		purged []int64 // through_seq of every recorded purge
	)
	const batch = 5000
	after := int64(0)
	for {
		entries, err := r.Audit(ctx, store.AuditFilter{AfterSeq: after, Limit: batch})
		if err != nil {
			return n, first, prev, err
		}
		for _, e := range entries {
			if err := check(prev, e); err != nil {
				return n, first, prev, err
			}
			if prev == nil {
				first = e
			}
			if e.Action == ActionAuditPurge {
				var d struct {
					Through int64 `json:"through_seq"`
				}
				if json.Unmarshal(e.Data, &d) == nil {
					purged = append(purged, d.Through)
				}
			}
			prev = e
			n++
		}
		if len(entries) < batch {
			break
		}
		after = entries[len(entries)-1].Seq
	}
	// The oldest entries may only be missing because a recorded purge
	// removed them.
	if first != nil && first.Seq > 1 {
		var best int64
		for _, t := range purged {
			if t == first.Seq-1 {
				return n, first, prev, nil
			}
			if t < first.Seq && t > best {
				best = t
			}
		}
		return n, first, prev, &ErrBroken{Seq: best + 1, Reason: fmt.Sprintf("entries %d to %d are missing and no purge of them is recorded", best+1, first.Seq-1)}
	}
	return n, first, prev, nil
}

func check(prev, e *store.AuditEntry) error {
	if prev != nil {
		if e.Seq != prev.Seq+1 {
			return &ErrBroken{Seq: prev.Seq + 1, Reason: fmt.Sprintf("entry missing (next stored entry is %d)", e.Seq)}
		}
		if !bytes.Equal(e.Prev, prev.Hash) {
			return &ErrBroken{Seq: e.Seq, Reason: "does not link to the previous entry"}
		}
	} else if e.Seq == 1 && !bytes.Equal(e.Prev, zeroHash) {
		return &ErrBroken{Seq: e.Seq, Reason: "first entry does not start the chain"}
	}
	if !bytes.Equal(Hash(e), e.Hash) {
		return &ErrBroken{Seq: e.Seq, Reason: "content does not match its hash"}
	}
	return nil
}

// Checkpoint is a signature over the chain head at one point. Stored
// outside the chain (e.g. exported to another system), it also detects a
// rewrite of the whole chain.
type Checkpoint struct {
	Seq       int64  `json:"seq"`
	Hash      []byte `json:"hash"`
	Signature []byte `json:"sig"`
	// When and by which instance it was made; not signed, for people.
	At       time.Time `json:"at,omitzero"`
	Instance string    `json:"instance,omitempty"`
}

func checkpointMessage(seq int64, hash []byte) []byte {
	msg := []byte("egressguard-audit-checkpoint-v1\n")
	msg = binary.BigEndian.AppendUint64(msg, uint64(seq))
	return append(msg, hash...)
}

// Sign makes a checkpoint for entry e.
func Sign(key ed25519.PrivateKey, e *store.AuditEntry) Checkpoint {
	return Checkpoint{Seq: e.Seq, Hash: e.Hash, Signature: ed25519.Sign(key, checkpointMessage(e.Seq, e.Hash))}
}

// ErrCheckpoint is returned when a checkpoint does not match the chain.
var ErrCheckpoint = errors.New("audit: checkpoint does not match")

// VerifyCheckpoint checks that cp is signed by pub and that the stored
// entry cp.Seq still has the signed hash.
func VerifyCheckpoint(ctx context.Context, r Reader, pub ed25519.PublicKey, cp Checkpoint) error {
	if !ed25519.Verify(pub, checkpointMessage(cp.Seq, cp.Hash), cp.Signature) {
		return fmt.Errorf("%w: bad signature for entry %d", ErrCheckpoint, cp.Seq)
	}
	es, err := r.Audit(ctx, store.AuditFilter{AfterSeq: cp.Seq - 1, Limit: 1})
	if err != nil {
		return err
	}
	if len(es) == 0 || es[0].Seq != cp.Seq {
		return fmt.Errorf("%w: entry %d is missing", ErrCheckpoint, cp.Seq)
	}
	if !bytes.Equal(es[0].Hash, cp.Hash) {
		return fmt.Errorf("%w: entry %d was rewritten", ErrCheckpoint, cp.Seq)
	}
	return nil
}
