// Package postgres is the shared store: a PostgreSQL database (through
// github.com/jackc/pgx/v5) behind the store.Store interface, so that several
// guard instances share one queue, one set of held mail and decisions, one
// allowlist, one user base and one audit chain.
//
// Durability: Update returns after PostgreSQL has committed, which with
// synchronous_commit on (the default; the store does not change it, and
// warns at Open if the server has it off) means the commit record is
// flushed to disk, and with synchronous replication configured, to the
// standbys too. Update functions of concurrent callers are committed
// together (group commit): the committer goroutine takes what has queued up,
// runs every function in its own savepoint on one connection, and sends
// one COMMIT. A function that fails is rolled back to its savepoint and
// fails alone.
//
// Several instances: every write transaction takes one advisory lock
// first (see committer.Begin), so the write transactions of all instances
// sharing the database run one at a time, as SQLite's single writer runs
// them on one host; reads run in parallel and never wait for it. Nearly
// every write appends to the single audit chain, which would serialise
// them anyway; the lock makes the order explicit, and makes deadlocks
// between batches of unrelated functions impossible. On top of it, and
// so that each holds on its own: ClaimDue locks the rows it picks with
// FOR UPDATE SKIP LOCKED; a claim is a lease until NextAttempt, after
// which any instance may take the message over, so a crashed instance's
// messages are delivered at least once, never lost (and twice only if it
// crashed between the upstream's acceptance and recording it). Leases
// compare the claiming instance's clock with the lease end another
// instance wrote, so the instances' clocks must agree (NTP) to well within
// a lease. Tx.Message
// locks its row until the transaction ends, and UpdateMessage's state
// condition is checked against the committed row, so of two instances
// deciding on one held message only the first wins. LastAudit takes the
// same advisory lock, and InsertAudit refuses any Seq but the next, so the
// chain never forks. Generation reads the database on every call: an
// allowlist change committed on one instance is seen by the next call on
// any instance.
//
// The database is reached through search_path: every table is named
// without a schema, so one database can hold several deployments (or test
// runs) in separate schemas, e.g. postgres://…/mail?search_path=guard_a.
// The advisory lock keys are derived from the schema name, so deployments
// in separate schemas never wait for each other. Schema migrations run at
// Open, under an advisory lock, in one transaction.
//
// Deletion: PostgreSQL does not overwrite deleted rows. The bytes of a
// deleted body stay in the data files of bodies (and its TOAST table, where
// large values live) until VACUUM reclaims the
// space (autovacuum does so shortly on a busy queue; the pages are then
// reused, not zeroed) and in the write-ahead log, its archive and any base
// backup until those are recycled. Deployments that must not keep message
// contents beyond retention should seal bodies and keep the key apart.
//
// Errors: a taken key is store.ErrExists, a full disk (SQLSTATE 53100)
// store.ErrFull, and not reaching the server (refused, lost, timed out,
// shutting down) ErrUnavailable, all wrapped with the server's message.
// No operation waits longer than the timeout set by WithTimeout.
//
// Encryption at rest: with WithSealer, bodies are sealed before they are
// sent to the server, so neither the database files, the write-ahead log,
// backups, replicas nor the connection see their content. The records
// (envelope, subject, verdict, decisions, audit log) are not sealed.
//
// Times are stored as bigint UTC unix milliseconds, as in the SQLite store.
//
// The statements, the encodings of the rows, every read and the group
// commit are shared with the SQLite store (package sqlstore); this package
// holds what is PostgreSQL's own: the pools, the writer lock, statements
// pipelined with their savepoints, NOTIFY and the instances, the schema.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlstore"
)

// Option changes a default of Open.
type Option func(*options)

type options struct {
	readers    int
	committers int
	maxBatch   int
	timeout    time.Duration
	sealer     store.Sealer
	maxTxBytes int // tests lower it
	// Membership timing (instance.go); tests shorten them.
	heartbeat, stale time.Duration
}

// WithReaders sets the number of connections for reads outside Update
// (default max(4, GOMAXPROCS)).
func WithReaders(n int) Option { return func(o *options) { o.readers = n } }

// WithCommitters sets how many committer goroutines take batches, each
// with its own connection (default 1). Their transactions take turns on
// the writer lock; a second committer only has its BEGIN and lock request
// waiting when the first commits, at the price of smaller batches. In
// the accepting benchmark two were no faster than one, four slower.
func WithCommitters(n int) Option { return func(o *options) { o.committers = n } }

// WithMaxBatch bounds how many update functions share one commit (default
// 64). PostgreSQL keeps up to 64 subtransaction IDs per session in shared
// memory; a transaction with more savepoints that write makes every other
// session's snapshots consult pg_subtrans, which slows the whole server
// while it is open. Larger values are allowed but rarely worth it.
func WithMaxBatch(n int) Option { return func(o *options) { o.maxBatch = n } }

