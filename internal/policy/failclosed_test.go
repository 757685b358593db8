package policy

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/verdict"
)

// failClosedDir holds messages that a security review got past the
// inspection: each is held now, for the reason the table names.
const failClosedDir = "../../testdata/failclosed"

const failClosedDrive = "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp"

// manyURLs is a text part with n distinct harmless URLs and a Drive folder
// link last: more URLs than inspection reads from one text.
func manyURLs(n int) []byte {
	var b strings.Builder
	b.WriteString("From: taro@example.co.jp\r\nTo: client@customer.example\r\nSubject: list\r\nContent-Type: text/plain\r\n\r\n")
	for i := range n {
		fmt.Fprintf(&b, "https://www.example.com/p/%d\r\n", i)
	}
	b.WriteString(failClosedDrive + "\r\n")
	return []byte(b.String())
}

// manyPDFURIs is a message with a PDF attachment holding n link
// annotations, the Drive folder link last.
func manyPDFURIs(n int) []byte {
	var pdf strings.Builder
	pdf.WriteString("%PDF-1.4\n")
	for i := range n {
		fmt.Fprintf(&pdf, "%d 0 obj << /Type /Annot /Subtype /Link /A << /S /URI /URI (https://www.example.com/p/%d) >> >> endobj\n", i+1, i)
	}
	fmt.Fprintf(&pdf, "%d 0 obj << /Type /Annot /Subtype /Link /A << /S /URI /URI (%s) >> >> endobj\n%%%%EOF\n", n+1, failClosedDrive)
	enc := base64.StdEncoding.EncodeToString([]byte(pdf.String()))
	var b strings.Builder
	b.WriteString("From: taro@example.co.jp\r\nTo: client@customer.example\r\nSubject: pdf\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n")
	b.WriteString("--b\r\nContent-Type: application/pdf; name=links.pdf\r\nContent-Disposition: attachment; filename=links.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b--\r\n")
	return []byte(b.String())
}

// TestFailClosed drives each message through message.Inspect and Evaluate
// with the default rules, to an unknown recipient, and checks it is held
// for the expected reason: a share link found (share), an unknown
// destination (unknown) or an inspection problem of the given kind.
func TestFailClosed(t *testing.T) {
	t.Parallel()
	e, lists := goldenEngine(t)
	const (
		share   = "share-link-unknown-recipient"
		unknown = "unknown-destination-unknown-recipient"
		problem = "inspection-problem"
	)
	tests := []struct {
		file string // in failClosedDir, or a generated case
		raw  []byte
		rule string // a rule that must be among the reasons
		kind string // with problem: the problem kind
	}{
		{file: "01-svg-inline-xlink.eml", rule: share},
		{file: "02-svg-attachment.eml", rule: share},
		{file: "03-shortener.eml", rule: unknown},
		{file: "04-duplicate-boundary.eml", rule: problem, kind: message.KindAmbiguous},
		{file: "05-duplicate-content-type.eml", rule: problem, kind: message.KindAmbiguous},
		{file: "06-duplicate-cte.eml", rule: problem, kind: message.KindAmbiguous},
		{file: "07-message-partial.eml", rule: problem, kind: message.KindUnreadable},
		{file: "08-message-external-body.eml", rule: problem, kind: message.KindUnreadable},
		{file: "09-subject-only.eml", rule: share},
		{file: "10-preamble.eml", rule: share},
		{file: "11-epilogue.eml", rule: share},
		{file: "12-backslashes.eml", rule: share},
		{file: "13-slash-backslash.eml", rule: share},
		{file: "14-folded-angle.eml", rule: share},
		{file: "15-many-params.eml", rule: problem, kind: message.KindLimitSize},
		{file: "16-nested-same-boundary.eml", rule: problem, kind: message.KindAmbiguous},
		{file: "17-base64-multipart.eml", rule: problem, kind: message.KindAmbiguous},
		{file: "18-embedded-urls.eml", rule: share},
		{file: "19-duplicate-filename.eml", rule: problem, kind: message.KindAmbiguous},
		{file: "20-svg-set-href.eml", rule: share},
		{file: "21-iframe-srcdoc.eml", rule: share},
		{file: "22-button-formaction.eml", rule: share},
		{file: "23-mathml-href.eml", rule: share},
		{file: "generated: 10,001 URLs, Drive last", raw: manyURLs(10001), rule: problem, kind: message.KindLimitSize},
		{file: "generated: 25,000 URLs, Drive last", raw: manyURLs(25000), rule: problem, kind: message.KindLimitSize},
		{file: "generated: PDF with 10,001 links, Drive last", raw: manyPDFURIs(10001), rule: problem, kind: message.KindLimitSize},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			raw := tt.raw
			if raw == nil {
				var err error
				if raw, err = os.ReadFile(filepath.Join(failClosedDir, tt.file)); err != nil {
					t.Fatal(err)
				}
			}
			f := message.Inspect(raw, message.Limits{})
			env := &envelope.Envelope{ID: "t", From: "taro@example.co.jp", Rcpts: []envelope.Rcpt{{Addr: "client@customer.example"}}}
			v := e.Evaluate(env, f, lists, time.Now())
			if v.Action != verdict.Hold {
				t.Fatalf("action %s, want hold; reasons %+v problems %+v links %d", v.Action, v.Reasons, f.Problems, len(f.Links))
			}
			found := false
			for _, r := range v.Reasons {
				found = found || r.Rule == tt.rule && !r.Monitor
			}
			if !found {
				t.Errorf("no %s among the reasons %+v (problems %+v)", tt.rule, v.Reasons, f.Problems)
			}
			if tt.kind != "" {
				kinds := ""
				for _, p := range f.Problems {
					kinds += p.Kind + " "
				}
				if !strings.Contains(kinds, tt.kind) {
					t.Errorf("problems %+v, want one of kind %s", f.Problems, tt.kind)
				}
			}
		})
	}
}

