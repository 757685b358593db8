package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/store"
)

// Request states. A request is claimed exactly once, either by a committer
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
	done  chan error // buffered: a committer never waits for the caller
}

// answer delivers the outcome. It never blocks: the channel has room for
// one answer, and a second one (only possible on a committer's panic path)
// is dropped because the first was the truth.
func (r *request) answer(err error) {
	select {
	case r.done <- err:
	default:
	}
}

// claim takes r for running; false if its caller has given up.
func (r *request) claim() bool { return r.state.CompareAndSwap(reqPending, reqStarted) }

// errCommitterStopped answers the functions of a batch whose committer
// goroutine ended: an update function called runtime.Goexit, or this
// package has a bug. The transaction was rolled back.
var errCommitterStopped = errors.New("postgres: committer stopped in the middle of a batch; its transaction was rolled back")

// Savepoint statements. One name serves every function of a transaction:
// each function's savepoint is released (or rolled back to and released)
// before the next function's is set, so they never nest.
const (
	spSet      = "SAVEPOINT fn"
	spRelease  = "RELEASE SAVEPOINT fn"
	spRollback = "ROLLBACK TO SAVEPOINT fn"
)

// auditHead caches the newest audit entry for the open transaction. The
// writer lock, held from BEGIN to COMMIT, keeps every other transaction
// from appending meanwhile, so once read (or written) here the newest entry
// changes only by this transaction's own InsertAudit. The cache saves a
// round trip per append: nearly every update function appends one.
type auditHead struct {
	known bool
	e     *store.AuditEntry // nil: the log is empty
}

// committer runs batches of update functions, each batch in one
// transaction on one connection of the writer pool. Several committers run
// side by side; each owns its state.
type committer struct {
	s   *Store
	log *zap.Logger

	// Per transaction.
	ctx  context.Context
	conn *pgxpool.Conn
	// pending statements go out in one round trip with the next statement
	// of an update function: RELEASE of the previous function's savepoint
	// and SAVEPOINT for the current one. A function that sends nothing
	// costs nothing.
	pending []string
	// dead is set when a statement outside any function's savepoint
	// failed (SAVEPOINT, RELEASE, ROLLBACK TO), or the connection was
	// lost: the transaction cannot be trusted to hold what the functions
	// so far wrote.
	dead error
	ok   []*request // functions that succeeded in the open transaction
	head auditHead  // the chain's newest entry, as far as this transaction knows
	// bytes counts the body bytes sent in the open transaction.
	bytes int
	// wake: a function of the open transaction made mail due; the commit
	// notifies the other instances (see instance.go).
	wake bool

	batch []*request
}

