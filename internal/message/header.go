package message

import (
	"bufio"
	"bytes"
	"errors"
	"maps"
	"mime"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// maxHeaderBytes bounds one header block. Real headers, Received chains
// and DKIM signatures included, stay far below it; the bound keeps a
// hostile header from costing a field allocation per line of the message.
const maxHeaderBytes = 256 << 10

var (
	errHeaderTooBig = errors.New("header block larger than 256 KiB")
	errNoBoundary   = errors.New("multipart without boundary parameter")
	errNoDelimiter  = errors.New("multipart body without any boundary delimiter")
)

type header = textproto.Header

// wordDecoder decodes RFC 2047 encoded words in every charset the charset
// package knows. It holds no state.
var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// parseHeader parses a header block with go-message. A block with a
// malformed line (no colon, bad key) is parsed again without the bad lines,
// so that one broken line does not hide the Content-Type after it; the
// error is still returned.
func parseHeader(b []byte) (header, error) {
	if len(b) == 0 {
		return header{}, nil
	}
	// An mbox "From " line before the header is not a field.
	if bytes.HasPrefix(b, []byte("From ")) {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		} else {
			b = nil
		}
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		// The last field would otherwise be lost at EOF.
		b = append(b[:len(b):len(b)], '\r', '\n')
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(b)))
	if err == nil {
		return h, nil
	}
	h2, err2 := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(sanitizeHeader(b))))
	if err2 == nil {
		h = h2
	}
	return h, errors.New("malformed header line")
}

// sanitizeHeader drops lines that are neither "Key: value" with a valid key
// nor continuations of a kept line.
func sanitizeHeader(b []byte) []byte {
	out := make([]byte, 0, len(b))
	keep := false
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i+1], b[i+1:]
		} else {
			b = nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			if keep {
				out = append(out, line...)
			}
			continue
		}
		keep = validFieldLine(line)
		if keep {
			out = append(out, line...)
		}
	}
	return out
}

