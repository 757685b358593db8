package outbound

import (
	"bufio"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// slowGoodbye is an SMTP server that takes delay to answer QUIT; answered
// counts the goodbyes it is about to send.
func slowGoodbye(t *testing.T, delay time.Duration) (addr string, answered *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	answered = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write([]byte("220 ready\r\n"))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(strings.ToUpper(line), "QUIT") {
						time.Sleep(delay)
						answered.Add(1)
						c.Write([]byte("221 bye\r\n"))
						return
					}
					c.Write([]byte("250 ok\r\n"))
				}
			}()
		}
	}()
	return ln.Addr().String(), answered
}

func dialUp(t *testing.T, addr string) *upConn {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return &upConn{c: smtp.NewClient(raw), raw: raw, conn: raw, created: time.Now()}
}

// The pool's background QUITs are its own: wait returns only once every
// server has had its goodbye, so a stopped queue leaves no goroutine
// talking to the upstream.
func TestPoolWaitsForQuits(t *testing.T) {
	addr, answered := slowGoodbye(t, 300*time.Millisecond)
	p := newPool(4)
	now := time.Now()
	for range 3 {
		uc := dialUp(t, addr)
		p.track(uc)
		p.put(uc, now)
	}
	start := time.Now()
	p.flush() // retires all three in the background
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("flush waited %v for the goodbyes", d)
	}
	p.wait()
	if n := answered.Load(); n != 3 {
		t.Fatalf("wait returned after %d of 3 goodbyes", n)
	}
}

// A server that never answers QUIT holds the stop for at most the QUIT
// deadline.
func TestPoolWaitBounded(t *testing.T) {
	addr, _ := slowGoodbye(t, time.Hour)
	p := newPool(1)
	uc := dialUp(t, addr)
	p.track(uc)
	start := time.Now()
	p.drop(uc) // a broken connection is closed at once, without QUIT
	p.closeLater(dialUp(t, addr))
	p.wait()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("wait took %v; a QUIT is bounded by its one-second deadline", d)
	}
}
