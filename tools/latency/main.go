// Command latency measures the accept latency of one SMTP session, message
// after message (connect, EHLO, MAIL, RCPT, DATA, final reply, QUIT), and
// prints p50/p90/p99. It is a hand-run benchmark tool for the guard and
// the reference Postfix (docs/performance.md), not part of the test suite:
//
//	go run ./tools/latency -target 127.0.0.1:2525 -n 2000 -size 2048
//
// It only targets loopback addresses.
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

func main() {
	target := flag.String("target", "", "host:port of the relay to probe (loopback only)")
	n := flag.Int("n", 2000, "messages")
	size := flag.Int("size", 2048, "body bytes per message")
	flag.Parse()
	if err := run(*target, *n, *size); err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(1)
	}
}

func loopback(a string) bool {
	return strings.HasPrefix(a, "127.") || strings.HasPrefix(a, "[::1]") || strings.HasPrefix(a, "localhost:")
}

func run(target string, n, size int) error {
	if !loopback(target) {
		return fmt.Errorf("-target %q: only loopback addresses may be probed", target)
	}
	if n < 1 {
		return fmt.Errorf("-n %d: want at least 1", n)
	}
	body := "From: a@example.jp\r\nTo: b@example.jp\r\nSubject: latency\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", size/80+1)
	lat := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		c, err := smtp.Dial(target)
		if err != nil {
			return err
		}
		if err := c.SendMail("a@example.jp", []string{"b@example.jp"}, strings.NewReader(body)); err != nil {
			c.Close()
			return err
		}
		c.Quit()
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	fmt.Printf("RESULT latency target=%s n=%d size=%d p50=%v p90=%v p99=%v max=%v\n",
		target, len(lat), size, q(0.50), q(0.90), q(0.99), lat[len(lat)-1])
	return nil
}
