package message

import (
	"github.com/egressguard/egressguard/internal/extract/fixture"

	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// mailWith builds a message with a text part and one base64 attachment.
func mailWith(name, ctype string, data []byte) []byte {
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nTo: b@example.org\r\nSubject: att\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: multipart/mixed; boundary=\"=_b\"\r\n\r\n--=_b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--=_b\r\n")
	fmt.Fprintf(&b, "Content-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", ctype, name, name)
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--=_b--\r\n")
	return []byte(b.String())
}

type zipEntry struct {
	name, body string
	flags      uint16
	stored     bool
}

func makeZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Flags: e.flags}
		if e.stored {
			fh.Method = zip.Store
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const docxDocument = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<w:body><w:p><w:r><w:t>資料：https://drive.goo</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>gle.com/file/d/1Docx/view</w:t></w:r></w:p>
<w:p><w:hyperlink r:id="rId5"><w:r><w:t>共有フォルダ</w:t></w:r></w:hyperlink></w:p>
<w:p><w:r><w:instrText xml:space="preserve"> HYPERLINK "https://www.dropbox.com/s/field/x.pdf?dl=0&amp;a=1" </w:instrText></w:r></w:p></w:body></w:document>`

const docxRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
<Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://contoso-my.sharepoint.com/:f:/g/personal/taro_contoso_com/EAbC?e=xyz&amp;at=9" TargetMode="External"/>
</Relationships>`

func makeDocx(t testing.TB) []byte {
	return makeZip(t,
		zipEntry{name: "[Content_Types].xml", body: `<?xml version="1.0"?><Types/>`},
		zipEntry{name: "word/document.xml", body: docxDocument},
		zipEntry{name: "word/_rels/document.xml.rels", body: docxRels},
	)
}

func makeXlsx(t testing.TB) []byte {
	return makeZip(t,
		zipEntry{name: "[Content_Types].xml", body: `<?xml version="1.0"?><Types/>`},
		zipEntry{name: "xl/sharedStrings.xml", body: `<sst><si><t>URL</t></si><si><t>1drv.ms/x/s!AbCxlsx</t></si></sst>`},
		zipEntry{name: "xl/worksheets/sheet1.xml", body: `<worksheet><sheetData><row><c><f>HYPERLINK("https://app.box.com/s/formula","box")</f></c></row></sheetData><hyperlinks><hyperlink ref="A2" r:id="rId1"/></hyperlinks></worksheet>`},
		zipEntry{name: "xl/worksheets/_rels/sheet1.xml.rels", body: `<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://we.tl/t-Xlsx" TargetMode="External"/></Relationships>`},
	)
}

func makePptx(t testing.TB) []byte {
	return makeZip(t,
		zipEntry{name: "ppt/slides/slide1.xml", body: `<p:sld><a:p><a:r><a:t>https://mega.nz/folder/Pptx#k</a:t></a:r></a:p></p:sld>`},
		zipEntry{name: "ppt/slides/_rels/slide1.xml.rels", body: `<Relationships><Relationship Id="rId2" Type="x/hyperlink" Target="https://gigafile.nu/abc-pptx" TargetMode="External"/><Relationship Id="rId3" Type="x/slideLayout" Target="../slideLayouts/slideLayout1.xml"/></Relationships>`},
	)
}

func TestOOXML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		data  []byte
		links []string
		text  string
	}{
		{"report.docx", makeDocx(t), []string{
			"https://contoso-my.sharepoint.com/:f:/g/personal/taro_contoso_com/EAbC?e=xyz&at=9",
			"https://drive.google.com/file/d/1Docx/view",
			"https://www.dropbox.com/s/field/x.pdf?dl=0&a=1",
		}, "資料：https://drive.google.com/file/d/1Docx/view"},
		{"一覧.xlsx", makeXlsx(t), []string{"https://we.tl/t-Xlsx", "https://app.box.com/s/formula", "http://1drv.ms/x/s!AbCxlsx"}, "1drv.ms/x/s!AbCxlsx"},
		{"deck.pptx", makePptx(t), []string{"https://gigafile.nu/abc-pptx", "https://mega.nz/folder/Pptx#k"}, "https://mega.nz/folder/Pptx#k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := Inspect(mailWith(tt.name, "application/octet-stream", tt.data), Limits{})
			noProblems(t, f)
			var got []string
			for _, l := range f.Links {
				if l.Part != "2" || l.Source != SourceOOXML {
					t.Errorf("link %+v", l)
				}
				got = append(got, l.URL)
			}
			if strings.Join(got, " ") != strings.Join(tt.links, " ") {
				t.Errorf("links\n got %v\nwant %v", got, tt.links)
			}
			if !strings.Contains(f.Parts[1].Text, tt.text) {
				t.Errorf("text %q does not contain %q", f.Parts[1].Text, tt.text)
			}
			if a := f.Attachments; len(a) != 1 || a[0].Size != int64(len(tt.data)) || a[0].Encrypted {
				t.Errorf("attachments %+v", a)
			}
		})
	}
}

