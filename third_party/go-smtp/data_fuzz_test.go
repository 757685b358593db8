package smtp

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// refDataRead is the byte-at-a-time reader of v0.25.1.
func refDataRead(r *dataReader, b []byte) (n int, err error) {
	const (
		stateBeginLine = iota
		stateDot
		stateDotCR
		stateCR
		stateData
		stateEOF
	)
	for n < len(b) && r.state != stateEOF {
		var c byte
		c, err = r.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			break
		}
		switch r.state {
		case stateBeginLine:
			if c == '.' {
				r.state = stateDot
				continue
			}
			if c == '\r' {
				r.state = stateCR
				break
			}
			r.state = stateData
		case stateDot:
			if c == '\r' {
				r.state = stateDotCR
				continue
			}
			r.state = stateData
		case stateDotCR:
			if c == '\n' {
				r.state = stateEOF
				continue
			}
			r.state = stateData
		case stateCR:
			if c == '\n' {
				r.state = stateBeginLine
				break
			}
			r.state = stateData
		case stateData:
			if c == '\r' {
				r.state = stateCR
			}
		}
		b[n] = c
		n++
	}
	if err == nil && r.state == stateEOF {
		err = io.EOF
	}
	return
}

func readAllWith(in []byte, bufSize, step int, read func(*dataReader, []byte) (int, error)) ([]byte, error, []byte) {
	br := bufio.NewReaderSize(bytes.NewReader(in), bufSize)
	r := &dataReader{r: br}
	var out []byte
	buf := make([]byte, step)
	var err error
	for {
		var n int
		n, err = read(r, buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	rest, _ := io.ReadAll(br)
	return out, err, rest
}

func FuzzDataReader(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", "..a\r\n.\r\nQUIT\r\n", "a\n.\n\r\n.\r\n", "x\r\r\n.\rX\r\n.\r\n", "abc"} {
		f.Add([]byte(s), uint8(16), uint8(5))
	}
	f.Fuzz(func(t *testing.T, in []byte, bufSize, step uint8) {
		bs, st := int(bufSize)%64+16, int(step)%37+1
		wo, we, wr := readAllWith(in, bs, st, refDataRead)
		go_, ge, gr := readAllWith(in, bs, st, (*dataReader).Read)
		if !bytes.Equal(wo, go_) || we != ge || !bytes.Equal(wr, gr) {
			t.Fatalf("in %q: got %q %v rest %q, want %q %v rest %q", in, go_, ge, gr, wo, we, wr)
		}
	})
}
