package policy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/verdict"
)

// The most severe enforced action wins, per message and per recipient;
// a rule with a recipient condition applies to the recipients it picks.
func TestPerRecipientActions(t *testing.T) {
	t.Parallel()
	e := mustEngine(t, Config{InternalDomains: []string{"example.jp"}, Rules: []RuleSpec{
		{Name: "delay-allowlisted", Action: "delay", Delay: "5m", Reason: "r", Recipients: RcptAnyAllowlisted},
		{Name: "confirm-unknown", Action: "confirm", Reason: "r", Recipients: RcptAnyUnknown},
		{Name: "delay-longer", Action: "delay", Delay: "10m", Reason: "r", Recipients: RcptAnyExternal, Mode: ModeMonitor},
	}})
	lists := mustList(t, "partner.example.com")
	v := e.Evaluate(env("a@example.jp", "b@example.jp", "c@partner.example.com", "d@elsewhere.example"), &message.Facts{}, lists, now)
	if v.Action != verdict.Confirm {
		t.Errorf("action %s", v.Action)
	}
	want := []verdict.Action{verdict.Pass, verdict.Delay, verdict.Confirm}
	for i, r := range v.Recipients {
		if r.Action != want[i] {
			t.Errorf("%s: %s, want %s", r.Addr, r.Action, want[i])
		}
	}
	if v.Delay() != 5*time.Minute {
		t.Errorf("delay %v; the monitor rule's 10m must not count", v.Delay())
	}
	if !v.Splittable() || !v.Immediate(0) || v.Immediate(1) || v.Immediate(2) {
		t.Errorf("split: %v %v %v %v", v.Splittable(), v.Immediate(0), v.Immediate(1), v.Immediate(2))
	}
	// A rule without a recipient condition applies to every recipient.
	e2 := mustEngine(t, Config{InternalDomains: []string{"example.jp"}, Rules: []RuleSpec{
		{Name: "hold-subject", Action: "hold", Reason: "r", SubjectKeywords: []string{"secret"}},
	}})
	v = e2.Evaluate(env("a@example.jp", "b@example.jp", "d@elsewhere.example"), &message.Facts{Subject: "secret plan"}, nil, now)
	if v.Action != verdict.Hold || v.Recipients[0].Action != verdict.Hold || v.Splittable() {
		t.Errorf("message-wide rule: %s %+v split %v", v.Action, v.Recipients, v.Splittable())
	}
}

// An inspection problem holds even when the rules only delay or ask for
// confirmation: both end with the message sent unseen.
func TestInspectionProblemBeatsDelayAndConfirm(t *testing.T) {
	t.Parallel()
	for _, spec := range []RuleSpec{
		{Name: "d", Action: "delay", Delay: "1m", Reason: "r"},
		{Name: "c", Action: "confirm", Reason: "r"},
		{Name: "b", Action: "bcc", Reason: "r"},
	} {
		e := mustEngine(t, Config{InternalDomains: []string{"example.jp"}, Rules: []RuleSpec{spec}})
		f := &message.Facts{Problems: []message.Problem{{Kind: message.KindParse, Detail: "x"}}}
		v := e.Evaluate(env("a@example.jp", "b@elsewhere.example"), f, nil, now)
		if v.Action != verdict.Hold || v.Splittable() {
			t.Errorf("%s with an inspection problem: %s", spec.Action, v.Action)
		}
	}
}

