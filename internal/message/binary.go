package message

import (
	"bytes"
	"encoding/binary"
	"path"
	"strings"
)

// A binary part is never decoded in full. Encryption markers live at the
// start of a file (RAR, 7z start header, ZIP local headers, linearised PDF
// trailers) or at its end (ZIP central directory, 7z header, PDF trailer),
// so only that much is decoded.
const (
	sampleHead = 64 << 10
	sampleTail = 256 << 10
)

// sample is what is known of a binary part without decoding all of it.
type sample struct {
	size  int64  // decoded size
	head  []byte // the first decoded bytes
	tail  []byte // the last decoded bytes (overlaps head when whole)
	whole bool   // head is the entire content
	bad   bool   // malformed transfer encoding seen
}

// sampleBinary measures a binary part and decodes its two ends.
func sampleBinary(cte string, body []byte) sample {
	var s sample
	switch cte {
	case "base64":
		// Every byte that is not a line break or blank is a base64
		// character (invalid ones are rare and only skew the estimate):
		// counting needs no decoding, and bytes.Count is vectorised.
		ws := bytes.Count(body, []byte{'\n'}) + bytes.Count(body, []byte{'\r'}) +
			bytes.Count(body, []byte{' '}) + bytes.Count(body, []byte{'\t'})
		n := len(body) - ws
		rawHead := sampleHead/3*4 + sampleHead/3*4/38 + 16 // with line breaks
		rawTail := sampleTail/3*4 + sampleTail/3*4/38 + 16
		if len(body) <= rawHead+rawTail {
			d, bad := decodeBase64(body, int64(len(body)))
			s.size, s.head, s.tail, s.whole, s.bad = int64(len(d)), d, d, true, bad
			return s
		}
		pad := 0
		for i := len(body) - 1; i >= 0 && pad < 3; i-- {
			c := body[i]
			if c == '=' {
				pad++
			} else if c != '\n' && c != '\r' && c != ' ' && c != '\t' {
				break
			}
		}
		s.size = int64(n-pad) * 6 / 8
		s.head, s.bad = decodeBase64(body[:rawHead], sampleHead)
		// Align the tail on a 4-character quantum of the whole stream.
		t := body[len(body)-rawTail:]
		before := n - (len(t) - (bytes.Count(t, []byte{'\n'}) + bytes.Count(t, []byte{'\r'}) +
			bytes.Count(t, []byte{' '}) + bytes.Count(t, []byte{'\t'})))
		skip := (4 - before%4) % 4
		for skip > 0 && len(t) > 0 {
			if c := t[0]; c != '\n' && c != '\r' && c != ' ' && c != '\t' {
				skip--
			}
			t = t[1:]
		}
		var bad bool
		s.tail, bad = decodeBase64(t, int64(len(t)))
		s.bad = s.bad || bad
	case "quoted-printable":
		// Rare for binary content; decoding it is linear and bounded by
		// the part itself.
		s = sampleOf(decodeQP(body, int64(len(body))))
	default:
		s = sampleOf(body)
	}
	return s
}

func sampleOf(d []byte) sample {
	s := sample{size: int64(len(d))}
	if len(d) <= sampleHead+sampleTail {
		s.head, s.tail, s.whole = d, d, true
		return s
	}
	s.head, s.tail = d[:sampleHead], d[len(d)-sampleTail:]
	return s
}

var (
	magicZIP   = []byte("PK\x03\x04")
	magicZIP0  = []byte("PK\x05\x06") // empty archive
	magic7z    = []byte{'7', 'z', 0xBC, 0xAF, 0x27, 0x1C}
	magicRAR4  = []byte("Rar!\x1a\x07\x00")
	magicRAR5  = []byte("Rar!\x1a\x07\x01\x00")
	magicPDF   = []byte("%PDF-")
	magicCFB   = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	aes7zCoder = []byte{0x06, 0xF1, 0x07, 0x01}
)

// detectEncrypted reports whether a binary part is an encrypted archive or
// document, from the markers visible in its sampled ends.
func detectEncrypted(s sample, filename, mediaType string) bool {
	h := s.head
	switch {
	case bytes.HasPrefix(h, magicZIP), bytes.HasPrefix(h, magicZIP0):
		return zipEncrypted(s.head) || (!s.whole && zipEncrypted(s.tail))
	case bytes.HasPrefix(h, magic7z):
		return sevenZipEncrypted(s)
	case bytes.HasPrefix(h, magicRAR5):
		return rar5Encrypted(h)
	case bytes.HasPrefix(h, magicRAR4):
		return rar4Encrypted(h)
	case bytes.HasPrefix(h, magicPDF):
		return bytes.Contains(s.head, []byte("/Encrypt")) || bytes.Contains(s.tail, []byte("/Encrypt"))
	case bytes.HasPrefix(h, magicCFB):
		return cfbEncrypted(s, filename)
	}
	return false
}

