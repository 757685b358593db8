package message

import (
	"bytes"
	"encoding/base64"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"

	"github.com/egressguard/egressguard/internal/extract"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
)

// partKind is how a leaf part is inspected.
type partKind int

const (
	kindPlain partKind = iota
	kindHTML
	kindCalendar
	kindBinary
	kindOOXML
)

// classify decides how a leaf is inspected from its media type and file
// name. Binary parts are never decoded as text: that bounds the work on
// large attachments to a byte count and a look at their ends.
func classify(eh *entityHeader) partKind {
	mt := eh.mediaType
	if mt == "" {
		mt = "text/plain"
	}
	ext := strings.ToLower(path.Ext(eh.filename))
	switch ext {
	case ".docx", ".docm", ".dotx", ".dotm", ".xlsx", ".xlsm", ".xltx", ".xltm", ".pptx", ".pptm", ".potx", ".ppsx":
		return kindOOXML
	case ".html", ".htm", ".xhtml", ".svg":
		// An SVG image is a document with links when opened on its own.
		return kindHTML
	case ".ics", ".ical", ".ifb":
		return kindCalendar
	case ".txt", ".text", ".csv", ".tsv", ".md", ".markdown", ".log",
		".rtf", ".json", ".xml", ".vcf", ".url", ".webloc", ".desktop":
		// RTF HYPERLINK fields, Internet shortcuts (.url, .webloc) and
		// structured text carry their URLs as plain ASCII.
		return kindPlain
	}
	switch {
	case strings.HasPrefix(mt, "application/vnd.openxmlformats-officedocument."):
		return kindOOXML
	case mt == "text/html", mt == "application/xhtml+xml", mt == "image/svg+xml":
		return kindHTML
	case mt == "text/calendar", mt == "application/ics":
		return kindCalendar
	case strings.HasPrefix(mt, "text/"), mt == "application/rtf", mt == "application/json", mt == "application/xml",
		strings.HasPrefix(mt, "message/"):
		// message/* that is not an attached message (delivery-status,
		// disposition-notification, …) is text.
		return kindPlain
	}
	return kindBinary
}

// decodeBase64 decodes base64 content into at most limit bytes. Invalid
// characters are skipped and reported; padding in the middle (separately
// encoded chunks concatenated) is accepted.
func decodeBase64(b []byte, limit int64) ([]byte, bool) {
	out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	// The standard decoder ignores line breaks; most content takes this path.
	if n, err := base64.StdEncoding.Decode(out, b); err == nil {
		out = out[:n]
		if int64(len(out)) > limit {
			out = out[:limit]
		}
		return out, false
	}
	out = out[:0]
	bad := false
	var q [4]byte
	nq := 0
	flush := func() {
		switch nq {
		case 2:
			out = append(out, q[0]<<2|q[1]>>4)
		case 3:
			out = append(out, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2)
		case 4:
			out = append(out, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2, q[2]<<6|q[3])
		case 1:
			bad = true
		}
		nq = 0
	}
	for _, c := range b {
		if int64(len(out)) >= limit {
			break
		}
		v := b64val[c]
		switch {
		case v < 64:
			q[nq] = v
			nq++
			if nq == 4 {
				flush()
			}
		case c == '=':
			flush()
		case c == '\r' || c == '\n' || c == ' ' || c == '\t':
		default:
			bad = true
		}
	}
	flush()
	if int64(len(out)) > limit {
		out = out[:limit]
	}
	return out, bad
}

// b64val maps a byte to its base64 value (both alphabets), 0xff if none.
var b64val = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(std); i++ {
		t[std[i]] = byte(i)
	}
	t['-'], t['_'] = 62, 63
	return t
}()

// decodeQP decodes quoted-printable content into at most limit bytes. An
// "=" that starts neither an escape nor a soft line break is kept
// literally, as every mail reader does; since nothing is lost, that is not
// reported as a problem (sloppy generators write such mail every day).
func decodeQP(b []byte, limit int64) []byte {
	out := make([]byte, 0, min(int64(len(b)), limit))
	for i := 0; i < len(b) && int64(len(out)) < limit; i++ {
		c := b[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		if i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
			continue
		}
		// Soft line break: "=", optional transport padding, line end.
		j := i + 1
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
		switch {
		case j == len(b):
			i = j - 1
			continue
		case b[j] == '\n':
			i = j
			continue
		case b[j] == '\r' && j+1 < len(b) && b[j+1] == '\n':
			i = j + 1
			continue
		}
		out = append(out, c)
	}
	return out
}

