package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlstore"
	"github.com/egressguard/egressguard/internal/store/storetest"
)

func openAt(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(path, zaptest.NewLogger(t), opts...)
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

func newStore(t *testing.T, opts ...Option) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "egressguard.db")
	return openAt(t, path, opts...), path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func(*testing.T) store.Store) {
		s, path := newStore(t)
		return s, func(t *testing.T) store.Store { return openAt(t, path) }
	})
}

func testMessage(n int, now time.Time) *store.Message {
	return &store.Message{
		Envelope: envelope.Envelope{
			ID:       fmt.Sprintf("%s%04d", store.NewID(now), n),
			Received: now,
			From:     "alice@example.com",
			Rcpts:    []envelope.Rcpt{{Addr: "bob@example.net"}},
		},
		State:       store.Queued,
		Updated:     now,
		NextAttempt: now,
		Status:      make([]store.RcptStatus, 1),
	}
}

// pragma reads a PRAGMA on the writer connection.
func pragma(t *testing.T, s *Store, name string) string {
	t.Helper()
	var v string
	err := s.do(context.Background(), func(c *sql.Conn) error {
		return c.QueryRowContext(context.Background(), "PRAGMA "+name).Scan(&v)
	})
	if err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestSettings(t *testing.T) {
	s, path := newStore(t)
	if err := s.Update(context.Background(), func(tx store.Tx) error {
		return tx.InsertMessage(testMessage(1, time.Now()), bytes.NewReader([]byte("x")))
	}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"journal_mode":  "wal",
		"synchronous":   "2", // FULL
		"foreign_keys":  "1",
		"secure_delete": "1",
		"temp_store":    "2", // MEMORY
		"user_version":  fmt.Sprint(len(migrations)),
	} {
		if got := pragma(t, s, name); got != want {
			t.Errorf("PRAGMA %s = %s; want %s", name, got, want)
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(path + suffix)
		if err != nil {
			t.Errorf("database file%s: %v", suffix, err)
			continue
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			t.Errorf("database file%s has mode %v; want no group or other access", suffix, mode)
		}
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v, %v; want mode 0700", fi.Mode(), err)
	}
	var tempStore int
	if err := s.rdb.QueryRow("PRAGMA temp_store").Scan(&tempStore); err != nil || tempStore != 2 {
		t.Errorf("readers' temp_store = %d, %v; want 2 (memory)", tempStore, err)
	}
	// The readers must not be able to write.
	if _, err := s.rdb.Exec("DELETE FROM messages"); err == nil {
		t.Error("a read connection could write")
	}
}

// The partial index and the claim query spell the states out; they must
// be the store's names.
func TestStateLiterals(t *testing.T) {
	if store.Queued != "queued" || store.Sending != "sending" || store.Delayed != "delayed" {
		t.Fatalf("store states renamed (%q, %q, %q): update the SQL in schema.go and tx.go with a migration",
			store.Queued, store.Sending, store.Delayed)
	}
}

// TestQueryPlans guards the plans the throughput depends on: claiming
// walks the due index without sorting, the per-message update finds its
// row by rowid instead of scanning a state, appending to the audit chain
// and reading one message's entries are index lookups, and retention
// walks the stored bodies rather than every message ever received.
func TestQueryPlans(t *testing.T) {
	s, _ := newStore(t)
	// forbid: what must not follow the wanted start of the plan.
	noScanOrSort := []string{"TEMP B-TREE", "SCAN"}
	for _, tc := range []struct {
		name, sql string
		args      []any
		want      string
		forbid    []string
	}{
		{"claim", sqlstore.DueSelect, []any{0, 0, 5, 10}, "SEARCH messages USING INDEX messages_due", noScanOrSort},
		{"update", dialect.UpdateMessageSQL(), make([]any, 13), "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)", noScanOrSort},
		{"insert audit", sqlstore.InsertAuditSQL, make([]any, 8), "SCAN CONSTANT ROW; SCALAR SUBQUERY 1; SEARCH audit", []string{"SCAN audit", "TEMP B-TREE"}},
		{"last audit", sqlstore.LastAuditSQL, nil, "SCAN audit", []string{"TEMP B-TREE", "INDEX"}},
		{"audit of a message", auditSQL(store.AuditFilter{MsgID: "x", Limit: 1}), make([]any, 3),
			"SEARCH audit USING INDEX audit_msg_id (msg_id=? AND rowid>?)", noScanOrSort},
		{"decisions of a message", sqlstore.DecisionsSQL, make([]any, 1), "SEARCH decisions USING INDEX decisions_msg_id (msg_id=?)", noScanOrSort},
		{"purgeable", dialect.PurgeableSQL(2), make([]any, 4),
			"SCAN b USING COVERING INDEX sqlite_autoindex_bodies_1; SEARCH m USING INDEX sqlite_autoindex_messages_1 (id=?)", []string{"SCAN m"}},
	} {
		var plan []string
		err := s.do(context.Background(), func(c *sql.Conn) error {
			rows, err := c.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+tc.sql, tc.args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					return err
				}
				plan = append(plan, detail)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		joined := strings.Join(plan, "; ")
		rest, ok := strings.CutPrefix(joined, tc.want)
		if !ok {
			t.Errorf("%s plan %q; want it to start with %q", tc.name, joined, tc.want)
		}
		for _, f := range tc.forbid {
			if strings.Contains(rest, f) {
				t.Errorf("%s plan %q: %q after %q", tc.name, joined, f, tc.want)
			}
		}
	}
}

func auditSQL(f store.AuditFilter) string {
	q, _ := dialect.AuditSQL(f)
	return q
}

func TestMigrationsIdempotent(t *testing.T) {
	s, path := newStore(t)
	schema := func(s *Store) string {
		t.Helper()
		rows, err := s.rdb.Query("SELECT type, name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var typ, name, text string
			if err := rows.Scan(&typ, &name, &text); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %s %s\n", typ, name, text)
		}
		return b.String()
	}
	m := testMessage(1, time.Now())
	if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader([]byte("kept"))) }); err != nil {
		t.Fatal(err)
	}
	before := schema(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s2, err := Open(path, zaptest.NewLogger(t))
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if after := schema(s2); after != before {
			t.Errorf("schema changed on reopen:\n%s\nwas:\n%s", after, before)
		}
		if v := pragma(t, s2, "user_version"); v != fmt.Sprint(len(migrations)) {
			t.Errorf("user_version = %s", v)
		}
		if b, err := s2.Body(context.Background(), m.ID); err != nil || string(b) != "kept" {
			t.Errorf("body after reopen: %q, %v", b, err)
		}
		if err := s2.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// A schema from a newer program is refused rather than used.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s3, err := Open(path, zaptest.NewLogger(t)); err == nil {
		s3.Close()
		t.Error("Open accepted a database with a newer schema")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{"", filepath.Join(dir, "a?b.db"), "file:" + filepath.Join(dir, "x.db")} {
		if s, err := Open(path, nil); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
	// A file that is not a database.
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not a database "), 512), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(junk, nil); err == nil {
		s.Close()
		t.Error("Open of a non-database file succeeded")
	}
	// The parent is a file, so the directory cannot be created.
	if s, err := Open(filepath.Join(junk, "sub", "x.db"), nil); err == nil {
		s.Close()
		t.Error("Open below a file succeeded")
	}
}

// TestFull provokes SQLITE_FULL with a page cap: the failing insert
// reports store.ErrFull and leaves neither record nor body, the other
// functions of the same batch commit, and the store keeps working.
func TestFull(t *testing.T) {
	const maxPages = 64 // 256 KiB
	s, _ := newStore(t, WithMaxPages(maxPages))
	ctx := context.Background()
	now := time.Now()

	big := testMessage(0, now)
	err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMessage(big, bytes.NewReader(make([]byte, 1<<20))) })
	if !errors.Is(err, store.ErrFull) {
		t.Fatalf("insert of 1 MiB under a 256 KiB cap: %v; want ErrFull", err)
	}
	// Commit something after it, in case its writes slipped through.
	if err := s.Update(ctx, func(store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Message(ctx, big.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("record of the failed insert: %v; want ErrNotFound", err)
	}
	if _, err := s.Body(ctx, big.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("body of the failed insert: %v; want ErrNotFound", err)
	}

	// The same in a busy batch: block the writer until all are queued.
	release := make(chan struct{})
	blocked := make(chan error, 1)
	started := s.eng.Stats().Updates + 1
	go func() {
		blocked <- s.Update(ctx, func(store.Tx) error { <-release; return nil })
	}()
	waitFor(t, func() bool { return s.eng.Stats().Updates == started })
	const n = 20
	msgs := make([]*store.Message, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		msgs[i] = testMessage(i+1, now)
		wg.Add(1)
		go func() {
			defer wg.Done()
			size := 100
			if i == 7 {
				size = 1 << 20
			}
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				if err := tx.InsertMessage(msgs[i], bytes.NewReader(make([]byte, size))); err != nil {
					return err
				}
				if i == 13 {
					// An update that grows the record past the cap.
					m := *msgs[i]
					m.SealedVerdict = make([]byte, 1<<20) // stored as it is
					return tx.UpdateMessage(&m, store.Queued)
				}
				return nil
			})
		}()
	}
	waitFor(t, func() bool { return s.eng.Queued() == n })
	close(release)
	wg.Wait()
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		_, gerr := s.Message(ctx, msgs[i].ID)
		if i == 7 || i == 13 {
			if !errors.Is(err, store.ErrFull) || !errors.Is(gerr, store.ErrNotFound) {
				t.Errorf("big insert in batch: %v, record %v; want ErrFull and no record", err, gerr)
			}
			continue
		}
		if err != nil || gerr != nil {
			t.Errorf("small insert %d in the batch of a failing one: %v, record %v", i, err, gerr)
		}
	}

	// Fill up with small messages until the cap is hit: Ping must then
	// say full, before the front end accepts more.
	var full bool
	for i := range 1000 {
		m := testMessage(1000+i, now)
		err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(make([]byte, 3000))) })
		if errors.Is(err, store.ErrFull) {
			full = true
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !full {
		t.Fatal("never hit the page cap")
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrFull) {
		t.Errorf("Ping of a full store: %v; want ErrFull", err)
	}
	// Deleting bodies makes room again.
	ms, err := s.List(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		for _, m := range ms {
			if err := tx.DeleteBody(m.ID); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("delete bodies in a full store: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after freeing space: %v", err)
	}
	m := testMessage(5000, now)
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(make([]byte, 3000))) }); err != nil {
		t.Errorf("insert after freeing space: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for condition")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommit holds the writer until 199 updates are queued: they must
// then share one commit, with a failing and a panicking function among
// them.
func TestGroupCommit(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	release := make(chan struct{})
	blocked := make(chan error, 1)
	go func() { blocked <- s.Update(ctx, func(store.Tx) error { <-release; return nil }) }()
	waitFor(t, func() bool { return s.eng.Stats().Updates == 1 })

	const n = 199
	now := time.Now()
	msgs := make([]*store.Message, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		msgs[i] = testMessage(i, now)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				if err := tx.InsertMessage(msgs[i], bytes.NewReader([]byte("x"))); err != nil {
					return err
				}
				switch i {
				case 50:
					return errors.New("refused")
				case 150:
					panic("deliberate")
				}
				return nil
			})
		}()
	}
	waitFor(t, func() bool { return s.eng.Queued() == n })
	before := s.Stats()
	close(release)
	wg.Wait()
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if got := st.Commits - before.Commits; got != 2 {
		t.Errorf("%d commits for the blocker and %d queued updates; want 2", got, n)
	}
	if st.Updates != n+1 || st.Failed != 2 {
		t.Errorf("stats %+v; want %d updates, 2 failed", st, n+1)
	}
	for i, err := range errs {
		_, gerr := s.Message(ctx, msgs[i].ID)
		switch i {
		case 50, 150:
			if err == nil || !errors.Is(gerr, store.ErrNotFound) {
				t.Errorf("update %d: %v, record %v; want an error and no record", i, err, gerr)
			}
		default:
			if err != nil || gerr != nil {
				t.Errorf("update %d: %v, record %v", i, err, gerr)
			}
		}
	}
}

