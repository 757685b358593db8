package tz

import (
	"testing"
	"time"
)

func TestLabelled(t *testing.T) {
	z, err := Load("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 12, 37, 0, 0, time.UTC)
	if got, want := z.Minute(at), "2026-12-02 21:37 JST (+09:00)"; got != want {
		t.Errorf("Minute = %q, want %q", got, want)
	}
	if got, want := z.Second(at), "2026-12-02 21:37:00 JST (+09:00)"; got != want {
		t.Errorf("Second = %q, want %q", got, want)
	}
	k, _ := Load("Asia/Kolkata")
	if got, want := k.Minute(at), "2026-12-02 18:07 IST (+05:30)"; got != want {
		t.Errorf("Kolkata = %q, want %q", got, want)
	}
	d, _ := Load("Asia/Dubai") // no abbreviation in the database: "+04"
	if got, want := d.Label(at), "UTC+04:00"; got != want {
		t.Errorf("Dubai label = %q, want %q", got, want)
	}
	if _, err := Load("Mars/Olympus"); err == nil {
		t.Error("unknown zone accepted")
	}
	if p, err := z.Parse("2026-12-02T21:37"); err != nil || !p.Equal(at) {
		t.Errorf("Parse = %v %v", p, err)
	}
	if _, err := z.Parse("yesterday"); err == nil {
		t.Error("bad time accepted")
	}
}
