package membudget

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	t.Parallel()
	b := New(100)
	ctx := context.Background()
	r1, err := b.Acquire(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	// 60 + 50 > 100: waits until the first is released.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := b.Acquire(short, 50); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("over the budget: %v", err)
	}
	got := make(chan func())
	go func() {
		r, err := b.Acquire(ctx, 50)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	select {
	case <-got:
		t.Fatal("acquired while the budget was taken")
	case <-time.After(20 * time.Millisecond):
	}
	r1()
	r1() // twice gives back once
	r2 := <-got
	// A body larger than the budget takes all of it.
	short2, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	if _, err := b.Acquire(short2, 1000); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("whole budget while 50 taken: %v", err)
	}
	r2()
	r3, err := b.Acquire(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	r3()
	// nil bounds nothing.
	var none *Budget
	r, err := none.Acquire(ctx, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	r()
}