func TestOOXMLBombs(t *testing.T) {
	t.Parallel()
	bomb := makeZip(t, zipEntry{name: "word/document.xml", body: "<w:t>" + strings.Repeat("a", 8<<20) + "</w:t>"})
	f := Inspect(mailWith("bomb.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", bomb), Limits{MaxDecodedSize: 1 << 20})
	if len(f.Problems) != 1 || f.Problems[0].Kind != KindLimitSize {
		t.Errorf("decompression bomb: problems %+v", f.Problems)
	}
	var many []zipEntry
	for i := range DefaultLimits.MaxArchiveEntries + 1 {
		many = append(many, zipEntry{name: fmt.Sprintf("word/f%d.xml", i), stored: true})
	}
	f = Inspect(mailWith("many.docx", "application/octet-stream", makeZip(t, many...)), Limits{})
	if len(f.Problems) != 1 || f.Problems[0].Kind != KindLimitParts {
		t.Errorf("entry bomb: problems %+v", f.Problems)
	}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func make7z(nextHeader []byte, payload int) []byte {
	b := make([]byte, 32+payload)
	copy(b, magic7z)
	b[6], b[7] = 0, 4
	binary.LittleEndian.PutUint64(b[12:], uint64(payload))
	binary.LittleEndian.PutUint64(b[20:], uint64(len(nextHeader)))
	return append(b, nextHeader...)
}

func rar4(mainFlags, fileFlags uint16) []byte {
	b := append([]byte{}, magicRAR4...)
	b = append(b, 0, 0, 0x73)
	b = binary.LittleEndian.AppendUint16(b, mainFlags)
	b = binary.LittleEndian.AppendUint16(b, 13)
	b = append(b, make([]byte, 6)...)
	// FILE_HEAD: CRC, type, flags, size, PACK_SIZE, then fields and name.
	fh := []byte{0, 0, 0x74}
	fh = binary.LittleEndian.AppendUint16(fh, fileFlags|0x8000)
	fh = binary.LittleEndian.AppendUint16(fh, 32+5)
	fh = binary.LittleEndian.AppendUint32(fh, 4)      // PACK_SIZE
	fh = append(fh, make([]byte, 21)...)              // UNP_SIZE .. ATTR
	fh = binary.LittleEndian.AppendUint16(fh[:26], 5) // NAME_SIZE at offset 26
	fh = append(fh, make([]byte, 32-len(fh))...)      // pad to 32
	fh = append(fh, "a.txt"...)                       // name
	b = append(b, fh...)
	return append(b, "data"...)
}

func rar5(encHeader, encFile bool) []byte {
	b := append([]byte{}, magicRAR5...)
	block := func(h []byte) {
		b = append(b, 0, 0, 0, 0, byte(len(h)))
		b = append(b, h...)
	}
	if encHeader {
		block([]byte{4, 0, 0, 0})
		return append(b, randomBytes(64, 5)...)
	}
	block([]byte{1, 0, 0}) // main archive header
	extra := []byte{}
	if encFile {
		extra = []byte{3, 1, 0, 0} // size 3: type 1 (encryption), version, flags
	}
	h := []byte{2, 0x03, byte(len(extra)), 4} // type file, flags extra+data, extra size, data size
	h = append(h, 0, 4, 0, 0, 0, 5)           // file flags, unpacked size, attrs, compression, host OS, name len
	h = append(h, "a.txt"...)
	h = append(h, extra...)
	block(h)
	return append(b, "data"...)
}

func TestEncryptedAttachments(t *testing.T) {
	t.Parallel()
	big := randomBytes(2<<20, 1)
	cfb := append(append([]byte{}, magicCFB...), make([]byte, 600)...)
	cfbEnc := append(append(append([]byte{}, cfb...), utf16le("EncryptionInfo")...), make([]byte, 100)...)
	tests := []struct {
		name      string
		data      []byte
		encrypted bool
	}{
		{"plain.zip", makeZip(t, zipEntry{name: "a.txt", body: "hello"}), false},
		{"enc.zip", makeZip(t, zipEntry{name: "a.txt", body: "x"}, zipEntry{name: "b.txt", body: "secret", flags: 1}), true},
		{"big-plain.zip", makeZip(t, zipEntry{name: "a.bin", body: string(big), stored: true}, zipEntry{name: "b.txt", body: "x"}), false},
		{"big-enc-last.zip", makeZip(t, zipEntry{name: "a.bin", body: string(big), stored: true}, zipEntry{name: "b.txt", body: "x", flags: 1}), true},
		{"aes-header.7z", make7z(append([]byte{0x17, 0x06, 0x24}, append(aes7zCoder, 0, 0)...), 1000), true},
		{"aes-big.7z", make7z(append([]byte{0x01, 0x04, 0x24}, aes7zCoder...), 3<<20), true},
		{"plain.7z", make7z([]byte{0x01, 0x04, 0x06, 0x21, 0x01, 0x00}, 1000), false},
		{"plain.rar", rar4(0, 0), false},
		{"headers.rar", rar4(0x0080, 0), true},
		{"file.rar", rar4(0, 0x0004), true},
		{"plain5.rar", rar5(false, false), false},
		{"headers5.rar", rar5(true, false), true},
		{"file5.rar", rar5(false, true), true},
		{"doc.pdf", []byte("%PDF-1.7\n1 0 obj <<>> endobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"), false},
		{"enc.pdf", append(append([]byte("%PDF-1.7\n"), big...), "\ntrailer\n<< /Root 1 0 R /Encrypt 5 0 R >>\n%%EOF\n"...), true},
		{"legacy.xls", fixture.XLS("S", [][]string{{"a"}}), false},
		{"encinfo.doc", cfbEnc, true},
		{"secret.docx", cfb, true},
		{"photo.jpg", append([]byte{0xff, 0xd8, 0xff}, big[:1000]...), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := Inspect(mailWith(tt.name, "application/octet-stream", tt.data), Limits{})
			noProblems(t, f)
			if len(f.Attachments) != 1 {
				t.Fatalf("attachments %+v", f.Attachments)
			}
			a := f.Attachments[0]
			if a.Encrypted != tt.encrypted || a.Size != int64(len(tt.data)) || a.Filename != tt.name {
				t.Errorf("got %+v, want encrypted=%v size=%d", a, tt.encrypted, len(tt.data))
			}
			// Archives are opened; their text is the text of the part.
			if len(f.Parts) != 2 || (f.Parts[1].Text != "" && !strings.HasSuffix(tt.name, ".zip") && !strings.HasSuffix(tt.name, ".xls")) || f.Parts[1].Size != int64(len(tt.data)) {
				t.Errorf("binary part %+v", f.Parts[1].Size)
			}
		})
	}
}

