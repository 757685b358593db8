package outbound

import (
	"bytes"
	"context"
	"io"
)

// msgBody is a message's bytes for one delivery attempt: in memory (what
// intake hands over, and bodies up to streamAbove read from the store),
// or read from the store afresh, chunk by chunk, each time they are sent,
// so that delivering a large message holds none of it whole.
type msgBody struct {
	data []byte // in memory; nil when streamed
	open func(ctx context.Context) (io.ReadCloser, error)
	size int64
}

// streamAbove: bodies larger than this are streamed from the store for
// each try rather than read into memory. A DSN returns only the headers
// of such a message anyway (maxReturnFull).
const streamAbove = maxReturnFull

// maxStreams is how many attempts may stream a large body at once.
const maxStreams = 4

// headPrefix bounds what is kept of a streamed message's start.
const headPrefix = 256 << 10

func memBody(b []byte) *msgBody { return &msgBody{data: b, size: int64(len(b))} }

// reader returns the bytes from their start.
func (b *msgBody) reader(ctx context.Context) (io.ReadCloser, error) {
	if b.open == nil {
		return io.NopCloser(bytes.NewReader(b.data)), nil
	}
	return b.open(ctx)
}

// original is what a DSN may return of the message, and whether it is
// the whole message (else its start, up to headPrefix bytes, read only
// now: most attempts send no DSN). A start that cannot be read is
// returned as nothing, and the DSN goes without it.
func (b *msgBody) original() (orig []byte, whole bool) {
	if b == nil {
		return nil, true
	}
	if b.open == nil {
		return b.data, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	r, err := b.open(ctx)
	if err != nil {
		return nil, false
	}
	defer r.Close()
	head := make([]byte, min(b.size, headPrefix))
	n, _ := io.ReadFull(r, head)
	return head[:n], false
}
