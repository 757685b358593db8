package sqlite

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/storetest"
)

// BenchmarkDueWithDelayed measures what waiting mail costs the scheduler:
// NextDue and an empty ClaimDue with 10,000 delayed messages, none due.
// Both walk the due index and stop at its first entry.
func BenchmarkDueWithDelayed(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	now := time.Now()
	const n = 10000
	err := s.Update(ctx, func(tx store.Tx) error {
		for i := int64(0); i < n; i++ {
			m := storetest.BenchMessage(i, now)
			m.State, m.NextAttempt = store.Delayed, now.Add(time.Hour+time.Duration(i)*time.Second)
			if err := tx.InsertMessage(m, bytes.NewReader([]byte("x"))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("NextDue", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			next, err := s.NextDue(ctx)
			if err != nil || !next.After(now) {
				b.Fatal(next, err)
			}
		}
	})
	b.Run("ClaimDue", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			err := s.Update(ctx, func(tx store.Tx) error {
				ms, err := tx.ClaimDue(now, "bench", now.Add(time.Minute), 20)
				if len(ms) != 0 {
					b.Fatal("claimed delayed mail early")
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
