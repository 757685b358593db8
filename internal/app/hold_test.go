package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/store"
)

const shareBody = "Here is the folder: https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQrStUv?usp=sharing"

// holdOne sends a share link to an unknown recipient and returns its ID
// and the exact bytes sent.
func holdOne(t *testing.T, a *App, subject string) (string, []byte) {
	t.Helper()
	data := msg(subject, shareBody)
	reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{"stranger@elsewhere.example"}, data)
	if err != nil {
		t.Fatal(err)
	}
	id := idFrom(t, reply)
	waitState(t, a.Store, id, store.Held)
	return id, data
}

func user(t *testing.T, a *App, name string) *store.User {
	t.Helper()
	u, err := a.Accounts.Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// messagesTo returns what the fake smarthost received for rcpt.
func messagesTo(up *fakesmtp.Server, rcpt string) []fakesmtp.Message {
	var out []fakesmtp.Message
	for _, m := range up.Messages() {
		for _, r := range m.Addrs() {
			if r == rcpt {
				out = append(out, m)
			}
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHoldApproveDeliversOriginalBytes(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), `
[notify]
from = "guard@example.jp"
officers = ["security@example.jp"]
language = "en"
`))
	id, data := holdOne(t, a, "approve-me")
	ctx := context.Background()
	// Held: the sender and the officers were told.
	waitFor(t, "hold notices", func() bool {
		return len(messagesTo(up, "alice@example.jp")) == 1 && len(messagesTo(up, "security@example.jp")) == 1
	})
	if len(messagesTo(up, "stranger@elsewhere.example")) != 0 {
		t.Fatal("held message was delivered")
	}
	// Four eyes: the sender cannot approve, even when given the officer role.
	alice := user(t, a, "alice")
	if _, err := a.Hold.Approve(ctx, alice, id, "test"); !errors.Is(err, hold.ErrForbidden) {
		t.Errorf("sender approving: %v", err)
	}
	alice.Roles = append(alice.Roles, "officer")
	if _, err := a.Hold.Approve(ctx, alice, id, "test"); !errors.Is(err, hold.ErrSelfApproval) {
		t.Errorf("self-approval: %v", err)
	}
	out, err := a.Hold.Approve(ctx, user(t, a, "olga"), id, "test")
	if err != nil || !out.Released {
		t.Fatalf("approve: %+v %v", out, err)
	}
	got := waitState(t, a.Store, id, store.Delivered)
	if got.Attempts != 1 {
		t.Errorf("attempts %d", got.Attempts)
	}
	ms := messagesTo(up, "stranger@elsewhere.example")
	if len(ms) != 1 || !bytes.Equal(untraced(t, ms[0].Data), data) {
		t.Fatalf("released message: %d copies, bytes equal %v", len(ms), len(ms) == 1 && bytes.Equal(untraced(t, ms[0].Data), data))
	}
	waitFor(t, "approval notice", func() bool { return len(messagesTo(up, "alice@example.jp")) == 2 })
	if n := messagesTo(up, "alice@example.jp")[1]; !bytes.Contains(n.Data, []byte("Subject: [Held mail] Approved and sent: approve-me")) ||
		!strings.Contains(decodeNotice(t, n.Data), "Approved by: olga") {
		t.Errorf("approval notice:\n%s", n.Data)
	}
	// A second approval after release changes nothing.
	if _, err := a.Hold.Approve(ctx, user(t, a, "olga"), id, "test"); !errors.Is(err, hold.ErrNotHeld) {
		t.Errorf("approval after release: %v", err)
	}
	if n, err := audit.Verify(ctx, a.Store); err != nil || n < 2 {
		t.Errorf("audit verify: %d %v", n, err)
	}
}

func TestTwoApprovalsNeeded(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), `
[hold]
approvals = 2
[[seed_user]]
name = "otto"
password = "otto-password"
roles = ["officer"]
addresses = ["otto@example.jp"]
`))
	id, _ := holdOne(t, a, "two")
	ctx := context.Background()
	out, err := a.Hold.Approve(ctx, user(t, a, "olga"), id, "test")
	if err != nil || out.Released || out.Approvals != 1 {
		t.Fatalf("first approval: %+v %v", out, err)
	}
	if _, err := a.Hold.Approve(ctx, user(t, a, "olga"), id, "test"); !errors.Is(err, hold.ErrAlreadyApproved) {
		t.Fatalf("same officer twice: %v", err)
	}
	if m, _ := a.Store.Message(ctx, id); m.State != store.Held {
		t.Fatalf("released after one officer: %s", m.State)
	}
	out, err = a.Hold.Approve(ctx, user(t, a, "otto"), id, "test")
	if err != nil || !out.Released {
		t.Fatalf("second approval: %+v %v", out, err)
	}
	waitState(t, a.Store, id, store.Delivered)
}

