package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/egressguard/egressguard/internal/lookalike"
	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/verdict"
)

// knownAll is an allowlist whose correspondents record knows everyone.
type knownAll struct{ *StaticList }

func (knownAll) Contacted(string, string, time.Time) (bool, bool) { return true, true }
func (knownAll) ContactedDomain(string, time.Time) bool           { return true }

// record is a correspondents record: domains anyone mailed, and
// sender→recipient pairs.
type record struct {
	*StaticList
	domains map[string]bool
	pairs   map[string]bool
	extra   *lookalike.Index
}

func (r record) Contacted(sender, rcpt string, _ time.Time) (bool, bool) {
	return r.domains[rcpt[strings.LastIndexByte(rcpt, '@')+1:]], r.pairs[sender+">"+rcpt]
}

func (r record) ContactedDomain(rcpt string, now time.Time) bool {
	d, _ := r.Contacted("", rcpt, now)
	return d
}

func (r record) LookalikeIndexes() []*lookalike.Index {
	return append(r.StaticList.LookalikeIndexes(), r.extra)
}

func TestFirstContact(t *testing.T) {
	t.Parallel()
	e := mustEngine(t, Config{InternalDomains: []string{"example.co.jp"}, Rules: []RuleSpec{
		{Name: "new-domain", Action: "hold", Reason: "r", FirstContact: "domain"},
		{Name: "new-address", Action: "hold", Reason: "r", FirstContact: "Address", Mode: "monitor"},
	}})
	rec := record{StaticList: mustList(t), domains: map[string]bool{"customer.example": true},
		pairs: map[string]bool{"a@example.co.jp>x@customer.example": true}}
	for _, tc := range []struct {
		name  string
		rcpts []string
		rules []string // matched, monitor included
		fc    []verdict.FirstContactEvidence
	}{
		{"known pair", []string{"x@customer.example"}, nil, nil},
		{"known domain, new address", []string{"y@customer.example"}, []string{"new-address"}, []verdict.FirstContactEvidence{{Rcpt: "y@customer.example", NewAddress: true}}},
		{"new domain", []string{"x@customer.example", "z@new.example"}, []string{"new-domain", "new-address"}, []verdict.FirstContactEvidence{{Rcpt: "z@new.example", NewDomain: true, NewAddress: true}}},
		{"internal never counts", []string{"boss@example.co.jp"}, nil, nil},
		{"case and IDN normalised", []string{"X@Customer.Example"}, nil, nil},
	} {
		v := e.Evaluate(env("A@example.co.jp", tc.rcpts...), &message.Facts{}, rec, now)
		var got []string
		for _, r := range v.Reasons {
			got = append(got, r.Rule)
		}
		if diff := cmp.Diff(tc.rules, got); diff != "" {
			t.Errorf("%s: rules (-want +got):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(tc.fc, v.FirstContact); diff != "" {
			t.Errorf("%s: evidence (-want +got):\n%s", tc.name, diff)
		}
	}
	// With rules on domains only, addresses are not looked up.
	dom := mustEngine(t, Config{Rules: []RuleSpec{{Name: "d", Action: "hold", Reason: "r", FirstContact: "domain", Mode: "monitor"}}})
	v := dom.Evaluate(env("a@example.co.jp", "y@customer.example", "z@new.example"), &message.Facts{}, rec, now)
	if diff := cmp.Diff([]verdict.FirstContactEvidence{{Rcpt: "z@new.example", NewDomain: true, NewAddress: true}}, v.FirstContact); diff != "" {
		t.Errorf("domains only (-want +got):\n%s", diff)
	}
	// Without a record nobody is known.
	v = e.Evaluate(env("a@example.co.jp", "x@customer.example"), &message.Facts{}, mustList(t), now)
	if v.Action != verdict.Hold || len(v.FirstContact) != 1 {
		t.Errorf("no record: %s %+v", v.Action, v.FirstContact)
	}
}

func TestRecipientLookalike(t *testing.T) {
	t.Parallel()
	e := mustEngine(t, Config{InternalDomains: []string{"example.co.jp"}, LookalikeDomains: []string{"my-isp.ne.jp"},
		Rules: []RuleSpec{{Name: "lookalike", Action: "hold", Reason: "r", RecipientLookalike: yes()}}})
	rec := record{StaticList: mustList(t, "partner-corp.co.jp", "taro@client.example", "gmial.com"),
		extra: lookalike.New([]lookalike.Domain{{Name: "torihikisaki.com", Kind: lookalike.Correspondent}})}
	for _, tc := range []struct {
		rcpt, trusted string
		kind          lookalike.Kind
	}{
		{"yamada@gmial.co.jp", "", ""}, // gmial.com is allowlisted: trusted, its suffix swap is still a look-alike of it
		{"yamada@gnail.com", "gmail.com", lookalike.Provider},
		{"x@exampel.co.jp", "example.co.jp", lookalike.Internal},
		{"x@partnercorp.co.jp", "partner-corp.co.jp", lookalike.Allowlisted},
		{"x@clinet.example", "client.example", lookalike.Allowlisted},
		{"x@torihikisak.com", "torihikisaki.com", lookalike.Correspondent},
		{"x@my-isp.co.jp", "my-isp.ne.jp", lookalike.Provider},
		{"yamada@gmail.com", "", ""},
		{"x@gmial.com", "", ""},          // allowlisted itself
		{"x@mail.example.co.jp", "", ""}, // internal
		{"x@[192.0.2.1]", "", ""},
	} {
		v := e.Evaluate(env("a@example.co.jp", tc.rcpt), &message.Facts{}, rec, now)
		if tc.trusted == "" && tc.rcpt == "yamada@gmial.co.jp" {
			// gmial.co.jp swaps the suffix of the allowlisted gmial.com.
			tc.trusted, tc.kind = "gmial.com", lookalike.Allowlisted
		}
		if tc.trusted == "" {
			if v.Action != verdict.Pass || len(v.Lookalikes) != 0 {
				t.Errorf("%s: %s %+v, want pass", tc.rcpt, v.Action, v.Lookalikes)
			}
			continue
		}
		if v.Action != verdict.Hold || len(v.Lookalikes) != 1 || v.Lookalikes[0].Trusted != tc.trusted || v.Lookalikes[0].Kind != tc.kind {
			t.Errorf("%s: %s %+v, want a look-alike of %s (%s)", tc.rcpt, v.Action, v.Lookalikes, tc.trusted, tc.kind)
		}
	}
	v := e.Evaluate(env("a@example.co.jp", "yamada@gmial.com", "b@gmial.com"), &message.Facts{}, mustList(t), now)
	if len(v.Lookalikes) != 2 || len(v.Reasons) != 1 {
		t.Fatalf("two recipients of one look-alike domain: %+v", v)
	}
	m := v.Reasons[0].Matched
	for _, want := range []string{"yamada@gmial.com: gmial.com looks like gmail.com", "gmial.com は gmail.com に似ています"} {
		if !strings.Contains(m, want) {
			t.Errorf("evidence %q lacks %q", m, want)
		}
	}
	if l := v.Lookalikes[0]; !strings.HasPrefix(l.En, "gmial.com looks like gmail.com") || !strings.HasPrefix(l.Ja, "gmial.com は gmail.com に似ています") {
		t.Errorf("evidence %+v", l)
	}
}

func TestVisibleExternalRecipients(t *testing.T) {
	t.Parallel()
	e := mustEngine(t, Config{InternalDomains: []string{"example.co.jp"}, Rules: []RuleSpec{
		{Name: "exposure", Action: "hold", Reason: "r", VisibleExternalRecipients: ptr(3)},
		{Name: "old", Action: "hold", Reason: "r", ExternalHeaderRcptsOver: ptr(2), Mode: "monitor"},
	}})
	for _, tc := range []struct {
		to, cc []string
		want   int
		rules  []string
	}{
		{[]string{"a@x.example", "b@y.example"}, nil, 2, nil},
		{[]string{"a@x.example", "b@y.example"}, []string{"c@z.example"}, 3, []string{"exposure", "old"}},
		{[]string{"a@x.example", "A@X.example", "<a@x.example>"}, []string{"boss@example.co.jp", "c@sub.example.co.jp"}, 1, nil},
		{[]string{"a@x.example", "b@partner.example", "garbage"}, nil, 3, []string{"exposure", "old"}},
	} {
		v := e.Evaluate(env("a@example.co.jp", "a@x.example"), &message.Facts{To: tc.to, Cc: tc.cc}, knownAll{mustList(t, "partner.example")}, now)
		if v.VisibleExternal != tc.want {
			t.Errorf("%v %v: %d visible, want %d", tc.to, tc.cc, v.VisibleExternal, tc.want)
		}
		var got []string
		for _, r := range v.Reasons {
			got = append(got, r.Rule)
		}
		if diff := cmp.Diff(tc.rules, got); diff != "" {
			t.Errorf("%v %v: rules (-want +got):\n%s", tc.to, tc.cc, diff)
		}
	}
	if _, err := New(Config{Rules: []RuleSpec{{Name: "x", Action: "hold", Reason: "r", VisibleExternalRecipients: ptr(0), FirstContact: "sometimes"}}}); err == nil ||
		!strings.Contains(err.Error(), "rule[0].visible_external_recipients") || !strings.Contains(err.Error(), "rule[0].first_contact") {
		t.Errorf("bad values: %v", err)
	}
	if _, err := New(Config{LookalikeDomains: []string{"not a domain"}}); err == nil || !strings.Contains(err.Error(), "lookalike.extra_domains[0]") {
		t.Errorf("bad extra domain: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// BenchmarkRecipientSignals is the cost the recipient-side signals add
// per recipient: Evaluate with the default rules on a plain message to 1
// and to 10 unknown recipients, with a live index of 10,000 correspondent
// domains and a correspondents record answering from memory.
func BenchmarkRecipientSignals(b *testing.B) {
	e := mustEngine(b, Config{InternalDomains: []string{"example.co.jp"}, Rules: DefaultRules()})
	var ds []lookalike.Domain
	for i := range 10000 {
		ds = append(ds, lookalike.Domain{Name: fmt.Sprintf("customer%05d-corp.co.jp", i), Kind: lookalike.Correspondent})
	}
	rec := record{StaticList: mustList(b, "partner.example.com"), domains: map[string]bool{"customer00001-corp.co.jp": true},
		pairs: map[string]bool{}, extra: lookalike.New(ds)}
	facts := &message.Facts{Subject: "お見積り", To: []string{"client@customer.example"}}
	for _, n := range []int{1, 10} {
		var rcpts []string
		for i := range n {
			rcpts = append(rcpts, fmt.Sprintf("person%d@company%d-example.co.jp", i, i))
		}
		en := env("taro@example.co.jp", rcpts...)
		b.Run(fmt.Sprintf("rcpts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Evaluate(en, facts, rec, now)
			}
		})
	}
}
