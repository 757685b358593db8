package sharelink

import (
	"strings"

	"github.com/egressguard/egressguard/internal/mailaddr"
)

// asciiHost returns h lower-cased, without a trailing dot, with Unicode
// labels converted to A-labels. ok is false when h cannot be converted.
func asciiHost(h string) (string, bool) {
	h = strings.TrimSpace(h)
	if !plausibleLength(h) {
		return "", false
	}
	ascii := true
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		h = normalizeHost(h)
		return h, !strings.ContainsAny(h, " /\\?#@")
	}
	// The one IDNA profile, with the message package's stable form for
	// the names it rejects (underscores and other characters real-world
	// hosts carry), so that a catalogue host and a link's host convert
	// alike.
	a := mailaddr.LenientASCII(h)
	if len(a) > 254 || strings.ContainsAny(a, " /\\?#@") {
		return "", false
	}
	for i := 0; i < len(a); i++ {
		if a[i] >= 0x80 {
			return "", false
		}
	}
	return normalizeHost(a), true
}

// plausibleLength rejects names that cannot become a valid host (253
// octets, labels of 63) even in their shortest A-label form. It bounds the
// IDNA conversion, which is quadratic in a label's length.
func plausibleLength(h string) bool {
	if len(h) > 1024 {
		return false
	}
	for len(h) > 0 {
		label, rest, _ := strings.Cut(h, ".")
		if len(label) > 63*4 {
			return false
		}
		h = rest
	}
	return true
}
