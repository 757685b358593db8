package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlstore"
)

// writer owns the only connection that writes. One committer goroutine of
// the group-commit engine (package sqlstore) drives it: SQLite allows one
// writer at a time anyway, and a single owner lets it commit the functions
// of many callers with one fsync.
type writer struct {
	log    *zap.Logger
	conn   *sql.Conn
	st     stmts
	sealer store.Sealer

	// Wiping (wipe.go), owned by the committer goroutine.
	wipeEvery   time.Duration // 0: no automatic wipes
	busyTimeout time.Duration // restored after a wipe
	wipeTimer   *time.Timer
	wipeC       <-chan time.Time // nil unless a wipe is due
	txDeleted   bool             // the open transaction deleted content

	head sqlstore.AuditHead // the chain's newest entry, as far as the open transaction knows
	// fnHead is head before the running function, restored if it fails.
	fnHead sqlstore.AuditHead

	wipes atomic.Uint64
}

var _ sqlstore.Writer = (*writer)(nil)

func (w *writer) Begin(context.Context) error {
	if _, err := w.st.begin.Exec(); err != nil {
		return fmt.Errorf("sqlite: begin: %w", mapErr(err))
	}
	w.txDeleted = false
	w.head = sqlstore.AuditHead{}
	return nil
}

func (w *writer) Start() (store.Tx, error) {
	if _, err := w.st.savepoint.Exec(); err != nil {
		return nil, fmt.Errorf("sqlite: savepoint: %w", mapErr(err))
	}
	w.fnHead = w.head
	return sqlstore.NewTx(&conn{w: w, FnState: sqlstore.FnState{ErrDone: errTxDone}}, dialect, w.sealer, &w.head, nil), nil
}

// End releases the function's savepoint, after rolling back to it if the
// function failed. If the savepoint is gone, SQLite has rolled back the
// whole transaction.
func (w *writer) End(st store.Tx, err error) (error, error) {
	// A function that ignored an error that may have ended the
	// transaction fails with it: its writes cannot be trusted to be
	// complete.
	err = st.(*sqlstore.Tx).Conn().(*conn).Finish(err)
	if err != nil {
		w.head = w.fnHead // its audit entries are rolled back with it
		if _, rbErr := w.st.rollbackTo.Exec(); rbErr != nil {
			return err, err
		}
		if _, relErr := w.st.release.Exec(); relErr != nil {
			return err, err
		}
		return err, nil
	}
	if _, err := w.st.release.Exec(); err != nil {
		err = fmt.Errorf("sqlite: release savepoint: %w", mapErr(err))
		return err, err
	}
	return nil, nil
}

func (w *writer) Full() bool { return false }

func (w *writer) Commit() error {
	if _, err := w.st.commit.Exec(); err != nil {
		// After a failed COMMIT the transaction may still be open.
		_, _ = w.st.rollback.Exec()
		return fmt.Errorf("sqlite: commit: %w", mapErr(err))
	}
	if w.txDeleted {
		w.scheduleWipe()
	}
	return nil
}

func (w *writer) Rollback() { _, _ = w.st.rollback.Exec() }

func (w *writer) Release() {}

// Drop rolls back what the stopped committer left open. The writer then
// stops for good: its caller learns of it by store.ErrClosed, as from a
// closed store.
func (w *writer) Drop(bool) bool {
	_, _ = w.st.rollback.Exec()
	return false
}

func (w *writer) Maintenance() <-chan time.Time { return w.wipeC }

func (w *writer) Maintain() {
	w.wipeC = nil
	w.wipe()
}
