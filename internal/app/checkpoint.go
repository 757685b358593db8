package app

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

// checkpointer publishes the audit chain head outside the database (see
// audit.AppendCheckpoint): a signed checkpoint in the log itself, a line
// in the checkpoint file on other storage, a webhook event and a log line.
type checkpointer struct {
	a    *App
	key  ed25519.PrivateKey
	file string // "" : none
	// passes counts finished calls of checkpoint, so that a test can wait
	// for the point where something would have been signed.
	passes atomic.Int64
}

// checkpoint signs the current head, if anything was added since the last
// checkpoint, and publishes it.
func (c *checkpointer) checkpoint(ctx context.Context) {
	defer c.passes.Add(1)
	a := c.a
	var cp *audit.Checkpoint
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		cp, err = audit.AppendCheckpoint(tx, c.key, a.now(), a.Cfg.Instance)
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			a.Log.Error("audit checkpoint failed", zap.Error(err))
		}
		return
	}
	if cp == nil {
		return
	}
	hash := hex.EncodeToString(cp.Hash)
	a.Log.Info("audit checkpoint", zap.Int64("seq", cp.Seq), zap.String("hash", hash),
		zap.String("sig", base64.StdEncoding.EncodeToString(cp.Signature)))
	if c.file != "" {
		if err := audit.WriteCheckpointFile(c.file, cp); err != nil {
			a.Log.Error("writing the audit checkpoint file failed", zap.String("file", c.file), zap.Error(err))
		}
	}
	a.Notify.Post(map[string]any{
		"event": audit.ActionAuditCheckpoint, "seq": cp.Seq, "hash": hash,
		"sig": base64.StdEncoding.EncodeToString(cp.Signature), "at": cp.At.Format(time.RFC3339Nano),
		"instance": cp.Instance, "public_key": audit.PublicKeyString(c.key.Public().(ed25519.PublicKey)),
	})
}
