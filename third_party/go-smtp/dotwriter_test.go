package smtp

import (
	"bufio"
	"bytes"
	"io"
	"net/textproto"
	"strings"
	"testing"
)

// FuzzDotWriter compares dotWriter with net/textproto's DotWriter, the
// input split into writes at two fuzzed places.
func FuzzDotWriter(f *testing.F) {
	for _, s := range []string{"", "a\r\n", "a\r\nb", ".a\r\n.\r\n", "a\nb\n", "a\rb\r\n", "a\r\r\nb\r", "..\r\n...\r\n"} {
		f.Add([]byte(s), uint16(1), uint16(3), uint8(16))
	}
	f.Fuzz(func(t *testing.T, in []byte, cut1, cut2 uint16, bufSize uint8) {
		a, b := int(cut1), int(cut2)
		if a > len(in) {
			a = len(in)
		}
		if b < a {
			b = a
		}
		if b > len(in) {
			b = len(in)
		}
		pieces := [][]byte{in[:a], in[a:b], in[b:]}

		var want bytes.Buffer
		tw := textproto.NewWriter(bufio.NewWriter(&want)).DotWriter()
		for _, p := range pieces {
			tw.Write(p)
		}
		tw.Close()

		var got bytes.Buffer
		dw := &dotWriter{w: bufio.NewWriterSize(&got, int(bufSize)%64+16)}
		for _, p := range pieces {
			if n, err := dw.Write(p); n != len(p) || err != nil {
				t.Fatalf("Write: %d, %v", n, err)
			}
		}
		if err := dw.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("in %q %v: got %q, want %q", in, pieces, got.Bytes(), want.Bytes())
		}

		// ReadFrom, through a reader that is no io.WriterTo.
		got.Reset()
		cmd := &DataCommand{wc: &dotWriter{w: bufio.NewWriterSize(&got, 16)}}
		if _, err := cmd.ReadFrom(io.MultiReader(bytes.NewReader(in))); err != nil {
			t.Fatal(err)
		}
		cmd.wc.Close()
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("ReadFrom %q: got %q, want %q", in, got.Bytes(), want.Bytes())
		}
	})
}

// TestDotWriter holds dotWriter to what textproto's DotWriter writes, for
// whole bodies and for the same body cut at every point.
func TestDotWriter(t *testing.T) {
	long := strings.Repeat("y", 5000)
	cases := []struct {
		name, body, want string
	}{
		{"empty", "", "\r\n.\r\n"},
		{"one line", "a\r\n", "a\r\n.\r\n"},
		{"no final CRLF", "a\r\nb", "a\r\nb\r\n.\r\n"},
		{"only CRLF", "\r\n", "\r\n.\r\n"},
		{"empty lines", "\r\n\r\n", "\r\n\r\n.\r\n"},
		{"leading dot first line", ".a\r\nb\r\n", "..a\r\nb\r\n.\r\n"},
		{"lone dot first line", ".\r\n", "..\r\n.\r\n"},
		{"lone dot inside", "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},
		{"lone dot last line", "a\r\n.\r\n", "a\r\n..\r\n.\r\n"},
		{"dot last line no CRLF", "a\r\n.", "a\r\n..\r\n.\r\n"},
		{"dots in a row", "..\r\n...\r\n", "...\r\n....\r\n.\r\n"},
		{"dot inside a line", "a.b\r\n x.\r\n", "a.b\r\n x.\r\n.\r\n"},
		{"dot after CR inside a line", "a\r.b\r\n", "a\r.b\r\n.\r\n"},
		{"every line dotted", ".a\r\n.b\r\n.c\r\n", "..a\r\n..b\r\n..c\r\n.\r\n"},
		{"long lines", long + "\r\n." + long + "\r\n", long + "\r\n.." + long + "\r\n.\r\n"},
		// Not produced by the front end; written as textproto writes them.
		{"bare LF", "a\nb\n", "a\r\nb\r\n.\r\n"},
		{"bare LF then dot", "a\n.b\n", "a\r\n..b\r\n.\r\n"},
		{"bare CR", "a\rb\r\n", "a\rb\r\n.\r\n"},
		{"CR CR LF", "a\r\r\nb\r\n", "a\r\r\r\nb\r\n.\r\n"},
		{"final CR", "a\r\nb\r", "a\r\nb\r\n.\r\n"},
	}
	for _, c := range cases {
		var want bytes.Buffer
		tw := textproto.NewWriter(bufio.NewWriter(&want)).DotWriter()
		tw.Write([]byte(c.body))
		tw.Close()
		if want.String() != c.want {
			t.Fatalf("%s: textproto writes %q, the case expects %q", c.name, want.String(), c.want)
		}
		for _, size := range []int{16, 4096} {
			var got bytes.Buffer
			dw := &dotWriter{w: bufio.NewWriterSize(&got, size)}
			dw.Write([]byte(c.body))
			dw.Close()
			if got.String() != c.want {
				t.Errorf("%s, buffer %d: got %q, want %q", c.name, size, got.String(), c.want)
			}
		}
	}
	in := []byte(".a\r\n.\r\nb\rc\r\r\n\n.\nd.\r\n..e\r\n")
	for i := 0; i <= len(in); i++ {
		for j := i; j <= len(in); j++ {
			var want, got bytes.Buffer
			tw := textproto.NewWriter(bufio.NewWriter(&want)).DotWriter()
			dw := &dotWriter{w: bufio.NewWriterSize(&got, 16)}
			for _, p := range [][]byte{in[:i], in[i:j], in[j:]} {
				tw.Write(p)
				dw.Write(p)
			}
			tw.Close()
			dw.Close()
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("cut at %d, %d: got %q, want %q", i, j, got.Bytes(), want.Bytes())
			}
		}
	}
}

// BenchmarkDotWriter compares sending a 100 KB message's data through
// textproto's DotWriter and through dotWriter.
func BenchmarkDotWriter(b *testing.B) {
	line := "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq\r\n"
	body := []byte("From: a@example.com\r\nSubject: bench\r\n\r\n" + strings.Repeat(line, (100<<10)/len(line)) + ".dot\r\n")
	b.Run("textproto", func(b *testing.B) {
		bw := bufio.NewWriter(io.Discard)
		b.SetBytes(int64(len(body)))
		for i := 0; i < b.N; i++ {
			w := textproto.NewWriter(bw).DotWriter()
			w.Write(body)
			w.Close()
		}
	})
	b.Run("dotWriter", func(b *testing.B) {
		bw := bufio.NewWriter(io.Discard)
		b.SetBytes(int64(len(body)))
		for i := 0; i < b.N; i++ {
			w := &dotWriter{w: bw}
			w.Write(body)
			w.Close()
		}
	})
}
