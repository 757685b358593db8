package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/storetest"
)

var base = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func testMessage(n int) *store.Message {
	recv := base.Add(time.Duration(n) * time.Millisecond)
	return &store.Message{
		Envelope: envelope.Envelope{
			ID:       fmt.Sprintf("%s%06d", store.NewID(recv), n),
			Received: recv,
			From:     "alice@example.com",
			Rcpts:    []envelope.Rcpt{{Addr: "bob@example.net"}},
		},
		State:       store.Queued,
		Updated:     recv,
		NextAttempt: recv,
		Status:      make([]store.RcptStatus, 1),
	}
}

func mustUpdate(t testing.TB, s *Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func insertMessages(t testing.TB, s *Store, ms ...*store.Message) {
	t.Helper()
	mustUpdate(t, s, func(tx store.Tx) error {
		for _, m := range ms {
			if err := tx.InsertMessage(m, bytes.NewReader([]byte("Subject: x\r\n\r\nbody\r\n"))); err != nil {
				return err
			}
		}
		return nil
	})
}

// scalar reads one value through the store's reader pool.
func scalar[T any](t testing.TB, s *Store, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := s.rpool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// Instances starting together on an empty schema: one migrates, the
// others wait for its lock and find the schema current. Without the lock
// they would race on CREATE TABLE and fail.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	const n = 4
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		stores = make([]*Store, n)
		errs   = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			stores[i], errs[i] = Open(context.Background(), db.dsn, zaptest.NewLogger(t))
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	if t.Failed() {
		return
	}
	s := stores[0]
	if got := scalar[int64](t, s, "SELECT count(*) FROM schema_migrations"); got != int64(len(migrations)) {
		t.Errorf("%d rows in schema_migrations; want %d", got, len(migrations))
	}
	if got := scalar[int](t, s, "SELECT max(version) FROM schema_migrations"); got != len(migrations) {
		t.Errorf("schema version %d; want %d", got, len(migrations))
	}
	// Every instance works on the same tables.
	m := testMessage(1)
	insertMessages(t, stores[1], m)
	if _, err := stores[3].Message(context.Background(), m.ID); err != nil {
		t.Errorf("message inserted by one instance, read by another: %v", err)
	}
	// Opening again changes nothing.
	again := db.open(t)
	if got := scalar[int64](t, again, "SELECT count(*) FROM schema_migrations"); got != int64(len(migrations)) {
		t.Errorf("%d rows in schema_migrations after reopening; want %d", got, len(migrations))
	}
}

func TestNewerSchema(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t)
	s.Close()
	admin(t, db.base, fmt.Sprintf("INSERT INTO %s.schema_migrations VALUES ($1, 0)", db.schema), len(migrations)+1)
	_, err := Open(context.Background(), db.dsn, zaptest.NewLogger(t))
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a schema from a newer version: %v; want a refusal", err)
	}
}

func TestNoSchema(t *testing.T) {
	t.Parallel()
	base := testDSN(t)
	dsn := withParams(t, base, map[string]string{"search_path": "egtest_does_not_exist"})
	_, err := Open(context.Background(), dsn, zaptest.NewLogger(t))
	if err == nil || !strings.Contains(err.Error(), "schema") {
		t.Fatalf("Open with a search_path naming no existing schema: %v; want an error about the schema", err)
	}
}

func TestBadOptions(t *testing.T) {
	for _, opt := range []Option{WithReaders(0), WithCommitters(0), WithMaxBatch(0), WithTimeout(0)} {
		if _, err := Open(context.Background(), defaultDSN, nil, opt); err == nil {
			t.Error("Open with an invalid option succeeded")
		}
	}
	if _, err := Open(context.Background(), "postgres://a b c:%zz", nil); err == nil {
		t.Error("Open with an unparsable connection string succeeded")
	}
}

