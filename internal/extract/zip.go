package extract

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// methodAES is the WinZip AES compression method; its extra field has ID
// 0x9901.
const (
	methodAES  = 99
	extraAES   = 0x9901
	maxSniffed = 1 << 20 // entries of unknown type read to look at them
)

// zip opens a ZIP file: an Office Open XML or OpenDocument package, or an
// archive whose entries are read in turn.
func (s *state) zip(name string, data []byte, depth int) {
	if depth > s.lim.MaxDepth {
		s.limit(KindLimitDepth, name, "archives nested deeper than "+strconv.Itoa(s.lim.MaxDepth))
		return
	}
	zr, err := newZipReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if zipEncrypted(data) {
			s.res.Encrypted = true
		}
		s.problem(KindParse, name, "unreadable ZIP file: "+err.Error())
		return
	}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		if _, dup := files[f.Name]; !dup {
			files[f.Name] = f
		}
	}
	ooxml := files["[Content_Types].xml"] != nil
	for n := range files {
		if strings.HasPrefix(n, "word/") || strings.HasPrefix(n, "xl/") || strings.HasPrefix(n, "ppt/") {
			ooxml = true
			break
		}
	}
	switch {
	case ooxml:
		s.ooxml(name, zr, files, depth)
		return
	case files["mimetype"] != nil || files["content.xml"] != nil:
		s.odf(name, zr, files, depth)
		return
	}
	for _, f := range zr.File {
		if s.expired(name) || !s.entry(name) {
			return
		}
		if f.FileInfo().IsDir() {
			continue
		}
		ename := entryName(f)
		full := name + "/" + ename
		if isEncrypted(f) {
			s.res.Encrypted = true
			continue
		}
		if !wanted(ename) && f.UncompressedSize64 > maxSniffed && !s.sniff(full, f) {
			continue
		}
		b, ok := s.read(full, f)
		if !ok {
			if s.stopped {
				return
			}
			continue
		}
		if !wanted(ename) && Format(ename, b) == "" {
			continue
		}
		s.file(full, b, depth+1)
	}
}

// entryName is an entry's name as text: ZIP files made on Japanese Windows
// carry CP932 names without the UTF-8 flag.
func entryName(f *zip.File) string {
	if f.NonUTF8 || !utf8.ValidString(f.Name) {
		return Decode([]byte(f.Name))
	}
	return f.Name
}

// wanted reports whether an entry is of a type that is read whatever its
// size; others are read only when small, to look at their first bytes.
func wanted(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".webp", ".mp3", ".mp4", ".mov",
		".wav", ".avi", ".exe", ".dll", ".so", ".class", ".ttf", ".otf", ".woff", ".woff2", ".ico":
		return false
	case ".zip", ".pdf", ".xlsx", ".xlsm", ".docx", ".docm", ".pptx", ".pptm", ".ods", ".odt", ".odp",
		".csv", ".tsv", ".txt", ".html", ".htm", ".eml", ".xml", ".json", ".md", ".log", ".rtf",
		".xls", ".doc", ".ppt", ".msg", ".jar":
		return true
	}
	return false
}

// sniff reads the first bytes of a large entry of unknown type: is it
// something File reads (text, an archive, a PDF, an Office file)?
func (s *state) sniff(name string, f *zip.File) bool {
	rc, err := f.Open()
	if err != nil {
		return false
	}
	defer rc.Close()
	head := make([]byte, 8192)
	n, _ := io.ReadFull(rc, head)
	if !s.take(name, int64(n)) {
		return false
	}
	return Format(path.Base(f.Name), head[:n]) != ""
}

func isEncrypted(f *zip.File) bool {
	if f.Flags&1 != 0 || f.Method == methodAES {
		return true
	}
	for e := f.Extra; len(e) >= 4; {
		id := binary.LittleEndian.Uint16(e)
		n := int(binary.LittleEndian.Uint16(e[2:]))
		if id == extraAES {
			return true
		}
		if 4+n > len(e) {
			break
		}
		e = e[4+n:]
	}
	return false
}

// read decompresses one entry within the budget and the ratio bound.
func (s *state) read(name string, f *zip.File) ([]byte, bool) {
	if f.UncompressedSize64 > uint64(s.remaining()) {
		s.take(name, int64(min(f.UncompressedSize64, 1<<62)))
		return nil, false
	}
	rc, err := f.Open()
	if err != nil {
		s.problem(KindParse, name, "unreadable entry: "+err.Error())
		return nil, false
	}
	defer rc.Close()
	limit := s.remaining()
	b, err := readAll(rc, limit+1, int64(min(f.UncompressedSize64, maxPrealloc)))
	if int64(len(b)) > limit {
		s.take(name, int64(len(b)))
		return nil, false
	}
	if !s.take(name, int64(len(b))) {
		return nil, false
	}
	if err != nil {
		s.problem(KindParse, name, "unreadable entry: "+err.Error())
		return nil, false
	}
	if int64(len(b)) > ratioFloor && f.CompressedSize64 > 0 && int64(len(b))/int64(max(f.CompressedSize64, 1)) > s.lim.MaxRatio {
		s.limit(KindLimitSize, name, "compression ratio over "+strconv.FormatInt(s.lim.MaxRatio, 10)+" (zip bomb)")
		s.stopped = true
		return nil, false
	}
	return b, true
}

// maxPrealloc bounds the buffer allocated for an entry on the word of its
// header, which may lie.
const maxPrealloc = 8 << 20

// readAll reads r to its end, or to limit bytes, into a buffer sized for
// the size expected; io.ReadAll would grow it from 512 bytes, copying a
// spreadsheet's sheet a dozen times.
func readAll(r io.Reader, limit, expect int64) ([]byte, error) {
	b := make([]byte, 0, min(expect, limit)+1)
	for int64(len(b)) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := b[len(b):min(int64(cap(b)), limit)]
		n, err := r.Read(room)
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

// zipEncrypted looks for local and central directory headers with the
// encryption flag in b, for archives archive/zip refuses.
func zipEncrypted(b []byte) bool {
	for i := 0; i+10 <= len(b); {
		j := bytes.Index(b[i:], []byte("PK"))
		if j < 0 || i+j+10 > len(b) {
			return false
		}
		i += j
		switch {
		case b[i+2] == 1 && b[i+3] == 2:
			if binary.LittleEndian.Uint16(b[i+8:])&1 != 0 {
				return true
			}
		case b[i+2] == 3 && b[i+3] == 4:
			if binary.LittleEndian.Uint16(b[i+6:])&1 != 0 {
				return true
			}
		}
		i += 2
	}
	return false
}
