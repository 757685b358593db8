package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

var (
	latTarget = flag.String("latency-target", "", "host:port of a relay to probe (loopback only); empty skips TestLatencyProbe")
	latN      = flag.Int("latency-n", 2000, "messages for TestLatencyProbe")
	latSize   = flag.Int("latency-size", 2048, "body bytes per message for TestLatencyProbe")
)

// TestLatencyProbe measures the accept latency of one session, message
// after message (connect, EHLO, MAIL, RCPT, DATA, final reply, QUIT), and
// prints p50/p90/p99. It is a benchmark run by hand against the guard or the
// reference Postfix, not part of the test suite:
//
//	go test ./cmd/egressguard -run TestLatencyProbe -args -latency-target 127.0.0.1:2525
func TestLatencyProbe(t *testing.T) {
	if *latTarget == "" {
		t.Skip("no -latency-target")
	}
	if !strings.HasPrefix(*latTarget, "127.") && !strings.HasPrefix(*latTarget, "[::1]") && !strings.HasPrefix(*latTarget, "localhost") {
		t.Fatal("the probe only targets loopback addresses")
	}
	body := "From: a@example.jp\r\nTo: b@example.jp\r\nSubject: latency\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", *latSize/80+1)
	lat := make([]time.Duration, 0, *latN)
	for i := 0; i < *latN; i++ {
		start := time.Now()
		c, err := smtp.Dial(*latTarget)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SendMail("a@example.jp", []string{"b@example.jp"}, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		c.Quit()
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	fmt.Printf("RESULT latency target=%s n=%d size=%d p50=%v p90=%v p99=%v max=%v\n",
		*latTarget, len(lat), *latSize, q(0.50), q(0.90), q(0.99), lat[len(lat)-1])
}

var (
	rrListen  = flag.String("rr-listen", "", "loopback address for TestRoundRobin to listen on; empty skips it")
	rrTargets = flag.String("rr-targets", "", "comma-separated loopback host:port list TestRoundRobin balances over")
	rrFor     = flag.Duration("rr-for", 2*time.Minute, "how long TestRoundRobin runs")
)

// TestRoundRobin is a minimal TCP load balancer for benchmarking several
// guard instances with one load generator, run by hand:
//
//	go test ./cmd/egressguard -run TestRoundRobin -timeout 0 -args \
//	    -rr-listen 127.0.0.1:2600 -rr-targets 127.0.0.1:2527,127.0.0.1:2528 -rr-for 2m
func TestRoundRobin(t *testing.T) {
	if *rrListen == "" {
		t.Skip("no -rr-listen")
	}
	targets := strings.Split(*rrTargets, ",")
	for _, a := range append(targets, *rrListen) {
		if !strings.HasPrefix(a, "127.") {
			t.Fatal("loopback addresses only")
		}
	}
	ln, err := net.Listen("tcp", *rrListen)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(*rrFor, func() { ln.Close() })
	for i := 0; ; i++ {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func(c net.Conn, target string) {
			defer c.Close()
			up, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer up.Close()
			go io.Copy(up, c)
			io.Copy(c, up)
		}(c, targets[i%len(targets)])
	}
}