func TestEncryptedBodies(t *testing.T) {
	t.Parallel()
	smime := "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAxggE=\r\n"
	signed := "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQExDzAN\r\n"
	pgp := "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=p\r\n\r\n--p\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--p\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\nhQEMA\r\n-----END PGP MESSAGE-----\r\n--p--\r\n"
	for _, tt := range []struct {
		name, raw string
		want      []bool
	}{
		{"smime", smime, []bool{true}},
		{"smime signed", signed, []bool{false}},
		{"pgp", pgp, []bool{true}},
	} {
		f := Inspect([]byte(tt.raw), Limits{})
		noProblems(t, f)
		var got []bool
		for _, a := range f.Attachments {
			got = append(got, a.Encrypted)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: attachments %+v, want encrypted %v", tt.name, f.Attachments, tt.want)
		}
	}
}

func TestPDFLinks(t *testing.T) {
	t.Parallel()
	var objstm bytes.Buffer
	zw := zlib.NewWriter(&objstm)
	zw.Write([]byte("5 0 6 40 <</Type/Annot/Subtype/Link/A<</S/URI/URI(https://app.box.com/s/inObjStm)>>>> <</Type/Action/S/URI/URI<68747470733A2F2F77652E746C2F742D486578>>>"))
	zw.Close()
	pdf := "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" +
		"3 0 obj\n<</Type/Annot/Subtype/Link/Rect[0 0 1 1]/A<</Type/Action/S/URI/URI(https://drive.google.com/file/d/1Pdf\\(x\\)/view)>>>>\nendobj\n" +
		"4 0 obj\n<</S /URI /URI (https://www.dropbox.com/s/split\\\n/x.pdf)>>\nendobj\n" +
		"7 0 obj\n<</Type/ObjStm/N 2/First 9/Filter/FlateDecode/Length " + fmt.Sprint(objstm.Len()) + ">>stream\r\n" + objstm.String() + "\r\nendstream\nendobj\n" +
		"trailer\n<</Root 1 0 R>>\n%%EOF\n"
	f := Inspect(mailWith("doc.pdf", "application/pdf", []byte(pdf)), Limits{})
	noProblems(t, f)
	var got []string
	for _, l := range f.Links {
		if l.Source != SourcePDF || l.Part != "2" {
			t.Errorf("link %+v", l)
		}
		got = append(got, l.URL)
	}
	want := []string{
		"https://drive.google.com/file/d/1Pdf(x)/view",
		"https://www.dropbox.com/s/split/x.pdf",
		"https://app.box.com/s/inObjStm",
		"https://we.tl/t-Hex",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("links\n got %v\nwant %v", got, want)
	}
	// An encrypted PDF's strings are ciphertext: not read.
	enc := strings.Replace(pdf, "<</Root 1 0 R>>", "<</Root 1 0 R/Encrypt 9 0 R>>", 1)
	f = Inspect(mailWith("enc.pdf", "application/pdf", []byte(enc)), Limits{})
	if len(f.Links) != 0 || !f.Attachments[0].Encrypted {
		t.Errorf("encrypted PDF: links %+v attachments %+v", f.Links, f.Attachments)
	}
}
