package sharelink

import (
	"strings"

	"golang.org/x/net/idna"
)

// idnaProfile maps Unicode host names to A-labels the way a browser's
// address bar does (UTS #46 non-transitional), but accepts the underscores
// and other characters real-world hosts carry. It holds no state.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
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
	a, err := idnaProfile.ToASCII(h)
	if err != nil || len(a) > 254 {
		return "", false
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
