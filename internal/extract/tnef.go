package extract

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// Outlook sends a message written in rich text as TNEF (MS-OXTNEF): its
// attachments travel inside one attachment, winmail.dat
// (application/ms-tnef). The attachments are read from it as files of
// their own.

var magicTNEF = []byte{0x78, 0x9F, 0x3E, 0x22}

// TNEF attribute IDs (level 2: attachment).
const (
	tnefAttachRendData = 0x00069002 // starts an attachment
	tnefAttachTitle    = 0x00018010 // its file name, 8-bit
	tnefAttachData     = 0x0006800F // its bytes
	tnefLevelAttach    = 2
)

// tnef reads the attachments of a TNEF stream.
func (s *state) tnef(name string, data []byte, depth int) {
	if depth+1 > s.lim.MaxDepth {
		s.limit(KindLimitDepth, name, "files nested deeper than "+strconv.Itoa(s.lim.MaxDepth))
		return
	}
	type attachment struct {
		title string
		data  []byte
	}
	var atts []attachment
	i := 6 // signature and key
	for i+9 <= len(data) {
		if s.tick(name) {
			return
		}
		level := data[i]
		id := binary.LittleEndian.Uint32(data[i+1:])
		n := int(binary.LittleEndian.Uint32(data[i+5:]))
		i += 9
		if n < 0 || n > len(data)-i {
			s.problem(KindParse, name, "damaged TNEF attachment (winmail.dat)")
			break
		}
		v := data[i : i+n]
		i += n + 2 // value and checksum
		if level != tnefLevelAttach {
			continue
		}
		switch id {
		case tnefAttachRendData:
			atts = append(atts, attachment{})
		case tnefAttachTitle:
			if len(atts) > 0 {
				atts[len(atts)-1].title = strings.TrimRight(Decode(v), "\x00 ")
			}
		case tnefAttachData:
			if len(atts) > 0 {
				atts[len(atts)-1].data = v
			}
		}
	}
	for k, a := range atts {
		if s.expired(name) || !s.entry(name) {
			return
		}
		if len(a.data) == 0 {
			continue
		}
		title := strings.ReplaceAll(a.title, "/", "_")
		if title == "" {
			title = "attachment " + strconv.Itoa(k+1)
		}
		s.file(name+"/"+title, a.data, depth+1)
	}
}
