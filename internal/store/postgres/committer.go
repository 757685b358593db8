package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlstore"
)

// Savepoint statements. One name serves every function of a transaction:
// each function's savepoint is released (or rolled back to and released)
// before the next function's is set, so they never nest.
const (
	spSet      = "SAVEPOINT fn"
	spRelease  = "RELEASE SAVEPOINT fn"
	spRollback = "ROLLBACK TO SAVEPOINT fn"
)

// committer is the Writer of one committer goroutine of the group-commit
// engine (package sqlstore): it runs batches of update functions, each
// batch in one transaction on one connection of the writer pool. Several
// committers run side by side; each owns its state.
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
	head sqlstore.AuditHead // the chain's newest entry, as far as this transaction knows
	// fnHead is head before the running function, restored if it fails.
	fnHead sqlstore.AuditHead
	// bytes counts the body bytes sent in the open transaction.
	bytes int
	// wake: a function of the open transaction made mail due; the commit
	// notifies the other instances (see instance.go).
	wake bool
}

var _ sqlstore.Writer = (*committer)(nil)

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
func (c *committer) Begin(ctx context.Context) error {
	c.ctx = ctx
	// Simple protocol, one round trip; the keys are our own integers.
	begin := fmt.Sprintf("BEGIN; SELECT pg_advisory_xact_lock(%d, %d)", lockWriter, c.s.key)
	var err error
	for attempt := 0; attempt <= c.s.opts.committers; attempt++ {
		if c.conn, err = c.s.wpool.Acquire(c.ctx); err != nil {
			return fmt.Errorf("postgres: connect: %w", mapErr(err))
		}
		if _, err = c.conn.Exec(c.ctx, begin); err == nil {
			c.pending, c.dead, c.bytes, c.wake = c.pending[:0], nil, 0, false
			c.head = sqlstore.AuditHead{}
			return nil
		}
		c.Release() // the pool drops it: closed, or not idle
		if !stale(err) || c.ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("postgres: begin: %w", mapErr(err))
}

// Release returns the connection to the pool; the pool drops it if it is
// closed or still in a transaction.
func (c *committer) Release() {
	if c.conn != nil {
		c.conn.Release()
		c.conn = nil
	}
}

// Start returns the Tx of the next function. Its savepoint is sent with
// its first statement (see tx.send).
func (c *committer) Start() (store.Tx, error) {
	c.fnHead = c.head
	return sqlstore.NewTx(&conn{c: c, FnState: sqlstore.FnState{ErrDone: errTxDone}}, dialect, c.s.opts.sealer, &c.head, c.s.auditLock), nil
}

// End rolls back to the function's savepoint if it failed; if it
// succeeded, the release of its savepoint goes out with the next
// statement.
func (c *committer) End(st store.Tx, err error) (error, error) {
	t := st.(*sqlstore.Tx).Conn().(*conn)
	// A function that ignored an error after which PostgreSQL refuses
	// every statement until the savepoint is rolled back to fails with
	// it: its writes cannot be trusted to be complete.
	err = t.Finish(err)
	if err != nil {
		c.head = c.fnHead // its audit entries are rolled back with it
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
	if c.dead != nil || err != nil {
		return err, c.dead
	}
	if t.savepoint {
		c.pending = append(c.pending, spRelease)
	}
	c.wake = c.wake || t.wake
	return nil, nil
}

// Full ends a transaction early once the bodies it carries reach
// maxTxBytes.
func (c *committer) Full() bool { return c.bytes >= c.s.opts.maxTxBytes }

// Commit notifies the other instances if mail became due, and commits.
func (c *committer) Commit() error {
	// The notification is delivered with the commit, and only if it
	// commits. Should it fail, the transaction is in the failed state and
	// the COMMIT below fails with it.
	if c.wake {
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
		return fmt.Errorf("postgres: commit: %w", mapErr(err))
	}
	return nil
}

// Rollback abandons a transaction that can no longer be trusted. If
// ROLLBACK fails, the connection is closed, and the server rolls back.
func (c *committer) Rollback() {
	if _, err := c.conn.Exec(c.ctx, "ROLLBACK"); err != nil {
		c.conn.Conn().PgConn().Close(context.Background())
	}
}

// Drop closes the connection (the server rolls back its transaction); a
// new committer takes over with a connection of its own.
func (c *committer) Drop(bool) bool {
	if c.conn != nil {
		c.conn.Conn().PgConn().Close(context.Background())
		c.Release()
	}
	return true
}

func (c *committer) Maintenance() <-chan time.Time { return nil }
func (c *committer) Maintain()                     {}
