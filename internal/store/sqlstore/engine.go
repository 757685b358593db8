// Package sqlstore holds what the SQL store backends (package sqlite and
// package postgres) share: the group-commit engine that runs every update
// function, and the encodings of the records in their rows. A backend
// supplies what its database does differently (how a transaction and a
// savepoint are begun and ended, its statements, its errors) through the
// Writer interface and the Dialect.
package sqlstore

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/store"
)

// Writer is a backend's writing connection, driven by one committer
// goroutine of the Engine: it runs a batch of update functions in one
// transaction, each in its own savepoint, so that each function still
// succeeds or fails on its own. Its methods are only called from that
// goroutine.
type Writer interface {
	// Begin opens a transaction; ctx bounds it to its COMMIT.
	Begin(ctx context.Context) error
	// Start returns the store.Tx for the next function of the
	// transaction. An error means the transaction can no longer be
	// trusted (its savepoint could not be set); the engine aborts it.
	Start() (store.Tx, error)
	// End ends the function that ran on t with the outcome err (nil, the
	// function's error, or its panic): it marks t done, undoes the
	// function's writes if it failed, and returns the function's final
	// outcome (a Tx error it ignored makes it fail) and, if the
	// transaction can no longer be trusted, why (the engine aborts it).
	End(t store.Tx, err error) (fnErr, dead error)
	// Full reports that the transaction should commit before it runs
	// more functions (it carries much data already).
	Full() bool
	// Commit commits the transaction durably.
	Commit() error
	// Rollback abandons the transaction after End or Start reported it
	// dead.
	Rollback()
	// Release ends the transaction's use of the connection (after
	// Commit, Rollback, or a failed Begin).
	Release()
	// Drop gives up the connection after the committer stopped in the
	// middle of a transaction (a panic in the backend, or an update
	// function that called runtime.Goexit), so that its transaction is
	// rolled back; it reports whether a replacement committer may start
	// (with a new Writer from Config.New).
	Drop(goexit bool) bool
	// Maintenance returns a channel that fires when the writer has
	// maintenance to do between transactions (nil: none), and Maintain
	// does it.
	Maintenance() <-chan time.Time
	Maintain()
}

// Config describes an Engine.
type Config struct {
	Name       string        // error prefix: "sqlite", "postgres"
	Log        *zap.Logger   //
	Committers int           // goroutines, each with its own Writer (at least 1)
	MaxBatch   int           // update functions per transaction at most
	Timeout    time.Duration // bounds each transaction from Begin to Commit; 0: none
	New        func() Writer // a Writer for a new committer
}

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

// op is work a committer runs on its connection between transactions.
type op struct {
	fn   func(Writer) error
	done chan error
}

// Stats counts the engine's work since it started.
type Stats struct {
	Commits uint64 // transactions committed
	Updates uint64 // update functions run
	Failed  uint64 // update functions that returned an error or panicked
}

// Engine commits the update functions of concurrent callers together
// (group commit): a committer takes what has queued up while the previous
// commit was syncing, runs every function in its own savepoint on one
// connection, and commits once. A function that fails is rolled back to its
// savepoint and fails alone.
type Engine struct {
	cfg    Config
	log    *zap.Logger
	reqs   chan *request
	ops    chan op
	quit   chan struct{}
	exited chan struct{} // closed once no committer runs and the queue is drained
	wg     sync.WaitGroup
	closed atomic.Bool
	live   atomic.Int32 // committers running
	once   sync.Once
	stop   sync.Once

	commits, updates, failed atomic.Uint64
}

// Start starts the committers of a new engine.
func Start(cfg Config) *Engine {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	cfg.Committers = max(1, cfg.Committers)
	cfg.MaxBatch = max(1, cfg.MaxBatch)
	e := &Engine{
		cfg:    cfg,
		log:    cfg.Log,
		reqs:   make(chan *request, cfg.MaxBatch*cfg.Committers),
		ops:    make(chan op),
		quit:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	for range cfg.Committers {
		e.startCommitter(cfg.New())
	}
	return e
}

func (e *Engine) startCommitter(w Writer) {
	e.wg.Add(1)
	e.live.Add(1)
	c := &committer{
		e:     e,
		w:     w,
		batch: make([]*request, 0, e.cfg.MaxBatch),
		ok:    make([]*request, 0, e.cfg.MaxBatch),
	}
	go c.loop()
}

// Closed reports whether Close was called.
func (e *Engine) Closed() bool { return e.closed.Load() }

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	return Stats{Commits: e.commits.Load(), Updates: e.updates.Load(), Failed: e.failed.Load()}
}