// zipEncrypted looks for central directory and local file headers with
// general-purpose flag bit 0 (encrypted, also set for AES) in b.
func zipEncrypted(b []byte) bool {
	for i := 0; i+10 <= len(b); {
		j := bytes.Index(b[i:], []byte("PK"))
		if j < 0 {
			return false
		}
		i += j
		if i+10 > len(b) {
			return false
		}
		switch {
		case b[i+2] == 1 && b[i+3] == 2: // central directory header
			if binary.LittleEndian.Uint16(b[i+8:])&1 != 0 {
				return true
			}
		case b[i+2] == 3 && b[i+3] == 4: // local file header
			if binary.LittleEndian.Uint16(b[i+6:])&1 != 0 {
				return true
			}
		}
		i += 2
	}
	return false
}

// sevenZipEncrypted finds the 7z next header through the start header and
// looks for the AES-256 coder in it. That catches archives with encrypted
// headers (-mhe) and those whose header is stored plain; when the header
// is LZMA-compressed, the coder list is hidden and nothing is claimed.
func sevenZipEncrypted(s sample) bool {
	h := s.head
	if len(h) < 32 {
		return false
	}
	off := binary.LittleEndian.Uint64(h[12:])
	size := binary.LittleEndian.Uint64(h[20:])
	if off > uint64(s.size) || size > uint64(s.size) {
		return false
	}
	start := 32 + int64(off)
	end := start + int64(size)
	if end > s.size {
		return false
	}
	var nh []byte
	if s.whole {
		nh = h[start:end]
	} else if tailStart := s.size - int64(len(s.tail)); start >= tailStart {
		nh = s.tail[start-tailStart : end-tailStart]
	} else {
		return false
	}
	return bytes.Contains(nh, aes7zCoder)
}

// rar4Encrypted walks RAR 4 block headers: the main header's "headers
// encrypted" flag or any file header's "password" flag.
func rar4Encrypted(b []byte) bool {
	i := len(magicRAR4)
	for n := 0; n < 1000 && i+7 <= len(b); n++ {
		typ := b[i+2]
		flags := binary.LittleEndian.Uint16(b[i+3:])
		size := int(binary.LittleEndian.Uint16(b[i+5:]))
		if size < 7 {
			return false
		}
		switch typ {
		case 0x73: // MAIN_HEAD
			if flags&0x0080 != 0 {
				return true
			}
		case 0x74: // FILE_HEAD
			if flags&0x0004 != 0 {
				return true
			}
		}
		next := i + size
		if flags&0x8000 != 0 || typ == 0x74 {
			if i+11 > len(b) {
				return false
			}
			next += int(binary.LittleEndian.Uint32(b[i+7:]))
		}
		if next <= i {
			return false
		}
		i = next
	}
	return false
}

// rar5Encrypted walks RAR 5 headers: an archive encryption header, or a
// file header with an encryption extra record.
func rar5Encrypted(b []byte) bool {
	i := len(magicRAR5)
	for n := 0; n < 1000 && i+4 < len(b); n++ {
		p := i + 4 // CRC32
		hsize, k := vint(b, p)
		if k == 0 || hsize == 0 || hsize > 2<<20 {
			return false
		}
		p += k
		hstart := p
		hend := hstart + int(hsize)
		if hend > len(b) {
			return false
		}
		typ, k := vint(b, p)
		p += k
		flags, k := vint(b, p)
		p += k
		var extra, data uint64
		if flags&1 != 0 {
			extra, k = vint(b, p)
			p += k
		}
		if flags&2 != 0 {
			data, k = vint(b, p)
			p += k
		}
		if typ == 4 { // archive encryption header
			return true
		}
		if (typ == 2 || typ == 3) && extra > 0 && extra <= hsize {
			for q := hend - int(extra); q < hend; {
				rsize, k := vint(b[:hend], q)
				if k == 0 || rsize == 0 {
					break
				}
				rtype, _ := vint(b[:hend], q+k)
				if rtype == 1 { // file encryption record
					return true
				}
				q += k + int(rsize)
			}
		}
		if data > uint64(len(b)) {
			return false
		}
		i = hend + int(data)
	}
	return false
}

// vint reads a RAR 5 variable-length integer at b[i:]; k is its length, 0
// if truncated.
func vint(b []byte, i int) (v uint64, k int) {
	for shift := uint(0); i+k < len(b) && shift < 64; shift += 7 {
		c := b[i+k]
		k++
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, k
		}
	}
	return 0, 0
}

// cfbEncrypted decides for a Compound File (OLE) container: an Office Open
// XML name on a CFB file means an encrypted OOXML package, and so do the
// EncryptionInfo / EncryptedPackage streams (directory names are UTF-16LE).
func cfbEncrypted(s sample, filename string) bool {
	switch strings.ToLower(path.Ext(filename)) {
	case ".docx", ".docm", ".xlsx", ".xlsm", ".pptx", ".pptm", ".xlsb":
		return true
	}
	for _, name := range [][]byte{utf16le("EncryptionInfo"), utf16le("EncryptedPackage")} {
		if bytes.Contains(s.head, name) || bytes.Contains(s.tail, name) {
			return true
		}
	}
	return false
}

func utf16le(s string) []byte {
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return b
}
