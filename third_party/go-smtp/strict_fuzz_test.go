package smtp

import (
	"bytes"
	"errors"
	"testing"
)

// hasBareCRLF reports whether raw has a CR not followed by LF or an LF not
// preceded by CR.
func hasBareCRLF(raw []byte) bool {
	for i, c := range raw {
		switch {
		case c == '\r' && i+1 < len(raw) && raw[i+1] != '\n':
			return true
		case c == '\n' && (i == 0 || raw[i-1] != '\r'):
			return true
		}
	}
	return false
}

// FuzzStrictDataReader compares the strict reader with the default one (of
// v0.25.1, refDataRead): where the strict reader finds no bare CR or LF, it
// yields the same message, the same error and leaves the same bytes
// unread; where it finds one, the bytes it consumed have one, and what it
// yielded before is what the default reader yields.
func FuzzStrictDataReader(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", "..a\r\n.\r\nQUIT\r\n", "a\n.\n\r\n.\r\n", "x\r\r\n.\rX\r\n.\r\n",
		"abc", "a\r\n.\rX\r\n.\r\n", "\r\n.\r\n", ".\r\n", "a\r"} {
		f.Add([]byte(s), uint8(16), uint8(5))
	}
	f.Fuzz(func(t *testing.T, in []byte, bufSize, step uint8) {
		bs, st := int(bufSize)%64+16, int(step)%37+1
		wo, we, wr := readAllWith(in, bs, st, refDataRead)
		strict := func(r *dataReader, b []byte) (int, error) {
			r.strict = true
			return r.Read(b)
		}
		so, se, sr := readAllWith(in, bs, st, strict)
		if errors.Is(se, ErrBareCR) || errors.Is(se, ErrBareLF) {
			consumed := in[:len(in)-len(sr)]
			if !hasBareCRLF(consumed) {
				t.Fatalf("in %q: %v, but none in %q", in, se, consumed)
			}
			if !bytes.HasPrefix(wo, so) {
				t.Fatalf("in %q: strict yielded %q before %v, the default %q", in, so, se, wo)
			}
			return
		}
		if hasBareCRLF(in[:len(in)-len(sr)]) {
			t.Fatalf("in %q: bare CR or LF in %q not found (%v)", in, in[:len(in)-len(sr)], se)
		}
		if !bytes.Equal(wo, so) || we != se || !bytes.Equal(wr, sr) {
			t.Fatalf("in %q: strict %q %v rest %q, default %q %v rest %q", in, so, se, sr, wo, we, wr)
		}
	})
}
