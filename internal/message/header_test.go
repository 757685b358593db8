package message

import (
	"encoding/base64"
	"testing"
)

// TestEncodedWordWithESC: an ESC inside a UTF-8 encoded word is not taken
// for ISO-2022-JP after decoding.
func TestEncodedWordWithESC(t *testing.T) {
	in := "=?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte("日本\x1bx")) + "?="
	if got := decodeHeaderText(in); got != "日本\x1bx" {
		t.Errorf("got %q", got)
	}
	raw := "\x1b$BF|K\\\x1b(B =?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte("語")) + "?="
	if got := decodeHeaderText(raw); got != "日本 語" {
		t.Errorf("raw ISO-2022-JP plus encoded word: got %q", got)
	}
}
