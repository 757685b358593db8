// Package extract turns the files people attach to mail into text: rows of
// cells for spreadsheets, CSV and document tables, lines for everything
// else. It opens ZIP archives (nested up to a limit), Office Open XML
// (XLSX, DOCX, PPTX), OpenDocument (ODS, ODT, ODP), PDF (plain and
// FlateDecode content streams, object streams, ToUnicode maps) and text in
// any of the charsets Japanese offices produce. HTML and mail messages
// found inside archives are handed back as bytes for the caller, which
// already knows how to walk them.
//
// It is pure (no I/O) and bounded: every byte decompressed counts against
// one budget, and compression ratio, nesting depth, number of entries and
// time are limited. Whatever a bound stopped, or whatever could not be
// read, is reported as a Problem, so that the caller can fail closed.
package extract

import (
	"bytes"
	"path"
	"strconv"
	"strings"
	"time"
)

// Problem kinds; the strings are those of package message.
const (
	KindLimitDepth   = "limit-depth"
	KindLimitEntries = "limit-parts"
	KindLimitSize    = "limit-size"
	KindLimitTime    = "limit-time"
	KindParse        = "parse"
)

// DocKind says how a Doc is to be read.
type DocKind int

const (
	Text    DocKind = iota // Rows are lines of one cell
	Table                  // Rows are table rows; the first may be a header
	HTML                   // Raw is an HTML document
	Message                // Raw is an RFC 5322 message
)

// Doc is one piece of readable content found in a file.
type Doc struct {
	// Name says where the content is, for people: "患者一覧.xlsx (Sheet1)",
	// "data.zip/list.csv", "report.docx (table 2)".
	Name string
	Kind DocKind
	// Source is the format it came from: "text", "csv", "ooxml", "odf",
	// "pdf", "html", "eml".
	Source string
	Rows   [][]string
	Raw    []byte
	// Links are link targets kept outside the text: Office relationships
	// (hyperlinks, remote templates) and PDF link annotations.
	Links []string
}

// Problem is something that could not be read completely.
type Problem struct {
	Kind   string
	Name   string // the file or entry concerned
	Detail string
}

// Limits bound the work on one file, archives included. Zero fields take
// their values from DefaultLimits, except Deadline (zero: none).
type Limits struct {
	MaxBytes   int64 // bytes decompressed or extracted, in total
	MaxDepth   int   // archives within archives
	MaxEntries int   // archive and package entries, in total
	MaxRatio   int64 // decompressed/compressed size of one entry or stream
	Deadline   time.Time
}

// DefaultLimits fill the zero fields of Limits.
var DefaultLimits = Limits{MaxBytes: 32 << 20, MaxDepth: 4, MaxEntries: 10000, MaxRatio: 200}

// ratioFloor is the decompressed size below which the ratio is not
// checked: small, very regular files (an empty sheet, a blank template)
// legitimately compress a thousandfold.
const ratioFloor = 1 << 20

// Result is what was found in one file.
type Result struct {
	Docs []Doc
	// Encrypted: the file or something inside it is encrypted (ZIP with
	// traditional or AES encryption, encrypted Office or PDF file).
	Encrypted bool
	Problems  []Problem
	// Used is how much of Limits.MaxBytes was spent.
	Used int64
}

// maxProblems bounds Result.Problems.
const maxProblems = 32

// state is one File call.
type state struct {
	lim     Limits
	res     *Result
	entries int
	stopped bool
	hit     map[string]bool
	ticks   int
}

// File extracts what can be read from data, a file called name. It never
// panics on any input.
func File(name string, data []byte, lim Limits) (res *Result) {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultLimits.MaxBytes
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = DefaultLimits.MaxDepth
	}
	if lim.MaxEntries <= 0 {
		lim.MaxEntries = DefaultLimits.MaxEntries
	}
	if lim.MaxRatio <= 0 {
		lim.MaxRatio = DefaultLimits.MaxRatio
	}
	res = &Result{}
	s := &state{lim: lim, res: res, hit: map[string]bool{}}
	defer func() {
		if r := recover(); r != nil {
			s.problem(KindParse, name, "internal error reading the file")
		}
	}()
	s.file(name, data, 0)
	return res
}

