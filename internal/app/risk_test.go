package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/store"
)

// TestHighRiskNeedsTypedDomain: a hold by a rule named high-risk is
// approved only with the recipient's domain typed, whatever the
// interface; the audit entry records that it was.
func TestHighRiskNeedsTypedDomain(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), `
[hold]
high_risk_rules = ["share-link-unknown-recipient"]
`))
	ctx := context.Background()
	olga := user(t, a, "olga")
	id, _ := holdOne(t, a, "high-risk")
	m, err := a.Store.Message(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r := a.Hold.Assess(m); !r.High || r.Domain != "elsewhere.example" || r.Why[0] != "share-link-unknown-recipient" {
		t.Errorf("assessment %+v", r)
	}
	for _, typed := range []string{"", "example", "elsewhere.example.com"} {
		if _, err := a.Hold.ApproveTyped(ctx, olga, id, "test", typed); !errors.Is(err, hold.ErrDomainRequired) {
			t.Errorf("typed %q: %v", typed, err)
		}
	}
	if _, err := a.Hold.Approve(ctx, olga, id, "test"); !errors.Is(err, hold.ErrDomainRequired) {
		t.Errorf("plain approve: %v", err)
	}
	if out, err := a.Hold.ApproveTyped(ctx, olga, id, "test", " @Elsewhere.Example. "); err != nil || !out.Released {
		t.Fatalf("typed correctly: %+v %v", out, err)
	}
	waitState(t, a.Store, id, store.Delivered)
	es, _ := a.Store.Audit(ctx, store.AuditFilter{MsgID: id})
	last := es[len(es)-1]
	for _, e := range es {
		if e.Action == "hold.approve" {
			last = e
		}
	}
	if !strings.Contains(string(last.Data), `"high_risk":["share-link-unknown-recipient"]`) {
		t.Errorf("approval audit: %s", last.Data)
	}
}
