package sqlstore

import (
	"errors"
	"strings"
	"testing"

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// A verdict as an early version stored it still reads; one that does not
// decode fails the scan with the message's ID; a sealed value is kept.
func TestVerdictColumn(t *testing.T) {
	t.Parallel()
	const old = `{"action":"hold","reasons":[{"rule":"share-link-unknown-recipient","action":"hold","detail":"d"}],"links":[],"recipients":[{"addr":"a@b.example","class":"unknown"}],"unknown":["a@b.example"]}`
	for _, src := range []any{[]byte(old), old} {
		m := &store.Message{}
		m.ID = "m1"
		if err := Verdict(m).Scan(src); err != nil {
			t.Fatal(err)
		}
		if m.Verdict == nil || m.Verdict.Action != verdict.Hold || m.Verdict.Recipients[0].Class != verdict.Unknown ||
			m.Verdict.Rules()[0] != "share-link-unknown-recipient" || m.SealedVerdict != nil {
			t.Fatalf("scanned %T: %+v", src, m.Verdict)
		}
		v, err := Verdict(m).Value()
		if err != nil {
			t.Fatal(err)
		}
		again := &store.Message{}
		if err := Verdict(again).Scan(v); err != nil || again.Verdict.Reasons[0].Detail != "d" {
			t.Fatalf("round trip: %v %+v", err, again.Verdict)
		}
	}

	m := &store.Message{Verdict: &verdict.Verdict{Action: verdict.Pass}}
	if err := Verdict(m).Scan(nil); err != nil || m.Verdict != nil {
		t.Errorf("NULL: %v, %+v", err, m.Verdict)
	}
	if v, err := Verdict(m).Value(); v != nil || err != nil {
		t.Errorf("no verdict is stored as %v, %v; want NULL", v, err)
	}

	m.ID = "m2"
	err := Verdict(m).Scan([]byte(`{"action":`))
	if !errors.Is(err, verdict.ErrDecode) || m.Verdict != nil {
		t.Errorf("bad verdict: %v, %+v", err, m.Verdict)
	}
	if err == nil || !strings.Contains(err.Error(), "m2") {
		t.Errorf("error %v does not name the message", err)
	}

	buf := []byte("sealed1:AAEC")
	if err := Verdict(m).Scan(buf); err != nil || string(m.SealedVerdict) != "sealed1:AAEC" || m.Verdict != nil {
		t.Errorf("sealed: %v, %q", err, m.SealedVerdict)
	}
	buf[0] = 'x' // the driver reuses its buffer
	if v, _ := Verdict(m).Value(); string(v.([]byte)) != "sealed1:AAEC" {
		t.Errorf("sealed value stored as %q", v)
	}
}