// TestCancelQueued cancels an update while it waits behind a busy writer:
// Update returns at once and the function never runs.
func TestCancelQueued(t *testing.T) {
	s, _ := newStore(t)
	release := make(chan struct{})
	blocked := make(chan error, 1)
	go func() {
		blocked <- s.Update(context.Background(), func(store.Tx) error { <-release; return nil })
	}()
	waitFor(t, func() bool { return s.eng.Stats().Updates == 1 })

	ctx, cancel := context.WithCancel(context.Background())
	var ran bool
	done := make(chan error, 1)
	go func() { done <- s.Update(ctx, func(store.Tx) error { ran = true; return nil }) }()
	waitFor(t, func() bool { return s.eng.Queued() == 1 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Update: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled Update did not return while the writer was busy")
	}
	close(release)
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	// Flush the writer, then check.
	if err := s.Update(context.Background(), func(store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("the cancelled function ran")
	}
}

// TestCloseWhileQueued closes the store while updates wait: each gets an
// answer (none hangs), and those that ran are durable.
func TestCloseWhileQueued(t *testing.T) {
	s, path := newStore(t)
	storetest.CloseWhileQueued(t, s, storetest.Engine{
		Updates: func() uint64 { return s.eng.Stats().Updates },
		Queued:  s.eng.Queued,
		Closed:  s.closed.Load,
	}, func() store.Store { return openAt(t, path) })
}

// TestSecureDelete checks that deleted content is gone from every file
// once the WAL has been wiped: bodies (in clear and sealed) and purged
// audit entries, their index entries included, with an explicit
// Checkpoint and with the writer's automatic wipe. A store whose wipe is
// turned off still has the bytes, which shows the test can see them.
func TestSecureDelete(t *testing.T) {
	const (
		explicit = iota // Checkpoint after the deletion
		auto            // the writer's wipe, nothing called
		never           // wipe turned off: the bytes must still be there
	)
	marker := []byte("SECRET-MARKER-7f3a9c")
	content := bytes.Repeat(append(append([]byte{}, marker...), "\r\n"...), 2000)  // spans overflow pages
	small := append([]byte("x"), marker...)                                        // fits in one page
	chunked := bytes.Repeat(append(append([]byte{}, marker...), "\r\n"...), 30000) // three chunks

	// bodies stores a large and a small body and returns what to look
	// for on disk, and the deletion.
	bodies := func(t *testing.T, s *Store) ([][]byte, func(store.Tx) error) {
		a, b, c := testMessage(1, time.Now()), testMessage(2, time.Now()), testMessage(3, time.Now())
		if err := s.Update(context.Background(), func(tx store.Tx) error {
			if err := tx.InsertMessage(a, bytes.NewReader(content)); err != nil {
				return err
			}
			if err := tx.InsertMessage(c, bytes.NewReader(chunked)); err != nil {
				return err
			}
			return tx.InsertMessage(b, bytes.NewReader(small))
		}); err != nil {
			t.Fatal(err)
		}
		look := [][]byte{marker}
		if s.opts.sealer != nil {
			// The sealed bytes are what is on disk; they must go too.
			look = nil
			for _, id := range []string{a.ID, b.ID} {
				var data []byte
				if err := s.rdb.QueryRow("SELECT data FROM bodies WHERE id = ?", id).Scan(&data); err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(data, marker) {
					t.Fatal("sealed body holds the marker in clear")
				}
				look = append(look, data[len(data)-24:])
			}
			rows, err := s.rdb.Query("SELECT data FROM body_chunks WHERE id = ?", c.ID)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var data []byte
				if err := rows.Scan(&data); err != nil {
					t.Fatal(err)
				}
				look = append(look, data[len(data)-24:])
			}
			if err := rows.Close(); err != nil || len(look) != 5 {
				t.Fatalf("%d sealed chunks, %v; want 3", len(look)-2, err)
			}
		}
		return look, func(tx store.Tx) error {
			for _, id := range []string{a.ID, b.ID, c.ID} {
				if err := tx.DeleteBody(id); err != nil {
					return err
				}
			}
			return nil
		}
	}
	auditEntries := func(t *testing.T, s *Store) ([][]byte, func(store.Tx) error) {
		now := time.Now()
		if err := s.Update(context.Background(), func(tx store.Tx) error {
			for i := range 3 {
				if _, err := audit.Append(tx, now.Add(time.Duration(i)*time.Millisecond), audit.Event{
					Actor: "ACTOR-MARKER-5d1", Action: "message.view", MsgID: "MSGID-MARKER-5d1",
					Data: map[string]any{"note": "DATA-MARKER-5d1"},
				}); err != nil {
					return err
				}
			}
			// The newest entry always stays; it carries no marker.
			_, err := audit.Append(tx, now.Add(time.Hour), audit.Event{Actor: "system", Action: "later"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		look := [][]byte{[]byte("ACTOR-MARKER-5d1"), []byte("MSGID-MARKER-5d1"), []byte("DATA-MARKER-5d1")}
		return look, func(tx store.Tx) error {
			n, err := tx.PurgeAudit(now.Add(time.Minute))
			if err == nil && n != 3 {
				err = fmt.Errorf("purged %d entries; want 3", n)
			}
			return err
		}
	}
	keys := storetest.NewKeyring(t, 1)
	for _, tc := range []struct {
		name string
		put  func(*testing.T, *Store) ([][]byte, func(store.Tx) error)
		opts []Option
		wipe int
	}{
		{"body", bodies, nil, explicit},
		{"sealed body", bodies, []Option{WithSealer(keys)}, explicit},
		{"audit", auditEntries, nil, explicit},
		{"body, automatic wipe", bodies, []Option{WithWipeInterval(20 * time.Millisecond)}, auto},
		{"audit, automatic wipe", auditEntries, []Option{WithWipeInterval(20 * time.Millisecond)}, auto},
		{"body, no wipe", bodies, []Option{WithWipeInterval(0)}, never},
		{"audit, no wipe", auditEntries, []Option{WithWipeInterval(0)}, never},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, path := newStore(t, tc.opts...)
			ctx := context.Background()
			look, del := tc.put(t, s)
			if err := s.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			for _, b := range look {
				if !fileContains(t, path, b) {
					t.Fatalf("%q not in the database file before deletion: the test proves nothing", b)
				}
			}
			if err := s.Update(ctx, del); err != nil {
				t.Fatal(err)
			}
			anywhere := func() bool {
				for _, suffix := range []string{"", "-wal", "-shm"} {
					for _, b := range look {
						if fileContains(t, path+suffix, b) {
							return true
						}
					}
				}
				return false
			}
			switch tc.wipe {
			case explicit:
				if err := s.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
			case auto:
				waitFor(t, func() bool { return s.Stats().Wipes > 0 })
			case never:
				time.Sleep(50 * time.Millisecond)
				if !anywhere() {
					t.Error("deleted bytes gone without a wipe: the wipe cases prove nothing")
				}
				if w := s.Stats().Wipes; w != 0 {
					t.Errorf("%d wipes with the wipe turned off", w)
				}
				return
			}
			for _, suffix := range []string{"", "-wal", "-shm"} {
				for _, b := range look {
					if fileContains(t, path+suffix, b) {
						t.Errorf("deleted %q still in database file%s", b, suffix)
					}
				}
			}
		})
	}
}

func fileContains(t *testing.T, path string, sub []byte) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, sub)
}

// TestGoexit: an update function that calls runtime.Goexit (t.FailNow in
// a test) cannot be recovered like a panic; it stops the writer. Callers
// must then get an error, not hang.
func TestGoexit(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	err := s.Update(ctx, func(store.Tx) error { runtime.Goexit(); return nil })
	if !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update whose function called Goexit: %v; want store.ErrClosed", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Update(ctx, func(store.Tx) error { return nil }) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Update after the writer stopped succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Update hangs after the writer stopped")
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after the writer stopped succeeded")
	}
}

