package hold

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

var (
	oona   = &store.User{Name: "oona", Roles: []string{"officer"}}
	off    = &store.User{Name: "off", Roles: []string{"officer"}, Disabled: true}
	bob    = &store.User{Name: "bob", Roles: []string{"sender"}, Addresses: []string{"bob@example.jp"}}
	aliceO = &store.User{Name: "alice", Roles: []string{"sender", "officer"}, Addresses: []string{"alice@example.jp"}}
)

// step is one call on the service: who does what, and the error wanted.
type step struct {
	who  *store.User
	do   string        // approve, reject, withdraw, justify, expire (ExpireDue), wait (clock)
	arg  string        // the comment, justification
	wait time.Duration // for "wait"
	want error         // nil: success
	// For approve: the outcome wanted when it succeeds.
	approvals int
	released  bool
}

func (s step) run(t *testing.T, f *fixture, id string) {
	t.Helper()
	ctx := context.Background()
	var err error
	switch s.do {
	case "approve":
		var out Outcome
		out, err = f.svc.Approve(ctx, s.who, id, "test")
		if err == nil && s.want == nil && (out.Approvals != s.approvals || out.Released != s.released || out.Needed != f.svc.Approvals()) {
			t.Errorf("%s approves: %+v; want %d of %d approvals, released %v", s.who.Name, out, s.approvals, f.svc.Approvals(), s.released)
		}
	case "reject":
		err = f.svc.Reject(ctx, s.who, id, s.arg, false, "test")
	case "withdraw":
		err = f.svc.Withdraw(ctx, s.who, id, "test")
	case "justify":
		err = f.svc.Justify(ctx, s.who, id, s.arg, "test")
	case "expire":
		_, err = f.svc.ExpireDue(ctx)
	case "wait":
		f.clock.set(f.clock.now().Add(s.wait))
		return
	default:
		t.Fatalf("unknown step %q", s.do)
	}
	if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
		who := "system"
		if s.who != nil {
			who = s.who.Name
		}
		t.Errorf("%s %s: %v; want %v", who, s.do, err, s.want)
	}
}

