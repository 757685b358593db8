package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
)

// TestDigestWithLongQueue: with more than a thousand older messages still
// held, the officers' digest lists what was held in its period. (It listed
// the oldest thousand held messages and then kept those in the period, so
// new holds never appeared.)
func TestDigestWithLongQueue(t *testing.T) {
	now := time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC)
	cfg := testConfig(t, "", `
[notify]
from = "guard@example.jp"
officers = ["security@example.jp"]
officer_digest = "1h"
language = "en"
`)
	a, err := Open(context.Background(), cfg, zaptest.NewLogger(t), WithBcryptCost(4), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	ctx := context.Background()
	from, until := now.Truncate(time.Hour).Add(-time.Hour), now.Truncate(time.Hour) // 09:00–10:00

	mk := func(i int, recv time.Time, subject string) *store.Message {
		return &store.Message{
			Envelope: envelope.Envelope{ID: fmt.Sprintf("%s%04d", store.NewID(recv)[:16], i), Received: recv, ClientAddr: "192.0.2.1",
				AuthUser: "alice", From: "alice@example.jp", Rcpts: []envelope.Rcpt{{Addr: "stranger@elsewhere.example"}}},
			State: store.Held, Updated: recv, Status: make([]store.RcptStatus, 1), Action: "hold", Subject: subject,
			HoldExpires: recv.Add(30 * 24 * time.Hour),
		}
	}
	var ms []*store.Message
	for i := range 1100 { // held for days, still waiting
		ms = append(ms, mk(i, from.Add(-48*time.Hour+time.Duration(i)*time.Minute), fmt.Sprintf("old %d", i)))
	}
	ms = append(ms,
		mk(2000, from, "new at the start"),
		mk(2001, from.Add(30*time.Minute), "new in the middle"),
		mk(2002, until.Add(-time.Millisecond), "new at the end"),
		mk(2003, until, "next period"))
	if err := a.Store.Update(ctx, func(tx store.Tx) error {
		for _, m := range ms {
			if err := tx.InsertMessage(m, bytes.NewReader([]byte("x"))); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	a.sendDigest(ctx, time.Hour)
	id := fmt.Sprintf("digest-%d", until.Unix())
	raw, err := a.Store.Body(ctx, id)
	if err != nil {
		t.Fatalf("no digest queued: %v", err)
	}
	_, b64, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	body, err := base64.StdEncoding.DecodeString(string(bytes.ReplaceAll(b64, []byte("\r\n"), nil)))
	if err != nil {
		t.Fatalf("digest body: %v", err)
	}
	body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
	for _, want := range []string{"new at the start", "new in the middle", "new at the end"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("digest lacks %q", want)
		}
	}
	for _, not := range []string{"next period", "old 0\n", "old 1099"} {
		if bytes.Contains(body, []byte(not)) {
			t.Errorf("digest lists %q from outside its period", not)
		}
	}
	if !bytes.Contains(body, []byte("3 message(s) held")) {
		t.Errorf("digest count:\n%s", body)
	}
}

// TestWarnsWithoutIncidentContacts: serve warns at start-up when a near
// miss would tell nobody, and not when someone is configured.
func TestWarnsWithoutIncidentContacts(t *testing.T) {
	for _, tc := range []struct {
		extra string
		warn  bool
	}{
		{"", true},
		{"[notify]\nfrom = \"guard@example.jp\"\nincident_contacts = [\"head@example.jp\"]\n", false},
	} {
		core, logs := observer.New(zap.WarnLevel)
		a, err := Open(context.Background(), testConfig(t, "", tc.extra), zap.New(core), WithBcryptCost(4))
		if err != nil {
			t.Fatal(err)
		}
		a.Close(context.Background())
		got := logs.FilterMessageSnippet("incident_contacts").Len() > 0
		if got != tc.warn {
			t.Errorf("incident contacts configured: %v; warned: %v", !tc.warn, got)
		}
	}
}
