package policy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/sharelink"
	"github.com/egressguard/egressguard/internal/verdict"
)

var now = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

func mustEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustList(t testing.TB, entries ...string) *StaticList {
	t.Helper()
	l, err := NewStaticList(entries)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func env(from string, to ...string) *envelope.Envelope {
	e := &envelope.Envelope{ID: "test", From: from}
	for _, a := range to {
		e.Rcpts = append(e.Rcpts, envelope.Rcpt{Addr: a})
	}
	return e
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

func TestRecipientClasses(t *testing.T) {
	t.Parallel()
	e := mustEngine(t, Config{InternalDomains: []string{"Example.CO.JP", "*.group.example", "会社.example"}})
	lists := mustList(t,
		"partner.example.net",       // domain only
		".trusted.example",          // domain and subdomains
		"*.wild.example",            // same
		"VIP@Friends.example",       // one address
		"パートナー.example",             // IDN domain in Unicode
		"xn--eckwd4c7c.example.org", // IDN given as A-label
	)
	tests := []struct {
		addr  string
		class verdict.Class
		entry string
	}{
		{"taro@example.co.jp", verdict.Internal, ""},
		{"Taro@EXAMPLE.co.jp", verdict.Internal, ""},
		{"taro@sales.example.co.jp", verdict.Internal, ""},
		{"taro@deep.sales.example.co.jp", verdict.Internal, ""},
		{"taro@example.co.jp.", verdict.Internal, ""},
		{"<taro@example.co.jp>", verdict.Internal, ""},
		{"taro@notexample.co.jp", verdict.Unknown, ""},
		{"taro@example.co.jp.evil.example", verdict.Unknown, ""},
		{"a@group.example", verdict.Internal, ""}, // "*.group.example" includes the domain itself
		{"a@x.group.example", verdict.Internal, ""},
		{"a@会社.example", verdict.Internal, ""},
		{"a@xn--6oq404h.example", verdict.Internal, ""},
		{"a@ＥＸＡＭＰＬＥ．ＣＯ．ＪＰ", verdict.Internal, ""}, // full-width forms map to ASCII
		{"bob@partner.example.net", verdict.Allowlisted, "partner.example.net"},
		{"bob@PARTNER.example.net", verdict.Allowlisted, "partner.example.net"},
		{"bob@sub.partner.example.net", verdict.Unknown, ""},
		{"bob@trusted.example", verdict.Allowlisted, ".trusted.example"},
		{"bob@a.b.trusted.example", verdict.Allowlisted, ".trusted.example"},
		{"bob@untrusted.example", verdict.Unknown, ""},
		{"bob@x.wild.example", verdict.Allowlisted, "*.wild.example"},
		{"vip@friends.example", verdict.Allowlisted, "VIP@Friends.example"},
		{"Vip@FRIENDS.example", verdict.Allowlisted, "VIP@Friends.example"},
		{"other@friends.example", verdict.Unknown, ""},
		{"bob@パートナー.example", verdict.Allowlisted, "パートナー.example"},
		{"bob@xn--fdket6oc.example", verdict.Allowlisted, "パートナー.example"},
		{"bob@ファイル.example.org", verdict.Unknown, ""},
		{"bob@[192.0.2.1]", verdict.Unknown, ""},
		{"not-an-address", verdict.Unknown, ""},
		{"@example.co.jp", verdict.Unknown, ""},
		{"taro@", verdict.Unknown, ""},
		{"", verdict.Unknown, ""},
	}
	for _, tc := range tests {
		got := e.Classify("sender@example.co.jp", tc.addr, lists, now)
		if got.Class != tc.class || got.Entry != tc.entry {
			t.Errorf("Classify(%q) = %s %q, want %s %q", tc.addr, got.Class, got.Entry, tc.class, tc.entry)
		}
	}
	if c := e.Classify("", "x@partner.example.net", nil, now); c.Class != verdict.Unknown {
		t.Errorf("nil lists: %v", c)
	}
	if c := e.Classify("", "not-an-address", nil, now); c.Note == "" {
		t.Errorf("unparseable address without note: %+v", c)
	}
}

func TestStaticListErrors(t *testing.T) {
	t.Parallel()
	_, err := NewStaticList([]string{"ok.example", "not a domain", "localhost", "@x.example", "a@", ".", "*.", "ok@ok.example", "x@-bad-.example"})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	var keys []string
	for _, p := range e.Problems {
		keys = append(keys, p.Key)
	}
	want := []string{"allow[1]", "allow[2]", "allow[3]", "allow[4]", "allow[5]", "allow[6]", "allow[8]"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

// listFunc adapts a function to Lists, as the runtime allowlist will.
type listFunc func(sender, rcpt string, now time.Time) (string, bool)

func (f listFunc) Allowed(s, r string, n time.Time) (string, bool) { return f(s, r, n) }

func TestListsSeeNormalisedAddresses(t *testing.T) {
	t.Parallel()
	e := mustEngine(t, Config{InternalDomains: []string{"example.co.jp"}})
	var gotSender, gotRcpt string
	var gotNow time.Time
	lists := listFunc(func(s, r string, n time.Time) (string, bool) {
		gotSender, gotRcpt, gotNow = s, r, n
		return "sender-scoped", s == "taro@example.co.jp"
	})
	v := e.Evaluate(env("Taro@Example.CO.JP", "Bob@パートナー.Example"), &message.Facts{}, lists, now)
	if gotSender != "taro@example.co.jp" || gotRcpt != "bob@xn--fdket6oc.example" || !gotNow.Equal(now) {
		t.Errorf("Allowed(%q, %q, %v)", gotSender, gotRcpt, gotNow)
	}
	if v.Recipients[0].Class != verdict.Allowlisted || v.Recipients[0].Entry != "sender-scoped" || v.Recipients[0].Addr != "Bob@パートナー.Example" {
		t.Errorf("recipient = %+v", v.Recipients[0])
	}
	// Internal recipients never reach the allowlist.
	gotRcpt = ""
	e.Evaluate(env("taro@example.co.jp", "hanako@example.co.jp"), &message.Facts{}, lists, now)
	if gotRcpt != "" {
		t.Errorf("allowlist consulted for an internal recipient: %q", gotRcpt)
	}
}

func TestRuleCompileErrorsAllReported(t *testing.T) {
	t.Parallel()
	neg := -1
	_, err := New(Config{
		InternalDomains: []string{"example.co.jp", "not a domain", "[192.0.2.1]"},
		Rules: []RuleSpec{
			{Name: "ok", Action: "hold", Reason: "r", ShareLink: yes()},
			{Name: "ok", Action: "hold", Reason: "r"},
			{Name: "bad name!", Action: "block", Mode: "audit"},
			{Name: "no-reason", Action: "reject"},
			{Name: "regexes", Action: "pass", SubjectRegex: []string{"(", "ok"}, BodyRegex: []string{"[z-a]"}, FilenameRegex: []string{""}},
			{Name: "share", Action: "pass", ShareLink: no(), Providers: []string{"Dropbox"}},
			{Name: "providers", Action: "pass", Providers: []string{"dropbox", "NoSuchDrive"}, ProviderKinds: []string{"cloud"}},
			{Name: "rcpts", Action: "pass", Recipients: "some_unknown", ExternalHeaderRcptsOver: &neg},
			{Name: "atts", Action: "pass", AttachmentExt: []string{"", "a b"}, AttachmentType: []string{"zip", "*/zip", "application/x*"}},
			{Name: "kw", Action: "pass", SubjectKeywords: []string{" "}, BodyKeywords: []string{"ok", ""}, FilenameKeywords: []string{""}},
			{Name: "senders", Action: "pass", Senders: []string{"example.co.jp", "bad sender"}},
			{Name: "", Action: "pass"},
		},
	})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	var keys []string
	for _, p := range e.Problems {
		keys = append(keys, p.Key)
		if p.What == "" || p.Hint == "" {
			t.Errorf("problem without what or hint: %+v", p)
		}
	}
	want := []string{
		"internal_domains[1]",
		"internal_domains[2]",
		"rule[1].name",
		"rule[2].name",
		"rule[2].action",
		"rule[2].mode",
		"rule[3].reason",
		"rule[4].filename_regex[0]",
		"rule[4].subject_regex[0]",
		"rule[4].body_regex[0]",
		"rule[5].share_link",
		"rule[6].providers[1]",
		"rule[6].provider_kinds[0]",
		"rule[7].recipients",
		"rule[7].external_header_rcpts_over",
		"rule[8].attachment_ext[0]",
		"rule[8].attachment_ext[1]",
		"rule[8].attachment_type[0]",
		"rule[8].attachment_type[1]",
		"rule[8].attachment_type[2]",
		"rule[9].filename_keywords[0]",
		"rule[9].subject_keywords[0]",
		"rule[9].body_keywords[1]",
		"rule[10].senders[1]",
		"rule[11].name",
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("problem keys (-want +got):\n%s\n%v", diff, err)
	}
}

func TestDefaultRulesCompile(t *testing.T) {
	t.Parallel()
	e := mustEngine(t, Config{InternalDomains: []string{"example.co.jp"}, Rules: DefaultRules()})
	if n := len(e.RuleNames()); n != len(DefaultRules()) {
		t.Errorf("%d rules compiled", n)
	}
}

// RuleSpec decodes from TOML as the config package embeds it, with sizes
// as numbers or strings and unknown keys detectable.
func TestRuleSpecTOML(t *testing.T) {
	t.Parallel()
	src := `
[[rule]]
name = "big-zip"
action = "hold"
reason = "Large archive to an unknown recipient."
mode = "monitor"
recipients = "any_unknown"
attachment_ext = ["zip", ".7z"]
attachment_size_over = "10MiB"
encrypted_attachment = true

[[rule]]
name = "dropbox"
action = "reject"
reason = "Dropbox is not allowed."
providers = ["Dropbox"]
share_link = true
external_header_rcpts_over = 3
attachment_size_over = 1024
typo_key = 1
`
	var doc struct {
		Rule []RuleSpec `toml:"rule"`
	}
	md, err := toml.Decode(src, &doc)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) != 1 || u[0].String() != "rule.typo_key" {
		t.Errorf("undecoded = %v", u)
	}
	r := doc.Rule
	if len(r) != 2 || *r[0].AttachmentSizeOver != 10<<20 || *r[1].AttachmentSizeOver != 1024 || !*r[0].EncryptedAttachment ||
		*r[1].ExternalHeaderRcptsOver != 3 || r[0].ShareLink != nil || !*r[1].ShareLink || r[0].Mode != "monitor" {
		t.Errorf("decoded %+v", r)
	}
	if _, err := New(Config{Rules: r}); err != nil {
		t.Error(err)
	}
	var bad struct {
		Rule []RuleSpec `toml:"rule"`
	}
	if _, err := toml.Decode("[[rule]]\nattachment_size_over = \"ten\"\n", &bad); err == nil || !strings.Contains(err.Error(), "invalid size") {
		t.Errorf("bad size: %v", err)
	}
}

func TestByteSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"10": 10, "10B": 10, "1KB": 1000, "1KiB": 1024, "2k": 2048, "1.5MB": 1500000, "10MiB": 10 << 20, "1G": 1 << 30, " 3 mb ": 3e6} {
		var s ByteSize
		if err := s.UnmarshalText([]byte(in)); err != nil || int64(s) != want {
			t.Errorf("%q = %d, %v; want %d", in, s, err, want)
		}
	}
	for _, in := range []string{"", "-1", "ten", "1TB", "1e30GB"} {
		var s ByteSize
		if err := s.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q accepted as %d", in, s)
		}
	}
}

