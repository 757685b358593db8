package extract

import (
	"syscall"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/extract/fixture"
)

// BenchmarkFile measures extraction alone (no detectors) of the relay
// benchmark's 100 KB spreadsheets, in MB/s of file.
func BenchmarkFile(b *testing.B) {
	for _, k := range []struct {
		name string
		rows func(int) [][]string
	}{{"persons.xlsx", fixture.PersonRows}, {"sales.xlsx", fixture.SalesRows}} {
		data := fixture.XLSXOfSize(100000, k.rows)
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			defer reportCPU(b)()
			for b.Loop() {
				if r := File(k.name, data, Limits{}); len(r.Docs) == 0 || len(r.Problems) > 0 {
					b.Fatalf("docs %d problems %+v", len(r.Docs), r.Problems)
				}
			}
		})
	}
}

// reportCPU adds the process's CPU time per operation (user and system,
// GC workers included), which a busy machine disturbs less than the
// wall-clock ns/op.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
