package message

import (
	"bytes"
	"compress/zlib"
	"io"
	"strings"
)

// PDF attachments are read for their link annotations (/URI actions),
// which is where "Save as PDF" puts the hyperlinks of a document. This goes
// beyond what the policy strictly needs, so its bounds are silent: a PDF
// too large to read is measured and checked for encryption like any binary
// part, without a problem that would hold the message.
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
	uris = appendPDFURIs(uris, data)
	inflated := 0
	for rest := data; len(rest) > 0 && inflated < maxPDFInflate; {
		i := bytes.Index(rest, []byte("/ObjStm"))
		if i < 0 || in.expired(p.Path) {
			break
		}
		rest = rest[i:]
		stream, dict, next := pdfStream(rest)
		rest = next
		if stream == nil || !bytes.Contains(dict, []byte("/FlateDecode")) {
			continue
		}
		zr, err := zlib.NewReader(bytes.NewReader(stream))
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(zr, int64(maxPDFInflate-inflated)))
		inflated += len(b)
		uris = appendPDFURIs(uris, b)
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
func appendPDFURIs(out []string, b []byte) []string {
	for {
		i := bytes.Index(b, []byte("/URI"))
		if i < 0 || len(out) >= maxLinksPerText {
			return out
		}
		b = b[i+4:]
		j := 0
		for j < len(b) && (b[j] == ' ' || b[j] == '\r' || b[j] == '\n' || b[j] == '\t') {
			j++
		}
		if j >= len(b) {
			return out
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
