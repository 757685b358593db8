package message

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func problemKinds(f *Facts) string {
	var k []string
	for _, p := range f.Problems {
		k = append(k, p.Kind)
	}
	return strings.Join(k, ",")
}

func TestLimits(t *testing.T) {
	t.Parallel()
	nested := func(n int) []byte {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
		}
		b.WriteString("Content-Type: text/plain\r\n\r\nhttps://app.box.com/s/deep\r\n")
		return []byte(b.String())
	}
	nestedMsg := func(n int) []byte {
		var b strings.Builder
		b.WriteString("Subject: top\r\n")
		for range n {
			b.WriteString("Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n")
		}
		b.WriteString("\r\nhttps://app.box.com/s/deep\r\n")
		return []byte(b.String())
	}
	manyParts := func(n int) []byte {
		var b strings.Builder
		b.WriteString("Content-Type: multipart/mixed; boundary=m\r\n\r\n")
		for i := range n {
			fmt.Fprintf(&b, "--m\r\n\r\npart %d\r\n", i)
		}
		b.WriteString("--m--\r\n")
		return []byte(b.String())
	}
	bigText := "Content-Type: text/plain\r\n\r\nhttps://app.box.com/s/early\r\n" + strings.Repeat("x", 2<<20) + "\r\nhttps://app.box.com/s/late\r\n"
	tests := []struct {
		name    string
		raw     []byte
		lim     Limits
		kinds   string
		present string // a link that must be found ("" for none)
	}{
		{"within depth", nested(5), Limits{}, "", "https://app.box.com/s/deep"},
		{"depth bomb", nested(5000), Limits{}, KindLimitDepth, ""},
		{"depth exact", nested(3), Limits{MaxDepth: 3}, "", "https://app.box.com/s/deep"},
		{"depth one over", nested(4), Limits{MaxDepth: 3}, KindLimitDepth, ""},
		{"message nesting bomb", nestedMsg(3000), Limits{}, KindLimitDepth, ""},
		{"parts bomb", manyParts(5000), Limits{}, KindLimitParts, ""},
		{"parts within", manyParts(50), Limits{MaxParts: 51}, "", ""},
		{"size", []byte(bigText), Limits{MaxDecodedSize: 1 << 20}, KindLimitSize, "https://app.box.com/s/early"},
		{"size ok", []byte(bigText), Limits{}, "", "https://app.box.com/s/late"},
		{"time", manyParts(100), Limits{MaxTime: time.Nanosecond}, KindLimitTime, ""},
		{"empty", nil, Limits{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			f := Inspect(tt.raw, tt.lim)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			if got := problemKinds(f); got != tt.kinds {
				t.Errorf("problems %q (%+v), want %q", got, f.Problems, tt.kinds)
			}
			if tt.present != "" {
				if _, ok := linkURLs(f)[tt.present]; !ok {
					t.Errorf("missing %s in %+v", tt.present, f.Links)
				}
			}
		})
	}
}

func TestHostileHeaders(t *testing.T) {
	t.Parallel()
	huge := "Subject: x\r\n" + strings.Repeat("X-A: b\r\n", 200000) + "\r\nbody\r\n"
	f := Inspect([]byte(huge), Limits{})
	if !strings.Contains(problemKinds(f), KindParse) {
		t.Errorf("oversized header block not reported: %+v", f.Problems)
	}
	// A problem flood is bounded.
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=m\r\n\r\n")
	for range 400 {
		b.WriteString("--m\r\nContent-Transfer-Encoding: x-bad\r\n\r\nx\r\n")
	}
	f = Inspect([]byte(b.String()), Limits{})
	if len(f.Problems) != maxProblems {
		t.Errorf("%d problems, want the cap %d", len(f.Problems), maxProblems)
	}
}
