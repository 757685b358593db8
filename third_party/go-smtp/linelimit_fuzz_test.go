package smtp

import (
	"bytes"
	"testing"
)

type refLineLimit struct {
	limit, cur int
}

func (r *refLineLimit) feed(b []byte) bool {
	if r.cur > r.limit {
		return false
	}
	for _, chr := range b {
		if chr == '\n' {
			r.cur = 0
		}
		r.cur++
		if r.cur > r.limit {
			return false
		}
	}
	return true
}

func FuzzLineLimit(f *testing.F) {
	f.Add([]byte("abc\r\ndefgh\r\n\n\nxyz"), uint8(4), uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, limit, step uint8) {
		lim, st := int(limit)%20+1, int(step)%7+1
		ref := &refLineLimit{limit: lim}
		lr := &lineLimitReader{R: bytes.NewReader(in), LineLimit: lim}
		buf := make([]byte, st)
		for off := 0; off < len(in); off += st {
			end := off + st
			if end > len(in) {
				end = len(in)
			}
			want := ref.feed(in[off:end])
			n, err := lr.Read(buf)
			got := err == nil
			if got != want {
				t.Fatalf("in %q limit %d step %d at %d: ok=%v, want %v (n=%d)", in, lim, st, off, got, want, n)
			}
			if !want {
				return
			}
		}
	})
}
