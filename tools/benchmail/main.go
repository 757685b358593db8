// Command benchmail writes a benchmark message to standard output: a short
// mail with one XLSX attachment of about -size bytes, for the relay
// benchmark with an attachment (docs/performance.md). smtp-source sends it
// with -F, which turns each line's LF into CRLF, so the lines end in LF:
//
//	go run ./tools/benchmail -kind persons -size 100000 > /tmp/xlsx100k.eml
//	smtp-source -F /tmp/xlsx100k.eml -t staff@bench-org.jp ... 127.0.0.1:2525
//
// -kind persons is a list of patients (name, phone, date of birth,
// address, symptom: personal data that the guard counts and, for outside
// recipients, holds); -kind sales is business figures without personal
// data (product, region, quantity, price), which the guard passes.
package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/egressguard/egressguard/internal/extract/fixture"
)

func main() {
	kind := flag.String("kind", "persons", "persons or sales")
	size := flag.Int("size", 100000, "approximate size of the XLSX in bytes")
	flag.Parse()
	rows := fixture.PersonRows
	switch *kind {
	case "persons":
	case "sales":
		rows = fixture.SalesRows
	default:
		fmt.Fprintln(os.Stderr, "benchmail: -kind is persons or sales")
		os.Exit(2)
	}
	x := fixture.XLSXOfSize(*size, rows)
	var b strings.Builder
	b.WriteString("From: staff@bench-org.jp\nTo: colleague@bench-org.jp\nSubject: list\nMIME-Version: 1.0\n")
	b.WriteString("Content-Type: multipart/mixed; boundary=\"=_b\"\n\n--=_b\nContent-Type: text/plain; charset=utf-8\n\nSee the attached list.\n--=_b\n")
	fmt.Fprintf(&b, "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; name=\"list.xlsx\"\nContent-Disposition: attachment; filename=\"list.xlsx\"\nContent-Transfer-Encoding: base64\n\n")
	enc := base64.StdEncoding.EncodeToString(x)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n--=_b--\n")
	os.Stdout.WriteString(b.String())
	fmt.Fprintf(os.Stderr, "benchmail: %s XLSX of %d bytes, message of %d bytes\n", *kind, len(x), b.Len())
}
