package smtpfront

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/envelope"
)

// Shutdown stops accepting, ends idle sessions with 421, lets a session in
// the middle of a message finish it, and returns when all are gone.
func TestShutdownGraceful(t *testing.T) {
	t.Parallel()
	b, rec := newRecorder()
	ts := startServer(t, baseConfig(), b)

	idle := dialRaw(t, ts.addr)
	idle.greet()
	authed := dialRaw(t, ts.addr)
	authed.greet()
	authed.login("bob", "hunter2")
	busy := startData(t, ts.addr)
	busy.send("Subject: in flight\r\n\r\nfirst half\r\n")

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- ts.Shutdown(ctx)
	}()

	for _, c := range []*rawClient{idle, authed} {
		if text := c.expect(421); !strings.HasPrefix(text, "4.") {
			t.Errorf("idle session: %q", text)
		}
		c.expectClosed()
	}
	if c, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		c.Close()
		t.Error("still accepting connections")
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a message in flight", err)
	case <-time.After(100 * time.Millisecond):
	}

	busy.send("second half\r\n.\r\n")
	busy.expect(250)
	busy.expect(421) // and then the session ends
	busy.expectClosed()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	if subs := rec.all(); len(subs) != 1 || string(subs[0].data) != "Subject: in flight\r\n\r\nfirst half\r\nsecond half\r\n" {
		t.Errorf("submissions %+v", subs)
	}
	if n := ts.metric("egressguard_smtp_active_sessions"); n != 0 {
		t.Errorf("active sessions %v", n)
	}
}

// A session that does not finish in time is closed when ctx ends.
func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	b, rec := newRecorder()
	ts := startServer(t, baseConfig(), b)
	busy := startData(t, ts.addr)
	busy.send("Subject: slow\r\n\r\n")

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	busy.expectClosed()
	if rec.count() != 0 {
		t.Error("submitted")
	}
}

// A backend call in progress when the deadline passes is canceled, and
// Shutdown returns only after it has returned: nothing of the front end
// touches the backend afterwards.
func TestShutdownCancelsSubmit(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	var returned atomic.Bool
	var sawCancel atomic.Bool
	b, _ := newRecorder()
	b.SubmitFunc = func(ctx context.Context, _ *envelope.Envelope, _ []byte) (Result, error) {
		close(entered)
		<-ctx.Done()
		sawCancel.Store(true)
		time.Sleep(50 * time.Millisecond) // a slow rollback
		returned.Store(true)
		return Result{}, ctx.Err()
	}
	ts := startServer(t, baseConfig(), b)
	c := startData(t, ts.addr)
	c.send("Subject: x\r\n\r\nhi\r\n.\r\n")
	<-entered

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v", err)
	}
	if !sawCancel.Load() || !returned.Load() {
		t.Errorf("Shutdown returned before Submit: canceled=%v returned=%v", sawCancel.Load(), returned.Load())
	}
}

func TestServeAfterShutdown(t *testing.T) {
	t.Parallel()
	b, _ := newRecorder()
	s, err := New(baseConfig(), b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("listener left open")
	}
}
