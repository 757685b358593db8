package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/store/storetest"
)

// BenchmarkLife is BenchmarkInsertUpdateDelete with 2 KB and 100 KB bodies
// and the relay's 20 sessions, under the settings that decide what storing and
// deleting a large body costs: secure_delete (which writes a zeroed copy
// of every freed page into the WAL), the automatic checkpoint interval
// (how often the WAL is copied into the database file; walCheckpointPages
// by default) and the page size (of a new file, checkpointed after as many
// pages, so four times the bytes at 16 KiB). The variants that weaken secure deletion
// exist only to show its price. Compare CPU time per message as well as
// msgs/s: on a busy machine the CPU is what the relay runs out of.
func BenchmarkLife(b *testing.B) {
	for _, size := range []int{2 << 10, 100 << 10} {
		b.Run(fmt.Sprintf("size=%dKB", size>>10), func(b *testing.B) { benchLife(b, size) })
	}
}

func benchLife(b *testing.B, size int) {
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i)
	}
	for _, v := range []struct {
		name     string
		pragmas  []string
		pageSize int // of a new database file; 0: SQLite's default, 4096
	}{
		{"default", nil, 0},
		{"secure_delete=off", []string{"PRAGMA secure_delete = OFF"}, 0},
		{"secure_delete=fast", []string{"PRAGMA secure_delete = FAST"}, 0},
		{"autocheckpoint=1000", []string{"PRAGMA wal_autocheckpoint = 1000"}, 0}, // SQLite's default
		{"autocheckpoint=16000", []string{"PRAGMA wal_autocheckpoint = 16000"}, 0},
		{"page_size=8192", nil, 8192},
		{"page_size=16384", nil, 16384},
	} {
		b.Run(v.name, func(b *testing.B) {
			path := b.TempDir() + "/bench.db"
			if v.pageSize != 0 {
				db, err := sql.Open("sqlite", path)
				if err != nil {
					b.Fatal(err)
				}
				for _, q := range []string{fmt.Sprintf("PRAGMA page_size = %d", v.pageSize), "CREATE TABLE x(a)", "DROP TABLE x"} {
					if _, err := db.Exec(q); err != nil {
						b.Fatal(err)
					}
				}
				db.Close()
			}
			s, err := Open(path, zap.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			for _, p := range v.pragmas {
				if err := s.do(context.Background(), func(c *sql.Conn) error {
					_, err := c.ExecContext(context.Background(), p)
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
			now := time.Now()
			b.SetBytes(int64(len(body)))
			storetest.RunParallel(b, 20, func(seq int64) error {
				ctx := context.Background()
				m := storetest.BenchMessage(seq, now)
				m.Size = int64(len(body))
				return storetest.Life(ctx, s, m, body)
			})
			st := s.Stats()
			b.ReportMetric(float64(st.Updates)/float64(max(1, st.Commits)), "updates/commit")
			if fi, err := os.Stat(s.path + "-wal"); err == nil {
				b.ReportMetric(float64(fi.Size())/(1<<20), "walMB")
			}
		})
	}
}
