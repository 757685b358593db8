// Package membudget bounds the bytes of message bodies the guard holds in
// memory at once, however many sessions run: whoever loads a body into
// memory acquires its size from one Budget first and releases it when the
// body is no longer needed. A body larger than the whole budget
// takes all of it, so it is handled alone rather than never.
package membudget

import (
	"context"
	"sync"

	"golang.org/x/sync/semaphore"
)

// Budget is a byte-weighted semaphore. A nil *Budget bounds nothing.
type Budget struct {
	size int64
	sem  *semaphore.Weighted
}

// New returns a budget of size bytes (size > 0).
func New(size int64) *Budget {
	return &Budget{size: size, sem: semaphore.NewWeighted(size)}
}

// Size is the budget's size in bytes (0 for nil).
func (b *Budget) Size() int64 {
	if b == nil {
		return 0
	}
	return b.size
}

// Acquire waits until n bytes of the budget are free (all of it if n is
// larger) or ctx is done, and returns the function that gives them back;
// calling it more than once gives them back once.
func (b *Budget) Acquire(ctx context.Context, n int64) (release func(), err error) {
	if b == nil || n <= 0 {
		return func() {}, nil
	}
	n = min(n, b.size)
	if err := b.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { b.sem.Release(n) }) }, nil
}
