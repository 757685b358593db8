package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/seal"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/storetest"
)

// benchConcurrency is the number of goroutines submitting at once in the
// parallel benchmarks: the relay's SMTP sessions and delivery workers.
var benchConcurrency = []int{1, 32}

func benchStore(b *testing.B, opts ...Option) *Store {
	b.Helper()
	s, err := Open(b.TempDir()+"/bench.db", zap.NewNop(), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// benchSealing: bodies in clear, and sealed with AES-256-GCM.
func benchSealing(b *testing.B) []struct {
	name string
	opts []Option
} {
	k, err := seal.New(map[uint32][]byte{1: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	return []struct {
		name string
		opts []Option
	}{{"plain", nil}, {"sealed", []Option{WithSealer(k)}}}
}

// BenchmarkInsert stores 2 KB and 100 KB messages, each in its own durable
// Update, as the SMTP front end does before answering 250.
func BenchmarkInsert(b *testing.B) {
	for _, size := range []int{2 << 10, 100 << 10} {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(i) // not all zeros, like mail
		}
		for _, sealing := range benchSealing(b) {
			for _, conc := range benchConcurrency {
				b.Run(fmt.Sprintf("size=%dKB/%s/conc=%d", size>>10, sealing.name, conc), func(b *testing.B) {
					s := benchStore(b, sealing.opts...)
					now := time.Now()
					b.SetBytes(int64(len(body)))
					storetest.RunParallel(b, conc, func(seq int64) error {
						m := storetest.BenchMessage(seq, now)
						return s.Update(context.Background(), func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(body)) })
					})
					st := s.Stats()
					b.ReportMetric(float64(st.Updates)/float64(max(1, st.Commits)), "updates/commit")
				})
			}
		}
	}
}

// BenchmarkAccept is what the front end commits for an accepted 2 KB
// message: the message and its audit entry in one Update. Every such
// Update reads and extends the one audit chain.
func BenchmarkAccept(b *testing.B) {
	body := make([]byte, 2048)
	for i := range body {
		body[i] = byte(i)
	}
	for _, conc := range benchConcurrency {
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			s := benchStore(b)
			now := time.Now()
			b.SetBytes(int64(len(body)))
			storetest.RunParallel(b, conc, func(seq int64) error {
				m := storetest.BenchMessage(seq, now)
				return s.Update(context.Background(), func(tx store.Tx) error {
					if err := tx.InsertMessage(m, bytes.NewReader(body)); err != nil {
						return err
					}
					_, err := audit.Append(tx, now, audit.Event{Actor: "smtp:192.0.2.1", Action: "message.accepted", MsgID: m.ID,
						Data: map[string]any{"from": m.From, "rcpts": []string{"bob@example.net", "carol@example.org"}, "size": len(body), "verdict": "pass"}})
					return err
				})
			})
			st := s.Stats()
			b.ReportMetric(float64(st.Updates)/float64(max(1, st.Commits)), "updates/commit")
		})
	}
}

// BenchmarkInsertUpdateDelete is one message's whole life in the store:
// insert, then (after delivery) the final state and the deletion of its
// bytes in one Update. The "wipe" variants truncate the WAL 100 ms after
// deletions instead of after a minute, to show what the wipe costs.
func BenchmarkInsertUpdateDelete(b *testing.B) {
	body := make([]byte, 2048)
	for _, v := range []struct {
		name string
		opts []Option
	}{{"", nil}, {"wipe=100ms/", []Option{WithWipeInterval(100 * time.Millisecond)}}} {
		for _, conc := range benchConcurrency {
			b.Run(fmt.Sprintf("%sconc=%d", v.name, conc), func(b *testing.B) {
				s := benchStore(b, v.opts...)
				now := time.Now()
				b.SetBytes(int64(len(body)))
				storetest.RunParallel(b, conc, func(seq int64) error {
					ctx := context.Background()
					m := storetest.BenchMessage(seq, now)
					return storetest.Life(ctx, s, m, body)
				})
				st := s.Stats()
				b.ReportMetric(float64(st.Updates)/float64(max(1, st.Commits)), "updates/commit")
				b.ReportMetric(float64(st.Wipes), "wipes")
			})
		}
	}
}
