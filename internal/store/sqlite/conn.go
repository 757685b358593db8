package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlstore"
)

// stmts are prepared once on the writer connection. SQLite keeps the
// compiled programs, so a write costs a bind and a step, not a parse. The
// statements of the shared transaction code are prepared on first use and
// kept for the life of the store.
type stmts struct {
	begin, commit, rollback        *sql.Stmt
	savepoint, release, rollbackTo *sql.Stmt

	byText map[string]*sql.Stmt
}

// writerSQL is every statement the writer prepares at Open.
var writerSQL = []struct {
	dst func(*stmts) **sql.Stmt
	sql string
}{
	{func(s *stmts) **sql.Stmt { return &s.begin }, `BEGIN IMMEDIATE`},
	{func(s *stmts) **sql.Stmt { return &s.commit }, `COMMIT`},
	{func(s *stmts) **sql.Stmt { return &s.rollback }, `ROLLBACK`},
	{func(s *stmts) **sql.Stmt { return &s.savepoint }, `SAVEPOINT fn`},
	{func(s *stmts) **sql.Stmt { return &s.release }, `RELEASE fn`},
	{func(s *stmts) **sql.Stmt { return &s.rollbackTo }, `ROLLBACK TO fn`},
}

// stmt returns the writer's prepared statement for q.
func (w *writer) stmt(q string) (*sql.Stmt, error) {
	if st, ok := w.st.byText[q]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(context.Background(), q)
	if err != nil {
		return nil, err
	}
	w.st.byText[q] = st
	return st, nil
}

// conn is the sqlstore.Conn of one update function. A new one is made for
// each function so that a Tx kept past its function fails loudly instead
// of writing into someone else's transaction.
//
// An error after which SQLite may have rolled back the whole transaction
// breaks the conn: further calls fail with it, and the function fails even
// if it ignores the error, because statements run after such an abort
// would otherwise commit on their own.
type conn struct {
	w *writer
	sqlstore.FnState
}

var _ sqlstore.Conn = (*conn)(nil)

// fail records err and returns it translated.
func (c *conn) fail(op string, err error) error {
	err2 := fmt.Errorf("sqlite: %s: %w", op, mapErr(err))
	if abortsTx(err) {
		c.Break(err2)
	}
	return err2
}

func (c *conn) Exec(op, q string, args ...any) (int64, error) {
	st, err := c.w.stmt(q)
	if err != nil {
		return 0, c.fail(op, err)
	}
	res, err := st.Exec(args...)
	if err != nil {
		return 0, c.fail(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, c.fail(op, err)
	}
	return n, nil
}

func (c *conn) ExecAll(op string, stmts ...sqlstore.Stmt) (int64, error) {
	var first int64
	for i, s := range stmts {
		n, err := c.Exec(op, s.SQL, s.Args...)
		if err != nil {
			return 0, err
		}
		if i == 0 {
			first = n
		}
	}
	return first, nil
}

func (c *conn) Query(op string, lead *sqlstore.Stmt, q string, args []any, each func(sqlstore.Scanner) error) error {
	if lead != nil {
		if _, err := c.Exec(op, lead.SQL, lead.Args...); err != nil {
			return err
		}
	}
	st, err := c.w.stmt(q)
	if err != nil {
		return c.fail(op, err)
	}
	rows, err := st.Query(args...)
	if err != nil {
		return c.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return c.fail(op, err)
		}
	}
	if err := rows.Err(); err != nil {
		return c.fail(op, err)
	}
	return nil
}

func (c *conn) Deleted()  { c.w.txDeleted = true }
func (c *conn) Wake()     {}
func (c *conn) Carry(int) {}

// reader is the sqlstore.Reader over the read-only pool. Statements are
// prepared on first use and kept.
type reader struct {
	s     *Store
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

var _ sqlstore.Reader = (*reader)(nil)

func noCancel() {}

func (r *reader) Read(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if r.s.closed.Load() {
		return nil, nil, store.ErrClosed
	}
	return ctx, noCancel, nil
}

func (r *reader) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.stmts[q]; ok {
		return st, nil
	}
	st, err := r.s.rdb.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	r.stmts[q] = st
	return st, nil
}

func (r *reader) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Scanner {
	st, err := r.stmt(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return row{st.QueryRowContext(ctx, args...)}
}

func (r *reader) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	st, err := r.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	rs, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	return rows{rs}, nil
}

func (r *reader) MapErr(err error) error { return mapErr(err) }

func (r *reader) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, st := range r.stmts {
		errs = append(errs, st.Close())
	}
	clear(r.stmts)
	return errors.Join(errs...)
}

type row struct{ *sql.Row }

func (r row) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type rows struct{ *sql.Rows }

func (r rows) Close() { r.Rows.Close() }