func (s *state) problem(kind, name, detail string) {
	if len(s.res.Problems) < maxProblems {
		s.res.Problems = append(s.res.Problems, Problem{Kind: kind, Name: name, Detail: detail})
	}
}

// limit reports a bound that was hit, once per kind.
func (s *state) limit(kind, name, detail string) {
	if s.hit[kind] {
		return
	}
	s.hit[kind] = true
	s.problem(kind, name, detail)
}

// expired reports whether the deadline has passed, and stops the work.
func (s *state) expired(name string) bool {
	if s.stopped {
		return true
	}
	if !s.lim.Deadline.IsZero() && time.Now().After(s.lim.Deadline) {
		s.limit(KindLimitTime, name, "reading the file took too long")
		s.stopped = true
	}
	return s.stopped
}

// tick is expired for inner loops: the clock is read every 256th call.
func (s *state) tick(name string) bool {
	s.ticks++
	if s.ticks&255 != 0 {
		return s.stopped
	}
	return s.expired(name)
}

// take spends n bytes of the budget; false when it is exhausted, which is
// reported.
func (s *state) take(name string, n int64) bool {
	if s.res.Used+n > s.lim.MaxBytes {
		s.res.Used = s.lim.MaxBytes
		s.limit(KindLimitSize, name, "more than "+strconv.FormatInt(s.lim.MaxBytes, 10)+" bytes to decompress or extract")
		s.stopped = true
		return false
	}
	s.res.Used += n
	return true
}

// remaining is the budget left.
func (s *state) remaining() int64 { return max(s.lim.MaxBytes-s.res.Used, 0) }

// entry counts one archive or package entry.
func (s *state) entry(name string) bool {
	s.entries++
	if s.entries > s.lim.MaxEntries {
		s.limit(KindLimitEntries, name, "more than "+strconv.Itoa(s.lim.MaxEntries)+" entries in archives and documents")
		s.stopped = true
		return false
	}
	return true
}

func (s *state) add(d Doc) {
	if len(d.Rows) > 0 || len(d.Raw) > 0 || len(d.Links) > 0 {
		s.res.Docs = append(s.res.Docs, d)
	}
}

var (
	magicZIP  = []byte("PK\x03\x04")
	magicZIP0 = []byte("PK\x05\x06")
	magicZIPs = []byte("PK\x07\x08") // spanned-archive marker before the first header
	magicPDF  = []byte("%PDF-")
	magicCFB  = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	magic7z   = []byte{'7', 'z', 0xBC, 0xAF, 0x27, 0x1C}
	magicRAR  = []byte("Rar!\x1a\x07")
)

// Format names what File would make of a file, from its first bytes and
// its name: "zip", "pdf", "cfb", "tnef" (Outlook's winmail.dat), "csv",
// "text", "html", "eml", or "" for content it does not read (images,
// executables, 7z, RAR…).
func Format(name string, head []byte) string {
	switch {
	case bytes.HasPrefix(head, magicZIP), bytes.HasPrefix(head, magicZIP0), bytes.HasPrefix(head, magicZIPs):
		return "zip"
	case bytes.HasPrefix(head, magicCFB):
		return "cfb"
	case pdfStart(head) >= 0:
		return "pdf"
	case bytes.HasPrefix(head, magicTNEF):
		return "tnef"
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".csv", ".tsv", ".tab":
		return "csv"
	case ".txt", ".text", ".md", ".markdown", ".log", ".json", ".xml", ".rtf", ".vcf", ".url", ".webloc",
		".ics", ".ical", ".yaml", ".yml", ".ini", ".conf", ".sql", ".tex", ".desktop":
		return "text"
	case ".html", ".htm", ".xhtml", ".mht", ".mhtml":
		return "html"
	case ".eml", ".msg822":
		return "eml"
	case ".zip", ".pdf", ".xlsx", ".xlsm", ".docx", ".docm", ".pptx", ".pptm", ".ods", ".odt", ".odp", ".xls", ".doc", ".ppt":
		// Named so, but not one: text (an HTML or CSV file renamed, as
		// spreadsheet programs accept) is read as text; anything else
		// cannot be read, which is a problem.
		if looksText(head) {
			return "text"
		}
		return "unreadable"
	}
	if bytes.HasPrefix(head, magic7z) || bytes.HasPrefix(head, magicRAR) {
		return ""
	}
	if looksText(head) {
		return "text"
	}
	return ""
}