// Queued returns the number of update functions waiting for a committer.
func (e *Engine) Queued() int { return len(e.reqs) }

// Close stops the committers after their batches in progress and fails
// updates still waiting with store.ErrClosed. It may be called more than
// once; after it returns no committer uses its Writer.
func (e *Engine) Close() {
	e.once.Do(func() {
		e.closed.Store(true)
		close(e.quit)
		e.wg.Wait()
		e.shutdown()
	})
}

// shutdown answers what is still queued and marks the engine exited.
func (e *Engine) shutdown() {
	e.stop.Do(func() {
		for done := false; !done; {
			select {
			case r := <-e.reqs:
				if r.claim() {
					r.answer(store.ErrClosed)
				}
			case o := <-e.ops:
				o.done <- store.ErrClosed
			default:
				done = true
			}
		}
		close(e.exited)
	})
}

// Update runs fn in a transaction together with other callers' functions
// and commits it with them (store.Store.Update). If ctx ends before the
// function has started, Update returns ctx.Err() and the function never
// runs; once it has started, Update waits for the commit so that its
// answer says whether the writes persisted.
func (e *Engine) Update(ctx context.Context, fn func(store.Tx) error) error {
	if fn == nil {
		return fmt.Errorf("%s: nil update function", e.cfg.Name)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.closed.Load() {
		return store.ErrClosed
	}
	r := &request{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case e.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.quit:
		return store.ErrClosed
	case <-e.exited:
		return store.ErrClosed
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqPending, reqCancelled) {
			return ctx.Err()
		}
	case <-e.exited:
		return lastAnswer(r)
	}
	// Started: the outcome is the commit's.
	select {
	case err := <-r.done:
		return err
	case <-e.exited:
		return lastAnswer(r)
	}
}

// lastAnswer is the outcome of r once the committers have stopped: its
// answer if it got one, else store.ErrClosed (it was queued too late and
// never ran).
func lastAnswer(r *request) error {
	select {
	case err := <-r.done:
		return err
	default:
		return store.ErrClosed
	}
}

// Do runs fn on a committer's Writer between transactions (maintenance:
// checkpoints, pragmas).
func (e *Engine) Do(ctx context.Context, fn func(Writer) error) error {
	if e.closed.Load() {
		return store.ErrClosed
	}
	o := op{fn: fn, done: make(chan error, 1)}
	select {
	case e.ops <- o:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.exited:
		return store.ErrClosed
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-e.exited:
		select {
		case err := <-o.done:
			return err
		default:
			return store.ErrClosed
		}
	}
}

// committer runs batches of update functions, each batch in one
// transaction of its Writer.
type committer struct {
	e     *Engine
	w     Writer
	batch []*request
	ok    []*request // functions that succeeded in the open transaction
}

