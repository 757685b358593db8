package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/seal"
	"github.com/egressguard/egressguard/internal/store"
)

// TestDatabaseCopyRevealsNoContent: with a key file, neither the body nor
// the subject, the header From or the share link found in the message can
// be read from the database files; the guard itself still shows them.
func TestDatabaseCopyRevealsNoContent(t *testing.T) {
	up := fakesmtp.Start(t)
	dir := t.TempDir()
	keys := filepath.Join(dir, "body.keys")
	if err := os.WriteFile(keys, []byte(seal.NewKeyLine(1)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, up.Addr(), "[store]\nkey_file = \""+keys+"\"\n")
	a := startApp(t, cfg)
	subject := "PatientList-Subject-7c1e"
	link := "https://drive.google.com/drive/folders/SecretFolder9683xyz"
	data := []byte("From: \"Yamada Secret-Sender-9f2\" <alice@example.jp>\r\nTo: x@elsewhere.example\r\nSubject: " + subject +
		"\r\n\r\nBody-Marker-55aa " + link + "\r\n")
	reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"x@elsewhere.example"}, data)
	if err != nil {
		t.Fatal(err)
	}
	id := idFrom(t, reply)
	m := waitState(t, a.Store, id, store.Held)
	if vj := verdictJSON(t, m); m.Subject != subject || !strings.Contains(vj, "SecretFolder9683xyz") || !strings.Contains(m.HeaderFrom, "Secret-Sender-9f2") {
		t.Fatalf("the guard cannot read its own record: %q %q %s", m.Subject, m.HeaderFrom, vj)
	}
	if b, err := a.Store.Body(context.Background(), id); err != nil || !bytes.Equal(untraced(t, b), data) {
		t.Fatalf("body: %v", err)
	}
	// An incident about it (a near miss) holds the same facts, sealed too.
	if err := a.Hold.Reject(context.Background(), user(t, a, "olga"), id, "wrong recipient", true, "test"); err != nil {
		t.Fatal(err)
	}
	in, err := a.Incidents.Open(context.Background(), user(t, a, "olga"), id, "Incident-Note-3b9")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Incidents.Get(context.Background(), user(t, a, "olga"), in.ID, "test"); err != nil ||
		got.Facts.Subject != subject || len(got.Facts.Links) != 1 || got.Note != "Incident-Note-3b9" {
		t.Fatalf("the guard cannot read its own incident: %v %+v", err, got)
	}
	files, _ := filepath.Glob(filepath.Join(cfg.Path(cfg.DataDir), "*.db*"))
	if len(files) == 0 {
		t.Fatal("no database files found")
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, secret := range []string{subject, "SecretFolder9683xyz", "Secret-Sender-9f2", "Body-Marker-55aa", "Incident-Note-3b9"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s contains %q", filepath.Base(f), secret)
			}
		}
	}
}
