package account

import (
	"testing"
	"time"
)

// TestThrottle drives the console's login limits directly: the source
// limit refuses one account from one address only, a usual network and a
// known device are not held back by guessing elsewhere, and a slowed
// account gets one attempt per slow interval from unusual addresses.
func TestThrottle(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	th := NewThrottle(3, 5, 4, time.Hour, time.Minute)
	fail := func(name, ip, device string) *Refusal {
		t.Helper()
		try, ref := th.Begin(name, ip, device, now)
		if ref == nil {
			try.Failed(now)
		}
		return ref
	}

	// olga logs in from her office once: its network becomes usual.
	try, ref := th.Begin("olga", "198.51.100.7", "", now)
	if ref != nil {
		t.Fatal(ref)
	}
	try.Succeeded(now, "dev-olga")

	for i := range 3 {
		if ref := fail("olga", "192.0.2.1", ""); ref != nil {
			t.Fatalf("failure %d refused: %+v", i+1, ref)
		}
	}
	if ref := fail("olga", "192.0.2.1", ""); ref == nil || ref.Scope != ScopeSource || ref.RetryAfter != time.Hour {
		t.Fatalf("fourth try from the same address: %+v, want the source limit", ref)
	}
	// The same account from elsewhere, and another account from there,
	// are not refused by it.
	if ref := fail("olga", "192.0.2.2", ""); ref != nil {
		t.Errorf("olga from another address: %+v", ref)
	}
	if ref := fail("kim", "192.0.2.1", ""); ref != nil {
		t.Errorf("kim from the guessing address: %+v", ref)
	}
	// The address reaches its limit over all accounts (5 failures).
	if ref := fail("lee", "192.0.2.1", ""); ref != nil {
		t.Errorf("fifth failure from one address: %+v", ref)
	}
	if ref := fail("max", "192.0.2.1", ""); ref == nil || ref.Scope != ScopeIP || !ref.Alert {
		t.Errorf("sixth failure from one address: %+v, want the ip limit, alerting", ref)
	}
	// olga's account has 4 failures from unusual addresses: slowed.
	try, ref = th.Begin("olga", "192.0.2.3", "", now)
	if ref != nil || !try.SlowedNow {
		t.Fatalf("first slowed attempt: %+v %+v", try, ref)
	}
	try.Failed(now)
	if _, ref := th.Begin("olga", "192.0.2.4", "", now); ref == nil || ref.Scope != ScopeAccount || ref.RetryAfter != time.Minute {
		t.Errorf("second attempt while slowed: %+v", ref)
	}
	// Her usual network and her known device are not slowed.
	if try, ref := th.Begin("olga", "198.51.100.99", "", now); ref != nil {
		t.Errorf("from her usual network: %+v", ref)
	} else {
		try.Forget()
	}
	if try, ref := th.Begin("olga", "192.0.2.1", "dev-olga", now); ref != nil {
		t.Errorf("her device behind the guessing address: %+v", ref)
	} else {
		try.Forget()
	}
	// An hour later the window has passed.
	if _, ref := th.Begin("olga", "192.0.2.1", "", now.Add(time.Hour)); ref != nil {
		t.Errorf("after the window: %+v", ref)
	}
}
