package incident

import (
	"embed"
	"html/template"
	"io"
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
}).ParseFS(printFS, "print.html"))

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