func validFieldLine(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	for _, c := range bytes.TrimRight(line[:i], " \t") {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// entityHeader is what the walk needs from one entity's header.
type entityHeader struct {
	h           header
	mediaType   string            // lower-case; "" when Content-Type is absent
	params      map[string]string // Content-Type parameters, lower-case keys
	charset     string            // lower-case
	cte         string            // Content-Transfer-Encoding, lower-case
	disposition string            // "inline", "attachment" or ""
	filename    string            // decoded
	encrypted   bool              // set by the binary inspection
	inEncrypted bool              // a part of a multipart/encrypted (PGP/MIME)
	issues      []issue           // what makes the header ambiguous or partly read
}

// issue is a problem found in one entity's header, reported by the walk
// with the entity's path.
type issue struct{ kind, detail string }

// sameField reports whether two values of a MIME field say the same:
// the same value and parameters, however quoted or spaced.
func sameField(a, b string) bool {
	if strings.TrimSpace(a) == strings.TrimSpace(b) {
		return true
	}
	va, pa, _ := parseParams(a)
	vb, pb, _ := parseParams(b)
	return strings.Trim(va, "\"'") == strings.Trim(vb, "\"'") && maps.Equal(pa, pb)
}

func parseEntityHeader(h header) *entityHeader {
	eh := &entityHeader{h: h}
	// Readers differ in which of several such fields they obey (the first,
	// the last, or none), so a field repeated with another value makes the
	// structure ambiguous.
	for _, k := range [...]string{"Content-Type", "Content-Transfer-Encoding", "Content-Disposition"} {
		vals := h.Values(k)
		for _, v := range vals[min(1, len(vals)):] {
			if !sameField(v, vals[0]) {
				eh.issues = append(eh.issues, issue{KindAmbiguous, k + " field repeated with another value"})
				break
			}
		}
	}
	if v := h.Get("Content-Type"); v != "" {
		var pi issue
		eh.mediaType, eh.params, pi = parseParams(v)
		if pi.kind != "" {
			pi.detail = "Content-Type: " + pi.detail
			eh.issues = append(eh.issues, pi)
		}
		if !strings.Contains(eh.mediaType, "/") {
			// RFC 2045 5.2: an unusable Content-Type means text/plain.
			eh.mediaType = "text/plain"
		}
	}
	if eh.params == nil {
		eh.params = map[string]string{}
	}
	eh.charset = strings.ToLower(strings.Trim(eh.params["charset"], " \t\"'"))
	eh.cte = strings.ToLower(strings.Trim(h.Get("Content-Transfer-Encoding"), " \t\"'"))
	disp, dparams, pi := parseParams(h.Get("Content-Disposition"))
	if pi.kind != "" {
		pi.detail = "Content-Disposition: " + pi.detail
		eh.issues = append(eh.issues, pi)
	}
	switch disp {
	case "inline", "attachment":
		eh.disposition = disp
	}
	name := dparams["filename"]
	if name == "" {
		name = eh.params["name"]
	}
	eh.filename = decodeParamText(name)
	return eh
}

// isMessage reports whether the entity is an attached message, including
// .eml files sent as application/octet-stream.
func (eh *entityHeader) isMessage() bool {
	switch eh.mediaType {
	case "message/rfc822", "message/global", "message/news":
		return true
	}
	// A saved web page (MHTML) is a MIME message too.
	switch strings.ToLower(path.Ext(eh.filename)) {
	case ".eml", ".mht", ".mhtml":
		return true
	}
	return false
}

func (eh *entityHeader) isAttachment() bool {
	return eh.filename != "" || eh.disposition == "attachment" || eh.encryptedContent()
}

// encryptedContent reports whether the part is an encrypted message body:
// S/MIME enveloped data, or the payload of a PGP/MIME multipart/encrypted.
// Nothing in it can be inspected, which the policy must be able to see.
func (eh *entityHeader) encryptedContent() bool {
	switch eh.mediaType {
	case "application/pkcs7-mime", "application/x-pkcs7-mime":
		return !strings.EqualFold(eh.params["smime-type"], "signed-data") &&
			!strings.EqualFold(eh.params["smime-type"], "certs-only")
	case "application/octet-stream", "application/pgp-encrypted":
		return eh.inEncrypted && eh.mediaType == "application/octet-stream"
	}
	return false
}

// parseParams parses "value; k=v; k*=charset'lang'pct; k*0=...; k*1*=..."
// tolerantly: quoted strings with escapes, unquoted values with spaces,
// RFC 2231 extended values in any charset and continuations. The standard
// library accepts RFC 2231 only in US-ASCII and UTF-8, which loses the
// ISO-2022-JP and Shift_JIS file names Japanese mailers write.
//
// A parameter given twice with different values (also as two RFC 2231
// sections with one number, or plain and extended), and a boundary given
// twice at all, is reported as an ambiguous issue: readers differ in which
// one they take, and strict ones refuse the field. Parameters past
// maxParams are not read, which is reported as a limit issue.
func parseParams(v string) (string, map[string]string, issue) {
	value, rest, _ := strings.Cut(v, ";")
	value = strings.ToLower(strings.TrimSpace(value))
	if rest == "" {
		return value, nil, issue{}
	}
	var is issue
	dup := func(name string) {
		if is.kind == "" {
			is = issue{KindAmbiguous, "parameter " + strconv.Quote(name) + " given more than once"}
		}
	}
	params := make(map[string]string)
	type segment struct {
		idx int
		enc bool
		val string
	}
	var ext map[string][]segment
	n := 0
	for ; rest != "" && n < maxParams; n++ {
		rest = strings.TrimLeft(rest, " \t\r\n;")
		i := strings.IndexAny(rest, "=;")
		if i < 0 {
			break
		}
		if rest[i] == ';' {
			rest = rest[i+1:]
			continue
		}
		key := strings.ToLower(strings.TrimSpace(rest[:i]))
		rest = strings.TrimLeft(rest[i+1:], " \t\r\n")
		var val string
		if strings.HasPrefix(rest, `"`) {
			val, rest = unquote(rest)
		} else {
			j := strings.IndexByte(rest, ';')
			if j < 0 {
				j = len(rest)
			}
			val, rest = strings.TrimSpace(rest[:j]), rest[j:]
		}
		if name, sect, ok := strings.Cut(key, "*"); ok {
			s := segment{enc: strings.HasSuffix(sect, "*") || sect == ""}
			if num := strings.TrimSuffix(sect, "*"); num != "" {
				idx, err := strconv.Atoi(num)
				if err != nil || idx < 0 || idx > 999 {
					if is.kind == "" {
						is = issue{KindLimitSize, "parameter section " + strconv.Quote(key) + " not read"}
					}
					continue
				}
				s.idx = idx
			}
			s.val = val
			if ext == nil {
				ext = make(map[string][]segment)
			}
			for _, o := range ext[name] {
				if o.idx == s.idx && (o.val != s.val || name == "boundary") {
					dup(name)
				}
			}
			ext[name] = append(ext[name], s)
			continue
		}
		if old, seen := params[key]; !seen {
			params[key] = val
		} else if old != val || key == "boundary" {
			dup(key)
		}
	}
	if strings.TrimLeft(rest, " \t\r\n;") != "" && n == maxParams && is.kind == "" {
		is = issue{KindLimitSize, "more than " + strconv.Itoa(maxParams) + " parameters"}
	}
	for name, segs := range ext {
		slices.SortStableFunc(segs, func(a, b segment) int { return a.idx - b.idx })
		var cs string
		var buf []byte
		for i, s := range segs {
			val := s.val
			if s.enc && i == 0 {
				// charset'language'value
				if a, b, ok := strings.Cut(val, "'"); ok {
					if _, c, ok := strings.Cut(b, "'"); ok {
						cs, val = a, c
					}
				}
			}
			if s.enc {
				buf = append(buf, percentDecode(val)...)
			} else {
				buf = append(buf, val...)
			}
		}
		ev := charsetString(buf, cs)
		if old, ok := params[name]; ok && old != ev && decodeParamText(old) != ev {
			// name="a.txt" with name*=…a.html: which one a reader uses
			// decides how it opens the part. An ASCII stand-in for a
			// file name (filename="report.pdf", filename*=…報告.pdf), as
			// HTTP does it, opens the same way.
			if (name != "name" && name != "filename") ||
				!strings.EqualFold(path.Ext(decodeParamText(old)), path.Ext(ev)) {
				dup(name)
			}
		}
		params[name] = ev
	}
	return value, params, is
}

// maxParams bounds the parameters read from one field.
const maxParams = 64

// unquote reads a quoted-string at the start of s and returns its content
// and the rest. An unterminated string runs to the next ";" or the end.
func unquote(s string) (string, string) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(s[i])
		}
	}
	v := s[1:]
	if j := strings.IndexByte(v, ';'); j >= 0 {
		return v[:j], v[j:]
	}
	return v, ""
}

