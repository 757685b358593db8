package postgres

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/egressguard/egressguard/internal/seal"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/storetest"
)

// TestConformanceSealed runs the whole suite with encryption at rest.
func TestConformanceSealed(t *testing.T) {
	testDSN(t)
	keys := storetest.NewKeyring(t, 1)
	storetest.Run(t, func(t *testing.T) (store.Store, func(*testing.T) store.Store) {
		db := newTestDB(t)
		return db.open(t, WithSealer(keys)), func(t *testing.T) store.Store { return db.open(t, WithSealer(keys)) }
	})
}

// TestSealedAtRest: with a sealer, the server never holds a body's bytes;
// without one it does, which shows that the test can see them.
func TestSealedAtRest(t *testing.T) {
	t.Parallel()
	marker := []byte("PATIENT-LIST-MARKER-93c1")
	for _, tc := range []struct {
		name   string
		opts   []Option
		sealed bool
	}{
		{"plain", nil, false},
		{"sealed", []Option{WithSealer(storetest.NewKeyring(t, 7))}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := newTestDB(t)
			s := db.open(t, tc.opts...)
			m := testMessage(1)
			content := bytes.Repeat(append([]byte("Subject: x\r\n\r\n"), marker...), 20)
			mustUpdate(t, s, func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(content)) })
			found := scalar[bool](t, s, "SELECT position($1::bytea IN data) > 0 FROM bodies WHERE id = $2", marker, m.ID)
			if found == tc.sealed {
				t.Errorf("marker in the stored bytes = %v", found)
			}
			if b, err := s.Body(context.Background(), m.ID); err != nil || !bytes.Equal(b, content) {
				t.Errorf("Body = %d bytes, %v; want the original", len(b), err)
			}
		})
	}
}

// TestSealedMixed enables sealing on a database written without it, then
// takes the keys away, uses the wrong ones, and tampers with sealed rows.
func TestSealedMixed(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	ctx := context.Background()
	plain, sealed, other := testMessage(1), testMessage(2), testMessage(3)
	insertOne := func(s *Store, m *store.Message, body string) {
		t.Helper()
		mustUpdate(t, s, func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader([]byte(body))) })
	}

	s := db.open(t)
	insertOne(s, plain, "written before encryption")
	s.Close()

	keys := storetest.NewKeyring(t, 1)
	s = db.open(t, WithSealer(keys))
	if b, err := s.Body(ctx, plain.ID); err != nil || string(b) != "written before encryption" {
		t.Errorf("unsealed body with a sealer: %q, %v", b, err)
	}
	insertOne(s, sealed, "written sealed")
	insertOne(s, other, "another sealed one")
	if b, err := s.Body(ctx, sealed.ID); err != nil || string(b) != "written sealed" {
		t.Errorf("sealed body: %q, %v", b, err)
	}
	s.Close()

	s = db.open(t)
	if b, err := s.Body(ctx, sealed.ID); !errors.Is(err, store.ErrSealed) || b != nil {
		t.Errorf("sealed body without a sealer: %d bytes, %v; want store.ErrSealed", len(b), err)
	}
	if b, err := s.Body(ctx, plain.ID); err != nil || string(b) != "written before encryption" {
		t.Errorf("unsealed body without a sealer: %q, %v", b, err)
	}
	s.Close()

	s = db.open(t, WithSealer(storetest.NewKeyring(t, 2)))
	if b, err := s.Body(ctx, sealed.ID); !errors.Is(err, seal.ErrNoKey) || b != nil {
		t.Errorf("sealed body with the wrong key: %d bytes, %v; want seal.ErrNoKey", len(b), err)
	}
	s.Close()

	// Tampering: a flipped byte, and a sealed body moved to another row.
	admin(t, db.dsn, `UPDATE bodies SET data = set_byte(data, length(data) / 2, get_byte(data, length(data) / 2) # 1) WHERE id = $1`, sealed.ID)
	admin(t, db.dsn, `UPDATE bodies SET data = (SELECT data FROM bodies WHERE id = $1), sealed = true WHERE id = $2`, other.ID, plain.ID)
	s = db.open(t, WithSealer(keys))
	for _, id := range []string{sealed.ID, plain.ID} {
		if b, err := s.Body(ctx, id); !errors.Is(err, seal.ErrCorrupt) || b != nil {
			t.Errorf("altered body %s: %d bytes, %v; want seal.ErrCorrupt", id, len(b), err)
		}
	}
	if b, err := s.Body(ctx, other.ID); err != nil || string(b) != "another sealed one" {
		t.Errorf("untouched sealed body: %q, %v", b, err)
	}
}

// TestSealedChunks: chunks of a sealed body that were reordered, dropped
// or moved between messages in the database fail to open.
func TestSealedChunks(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, WithSealer(storetest.NewKeyring(t, 1)))
	storetest.SealedChunks(t, s, func(q string, args ...any) error {
		admin(t, db.dsn, dialect.SQL(q), args...)
		return nil
	})
}