// dropboxFacts is a message with one Dropbox share link in part 1.
func dropboxFacts() *message.Facts {
	return &message.Facts{
		Subject: "Quote",
		Parts:   []message.Part{{Path: "1", ContentType: "text/plain", Text: "See https://www.dropbox.com/s/abc123def456/Quote.pdf"}},
		Links: []message.Link{{
			URL: "https://www.dropbox.com/s/abc123def456/Quote.pdf", Host: "www.dropbox.com",
			Raw: "https://www.dropbox.com/s/abc123def456/Quote.pdf", Part: "1", Source: "text",
		}},
	}
}

func TestCombination(t *testing.T) {
	t.Parallel()
	rules := []RuleSpec{
		{Name: "pass-internal", Action: "pass", Recipients: RcptAllInternal},
		{Name: "pass-share", Action: "pass", Reason: "shares to partners are fine", ShareLink: yes()},
		{Name: "hold-share-unknown", Action: "hold", Reason: "share to unknown", ShareLink: yes(), Recipients: RcptAnyUnknown},
		{Name: "reject-dropbox", Action: "reject", Reason: "no Dropbox", Providers: []string{"dropbox"}, Recipients: RcptAnyExternal},
		{Name: "monitor-reject-any", Action: "reject", Reason: "would reject everything", Mode: ModeMonitor},
		{Name: "hold-vip", Action: "hold", Reason: "vip", Senders: []string{"ceo@example.co.jp"}},
	}
	e := mustEngine(t, Config{InternalDomains: []string{"example.co.jp"}, Rules: rules})
	lists := mustList(t, "partner.example")
	type reason struct {
		Rule    string
		Action  verdict.Action
		Monitor bool
	}
	tests := []struct {
		name    string
		env     *envelope.Envelope
		facts   *message.Facts
		action  verdict.Action
		reasons []reason
	}{
		{"internal only: pass rules recorded", env("a@example.co.jp", "b@example.co.jp"), dropboxFacts(), verdict.Pass,
			[]reason{{"pass-internal", verdict.Pass, false}, {"pass-share", verdict.Pass, false}, {"monitor-reject-any", verdict.Reject, true}}},
		{"unknown: reject beats hold, pass does not lower", env("a@example.co.jp", "b@example.co.jp", "x@unknown.example"), dropboxFacts(), verdict.Reject,
			[]reason{{"pass-share", verdict.Pass, false}, {"hold-share-unknown", verdict.Hold, false}, {"reject-dropbox", verdict.Reject, false}, {"monitor-reject-any", verdict.Reject, true}}},
		{"allowlisted external: reject-dropbox still applies", env("a@example.co.jp", "x@partner.example"), dropboxFacts(), verdict.Reject,
			[]reason{{"pass-share", verdict.Pass, false}, {"reject-dropbox", verdict.Reject, false}, {"monitor-reject-any", verdict.Reject, true}}},
		{"no link: monitor only", env("a@example.co.jp", "x@unknown.example"), &message.Facts{}, verdict.Pass,
			[]reason{{"monitor-reject-any", verdict.Reject, true}}},
		{"sender rule", env("CEO@example.co.jp", "x@partner.example"), &message.Facts{}, verdict.Hold,
			[]reason{{"monitor-reject-any", verdict.Reject, true}, {"hold-vip", verdict.Hold, false}}},
		{"null sender matches no sender list", env("", "x@partner.example"), &message.Facts{}, verdict.Pass,
			[]reason{{"monitor-reject-any", verdict.Reject, true}}},
	}
	for _, tc := range tests {
		v := e.Evaluate(tc.env, tc.facts, lists, now)
		var got []reason
		for _, r := range v.Reasons {
			got = append(got, reason{r.Rule, r.Action, r.Monitor})
			if r.Detail == "" || (r.Rule != "monitor-reject-any" && r.Matched == "" && r.Rule != "pass-internal") {
				t.Errorf("%s: reason %+v lacks detail or evidence", tc.name, r)
			}
		}
		if v.Action != tc.action {
			t.Errorf("%s: action = %s, want %s", tc.name, v.Action, tc.action)
		}
		if diff := cmp.Diff(tc.reasons, got); diff != "" {
			t.Errorf("%s: reasons (-want +got):\n%s", tc.name, diff)
		}
	}
}