// percentDecode decodes %XX escapes and leaves malformed ones as they are.
func percentDecode(s string) []byte {
	if !strings.Contains(s, "%") {
		return []byte(s)
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

// charsetString converts b from charset cs (possibly "") to UTF-8, best
// effort.
func charsetString(b []byte, cs string) string {
	s, _ := toUTF8(b, cs)
	return s
}

// decodeParamText decodes a parameter value that may carry RFC 2047
// encoded words (not allowed there, but what many mailers, Japanese ones
// above all, write) or raw 8-bit text.
func decodeParamText(s string) string {
	if s == "" {
		return ""
	}
	return decodeHeaderText(s)
}

// decodeHeaderText decodes an unstructured header value: RFC 2047 encoded
// words in any known charset, raw ISO-2022-JP escape sequences and raw
// 8-bit text in an undeclared charset.
func decodeHeaderText(s string) string {
	s, _ = decodeHeaderTextErr(s)
	return s
}

func decodeHeaderTextErr(s string) (string, error) {
	// Raw (undeclared) ISO-2022-JP or 8-bit text is converted before the
	// encoded words are decoded: encoded words are ASCII and pass through
	// unchanged, while what they decode to must not be guessed at again
	// (an ESC inside a UTF-8 encoded word is not ISO-2022-JP).
	if !utf8.ValidString(s) || strings.Contains(s, "\x1b") {
		s, _ = toUTF8([]byte(s), "")
	}
	var err error
	if strings.Contains(s, "=?") {
		var d string
		if d, err = wordDecoder.DecodeHeader(padEncodedWords(s)); err == nil {
			// A UTF-8 word may decode to bytes that are not UTF-8.
			s = strings.ToValidUTF8(d, "\uFFFD")
		}
	}
	return s, err
}

// padEncodedWords adds the padding that B-encoded words in s lack. Mail
// readers decode "=?utf-8?b?aHR0cHM6Ly9h?=" style words without it; the
// standard library leaves them undecoded, which would hide their text.
func padEncodedWords(s string) string {
	var b strings.Builder // written only once a word needs padding
	done := 0             // s[:done] is in b
	for pos := 0; ; {
		i := strings.Index(s[pos:], "=?")
		if i < 0 {
			break
		}
		// =?charset?B?payload?=
		w := pos + i + 2
		q1 := strings.IndexByte(s[w:], '?')
		if q1 < 0 || w+q1+2 >= len(s) || s[w+q1+2] != '?' || (s[w+q1+1] != 'b' && s[w+q1+1] != 'B') {
			pos = w
			continue
		}
		p := w + q1 + 3
		end := strings.Index(s[p:], "?=")
		if end < 0 {
			break
		}
		payload := s[p : p+end]
		n := len(strings.TrimRight(payload, "="))
		if add := (4-n%4)%4 - (len(payload) - n); n%4 > 1 && add > 0 {
			b.WriteString(s[done : p+end])
			b.WriteString("=="[:add])
			done = p + end
		}
		pos = p + end
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// addresses returns the lower-cased addresses of address-list header
// values. A value the RFC 5322 parser rejects is scanned for anything that
// looks like an address: a recipient must not vanish because its display
// name is malformed.
func addresses(vals []string) []string {
	var out []string
	seen := make(map[string]bool)
	add := func(a string) {
		a = strings.ToLower(strings.TrimSpace(a))
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, v := range vals {
		if strings.TrimSpace(v) == "" {
			continue
		}
		list, err := mail.ParseAddressList(v)
		if err == nil {
			for _, a := range list {
				add(a.Address)
			}
			continue
		}
		for _, a := range scanAddresses(v) {
			add(a)
		}
	}
	return out
}

// scanAddresses finds local@domain tokens in s.
func scanAddresses(s string) []string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '@' {
			continue
		}
		j := i
		for j > 0 && isLocalByte(s[j-1]) {
			j--
		}
		k := i + 1
		for k < len(s) && (isHostByte(s[k]) || s[k] >= 0x80) {
			k++
		}
		local, domain := s[j:i], strings.Trim(s[i+1:k], ".-")
		if local != "" && strings.Contains(domain, ".") {
			out = append(out, local+"@"+domain)
		}
		i = k - 1
	}
	return out
}

func isLocalByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+/=?^_`{|}~.-", c) >= 0
}

func isHostByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-'
}
