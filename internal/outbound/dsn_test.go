package outbound

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/google/go-cmp/cmp"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
)

// report is a DSN parsed back with go-message.
type report struct {
	header       message.Header
	text         string
	statusType   string
	perMessage   textproto.MIMEHeader
	rcpts        []textproto.MIMEHeader
	originalType string
	original     []byte
}

func parseDSN(t *testing.T, data []byte) *report {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("DSN has bare LF")
	}
	ent, err := message.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse DSN: %v", err)
	}
	r := &report{header: ent.Header}
	mt, params, err := ent.Header.ContentType()
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("DSN content type %q %v %v", mt, params, err)
	}
	mr := ent.MultipartReader()
	var parts []*message.Entity
	var bodies [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("DSN part: %v", err)
		}
		b, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
		bodies = append(bodies, b)
	}
	if len(parts) < 2 {
		t.Fatalf("DSN has %d parts", len(parts))
	}
	if mt, _, _ := parts[0].Header.ContentType(); mt != "text/plain" {
		t.Errorf("first part %q, want text/plain", mt)
	}
	r.text = string(bodies[0])
	r.statusType, _, _ = parts[1].Header.ContentType()
	if r.statusType != "message/delivery-status" && r.statusType != "message/global-delivery-status" {
		t.Errorf("second part %q", r.statusType)
	}
	tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(bodies[1])))
	if r.perMessage, err = tr.ReadMIMEHeader(); err != nil {
		t.Fatalf("per-message fields: %v", err)
	}
	for {
		h, err := tr.ReadMIMEHeader()
		if len(h) > 0 {
			r.rcpts = append(r.rcpts, h)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("per-recipient fields: %v", err)
		}
	}
	if len(parts) > 2 {
		r.originalType, _, _ = parts[2].Header.ContentType()
		r.original = bodies[2]
	}
	return r
}

func dsnTestMessage() (*store.Message, []byte) {
	body := []byte("From: a@example.com\r\nTo: x@example.org\r\nSubject: hello\r\n\r\nbody line\r\n")
	return &store.Message{
		Envelope: envelope.Envelope{
			ID: "0123456789abcdefghjk", Received: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC),
			From: "a@example.com", Params: envelope.MailParams{Ret: "FULL", EnvID: "ENV-1"},
			Rcpts: []envelope.Rcpt{{Addr: "x@example.org", ORcpt: "rfc822;X@example.org"}, {Addr: "y@example.org"}},
		},
	}, body
}

func TestDSNReturnFull(t *testing.T) {
	t.Parallel()
	m, body := dsnTestMessage()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	rec, data := buildDSN("mx.example.net", m, body, true, []dsnRcpt{
		{rcpt: m.Rcpts[0], action: "failed", code: 550, detail: "5.1.1 unknown\r\nuser", remoteMTA: "smarthost.example.net"},
		{rcpt: m.Rcpts[1], action: "failed", code: 0, detail: "5.6.7 upstream does not support SMTPUTF8"},
	}, now)

	if rec.From != "" || len(rec.Rcpts) != 1 || rec.Rcpts[0].Addr != "a@example.com" || rec.State != store.Queued ||
		rec.Action != "pass" || rec.Verdict != nil || rec.Size != int64(len(data)) || !rec.NextAttempt.Equal(now) || len(rec.Status) != 1 {
		t.Errorf("DSN record: %+v", rec)
	}
	r := parseDSN(t, data)
	if got := r.header.Get("To"); got != "<a@example.com>" {
		t.Errorf("To: %q", got)
	}
	if got := r.header.Get("Auto-Submitted"); got != "auto-replied" {
		t.Errorf("Auto-Submitted: %q", got)
	}
	if r.perMessage.Get("Arrival-Date") != "Sun, 01 Mar 2026 08:00:00 +0000" || r.perMessage.Get("Original-Envelope-Id") != "ENV-1" {
		t.Errorf("per-message: %v", r.perMessage)
	}
	want := []map[string]string{
		{"Final-Recipient": "rfc822; x@example.org", "Original-Recipient": "rfc822;X@example.org", "Action": "failed",
			"Status": "5.1.1", "Remote-MTA": "dns; smarthost.example.net", "Diagnostic-Code": "smtp; 550 5.1.1 unknown user"},
		{"Final-Recipient": "rfc822; y@example.org", "Action": "failed", "Status": "5.6.7"},
	}
	for _, w := range want {
		for k, v := range w {
			delete(w, k)
			w[textproto.CanonicalMIMEHeaderKey(k)] = v
		}
	}
	var got []map[string]string
	for _, h := range r.rcpts {
		g := map[string]string{}
		for k := range h {
			if k != "Last-Attempt-Date" {
				g[k] = h.Get(k)
			}
		}
		got = append(got, g)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("per-recipient (-want +got):\n%s", diff)
	}
	if r.originalType != "message/rfc822" || !bytes.Equal(r.original, body) {
		t.Errorf("RET=FULL part %q:\n%q", r.originalType, r.original)
	}
	if !strings.Contains(r.text, "<x@example.org>: host smarthost.example.net said: 550 5.1.1 unknown user") {
		t.Errorf("human part:\n%s", r.text)
	}
}