// Rule order does not change the action.
func TestCombinationOrderIndependent(t *testing.T) {
	t.Parallel()
	rules := []RuleSpec{
		{Name: "p", Action: "pass", ShareLink: yes()},
		{Name: "h", Action: "hold", Reason: "h", ShareLink: yes()},
		{Name: "r", Action: "reject", Reason: "r", Providers: []string{"Dropbox"}},
		{Name: "m", Action: "reject", Reason: "m", Mode: "monitor", ShareLink: yes()},
	}
	perms := [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}, {2, 0, 3, 1}}
	for _, p := range perms {
		var rs []RuleSpec
		for _, i := range p {
			rs = append(rs, rules[i])
		}
		e := mustEngine(t, Config{Rules: rs})
		if v := e.Evaluate(env("a@x.example", "b@y.example"), dropboxFacts(), nil, now); v.Action != verdict.Reject || len(v.Reasons) != 4 {
			t.Errorf("order %v: %s, %d reasons", p, v.Action, len(v.Reasons))
		}
	}
}

func TestInspectionProblemsNeverPass(t *testing.T) {
	t.Parallel()
	problem := &message.Facts{Problems: []message.Problem{{Part: "2", Kind: message.KindLimitDepth, Detail: "nested deeper than 20"}}}
	tests := []struct {
		name   string
		rules  []RuleSpec
		facts  *message.Facts
		action verdict.Action
		rules_ []string
	}{
		{"no rules", nil, problem, verdict.Hold, []string{BuiltinInspectionRule}},
		{"nil facts", nil, nil, verdict.Hold, []string{BuiltinInspectionRule}},
		{"default rule names it", DefaultRules(), problem, verdict.Hold, []string{"inspection-problem"}},
		{"reject instead", []RuleSpec{{Name: "x", Action: "reject", Reason: "r", InspectionProblem: yes()}}, problem, verdict.Reject, []string{"x"}},
		{"monitor rule cannot pass it", []RuleSpec{{Name: "x", Action: "hold", Reason: "r", Mode: "monitor", InspectionProblem: yes()}}, problem, verdict.Hold, []string{BuiltinInspectionRule}},
		{"pass rule cannot pass it", []RuleSpec{{Name: "x", Action: "pass", InspectionProblem: yes()}}, problem, verdict.Hold, []string{BuiltinInspectionRule}},
		{"clean message", []RuleSpec{{Name: "x", Action: "hold", Reason: "r", InspectionProblem: yes()}}, &message.Facts{}, verdict.Pass, nil},
		{"inspection_problem = false", []RuleSpec{{Name: "x", Action: "hold", Reason: "r", InspectionProblem: no()}}, &message.Facts{}, verdict.Hold, []string{"x"}},
	}
	for _, tc := range tests {
		e := mustEngine(t, Config{Rules: tc.rules})
		v := e.Evaluate(env("a@example.co.jp", "b@example.co.jp"), tc.facts, nil, now)
		if v.Action != tc.action {
			t.Errorf("%s: action %s, want %s", tc.name, v.Action, tc.action)
		}
		if diff := cmp.Diff(tc.rules_, v.Rules()); diff != "" {
			t.Errorf("%s: rules (-want +got):\n%s", tc.name, diff)
		}
		if tc.facts != nil && len(tc.facts.Problems) > 0 && len(v.Problems) == 0 {
			t.Errorf("%s: problems not in verdict", tc.name)
		}
	}
}

