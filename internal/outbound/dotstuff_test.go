package outbound

import (
	"bufio"
	"bytes"
	"io"
	"net/textproto"
	"strings"
	"testing"
)

// textprotoData is the reference: body written through net/textproto's
// DotWriter in the given pieces, closed.
func textprotoData(pieces ...[]byte) []byte {
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	w := textproto.NewWriter(bw).DotWriter()
	for _, p := range pieces {
		w.Write(p)
	}
	w.Close()
	return out.Bytes()
}

// viaWriteData is body sent as transact sends it: writeData onto the
// connection's buffer, the last line through a DotWriter standing in for
// go-smtp's DataCommand on the same connection, then its Close.
func viaWriteData(t testing.TB, body []byte, bufSize int) []byte {
	var out bytes.Buffer
	dc := textproto.NewWriter(bufio.NewWriter(&out)).DotWriter()
	if err := writeData(bufio.NewWriterSize(&out, bufSize), dc, body); err != nil {
		t.Fatal(err)
	}
	if err := dc.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestWriteData(t *testing.T) {
	t.Parallel()
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
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ref := string(textprotoData([]byte(c.body)))
			if ref != c.want {
				t.Fatalf("textproto writes %q, the case expects %q", ref, c.want)
			}
			for _, size := range []int{16, 4096} {
				if got := string(viaWriteData(t, []byte(c.body), size)); got != c.want {
					t.Errorf("buffer %d: got %q, want %q", size, got, c.want)
				}
			}
		})
	}
}

// TestDotStufferPieces writes the same input cut at every point: the state
// carries over between writes.
func TestDotStufferPieces(t *testing.T) {
	t.Parallel()
	in := []byte(".a\r\n.\r\nb\rc\r\r\n\n.\nd.\r\n..e\r\n")
	for i := 0; i <= len(in); i++ {
		for j := i; j <= len(in); j++ {
			want := textprotoPieces(in[:i], in[i:j], in[j:])
			if got := stufferPieces(t, in[:i], in[i:j], in[j:]); !bytes.Equal(got, want) {
				t.Fatalf("cut at %d, %d: got %q, want %q", i, j, got, want)
			}
		}
	}
}

// textprotoPieces is what textproto's DotWriter writes for the pieces,
// without its end-of-data line.
func textprotoPieces(pieces ...[]byte) []byte {
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	w := textproto.NewWriter(bw).DotWriter()
	for _, p := range pieces {
		w.Write(p)
	}
	bw.Flush()
	return out.Bytes()
}

func stufferPieces(t testing.TB, pieces ...[]byte) []byte {
	var out bytes.Buffer
	bw := bufio.NewWriterSize(&out, 16)
	d := dotStuffer{w: bw}
	for _, p := range pieces {
		if n, err := d.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write: %d of %d, %v", n, len(p), err)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// failAfter accepts n bytes, then fails.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		n := f.n
		f.n = 0
		return n, io.ErrClosedPipe
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriteDataError(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte(".line\r\n"), 10000)
	var sink bytes.Buffer
	dc := textproto.NewWriter(bufio.NewWriter(&sink)).DotWriter()
	err := writeData(bufio.NewWriterSize(&failAfter{n: 1000}, 64), dc, body)
	if err != io.ErrClosedPipe {
		t.Fatalf("got %v, want %v", err, io.ErrClosedPipe)
	}
	if sink.Len() != 0 {
		t.Errorf("the last line went out after a failed write: %q", sink.Bytes())
	}
}

// FuzzDotStuffer holds writeData and dotStuffer to textproto's output for
// any input, CRLF-only or not, cut into two writes anywhere.
func FuzzDotStuffer(f *testing.F) {
	for _, s := range []string{"", ".", "\r\n", ".\r\n", "a\r\n.\r\nb", "a\nb\r\rc\r\n.", "..\r\n\r\n.\r\r\n", string(trickyBody)} {
		f.Add([]byte(s), uint16(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, cut uint16) {
		if want, got := textprotoData(body), viaWriteData(t, body, 16); !bytes.Equal(got, want) {
			t.Fatalf("writeData: got %q, want %q", got, want)
		}
		i := min(int(cut), len(body))
		if want, got := textprotoPieces(body[:i], body[i:]), stufferPieces(t, body[:i], body[i:]); !bytes.Equal(got, want) {
			t.Fatalf("dotStuffer cut at %d: got %q, want %q", i, got, want)
		}
	})
}

// BenchmarkWriteData compares sending a 100 KB message's data through
// textproto's DotWriter (go-smtp's way) and through writeData.
func BenchmarkWriteData(b *testing.B) {
	line := "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq\r\n"
	body := []byte("From: a@example.com\r\nSubject: bench\r\n\r\n" + strings.Repeat(line, (100<<10)/len(line)) + ".dot\r\n")
	b.Run("textproto", func(b *testing.B) {
		bw := bufio.NewWriter(io.Discard)
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			w := textproto.NewWriter(bw).DotWriter()
			w.Write(body)
			w.Close()
		}
	})
	b.Run("writeData", func(b *testing.B) {
		bw := bufio.NewWriter(io.Discard)
		conn := bufio.NewWriterSize(io.Discard, dataBufSize)
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			w := textproto.NewWriter(bw).DotWriter()
			writeData(conn, w, body)
			w.Close()
		}
	})
}