// WithTimeout bounds every operation: connecting, each read, and each
// group commit from BEGIN to COMMIT (default 30s). When the database does
// not answer in time the operation fails with ErrUnavailable rather than
// hang, and the SMTP client is told to try again later.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithSealer seals every body the store inserts with s, and opens sealed
// bodies in Body. A per-row flag records whether a body is sealed, so a
// database written before sealing was configured still reads; a sealed
// body without a sealer fails with store.ErrSealed. Every instance sharing
// the database needs the keys of every other.
func WithSealer(s store.Sealer) Option { return func(o *options) { o.sealer = s } }

// Store is the PostgreSQL implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	log    *zap.Logger
	opts   options
	wpool  *pgxpool.Pool // the committers' connections
	rpool  *pgxpool.Pool // reads
	schema string
	key    int32 // second advisory lock key, from the schema name

	eng    *sqlstore.Engine
	closed atomic.Bool
	once   sync.Once

	connCfg *pgx.ConnConfig // for the member connection of Join
	member  *member         // set by Join
	mmu     sync.Mutex
	wake    chan struct{}
	channel string // LISTEN/NOTIFY channel of this schema
	// auditLock is the writer lock, taken again before the first read of
	// the newest audit entry (see sqlstore.Tx.LastAudit).
	auditLock *sqlstore.Stmt

	// Every read, written once for both databases.
	sqlstore.Reads
}

var _ store.Store = (*Store)(nil)

// Stats counts the committers' work since Open.
type Stats struct {
	Commits uint64 // transactions committed
	Updates uint64 // update functions run
	Failed  uint64 // update functions that returned an error or panicked
}

// Open connects to the database named by dsn (a URL or key=value
// connection string, as libpq takes), brings the schema up to date and
// starts the committers. The tables live in the first schema of the
// connection's search_path, which must exist. Unless the connection
// string says otherwise, connections identify themselves as
// application_name=egressguard, give up connecting after the timeout of
// WithTimeout (at most 10s), and ask the server to end a session that
// stays idle inside a transaction for longer than that timeout.
func Open(ctx context.Context, dsn string, log *zap.Logger, opts ...Option) (*Store, error) {
	if log == nil {
		log = zap.NewNop()
	}
	o := options{
		readers:    max(4, runtime.GOMAXPROCS(0)),
		committers: 1,
		maxBatch:   64,
		timeout:    30 * time.Second,
		maxTxBytes: defaultMaxTxBytes,
		heartbeat:  heartbeatEvery,
		stale:      staleAfter,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.readers < 1 || o.committers < 1 || o.maxBatch < 1 || o.timeout <= 0 {
		return nil, errors.New("postgres: invalid option value")
	}
	// pgx redacts the password from its parse errors.
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cc := cfg.ConnConfig
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = min(o.timeout, 10*time.Second)
	}
	if _, ok := cc.RuntimeParams["application_name"]; !ok {
		cc.RuntimeParams["application_name"] = "egressguard"
	}
	// A committer holds the writer lock for its whole transaction. If the
	// instance dies or is cut off mid-transaction, the server would keep
	// the session, and the lock, until TCP gave up on it; this has the
	// server end the session once it has waited that long for the next
	// statement. A live committer never pauses between statements for
	// more than an update function's computation.
	if _, ok := cc.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		cc.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(o.timeout.Milliseconds(), 10)
	}
	// Connections are not kept forever, so that a failover or a DNS change
	// is picked up without a restart.
	cfg.MaxConnLifetime = 30 * time.Minute
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.PingTimeout = min(o.timeout, 5*time.Second)

	s := &Store{
		log:  log.Named("postgres"),
		opts: o,
		wake: make(chan struct{}, 1),
	}
	s.Reads = sqlstore.Reads{R: reader{s}, D: dialect, Sealer: o.sealer}
	s.connCfg = cfg.ConnConfig.Copy()
	wcfg := cfg.Copy()
	wcfg.MaxConns = int32(o.committers)
	rcfg := cfg.Copy()
	rcfg.MaxConns = int32(o.readers)
	if s.wpool, err = pgxpool.NewWithConfig(ctx, wcfg); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if s.rpool, err = pgxpool.NewWithConfig(ctx, rcfg); err != nil {
		s.wpool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := s.prepare(ctx); err != nil {
		s.wpool.Close()
		s.rpool.Close()
		return nil, err
	}
	s.eng = sqlstore.Start(sqlstore.Config{
		Name:       "postgres",
		Log:        s.log,
		Committers: o.committers,
		MaxBatch:   o.maxBatch,
		Timeout:    o.timeout,
		New:        func() sqlstore.Writer { return s.newCommitter() },
	})
	return s, nil
}

