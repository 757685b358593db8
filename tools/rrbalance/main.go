// Command rrbalance is a minimal round-robin TCP balancer for benchmarking
// several guard instances with one load generator (docs/performance.md),
// run by hand:
//
//	go run ./tools/rrbalance -listen 127.0.0.1:2600 -targets 127.0.0.1:2527,127.0.0.1:2528 -for 2m
//
// It listens and connects on loopback addresses only, and stops by itself.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	listen := flag.String("listen", "", "loopback address to listen on")
	targets := flag.String("targets", "", "comma-separated loopback host:port list to balance over")
	dur := flag.Duration("for", 2*time.Minute, "how long to run")
	flag.Parse()
	if err := run(*listen, strings.Split(*targets, ","), *dur); err != nil {
		fmt.Fprintln(os.Stderr, "rrbalance:", err)
		os.Exit(1)
	}
}

func run(listen string, targets []string, dur time.Duration) error {
	for _, a := range append(targets, listen) {
		if !strings.HasPrefix(a, "127.") {
			return fmt.Errorf("%q: loopback addresses only", a)
		}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	time.AfterFunc(dur, func() { ln.Close() })
	for i := 0; ; i++ {
		c, err := ln.Accept()
		if err != nil {
			return nil
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