// TestConcurrentDecisions: approve and reject of one message at the same
// moment end in exactly one final state and at most one delivery.
func TestConcurrentDecisions(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), `
[[seed_user]]
name = "otto"
password = "otto-password"
roles = ["officer"]
addresses = ["otto@example.jp"]
`))
	ctx := context.Background()
	olga, otto := user(t, a, "olga"), user(t, a, "otto")
	var approved, rejected atomic.Int32
	const n = 8
	ids := make([]string, n)
	for i := range ids {
		ids[i], _ = holdOne(t, a, "race"+string(rune('a'+i)))
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := a.Hold.Approve(ctx, olga, id, "test"); err == nil {
				approved.Add(1)
			} else if !errors.Is(err, hold.ErrNotHeld) {
				t.Errorf("approve: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			if err := a.Hold.Reject(ctx, otto, id, "no", false, "test"); err == nil {
				rejected.Add(1)
			} else if !errors.Is(err, hold.ErrNotHeld) {
				t.Errorf("reject: %v", err)
			}
		}()
	}
	wg.Wait()
	if approved.Load()+rejected.Load() != n {
		t.Fatalf("%d approved + %d rejected, want %d decisions", approved.Load(), rejected.Load(), n)
	}
	for _, id := range ids {
		waitFor(t, "final state", func() bool {
			m, _ := a.Store.Message(ctx, id)
			return m.State == store.Delivered || m.State == store.Rejected
		})
	}
	waitSent(t, a.Store)
	if got := len(messagesTo(up, "stranger@elsewhere.example")); got != int(approved.Load()) {
		t.Errorf("%d deliveries for %d approvals", got, approved.Load())
	}
}

func TestRejectWithdrawExpire(t *testing.T) {
	up := fakesmtp.Start(t)
	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	clock := func() time.Time { return *now.Load() }
	a := startApp(t, testConfig(t, up.Addr(), `
[notify]
from = "guard@example.jp"
incident_contacts = ["head@example.jp"]
language = "ja"
`), WithClock(clock))
	ctx := context.Background()
	olga, alice := user(t, a, "olga"), user(t, a, "alice")

	r, _ := holdOne(t, a, "reject-me")
	if err := a.Hold.Reject(ctx, olga, r, "  ", false, "test"); !errors.Is(err, hold.ErrCommentRequired) {
		t.Errorf("empty comment: %v", err)
	}
	if err := a.Hold.Reject(ctx, olga, r, "wrong recipient", true, "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "near-miss report", func() bool { return len(messagesTo(up, "head@example.jp")) == 1 })

	w, _ := holdOne(t, a, "withdraw-me")
	if err := a.Hold.Withdraw(ctx, olga, w, "test"); !errors.Is(err, hold.ErrForbidden) {
		t.Errorf("officer withdrawing another's message: %v", err)
	}
	if err := a.Hold.Withdraw(ctx, alice, w, "test"); err != nil {
		t.Fatal(err)
	}

	e, _ := holdOne(t, a, "expire-me")
	if n, err := a.Hold.ExpireDue(ctx); err != nil || n != 0 {
		t.Fatalf("expired too early: %d %v", n, err)
	}
	later := start.Add(73 * time.Hour)
	now.Store(&later)
	if n, err := a.Hold.ExpireDue(ctx); err != nil || n != 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	for id, want := range map[string]store.State{r: store.Rejected, w: store.Withdrawn, e: store.Expired} {
		if m, _ := a.Store.Message(ctx, id); m.State != want {
			t.Errorf("%s: %s, want %s", id, m.State, want)
		}
	}
	// Rejection and expiry notices reached the sender; nothing reached the stranger.
	waitFor(t, "sender notices", func() bool { return len(messagesTo(up, "alice@example.jp")) >= 5 })
	if got := len(messagesTo(up, "stranger@elsewhere.example")); got != 0 {
		t.Errorf("%d held messages leaked", got)
	}
	// The Japanese rejection notice carries the officer's comment.
	found := false
	for _, m := range messagesTo(up, "alice@example.jp") {
		if strings.Contains(decodeNotice(t, m.Data), "wrong recipient") {
			found = true
		}
	}
	if !found {
		t.Error("no notice with the officer's comment")
	}
	if n, err := audit.Verify(ctx, a.Store); err != nil {
		t.Errorf("audit verify after %d entries: %v", n, err)
	}
}

// decodeNotice returns the decoded text of a single-part notice.
func decodeNotice(t *testing.T, data []byte) string {
	t.Helper()
	e, err := gomessage.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(e.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOfficerDigest: with a digest period, officers get one mail per
// period listing what was held, sent once even if asked twice (as by two
// instances).
func TestOfficerDigest(t *testing.T) {
	up := fakesmtp.Start(t)
	var now atomic.Pointer[time.Time]
	start := time.Now().Truncate(time.Hour).Add(10 * time.Minute)
	now.Store(&start)
	a := startApp(t, testConfig(t, up.Addr(), `
[notify]
from = "guard@example.jp"
officers = ["security@example.jp"]
officer_digest = "1h"
language = "en"
`), WithClock(func() time.Time { return *now.Load() }))
	holdOne(t, a, "digest-one")
	holdOne(t, a, "digest-two")
	next := start.Add(time.Hour)
	now.Store(&next)
	a.sendDigest(context.Background(), time.Hour)
	a.sendDigest(context.Background(), time.Hour)
	waitFor(t, "digest", func() bool { return len(messagesTo(up, "security@example.jp")) >= 1 })
	waitSent(t, a.Store)
	ms := messagesTo(up, "security@example.jp")
	if len(ms) != 1 {
		t.Fatalf("%d digests, want 1 (and no per-hold notices)", len(ms))
	}
	body := decodeNotice(t, ms[0].Data)
	if !strings.Contains(body, "digest-one") || !strings.Contains(body, "digest-two") || !strings.Contains(string(ms[0].Data), "2 message(s) held") {
		t.Errorf("digest:\n%s", body)
	}
}
