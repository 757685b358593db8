package extract

import "testing"

// TestXLString: a UTF-16 string that ends where its record ends keeps its
// last character (the record data before it may be of odd length).
func TestXLString(t *testing.T) {
	for _, tt := range []struct {
		d        []byte
		lenBytes int
		want     string
	}{
		{[]byte{2, 0, 1, 0x71, 0x5C, 0x30, 0x75}, 2, "山田"},
		{[]byte{2, 1, 0x71, 0x5C, 0x30, 0x75}, 1, "山田"},
		{[]byte{2, 0, 0, 'a', 'b'}, 2, "ab"},
		{[]byte{3, 0, 1, 0x71, 0x5C, 0x30}, 2, "山"}, // cut short: whole characters only
	} {
		if got, _ := xlString(tt.d, tt.lenBytes); got != tt.want {
			t.Errorf("% x: %q, want %q", tt.d, got, tt.want)
		}
	}
}