// pdfStart finds "%PDF-" in the first KiB, where readers accept it.
func pdfStart(b []byte) int {
	return bytes.Index(b[:min(len(b), 1024)], magicPDF)
}

// looksText reports whether b reads as text: no NUL bytes (UTF-16 with a
// BOM aside) and few control characters.
func looksText(b []byte) bool {
	b = b[:min(len(b), 8192)]
	if len(b) == 0 {
		return false
	}
	if bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF}) {
		return true
	}
	ctl := 0
	for _, c := range b {
		switch {
		case c == 0:
			return false
		case c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != 0x1b && c != '\f':
			ctl++
		}
	}
	return ctl*100 < len(b)
}

// file reads one file at archive depth depth.
func (s *state) file(name string, data []byte, depth int) {
	if s.expired(name) {
		return
	}
	switch Format(name, data) {
	case "zip":
		s.zip(name, data, depth)
	case "pdf":
		s.pdf(name, data, depth)
	case "cfb":
		s.cfb(name, data)
	case "tnef":
		s.tnef(name, data, depth)
	case "csv":
		s.add(Doc{Name: name, Kind: Table, Source: "csv", Rows: CSV(Decode(data), name)})
	case "text":
		s.add(Doc{Name: name, Kind: Text, Source: "text", Rows: Lines(Decode(data))})
	case "html":
		s.add(Doc{Name: name, Kind: HTML, Source: "html", Raw: data})
	case "eml":
		s.add(Doc{Name: name, Kind: Message, Source: "eml", Raw: data})
	case "unreadable":
		s.problem(KindParse, name, "not a file of the type its name says; it cannot be read")
	}
}

// cfb handles a Compound File: an encrypted Office Open XML document
// (EncryptionInfo and EncryptedPackage streams, MS-OFFCRYPTO) is reported
// as encrypted; legacy Office files are read (see cfb.go).
func (s *state) cfb(name string, data []byte) {
	for _, n := range [][]byte{utf16le("EncryptionInfo"), utf16le("EncryptedPackage")} {
		if bytes.Contains(data, n) {
			s.res.Encrypted = true
			return
		}
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".docx", ".docm", ".xlsx", ".xlsm", ".pptx", ".pptm":
		// An OOXML name on a CFB container: encrypted (or mislabelled).
		s.res.Encrypted = true
		return
	}
	s.legacyOffice(name, data)
}

func utf16le(s string) []byte {
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return b
}

// Lines splits text into lines of one cell, dropping empty ones.
func Lines(text string) [][]string {
	var rows [][]string
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimRight(line, " \t\r")
		if strings.TrimSpace(line) != "" {
			rows = append(rows, []string{line})
		}
	}
	return rows
}

// RowsText joins rows into text: cells by tabs, rows by line breaks.
func RowsText(rows [][]string) string {
	var sb strings.Builder
	for _, r := range rows {
		for i, c := range r {
			if i > 0 {
				sb.WriteByte('\t')
			}
			sb.WriteString(c)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}
