package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/seal"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// Helpers the backends' own tests and benchmarks share.

// NewKeyring returns a sealer with a new random key for each id, the last
// current.
func NewKeyring(t testing.TB, ids ...uint32) *seal.Keyring {
	t.Helper()
	keys := map[uint32][]byte{}
	for _, id := range ids {
		k := make([]byte, 32)
		rand.Read(k)
		keys[id] = k
	}
	k, err := seal.New(keys)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// BenchMessage is the message the benchmarks store: queued, two
// recipients, received now.
func BenchMessage(seq int64, now time.Time) *store.Message {
	return &store.Message{
		Envelope: envelope.Envelope{
			ID:         fmt.Sprintf("%s%08d", store.NewID(now), seq),
			Received:   now,
			ClientAddr: "192.0.2.1",
			Helo:       "client.example",
			AuthUser:   "alice",
			From:       "alice@example.com",
			Rcpts:      []envelope.Rcpt{{Addr: "bob@example.net"}, {Addr: "carol@example.org"}},
		},
		State:       store.Queued,
		Updated:     now,
		Size:        2048,
		NextAttempt: now,
		Status:      make([]store.RcptStatus, 2),
		Subject:     "benchmark",
		HeaderFrom:  "alice@example.com",
		Verdict:     &verdict.Verdict{Action: verdict.Pass},
		Action:      "pass",
	}
}

// BenchBody returns size bytes, not all zeros, like mail.
func BenchBody(size int) []byte {
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i)
	}
	return body
}

// RunParallel runs op b.N times spread over conc goroutines and reports
// operations per second.
func RunParallel(b *testing.B, conc int, op func(seq int64) error) {
	var seq atomic.Int64
	b.ResetTimer()
	start := time.Now()
	done := make(chan error, conc)
	for range conc {
		go func() {
			for {
				n := seq.Add(1)
				if n > int64(b.N) {
					done <- nil
					return
				}
				if err := op(n); err != nil {
					done <- err
					return
				}
			}
		}()
	}
	for range conc {
		if err := <-done; err != nil {
			b.Error(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// Life stores m with body, records its delivery and deletes its body, in
// two durable updates: a message's whole life in the store.
func Life(ctx context.Context, s store.Store, m *store.Message, body []byte) error {
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(body)) }); err != nil {
		return err
	}
	m.State = store.Delivered
	for i := range m.Status {
		m.Status[i].Done = true
	}
	return s.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdateMessage(m, store.Queued); err != nil {
			return err
		}
		return tx.DeleteBody(m.ID)
	})
}

// Engine is what CloseWhileQueued needs to see of a store's writer.
type Engine struct {
	Updates func() uint64 // update functions started
	Queued  func() int    // update functions waiting
	Closed  func() bool   // Close has begun
}

// CloseWhileQueued closes s while updates wait: the one running commits,
// each queued one gets an answer (nil or store.ErrClosed; none hangs), and
// exactly those that reported success are found by reopen.
func CloseWhileQueued(t *testing.T, s store.Store, e Engine, reopen func() store.Store) {
	ctx := context.Background()
	release := make(chan struct{})
	blocked := make(chan error, 1)
	running := newMessage(1000)
	go func() {
		blocked <- s.Update(ctx, func(tx store.Tx) error {
			if err := tx.InsertMessage(running, nil); err != nil {
				return err
			}
			<-release
			return nil
		})
	}()
	waitUntil(t, func() bool { return e.Updates() == 1 })
	const n = 10
	errs := make(chan error, n)
	msgs := make([]*store.Message, n)
	for i := range n {
		msgs[i] = newMessage(i)
		go func() {
			errs <- s.Update(ctx, func(tx store.Tx) error { return tx.InsertMessage(msgs[i], nil) })
		}()
	}
	waitUntil(t, func() bool { return e.Queued() == n })
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	waitUntil(t, e.Closed)
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := <-blocked; err != nil {
		t.Errorf("update running at Close: %v", err)
	}
	ok := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrClosed):
			t.Errorf("queued update at Close: %v; want nil or store.ErrClosed", err)
		}
	}
	s2 := reopen()
	if _, err := s2.Message(ctx, running.ID); err != nil {
		t.Errorf("update running at Close did not persist: %v", err)
	}
	found := 0
	for _, m := range msgs {
		if _, err := s2.Message(ctx, m.ID); err == nil {
			found++
		}
	}
	if found != ok {
		t.Errorf("%d updates reported success, %d records found", ok, found)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