func TestDSNUTF8(t *testing.T) {
	t.Parallel()
	m, _ := dsnTestMessage()
	m.From = "jörg@example.com"
	m.Params = envelope.MailParams{SMTPUTF8: true}
	m.Rcpts = []envelope.Rcpt{{Addr: "café@example.org"}}
	body := []byte("From: jörg@example.com\r\nSubject: Grüße\r\n\r\nHallo\r\n")
	rec, data := buildDSN("mx.example.net", m, body, true, []dsnRcpt{{rcpt: m.Rcpts[0], action: "failed", code: 550, detail: "5.1.1 nope"}}, time.Now())
	if !rec.Params.SMTPUTF8 || rec.Params.Body != "8BITMIME" {
		t.Errorf("DSN params %+v", rec.Params)
	}
	r := parseDSN(t, data)
	if r.statusType != "message/global-delivery-status" || r.originalType != "message/global-headers" {
		t.Errorf("types %q %q", r.statusType, r.originalType)
	}
	if got := r.rcpts[0].Get("Final-Recipient"); got != "utf-8; café@example.org" {
		t.Errorf("Final-Recipient %q", got)
	}
}

func TestDSNRelayed(t *testing.T) {
	t.Parallel()
	m, body := dsnTestMessage()
	m.Params.Ret = ""
	_, data := buildDSN("mx.example.net", m, body, true, []dsnRcpt{{rcpt: m.Rcpts[0], action: "relayed", code: 250, detail: "2.0.0 queued as X", remoteMTA: "up.example.net"}}, time.Now())
	r := parseDSN(t, data)
	if r.header.Get("Subject") != "Successful Mail Delivery Report" || r.rcpts[0].Get("Action") != "relayed" || r.rcpts[0].Get("Status") != "2.0.0" {
		t.Errorf("relayed DSN: %v %v", r.header.Get("Subject"), r.rcpts)
	}
	if r.originalType != "text/rfc822-headers" || !bytes.Equal(r.original, headerSection(body)) {
		t.Errorf("headers part %q %q", r.originalType, r.original)
	}
}

func TestNotifyRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		notify           []string
		failure, success bool
	}{
		{nil, true, false},
		{[]string{"NEVER"}, false, false},
		{[]string{"failure"}, true, false},
		{[]string{"SUCCESS"}, false, true},
		{[]string{"SUCCESS", "FAILURE"}, true, true},
		{[]string{"DELAY"}, false, false},
	} {
		r := envelope.Rcpt{Addr: "x@example.org", Notify: tc.notify}
		if wantsFailure(r) != tc.failure || wantsSuccess(r) != tc.success {
			t.Errorf("NOTIFY=%v: failure %v success %v", tc.notify, wantsFailure(r), wantsSuccess(r))
		}
	}
}

