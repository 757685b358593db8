// Package sqlite is the embedded store: one SQLite database file (through
// the pure-Go driver modernc.org/sqlite) behind the store.Store interface.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so a
// transaction is fsynced before Update returns. All writes go through one
// connection owned by one goroutine, which commits the update functions of
// concurrent callers together (group commit: one fsync for many messages);
// each function runs in its own savepoint, so it still succeeds or fails on
// its own. Reads use a separate pool of connections and never wait for the
// writer.
//
// Deletion: secure_delete is on, so the pages that held a deleted body or
// audit entry are overwritten with zeros rather than left in the free
// list. The write-ahead log may still hold copies of those pages from
// when they were written; a while after each deletion the writer
// truncates it (see WithWipeInterval, and wipe.go for why a passive
// checkpoint is not enough), and Checkpoint does the same on demand.
// Temporary files are kept in memory (temp_store), so that no page image
// is left behind in a deleted temporary file.
//
// Encryption at rest: with WithSealer, bodies are sealed before SQLite
// sees them, so no file SQLite writes (database, WAL, temporary files)
// ever holds them in clear. The records beside them (envelope, subject,
// verdict, decisions, audit log) are not sealed.
//
// Times are stored as UTC unix milliseconds: what is read back equals what
// was written truncated to the millisecond, in UTC. The zero time is stored
// as 0, so the instant of the unix epoch itself reads back as the zero time.
//
// The statements, the encodings of the rows, every read and the group
// commit are shared with the PostgreSQL store (package sqlstore); this
// package holds what is SQLite's own: the single writer connection and its
// prepared statements, pragmas, space checks, the WAL wipe, the schema.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlstore"
)

// Option changes a default of Open.
type Option func(*options)

type options struct {
	maxPages    int64
	readers     int
	maxBatch    int
	busyTimeout time.Duration
	minFree     int64
	sealer      store.Sealer
	wipeEvery   time.Duration
}

// WithMaxPages caps the database at n pages (PRAGMA max_page_count; a page
// is 4 KiB). Writes beyond it fail with store.ErrFull. SQLite will not set
// the cap below the current size; zero means SQLite's default, which is
// effectively unlimited.
func WithMaxPages(n int64) Option { return func(o *options) { o.maxPages = n } }

// WithReaders sets the number of read connections (default: max(4, GOMAXPROCS)).
func WithReaders(n int) Option { return func(o *options) { o.readers = n } }

// WithMaxBatch bounds how many update functions share one commit
// (default 256). Larger batches amortise the fsync further but make every
// caller in the batch wait for the slowest function.
func WithMaxBatch(n int) Option { return func(o *options) { o.maxBatch = n } }

// WithBusyTimeout sets how long a connection waits for a lock held by
// another process on the same file, e.g. an administrative command
// (default 5s).
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithMinFree sets the free disk space below which Ping reports
// store.ErrFull (default 32 MiB), so that the front end refuses mail with a
// temporary error before a commit fails half way.
func WithMinFree(bytes int64) Option { return func(o *options) { o.minFree = bytes } }

// WithSealer seals every body the store inserts with s, and opens sealed
// bodies with it (encryption at rest). Each body row records whether it
// is sealed, so a database written before sealing was configured still
// reads; a sealed body without a sealer fails with store.ErrSealed.
func WithSealer(s store.Sealer) Option { return func(o *options) { o.sealer = s } }

// Store is the SQLite implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	log    *zap.Logger
	path   string
	opts   options
	wdb    *sql.DB // holds the single writer connection
	rdb    *sql.DB // read-only pool
	w      *writer
	eng    *sqlstore.Engine
	rd     *reader
	closed atomic.Bool
	once   sync.Once
	cerr   error

	// Every read, written once for both databases.
	sqlstore.Reads
}

// dialect is SQLite's side of the shared SQL.
var dialect = sqlstore.SQLite()

var _ store.Store = (*Store)(nil)

// Stats counts the writer's work since Open.
type Stats struct {
	Commits uint64 // transactions committed
	Updates uint64 // update functions run
	Failed  uint64 // update functions that returned an error or panicked
	Wipes   uint64 // automatic WAL wipes after deletions (see WithWipeInterval)
}

