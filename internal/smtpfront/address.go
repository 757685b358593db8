package smtpfront

import (
	"errors"
	"net/netip"
	"strings"
	"unicode/utf8"
)

var (
	errAddrSyntax    = errors.New("smtpfront: bad address syntax")
	errAddrNeedsUTF8 = errors.New("smtpfront: non-ASCII address without SMTPUTF8")
)

// RFC 5321 section 4.5.3.1: local part 64 octets, domain 255, path 256
// including the angle brackets.
const (
	maxLocalPart = 64
	maxDomain    = 255
	maxAddress   = 254
)

// checkAddress validates a mailbox as go-smtp hands it over. go-smtp's parser
// is lenient: it removes the quotes of a quoted local part and lets the
// domain contain anything but space, tab and '>'. Such a string would later
// be written verbatim into RCPT TO and MAIL FROM commands upstream, where a
// space, a stray '@' or a bare CR changes its meaning. So only what can be
// written back without quoting is accepted: a dot-atom local part and a
// host name or address literal. Non-ASCII (RFC 6531) needs utf8, which the
// client declares with the SMTPUTF8 parameter on MAIL.
func checkAddress(addr string, allowUTF8 bool) error {
	if addr == "" || len(addr) > maxAddress {
		return errAddrSyntax
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return errAddrSyntax
	}
	local, domain := addr[:at], addr[at+1:]
	ascii := true
	if len(local) > maxLocalPart || !checkDotAtom(local, &ascii) {
		return errAddrSyntax
	}
	if !checkDomain(domain, &ascii) {
		return errAddrSyntax
	}
	if !ascii {
		if !utf8.ValidString(addr) {
			return errAddrSyntax
		}
		if !allowUTF8 {
			return errAddrNeedsUTF8
		}
	}
	return nil
}

// checkDotAtom reports whether s is an RFC 5321 Dot-string (atoms of atext
// joined by single dots), with RFC 6531 UTF-8 allowed in atoms.
func checkDotAtom(s string, ascii *bool) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			*ascii = false
		case c == '.' || isAtext(c):
		default:
			return false
		}
	}
	return true
}

func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// checkDomain accepts a host name of letter-digit-hyphen labels (UTF-8
// labels allowed), or an address literal [192.0.2.1] / [IPv6:2001:db8::1].
func checkDomain(d string, ascii *bool) bool {
	if d == "" || len(d) > maxDomain {
		return false
	}
	if d[0] == '[' {
		if d[len(d)-1] != ']' {
			return false
		}
		lit := d[1 : len(d)-1]
		if v6, ok := strings.CutPrefix(lit, "IPv6:"); ok {
			a, err := netip.ParseAddr(v6)
			return err == nil && a.Is6() && a.Zone() == ""
		}
		a, err := netip.ParseAddr(lit)
		return err == nil && a.Is4()
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= 0x80:
				*ascii = false
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
			default:
				return false
			}
		}
	}
	return true
}
