package sqlstore

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/egressguard/egressguard/internal/store"
)

func TestSQLRebind(t *testing.T) {
	pg, lite := Postgres(), SQLite()
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		// ?N is parameter N; a bare ? is the one after the highest so far.
		{"?3 = '' OR x = ?3 AND y = ?", "$3 = '' OR x = $3 AND y = $4"},
		{"a = ?, b = ?, c = ?13, d = ?13", "a = $1, b = $2, c = $13, d = $13"},
		// Question marks in string literals are text.
		{"a = '?' AND b = ? AND c = 'it''s ?'", "a = '?' AND b = $1 AND c = 'it''s ?'"},
	} {
		if got := pg.SQL(tc.in); got != tc.want {
			t.Errorf("SQL(%q) = %q; want %q", tc.in, got, tc.want)
		}
		if got := pg.SQL(tc.in); got != tc.want {
			t.Errorf("SQL(%q) from the cache = %q; want %q", tc.in, got, tc.want)
		}
		if got := lite.SQL(tc.in); got != tc.in {
			t.Errorf("SQLite SQL(%q) = %q; want it unchanged", tc.in, got)
		}
	}
}

func TestSchema(t *testing.T) {
	if got := SQLite().Schema("CREATE TABLE t (a {key}, b {int}, c {blob}){strict};"); got != "CREATE TABLE t (a TEXT, b INTEGER, c BLOB) STRICT;" {
		t.Errorf("SQLite: %q", got)
	}
	if got := Postgres().Schema("CREATE TABLE t (a {key}, b {int}, c {blob}){strict};"); got != `CREATE TABLE t (a text COLLATE "C", b bigint, c bytea);` {
		t.Errorf("PostgreSQL: %q", got)
	}
}

// The chunker returns the bytes in chunks of store.BodyChunk, the last one
// marked, whatever the reads that feed it.
func TestChunker(t *testing.T) {
	for _, size := range []int{0, 1, store.BodyChunk - 1, store.BodyChunk, store.BodyChunk + 1, 3*store.BodyChunk + 5} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i * 31)
		}
		for _, r := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data)), iotest.DataErrReader(bytes.NewReader(data))} {
			ch := newChunker(r)
			var got []byte
			chunks := 0
			for {
				c, final, err := ch.next()
				if err != nil {
					t.Fatalf("size %d: %v", size, err)
				}
				if len(c) > store.BodyChunk || !final && len(c) != store.BodyChunk {
					t.Fatalf("size %d: chunk of %d bytes, final %v", size, len(c), final)
				}
				got = append(got, c...)
				chunks++
				if final {
					break
				}
			}
			ch.free()
			if !bytes.Equal(got, data) {
				t.Errorf("size %d: got %d bytes back, not equal", size, len(got))
			}
			if want := max(1, (size+store.BodyChunk-1)/store.BodyChunk); chunks != want {
				t.Errorf("size %d: %d chunks; want %d", size, chunks, want)
			}
		}
	}
	boom := errors.New("boom")
	ch := newChunker(io.MultiReader(bytes.NewReader(make([]byte, store.BodyChunk+3)), iotest.ErrReader(boom)))
	defer ch.free()
	if _, final, err := ch.next(); err != nil || final {
		t.Fatalf("first chunk: final %v, %v", final, err)
	}
	if _, _, err := ch.next(); !errors.Is(err, boom) {
		t.Errorf("second chunk: %v; want the reader's error", err)
	}
}