func TestDefaultRulesBehaviour(t *testing.T) {
	t.Parallel()
	e := mustEngine(t, Config{InternalDomains: []string{"example.co.jp"}, Rules: DefaultRules()})
	lists := knownAll{mustList(t, "partner.example")}
	zip := &message.Facts{Attachments: []message.Attachment{{Part: "2", Filename: "見積.zip", ContentType: "application/zip", Size: 2048, Encrypted: true}}}
	many := &message.Facts{}
	for i := 0; i < 11; i++ {
		many.To = append(many.To, strings.Repeat("x", i+1)+"@customer.example")
	}
	many.Cc = []string{"boss@example.co.jp", many.To[0]} // internal and duplicate do not count
	tests := []struct {
		name   string
		env    *envelope.Envelope
		facts  *message.Facts
		action verdict.Action
		rules  []string
	}{
		{"share to unknown", env("a@example.co.jp", "x@unknown.example"), dropboxFacts(), verdict.Hold, []string{"share-link-unknown-recipient"}},
		{"share to allowlisted", env("a@example.co.jp", "x@partner.example"), dropboxFacts(), verdict.Pass, nil},
		{"share to internal", env("a@example.co.jp", "x@sub.example.co.jp"), dropboxFacts(), verdict.Pass, nil},
		{"share to internal and unknown (Bcc)", env("a@example.co.jp", "x@example.co.jp", "spy@unknown.example"), dropboxFacts(), verdict.Hold, []string{"share-link-unknown-recipient"}},
		{"unparseable recipient", env("a@example.co.jp", "x@example.co.jp", "garbage"), dropboxFacts(), verdict.Hold, []string{"share-link-unknown-recipient"}},
		{"encrypted zip held", env("a@example.co.jp", "x@unknown.example"), zip, verdict.Hold, []string{"encrypted-attachment-unknown-recipient"}},
		{"encrypted zip to allowlisted", env("a@example.co.jp", "x@partner.example"), zip, verdict.Pass, nil},
		{"many To", env("a@example.co.jp", "x@unknown.example"), many, verdict.Hold, []string{"many-visible-external-recipients"}},
		{"look-alike without a link", env("a@example.co.jp", "yamada@gmial.com"), &message.Facts{}, verdict.Hold, []string{"lookalike-recipient-domain"}},
		{"look-alike of an internal domain", env("a@example.co.jp", "x@exmaple.co.jp"), &message.Facts{}, verdict.Hold, []string{"lookalike-recipient-domain"}},
		{"look-alike of an allowlisted domain", env("a@example.co.jp", "x@partner-example.com"), &message.Facts{}, verdict.Hold, []string{"lookalike-recipient-domain"}},
		{"real free-mail domain", env("a@example.co.jp", "yamada@gmail.com"), &message.Facts{}, verdict.Pass, nil},
	}
	for _, tc := range tests {
		v := e.Evaluate(tc.env, tc.facts, lists, now)
		if v.Action != tc.action {
			t.Errorf("%s: action %s, want %s (%+v)", tc.name, v.Action, tc.action, v.Reasons)
		}
		if diff := cmp.Diff(tc.rules, v.Rules()); diff != "" {
			t.Errorf("%s: rules (-want +got):\n%s", tc.name, diff)
		}
	}
	v := e.Evaluate(env("a@example.co.jp", "x@unknown.example"), zip, lists, now)
	if len(v.Reasons) != 1 || v.Reasons[0].Monitor || v.Reasons[0].Rule != "encrypted-attachment-unknown-recipient" ||
		!strings.Contains(v.Reasons[0].Matched, `"見積.zip"`) {
		t.Errorf("monitor reason = %+v", v.Reasons)
	}
	v = e.Evaluate(env("a@example.co.jp", "x@unknown.example"), many, lists, now)
	if len(v.Reasons) != 1 || !strings.Contains(v.Reasons[0].Matched, "11 external addresses") || v.VisibleExternal != 11 {
		t.Errorf("header count reason = %+v", v.Reasons)
	}
}

