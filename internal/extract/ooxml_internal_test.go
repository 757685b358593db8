package extract

import (
	"strconv"
	"testing"
)

// TestIndex holds the shared-string index reader to strconv.Atoi.
func TestIndex(t *testing.T) {
	for _, in := range []string{"0", "7", "+7", "-0", "-7", "0007", "", "+", "-", "1a", " 1", "123456789012345678",
		"1234567890123456789", "00000000000000000000000012", "9223372036854775807", "99999999999999999999"} {
		n, err := strconv.Atoi(in)
		want := err == nil && n >= 0 && n < 1e18
		got, ok := index([]byte(in))
		if ok != want || ok && got != n {
			t.Errorf("index(%q) = %d, %v; Atoi: %d, %v", in, got, ok, n, err)
		}
	}
}

// FuzzTagEnd holds tagEnd's fast path to the byte-at-a-time reading.
func FuzzTagEnd(f *testing.F) {
	for _, s := range []string{`<c r="A1" t="s">`, `<a b='>'>`, `<a b="it's">x`, `<a b=">">`, `<a "">`, `<a`, `<a b="x>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := tagEnd(b), tagEndQuoted(b); got != want {
			t.Fatalf("tagEnd(%q) = %d, byte at a time %d", b, got, want)
		}
	})
}
