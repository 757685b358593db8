package lookalike

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// confusablesTxt is Unicode's confusables.txt (UTS #39, "Unicode Security
// Mechanisms"), unchanged. Its header names the Unicode version
// (UnicodeVersion checks it). To update: replace the file with the one
// of the new Unicode version from the Unicode Consortium's security data
// directory and run the package's tests, which check the header and a
// few well-known mappings.
//
//go:embed data/confusables.txt
var confusablesTxt string

// table maps a code point to its prototype (one or more code points), as
// confusables.txt lists it.
type table struct {
	version string
	proto   map[rune]string
	// ascii is proto for the ASCII range, as an array for the fast path;
	// "" means the byte is its own prototype.
	ascii [128]string
}

var loadTable = sync.OnceValue(func() *table {
	t, err := parseConfusables(confusablesTxt)
	if err != nil {
		// The file is part of the program; a broken one is a build defect
		// that the package's tests catch.
		panic(err)
	}
	return t
})

// parseConfusables reads lines "SRC ; TARGET ; MA # comment", SRC one code
// point and TARGET one or more, in hexadecimal.
func parseConfusables(s string) (*table, error) {
	t := &table{proto: make(map[rune]string, 6600)}
	for n, line := range strings.Split(s, "\n") {
		line = strings.TrimPrefix(line, "\ufeff")
		if v, ok := strings.CutPrefix(line, "# Version: "); ok {
			t.version = strings.TrimSpace(v)
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, ";")
		if len(f) < 3 {
			return nil, fmt.Errorf("lookalike: confusables.txt line %d: want 3 fields", n+1)
		}
		src, err := strconv.ParseUint(strings.TrimSpace(f[0]), 16, 32)
		if err != nil {
			return nil, fmt.Errorf("lookalike: confusables.txt line %d: %w", n+1, err)
		}
		var b strings.Builder
		for _, h := range strings.Fields(f[1]) {
			r, err := strconv.ParseUint(h, 16, 32)
			if err != nil {
				return nil, fmt.Errorf("lookalike: confusables.txt line %d: %w", n+1, err)
			}
			b.WriteRune(rune(r))
		}
		t.proto[rune(src)] = b.String()
	}
	if len(t.proto) < 1000 || t.version == "" {
		return nil, fmt.Errorf("lookalike: confusables.txt: %d mappings, version %q: not the Unicode file", len(t.proto), t.version)
	}
	for c := range 128 {
		t.ascii[c] = t.proto[rune(c)]
	}
	return t, nil
}

// UnicodeVersion is the version of the confusables data in use.
func UnicodeVersion() string { return loadTable().version }

// Skeleton returns the UTS #39 skeleton of s: NFD, every character
// replaced by its prototype, NFD again. Two strings are visually
// confusable when their skeletons are equal ("pаypal" with a Cyrillic а
// and "paypal"; "rn" and "m"; "1" and "l").
func Skeleton(s string) string {
	t := loadTable()
	if isASCII(s) {
		// ASCII is its own NFD; only the table applies.
		var b strings.Builder
		b.Grow(len(s) + 4)
		for i := 0; i < len(s); i++ {
			if p := t.ascii[s[i]]; p != "" {
				b.WriteString(p)
			} else {
				b.WriteByte(s[i])
			}
		}
		return b.String()
	}
	d := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		if r == utf8.RuneError {
			b.WriteRune(r)
			continue
		}
		if p, ok := t.proto[r]; ok {
			b.WriteString(p)
		} else {
			b.WriteRune(r)
		}
	}
	return norm.NFD.String(b.String())
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