const (
	walSizeLimit = 64 << 20 // WAL is truncated to this after a checkpoint
	writerCache  = 16 << 10 // KiB of page cache for the writer
	// walCheckpointPages is the WAL size (in 4 KiB pages, 16 MiB) at
	// which a commit checkpoints it into the database file; SQLite's
	// default is 1000. Delivering a large message frees its body's
	// pages (zeroed by secure_delete) and the next message reuses them:
	// between two checkpoints a page is written to the WAL several
	// times, and the checkpoint copies only its last version. Four
	// times fewer checkpoints take about a tenth off the writer's CPU
	// per 100 KB message (BenchmarkLife). Deleted content stays
	// no longer in either file: the wipe (wipe.go) truncates the WAL a
	// while after a deletion whatever its size.
	walCheckpointPages = 4000
)

// Open opens or creates the database file at path and brings its schema up
// to date. The parent directory is created with mode 0700 and a new
// database file with mode 0600 (SQLite gives its -wal and -shm files the
// same mode): the file holds mail.
func Open(path string, log *zap.Logger, opts ...Option) (*Store, error) {
	if log == nil {
		log = zap.NewNop()
	}
	o := options{
		readers:     max(4, runtime.GOMAXPROCS(0)),
		maxBatch:    256,
		busyTimeout: 5 * time.Second,
		minFree:     32 << 20,
		wipeEvery:   defaultWipeEvery,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" || strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") {
		// The driver would read a '?' as the start of its parameters and
		// a "file:" prefix as a URI.
		return nil, fmt.Errorf("sqlite: unusable database path %q", path)
	}
	if o.readers < 1 || o.maxBatch < 1 || o.maxPages < 0 || o.busyTimeout < 0 {
		return nil, errors.New("sqlite: invalid option value")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create directory: %w", mapErr(err))
	}
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("sqlite: open database file: %w", mapErr(err))
	} else {
		f.Close()
	}

	s := &Store{log: log.Named("sqlite"), path: path, opts: o}
	if err := s.open(); err != nil {
		s.closeAll()
		return nil, err
	}
	s.eng = sqlstore.Start(sqlstore.Config{
		Name:       "sqlite",
		Log:        s.log,
		Committers: 1,
		MaxBatch:   o.maxBatch,
		New:        func() sqlstore.Writer { return s.w },
	})
	return s, nil
}

func (s *Store) open() error {
	ctx := context.Background()
	busy := "_pragma=busy_timeout(" + strconv.FormatInt(s.opts.busyTimeout.Milliseconds(), 10) + ")"

	var err error
	if s.wdb, err = sql.Open("sqlite", s.path+"?"+busy); err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: open writer: %w", mapErr(err))
	}
	s.w = &writer{
		log:         s.log,
		conn:        conn,
		sealer:      s.opts.sealer,
		wipeEvery:   s.opts.wipeEvery,
		busyTimeout: s.opts.busyTimeout,
	}

	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return fmt.Errorf("sqlite: set WAL mode: %w", mapErr(err))
	}
	if mode != "wal" {
		return fmt.Errorf("sqlite: journal mode is %q, not wal", mode)
	}
	pragmas := []string{
		"PRAGMA synchronous = FULL",
		"PRAGMA foreign_keys = ON",
		"PRAGMA secure_delete = ON",
		"PRAGMA journal_size_limit = " + strconv.Itoa(walSizeLimit),
		"PRAGMA wal_autocheckpoint = " + strconv.Itoa(walCheckpointPages),
		"PRAGMA cache_size = -" + strconv.Itoa(writerCache),
		// Statement journals and sorts stay in memory: a temporary
		// file would hold page images (mail included) on disk, and
		// deleting it does not erase them.
		"PRAGMA temp_store = MEMORY",
	}
	if s.opts.maxPages > 0 {
		pragmas = append(pragmas, "PRAGMA max_page_count = "+strconv.FormatInt(s.opts.maxPages, 10))
	}
	for _, p := range pragmas {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("sqlite: %s: %w", p, mapErr(err))
		}
	}

	from, to, err := migrate(ctx, conn)
	if err != nil {
		return err
	}
	if from != to {
		s.log.Info("store schema migrated", zap.Int("from", from), zap.Int("to", to))
	}

	s.w.st.byText = make(map[string]*sql.Stmt)
	for _, q := range writerSQL {
		st, err := conn.PrepareContext(ctx, q.sql)
		if err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", q.sql, err)
		}
		*q.dst(&s.w.st) = st
	}

	// Readers cannot write by accident (query_only), and need neither
	// sync nor secure_delete settings.
	if s.rdb, err = sql.Open("sqlite", s.path+"?"+busy+"&_pragma=query_only(1)&_pragma=temp_store(2)"); err != nil {
		return fmt.Errorf("sqlite: open readers: %w", err)
	}
	s.rdb.SetMaxOpenConns(s.opts.readers)
	s.rdb.SetMaxIdleConns(s.opts.readers)
	s.rdb.SetConnMaxIdleTime(0)
	s.rdb.SetConnMaxLifetime(0)
	s.rd = &reader{s: s, stmts: make(map[string]*sql.Stmt)}
	s.Reads = sqlstore.Reads{R: s.rd, D: dialect, Sealer: s.opts.sealer}
	s.log.Info("store opened", zap.String("path", s.path), zap.Int("schema", to))
	return nil
}

