package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/store"
)

// Request states. A request is claimed exactly once, either by the writer
// (which then runs it) or by its caller giving up (then it never runs).
const (
	reqPending int32 = iota
	reqStarted
	reqCancelled
)

type request struct {
	ctx   context.Context
	fn    func(store.Tx) error
	state atomic.Int32
	done  chan error // buffered: the writer never waits for the caller
}

// op is work that needs the writer connection outside a transaction
// (checkpoint, pragmas).
type op struct {
	fn   func(*sql.Conn) error
	done chan error
}

// writer owns the only connection that writes. One goroutine runs every
// update function: SQLite allows one writer at a time anyway, and a single
// owner lets it commit the functions of many callers with one fsync.
type writer struct {
	log      *zap.Logger
	conn     *sql.Conn
	st       stmts
	reqs     chan *request
	ops      chan op
	quit     chan struct{}
	exited   chan struct{}
	maxBatch int
	sealer   store.Sealer

	// Owned by the writer goroutine between batches.
	batch, ok []*request

	// Wiping (wipe.go), owned by the writer goroutine.
	wipeEvery   time.Duration // 0: no automatic wipes
	busyTimeout time.Duration // restored after a wipe
	wipeTimer   *time.Timer
	wipeC       <-chan time.Time // nil unless a wipe is due
	txDeleted   bool             // the open transaction deleted content

	commits, updates, failed, wipes atomic.Uint64
}

func (w *writer) loop() {
	quitting := false
	defer close(w.exited)
	defer func() {
		// Callers waiting on a dead writer see exited and fail with
		// store.ErrClosed; log why. Panics of update functions are recovered
		// in call, so this is a bug here or an update function that
		// called runtime.Goexit (t.FailNow in a test).
		if p := recover(); p != nil {
			w.log.Error("store writer stopped by panic", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
		} else if !quitting {
			w.log.Error("store writer stopped by runtime.Goexit in an update function")
		}
	}()
	for {
		select {
		case r := <-w.reqs:
			w.batch = append(w.batch[:0], r)
		fill:
			// Take what has queued up while the previous commit was
			// syncing: that is the group in group commit. No waiting
			// for more: a lone update commits at once.
			for len(w.batch) < w.maxBatch {
				select {
				case r := <-w.reqs:
					w.batch = append(w.batch, r)
				default:
					break fill
				}
			}
			w.runBatch(w.batch)
			clear(w.batch) // drop references to finished functions
		case o := <-w.ops:
			o.done <- w.runOp(o.fn)
		case <-w.wipeC:
			w.wipeC = nil
			w.wipe()
		case <-w.quit:
			quitting = true
			for {
				select {
				case r := <-w.reqs:
					r.answer(store.ErrClosed)
				case o := <-w.ops:
					o.done <- store.ErrClosed
				default:
					return
				}
			}
		}
	}
}

// answer delivers the outcome. It never blocks: the channel has room for
// one answer, and a second one (only possible on the writer's panic path)
// is dropped because the first was the truth.
func (r *request) answer(err error) {
	select {
	case r.done <- err:
	default:
	}
}

func (w *writer) runOp(fn func(*sql.Conn) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			w.log.Error("panic in store maintenance", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			err = fmt.Errorf("sqlite: panic: %v", p)
		}
	}()
	return fn(w.conn)
}

