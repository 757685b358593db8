package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/egressguard/egressguard/internal/store"
)

var chunkTests = []struct {
	name string
	fn   func(*testing.T, Opener)
}{
	{"LargeBody", testLargeBody},
	{"BodyReadError", testBodyReadError},
}

// pattern returns n bytes that differ from chunk to chunk and within one,
// so that a reordered or shifted chunk cannot read back equal.
func pattern(n, seed int) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// chunkSizes are body sizes around the chunk boundaries, and a
// multi-megabyte one.
var chunkSizes = []int{
	store.BodyChunk - 1, store.BodyChunk, store.BodyChunk + 1,
	2 * store.BodyChunk, 3<<20 + 17,
}

// checkBody reads the body of id through Body and through OpenBody (in
// small reads) and compares it with want.
func checkBody(t *testing.T, s store.Store, id string, want []byte) {
	t.Helper()
	ctx := context.Background()
	got, err := s.Body(ctx, id)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Body of %d bytes: got %d bytes, equal %v, %v", len(want), len(got), bytes.Equal(got, want), err)
	}
	rc, err := s.OpenBody(ctx, id)
	if err != nil {
		t.Fatalf("OpenBody: %v", err)
	}
	defer rc.Close()
	got, err = io.ReadAll(iotest.HalfReader(rc))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("OpenBody of %d bytes: got %d bytes, equal %v, %v", len(want), len(got), bytes.Equal(got, want), err)
	}
}

// A body of several chunks round-trips byte for byte whatever the reads
// that fed it, and DeleteBody removes every chunk.
func testLargeBody(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	for i, size := range chunkSizes {
		m := newMessage(i)
		data := pattern(size, i)
		update(t, s, func(tx store.Tx) error {
			return tx.InsertMessage(m, iotest.HalfReader(bytes.NewReader(data)))
		})
		checkBody(t, s, m.ID, data)
		update(t, s, func(tx store.Tx) error { return tx.DeleteBody(m.ID) })
		if _, err := s.Body(ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Body of %d bytes after DeleteBody: %v; want ErrNotFound", size, err)
		}
		if _, err := s.OpenBody(ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("OpenBody of %d bytes after DeleteBody: %v; want ErrNotFound", size, err)
		}
		update(t, s, func(tx store.Tx) error { return tx.DeleteBody(m.ID) })
		if got, err := s.Message(ctx, m.ID); err != nil || got.ID != m.ID {
			t.Errorf("record after DeleteBody: %v", err)
		}
	}
	// The empty body reads back empty through OpenBody too.
	m := newMessage(len(chunkSizes))
	update(t, s, func(tx store.Tx) error { return tx.InsertMessage(m, nil) })
	checkBody(t, s, m.ID, []byte{})
}

// failAfter returns n bytes of a body, then an error.
type failAfter struct{ n int }

var errRead = errors.New("storetest: read error")

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errRead
	}
	k := min(len(p), f.n)
	clear(p[:k])
	f.n -= k
	return k, nil
}

// A body that cannot be read in full stores nothing of the message, even
// if the update function ignores the error.
func testBodyReadError(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	for i, n := range []int{10, 2*store.BodyChunk + 10} {
		m := newMessage(i)
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.InsertMessage(m, &failAfter{n}); !errors.Is(err, errRead) {
				t.Errorf("InsertMessage of a failing body (%d bytes): %v; want the read error", n, err)
			}
			return nil // ignores the error
		})
		if n > store.BodyChunk && err == nil {
			t.Errorf("Update ignoring a read error after %d bytes succeeded", n)
		}
		if _, err := s.Message(ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("message whose body failed after %d bytes: %v; want ErrNotFound", n, err)
		}
	}
}

// SealedChunks checks a store that seals bodies: a body of several chunks
// round-trips, and chunks that were swapped, dropped or moved from another
// message fail to open, through Body and OpenBody, never returning damaged
// bytes. exec runs a statement on the store's database directly (SQLite's
// placeholders).
func SealedChunks(t *testing.T, s store.Store, exec func(q string, args ...any) error) {
	ctx := context.Background()
	size := 2*store.BodyChunk + 100
	ms := make([]*store.Message, 4)
	for i := range ms {
		ms[i] = newMessage(100 + i)
		data := pattern(size, i)
		update(t, s, func(tx store.Tx) error { return tx.InsertMessage(ms[i], bytes.NewReader(data)) })
		checkBody(t, s, ms[i].ID, data)
	}
	run := func(q string, args ...any) {
		t.Helper()
		if err := exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Reordered: chunks 0 and 1 swapped.
	a := ms[0].ID
	run(`UPDATE body_chunks SET seq = 100 WHERE id = ? AND seq = 0`, a)
	run(`UPDATE body_chunks SET seq = 0 WHERE id = ? AND seq = 1`, a)
	run(`UPDATE body_chunks SET seq = 1 WHERE id = ? AND seq = 100`, a)
	// Truncated: the last chunk dropped, and the count made to match.
	b := ms[1].ID
	run(`DELETE FROM body_chunks WHERE id = ? AND seq = 2`, b)
	run(`UPDATE bodies SET chunks = 2 WHERE id = ?`, b)
	// Moved: chunk 1 of another message in place of this one's.
	c, d := ms[2].ID, ms[3].ID
	run(`UPDATE body_chunks SET data = (SELECT data FROM body_chunks WHERE id = ? AND seq = 1) WHERE id = ? AND seq = 1`, d, c)
	for name, id := range map[string]string{"reordered": a, "truncated": b, "moved": c} {
		if got, err := s.Body(ctx, id); err == nil || got != nil {
			t.Errorf("Body of a body with %s chunks: %d bytes, %v; want an error", name, len(got), err)
		}
		rc, err := s.OpenBody(ctx, id)
		if err != nil {
			continue // failing at once is as good
		}
		if _, err := io.ReadAll(rc); err == nil {
			t.Errorf("OpenBody of a body with %s chunks read to the end", name)
		}
		rc.Close()
	}
	checkBody(t, s, d, pattern(size, 3))
}
