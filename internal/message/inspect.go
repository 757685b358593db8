package message

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/extract"
)

// Problem kinds. They are part of the contract with the policy engine,
// which holds any message that has one.
const (
	KindLimitDepth = "limit-depth"
	KindLimitParts = "limit-parts"
	KindLimitSize  = "limit-size"
	KindLimitTime  = "limit-time"
	KindParse      = "parse"
	KindCharset    = "charset"
	// KindAmbiguous: the MIME structure can be read in more than one way
	// (duplicate boundary or other parameters, duplicate Content-Type or
	// Content-Transfer-Encoding fields, a boundary reused inside its own
	// multipart, an encoded multipart), so two mail clients may show
	// different content.
	KindAmbiguous = "ambiguous"
	// KindUnreadable: a part whose content is not in the message at all
	// (message/partial fragments, message/external-body references).
	KindUnreadable = "unreadable"
)

// Link sources, see Link.Source.
const (
	SourceText     = "text"
	SourceHref     = "href"
	SourceHTMLText = "html-text"
	SourceCalendar = "calendar"
	SourceOOXML    = "ooxml"
	SourceHeader   = "header"
	SourcePDF      = "pdf" // link annotations (/URI) of PDF attachments
)

// maxLinks bounds the links of one message; hitting it is a limit-size
// problem, so the message is held rather than passed half-inspected.
const maxLinks = 20000

// maxProblems bounds the Problems list: a hostile message could otherwise
// produce one per part. The first ones are the informative ones.
const maxProblems = 64

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultLimits.MaxParts
	}
	if l.MaxDecodedSize <= 0 {
		l.MaxDecodedSize = DefaultLimits.MaxDecodedSize
	}
	if l.MaxTime <= 0 {
		l.MaxTime = DefaultLimits.MaxTime
	}
	if l.MaxArchiveDepth <= 0 {
		l.MaxArchiveDepth = DefaultLimits.MaxArchiveDepth
	}
	if l.MaxArchiveEntries <= 0 {
		l.MaxArchiveEntries = DefaultLimits.MaxArchiveEntries
	}
	if l.MaxCompressionRatio <= 0 {
		l.MaxCompressionRatio = DefaultLimits.MaxCompressionRatio
	}
	return l
}

// inspector is the state of one Inspect call.
type inspector struct {
	lim      Limits
	deadline time.Time
	f        *Facts

	parts   int   // entities seen, containers included
	budget  int64 // decoded bytes that may still be inspected as text
	stopped bool  // a limit ended the walk: inspect nothing more

	limitHit map[string]bool // limit kinds already reported
	seen     map[linkKey]int // index into f.Links, for de-duplication

	records map[uint64]bool // person records counted, across files
	// boundaries are those of the multiparts being walked, outermost
	// first: a nested multipart reusing one is ambiguous.
	boundaries []string
}

type linkKey struct{ part, url string }

// Inspect parses raw (a complete RFC 5322 message) and reports what it
// contains. It never panics and never returns nil; whatever it could not do
// completely is listed in Facts.Problems. Work is bounded by lim, whose zero
// fields take their values from DefaultLimits.
//
// What is read for links:
//   - text/* parts (format=flowed joined) and text attachments (.txt, .csv,
//     .md, .rtf, .url, ...), after transfer and charset decoding;
//   - HTML: link targets and visible text (see the html method for which
//     elements; img src is deliberately not a link);
//   - calendars (text/calendar, .ics), unfolded;
//   - archives, Office, OpenDocument and PDF attachments, recognised by
//     their first bytes, through package extract: ZIP (nested), XLSX, DOCX,
//     PPTX, XLS and the text of DOC/PPT, ODS/ODT/ODP, PDF content streams
//     and /URI annotations, and the text, HTML and mail files inside them;
//     every byte decompressed counts against MaxDecodedSize;
//   - attached messages (message/rfc822, .eml), recursively, their Subject
//     included; the top-level Subject too.
//
// Every text read this way is also scanned for personal data (package
// pii): rows of tables and CSV files, lines of everything else, with the
// counts and masked samples in Facts.Personal.
//
// Other binary parts are measured and their ends checked for encryption
// markers, never decoded as a whole.
//
// Headers are parsed with go-message's textproto and charset packages and
// addresses with its mail package. The MIME structure is split on the bytes
// of raw rather than through go-message's streaming multipart reader: the
// message is in memory anyway, so parts are sub-slices (no copies), binary
// parts cost only a byte count, and every header block is bounded before
// it is parsed (the streaming reader parses part headers without a bound).
func Inspect(raw []byte, lim Limits) (f *Facts) {
	f = &Facts{}
	lim = lim.withDefaults()
	in := &inspector{
		lim:      lim,
		deadline: time.Now().Add(lim.MaxTime),
		f:        f,
		budget:   lim.MaxDecodedSize,
		limitHit: make(map[string]bool),
		seen:     make(map[linkKey]int),
	}
	defer func() {
		// A bug in a decoder must not take the relay down; the message is
		// then reported as not fully inspected, which holds it.
		if r := recover(); r != nil {
			in.problem("", KindParse, fmt.Sprintf("internal error: %v", r))
		}
	}()
	in.message(raw, "", 0, true)
	return f
}

