package postgres

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/storetest"
)

// benchConcurrency is the number of goroutines submitting at once in the
// parallel benchmarks: the relay's SMTP sessions and delivery workers.
var benchConcurrency = []int{1, 32}

func benchOpen(b *testing.B, db *testDB, opts ...Option) *Store {
	b.Helper()
	s, err := Open(context.Background(), db.dsn, zap.NewNop(), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func reportBatching(b *testing.B, stores ...*Store) {
	var updates, commits uint64
	for _, s := range stores {
		st := s.Stats()
		updates += st.Updates
		commits += st.Commits
	}
	b.ReportMetric(float64(updates)/float64(max(1, commits)), "updates/commit")
}

// BenchmarkInsert stores messages, each in its own durable Update, as the
// SMTP front end does before answering 250.
func BenchmarkInsert(b *testing.B) {
	for _, size := range []int{2 << 10, 100 << 10} {
		body := storetest.BenchBody(size)
		for _, conc := range benchConcurrency {
			b.Run(fmt.Sprintf("size=%dKB/conc=%d", size>>10, conc), func(b *testing.B) {
				s := benchOpen(b, newTestDB(b))
				now := time.Now()
				b.SetBytes(int64(len(body)))
				storetest.RunParallel(b, conc, func(seq int64) error {
					m := storetest.BenchMessage(seq, now)
					return s.Update(context.Background(), func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(body)) })
				})
				reportBatching(b, s)
			})
		}
	}
}

// BenchmarkAccept is what the front end commits for an accepted 2 KB
// message: the message and its audit entry in one Update, on one instance
// and spread over two instances sharing the database.
func BenchmarkAccept(b *testing.B) {
	body := storetest.BenchBody(2 << 10)
	for _, instances := range []int{1, 2} {
		for _, conc := range benchConcurrency {
			if instances > conc {
				continue
			}
			b.Run(fmt.Sprintf("instances=%d/conc=%d", instances, conc), func(b *testing.B) {
				db := newTestDB(b)
				var stores []*Store
				for range instances {
					stores = append(stores, benchOpen(b, db))
				}
				now := time.Now()
				b.SetBytes(int64(len(body)))
				storetest.RunParallel(b, conc, func(seq int64) error {
					m := storetest.BenchMessage(seq, now)
					return stores[seq%int64(instances)].Update(context.Background(), func(tx store.Tx) error {
						if err := tx.InsertMessage(m, bytes.NewReader(body)); err != nil {
							return err
						}
						_, err := audit.Append(tx, now, audit.Event{Actor: "alice", Action: "message.accepted", MsgID: m.ID,
							Data: map[string]any{"from": m.From, "size": m.Size}})
						return err
					})
				})
				reportBatching(b, stores...)
			})
		}
	}
}

// BenchmarkCommitters compares numbers of committers on the accept path.
// They take turns on the writer lock, so a second one can only overlap
// its BEGIN and lock wait with the first one's commit.
func BenchmarkCommitters(b *testing.B) {
	body := storetest.BenchBody(2 << 10)
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("committers=%d/conc=32", n), func(b *testing.B) {
			s := benchOpen(b, newTestDB(b), WithCommitters(n))
			now := time.Now()
			storetest.RunParallel(b, 32, func(seq int64) error {
				m := storetest.BenchMessage(seq, now)
				return s.Update(context.Background(), func(tx store.Tx) error {
					if err := tx.InsertMessage(m, bytes.NewReader(body)); err != nil {
						return err
					}
					_, err := audit.Append(tx, now, audit.Event{Actor: "alice", Action: "message.accepted", MsgID: m.ID})
					return err
				})
			})
			reportBatching(b, s)
		})
	}
}

// BenchmarkInsertUpdateDelete is one message's whole life in the store:
// insert, then (after delivery) the final state and the deletion of its
// bytes in one Update.
func BenchmarkInsertUpdateDelete(b *testing.B) {
	body := storetest.BenchBody(2 << 10)
	for _, conc := range benchConcurrency {
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			s := benchOpen(b, newTestDB(b))
			now := time.Now()
			b.SetBytes(int64(len(body)))
			storetest.RunParallel(b, conc, func(seq int64) error {
				ctx := context.Background()
				m := storetest.BenchMessage(seq, now)
				return storetest.Life(ctx, s, m, body)
			})
			reportBatching(b, s)
		})
	}
}