// loop takes requests and runs them in batches until the engine closes.
func (c *committer) loop() {
	e := c.e
	quitting := false
	defer func() {
		p := recover()
		defer e.wg.Done()
		if quitting && p == nil {
			e.live.Add(-1)
			return
		}
		// A panic here is a bug in the engine or the backend (panics of
		// update functions are recovered in call); no panic while not
		// quitting means an update function called runtime.Goexit
		// (t.FailNow in a test). Either way drop the transaction, fail
		// what this batch still holds so that no caller hangs, and start
		// a replacement if the backend can have one.
		if p != nil {
			e.log.Error("store committer panicked", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
		} else {
			e.log.Error("store committer stopped by runtime.Goexit in an update function")
		}
		replace := c.w.Drop(p == nil) && !e.closed.Load()
		err := store.ErrClosed
		if replace {
			err = fmt.Errorf("%s: committer stopped in the middle of a batch; its transaction was rolled back", e.cfg.Name)
		}
		for _, r := range c.batch {
			if r.claim() || r.state.Load() == reqStarted {
				r.answer(err)
			}
		}
		if replace {
			e.live.Add(-1)
			e.startCommitter(e.cfg.New()) // before this goroutine's Done: Close cannot miss it
			return
		}
		if e.live.Add(-1) == 0 {
			// No committer is left: fail every caller from now on.
			e.closed.Store(true)
			e.shutdown()
		}
	}()
	for {
		select {
		case r := <-e.reqs:
			c.batch = append(c.batch[:0], r)
		fill:
			// Take what has queued up while this committer was busy:
			// that is the group in group commit. No waiting for more:
			// a lone update commits at once.
			for len(c.batch) < e.cfg.MaxBatch {
				select {
				case r := <-e.reqs:
					c.batch = append(c.batch, r)
				default:
					break fill
				}
			}
			rest := c.batch
			for len(rest) > 0 {
				rest = c.runTx(rest)
			}
			clear(c.batch) // drop references to finished functions
			c.batch = c.batch[:0]
		case o := <-e.ops:
			o.done <- c.runOp(o.fn)
		case <-c.w.Maintenance():
			c.w.Maintain()
		case <-e.quit:
			quitting = true
			return
		}
	}
}

func (c *committer) runOp(fn func(Writer) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			c.e.log.Error("panic in store maintenance", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			err = fmt.Errorf("%s: panic: %v", c.e.cfg.Name, p)
		}
	}()
	return fn(c.w)
}

// runTx runs requests from batch in one transaction, each inside its own
// savepoint so that a failing function leaves the others' writes in place.
// It returns the requests it did not get to because the transaction could
// no longer be trusted, or was full; those run in a new one.
func (c *committer) runTx(batch []*request) (rest []*request) {
	e := c.e
	ctx := context.Background()
	if e.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.cfg.Timeout)
		defer cancel()
	}
	if err := c.w.Begin(ctx); err != nil {
		c.w.Release()
		e.log.Warn("cannot begin transaction", zap.Error(err), zap.Int("updates", len(batch)))
		for _, r := range batch {
			if r.claim() {
				r.answer(err)
			}
		}
		return nil
	}
	defer c.w.Release()
	c.ok = c.ok[:0]
	for i, r := range batch {
		if !r.claim() {
			continue // its caller gave up and has returned already
		}
		if err := r.ctx.Err(); err != nil {
			r.answer(err)
			continue
		}
		e.updates.Add(1)
		t, dead := c.w.Start()
		var err error
		if dead == nil {
			err = c.call(t, r.fn)
			err, dead = c.w.End(t, err)
		}
		if err != nil {
			e.failed.Add(1)
		}
		if dead != nil {
			c.abort(r, err, dead)
			return batch[i+1:]
		}
		if err != nil {
			r.answer(err)
			continue
		}
		c.ok = append(c.ok, r)
		if c.w.Full() {
			rest = batch[i+1:]
			break
		}
	}
	if err := c.w.Commit(); err != nil {
		e.log.Error("commit failed", zap.Error(err), zap.Int("updates", len(c.ok)))
		for _, r := range c.ok {
			r.answer(err)
		}
		clear(c.ok)
		return rest
	}
	e.commits.Add(1)
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
// only.
func (c *committer) abort(r *request, err, dead error) {
	c.w.Rollback()
	c.e.log.Error("transaction aborted", zap.Error(dead), zap.Int("lost_updates", len(c.ok)))
	if err == nil {
		err = dead
	}
	r.answer(err)
	lost := fmt.Errorf("%s: transaction aborted by another update in the same commit: %w", c.e.cfg.Name, dead)
	for _, o := range c.ok {
		o.answer(lost)
	}
	clear(c.ok)
	c.ok = c.ok[:0]
}

// call runs one update function, turning a panic into an error so that one
// bad function cannot take the store down.
func (c *committer) call(t store.Tx, fn func(store.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			c.e.log.Error("panic in update function", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			err = fmt.Errorf("%s: update function panicked: %v", c.e.cfg.Name, p)
		}
	}()
	return fn(t)
}