// loop takes requests and runs them in batches until the store closes.
func (c *committer) loop() {
	defer c.s.wg.Done()
	quitting := false
	defer func() {
		p := recover()
		if quitting && p == nil {
			return
		}
		// A panic here is a bug in this package (panics of update
		// functions are recovered in call); no panic while not quitting
		// means an update function called runtime.Goexit (t.FailNow in
		// a test). Either way fail what this batch still holds, drop the
		// connection (the server rolls back its transaction) and start a
		// replacement, so that no caller hangs and the store keeps its
		// number of committers.
		if p != nil {
			c.log.Error("store committer panicked", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
		} else {
			c.log.Error("store committer stopped by runtime.Goexit in an update function")
		}
		c.failAll(errCommitterStopped)
		if c.conn != nil {
			c.conn.Conn().PgConn().Close(context.Background())
			c.conn.Release()
			c.conn = nil
		}
		if !c.s.closed.Load() {
			c.s.wg.Add(1) // before this goroutine's Done: Close cannot miss it
			go c.s.newCommitter().loop()
		}
	}()
	for {
		select {
		case r := <-c.s.reqs:
			c.batch = append(c.batch[:0], r)
		fill:
			// Take what has queued up while this committer was busy:
			// that is the group in group commit. No waiting for more:
			// a lone update commits at once.
			for len(c.batch) < c.s.opts.maxBatch {
				select {
				case r := <-c.s.reqs:
					c.batch = append(c.batch, r)
				default:
					break fill
				}
			}
			c.runBatch()
			clear(c.batch) // drop references to finished functions
			c.batch = c.batch[:0]
		case <-c.s.quit:
			quitting = true
			return
		}
	}
}

// failAll answers every request of the batch with err: those not yet
// claimed, those whose transaction had not committed. A request already
// answered keeps its answer (answer drops a second one).
func (c *committer) failAll(err error) {
	for _, r := range c.batch {
		if r.claim() || r.state.Load() == reqStarted {
			r.answer(err)
		}
	}
}

// runBatch runs every request of the batch and answers each exactly once.
func (c *committer) runBatch() {
	rest := c.batch
	for len(rest) > 0 {
		rest = c.runTx(rest)
	}
}

// defaultMaxTxBytes ends a transaction early, committing the functions run
// so far, once the bodies they inserted reach it: a transaction carrying
// hundreds of megabytes would keep the writer lock, and every other
// instance, waiting for as long as the transfer takes, and risk the
// timeout.
const defaultMaxTxBytes = 32 << 20

// begin acquires a connection, opens a transaction on it and takes the
// writer lock, which serialises the write transactions of every instance
// (and of this instance's committers) on the database.
//
// Why one lock rather than only the row locks and the audit lock the
// functions take as they go: a group commit puts unrelated functions into
// one transaction, so its locks pile up in an order no function chose. Two
// batches on two instances, one holding message X and waiting for Y, the
// other holding Y and waiting for X (or for the audit chain), deadlock;
// PostgreSQL breaks the tie after deadlock_timeout by failing one of them.
// Taken first, before any function runs, the lock makes that impossible.
// It costs little: nearly every write (accepting a message, recording a
// delivery, deciding on a hold) appends to the audit chain, which admits
// one transaction at a time anyway, and a batch amortises it over up to
// WithMaxBatch functions.
//
// BEGIN goes out before any function runs, so that a connection the server
// has dropped since its last use (restart, pg_terminate_backend, idle
// timeout) is found out while the batch can still move to a fresh one.
// Every pooled connection may be stale after a restart, hence one attempt
// more than the pool holds.
func (c *committer) begin() error {
	// Simple protocol, one round trip; the keys are our own integers.
	begin := fmt.Sprintf("BEGIN; SELECT pg_advisory_xact_lock(%d, %d)", lockWriter, c.s.key)
	var err error
	for attempt := 0; attempt <= c.s.opts.committers; attempt++ {
		if c.conn, err = c.s.wpool.Acquire(c.ctx); err != nil {
			return fmt.Errorf("postgres: connect: %w", mapErr(err))
		}
		if _, err = c.conn.Exec(c.ctx, begin); err == nil {
			c.pending, c.dead, c.ok, c.bytes, c.wake = c.pending[:0], nil, c.ok[:0], 0, false
			c.head = auditHead{}
			return nil
		}
		c.release() // the pool drops it: closed, or not idle
		if !stale(err) || c.ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("postgres: begin: %w", mapErr(err))
}

// release returns the connection to the pool; the pool drops it if it is
// closed or still in a transaction.
func (c *committer) release() {
	if c.conn != nil {
		c.conn.Release()
		c.conn = nil
	}
}

// runTx runs requests from batch in one transaction, each inside its own
// savepoint so that a failing function leaves the others' writes in place.
// It returns the requests it did not get to because the transaction could
// no longer be trusted; those run in a new one.
func (c *committer) runTx(batch []*request) (rest []*request) {
	ctx, cancel := context.WithTimeout(context.Background(), c.s.opts.timeout)
	defer cancel()
	c.ctx = ctx
	defer func() { c.ctx = nil }()
	if err := c.begin(); err != nil {
		c.log.Warn("cannot begin transaction", zap.Error(err), zap.Int("updates", len(batch)))
		for _, r := range batch {
			if r.claim() {
				r.answer(err)
			}
		}
		return nil
	}
	defer c.release()
	for i, r := range batch {
		if !r.claim() {
			continue // its caller gave up and has returned already
		}
		if err := r.ctx.Err(); err != nil {
			r.answer(err)
			continue
		}
		c.s.updates.Add(1)
		t := &tx{c: c, s: c.s}
		head := c.head
		err := c.call(t, r.fn)
		if err != nil {
			c.s.failed.Add(1)
			c.head = head // its audit entries are rolled back with it
		}
		if c.dead == nil && err != nil && t.savepoint {
			// Undo this function's writes only, and leave no savepoint
			// for the next function's to nest in.
			// One simple-protocol query: the extended protocol would
			// first prepare RELEASE, which a failed transaction refuses.
			if _, berr := c.conn.Exec(c.ctx, spRollback+"; "+spRelease); berr != nil {
				c.dead = fmt.Errorf("postgres: roll back to savepoint: %w", mapErr(berr))
			}
		}
		if c.dead != nil {
			c.abort(r, err)
			return batch[i+1:]
		}
		if err != nil {
			r.answer(err)
			continue
		}
		if t.savepoint {
			c.pending = append(c.pending, spRelease)
		}
		c.ok = append(c.ok, r)
		c.wake = c.wake || t.wake
		if c.bytes >= c.s.opts.maxTxBytes {
			rest = batch[i+1:]
			break
		}
	}
	// The notification is delivered with the commit, and only if it
	// commits. Should it fail, the transaction is in the failed state and
	// the COMMIT below fails with it.
	if c.wake && c.dead == nil {
		if _, err := c.conn.Exec(c.ctx, "SELECT pg_notify($1, '')", c.s.channel); err != nil {
			c.log.Warn("notify", zap.Error(err))
		}
	}
	// COMMIT releases the last savepoint; PostgreSQL answers a COMMIT of
	// a transaction in the failed state with ROLLBACK and no error, so
	// the tag is checked.
	tag, err := c.conn.Exec(c.ctx, "COMMIT")
	if err == nil && tag.String() != "COMMIT" {
		err = fmt.Errorf("transaction ended with %s", tag.String())
	}
	if err != nil {
		err = fmt.Errorf("postgres: commit: %w", mapErr(err))
		c.log.Error("commit failed", zap.Error(err), zap.Int("updates", len(c.ok)))
		for _, r := range c.ok {
			r.answer(err)
		}
		clear(c.ok)
		return rest
	}
	c.s.commits.Add(1)
	for _, r := range c.ok {
		r.answer(nil)
	}
	clear(c.ok)
	return rest
}

// abort ends a transaction that can no longer be trusted while r ran: r
// gets its own error (or the reason, if it had none), and the functions
// that had succeeded before it in the transaction get an error too, since
// their writes were in it. They are not retried: a function may run once
// only. ROLLBACK is tried; if it fails, releasing the connection drops it
// and the server rolls back.
func (c *committer) abort(r *request, err error) {
	if _, rbErr := c.conn.Exec(c.ctx, "ROLLBACK"); rbErr != nil {
		c.conn.Conn().PgConn().Close(context.Background())
	}
	c.log.Error("transaction aborted", zap.Error(c.dead), zap.Int("lost_updates", len(c.ok)))
	if err == nil {
		err = c.dead
	}
	r.answer(err)
	lost := fmt.Errorf("postgres: transaction aborted by another update in the same commit: %w", c.dead)
	for _, o := range c.ok {
		o.answer(lost)
	}
	clear(c.ok)
	c.ok = c.ok[:0]
}

// call runs one update function, turning a panic into an error so that one
// bad function cannot take the store down.
func (c *committer) call(t *tx, fn func(store.Tx) error) (err error) {
	defer func() {
		t.done = true
		if p := recover(); p != nil {
			c.log.Error("panic in update function", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			err = fmt.Errorf("postgres: update function panicked: %v", p)
		}
	}()
	err = fn(t)
	if err == nil && t.broken != nil {
		// The function ignored an error after which PostgreSQL refuses
		// every statement until the savepoint is rolled back to; its
		// writes cannot be trusted to be complete.
		err = t.broken
	}
	return err
}