// TestFailClosedNoFalseAlarm: the ordinary shapes next to the attacks pass.
func TestFailClosedNoFalseAlarm(t *testing.T) {
	t.Parallel()
	e, lists := goldenEngine(t)
	hdr := "From: taro@example.co.jp\r\nTo: client@customer.example\r\nSubject: hello\r\nMIME-Version: 1.0\r\n"
	tests := []struct{ name, raw string }{
		{"standard preamble", hdr + "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\nThis is a multi-part message in MIME format.\r\n--b\r\nContent-Type: text/plain\r\n\r\nHello https://www.example.com/\r\n--b--\r\n"},
		{"nested distinct boundaries", hdr + "Content-Type: multipart/mixed; boundary=\"----=_Part_0_1\"\r\n\r\n------=_Part_0_1\r\nContent-Type: multipart/alternative; boundary=\"----=_Part_1_2\"\r\n\r\n------=_Part_1_2\r\nContent-Type: text/plain\r\n\r\nHello.\r\n------=_Part_1_2--\r\n------=_Part_0_1--\r\n"},
		{"filename and filename* agree", hdr + "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHi\r\n--b\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Disposition: attachment; filename=\"a.bin\"; filename*=utf-8''a.bin\r\n\r\nxx\r\n--b--\r\n"},
		{"identical repeats", hdr + "Content-Type: text/plain; charset=utf-8; charset=\"utf-8\"\r\nContent-Type: text/plain;  charset=utf-8\r\n\r\nHello.\r\n"},
		{"single-site shortener", hdr + "Content-Type: text/plain\r\n\r\nThe video: https://youtu.be/dQw4w9WgXcQ\r\n"},
		{"windows path", hdr + "Content-Type: text/plain\r\n\r\nThe file is on \\\\server\\share\\docs and C:\\Users\\taro.\r\n"},
		{"angle URL on one line", hdr + "Content-Type: text/plain\r\n\r\nSee <https://www.example.com/a/b> and\r\n <https://www.example.org/>.\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := message.Inspect([]byte(tt.raw), message.Limits{})
			env := &envelope.Envelope{ID: "t", From: "taro@example.co.jp", Rcpts: []envelope.Rcpt{{Addr: "client@customer.example"}}}
			if v := e.Evaluate(env, f, lists, time.Now()); v.Action != verdict.Pass {
				t.Errorf("action %s, want pass; reasons %+v problems %+v", v.Action, v.Reasons, f.Problems)
			}
		})
	}
}
