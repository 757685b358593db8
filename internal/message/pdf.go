package message

import (
	"bytes"
	"compress/zlib"
	"io"
	"strconv"
	"strings"
)

// PDF attachments are read for their link annotations (/URI actions),
// which is where "Save as PDF" puts the hyperlinks of a document. Like
// every bound in inspection, these fail closed: a PDF too large to read,
// more object-stream data than is inflated, an object stream that cannot
// be decoded, more links than are read or a longer URI make the
// inspection incomplete.
const (
	maxPDFScan    = 32 << 20 // larger PDFs are not read for links
	maxPDFInflate = 8 << 20  // total bytes inflated from object streams
	maxPDFURI     = 4096     // longest URI string read
)

// pdfLinks decodes a PDF part in full and records its /URI targets, also
// those in compressed object streams (PDF 1.5+).
func (in *inspector) pdfLinks(eh *entityHeader, body []byte, p *Part) {
	data := in.transferDecode(eh, body, p.Path, maxPDFScan)
	var uris []string
	complete := true
	uris, complete = appendPDFURIs(uris, data)
	inflated := 0
	for rest := data; len(rest) > 0 && complete; {
		i := bytes.Index(rest, []byte("/ObjStm"))
		if i < 0 || in.expired(p.Path) {
			break
		}
		rest = rest[i:]
		stream, dict, next := pdfStream(rest)
		rest = next
		if stream == nil {
			continue
		}
		if !bytes.Contains(dict, []byte("/FlateDecode")) {
			if bytes.Contains(dict, []byte("/Filter")) {
				in.problem(p.Path, KindParse, "PDF object stream with a filter that is not read")
			}
			continue // an unfiltered stream was read with the file
		}
		if inflated >= maxPDFInflate {
			in.limit(p.Path, KindLimitSize, "PDF object streams larger than "+strconv.Itoa(maxPDFInflate)+" bytes")
			break
		}
		zr, err := zlib.NewReader(bytes.NewReader(stream))
		if err != nil {
			in.problem(p.Path, KindParse, "PDF object stream: "+err.Error())
			continue
		}
		b, err := io.ReadAll(io.LimitReader(zr, int64(maxPDFInflate-inflated)+1))
		if err != nil && err != io.ErrUnexpectedEOF {
			// A missing checksum at the end (ErrUnexpectedEOF) loses
			// nothing; corrupt data may hide links.
			in.problem(p.Path, KindParse, "PDF object stream: "+err.Error())
		}
		if inflated+len(b) > maxPDFInflate {
			in.limit(p.Path, KindLimitSize, "PDF object streams larger than "+strconv.Itoa(maxPDFInflate)+" bytes")
			b = b[:maxPDFInflate-inflated]
		}
		inflated += len(b)
		uris, complete = appendPDFURIs(uris, b)
	}
	if !complete {
		in.limit(p.Path, KindLimitSize, "PDF with more than "+strconv.Itoa(maxLinksPerText)+" links or a URI longer than "+strconv.Itoa(maxPDFURI)+" bytes")
	}
	for _, u := range uris {
		in.link(u, p.Path, SourcePDF, "", false)
	}
}

// pdfStream returns the data of the first stream after b's start, the
// dictionary text before it, and the rest of b after the stream.
func pdfStream(b []byte) (stream, dict, rest []byte) {
	s := bytes.Index(b, []byte("stream"))
	if s < 0 {
		return nil, nil, nil
	}
	dict = b[:s]
	start := s + len("stream")
	if start < len(b) && b[start] == '\r' {
		start++
	}
	if start < len(b) && b[start] == '\n' {
		start++
	}
	e := bytes.Index(b[start:], []byte("endstream"))
	if e < 0 {
		return nil, nil, nil
	}
	return b[start : start+e], dict, b[start+e:]
}

// appendPDFURIs appends the values of /URI entries in b: literal strings
// "(...)" with escapes and balanced parentheses, or hex strings "<...>".
// complete is false when a bound stopped it: more than maxLinksPerText
// URIs in all, or one longer than maxPDFURI.
func appendPDFURIs(out []string, b []byte) (_ []string, complete bool) {
	for {
		i := bytes.Index(b, []byte("/URI"))
		if i < 0 {
			return out, true
		}
		if len(out) >= maxLinksPerText {
			return out, false
		}
		b = b[i+4:]
		j := 0
		for j < len(b) && (b[j] == ' ' || b[j] == '\r' || b[j] == '\n' || b[j] == '\t') {
			j++
		}
		if j >= len(b) {
			return out, true
		}
		var s string
		switch b[j] {
		case '(':
			s = pdfLiteral(b[j+1:])
		case '<':
			if j+1 < len(b) && b[j+1] != '<' {
				s = pdfHex(b[j+1:])
			}
		}
		if len(s) >= maxPDFURI {
			return append(out, s), false
		}
		if s != "" {
			out = append(out, s)
		}
	}
}

// pdfLiteral reads a PDF literal string body (after "(").
func pdfLiteral(b []byte) string {
	var sb strings.Builder
	depth := 0
	for i := 0; i < len(b) && sb.Len() < maxPDFURI; i++ {
		c := b[i]
		switch c {
		case '\\':
			if i+1 >= len(b) {
				return sb.String()
			}
			i++
			switch e := b[i]; e {
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case 'b', 'f':
			case '\r', '\n': // line continuation
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'; k++ {
						i++
						v = v*8 + int(b[i]-'0')
					}
					sb.WriteByte(byte(v))
				} else {
					sb.WriteByte(e)
				}
			}
		case '(':
			depth++
			sb.WriteByte(c)
		case ')':
			if depth == 0 {
				return sb.String()
			}
			depth--
			sb.WriteByte(c)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// pdfHex reads a PDF hex string body (after "<").
func pdfHex(b []byte) string {
	var out []byte
	var hi byte
	half := false
	for _, c := range b {
		if c == '>' || len(out) >= maxPDFURI {
			break
		}
		if !isHex(c) {
			continue
		}
		if half {
			out = append(out, hi<<4|unhex(c))
		} else {
			hi = unhex(c)
		}
		half = !half
	}
	return string(out)
}