func TestHeaderSection(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"A: b\r\nC: d\r\n\r\nbody\r\n": "A: b\r\nC: d\r\n",
		"A: b\r\n":                     "A: b\r\n",
		"\r\nbody only\r\n":            "",
	} {
		if got := string(headerSection([]byte(in))); got != want {
			t.Errorf("headerSection(%q) = %q, want %q", in, got, want)
		}
	}
}

// checkOutbox verifies the outbox files of m and that no temporary file
// is left behind.
func checkOutbox(t *testing.T, dir string, m *store.Message, body []byte) {
	t.Helper()
	eml, err := os.ReadFile(filepath.Join(dir, m.ID+".eml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(eml, body) {
		t.Errorf("outbox bytes differ")
	}
	js, err := os.ReadFile(filepath.Join(dir, m.ID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var got outboxEnvelope
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	want := outboxEnvelope{
		ID: m.ID, From: m.From, Received: m.Received,
		Params: outboxParams{SMTPUTF8: m.Params.SMTPUTF8, Body: m.Params.Body, Ret: m.Params.Ret, EnvID: m.Params.EnvID},
	}
	for _, r := range m.Rcpts {
		want.Rcpts = append(want.Rcpts, outboxRcpt{Addr: r.Addr, Notify: r.Notify, ORcpt: r.ORcpt})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("envelope JSON (-want +got):\n%s", diff)
	}
	for _, k := range []string{`"from"`, `"rcpts"`, `"addr"`, `"received"`, `"params"`} {
		if !bytes.Contains(js, []byte(k)) {
			t.Errorf("JSON lacks %s:\n%s", k, js)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left: %s", e.Name())
		}
		if fi, _ := e.Info(); fi != nil && fi.Mode().Perm() != 0o640 {
			t.Errorf("%s mode %v", e.Name(), fi.Mode().Perm())
		}
	}
}

// FuzzDSN feeds upstream replies and addresses, which come from outside,
// into the DSN: it must stay a well-formed multipart/report with one
// block per recipient, whatever the text.
func FuzzDSN(f *testing.F) {
	f.Add("5.1.1 user unknown", "x@example.org", "rfc822;x@example.org", "ENV")
	f.Add("multi\r\nline\nreply", "jörg@exämple.org", "utf-8;jörg@exämple.org", "")
	f.Add("--=_dsn_boundary--", "\r\n.\r\n", ";", "a\rb")
	f.Fuzz(func(t *testing.T, detail, addr, orcpt, envid string) {
		m, body := dsnTestMessage()
		m.Params.EnvID = envid
		m.Rcpts = []envelope.Rcpt{{Addr: addr, ORcpt: orcpt}, {Addr: "y@example.org"}}
		_, data := buildDSN("mx.example.net", m, body, true, []dsnRcpt{
			{rcpt: m.Rcpts[0], action: "failed", code: 550, detail: detail, remoteMTA: "up.example.net"},
			{rcpt: m.Rcpts[1], action: "failed", code: 451, detail: detail, status: "4.4.7"},
		}, time.Now())
		r := parseDSN(t, data)
		if len(r.rcpts) != 2 {
			t.Fatalf("%d recipient blocks", len(r.rcpts))
		}
		if got := r.rcpts[1].Get("Status"); got != "4.4.7" {
			t.Fatalf("status %q", got)
		}
	})
}

// The pieces of a DSN, one at a time.

func TestRcptLine(t *testing.T) {
	rc := envelope.Rcpt{Addr: "x@example.org"}
	for _, tt := range []struct {
		r    dsnRcpt
		want string
	}{
		{dsnRcpt{rcpt: rc, action: "failed", code: 550, detail: "5.1.1 no\r\nsuch user", remoteMTA: "mx.example.org"},
			"<x@example.org>: host mx.example.org said: 550 5.1.1 no such user"},
		{dsnRcpt{rcpt: rc, action: "failed", detail: "5.3.0 message bytes missing"}, "<x@example.org>: 5.3.0 message bytes missing"},
		{dsnRcpt{rcpt: rc, action: "failed", code: 451, detail: "4.3.0 busy", expired: true},
			"<x@example.org>: could not be delivered before the message expired; 4.3.0 busy"},
		{dsnRcpt{rcpt: rc, action: "relayed", remoteMTA: "mx.example.org"},
			"<x@example.org>: relayed to mx.example.org, which does not send delivery notifications"},
		{dsnRcpt{rcpt: envelope.Rcpt{Addr: "x\r\n@example.org"}, action: "delivered"}, "<x @example.org>: delivered"},
	} {
		if got := rcptLine(tt.r); got != tt.want {
			t.Errorf("rcptLine(%+v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestRcptFields(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	got := rcptFields(dsnRcpt{rcpt: envelope.Rcpt{Addr: "ü@example.org", ORcpt: "utf-8;ü@example.org"}, action: "failed",
		code: 451, detail: "4.7.1 greylisted", status: "4.4.7", remoteMTA: "mx.example.org", expired: true}, now)
	want := []string{"Final-Recipient: utf-8; ü@example.org", "Original-Recipient: utf-8;ü@example.org", "Action: failed",
		"Status: 4.4.7", "Remote-MTA: dns; mx.example.org", "Diagnostic-Code: smtp; 451 4.7.1 greylisted",
		"Last-Attempt-Date: Sun, 01 Mar 2026 09:00:00 +0000"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed recipient (-want +got):\n%s", diff)
	}
	got = rcptFields(dsnRcpt{rcpt: envelope.Rcpt{Addr: "x@example.org"}, action: "delivered"}, now)
	want = []string{"Final-Recipient: rfc822; x@example.org", "Action: delivered", "Status: 2.0.0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delivered recipient (-want +got):\n%s", diff)
	}
}

func TestReturnedPart(t *testing.T) {
	m, body := dsnTestMessage()
	big := append(bytes.Repeat([]byte("x"), maxReturnFull), body...)
	for _, tt := range []struct {
		name     string
		ret      string
		utf8     bool
		orig     []byte
		want     string
		wantType string
	}{
		{"headers by default", "", false, body, "From: a@example.com\r\nTo: x@example.org\r\nSubject: hello\r\n", "text/rfc822-headers"},
		{"all of it for RET=FULL", "full", false, body, string(body), "message/rfc822"},
		{"all of it, SMTPUTF8", "FULL", true, body, string(body), "message/global"},
		{"headers only when too large for RET=FULL", "FULL", false, big, string(headerSection(big)), "text/rfc822-headers"},
		{"non-ASCII headers", "", true, []byte("Subject: ü\r\n\r\nx"), "Subject: ü\r\n", "message/global-headers"},
		{"no header", "", false, []byte("\r\nbody"), "", "text/rfc822-headers"},
	} {
		m.Params.Ret, m.Params.SMTPUTF8 = tt.ret, tt.utf8
		part, typ := returnedPart(m, tt.orig, true)
		if string(part) != tt.want || typ != tt.wantType {
			t.Errorf("%s: %q %s, want %q %s", tt.name, truncate(string(part), 60), typ, truncate(tt.want, 60), tt.wantType)
		}
	}
}

func TestDSNRecord(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	rec := dsnRecord("relay.example.jp", "ü@example.jp", "ID1", "Undelivered", "MAILER-DAEMON@relay.example.jp", []byte("8bit é"), now)
	if rec.From != "" || len(rec.Rcpts) != 1 || rec.Rcpts[0].Addr != "ü@example.jp" || rec.State != store.Queued ||
		!rec.NextAttempt.Equal(now) || rec.Size != 7 || !rec.Params.SMTPUTF8 || rec.Params.Body != "8BITMIME" ||
		len(rec.Status) != 1 || rec.Action != "pass" || rec.ID != "ID1" {
		t.Errorf("record %+v", rec)
	}
	rec = dsnRecord("relay.example.jp", "a@example.jp", "ID2", "s", "f", []byte("ascii"), now)
	if rec.Params.SMTPUTF8 || rec.Params.Body != "" {
		t.Errorf("ASCII DSN params %+v", rec.Params)
	}
}