func TestDelayExternal(t *testing.T) {
	t.Parallel()
	e := mustEngine(t, Config{InternalDomains: []string{"example.jp"}, DelayExternal: 90 * time.Second})
	v := e.Evaluate(env("a@example.jp", "b@example.jp"), &message.Facts{}, nil, now)
	if v.Action != verdict.Pass {
		t.Errorf("internal mail: %s", v.Action)
	}
	v = e.Evaluate(env("a@example.jp", "b@example.jp", "c@elsewhere.example"), &message.Facts{}, nil, now)
	if v.Action != verdict.Delay || v.Delay() != 90*time.Second || v.Recipients[0].Action != verdict.Pass || v.Recipients[1].Action != verdict.Delay {
		t.Errorf("external: %s %v %+v", v.Action, v.Delay(), v.Recipients)
	}
	if v.Reasons[len(v.Reasons)-1].Rule != BuiltinDelayExternalRule {
		t.Errorf("reasons %+v", v.Reasons)
	}
	// A rule's longer delay wins: never sent earlier than any asks.
	e = mustEngine(t, Config{InternalDomains: []string{"example.jp"}, DelayExternal: time.Minute, Rules: []RuleSpec{
		{Name: "long", Action: "delay", Delay: "1h", Reason: "r", Recipients: RcptAnyUnknown}}})
	if v := e.Evaluate(env("a@example.jp", "c@elsewhere.example"), &message.Facts{}, nil, now); v.Delay() != time.Hour {
		t.Errorf("delay %v", v.Delay())
	}
}

func TestBccVerdict(t *testing.T) {
	t.Parallel()
	zero := 0
	e := mustEngine(t, Config{InternalDomains: []string{"example.jp"}, Rules: []RuleSpec{
		{Name: "bcc", Action: "bcc", Reason: "r", ExternalHeaderRcptsOver: &zero}}})
	v := e.Evaluate(env("a@example.jp", "c@elsewhere.example"), &message.Facts{To: []string{"c@elsewhere.example"}}, nil, now)
	if v.Action != verdict.Bcc || v.Bcc == nil || v.Bcc.Applied {
		t.Errorf("verdict %s %+v", v.Action, v.Bcc)
	}
	v = e.Evaluate(env("a@example.jp", "c@example.jp"), &message.Facts{To: []string{"c@example.jp"}}, nil, now)
	if v.Action != verdict.Pass || v.Bcc != nil {
		t.Errorf("internal only: %s %+v", v.Action, v.Bcc)
	}
}

func TestActionConfigProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		spec RuleSpec
		want string
	}{
		{RuleSpec{Name: "a", Action: "delay", Reason: "r"}, "rule[0].delay: missing"},
		{RuleSpec{Name: "a", Action: "delay", Delay: "soon", Reason: "r"}, `rule[0].delay: "soon" is not a positive duration`},
		{RuleSpec{Name: "a", Action: "delay", Delay: "-5m", Reason: "r"}, `is not a positive duration`},
		{RuleSpec{Name: "a", Action: "hold", Delay: "5m", Reason: "r"}, "rule[0].delay: set for action hold"},
		{RuleSpec{Name: "a", Action: "confirm"}, "rule[0].reason: missing"},
		{RuleSpec{Name: "a", Action: "bcc"}, "rule[0].reason: missing"},
		{RuleSpec{Name: "a", Action: "later", Reason: "r"}, "pass, bcc, delay, confirm, hold or reject"},
	}
	for _, c := range cases {
		_, err := New(Config{Rules: []RuleSpec{c.spec}})
		var pe *Error
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want %q", c.spec, err, c.want)
		}
	}
	if _, err := New(Config{DelayExternal: -time.Second}); err == nil {
		t.Error("negative delay.all_external accepted")
	}
}

// The recipient-side signals pick their recipients too: a look-alike
// recipient waits, a colleague on the same message does not.
func TestLookalikeTargetsItsRecipient(t *testing.T) {
	t.Parallel()
	e := mustEngine(t, Config{InternalDomains: []string{"example.jp"}, Rules: DefaultRules()})
	v := e.Evaluate(env("a@example.jp", "b@example.jp", "yamada@gmial.com"), &message.Facts{Subject: "hello"}, nil, now)
	if v.Action != verdict.Hold || v.Recipients[0].Action != verdict.Pass || v.Recipients[1].Action != verdict.Hold || !v.Splittable() {
		t.Errorf("verdict %s %+v split %v\n%+v", v.Action, v.Recipients, v.Splittable(), v.Reasons)
	}
}
