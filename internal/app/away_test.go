package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

// TestDelegation: while an officer is away, the notices of their group go
// to their delegate; the absence is audited; when it ends they go back.
func TestDelegation(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), `
[notify]
from = "guard@example.jp"
[[route.group]]
name = "all"
senders = ["*"]
officers = ["olga@example.jp"]
`))
	ctx := context.Background()
	if _, err := a.Accounts.Add(ctx, "test", "otto", "otto-password", []string{"officer"}, []string{"otto@example.jp"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Accounts.SetDelegate(ctx, "olga", "olga", "alice", time.Now().Add(time.Hour)); err == nil {
		t.Error("a sender accepted as delegate")
	}
	if err := a.Accounts.SetDelegate(ctx, "olga", "olga", "otto", time.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	a.standIns.refresh(ctx)
	holdOne(t, a, "while-away")
	waitFor(t, "notice to the delegate", func() bool { return len(messagesTo(up, "otto@example.jp")) == 1 })
	if n := len(messagesTo(up, "olga@example.jp")); n != 0 {
		t.Errorf("the away officer got %d notices", n)
	}
	es, _ := a.Store.Audit(ctx, store.AuditFilter{Actor: "olga"})
	if len(es) == 0 || es[len(es)-1].Action != "user.delegate" || !strings.Contains(string(es[len(es)-1].Data), `"delegate":"otto"`) {
		t.Errorf("absence not audited: %v", es)
	}

	if err := a.Accounts.SetDelegate(ctx, "olga", "olga", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	a.standIns.refresh(ctx)
	holdOne(t, a, "back")
	waitFor(t, "notice to the officer", func() bool { return len(messagesTo(up, "olga@example.jp")) == 1 })
}