// problem records a Problem, bounded by maxProblems.
func (in *inspector) problem(part, kind, detail string) {
	if len(in.f.Problems) >= maxProblems {
		return
	}
	if len(detail) > 200 {
		detail = strings.ToValidUTF8(detail[:200], "")
	}
	in.f.Problems = append(in.f.Problems, Problem{Part: part, Kind: kind, Detail: detail})
}

// limit records that a limit was hit. Each kind is reported once.
func (in *inspector) limit(part, kind, detail string) {
	if in.limitHit[kind] {
		return
	}
	in.limitHit[kind] = true
	in.problem(part, kind, detail)
}

// expired checks the deadline and stops the walk once it has passed.
func (in *inspector) expired(part string) bool {
	if in.stopped {
		return true
	}
	if time.Now().After(in.deadline) {
		in.limit(part, KindLimitTime, "inspection took longer than "+in.lim.MaxTime.String())
		in.stopped = true
	}
	return in.stopped
}

// enter counts one entity against MaxParts and checks depth and time.
// It reports whether the entity may be inspected.
func (in *inspector) enter(part string, depth int) bool {
	if in.expired(part) {
		return false
	}
	in.parts++
	if in.parts > in.lim.MaxParts {
		in.limit(part, KindLimitParts, "more than "+strconv.Itoa(in.lim.MaxParts)+" MIME parts")
		in.stopped = true
		return false
	}
	if depth > in.lim.MaxDepth {
		in.limit(part, KindLimitDepth, "MIME nesting deeper than "+strconv.Itoa(in.lim.MaxDepth))
		return false
	}
	return true
}

// take reserves n decoded bytes of the MaxDecodedSize budget and returns how
// many may be inspected; a shortfall is reported once.
func (in *inspector) take(part string, n int64) int64 {
	if n <= in.budget {
		in.budget -= n
		return n
	}
	got := max(in.budget, 0)
	in.budget = 0
	in.limit(part, KindLimitSize, "more than "+strconv.FormatInt(in.lim.MaxDecodedSize, 10)+" decoded bytes of text")
	return got
}

// childPath numbers the i-th (1-based) child of path, IMAP style.
func childPath(path string, i int) string {
	if path == "" {
		return strconv.Itoa(i)
	}
	return path + "." + strconv.Itoa(i)
}

// message walks one message: the top-level one (path "") or one attached
// at path. Its parts are numbered below its own path, as IMAP does: a
// single-part body is path.1, the parts of a multipart body path.1, path.2.
func (in *inspector) message(raw []byte, path string, depth int, top bool) {
	hdr, body, err := splitHeader(raw)
	if err != nil {
		in.problem(path, KindParse, err.Error())
	}
	h, herr := parseHeader(hdr)
	if herr != nil {
		in.problem(path, KindParse, herr.Error())
	}
	eh := in.entityHeader(h, path)
	if top {
		in.topHeader(h)
	} else {
		// A link in the subject of a forwarded message is still a link.
		in.subjectLinks(h, path, 0)
	}
	if strings.HasPrefix(eh.mediaType, "multipart/") {
		if !in.enter(path, depth+1) {
			return
		}
		in.multipart(eh, body, path, depth+1)
		return
	}
	in.entity(eh, body, childPath(path, 1), depth)
}