// Two instances, each with its own connections, claim from one queue at
// the same time: every message is claimed, and by one of them only.
func TestClaimAcrossInstances(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	a, b := db.open(t), db.open(t)
	const total, perInstance, limit = 600, 3, 5
	var all []*store.Message
	for i := range total {
		m := testMessage(i)
		m.NextAttempt = base.Add(-time.Duration(i%17) * time.Second)
		all = append(all, m)
	}
	insertMessages(t, a, all...)

	var (
		mu    sync.Mutex
		byID  = map[string][]string{}
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, 2*perInstance)
	)
	until := base.Add(time.Hour)
	for _, inst := range []struct {
		name string
		s    *Store
	}{{"a", a}, {"b", b}} {
		for w := range perInstance {
			owner := fmt.Sprintf("%s-%d", inst.name, w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for {
					var got []*store.Message
					err := inst.s.Update(context.Background(), func(tx store.Tx) error {
						var err error
						got, err = tx.ClaimDue(base, owner, until, limit)
						return err
					})
					if err != nil {
						errs <- err
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, m := range got {
						byID[m.ID] = append(byID[m.ID], owner)
					}
					mu.Unlock()
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(byID) != total {
		t.Errorf("%d messages claimed; want %d", len(byID), total)
	}
	owners := map[string]int{}
	for id, who := range byID {
		if len(who) != 1 {
			t.Errorf("message %s claimed by %v", id, who)
		}
		owners[who[0][:1]]++
	}
	if got := scalar[int64](t, b, "SELECT count(*) FROM messages WHERE state = 'sending' AND attempts = 1"); got != total {
		t.Errorf("%d messages stored as sending with one attempt; want %d", got, total)
	}
	t.Logf("claims per instance: %v", owners)
}

// Appenders on two instances, some of whose functions fail after
// appending, leave one gap-free chain.
func TestAuditAcrossInstances(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	a, b := db.open(t), db.open(t)
	const workers, each = 4, 25
	errFail := errors.New("deliberate failure after appending")
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		ok    int
		errs  []error
	)
	for i, s := range []*Store{a, b, a, b, a, b, a, b}[:2*workers] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := range each {
				fail := (i*each+j)%7 == 3
				err := s.Update(context.Background(), func(tx store.Tx) error {
					if _, err := audit.Append(tx, base.Add(time.Duration(j)*time.Second), audit.Event{
						Actor: fmt.Sprintf("worker-%d", i), Action: "test.append", Data: map[string]any{"n": j},
					}); err != nil {
						return err
					}
					if fail {
						return errFail
					}
					return nil
				})
				mu.Lock()
				switch {
				case err == nil:
					ok++
				case !fail || !errors.Is(err, errFail):
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	for name, s := range map[string]*Store{"a": a, "b": b} {
		n, err := audit.Verify(context.Background(), s)
		if err != nil {
			t.Errorf("audit.Verify on %s: %v", name, err)
		}
		if n != int64(ok) {
			t.Errorf("audit.Verify on %s checked %d entries; want %d", name, n, ok)
		}
	}
	if got := scalar[int64](t, a, "SELECT max(seq) FROM audit"); got != int64(ok) {
		t.Errorf("last seq %d; want %d", got, ok)
	}
}

// Officers on two instances approve the same held messages at the same
// time: each message is approved once, with one decision.
func TestApproveOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	a, b := db.open(t), db.open(t)
	const msgs, tries = 20, 6
	var held []*store.Message
	for i := range msgs {
		m := testMessage(i)
		m.State = store.Held
		held = append(held, m)
	}
	insertMessages(t, a, held...)
	errDecided := errors.New("already decided")
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		wins  = map[string]int{}
	)
	for _, m := range held {
		for i := range tries {
			s := []*Store{a, b}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := s.Update(context.Background(), func(tx store.Tx) error {
					cur, err := tx.Message(m.ID)
					if err != nil {
						return err
					}
					if cur.State != store.Held {
						return errDecided
					}
					cur.State = store.Queued
					if err := tx.UpdateMessage(cur, store.Held); err != nil {
						return err
					}
					return tx.AddDecision(&store.Decision{MsgID: m.ID, Actor: fmt.Sprintf("officer-%d", i), Kind: store.DecisionApprove, At: base})
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins[m.ID]++
				case !errors.Is(err, errDecided):
					t.Errorf("approval of %s: %v", m.ID, err)
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	for _, m := range held {
		if wins[m.ID] != 1 {
			t.Errorf("message %s approved %d times", m.ID, wins[m.ID])
		}
		ds, err := b.Decisions(context.Background(), m.ID)
		if err != nil || len(ds) != 1 {
			t.Errorf("message %s: %d decisions, %v; want 1", m.ID, len(ds), err)
		}
	}
}

// An allowlist change on one instance is seen by the next Generation call
// on another.
func TestGenerationAcrossInstances(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	a, b := db.open(t), db.open(t)
	gen := func(s *Store) int64 {
		t.Helper()
		n, err := s.Generation(context.Background(), "allowlist")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if g := gen(b); g != 0 {
		t.Fatalf("initial generation %d", g)
	}
	e := &store.AllowEntry{ID: "e1", Kind: store.AllowDomain, Value: "example.net", Source: "store", Added: base}
	mustUpdate(t, a, func(tx store.Tx) error { return tx.PutAllow(e) })
	if g := gen(b); g != 1 {
		t.Errorf("generation on b after a's change = %d; want 1", g)
	}
	mustUpdate(t, b, func(tx store.Tx) error { return tx.DeleteAllow("e1") })
	if g := gen(a); g != 2 {
		t.Errorf("generation on a after b's change = %d; want 2", g)
	}
}

// The server ending the store's connections (a restart, a failover, an
// administrator) costs no caller an error: the committers and readers
// find the stale connections and use fresh ones.
func TestTerminatedConnections(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, WithCommitters(2), WithReaders(2))
	ctx := context.Background()
	for round := range 3 {
		// Warm both pools so that there are connections to kill.
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := testMessage(round*100 + i)
				insertMessages(t, s, m)
				if _, err := s.Message(ctx, m.ID); err != nil {
					t.Errorf("read: %v", err)
				}
			}()
		}
		wg.Wait()
		killed := terminate(t, db)
		if killed == 0 {
			t.Fatal("no connection of the store to terminate: the test proves nothing")
		}
		// At once, before the pool's idle check would ping them.
		m := testMessage(round*100 + 99)
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMessage(m, nil) }); err != nil {
			t.Errorf("round %d: Update after %d connections were terminated: %v", round, killed, err)
		}
		if _, err := s.Message(ctx, m.ID); err != nil {
			t.Errorf("round %d: read after connections were terminated: %v", round, err)
		}
		if _, err := s.Count(ctx); err != nil {
			t.Errorf("round %d: Count after connections were terminated: %v", round, err)
		}
	}
}

// terminate ends every server connection of the test's stores and waits
// until they are gone; it returns how many there were.
func terminate(t testing.TB, db *testDB) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND pid <> pg_backend_pid()`, db.app).Scan(&n); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var left int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, db.app).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			return n
		}
	}
	t.Fatal("terminated connections still there after 10s")
	return n
}

// An update function that calls runtime.Goexit (t.FailNow in a test)
// ends its committer goroutine. Its caller and the others in its batch
// get an error, not a hang, and the store goes on with a new committer.
func TestGoexit(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, WithCommitters(1))
	ctx := context.Background()
	m := testMessage(1)
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx store.Tx) error {
			if err := tx.InsertMessage(m, nil); err != nil {
				return err
			}
			runtime.Goexit()
			return nil
		})
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Update whose function called Goexit succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Update whose function called Goexit hangs")
	}
	if _, err := s.Message(ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("message of the function that called Goexit: %v; want ErrNotFound", err)
	}
	next := testMessage(2)
	insertMessages(t, s, next)
	if _, err := s.Message(ctx, next.ID); err != nil {
		t.Errorf("store after Goexit: %v", err)
	}
}

// Concurrent updates share commits.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t)
	const n = 300
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			m := testMessage(i)
			if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.InsertMessage(m, nil) }); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	st := s.Stats()
	if st.Updates != n || st.Commits >= n {
		t.Errorf("stats %+v: want %d updates in fewer commits", st, n)
	}
	t.Logf("%d updates in %d commits", st.Updates, st.Commits)
	if got := scalar[int64](t, s, "SELECT count(*) FROM messages"); got != n {
		t.Errorf("%d messages stored; want %d", got, n)
	}
}

// A transaction ends early once the bodies in it reach the byte bound;
// the functions after it run in the next one.
func TestTxBytesBound(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, WithCommitters(1), func(o *options) { o.maxTxBytes = 1 })
	const n = 50
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			m := testMessage(i)
			if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader([]byte("x"))) }); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if st := s.Stats(); st.Commits != n || st.Updates != n {
		t.Errorf("stats %+v; want each of %d updates in a commit of its own", st, n)
	}
	if got := scalar[int64](t, s, "SELECT count(*) FROM messages"); got != n {
		t.Errorf("%d messages stored; want %d", got, n)
	}
}

// The partial index and the queries that should use it spell the states
// out; they must be the store's names, and the queries must be able to
// use the index (its predicate implied by theirs).
func TestDueIndex(t *testing.T) {
	t.Parallel()
	if store.Queued != "queued" || store.Sending != "sending" || store.Delayed != "delayed" {
		t.Fatalf("store states renamed (%q, %q, %q): update the SQL in schema.go, tx.go and postgres.go with a migration",
			store.Queued, store.Sending, store.Delayed)
	}
	db := newTestDB(t)
	s := db.open(t)
	ctx := context.Background()
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"claim":    {dialect.SQL(dialect.ClaimDueSQL()), []any{"me", int64(2), int64(1), 10}},
		"next due": {`SELECT min(next_attempt) FROM messages WHERE state IN ('queued', 'sending', 'delayed')`, nil},
	} {
		err := pgx.BeginFunc(ctx, s.rpool, func(tx pgx.Tx) error {
			// Tiny tables make a sequential scan cheapest; forbid it to
			// see whether the index can serve the query at all.
			if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, "EXPLAIN "+q.sql, q.args...)
			if err != nil {
				return err
			}
			plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			if !strings.Contains(strings.Join(plan, "\n"), "messages_due") {
				t.Errorf("%s does not use messages_due:\n%s", name, strings.Join(plan, "\n"))
			}
			return errors.New("roll back") // EXPLAIN of the UPDATE ran nothing; roll back anyway
		})
		if err != nil && err.Error() != "roll back" {
			t.Fatal(err)
		}
	}
}

func TestMapErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{&pgconn.PgError{Code: "23505"}, store.ErrExists},
		{&pgconn.PgError{Code: "53100"}, store.ErrFull},
		{&pgconn.PgError{Code: "57P01"}, ErrUnavailable},
		{&pgconn.PgError{Code: "08006"}, ErrUnavailable},
		{fmt.Errorf("read: %w", context.DeadlineExceeded), ErrUnavailable},
		{pgconn.ErrConnClosed, ErrUnavailable},
		{&pgconn.PgError{Code: "40P01"}, nil},
		{&pgconn.PgError{Code: "22021"}, nil},
		{errors.New("cannot encode"), nil},
	} {
		got := mapErr(tc.err)
		if !errors.Is(got, tc.err) {
			t.Errorf("mapErr(%v) = %v: lost the original", tc.err, got)
		}
		for _, sentinel := range []error{store.ErrExists, store.ErrFull, ErrUnavailable} {
			if errors.Is(got, sentinel) != (sentinel == tc.want) {
				t.Errorf("mapErr(%v) = %v; want it to wrap %v", tc.err, got, tc.want)
			}
		}
	}
}

// Text from the network goes into bytea columns: PostgreSQL text takes
// neither NUL nor invalid UTF-8, and such a message must still be stored.
func TestOddBytes(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t)
	m := testMessage(1)
	m.Helo = "helo\x00\xff"
	m.From = "a\xc3\x28@example.com"
	m.Params.EnvID = "\x00"
	m.Subject = "Gr\xfc\xdfe \\x41"
	m.HeaderFrom = "\\\\"
	m.LastError = "550 \xff\xfe"
	insertMessages(t, s, m)
	got, err := s.Message(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Helo != m.Helo || got.From != m.From || got.Params.EnvID != m.Params.EnvID ||
		got.Subject != m.Subject || got.HeaderFrom != m.HeaderFrom || got.LastError != m.LastError {
		t.Errorf("odd bytes changed:\n got %q %q %q %q %q %q\nwant %q %q %q %q %q %q",
			got.Helo, got.From, got.Params.EnvID, got.Subject, got.HeaderFrom, got.LastError,
			m.Helo, m.From, m.Params.EnvID, m.Subject, m.HeaderFrom, m.LastError)
	}
	ms, err := s.List(context.Background(), store.Filter{From: m.From})
	if err != nil || len(ms) != 1 {
		t.Errorf("List by an odd sender: %d, %v", len(ms), err)
	}
	// An audit entry about a login name someone tried.
	mustUpdate(t, s, func(tx store.Tx) error {
		_, err := audit.Append(tx, base, audit.Event{Actor: "x\x00\xff", Action: "console.login_failed"})
		return err
	})
	es, err := s.Audit(context.Background(), store.AuditFilter{Actor: "x\x00\xff"})
	if err != nil || len(es) != 1 {
		t.Fatalf("Audit by an odd actor: %d, %v", len(es), err)
	}
	if _, err := audit.Verify(context.Background(), s); err != nil {
		t.Error(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
	}
}

// Close lets the batch in progress commit and fails what is still queued
// with store.ErrClosed; every update that reported success persisted, and
// no other.
func TestCloseWhileQueued(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, WithCommitters(1))
	storetest.CloseWhileQueued(t, s, storetest.Engine{
		Updates: func() uint64 { return s.eng.Stats().Updates },
		Queued:  s.eng.Queued,
		Closed:  s.closed.Load,
	}, func() store.Store { return db.open(t) })
}