// TestDecisions drives the service through the decisions on one held
// message (sent by alice, held until t0+1h) and checks where each sequence
// leaves it: its state, the decisions recorded, the audit entries, the
// notices queued for the sender, and whether the outbound queue was woken.
func TestDecisions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		approvals int // officers needed
		steps     []step
		state     store.State
		decisions []string // kinds, in order
		audit     []string // actions, in order
		notices   int      // notices queued to the sender
		kicked    bool     // the queue was woken
	}{
		{
			name:      "one approval releases",
			approvals: 1,
			steps:     []step{{who: olga, do: "approve", approvals: 1, released: true}},
			state:     store.Queued, decisions: []string{"approve"}, audit: []string{"hold.approve"}, notices: 1, kicked: true,
		},
		{
			name:      "reject",
			approvals: 1,
			steps:     []step{{who: olga, do: "reject", arg: "not to a competitor"}},
			state:     store.Rejected, decisions: []string{"reject"}, audit: []string{"hold.reject"}, notices: 1, kicked: true,
		},
		{
			name:      "reject needs a comment",
			approvals: 1,
			steps:     []step{{who: olga, do: "reject", arg: "  ", want: ErrCommentRequired}},
			state:     store.Held,
		},
		{
			name:      "four eyes: the first approval does not release",
			approvals: 2,
			steps:     []step{{who: olga, do: "approve", approvals: 1}},
			state:     store.Held, decisions: []string{"approve"}, audit: []string{"hold.approve"},
		},
		{
			name:      "four eyes: the same officer twice counts once",
			approvals: 2,
			steps: []step{
				{who: olga, do: "approve", approvals: 1},
				{who: olga, do: "approve", want: ErrAlreadyApproved},
			},
			state: store.Held, decisions: []string{"approve"}, audit: []string{"hold.approve"},
		},
		{
			name:      "four eyes: a second officer releases",
			approvals: 2,
			steps: []step{
				{who: olga, do: "approve", approvals: 1},
				{who: oscar, do: "approve", approvals: 2, released: true},
				{who: oona, do: "approve", want: ErrNotHeld},
			},
			state: store.Queued, decisions: []string{"approve", "approve"}, audit: []string{"hold.approve", "hold.approve"},
			notices: 1, kicked: true,
		},
		{
			name:      "four eyes: a rejection after one approval ends it",
			approvals: 2,
			steps: []step{
				{who: olga, do: "approve", approvals: 1},
				{who: oscar, do: "reject", arg: "no"},
				{who: oona, do: "approve", want: ErrNotHeld},
			},
			state: store.Rejected, decisions: []string{"approve", "reject"}, audit: []string{"hold.approve", "hold.reject"},
			notices: 1, kicked: true,
		},
		{
			name:      "self-approval refused, even for an officer",
			approvals: 1,
			steps: []step{
				{who: aliceO, do: "approve", want: ErrSelfApproval},
				{who: aliceO, do: "reject", arg: "x", want: ErrSelfApproval},
			},
			state: store.Held,
		},
		{
			name:      "a sender cannot decide",
			approvals: 1,
			steps: []step{
				{who: alice, do: "approve", want: ErrForbidden},
				{who: alice, do: "reject", arg: "x", want: ErrForbidden},
				{who: bob, do: "approve", want: ErrNotFound}, // not even to see
			},
			state: store.Held,
		},
		{
			name:      "a disabled officer cannot decide",
			approvals: 1,
			steps:     []step{{who: off, do: "approve", want: ErrForbidden}},
			state:     store.Held,
		},
		{
			name:      "the sender withdraws; nobody decides after that",
			approvals: 1,
			steps: []step{
				{who: bob, do: "withdraw", want: ErrNotFound},
				{who: alice, do: "withdraw"},
				{who: olga, do: "approve", want: ErrNotHeld},
			},
			state: store.Withdrawn, decisions: []string{"withdraw"}, audit: []string{"hold.withdraw"}, notices: 1, kicked: true,
		},
		{
			name:      "the sender justifies; the officer approves",
			approvals: 1,
			steps: []step{
				{who: alice, do: "justify", arg: "the customer asked for it"},
				{who: bob, do: "justify", arg: "me too", want: ErrNotFound},
				{who: olga, do: "approve", approvals: 1, released: true},
			},
			state: store.Queued, decisions: []string{"justify", "approve"}, audit: []string{"hold.justify", "hold.approve"},
			notices: 1, kicked: true,
		},
		{
			name:      "expiry sweep before the end changes nothing",
			approvals: 1,
			steps:     []step{{do: "wait", wait: time.Hour - time.Millisecond}, {do: "expire"}},
			state:     store.Held,
		},
		{
			name:      "expiry sweep at the end expires; no decision after",
			approvals: 1,
			steps: []step{
				{do: "wait", wait: time.Hour},
				{do: "expire"},
				{who: olga, do: "approve", want: ErrNotHeld},
				{do: "expire"}, // nothing more to do
			},
			state: store.Expired, decisions: []string{"expire"}, audit: []string{"hold.expire"}, notices: 1, kicked: true,
		},
		{
			name:      "four eyes: the hold ends between the two approvals",
			approvals: 2,
			steps: []step{
				{who: olga, do: "approve", approvals: 1},
				{do: "wait", wait: time.Hour},
				{who: oscar, do: "approve", want: ErrExpired},
			},
			state: store.Expired, decisions: []string{"approve", "expire"}, audit: []string{"hold.approve", "hold.expire"},
			notices: 1, kicked: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.approvals)
			kicked := false
			var observed []string
			f.svc = New(Config{Approvals: tc.approvals, Now: f.clock.now, Observe: func(o Observation) { observed = append(observed, o.Kind) }},
				f.st.(Store), notices{}, func() { kicked = true }, zaptest.NewLogger(t))
			m := f.held(t, "alice", "alice@example.jp", "Alice <alice@example.jp>")
			for _, s := range tc.steps {
				s.run(t, f, m.ID)
			}
			ctx := context.Background()
			if got := f.message(t, m.ID); got.State != tc.state {
				t.Errorf("state %s; want %s", got.State, tc.state)
			}
			ds, err := f.st.(Store).Decisions(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, d := range ds {
				kinds = append(kinds, d.Kind)
			}
			if !slices.Equal(kinds, tc.decisions) {
				t.Errorf("decisions %v; want %v", kinds, tc.decisions)
			}
			es, err := f.st.(audit.Reader).Audit(ctx, store.AuditFilter{MsgID: m.ID})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range es {
				actions = append(actions, e.Action)
			}
			if !slices.Equal(actions, tc.audit) {
				t.Errorf("audit %v; want %v", actions, tc.audit)
			}
			// Each committed decision is observed once (the justification
			// is not a decision on the message).
			want := slices.DeleteFunc(slices.Clone(tc.decisions), func(k string) bool { return k == DecisionJustify })
			if !slices.Equal(observed, want) {
				t.Errorf("observed %v; want %v", observed, want)
			}
			q, err := f.st.List(ctx, store.Filter{States: []store.State{store.Queued}})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, qm := range q {
				if qm.ID == m.ID {
					continue
				}
				if qm.From != "guard@example.jp" || len(qm.Rcpts) != 1 || qm.Rcpts[0].Addr != "alice@example.jp" {
					t.Errorf("queued %s from %s to %v: not a notice to the sender", qm.ID, qm.From, qm.Rcpts)
				}
				n++
			}
			if n != tc.notices {
				t.Errorf("%d notices queued; want %d", n, tc.notices)
			}
			if kicked != tc.kicked {
				t.Errorf("queue woken %v; want %v", kicked, tc.kicked)
			}
		})
	}
}