// topHeader fills the header facts of the top-level message.
func (in *inspector) topHeader(h header) {
	var err error
	for _, field := range [...]struct {
		name string
		dst  *string
	}{{"Subject", &in.f.Subject}, {"From", &in.f.From}} {
		if *field.dst, err = decodeHeaderTextErr(h.Get(field.name)); err != nil {
			in.problem("", KindCharset, field.name+": "+err.Error())
		}
	}
	in.f.MessageID = strings.TrimSpace(h.Get("Message-Id"))
	in.f.To = addresses(h.Values("To"))
	in.f.Cc = addresses(h.Values("Cc"))
	if in.f.Subject != "" {
		in.textLinks(in.f.Subject, "", SourceHeader)
		in.personal("", "件名/Subject", [][]string{{in.f.Subject}}, false)
	}
	in.subjectLinks(h, "", 1)
}

// subjectLinks records the links of the Subject fields of h from the
// skip-th on. Clients differ in which of several Subject fields they
// show, so every one counts.
func (in *inspector) subjectLinks(h header, path string, skip int) {
	vals := h.Values("Subject")
	for i := skip; i < len(vals); i++ {
		s, err := decodeHeaderTextErr(vals[i])
		if err != nil {
			in.problem(path, KindCharset, "Subject: "+err.Error())
		}
		if s != "" {
			in.textLinks(s, path, SourceHeader)
		}
	}
}

// entityHeader parses the MIME fields of h and reports what makes the
// entity at path ambiguous or only partly read.
func (in *inspector) entityHeader(h header, path string) *entityHeader {
	eh := parseEntityHeader(h)
	for _, is := range eh.issues {
		in.problem(path, is.kind, is.detail)
	}
	return eh
}

// textLinks records the links of a text; a text with more URLs than are
// read makes the inspection incomplete.
func (in *inspector) textLinks(text, part, source string) {
	raws, complete := extractLinks(text)
	if !complete {
		in.limit(part, KindLimitSize, "more than "+strconv.Itoa(maxLinksPerText)+" URLs in one text")
	}
	in.links(raws, part, source)
}

// multipart walks the parts of a multipart body; path is the container's.
func (in *inspector) multipart(eh *entityHeader, body []byte, path string, depth int) {
	boundary := eh.params["boundary"]
	switch eh.cte {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit", "none":
	default:
		// RFC 2045 6.4: a multipart is never encoded. Some readers decode
		// it anyway and others split the encoded text.
		in.problem(path, KindAmbiguous, "multipart with Content-Transfer-Encoding "+strconv.Quote(eh.cte))
	}
	for _, outer := range in.boundaries {
		if boundary != "" && overlaps(boundary, outer) {
			in.problem(path, KindAmbiguous, "multipart boundary "+strconv.Quote(boundary)+" overlaps the enclosing boundary "+strconv.Quote(outer))
			break
		}
	}
	in.boundaries = append(in.boundaries, boundary)
	defer func() { in.boundaries = in.boundaries[:len(in.boundaries)-1] }()
	parts, pre, epi, perr := splitMultipart(body, boundary)
	// Readers hide preamble and epilogue, but some show them, and a link
	// there can be clicked.
	in.looseText(pre, path, "preamble")
	in.looseText(epi, path, "epilogue")
	if perr != nil {
		// Without usable boundaries the body is still read as text so that
		// nothing in it goes unseen; the problem holds the message.
		in.problem(path, KindParse, perr.Error())
		if parts == nil {
			in.leaf(&entityHeader{mediaType: "text/plain", h: eh.h}, body, childPath(path, 1), depth)
			return
		}
	}
	for i, p := range parts {
		if in.stopped {
			return
		}
		cp := childPath(path, i+1)
		hdr, pbody, err := splitHeader(p)
		if err != nil {
			in.problem(cp, KindParse, err.Error())
		}
		h, herr := parseHeader(hdr)
		if herr != nil {
			in.problem(cp, KindParse, herr.Error())
		}
		peh := in.entityHeader(h, cp)
		peh.inEncrypted = eh.mediaType == "multipart/encrypted"
		if peh.mediaType == "" {
			peh.mediaType = "text/plain"
			if eh.mediaType == "multipart/digest" {
				// RFC 2046 5.1.5: parts of a digest default to messages.
				peh.mediaType = "message/rfc822"
			}
		}
		in.entity(peh, pbody, cp, depth)
	}
}

