package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/seal"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/storetest"
)

var _ store.Sealer = (*seal.Keyring)(nil)

// TestConformanceSealed runs the whole suite with encryption at rest: every
// body promise holds for sealed bodies too.
func TestConformanceSealed(t *testing.T) {
	keys := storetest.NewKeyring(t, 1)
	storetest.Run(t, func(t *testing.T) (store.Store, func(*testing.T) store.Store) {
		s, path := newStore(t, WithSealer(keys))
		return s, func(t *testing.T) store.Store { return openAt(t, path, WithSealer(keys)) }
	})
}

// onDisk reports whether b occurs in the database file or its WAL.
func onDisk(t *testing.T, path string, b []byte) bool {
	t.Helper()
	return fileContains(t, path, b) || fileContains(t, path+"-wal", b)
}

// TestSealedAtRest: with a sealer, a body's bytes never reach the files,
// neither in the WAL nor, after a checkpoint, in the database; without
// one they do, which shows that the test can see them.
func TestSealedAtRest(t *testing.T) {
	marker := []byte("PATIENT-LIST-MARKER-93c1")
	content := bytes.Repeat(append(append([]byte("Subject: x\r\n\r\n"), marker...), "\r\n"...), 50)
	for _, tc := range []struct {
		name   string
		opts   []Option
		sealed bool
	}{
		{"plain", nil, false},
		{"sealed", []Option{WithSealer(storetest.NewKeyring(t, 7))}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, path := newStore(t, tc.opts...)
			ctx := context.Background()
			m := testMessage(1, time.Now())
			small := testMessage(2, time.Now())
			if err := s.Update(ctx, func(tx store.Tx) error {
				if err := tx.InsertMessage(m, bytes.NewReader(content)); err != nil {
					return err
				}
				return tx.InsertMessage(small, bytes.NewReader(marker))
			}); err != nil {
				t.Fatal(err)
			}
			if got := onDisk(t, path, marker); got == tc.sealed {
				t.Errorf("before checkpoint: marker on disk = %v", got)
			}
			if err := s.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			if got := fileContains(t, path, marker); got == tc.sealed {
				t.Errorf("after checkpoint: marker in the database file = %v", got)
			}
			for _, mm := range []struct {
				id   string
				want []byte
			}{{m.ID, content}, {small.ID, marker}} {
				b, err := s.Body(ctx, mm.id)
				if err != nil || !bytes.Equal(b, mm.want) {
					t.Errorf("Body(%s) = %d bytes, %v; want the original", mm.id, len(b), err)
				}
			}
		})
	}
}

// rawDB opens the database file directly, bypassing the store, as someone
// with a copy of the file would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSealedMixed enables sealing on a store written without it, then
// takes the keys away again, swaps keys, and tampers with sealed rows.
func TestSealedMixed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mixed.db")
	ctx := context.Background()
	now := time.Now()
	plain, sealed, other := testMessage(1, now), testMessage(2, now), testMessage(3, now)
	insertOne := func(s *Store, m *store.Message, body string) {
		t.Helper()
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader([]byte(body))) }); err != nil {
			t.Fatal(err)
		}
	}
	body := func(s *Store, id string) ([]byte, error) { return s.Body(ctx, id) }

	s := openAt(t, path)
	insertOne(s, plain, "written before encryption")
	s.Close()

	keys := storetest.NewKeyring(t, 1)
	s = openAt(t, path, WithSealer(keys))
	if b, err := body(s, plain.ID); err != nil || string(b) != "written before encryption" {
		t.Errorf("unsealed body with a sealer: %q, %v", b, err)
	}
	insertOne(s, sealed, "written sealed")
	insertOne(s, other, "another sealed one")
	if b, err := body(s, sealed.ID); err != nil || string(b) != "written sealed" {
		t.Errorf("sealed body: %q, %v", b, err)
	}
	s.Close()

	// Without the keys: no sealed bytes handed out as if they were mail.
	s = openAt(t, path)
	if b, err := body(s, sealed.ID); !errors.Is(err, store.ErrSealed) || b != nil {
		t.Errorf("sealed body without a sealer: %d bytes, %v; want store.ErrSealed", len(b), err)
	}
	if b, err := body(s, plain.ID); err != nil || string(b) != "written before encryption" {
		t.Errorf("unsealed body without a sealer: %q, %v", b, err)
	}
	s.Close()

	// With a key file that lacks the key that sealed it.
	s = openAt(t, path, WithSealer(storetest.NewKeyring(t, 2)))
	if b, err := body(s, sealed.ID); !errors.Is(err, seal.ErrNoKey) || b != nil {
		t.Errorf("sealed body with the wrong key: %d bytes, %v; want seal.ErrNoKey", len(b), err)
	}
	s.Close()

	// Tampering, with the store closed: a flipped byte, and a sealed body
	// moved to another message's row.
	db := rawDB(t, path)
	var data []byte
	if err := db.QueryRow(`SELECT data FROM bodies WHERE id = ?`, sealed.ID).Scan(&data); err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if _, err := db.Exec(`UPDATE bodies SET data = ? WHERE id = ?`, data, sealed.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE bodies SET data = (SELECT data FROM bodies WHERE id = ?) WHERE id = ?`, other.ID, plain.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE bodies SET sealed = 1 WHERE id = ?`, plain.ID); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = openAt(t, path, WithSealer(keys))
	for _, id := range []string{sealed.ID, plain.ID} {
		if b, err := body(s, id); !errors.Is(err, seal.ErrCorrupt) || b != nil {
			t.Errorf("altered body %s: %d bytes, %v; want seal.ErrCorrupt", id, len(b), err)
		}
	}
	if b, err := body(s, other.ID); err != nil || string(b) != "another sealed one" {
		t.Errorf("untouched sealed body: %q, %v", b, err)
	}
}

// TestSealedChunks: chunks of a sealed body that were reordered, dropped
// or moved between messages in the database file fail to open.
func TestSealedChunks(t *testing.T) {
	s, path := newStore(t, WithSealer(storetest.NewKeyring(t, 1)))
	db := rawDB(t, path)
	storetest.SealedChunks(t, s, func(q string, args ...any) error {
		_, err := db.Exec(q, args...)
		return err
	})
}