// TestWipeWaitsForReaders: a reader holding an old snapshot keeps the
// automatic wipe from completing; the wipe must then neither stall the
// writer nor give up, and complete once the reader is done.
func TestWipeWaitsForReaders(t *testing.T) {
	s, path := newStore(t, WithWipeInterval(10*time.Millisecond), WithBusyTimeout(3*time.Second))
	ctx := context.Background()
	marker := []byte("READER-HELD-MARKER-0b7e")
	m := testMessage(1, time.Now())
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(marker)) }); err != nil {
		t.Fatal(err)
	}
	rtx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rtx.Rollback()
	var n int
	if err := rtx.QueryRow("SELECT count(*) FROM bodies").Scan(&n); err != nil || n != 1 {
		t.Fatalf("reader: %d bodies, %v", n, err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteBody(m.ID) }); err != nil {
		t.Fatal(err)
	}
	// Several wipe attempts fail meanwhile; updates must not wait for
	// the busy timeout behind them.
	for i := range 10 {
		start := time.Now()
		other := testMessage(2+i, time.Now())
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMessage(other, bytes.NewReader([]byte("x"))) }); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("update took %v while a wipe was blocked", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if w := s.Stats().Wipes; w != 0 {
		t.Errorf("%d wipes completed while a reader held an old snapshot", w)
	}
	if !onDisk(t, path, marker) {
		t.Fatal("marker not on disk before the wipe: the test proves nothing")
	}
	if err := rtx.Rollback(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.Stats().Wipes > 0 })
	for _, suffix := range []string{"", "-wal"} {
		if fileContains(t, path+suffix, marker) {
			t.Errorf("deleted body still in database file%s after the postponed wipe", suffix)
		}
	}
}