// prepare checks the server and migrates the schema.
func (s *Store) prepare(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.timeout)
	defer cancel()
	conn, err := s.wpool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", mapErr(err))
	}
	defer conn.Release()
	var (
		schema     *string
		recovering bool
		syncCommit string
	)
	if err := conn.QueryRow(ctx, "SELECT current_schema(), pg_is_in_recovery(), current_setting('synchronous_commit')").Scan(&schema, &recovering, &syncCommit); err != nil {
		return fmt.Errorf("postgres: read server state: %w", mapErr(err))
	}
	if schema == nil {
		return errors.New("postgres: no schema of the search_path exists; create it first")
	}
	if recovering {
		return fmt.Errorf("postgres: server is a read-only standby: %w", ErrUnavailable)
	}
	if syncCommit == "off" {
		// A commit is then acknowledged before it is on disk; a crash of
		// the server loses mail that was answered 250.
		s.log.Warn("synchronous_commit is off: accepted mail can be lost in a database crash")
	}
	s.schema, s.key = *schema, schemaKey(*schema)
	// Channel names are identifiers (at most 63 bytes): a hash of the
	// schema, not the schema's name, which may be longer.
	s.channel = fmt.Sprintf("egressguard_q_%08x", uint32(s.key))
	s.auditLock = &sqlstore.Stmt{SQL: "SELECT pg_advisory_xact_lock(?, ?)", Args: []any{lockWriter, s.key}}
	from, to, err := migrate(ctx, conn.Conn(), s.key, time.Now())
	if err != nil {
		return err
	}
	if from != to {
		s.log.Info("store schema migrated", zap.String("schema", s.schema), zap.Int("from", from), zap.Int("to", to))
	}
	s.log.Info("store opened", zap.String("schema", s.schema), zap.Int("version", to),
		zap.Int("committers", s.opts.committers))
	return nil
}

func (s *Store) newCommitter() *committer {
	return &committer{s: s, log: s.log, pending: make([]string, 0, 2)}
}

// Close stops the committers after their batches in progress, fails
// updates still waiting with store.ErrClosed, and closes the connections.
// It may be called more than once.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		s.eng.Close()
		s.leave()
		s.wpool.Close()
		s.rpool.Close()
	})
	return nil
}

// Update implements store.Store. The function runs on a committer
// goroutine together with other callers' functions and is committed with
// them. If ctx ends before the function has started, Update returns
// ctx.Err() and the function never runs; once it has started, Update waits
// for the commit (at most the WithTimeout bound) so that its answer says
// whether the writes persisted. If the connection is lost during COMMIT
// the outcome is unknown to the store as well; Update then fails with
// ErrUnavailable although the writes may have persisted.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return s.eng.Update(ctx, fn)
}

// Stats returns the committers' counters.
func (s *Store) Stats() Stats {
	st := s.eng.Stats()
	return Stats{Commits: st.Commits, Updates: st.Updates, Failed: st.Failed}
}

// Schema returns the schema the store's tables live in.
func (s *Store) Schema() string { return s.schema }

// reading bounds a read by the store's timeout and fails after Close.
func (s *Store) reading(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if s.closed.Load() {
		return nil, nil, store.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.timeout)
	return ctx, cancel, nil
}

// Ping checks that the database answers and accepts writes: a standby
// (after a failover the address may still lead to the old primary, now
// read-only) would accept mail and then fail every commit.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	var recovering bool
	if err := s.queryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&recovering); err != nil {
		return fmt.Errorf("postgres: ping: %w", mapErr(err))
	}
	if recovering {
		return fmt.Errorf("postgres: server is a read-only standby: %w", ErrUnavailable)
	}
	return nil
}

// stale reports whether err is the failure of a pooled connection that
// the server has closed since it was last used (a restart, a failover,
// pg_terminate_backend, an idle timeout), as opposed to a server that
// cannot be reached: the query never ran, and a fresh connection may well
// work. The pool checks connections that were idle for a second or more
// before handing them out, so this is the case of a busy pool.
func stale(err error) bool {
	var ce *pgconn.ConnectError
	return err != nil && !errors.As(err, &ce) && errors.Is(mapErr(err), ErrUnavailable)
}

// query runs a read on the reader pool, again on another connection as
// long as the one it got was stale (after a restart, every idle one may
// be). Reads are idempotent.
func (s *Store) query(ctx context.Context, sql string, args ...any) (rows pgx.Rows, err error) {
	for range s.opts.readers + 1 {
		if rows, err = s.rpool.Query(ctx, sql, args...); !stale(err) || ctx.Err() != nil {
			break
		}
	}
	return rows, err
}

// queryRow is query for one row.
func (s *Store) queryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return retryRow{s, ctx, sql, args}
}

type retryRow struct {
	s    *Store
	ctx  context.Context
	sql  string
	args []any
}

func (r retryRow) Scan(dest ...any) (err error) {
	for range r.s.opts.readers + 1 {
		if err = r.s.rpool.QueryRow(r.ctx, r.sql, r.args...).Scan(dest...); !stale(err) || r.ctx.Err() != nil {
			break
		}
	}
	return errNoRows(err)
}
