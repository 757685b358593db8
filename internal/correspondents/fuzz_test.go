package correspondents

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse: no input makes the parsers panic, and what they return is
// a sender and recipient from the input (Postfix) with a time.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/maillog"); err == nil {
		f.Add(string(b))
	}
	for _, s := range []string{
		"a@x.example,b@y.example,2026-01-01\n", "sender,recipient\n\"a\"\"@x\",b@y\n", "Feb 29 00:00:00 h postfix/qmgr[1]: AAAAA: from=<a@b>\n",
		"2026-13-40T99:99:99Z h postfix/smtp[1]: AAAAA: to=<x>, status=sent\n", strings.Repeat("x", 70000) + "\nDec  1 00:00:00 h postfix/qmgr[1]: BBBBB: from=<q@r>\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		check := func(d Delivery) error {
			if !strings.Contains(in, d.Rcpt) || !strings.Contains(in, d.Sender) {
				t.Fatalf("delivery %+v not from the input", d)
			}
			return nil
		}
		ParsePostfix(strings.NewReader(in), now, check)
		// CSV unquotes fields; their text need not appear as is.
		ParseCSV(strings.NewReader(in), now, func(d Delivery) error {
			if d.At.IsZero() {
				t.Fatalf("delivery %+v without a time", d)
			}
			return nil
		})
	})
}
