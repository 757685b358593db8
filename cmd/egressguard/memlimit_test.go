package main

import (
	"runtime/debug"
	"testing"
)

// serve sets the Go memory limit from the budget, at least 128 MiB, and
// leaves it alone when GOMEMLIMIT is set.
func TestMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(prev)
	t.Setenv("GOMEMLIMIT", "")
	for _, tt := range []struct{ budget, want int64 }{{32 << 20, 128 << 20}, {64 << 20, 256 << 20}, {1 << 20, 128 << 20}} {
		got, set := memoryLimit(tt.budget)
		if !set || got != tt.want || debug.SetMemoryLimit(-1) != tt.want {
			t.Errorf("budget %d: limit %d (set %v), runtime %d; want %d", tt.budget, got, set, debug.SetMemoryLimit(-1), tt.want)
		}
	}
	debug.SetMemoryLimit(prev)
	t.Setenv("GOMEMLIMIT", "1GiB")
	if _, set := memoryLimit(32 << 20); set || debug.SetMemoryLimit(-1) != prev {
		t.Error("memory limit set although GOMEMLIMIT is")
	}
}
