package sqlite

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
)

// benchConcurrency is the number of goroutines submitting at once in the
// parallel benchmarks: the relay's SMTP sessions and delivery workers.
var benchConcurrency = []int{1, 32}

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir()+"/bench.db", zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchMessage(seq int64, now time.Time) *store.Message {
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
		Verdict:     []byte(`{"action":"pass"}`),
		Action:      "pass",
	}
}

// runParallel runs op b.N times spread over conc goroutines and reports
// operations per second.
func runParallel(b *testing.B, conc int, op func(seq int64) error) {
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

// BenchmarkInsert stores 2 KB messages, each in its own durable Update, as
// the SMTP front end does before answering 250.
func BenchmarkInsert(b *testing.B) {
	for _, size := range []int{2 << 10, 100 << 10} {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(i) // not all zeros, like mail
		}
		for _, conc := range benchConcurrency {
			b.Run(fmt.Sprintf("size=%dKB/conc=%d", size>>10, conc), func(b *testing.B) {
				s := benchStore(b)
				now := time.Now()
				b.SetBytes(int64(len(body)))
				runParallel(b, conc, func(seq int64) error {
					m := benchMessage(seq, now)
					return s.Update(context.Background(), func(tx store.Tx) error { return tx.InsertMessage(m, body) })
				})
				st := s.Stats()
				b.ReportMetric(float64(st.Updates)/float64(max(1, st.Commits)), "updates/commit")
			})
		}
	}
}

// BenchmarkInsertUpdateDelete is one message's whole life in the store:
// insert, then (after delivery) the final state and the deletion of its
// bytes in one Update.
func BenchmarkInsertUpdateDelete(b *testing.B) {
	body := make([]byte, 2048)
	for _, conc := range benchConcurrency {
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			s := benchStore(b)
			now := time.Now()
			b.SetBytes(int64(len(body)))
			runParallel(b, conc, func(seq int64) error {
				ctx := context.Background()
				m := benchMessage(seq, now)
				if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMessage(m, body) }); err != nil {
					return err
				}
				m.State = store.Delivered
				m.Status[0].Done, m.Status[1].Done = true, true
				return s.Update(ctx, func(tx store.Tx) error {
					if err := tx.UpdateMessage(m, store.Queued); err != nil {
						return err
					}
					return tx.DeleteBody(m.ID)
				})
			})
			st := s.Stats()
			b.ReportMetric(float64(st.Updates)/float64(max(1, st.Commits)), "updates/commit")
		})
	}
}
