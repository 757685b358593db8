package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/egressguard/egressguard/internal/store/sqlstore"
)

// conn is the sqlstore.Conn of one update function. A new one is made for
// each function so that a Tx kept past its function fails loudly instead of
// writing into someone else's transaction.
//
// Every failure PostgreSQL reports puts the transaction into the failed
// state, where it refuses further statements until the function's
// savepoint is rolled back to. The outcomes a function may recover from
// (ErrExists, ErrConflict, ErrNotFound) are therefore found without an
// error from the server: ON CONFLICT DO NOTHING and row counts.
//
// The first error from the server breaks the conn: further calls fail
// with it, and the function fails even if it ignores the error.
type conn struct {
	c         *committer
	savepoint bool // this function's savepoint has been sent
	sqlstore.FnState
	// wake: the function made mail due, or due later (stored or put
	// back Queued; stored Delayed, so that peers set their timers).
	wake bool
}

var _ sqlstore.Conn = (*conn)(nil)

// fail records err and returns it translated.
func (t *conn) fail(op string, err error) error {
	return t.Break(fmt.Errorf("postgres: %s: %w", op, mapErr(err)))
}

// send sends the committer's pending statements, this function's
// savepoint and stmts in one round trip, and returns the results of stmts.
// A failure of a pending statement or of the savepoint leaves the
// transaction untrustworthy (the committer aborts it).
func (t *conn) send(op string, stmts ...sqlstore.Stmt) (pgx.BatchResults, error) {
	c := t.c
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(c.pending)+len(stmts)+1)}
	for _, p := range c.pending {
		b.Queue(p)
	}
	n := len(c.pending)
	c.pending = c.pending[:0]
	if !t.savepoint {
		b.Queue(spSet)
		n++
		t.savepoint = true
	}
	for _, s := range stmts {
		b.Queue(dialectSQL(s.SQL), s.Args...)
	}
	br := c.conn.SendBatch(c.ctx, b)
	for range n {
		if _, err := br.Exec(); err != nil {
			br.Close()
			c.dead = fmt.Errorf("postgres: savepoint before %s: %w", op, mapErr(err))
			return nil, t.Break(c.dead)
		}
	}
	return br, nil
}

func (t *conn) Exec(op, sql string, args ...any) (int64, error) {
	return t.ExecAll(op, sqlstore.Stmt{SQL: sql, Args: args})
}

func (t *conn) ExecAll(op string, stmts ...sqlstore.Stmt) (int64, error) {
	br, err := t.send(op, stmts...)
	if err != nil {
		return 0, err
	}
	var first int64
	for i := range stmts {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return 0, t.fail(op, err)
		}
		if i == 0 {
			first = tag.RowsAffected()
		}
	}
	if err := br.Close(); err != nil {
		return 0, t.fail(op, err)
	}
	return first, nil
}

func (t *conn) Query(op string, lead *sqlstore.Stmt, sql string, args []any, each func(sqlstore.Scanner) error) error {
	stmts := []sqlstore.Stmt{{SQL: sql, Args: args}}
	if lead != nil {
		stmts = []sqlstore.Stmt{*lead, stmts[0]}
	}
	br, err := t.send(op, stmts...)
	if err != nil {
		return err
	}
	if lead != nil {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return t.fail(op, err)
		}
	}
	rows, err := br.Query()
	if err == nil {
		for rows.Next() {
			if err = each(rows); err != nil {
				break
			}
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return t.fail(op, err)
	}
	return nil
}

func (t *conn) Deleted()    {}
func (t *conn) Wake()       { t.wake = true }
func (t *conn) Carry(n int) { t.c.bytes += n }

// dialect is PostgreSQL's side of the shared SQL.
var dialect = sqlstore.Postgres()

func dialectSQL(q string) string { return dialect.SQL(q) }

// reader is the sqlstore.Reader over the read pool.
type reader struct{ s *Store }

var _ sqlstore.Reader = reader{}

func (r reader) Read(ctx context.Context) (context.Context, context.CancelFunc, error) {
	return r.s.reading(ctx)
}

func (r reader) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Scanner {
	return retryRow{r.s, ctx, dialectSQL(sql), args}
}

func (r reader) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	return r.s.query(ctx, dialectSQL(sql), args...)
}

func (r reader) MapErr(err error) error { return mapErr(err) }

// errNoRows maps pgx's no-rows error to the shared one.
func errNoRows(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	return err
}
