package smtpfront

import (
	"errors"
	"testing"
)

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
