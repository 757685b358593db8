package incident

import (
	"embed"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed print.html
var printFS embed.FS

var printTmpl = template.Must(template.New("print.html").Funcs(template.FuncMap{
	"t": func(code, ja, en string) string {
		if code == "en" {
			return en
		}
		return ja
	},
	// p keeps what came from mail (subjects, file names, addresses, notes)
	// from reordering or hiding the printed text: control and bidi
	// formatting characters are shown as U+FFFD.
	"p": printable,
}).ParseFS(printFS, "print.html"))

func printable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0,
			r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e,
			r >= 0x2066 && r <= 0x2069, r == 0xfeff:
			return '\ufffd'
		}
		return r
	}, s)
}

type printData struct {
	In         *Incident
	Code       string
	Deadlines  []Deadline
	Reportable bool
	Why        string
	Printed    string
	Zone       *time.Location
}

// Print writes the incident as a printable HTML report in Japanese
// ("ja") or English ("en"). The report's items stay as written (the PPC
// form is Japanese); labels, facts and the checklist follow the language.
func Print(w io.Writer, in *Incident, rules Rules, code string, now time.Time) error {
	d := printData{In: in, Code: code, Deadlines: in.Deadlines(rules), Zone: time.Local}
	d.Reportable, d.Why = in.Reportable()
	d.Printed = now.In(time.Local).Format("2006-01-02 15:04 MST")
	return printTmpl.Execute(w, d)
}