// entity walks one part at path that is not the top-level message.
func (in *inspector) entity(eh *entityHeader, body []byte, path string, depth int) {
	if strings.HasPrefix(eh.mediaType, "multipart/") {
		if !in.enter(path, depth+1) {
			return
		}
		in.multipart(eh, body, path, depth+1)
		return
	}
	if !in.enter(path, depth) {
		return
	}
	switch eh.mediaType {
	case "message/partial", "message/external-body":
		// The content is elsewhere: in other messages that a reader joins,
		// or behind a reference it fetches. What is here is read as text.
		in.problem(path, KindUnreadable, eh.mediaType+": the content is not in this message")
		if u := eh.params["url"]; u != "" {
			in.link(u, path, SourceHeader, "", false)
		}
		text := *eh
		text.mediaType = "text/plain"
		in.leaf(&text, body, path, depth)
		return
	}
	if eh.isMessage() {
		in.attachedMessage(eh, body, path, depth)
		return
	}
	in.leaf(eh, body, path, depth)
}

// attachedMessage records an attached message and walks into it.
func (in *inspector) attachedMessage(eh *entityHeader, body []byte, path string, depth int) {
	data := in.transferDecode(eh, body, path, int64(len(body)))
	in.f.Attachments = append(in.f.Attachments, Attachment{
		Part:        path,
		Filename:    eh.filename,
		ContentType: eh.mediaType,
		Size:        int64(len(data)),
	})
	if depth+1 > in.lim.MaxDepth {
		in.limit(path, KindLimitDepth, "MIME nesting deeper than "+strconv.Itoa(in.lim.MaxDepth))
		return
	}
	in.message(data, path, depth+1, false)
}

// transferDecode undoes the Content-Transfer-Encoding of body, producing at
// most limit bytes. Broken encodings are decoded as far as possible and
// reported.
func (in *inspector) transferDecode(eh *entityHeader, body []byte, path string, limit int64) []byte {
	var out []byte
	var bad bool
	switch eh.cte {
	case "base64":
		out, bad = decodeBase64(body, limit)
	case "quoted-printable":
		out = decodeQP(body, limit)
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit", "none":
		out = body
		if int64(len(out)) > limit {
			out = out[:limit]
		}
	default:
		in.problem(path, KindParse, "unknown transfer encoding "+strconv.Quote(eh.cte))
		out = body
		if int64(len(out)) > limit {
			out = out[:limit]
		}
	}
	if bad {
		in.problem(path, KindParse, "malformed "+eh.cte+" content")
	}
	return out
}

// overlaps reports whether the delimiter lines of two nested multiparts
// can be taken for each other: the same boundary, or one that is the
// other followed by "--" ("--b--x" closes b for a reader that ignores
// what follows a close delimiter).
func overlaps(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	return a == b || strings.HasPrefix(a, b+"--")
}

// looseText records the links in the preamble or epilogue (what) of the
// multipart at path.
func (in *inspector) looseText(b []byte, path, what string) {
	if len(bytes.TrimSpace(b)) == 0 || in.stopped {
		return
	}
	if n := in.take(path, int64(len(b))); n < int64(len(b)) {
		b = b[:n]
	}
	text, _ := toUTF8(b, "")
	part := what
	if path != "" {
		part = path + "." + what
	}
	in.textLinks(text, part, SourceText)
}

// leaf inspects one leaf part at path.
func (in *inspector) leaf(eh *entityHeader, body []byte, path string, depth int) {
	if eh.mediaType == "" {
		eh.mediaType = "text/plain" // RFC 2045 5.2 default
	}
	p := Part{
		Path:        path,
		ContentType: eh.mediaType,
		Charset:     eh.charset,
		Filename:    eh.filename,
		Disposition: eh.disposition,
	}
	kind := classify(eh)
	switch kind {
	case kindBinary, kindOOXML:
		in.binaryLeaf(eh, body, &p, depth)
	default:
		in.textLeaf(eh, body, &p, kind)
	}
	in.f.Parts = append(in.f.Parts, p)
	if eh.isAttachment() {
		in.f.Attachments = append(in.f.Attachments, Attachment{
			Part:        path,
			Filename:    eh.filename,
			ContentType: eh.mediaType,
			Size:        p.Size,
			Encrypted:   eh.encrypted,
		})
	}
}

