package message

import (
	"strconv"
	"strings"

	"github.com/egressguard/egressguard/internal/extract"
	"github.com/egressguard/egressguard/internal/pii"
)

// SourceFile is the link source for text extracted from attachments that
// are neither Office Open XML nor PDF (OpenDocument, files in archives).
const SourceFile = "file"

// document opens a ZIP archive, Office or OpenDocument file, or PDF
// attachment and inspects what is inside: text and tables for links and
// personal data, HTML through the HTML walker, mail messages recursively.
func (in *inspector) document(eh *entityHeader, body []byte, p *Part, depth int) {
	data := in.transferDecode(eh, body, p.Path, int64(len(body)))
	p.Size = int64(len(data))
	name := eh.filename
	if name == "" {
		name = "part " + p.Path
	}
	res := extract.File(name, data, extract.Limits{
		MaxBytes:   max(in.budget, 1),
		MaxDepth:   in.lim.MaxArchiveDepth,
		MaxEntries: in.lim.MaxArchiveEntries,
		MaxRatio:   int64(in.lim.MaxCompressionRatio),
		Deadline:   in.deadline,
	})
	in.budget -= res.Used
	if res.Encrypted {
		eh.encrypted = true
	}
	for _, pr := range res.Problems {
		detail := pr.Name + ": " + pr.Detail
		if strings.HasPrefix(pr.Kind, "limit-") {
			in.limit(p.Path, pr.Kind, detail)
			if pr.Kind == KindLimitTime {
				in.stopped = true
			}
			continue
		}
		in.problem(p.Path, pr.Kind, detail)
	}
	var texts []string
	msgs := 0
	for _, d := range res.Docs {
		if in.expired(p.Path) {
			break
		}
		src := SourceFile
		switch d.Source {
		case "ooxml":
			src = SourceOOXML
		case "pdf":
			src = SourcePDF
		}
		switch d.Kind {
		case extract.Text, extract.Table:
			t := extract.RowsText(d.Rows)
			texts = append(texts, t)
			in.textLinks(t, p.Path, src)
			for _, l := range d.Links {
				in.link(l, p.Path, src, "", false)
			}
			in.personal(p.Path, d.Name, d.Rows, d.Kind == extract.Table)
		case extract.HTML:
			t := in.html(extract.Decode(d.Raw), p.Path)
			texts = append(texts, t)
			in.personal(p.Path, d.Name, extract.Lines(t), false)
		case extract.Message:
			msgs++
			if depth+1 > in.lim.MaxDepth {
				in.limit(p.Path, KindLimitDepth, "MIME nesting deeper than "+strconv.Itoa(in.lim.MaxDepth))
				continue
			}
			in.message(d.Raw, childPath(p.Path, msgs), depth+1, false)
		}
	}
	p.Text = strings.TrimSpace(strings.Join(texts, "\n"))
}

// personal scans rows of one file (or body part) for personal data and
// records what it found.
func (in *inspector) personal(part, file string, rows [][]string, table bool) {
	if len(rows) == 0 {
		return
	}
	sc := pii.NewScanner()
	for i, r := range rows {
		if i&1023 == 1023 && in.expired(part) {
			break
		}
		sc.Row(r, table)
	}
	s := sc.Summary()
	if s.Empty() {
		return
	}
	if in.records == nil {
		in.records = map[uint64]bool{}
	}
	for _, k := range s.RecordKeys {
		if !in.records[k] {
			in.records[k] = true
			in.f.PersonalRecords++
		}
	}
	in.f.MyNumbers += s.MyNumbers
	in.f.CardNumbers += s.Cards
	if len(in.f.Personal) < maxPersonal {
		s.RecordKeys = nil
		in.f.Personal = append(in.f.Personal, Personal{Part: part, File: file, Summary: s})
	}
}

// maxPersonal bounds Facts.Personal; the totals count everything.
const maxPersonal = 100
