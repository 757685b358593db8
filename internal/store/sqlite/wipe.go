package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// Deleted content and the write-ahead log.
//
// secure_delete overwrites the pages of a deleted body or audit entry with
// zeros, but SQLite writes those zeros as new frames at the end of the
// WAL: the frames written when the content was inserted stay in the WAL
// file until it is checkpointed and truncated, which a passive checkpoint
// (SQLite's automatic one included) never does; it only lets later frames
// overwrite them, if enough writes follow. So after a commit that deleted
// content the writer schedules a wipe: once wipeEvery has passed, between
// two batches, it runs a TRUNCATE checkpoint, which copies the zeroed
// pages into the database file and truncates the WAL to nothing.
//
// The wipe does not wait for readers. A reader still using an older
// snapshot of the WAL makes it fail at once (busy timeout 0 for the
// duration) instead of stalling every update behind it; it is then tried
// again after another wipeEvery. Deleted content is therefore gone from
// the files about wipeEvery after its deletion, later only while readers
// keep the WAL busy.

// defaultWipeEvery is how long deleted content may stay in the WAL. A
// TRUNCATE checkpoint costs a copy of the WAL and an fsync of the
// database, and makes the next commits grow the WAL file again; once a
// minute that is noise, even when every delivery deletes a body.
const defaultWipeEvery = time.Minute

// WithWipeInterval sets how soon after a deletion (of a body, or of audit
// entries) the writer truncates the WAL, so that the deleted bytes are
// gone from every file (default 1 minute). Zero or less turns the
// automatic wipe off; Checkpoint still does it on demand.
func WithWipeInterval(d time.Duration) Option { return func(o *options) { o.wipeEvery = d } }

// errWipeBusy: readers kept the checkpoint from completing.
var errWipeBusy = errors.New("sqlite: checkpoint blocked by readers")

// scheduleWipe arms the wipe timer unless a wipe is already due; a later
// deletion is covered by the wipe already scheduled.
func (w *writer) scheduleWipe() {
	if w.wipeEvery <= 0 || w.wipeC != nil {
		return
	}
	if w.wipeTimer == nil {
		w.wipeTimer = time.NewTimer(w.wipeEvery)
	} else {
		w.wipeTimer.Reset(w.wipeEvery)
	}
	w.wipeC = w.wipeTimer.C
}

// wipe runs on the committer goroutine between transactions.
func (w *writer) wipe() {
	err := checkpointTruncate(w.conn, 0, w.busyTimeout)
	switch {
	case err == nil:
		w.wipes.Add(1)
	case errors.Is(err, errWipeBusy):
		w.log.Debug("wal wipe postponed: readers busy")
		w.scheduleWipe()
	default:
		w.log.Error("wal wipe failed", zap.Error(err))
		w.scheduleWipe()
	}
}

// checkpointTruncate copies the whole WAL into the database and truncates
// it, waiting at most wait for readers (and for other processes), then
// sets the connection's busy timeout back to restore.
func checkpointTruncate(c *sql.Conn, wait, restore time.Duration) (err error) {
	ctx := context.Background()
	if wait != restore {
		if err := setBusyTimeout(c, wait); err != nil {
			return err
		}
		defer func() {
			if rerr := setBusyTimeout(c, restore); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}
	var busy, logPages, done int
	if err := c.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &done); err != nil {
		return fmt.Errorf("sqlite: checkpoint: %w", mapErr(err))
	}
	if busy != 0 {
		return errWipeBusy
	}
	return nil
}

func setBusyTimeout(c *sql.Conn, d time.Duration) error {
	var ms int64
	q := "PRAGMA busy_timeout = " + strconv.FormatInt(d.Milliseconds(), 10)
	if err := c.QueryRowContext(context.Background(), q).Scan(&ms); err != nil {
		return fmt.Errorf("sqlite: set busy timeout: %w", mapErr(err))
	}
	return nil
}