// runBatch runs every request of the batch and answers each exactly once.
func (w *writer) runBatch(batch []*request) {
	answered := 0
	defer func() {
		// A panic here is a bug in this package, not in an update
		// function (those are recovered in call). Fail what is left and
		// keep serving: the transaction is rolled back so the connection
		// is usable again.
		if p := recover(); p != nil {
			w.log.Error("panic in store writer", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			_, _ = w.st.rollback.Exec()
			err := fmt.Errorf("sqlite: writer panic: %v", p)
			for _, r := range batch[answered:] {
				if r.state.Load() != reqCancelled {
					r.answer(err)
				}
			}
		}
	}()
	for len(batch) > 0 {
		rest := w.runTx(batch)
		answered += len(batch) - len(rest)
		batch = rest
	}
}

// runTx runs requests from batch in one transaction, each inside its own
// savepoint so that a failing function leaves the others' writes in place.
// It returns the requests it did not get to because SQLite aborted the
// transaction; those run in a new one.
func (w *writer) runTx(batch []*request) (rest []*request) {
	if _, err := w.st.begin.Exec(); err != nil {
		err = fmt.Errorf("sqlite: begin: %w", mapErr(err))
		w.log.Error("cannot begin transaction", zap.Error(err), zap.Int("updates", len(batch)))
		for _, r := range batch {
			if r.state.CompareAndSwap(reqPending, reqStarted) {
				r.answer(err)
			}
		}
		return nil
	}
	w.ok = w.ok[:0]
	w.txDeleted = false
	for i, r := range batch {
		if !r.state.CompareAndSwap(reqPending, reqStarted) {
			continue // its caller gave up and has returned already
		}
		if err := r.ctx.Err(); err != nil {
			r.answer(err)
			continue
		}
		w.updates.Add(1)
		if _, err := w.st.savepoint.Exec(); err != nil {
			w.abort(r, fmt.Errorf("sqlite: savepoint: %w", mapErr(err)))
			return batch[i+1:]
		}
		if err := w.call(r.fn); err != nil {
			w.failed.Add(1)
			// Undo this function's writes only. If the savepoint is
			// gone, SQLite has rolled back the whole transaction.
			if _, rbErr := w.st.rollbackTo.Exec(); rbErr != nil {
				w.abort(r, err)
				return batch[i+1:]
			}
			if _, relErr := w.st.release.Exec(); relErr != nil {
				w.abort(r, err)
				return batch[i+1:]
			}
			r.answer(err)
			continue
		}
		if _, err := w.st.release.Exec(); err != nil {
			w.abort(r, fmt.Errorf("sqlite: release savepoint: %w", mapErr(err)))
			return batch[i+1:]
		}
		w.ok = append(w.ok, r)
	}
	if _, err := w.st.commit.Exec(); err != nil {
		err = fmt.Errorf("sqlite: commit: %w", mapErr(err))
		w.log.Error("commit failed", zap.Error(err), zap.Int("updates", len(w.ok)))
		// After a failed COMMIT the transaction may still be open.
		_, _ = w.st.rollback.Exec()
		for _, r := range w.ok {
			r.answer(err)
		}
		clear(w.ok)
		return nil
	}
	w.commits.Add(1)
	if w.txDeleted {
		w.scheduleWipe()
	}
	for _, r := range w.ok {
		r.answer(nil)
	}
	clear(w.ok)
	return nil
}

// abort ends a transaction that SQLite aborted (or that can no longer be
// trusted) while r ran: r gets its own error, and the functions that had
// succeeded before it in the batch get an error too, since their writes
// were in the same transaction. They are not retried: a function may run
// once only.
func (w *writer) abort(r *request, err error) {
	_, _ = w.st.rollback.Exec()
	w.log.Error("transaction aborted", zap.Error(err), zap.Int("lost_updates", len(w.ok)))
	r.answer(err)
	lost := fmt.Errorf("sqlite: transaction aborted by another update in the same commit: %w", err)
	for _, o := range w.ok {
		o.answer(lost)
	}
	clear(w.ok)
	w.ok = w.ok[:0]
}

// call runs one update function, turning a panic into an error so that one
// bad function cannot take the store down.
func (w *writer) call(fn func(store.Tx) error) (err error) {
	t := &tx{st: &w.st, conn: w.conn, sealer: w.sealer, deleted: &w.txDeleted}
	defer func() {
		t.done = true
		if p := recover(); p != nil {
			w.log.Error("panic in update function", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			err = fmt.Errorf("sqlite: update function panicked: %v", p)
		}
	}()
	err = fn(t)
	if err == nil && t.broken != nil {
		// The function ignored an error that may have ended the
		// transaction; its writes cannot be trusted to be complete.
		err = t.broken
	}
	return err
}