func TestConditions(t *testing.T) {
	t.Parallel()
	size := ByteSize(1000)
	facts := &message.Facts{
		Subject: "【社外秘】Ｑ３ 売上報告",
		Parts: []message.Part{
			{Path: "1", ContentType: "text/plain", Text: "お世話になっております。ＰＡＳＳＷＯＲＤは別途お送りします。"},
			{Path: "2", ContentType: "application/zip", Filename: "Report.ZIP", Disposition: "attachment", Size: 5000},
			{Path: "3", ContentType: "text/plain", Filename: "notes.txt", Disposition: "attachment", Text: "attachment-only secret"},
		},
		Attachments: []message.Attachment{
			{Part: "2", Filename: "Report.ZIP", ContentType: "application/zip", Size: 5000, Encrypted: true},
			{Part: "3", Filename: "notes.txt", ContentType: "text/plain", Size: 100},
		},
	}
	tests := []struct {
		name string
		spec RuleSpec
		want bool
	}{
		{"subject keyword, full-width and case", RuleSpec{SubjectKeywords: []string{"q3"}}, true},
		{"subject keyword japanese", RuleSpec{SubjectKeywords: []string{"社外秘"}}, true},
		{"subject regex sees NFKC", RuleSpec{SubjectRegex: []string{`Q3 売上`}}, true},
		{"subject regex case-sensitive", RuleSpec{SubjectRegex: []string{`q3`}}, false},
		{"subject regex (?i)", RuleSpec{SubjectRegex: []string{`(?i)q3`}}, true},
		{"body keyword", RuleSpec{BodyKeywords: []string{"password"}}, true},
		{"body excludes attachments", RuleSpec{BodyKeywords: []string{"attachment-only"}}, false},
		{"body regex", RuleSpec{BodyRegex: []string{`PASSWORDは別途`}}, true},
		{"ext", RuleSpec{AttachmentExt: []string{".zip"}}, true},
		{"ext without dot", RuleSpec{AttachmentExt: []string{"7z", "zip"}}, true},
		{"ext no match", RuleSpec{AttachmentExt: []string{"pdf"}}, false},
		{"type wildcard", RuleSpec{AttachmentType: []string{"application/*"}}, true},
		{"type exact", RuleSpec{AttachmentType: []string{"application/pdf"}}, false},
		{"size over", RuleSpec{AttachmentSizeOver: &size}, true},
		{"same attachment: zip and encrypted", RuleSpec{AttachmentExt: []string{"zip"}, EncryptedAttachment: yes()}, true},
		{"same attachment: txt and encrypted", RuleSpec{AttachmentExt: []string{"txt"}, EncryptedAttachment: yes()}, false},
		{"unencrypted attachment", RuleSpec{EncryptedAttachment: no()}, true},
		{"filename regex", RuleSpec{FilenameRegex: []string{`^Report\.`}}, true},
		{"filename keyword", RuleSpec{FilenameKeywords: []string{"report"}}, true},
		{"AND of subject and body", RuleSpec{SubjectKeywords: []string{"社外秘"}, BodyKeywords: []string{"nothing like this"}}, false},
		{"OR within a list", RuleSpec{BodyKeywords: []string{"nothing like this", "別途"}}, true},
		{"no share link", RuleSpec{ShareLink: no()}, true},
		{"share link", RuleSpec{ShareLink: yes()}, false},
		{"no notice", RuleSpec{ShareNotice: no()}, true},
		{"header count 0", RuleSpec{ExternalHeaderRcptsOver: new(int)}, false},
	}
	for _, tc := range tests {
		tc.spec.Name, tc.spec.Action = "r", "pass"
		e := mustEngine(t, Config{InternalDomains: []string{"example.co.jp"}, Rules: []RuleSpec{tc.spec}})
		v := e.Evaluate(env("a@example.co.jp", "b@example.co.jp"), facts, nil, now)
		if got := len(v.Reasons) == 1; got != tc.want {
			t.Errorf("%s: matched = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestProviderConditions(t *testing.T) {
	t.Parallel()
	cat, err := sharelink.New(nil, []sharelink.SelfHostedSpec{{Kind: "nextcloud", Host: "cloud.example.co.jp"}})
	if err != nil {
		t.Fatal(err)
	}
	facts := &message.Facts{Links: []message.Link{
		{URL: "https://example.com/", Host: "example.com", Part: "1"},
		{URL: "https://cloud.example.co.jp/s/AbCdEfGhIjK", Host: "cloud.example.co.jp", Part: "1.2", Source: "href"},
		{URL: "https://cloud.example.co.jp/s/AbCdEfGhIjK", Host: "cloud.example.co.jp", Part: "1.2", Source: "html-text"},
		{URL: "https://b.s3.amazonaws.com/x?X-Amz-Signature=1", Raw: "https://nam.safelinks.protection.outlook.com/?url=...", Host: "b.s3.amazonaws.com", Part: "1.1", Wrappers: []string{"safelinks"}},
	}}
	tests := []struct {
		spec RuleSpec
		want bool
	}{
		{RuleSpec{Providers: []string{"nextcloud"}}, true},
		{RuleSpec{Providers: []string{"Dropbox"}}, false},
		{RuleSpec{ProviderKinds: []string{"signed-url"}}, true},
		{RuleSpec{ProviderKinds: []string{"transfer"}}, false},
		{RuleSpec{Providers: []string{"Amazon S3"}, ProviderKinds: []string{"signed-url"}}, true},
		{RuleSpec{Providers: []string{"Amazon S3"}, ProviderKinds: []string{"nextcloud"}}, false},
	}
	for _, tc := range tests {
		tc.spec.Name, tc.spec.Action = "r", "pass"
		e := mustEngine(t, Config{Catalog: cat, Rules: []RuleSpec{tc.spec}})
		v := e.Evaluate(env("a@x.example", "b@y.example"), facts, nil, now)
		if got := len(v.Reasons) == 1; got != tc.want {
			t.Errorf("%+v: matched = %v", tc.spec, got)
		}
	}
	e := mustEngine(t, Config{Catalog: cat})
	v := e.Evaluate(env("a@x.example", "b@y.example"), facts, nil, now)
	want := []verdict.LinkEvidence{
		{URL: "https://cloud.example.co.jp/s/AbCdEfGhIjK", Provider: "Nextcloud", Kind: "nextcloud", Why: "self-hosted nextcloud cloud.example.co.jp: path (?:^|/)(?:index\\.php/)?s/[A-Za-z0-9]{5,}(?:/|$)", Part: "1.2", Source: "href"},
		{URL: "https://b.s3.amazonaws.com/x?X-Amz-Signature=1", Provider: "Amazon S3", Kind: "signed-url", Why: "query X-Amz-Signature", Part: "1.1", Wrappers: []string{"safelinks"}, Raw: "https://nam.safelinks.protection.outlook.com/?url=..."},
	}
	if diff := cmp.Diff(want, v.Links); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
}

func TestVerdictJSON(t *testing.T) {
	t.Parallel()
	e := mustEngine(t, Config{InternalDomains: []string{"example.co.jp"}, Rules: DefaultRules()})
	v := e.Evaluate(env("a@example.co.jp", "x@unknown.example"), dropboxFacts(), nil, now)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	reasons := m["reasons"].([]any)
	links := m["links"].([]any)
	r0 := reasons[0].(map[string]any)
	l0 := links[0].(map[string]any)
	if m["action"] != "hold" || r0["rule"] != "share-link-unknown-recipient" || r0["detail"] == "" ||
		l0["url"] != "https://www.dropbox.com/s/abc123def456/Quote.pdf" || l0["provider"] != "Dropbox" || l0["part"] != "1" {
		t.Errorf("JSON = %s", b)
	}
	// A clean verdict has empty lists, not nulls.
	v = e.Evaluate(env("a@example.co.jp", "b@example.co.jp"), &message.Facts{}, nil, now)
	b, _ = json.Marshal(v)
	if !strings.Contains(string(b), `"reasons":[]`) || !strings.Contains(string(b), `"links":[]`) || !strings.Contains(string(b), `"unknown":[]`) {
		t.Errorf("JSON = %s", b)
	}
}

func TestEvidenceBounded(t *testing.T) {
	t.Parallel()
	f := &message.Facts{}
	for i := 0; i < 200; i++ {
		u := "https://www.dropbox.com/s/abc123def" + strings.Repeat("x", i%10) + "/f" + string(rune('a'+i%26)) + "?n=" + strings.Repeat("1", i)
		f.Links = append(f.Links, message.Link{URL: u, Host: "www.dropbox.com", Part: "1"})
	}
	e := mustEngine(t, Config{Rules: DefaultRules()})
	v := e.Evaluate(env("a@x.example", "b@y.example"), f, nil, now)
	if len(v.Links) != maxLinkEvidence || v.LinksOmitted != 200-maxLinkEvidence {
		t.Errorf("links %d, omitted %d", len(v.Links), v.LinksOmitted)
	}
}

func TestEvaluateDeterministic(t *testing.T) {
	t.Parallel()
	e := mustEngine(t, Config{InternalDomains: []string{"example.co.jp"}, Rules: DefaultRules()})
	en := env("a@example.co.jp", "x@unknown.example", "y@other.example", "z@example.co.jp")
	first, _ := json.Marshal(e.Evaluate(en, dropboxFacts(), nil, now))
	for i := 0; i < 20; i++ {
		b, _ := json.Marshal(e.Evaluate(en, dropboxFacts(), nil, now))
		if string(b) != string(first) {
			t.Fatalf("run %d differs:\n%s\n%s", i, first, b)
		}
	}
}

func TestEvaluateConcurrent(t *testing.T) {
	t.Parallel()
	e := mustEngine(t, Config{InternalDomains: []string{"example.co.jp"}, Rules: DefaultRules()})
	lists := mustList(t, "partner.example")
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- true }()
			for i := 0; i < 200; i++ {
				if v := e.Evaluate(env("a@example.co.jp", "x@unknown.example"), dropboxFacts(), lists, now); v.Action != verdict.Hold {
					t.Errorf("action %s", v.Action)
					return
				}
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}

// The default rules survive a TOML round trip, so the example config can
// be generated from them and the config package can decode them.
func TestDefaultRulesTOMLRoundTrip(t *testing.T) {
	t.Parallel()
	type doc struct {
		Rule []RuleSpec `toml:"rule"`
	}
	var buf strings.Builder
	if err := toml.NewEncoder(&buf).Encode(doc{DefaultRules()}); err != nil {
		t.Fatal(err)
	}
	var back doc
	md, err := toml.Decode(buf.String(), &back)
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Errorf("undecoded keys %v", u)
	}
	if diff := cmp.Diff(DefaultRules(), back.Rule); diff != "" {
		t.Errorf("round trip (-want +got):\n%s\n%s", diff, buf.String())
	}
}

// TestDefaultRulesSpeakBothLanguages: every built-in rule gives its
// reason in Japanese and in English, so that no page or notice falls back
// to the other language.
func TestDefaultRulesSpeakBothLanguages(t *testing.T) {
	for _, r := range DefaultRules() {
		if r.ReasonJA == "" || r.ReasonEN == "" {
			t.Errorf("rule %s lacks reason_ja or reason_en", r.Name)
		}
		for _, ch := range r.ReasonEN {
			if ch > 0x2000 {
				t.Errorf("rule %s: reason_en is not English: %q", r.Name, r.ReasonEN)
				break
			}
		}
	}
	v := &verdict.Reason{Detail: "plain", DetailJA: "日本語", DetailEN: "English"}
	if v.Text("ja") != "日本語" || v.Text("en") != "English" || (&verdict.Reason{Detail: "plain", DetailEN: "x"}).Text("ja") != "plain" {
		t.Error("Reason.Text does not pick the reader's language, then the plain reason")
	}
}