// textLeaf decodes a text-bearing part within the size budget and extracts
// its links.
func (in *inspector) textLeaf(eh *entityHeader, body []byte, p *Part, kind partKind) {
	// Quoted-printable can expand three times, so the raw bytes needed to
	// fill the remaining budget are bounded by three times the budget.
	rawLimit := in.budget*3 + 4
	if int64(len(body)) > rawLimit {
		body = body[:rawLimit]
		in.limit(p.Path, KindLimitSize, "more than "+strconv.FormatInt(in.lim.MaxDecodedSize, 10)+" decoded bytes of text")
	}
	data := in.transferDecode(eh, body, p.Path, int64(len(body)))
	p.Size = int64(len(data))
	if n := in.take(p.Path, int64(len(data))); n < int64(len(data)) {
		data = data[:n]
	}
	text, cerr := toUTF8(data, eh.charset)
	if cerr != "" {
		in.problem(p.Path, KindCharset, cerr)
	}
	file := ""
	if eh.isAttachment() {
		file = eh.filename
		if file == "" {
			file = "part " + p.Path
		}
	}
	switch kind {
	case kindHTML:
		p.Text = in.html(text, p.Path)
		in.personal(p.Path, file, extract.Lines(p.Text), false)
	case kindCalendar:
		p.Text = unfoldCalendar(text)
		in.textLinks(p.Text, p.Path, SourceCalendar)
		in.personal(p.Path, file, extract.Lines(p.Text), false)
	default:
		if strings.EqualFold(eh.params["format"], "flowed") {
			text = unflow(text, strings.EqualFold(eh.params["delsp"], "yes"))
		}
		text = strings.TrimPrefix(text, "\uFEFF")
		p.Text = text
		in.textLinks(text, p.Path, SourceText)
		if isTable(eh) {
			in.personal(p.Path, file, extract.CSV(text, eh.filename), true)
		} else {
			in.personal(p.Path, file, extract.Lines(text), false)
		}
	}
}

// isTable: CSV and TSV, by name or media type.
func isTable(eh *entityHeader) bool {
	switch strings.ToLower(path.Ext(eh.filename)) {
	case ".csv", ".tsv", ".tab":
		return true
	}
	switch eh.mediaType {
	case "text/csv", "text/tab-separated-values", "application/csv", "text/comma-separated-values":
		return true
	}
	return false
}

// binaryLeaf measures a binary part and checks its ends for encryption
// markers. Archives, Office and OpenDocument files and PDFs (recognised by
// their first bytes, whatever their name or type says) are opened and
// their content inspected; other binary parts are never decoded as a
// whole.
func (in *inspector) binaryLeaf(eh *entityHeader, body []byte, p *Part, depth int) {
	s := sampleBinary(eh.cte, body)
	if s.bad {
		in.problem(p.Path, KindParse, "malformed "+eh.cte+" content")
	}
	p.Size = s.size
	eh.encrypted = eh.encryptedContent() || detectEncrypted(s, eh.filename, eh.mediaType)
	if eh.encryptedContent() {
		return
	}
	switch extract.Format(eh.filename, s.head) {
	case "zip", "pdf", "cfb", "tnef", "unreadable":
		in.document(eh, body, p, depth)
	}
}

// links unwraps and records raw URLs found in part.
func (in *inspector) links(raws []string, part, source string) {
	for _, r := range raws {
		in.link(r, part, source, "", false)
	}
}

