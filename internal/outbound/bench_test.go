package outbound

import (
	"bytes"
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

// BenchmarkFastPath measures what the SMTP front end sees: messages
// (2 KB, 100 KB) committed already claimed (TryClaim, InsertMessage, Deliver) by 20
// concurrent senders, delivered from memory to the fake smarthost over
// pooled connections, each outcome committed (durably) in turn. The clock
// stops when the smarthost has every message.
func BenchmarkFastPath(b *testing.B) {
	b.Run("2KB", func(b *testing.B) { benchFastPath(b, 2<<10) })
	b.Run("100KB", func(b *testing.B) { benchFastPath(b, 100<<10) })
}

func benchFastPath(b *testing.B, size int) {
	st := openStore(b)
	up := fakesmtp.Start(b)
	q, err := New(Config{
		Upstream: up.Addr(), TLS: TLSNone, Concurrency: 20,
		Hostname: "guard.example.net", Instance: "bench",
	}, st, zap.NewNop(), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	waitRunning(b, q)

	line := []byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq\r\n")
	body := []byte("From: a@example.com\r\nTo: b@example.org\r\nSubject: bench\r\n\r\n")
	body = append(body, bytes.Repeat(line, (size-len(body))/len(line))...)
	var fast, slow atomic.Int64

	b.SetBytes(int64(len(body)))
	b.SetParallelism(max(1, 20/runtime.GOMAXPROCS(0))) // about 20 senders
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := time.Now()
			m := &store.Message{
				Envelope: envelope.Envelope{ID: store.NewID(now), Received: now, From: "a@example.com",
					Rcpts: []envelope.Rcpt{{Addr: "b@example.org"}}},
				State: store.Queued, Updated: now, NextAttempt: now, Size: int64(len(body)), Action: "pass",
			}
			claimed := q.TryClaim(m)
			err := st.Update(context.Background(), func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(body)) })
			switch {
			case err != nil && claimed:
				q.Release()
				b.Error(err)
			case err != nil:
				b.Error(err)
			case claimed:
				fast.Add(1)
				q.Deliver(m, body)
			default:
				slow.Add(1)
				q.Kick()
			}
		}
	})
	up.WaitFor(b.N, 5*time.Minute)
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(up.Connections()), "conns")
	if n := fast.Load() + slow.Load(); n > 0 {
		b.ReportMetric(100*float64(fast.Load())/float64(n), "%fast")
	}
}
