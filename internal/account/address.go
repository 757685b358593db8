package account

import (
	"mime"
	"net/mail"
	"strings"

	"github.com/egressguard/egressguard/internal/message"
)

// NormalizeMailbox returns the form of a mail address under which two
// spellings of one mailbox compare equal: surrounding space and angle
// brackets removed, the local part case-folded and without its
// subaddress ("+tag"), the domain lower-cased in IDNA A-label form
// without a trailing dot. It returns "" for something that is not an
// address. It is for telling who a message is from (four-eyes checks),
// not for routing: mail servers may treat case and "+" differently. Its
// counterpart that keeps the subaddress, for where mail goes and which
// addresses an account may use, is policy.NormalizeAddr.
func NormalizeMailbox(addr string) string {
	a := strings.TrimSpace(addr)
	a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 {
		return ""
	}
	local, domain := a[:at], a[at+1:]
	// Quotes and a subaddress come off until neither is left: cutting
	// "0"+x at the '+' leaves "0", itself quoted.
	for {
		prev := local
		if len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"' {
			local = strings.ReplaceAll(local[1:len(local)-1], `\`, "")
		}
		if i := strings.IndexByte(local, '+'); i > 0 {
			local = local[:i]
		}
		if local == prev {
			break
		}
	}
	local = strings.ToLower(local)
	if local == "" || strings.ContainsAny(local, " \t\r\n<>") {
		return ""
	}
	d := message.NormalizeHost(domain)
	if d == "" {
		// Address literals are kept as written; anything else that is
		// not a host name is not an address.
		if len(domain) < 3 || domain[0] != '[' || domain[len(domain)-1] != ']' || strings.ContainsAny(domain, " \t\r\n") {
			return ""
		}
		d = strings.ToLower(domain)
	}
	return local + "@" + d
}

// SameMailbox reports whether a and b are spellings of one mailbox
// (see NormalizeMailbox).
func SameMailbox(a, b string) bool {
	na := NormalizeMailbox(a)
	return na != "" && na == NormalizeMailbox(b)
}

// HeaderAddresses returns the addresses in a header field such as From,
// as written (decoded display names allowed). A field the parser cannot
// read still yields every "local@domain" word in it, so that a malformed
// From cannot hide who it names.
func HeaderAddresses(field string) []string {
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{}}
	if list, err := p.ParseList(field); err == nil {
		out := make([]string, 0, len(list))
		for _, a := range list {
			out = append(out, a.Address)
		}
		return out
	}
	var out []string
	for w := range strings.FieldsFuncSeq(field, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == '<' || r == '>' || r == ',' ||
			r == ';' || r == ':' || r == '(' || r == ')' || r == '[' || r == ']' || r == '"'
	}) {
		if strings.Contains(w, "@") {
			out = append(out, w)
		}
	}
	return out
}
