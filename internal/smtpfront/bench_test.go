package smtpfront

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/verdict"
)

// BenchmarkSession measures the front end alone: messages over one
// connection each, a backend that does nothing, pipelined MAIL/RCPT/DATA.
// The load is 8 parallel clients (as b.RunParallel sees GOMAXPROCS).
func BenchmarkSession(b *testing.B) {
	for _, size := range []int{2 << 10, 100 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			line := strings.Repeat("x", 76) + "\r\n"
			msg := []byte("Subject: bench\r\n\r\n" + strings.Repeat(line, size/len(line)) + ".\r\n")
			cfg := baseConfig()
			cfg.TrustedNets = []netip.Prefix{loopback}
			cfg.MaxConnsPerIP = 1000
			be := &fakeBackend{SubmitFunc: func(context.Context, *envelope.Envelope, []byte) (Result, error) {
				return Result{Action: verdict.Pass}, nil
			}}
			s, err := New(cfg, be, zap.NewNop(), nil)
			if err != nil {
				b.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go s.Serve(ln)
			defer s.Shutdown(context.Background())
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.ResetTimer()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				conn, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Error(err)
					return
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(time.Minute))
				r := bufio.NewReader(conn)
				expect := func(code string) bool {
					for {
						l, err := r.ReadString('\n')
						if err != nil || !strings.HasPrefix(l, code) {
							b.Errorf("want %s, got %q %v", code, l, err)
							return false
						}
						if l[3] == ' ' {
							return true
						}
					}
				}
				expect("220")
				fmt.Fprintf(conn, "EHLO bench\r\n")
				expect("250")
				for pb.Next() {
					fmt.Fprintf(conn, "MAIL FROM:<a@example.com> SIZE=%d\r\nRCPT TO:<b@example.net>\r\nDATA\r\n", len(msg))
					for _, code := range []string{"250", "250", "354"} { // pipelined: MAIL, RCPT, DATA
						if !expect(code) {
							return
						}
					}
					conn.Write(msg)
					if !expect("250") {
						return
					}
				}
				fmt.Fprintf(conn, "QUIT\r\n")
			})
		})
	}
}
