package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlstore"
	"github.com/egressguard/egressguard/internal/store/storetest"
	"github.com/egressguard/egressguard/internal/testenv"
)

// defaultDSN is where scripts/test-deps.sh starts the test server.
const defaultDSN = "postgres://egressguard:egressguard@127.0.0.1:5432/egressguard_test?sslmode=disable"

// testDSN returns the server the tests use. Without one, the tests are
// skipped, except in CI, where a missing server is a failure.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("EGRESSGUARD_TEST_POSTGRES")
	if dsn == "" {
		dsn = defaultDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		testenv.Missing(t, "PostgreSQL for tests unreachable (set EGRESSGUARD_TEST_POSTGRES): %v", err)
	}
	conn.Close(ctx)
	return dsn
}

// admin runs a statement on its own connection to the test server.
func admin(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// withParams returns dsn with connection parameters added, in whichever
// of the two forms dsn is written.
func withParams(t testing.TB, dsn string, params map[string]string) string {
	t.Helper()
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	for k, v := range params {
		dsn += " " + k + "=" + v
	}
	return dsn
}

// testDB is one test's database: a schema of its own on the test server,
// dropped when the test ends, so that tests run in parallel and leave
// nothing behind.
type testDB struct {
	base   string // the server's DSN
	dsn    string // with search_path set to the schema
	schema string
	app    string // application_name of the store's connections
}

func newTestDB(t testing.TB) *testDB {
	t.Helper()
	base := testDSN(t)
	sweepOnce.Do(func() { sweep(t, base) })
	var b [6]byte
	rand.Read(b[:])
	// The creation time in the name lets a later run remove what a
	// killed one left behind.
	schema := fmt.Sprintf("%s%d_%s", schemaPrefix, time.Now().Unix(), hex.EncodeToString(b[:]))
	admin(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { admin(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	app := "egressguard-" + schema
	return &testDB{
		base:   base,
		dsn:    withParams(t, base, map[string]string{"search_path": schema, "application_name": app}),
		schema: schema,
		app:    app,
	}
}

const schemaPrefix = "egtest_"

var sweepOnce sync.Once

// sweep drops test schemas older than an hour: those of runs that were
// killed before their cleanups ran. Younger ones may belong to a run in
// progress.
func sweep(t testing.TB, base string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, schemaPrefix)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		created, _, ok := strings.Cut(strings.TrimPrefix(name, schemaPrefix), "_")
		sec, err := strconv.ParseInt(created, 10, 64)
		if !ok || err != nil || time.Since(time.Unix(sec, 0)) < time.Hour {
			continue
		}
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Logf("drop leftover test schema %s: %v", name, err)
		}
	}
}

// open opens a store on the database and closes it when the test ends.
func (db *testDB) open(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), db.dsn, zaptest.NewLogger(t), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	testDSN(t)
	storetest.Run(t, func(t *testing.T) (store.Store, func(*testing.T) store.Store) {
		db := newTestDB(t)
		return db.open(t), func(t *testing.T) store.Store { return db.open(t) }
	})
}

// TestMigrateFromV7 opens a schema as the previous release left it
// (version 7, bodies kept whole): what it held reads as before, and
// bodies of several chunks are stored beside it.
func TestMigrateFromV7(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	for _, q := range migrations[:7] {
		admin(t, db.dsn, q)
	}
	admin(t, db.dsn, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied bigint NOT NULL)`)
	admin(t, db.dsn, `INSERT INTO schema_migrations SELECT v, 0 FROM generate_series(1, 7) v`)
	old := testMessage(1)
	args, err := dialect.MsgArgs(old)
	if err != nil {
		t.Fatal(err)
	}
	admin(t, db.dsn, dialect.SQL(`INSERT INTO messages (`+sqlstore.MsgColumns+`) VALUES (?`+strings.Repeat(", ?", len(args)-1)+`)`), args...)
	admin(t, db.dsn, `INSERT INTO bodies (id, data, sealed) VALUES ($1, $2, false)`, old.ID, []byte("old body"))

	s := db.open(t)
	ctx := context.Background()
	if b, err := s.Body(ctx, old.ID); err != nil || string(b) != "old body" {
		t.Errorf("body from schema 7: %q, %v", b, err)
	}
	rc, err := s.OpenBody(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(rc); err != nil || string(b) != "old body" {
		t.Errorf("streamed body from schema 7: %q, %v", b, err)
	}
	rc.Close()
	big := testMessage(2)
	data := bytes.Repeat([]byte("0123456789abcdef"), store.BodyChunk/8)
	insertBody(t, s, big, data)
	if b, err := s.Body(ctx, big.ID); err != nil || !bytes.Equal(b, data) {
		t.Errorf("chunked body after the migration: %d bytes, %v", len(b), err)
	}
}

func insertBody(t *testing.T, s *Store, m *store.Message, body []byte) {
	t.Helper()
	if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(body)) }); err != nil {
		t.Fatal(err)
	}
}
