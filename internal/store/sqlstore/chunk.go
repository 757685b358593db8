package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"sync"

	"github.com/egressguard/egressguard/internal/store"
)

// Bodies larger than store.BodyChunk are kept in body_chunks, one row per
// chunk, and their row of bodies holds the number of chunks (0 for a
// body kept whole in the row, as every body was before chunks). Sealed,
// each chunk is sealed on its own under store.ChunkID, so a chunk opens
// only at its own index of its own message, and only the last one opens
// as the last: reordered, dropped, added or moved chunks fail to open.
//
// Neither InsertMessage nor OpenBody holds more than a chunk of the body
// (and its sealed copy) at a time; the buffers are pooled.
//
// Durability is unchanged: the chunks are written in the update function's
// savepoint, in the same transaction as the record, the row of bodies and
// whatever else the function writes (the audit entry of the acceptance),
// so the commit that Update waits for (fsync of SQLite's WAL; PostgreSQL's
// commit record) covers every chunk, and the front end answers 250 only
// after it. A function that fails, or a body that cannot be read to its
// end (the Tx is then broken, so that ignoring the error does not help),
// rolls back to the savepoint: no message is ever stored with part of its
// body. The price is that a large body is written inside the group commit:
// the other functions of its batch wait while it is (as they did when it
// was one row).

var chunkPool = sync.Pool{New: func() any {
	b := make([]byte, store.BodyChunk)
	return &b
}}

// chunker cuts a reader into chunks of store.BodyChunk bytes, telling
// which is the last: it reads one byte ahead.
type chunker struct {
	r     io.Reader
	buf   *[]byte
	ahead byte
	has   bool
}

func newChunker(r io.Reader) *chunker {
	return &chunker{r: r, buf: chunkPool.Get().(*[]byte)}
}

func (c *chunker) free() {
	chunkPool.Put(c.buf)
	c.buf = nil
}

// next returns the next chunk, valid until the next call, and whether it
// is the last.
func (c *chunker) next() ([]byte, bool, error) {
	buf := *c.buf
	n := 0
	if c.has {
		buf[0], n, c.has = c.ahead, 1, false
	}
	m, err := io.ReadFull(c.r, buf[n:])
	n += m
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return buf[:n], true, nil
	case err != nil:
		return nil, false, err
	}
	var one [1]byte
	for {
		k, err := c.r.Read(one[:])
		if k == 1 {
			c.ahead, c.has = one[0], true
			return buf[:n], false, nil
		}
		if err == io.EOF {
			return buf[:n], true, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// bodyHead is the row of bodies of a message.
type bodyHead struct {
	data   []byte // the body (opened), if it is kept whole
	sealed bool
	chunks int
}

// head reads the row of bodies of id, and opens a whole body.
func (r *Reads) head(ctx context.Context, id string) (*bodyHead, error) {
	ctx, cancel, err := r.R.Read(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	var h bodyHead
	found, err := r.blob(ctx, &h.data, []any{&h.sealed, &h.chunks}, `SELECT data, sealed, chunks FROM bodies WHERE id = ?`, id)
	if err != nil {
		return nil, r.errorf("read body %s: %w", id, r.R.MapErr(err))
	}
	if !found {
		return nil, r.errorf("body %s: %w", id, store.ErrNotFound)
	}
	if h.sealed && r.Sealer == nil {
		return nil, r.errorf("body %s: %w", id, store.ErrSealed)
	}
	if h.sealed && h.chunks == 0 {
		plain, err := r.Sealer.Open(id, h.data)
		if err != nil {
			return nil, r.errorf("open sealed body %s: %w", id, err)
		}
		h.data = plain
	}
	if h.data == nil {
		h.data = []byte{}
	}
	return &h, nil
}

// blob runs a query for one row whose first column is a blob, scanned into
// *data without a second copy where the driver allows, the others into
// rest.
func (r *Reads) blob(ctx context.Context, data *[]byte, rest []any, q string, args ...any) (bool, error) {
	rows, err := r.R.Query(ctx, q, args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return false, rows.Err()
	}
	// database/sql copies each blob into a new Go slice per row;
	// scanning into RawBytes hands that slice over instead of copying a
	// chunk a second time. It is never reused by the driver, so keeping
	// it past rows.Close is safe.
	var raw sql.RawBytes
	dest := any(data)
	if r.D.RawBytes {
		dest = &raw
	}
	if err := rows.Scan(append([]any{dest}, rest...)...); err != nil {
		return false, err
	}
	if r.D.RawBytes {
		*data = raw
	}
	return true, rows.Err()
}

// chunk reads and opens chunk seq of a body of n chunks.
func (r *Reads) chunk(ctx context.Context, id string, seq, n int, sealed bool) ([]byte, error) {
	ctx, cancel, err := r.R.Read(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	var data []byte
	found, err := r.blob(ctx, &data, nil, `SELECT data FROM body_chunks WHERE id = ? AND seq = ?`, id, seq)
	if err != nil {
		return nil, r.errorf("read body %s chunk %d: %w", id, seq, r.R.MapErr(err))
	}
	if !found {
		return nil, r.errorf("body %s chunk %d of %d: %w", id, seq, n, store.ErrNotFound)
	}
	if sealed {
		if data, err = r.Sealer.Open(store.ChunkID(id, seq, seq == n-1), data); err != nil {
			return nil, r.errorf("open sealed body %s chunk %d: %w", id, seq, err)
		}
	}
	return data, nil
}

// OpenBody implements store.Store.
func (r *Reads) OpenBody(ctx context.Context, id string) (io.ReadCloser, error) {
	h, err := r.head(ctx, id)
	if err != nil {
		return nil, err
	}
	if h.chunks == 0 {
		return io.NopCloser(bytes.NewReader(h.data)), nil
	}
	return &chunkReader{r: r, ctx: ctx, id: id, n: h.chunks, sealed: h.sealed}, nil
}

// Body implements store.Store on top of the chunks.
func (r *Reads) Body(ctx context.Context, id string) ([]byte, error) {
	h, err := r.head(ctx, id)
	if err != nil {
		return nil, err
	}
	if h.chunks == 0 {
		return h.data, nil
	}
	// Every chunk but the last is full: room for all of them, so that
	// the buffer never grows by copying; but the count is the row's word,
	// not yet checked against chunks that exist, so a damaged one cannot
	// make it allocate more than 64 MiB before the first read fails.
	buf := bytes.NewBuffer(make([]byte, 0, min(max(h.chunks, 0), 64<<20/store.BodyChunk)*store.BodyChunk))
	cr := &chunkReader{r: r, ctx: ctx, id: id, n: h.chunks, sealed: h.sealed}
	for cr.seq < cr.n {
		chunk, err := r.chunk(ctx, id, cr.seq, cr.n, cr.sealed)
		if err != nil {
			return nil, err
		}
		buf.Write(chunk)
		cr.seq++
	}
	return buf.Bytes(), nil
}

// chunkReader reads a chunked body one chunk at a time.
type chunkReader struct {
	r      *Reads
	ctx    context.Context
	id     string
	n      int // chunks
	seq    int // next chunk to read
	sealed bool
	cur    []byte
	err    error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if c.seq == c.n {
			return 0, io.EOF
		}
		c.cur, c.err = c.r.chunk(c.ctx, c.id, c.seq, c.n, c.sealed)
		c.seq++
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

func (c *chunkReader) Close() error {
	c.cur, c.err = nil, errors.New(c.r.D.Name+": body reader closed")
	return nil
}