// Close stops the writer after the batch in progress, fails updates still
// waiting with store.ErrClosed, and closes the database. It may be called more
// than once.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		s.eng.Close()
		s.cerr = s.closeAll()
	})
	return s.cerr
}

// closeAll releases whatever open got to. The readers go first so that the
// writer's connection is the last one and SQLite checkpoints and removes
// the WAL file as it closes.
func (s *Store) closeAll() error {
	var errs []error
	if s.rd != nil {
		errs = append(errs, s.rd.close())
	}
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.w != nil {
		for _, q := range writerSQL {
			if st := *q.dst(&s.w.st); st != nil {
				errs = append(errs, st.Close())
			}
		}
		for _, st := range s.w.st.byText {
			errs = append(errs, st.Close())
		}
		if s.w.conn != nil {
			errs = append(errs, s.w.conn.Close())
		}
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	return errors.Join(errs...)
}

// Update implements store.Store. The function runs on the writer goroutine
// together with other callers' functions and is committed with them. If
// ctx ends before the function has started, Update returns ctx.Err() and
// the function never runs; once it has started, Update waits for the commit
// so that its answer says whether the writes persisted.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return s.eng.Update(ctx, fn)
}

// do runs fn on the writer connection between transactions.
func (s *Store) do(ctx context.Context, fn func(*sql.Conn) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return s.eng.Do(ctx, func(w sqlstore.Writer) error { return fn(w.(*writer).conn) })
}

// Stats returns the writer's counters.
func (s *Store) Stats() Stats {
	st := s.eng.Stats()
	return Stats{Commits: st.Commits, Updates: st.Updates, Failed: st.Failed, Wipes: s.w.wipes.Load()}
}

// Checkpoint copies the write-ahead log into the database file and
// truncates the log at once, so that no copy of deleted pages remains in
// it, without waiting for the automatic wipe (WithWipeInterval). It waits
// for readers up to the busy timeout, and fails if they kept it from
// completing.
func (s *Store) Checkpoint(ctx context.Context) error {
	return s.do(ctx, func(c *sql.Conn) error {
		return checkpointTruncate(c, s.opts.busyTimeout, s.opts.busyTimeout)
	})
}

// Ping checks that a reader and the writer answer, and that there is room
// for more mail: pages left under the WithMaxPages cap and free disk space
// above WithMinFree.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	var one int
	if err := s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping reader: %w", mapErr(err))
	}
	err := s.do(ctx, func(c *sql.Conn) error {
		var pages, free, maxPages int64
		bg := context.Background()
		for _, q := range []struct {
			dst *int64
			sql string
		}{{&pages, "PRAGMA page_count"}, {&free, "PRAGMA freelist_count"}, {&maxPages, "PRAGMA max_page_count"}} {
			if err := c.QueryRowContext(bg, q.sql).Scan(q.dst); err != nil {
				return fmt.Errorf("sqlite: ping writer: %w", mapErr(err))
			}
		}
		// Keep a reserve so that a message in flight still fits.
		reserve := min(256, maxPages/8)
		if maxPages-(pages-free) < reserve {
			return fmt.Errorf("sqlite: %d of %d pages used: %w", pages-free, maxPages, store.ErrFull)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if avail, ok := diskFree(filepath.Dir(s.path)); ok && avail < uint64(s.opts.minFree) {
		return fmt.Errorf("sqlite: %d bytes free on disk: %w", avail, store.ErrFull)
	}
	return nil
}