// link unwraps and records one raw URL. A URL seen before in the same part
// is recorded once; its first source wins (href before the visible text).
// With anchor set, text is the anchor's visible text and is checked
// against the host the link finally reaches.
func (in *inspector) link(raw, part, source, text string, anchor bool) {
	u, ok := parseURL(raw)
	if !ok {
		return
	}
	fu, wrappers, opaque, hints := unwrapURL(u)
	final := fu.String()
	mismatch := anchor && text != "" && textMismatch(text, fu.host, hints)
	k := linkKey{part, final}
	if i, ok := in.seen[k]; ok {
		if l := &in.f.Links[i]; mismatch && !l.Mismatch {
			l.Mismatch, l.Text = true, text
		}
		return
	}
	if len(in.f.Links) >= maxLinks {
		in.limit(part, KindLimitSize, "more than "+strconv.Itoa(maxLinks)+" links")
		return
	}
	in.seen[k] = len(in.f.Links)
	in.f.Links = append(in.f.Links, Link{
		URL:      final,
		Host:     fu.host,
		Raw:      raw,
		Part:     part,
		Source:   source,
		Wrappers: wrappers,
		Opaque:   opaque,
		Hints:    hints,
		Text:     text,
		Mismatch: mismatch,
	})
	if opaque || !fu.hasQuery {
		return
	}
	// A URL carried in a query parameter of a link we do not know as a
	// redirector is reported as well, next to (not instead of) the outer
	// link: nothing is lost, and a share link inside a tracking redirect
	// is still seen.
	for _, e := range embeddedURLs(fu.query) {
		eu, ok := parseURL(e)
		if !ok {
			continue
		}
		efu, ew, eo, eh := unwrapURL(eu)
		ef := efu.String()
		ek := linkKey{part, ef}
		if _, ok := in.seen[ek]; ok {
			continue
		}
		if len(in.f.Links) >= maxLinks {
			in.limit(part, KindLimitSize, "more than "+strconv.Itoa(maxLinks)+" links")
			return
		}
		in.seen[ek] = len(in.f.Links)
		in.f.Links = append(in.f.Links, Link{
			URL: ef, Host: efu.host, Raw: raw, Part: part, Source: source,
			Wrappers: append([]string{"embedded"}, ew...), Opaque: eo, Hints: eh,
		})
	}
}

// splitHeader splits an entity into its header block and body. The header
// ends at the first empty line; a block without one is all header.
func splitHeader(b []byte) (hdr, body []byte, err error) {
	if len(b) > 0 && b[0] == '\n' {
		return nil, b[1:], nil
	}
	if len(b) > 1 && b[0] == '\r' && b[1] == '\n' {
		return nil, b[2:], nil
	}
	i := 0
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		if i > maxHeaderBytes {
			return b[:i], b[i:], errHeaderTooBig
		}
		if i < len(b) && b[i] == '\n' {
			return b[:i], b[i+1:], nil
		}
		if i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
			return b[:i], b[i+2:], nil
		}
	}
	if len(b) > maxHeaderBytes {
		return b[:maxHeaderBytes], b[maxHeaderBytes:], errHeaderTooBig
	}
	return b, nil, nil
}

// splitMultipart returns the parts of a multipart body (each with its
// header) in order, and the preamble before the first delimiter and the
// epilogue after the close delimiter. A missing close delimiter is
// tolerated: the last part then runs to the end of the body.
func splitMultipart(body []byte, boundary string) (parts [][]byte, preamble, epilogue []byte, err error) {
	if boundary == "" {
		return nil, nil, nil, errNoBoundary
	}
	delim := []byte("--" + boundary)
	start := -1 // start of the current part's content
	pos := 0
	for pos <= len(body) {
		j := bytes.Index(body[pos:], delim)
		if j < 0 {
			break
		}
		at := pos + j
		pos = at + len(delim)
		if at > 0 && body[at-1] != '\n' {
			continue // not at the start of a line
		}
		rest := body[pos:]
		closing := bytes.HasPrefix(rest, []byte("--"))
		if closing {
			rest = rest[2:]
		}
		eol, ok := lineEnd(rest)
		if !ok && !closing {
			continue // "--boundaryX": another boundary or text
		}
		if start < 0 {
			preamble = body[:at]
		}
		if start >= 0 {
			end := at
			// The line break before the delimiter belongs to it.
			if end > start && body[end-1] == '\n' {
				end--
				if end > start && body[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, body[start:end])
		}
		if closing {
			if eol, ok := lineEnd(rest); ok {
				return parts, preamble, rest[eol:], nil
			}
			return parts, preamble, rest, nil
		}
		start = pos + (len(body[pos:]) - len(rest)) + eol
		pos = start
	}
	if start >= 0 {
		// Without a close delimiter the last part runs to the end; a
		// delimiter that ends the body starts nothing.
		if len(bytes.TrimSpace(body[start:])) > 0 || len(parts) == 0 {
			parts = append(parts, body[start:])
		}
		return parts, preamble, nil, nil
	}
	return nil, nil, nil, errNoDelimiter
}

// lineEnd reports whether b starts with optional blanks and a line end (or
// the end of input), and the length of that.
func lineEnd(b []byte) (int, bool) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	switch {
	case i == len(b):
		return i, true
	case b[i] == '\n':
		return i + 1, true
	case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
		return i + 2, true
	case b[i] == '\r' && i+1 == len(b):
		return i + 1, true
	}
	return 0, false
}
