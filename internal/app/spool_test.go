package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

// A message longer than the front end keeps in memory goes through the
// spool under data_dir and longer than intake hands over in memory goes
// to delivery through the store: it still arrives byte for byte, and the
// spool is empty afterwards.
func TestLargeMessageThroughSpool(t *testing.T) {
	up := fakesmtp.Start(t)
	cfg := testConfig(t, up.Addr(), "")
	a := startApp(t, cfg)
	spool := filepath.Join(cfg.DataDir, "spool")
	if fi, err := os.Stat(spool); err != nil || !fi.IsDir() {
		t.Fatalf("no spool directory: %v", err)
	}
	line := strings.Repeat("The report is attached as discussed. ", 2) + "\r\n"
	data := []byte("From: alice@example.jp\r\nTo: bob@example.jp\r\nSubject: large\r\n\r\n" +
		strings.Repeat(line, (2<<20)/len(line)) + ".leading dot\r\n")
	reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"bob@example.jp"}, data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reply, "queued as") {
		t.Fatalf("reply %q", reply)
	}
	id := idFrom(t, reply)
	got := up.WaitFor(1, 20*time.Second)
	if len(got) != 1 {
		t.Fatalf("upstream got %d messages", len(got))
	}
	if !bytes.Equal(untraced(t, got[0].Data), data) {
		t.Errorf("bytes differ: got %d, want %d", len(got[0].Data), len(data))
	}
	waitState(t, a.Store, id, store.Delivered)
	if ents, _ := os.ReadDir(spool); len(ents) != 0 {
		t.Errorf("spool not empty: %v", ents)
	}
}