// toUTF8 converts text in the declared charset to UTF-8 with LF line ends.
// An unknown charset yields best-effort text and a problem description.
// Text declared US-ASCII or UTF-8 (or undeclared) that is not is decoded by
// guessing: Japanese mailers have long sent ISO-2022-JP and Shift_JIS
// without saying so.
func toUTF8(b []byte, cs string) (string, string) {
	cs = strings.ToLower(strings.Trim(cs, " \t\"'"))
	var s, problem string
	switch cs {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "x-unknown", "unknown-8bit", "default":
		if bytes.IndexByte(b, 0x1b) < 0 && bytes.IndexByte(b, 0) < 0 && utf8.Valid(b) {
			// By far the most common case, guessText's first: the
			// bytes as they are, CRLFs made LFs in the same copy.
			return crlfToLF(b), ""
		}
		s = guessText(b)
	default:
		if cs == "iso-2022-jp" && utf8.Valid(b) && !bytes.Contains(b, []byte{0x1b}) {
			s = string(b) // mislabelled UTF-8; decoding it as JIS would destroy it
			break
		}
		var r io.Reader
		var err error
		if enc, ok := charsetAliases[cs]; ok {
			r = enc.NewDecoder().Reader(bytes.NewReader(b))
		} else {
			r, err = charset.Reader(cs, bytes.NewReader(b))
		}
		if err != nil {
			problem = "unknown charset " + strconv.Quote(cs)
			s = guessText(b)
			break
		}
		out, err := io.ReadAll(r)
		if err != nil {
			problem = "cannot decode charset " + strconv.Quote(cs)
		}
		s = strings.ToValidUTF8(string(out), "\uFFFD")
	}
	if strings.Contains(s, "\r") {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	return s, problem
}

// crlfToLF returns b as a string with every CRLF made LF, as
// strings.ReplaceAll(string(b), "\r\n", "\n") does, in one copy.
func crlfToLF(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for {
		i := bytes.IndexByte(b, '\r')
		if i < 0 || i+1 == len(b) {
			break
		}
		if b[i+1] == '\n' {
			sb.Write(b[:i]) // the LF starts the rest
		} else {
			sb.Write(b[:i+1])
		}
		b = b[i+1:]
	}
	sb.Write(b)
	return sb.String()
}

// charsetAliases are labels Japanese, Korean and Windows mailers use that
// the charset package does not know, mapped to the closest decoder (the
// WHATWG Shift_JIS, EUC-JP and ISO-2022-JP decoders include the Microsoft
// extensions these labels stand for).
var charsetAliases = map[string]encoding.Encoding{
	"cp932": japanese.ShiftJIS, "windows-932": japanese.ShiftJIS, "cp943": japanese.ShiftJIS,
	"x-ms-cp932": japanese.ShiftJIS, "shift_jis-2004": japanese.ShiftJIS, "shift_jisx0213": japanese.ShiftJIS,
	"sjis-win": japanese.ShiftJIS, "sjis-open": japanese.ShiftJIS, "x-mac-japanese": japanese.ShiftJIS,
	"iso-2022-jp-1": japanese.ISO2022JP, "iso-2022-jp-2": japanese.ISO2022JP, "iso-2022-jp-3": japanese.ISO2022JP,
	"iso-2022-jp-2004": japanese.ISO2022JP, "iso-2022-jp-ms": japanese.ISO2022JP, "cp50220": japanese.ISO2022JP,
	"cp50221": japanese.ISO2022JP, "cp50222": japanese.ISO2022JP,
	"eucjp-ms": japanese.EUCJP, "cp51932": japanese.EUCJP, "euc-jis-2004": japanese.EUCJP, "eucjp-open": japanese.EUCJP,
	"cp949": korean.EUCKR, "windows-949": korean.EUCKR,
	"cp-850": charmap.CodePage850,
}

// guessText decodes text of unknown charset (package extract sniffs it:
// BOM, UTF-16, ISO-2022-JP, UTF-8, Shift_JIS or EUC-JP, Windows-1252).
func guessText(b []byte) string {
	return extract.Decode(b)
}

// unflow joins format=flowed (RFC 3676) soft line breaks so that a URL
// wrapped by the sender's client is whole again. Quote depth is kept.
func unflow(s string, delsp bool) string {
	var b strings.Builder
	b.Grow(len(s))
	inPara := false
	paraDepth := 0
	for line := range strings.SplitSeq(s, "\n") {
		depth := 0
		for depth < len(line) && line[depth] == '>' {
			depth++
		}
		content := line[depth:]
		content = strings.TrimPrefix(content, " ") // space-stuffing
		flowed := strings.HasSuffix(content, " ") && content != "-- "
		if inPara && depth != paraDepth {
			b.WriteByte('\n')
			inPara = false
		}
		if !inPara {
			if depth > 0 {
				b.WriteString(strings.Repeat(">", depth))
				b.WriteByte(' ')
			}
			paraDepth = depth
		}
		if flowed && delsp {
			content = content[:len(content)-1]
		}
		b.WriteString(content)
		if flowed {
			inPara = true
		} else {
			b.WriteByte('\n')
			inPara = false
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// calendarUnescape undoes RFC 5545 TEXT escaping.
var calendarUnescape = strings.NewReplacer(`\n`, "\n", `\N`, "\n", `\,`, ",", `\;`, ";", `\\`, `\`)

// unfoldCalendar unfolds RFC 5545 content lines (a line break followed by
// a blank continues the line) and unescapes TEXT values, so that a URL
// folded at 75 octets is whole again.
func unfoldCalendar(s string) string {
	s = strings.ReplaceAll(s, "\n ", "")
	s = strings.ReplaceAll(s, "\n\t", "")
	return calendarUnescape.Replace(s)
}
