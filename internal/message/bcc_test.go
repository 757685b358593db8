package message

import (
	"bytes"
	"strings"
	"testing"
)

func internalOnly(addr string) bool { return strings.HasSuffix(strings.ToLower(addr), "@example.jp") }

func TestMoveToBcc(t *testing.T) {
	t.Parallel()
	body := "\r\nbody line\r\nTo: not-a-header@x.example\r\n"
	cases := []struct {
		name, head, want string
		moved            []string
		undisclosed      bool
	}{
		{
			name:  "nothing external",
			head:  "From: a@example.jp\r\nTo: b@example.jp\r\nCc: c@EXAMPLE.jp\r\n",
			want:  "From: a@example.jp\r\nTo: b@example.jp\r\nCc: c@EXAMPLE.jp\r\n",
			moved: nil,
		},
		{
			name:        "To empties",
			head:        "From: a@example.jp\r\nTo: x@one.example,\r\n\ty@two.example\r\nSubject: s\r\n",
			want:        "From: a@example.jp\r\nTo: undisclosed-recipients:;\r\nSubject: s\r\n",
			moved:       []string{"x@one.example", "y@two.example"},
			undisclosed: true,
		},
		{
			name:  "Cc empties and goes",
			head:  "To: b@example.jp\r\ncc: Zed <z@three.example>\r\nSubject: s\r\n",
			want:  "To: b@example.jp\r\nSubject: s\r\n",
			moved: []string{"z@three.example"},
		},
		{
			name:  "mixed, encoded name kept",
			head:  "To: =?UTF-8?B?5bGx55Sw?= <yamada@example.jp>, x@one.example\r\nSubject: s\r\n",
			want:  "To: =?utf-8?q?=E5=B1=B1=E7=94=B0?= <yamada@example.jp>\r\nSubject: s\r\n",
			moved: []string{"x@one.example"},
		},
		{
			name:  "group flattened",
			head:  "To: Team: a@example.jp, x@one.example;\r\n",
			want:  "To: <a@example.jp>\r\n",
			moved: []string{"x@one.example"},
		},
		{
			name:        "empty group stays",
			head:        "To: undisclosed-recipients:;\r\nBcc: x@one.example\r\n",
			want:        "To: undisclosed-recipients:;\r\nBcc: x@one.example\r\n",
			moved:       nil,
			undisclosed: false,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := []byte(c.head + body)
			rw, err := MoveToBcc(in, internalOnly)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(rw.Data); got != c.want+body {
				t.Errorf("got\n%q\nwant\n%q", got, c.want+body)
			}
			if strings.Join(rw.Moved, ",") != strings.Join(c.moved, ",") || rw.Undisclosed != c.undisclosed {
				t.Errorf("moved %v undisclosed %v", rw.Moved, rw.Undisclosed)
			}
			if len(c.moved) == 0 && &rw.Data[0] != &in[0] {
				t.Error("unchanged message was copied")
			}
		})
	}
}

func TestMoveToBccLongListFolds(t *testing.T) {
	t.Parallel()
	var to []string
	for i := 0; i < 20; i++ {
		to = append(to, "person"+strings.Repeat("x", i)+"@example.jp")
	}
	in := []byte("To: " + strings.Join(to, ", ") + ", out@one.example\r\n\r\nb\r\n")
	rw, err := MoveToBcc(in, internalOnly)
	if err != nil {
		t.Fatal(err)
	}
	head := string(rw.Data[:bytes.Index(rw.Data, []byte("\r\n\r\n"))])
	for _, line := range strings.Split(head, "\r\n") {
		if len(line) > 78 {
			t.Errorf("line of %d characters: %q", len(line), line)
		}
	}
	for _, a := range to {
		if !strings.Contains(head, a) {
			t.Errorf("lost %s", a)
		}
	}
}

func TestMoveToBccUnparseable(t *testing.T) {
	t.Parallel()
	in := []byte("To: (comment) <<broken@@one.example\r\n\r\nb\r\n")
	rw, err := MoveToBcc(in, internalOnly)
	if err != ErrHeaderUnparseable || !bytes.Equal(rw.Data, in) {
		t.Errorf("err %v, data changed %v", err, !bytes.Equal(rw.Data, in))
	}
}

// FuzzMoveToBcc: never panics; the body and every field but To/Cc stay
// byte-identical; what stays in To/Cc is internal; a second pass moves
// nothing.
func FuzzMoveToBcc(f *testing.F) {
	f.Add([]byte("To: a@example.jp, x@one.example\r\nCc: y@two.example\r\nSubject: s\r\n\r\nbody\r\n"))
	f.Add([]byte("To: \"q,uoted\" <x@one.example>\r\n\r\n"))
	f.Add([]byte("to:\r\n x@one.example\r\n\r\n"))
	f.Add([]byte("To: G: ;\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		rw, err := MoveToBcc(in, internalOnly)
		if err != nil {
			return
		}
		if len(rw.Moved) == 0 {
			if !bytes.Equal(rw.Data, in) {
				t.Fatal("nothing moved but bytes changed")
			}
			return
		}
		hi, ho := headerEnd(in), headerEnd(rw.Data)
		if !bytes.Equal(in[hi:], rw.Data[ho:]) {
			t.Fatal("body changed")
		}
		rw2, err := MoveToBcc(rw.Data, internalOnly)
		if err != nil || len(rw2.Moved) != 0 {
			t.Fatalf("second pass: %v %v\n%q", err, rw2.Moved, rw.Data)
		}
	})
}
