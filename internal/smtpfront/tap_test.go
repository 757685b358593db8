package smtpfront

import (
	"bytes"
	"errors"
	"testing"
)

func TestDataScan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw   string
		out   int64 // unstuffed bytes before the end
		ended bool
		err   error
	}{
		{".\r\n", 0, true, nil},
		{"a\r\n.\r\n", 3, true, nil},
		{"a\r\n.\r\nMAIL FROM:<x>\n", 3, true, nil}, // after the end: not looked at
		{"..\r\n.\r\n", 3, true, nil},               // stuffed dot
		{".a\r\n.\r\n", 3, true, nil},               // leading dot removed
		{"\r\n\r\n.\r\n", 4, true, nil},
		{"a\r\n.", 3, false, nil},
		{"a\r\n.\r", 3, false, nil},
		{"a\r", 2, false, nil},
		{"a\n", 1, false, errBareLF},
		{"a\r\n.\n", 3, false, errBareLF},
		{"a\n.\r\n", 1, false, errBareLF},
		{"a\n.\n", 1, false, errBareLF},
		{"a\r.\r", 2, false, errBareCR},
		{"a\r\n.\rX\r\n", 3, false, errBareCR}, // go-smtp would drop this CR
		{"a\r\n.\r\r\n.\r\n", 3, false, errBareCR},
		{"\n", 0, false, errBareLF},
		{".\n", 0, false, errBareLF},
		{"a\r\r\n", 2, false, errBareCR},
		{"\r\r\n.\r\n", 1, false, errBareCR},
	}
	for _, tt := range tests {
		var d dataScan
		d.feed([]byte(tt.raw))
		if d.out != tt.out || d.ended != tt.ended || !errors.Is(d.err, tt.err) {
			t.Errorf("%q: out=%d ended=%v err=%v, want %d %v %v", tt.raw, d.out, d.ended, d.err, tt.out, tt.ended, tt.err)
		}
		// Byte by byte gives the same result.
		var e dataScan
		for i := range len(tt.raw) {
			e.feed([]byte{tt.raw[i]})
		}
		if e != d {
			t.Errorf("%q: byte by byte %+v, at once %+v", tt.raw, e, d)
		}
	}
}

// refScan is a line-based reference for dataScan.
func refScan(raw []byte) (out int64, ended bool, err error) {
	for len(raw) > 0 {
		nl := bytes.IndexByte(raw, '\n')
		cr := bytes.IndexByte(raw, '\r')
		if nl < 0 {
			if cr >= 0 && cr < len(raw)-1 {
				return out, false, errBareCR
			}
			switch string(raw) {
			case ".", ".\r":
				return out, false, nil
			}
			if raw[0] == '.' {
				out--
			}
			return out + int64(len(raw)), false, nil
		}
		if cr >= 0 && cr < nl-1 {
			return out, false, errBareCR
		}
		if nl == 0 || raw[nl-1] != '\r' {
			return out, false, errBareLF
		}
		line := raw[:nl+1]
		if string(line) == ".\r\n" {
			return out, true, nil
		}
		out += int64(len(line))
		if line[0] == '.' {
			out--
		}
		raw = raw[nl+1:]
	}
	return out, false, nil
}

// FuzzDataScan compares the scanner, fed in arbitrary pieces, with the
// reference. Output counts are compared only without a violation.
func FuzzDataScan(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", "..\r\n.\r\n", "a\n.\n", "\r\n.\rX", ".\r", "x\r\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n"} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, raw []byte, step uint8) {
		n := int(step%16) + 1
		var d dataScan
		for p := raw; len(p) > 0; {
			k := min(n, len(p))
			d.feed(p[:k])
			p = p[k:]
		}
		out, ended, err := refScan(raw)
		if !errors.Is(d.err, err) || d.ended != ended || (err == nil && d.out != out) {
			t.Fatalf("%q: scanner out=%d ended=%v err=%v; reference %d %v %v", raw, d.out, d.ended, d.err, out, ended, err)
		}
	})
}

func TestCheckLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		data string
		max  int
		want error
	}{
		{"", 0, nil},
		{"a\r\nb\r\n", 0, nil},
		{"a\r\nb", 0, nil}, // BDAT may end without CRLF
		{"a\nb\r\n", 0, errBareLF},
		{"\n", 0, errBareLF},
		{"a\rb\r\n", 0, errBareCR},
		{"a\r\nb\r", 0, errBareCR},
		{"a\r\r\n", 0, errBareCR},
		{"abc\r\n", 5, nil},
		{"abcd\r\n", 5, errLongLine},
		{"abcdef", 5, errLongLine},
	}
	for _, tt := range tests {
		if got := checkLines([]byte(tt.data), tt.max); !errors.Is(got, tt.want) {
			t.Errorf("checkLines(%q, %d) = %v, want %v", tt.data, tt.max, got, tt.want)
		}
	}
}

// BenchmarkDataScan scans 100 KB of DATA as the relay benchmark sends it
// (80-octet lines), in the 4 KB pieces go-smtp's reader pulls.
func BenchmarkDataScan(b *testing.B) {
	line := []byte("1" + string(bytes.Repeat([]byte("X"), 77)) + "\r\n")
	raw := append(bytes.Repeat(line, 100000/len(line)), ".\r\n"...)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var d dataScan
		for p := raw; len(p) > 0 && !d.done(); {
			k := min(4096, len(p))
			d.feed(p[:k])
			p = p[k:]
		}
		if !d.ended {
			b.Fatal("end of data not found")
		}
	}
}
