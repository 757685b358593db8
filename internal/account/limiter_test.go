package account

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	l := NewLimiter(2, time.Minute)
	t0 := time.Unix(1000, 0)
	a1, ok := l.Begin("a", t0)
	if !ok {
		t.Fatal("first attempt refused")
	}
	// A running attempt counts: the third of three parallel ones is refused.
	if _, ok := l.Begin("a", t0.Add(time.Second)); !ok {
		t.Fatal("second attempt refused")
	}
	if _, ok := l.Begin("a", t0.Add(2*time.Second)); ok {
		t.Error("third attempt allowed")
	}
	if !l.Blocked("a", t0.Add(2*time.Second)) || l.Blocked("b", t0) {
		t.Error("Blocked wrong")
	}
	// A success is taken back (twice is harmless).
	a1.Forget()
	a1.Forget()
	var nilAttempt *Attempt
	nilAttempt.Forget()
	if l.Blocked("a", t0.Add(2*time.Second)) {
		t.Error("blocked after a success was forgotten")
	}
	// Sliding window: the attempt at t0+1s leaves it at t0+61s.
	l.Begin("a", t0.Add(3*time.Second))
	if !l.Blocked("a", t0.Add(60*time.Second)) {
		t.Error("not blocked inside the window")
	}
	if l.Blocked("a", t0.Add(61*time.Second)) {
		t.Error("still blocked after the oldest attempt left the window")
	}
}

// TestLimiterParallel: of many attempts begun at once, exactly max pass.
func TestLimiterParallel(t *testing.T) {
	t.Parallel()
	l := NewLimiter(5, time.Minute)
	now := time.Unix(1000, 0)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		n  int
	)
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok := l.Begin("10.0.0.1", now); ok {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if n != 5 {
		t.Errorf("%d attempts passed, want 5", n)
	}
}

// TestLimiterSweep: expired keys are dropped as the map grows.
func TestLimiterSweep(t *testing.T) {
	t.Parallel()
	l := NewLimiter(3, time.Minute)
	t0 := time.Unix(1000, 0)
	for i := range 1500 {
		l.Begin(fmt.Sprint("old", i), t0)
	}
	later := t0.Add(2 * time.Minute)
	for i := range 600 {
		l.Begin(fmt.Sprint("new", i), later)
	}
	if n := l.Keys(); n > 600 {
		t.Errorf("%d keys tracked, expired ones not swept", n)
	}
}