// TestMigrateFromV1 opens a database written by a program that knew only
// the first schema: its messages and bodies read as before, and the new
// tables work.
func TestMigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db := rawDB(t, path)
	m := testMessage(1, time.Now())
	args, err := dialect.MsgArgs(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{migrations[0], nil},
		{"PRAGMA user_version = 1", nil},
		{"INSERT INTO messages (" + sqlstore.MsgColumns + ") VALUES (" + strings.Repeat("?, ", len(args)-1) + "?)", args},
		{"INSERT INTO bodies (id, data) VALUES (?, ?)", []any{m.ID, []byte("old body")}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%.40s: %v", q.sql, err)
		}
	}
	db.Close()

	s := openAt(t, path, WithSealer(storetest.NewKeyring(t, 1)))
	ctx := context.Background()
	if v := pragma(t, s, "user_version"); v != fmt.Sprint(len(migrations)) {
		t.Errorf("user_version = %s; want %d", v, len(migrations))
	}
	if b, err := s.Body(ctx, m.ID); err != nil || string(b) != "old body" {
		t.Errorf("body from schema 1: %q, %v", b, err)
	}
	if _, err := s.Message(ctx, m.ID); err != nil {
		t.Errorf("message from schema 1: %v", err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.AddDecision(&store.Decision{MsgID: m.ID, Actor: "olga", Kind: store.DecisionApprove, At: time.Now()}); err != nil {
			return err
		}
		_, err := audit.Append(tx, time.Now(), audit.Event{Actor: "olga", Action: "hold.approve", MsgID: m.ID})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := audit.Verify(ctx, s); err != nil || n != 1 {
		t.Errorf("audit.Verify = %d, %v", n, err)
	}
}

// TestMigrateFromV6 opens a database as the previous release left it
// (schema 6, sessions and tokens owned through a "user" column): what it
// held reads as before under the shared statements, and writes go on.
func TestMigrateFromV6(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v6.db")
	db := rawDB(t, path)
	for _, q := range migrations[:6] {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		"PRAGMA user_version = 6",
		"INSERT INTO sessions (id, user, created, last_seen) VALUES ('s1', 'olga', 1000, 2000)",
		"INSERT INTO tokens (id, user, name, created, expires) VALUES ('t1', 'olga', 'cli', 1000, 0)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := openAt(t, path)
	ctx := context.Background()
	if v := pragma(t, s, "user_version"); v != fmt.Sprint(len(migrations)) {
		t.Errorf("user_version = %s; want %d", v, len(migrations))
	}
	if se, err := s.Session(ctx, "s1"); err != nil || se.User != "olga" || se.LastSeen.UnixMilli() != 2000 {
		t.Errorf("session from schema 6: %+v, %v", se, err)
	}
	if ts, err := s.Tokens(ctx, "olga"); err != nil || len(ts) != 1 || ts[0].ID != "t1" {
		t.Errorf("tokens from schema 6: %+v, %v", ts, err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteUserSessions("olga") }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session after DeleteUserSessions: %v; want ErrNotFound", err)
	}
}
