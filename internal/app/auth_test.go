package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

// TestNoSenderRoleLogged: an officer account that may not submit mail
// gets the same 535 as a wrong password, but the log and the audit say
// why: "account has no sender role".
func TestNoSenderRoleLogged(t *testing.T) {
	up := fakesmtp.Start(t)
	core, logs := observer.New(zap.InfoLevel)
	a, err := Open(context.Background(), testConfig(t, up.Addr(), ""), zap.New(core), WithBcryptCost(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	_, err = send(t, a.SMTPAddr(), "olga", "olga-password", "olga@example.jp", []string{"x@example.jp"}, msg("hi", "hello"))
	if err == nil || !strings.Contains(err.Error(), "535") {
		t.Fatalf("officer submitting: %v", err)
	}
	reason := func(why string) int {
		return logs.FilterMessage("authentication failed").FilterField(zap.String("reason", why)).Len()
	}
	if n := reason("account has no sender role"); n != 1 {
		t.Errorf("%d log lines say the account has no sender role", n)
	}
	_, err = send(t, a.SMTPAddr(), "olga", "wrong", "olga@example.jp", []string{"x@example.jp"}, msg("hi", "hello"))
	if err == nil || reason("bad user name or password") != 1 {
		t.Errorf("wrong password: %v", err)
	}
	es, _ := a.Store.Audit(context.Background(), store.AuditFilter{})
	found := false
	for _, e := range es {
		if e.Action == "smtp.login_failed" && strings.Contains(string(e.Data), "no sender role") {
			found = true
		}
	}
	if !found {
		t.Error("no audit entry for the refused officer login")
	}
}
