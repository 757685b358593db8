package main

import (
	"runtime/debug"
	"testing"
)

// serve sets the Go memory limit from the budget, at least 128 MiB, and
// leaves it alone when GOMEMLIMIT is set; with the limit, GOGC becomes 400
// unless the environment sets it.
func TestMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(prev)
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")
	for _, tt := range []struct{ budget, want int64 }{{32 << 20, 128 << 20}, {64 << 20, 256 << 20}, {1 << 20, 128 << 20}} {
		debug.SetGCPercent(100)
		got, set := memoryLimit(tt.budget)
		if !set || got != tt.want || debug.SetMemoryLimit(-1) != tt.want {
			t.Errorf("budget %d: limit %d (set %v), runtime %d; want %d", tt.budget, got, set, debug.SetMemoryLimit(-1), tt.want)
		}
		if gcPercent() != 400 {
			t.Errorf("budget %d: GOGC %d; want 400", tt.budget, gcPercent())
		}
	}

	debug.SetMemoryLimit(prev)
	debug.SetGCPercent(100)
	t.Setenv("GOGC", "50")
	if _, set := memoryLimit(32 << 20); !set || gcPercent() != 100 {
		t.Errorf("GOGC %d (limit set %v) although the environment sets GOGC; want it left alone", gcPercent(), set)
	}

	debug.SetMemoryLimit(prev)
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "1GiB")
	if _, set := memoryLimit(32 << 20); set || debug.SetMemoryLimit(-1) != prev || gcPercent() != 100 {
		t.Error("memory limit or GOGC set although GOMEMLIMIT is")
	}
}
