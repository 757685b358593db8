package sqlite

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/storetest"
)

// peakHeap runs fn and returns how far the heap in use rose above where
// it was before, sampled every millisecond. The collector runs at 5 %
// growth meanwhile, so that the peak is what fn keeps alive, not garbage
// the collector had not come to yet.
func peakHeap(fn func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
				peak.Store(ms.HeapInuse - base)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak.Load()
}

// BenchmarkBody25MB measures the memory the store takes to insert a 25 MB
// message and to read it back: allocated bytes per operation, and the
// peak of the heap in use above what the caller already holds (the
// message's bytes, for an insert).
func BenchmarkBody25MB(b *testing.B) {
	const size = 25 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	for _, sealed := range []bool{false, true} {
		name := "plain"
		var opts []Option
		if sealed {
			name = "sealed"
			opts = append(opts, WithSealer(storetest.NewKeyring(b, 1)))
		}
		ctx := context.Background()
		b.Run(name+"/insert", func(b *testing.B) {
			s := benchStore(b, opts...)
			b.ReportAllocs()
			var peak uint64
			for i := 0; b.Loop(); i++ {
				m := storetest.BenchMessage(int64(i), time.Now())
				peak = max(peak, peakHeap(func() {
					if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(data)) }); err != nil {
						b.Fatal(err)
					}
				}))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peakMB")
		})
		s := benchStore(b, opts...)
		m := storetest.BenchMessage(0, time.Now())
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(data)) }); err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/OpenBody", func(b *testing.B) {
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				peak = max(peak, peakHeap(func() {
					rc, err := s.OpenBody(ctx, m.ID)
					if err != nil {
						b.Fatal(err)
					}
					if n, err := io.Copy(io.Discard, rc); err != nil || n != size {
						b.Fatal(n, err)
					}
					rc.Close()
				}))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peakMB")
		})
		b.Run(name+"/Body", func(b *testing.B) {
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				peak = max(peak, peakHeap(func() {
					body, err := s.Body(ctx, m.ID)
					if err != nil || len(body) != size {
						b.Fatal(len(body), err)
					}
				}))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peakMB")
		})
	}
}
