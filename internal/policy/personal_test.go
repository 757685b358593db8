package policy

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/pii"
	"github.com/egressguard/egressguard/internal/verdict"
)

func personalFacts(records, myNumbers, cards int) *message.Facts {
	f := &message.Facts{PersonalRecords: records, MyNumbers: myNumbers, CardNumbers: cards}
	if records > 0 {
		f.Personal = append(f.Personal, message.Personal{Part: "2", File: "患者一覧.xlsx (Sheet1)", Summary: pii.Summary{
			Records:     records,
			RecordKinds: map[pii.Kind]int{pii.Name: records, pii.Phone: records, pii.Birth: records / 2},
			Found:       map[pii.Kind]int{pii.Name: records, pii.Phone: records, pii.Birth: records / 2},
		}})
	}
	if myNumbers > 0 {
		f.Personal = append(f.Personal, message.Personal{Part: "1", Summary: pii.Summary{
			MyNumbers: myNumbers, MyNumberContext: true, Found: map[pii.Kind]int{pii.MyNumber: myNumbers}}})
	}
	if cards > 0 {
		f.Personal = append(f.Personal, message.Personal{Part: "3", File: "card.csv", Summary: pii.Summary{
			Cards: cards, Found: map[pii.Kind]int{pii.Card: cards}}})
	}
	return f
}

// TestPersonalDefaultRules: 100 records or a My Number to an unknown
// recipient hold, 10 are recorded, internal and allowlisted recipients
// pass, and the reason names the file, the count and the kinds.
func TestPersonalDefaultRules(t *testing.T) {
	t.Parallel()
	e := mustEngine(t, Config{InternalDomains: []string{"example.co.jp"}, Rules: DefaultRules()})
	// Every recipient a known correspondent: the first-contact monitor
	// rule stays out of these verdicts.
	lists := knownAll{mustList(t, "partner.example")}
	tests := []struct {
		name    string
		to      string
		f       *message.Facts
		action  verdict.Action
		rules   []string
		monitor string
	}{
		{"9683 records external", "x@unknown.example", personalFacts(9683, 0, 0), verdict.Hold, []string{"personal-records-unknown-recipient"}, "personal-records-10-unknown-recipient"},
		{"100 records external", "x@unknown.example", personalFacts(100, 0, 0), verdict.Hold, []string{"personal-records-unknown-recipient"}, "personal-records-10-unknown-recipient"},
		{"99 records external", "x@unknown.example", personalFacts(99, 0, 0), verdict.Pass, nil, "personal-records-10-unknown-recipient"},
		{"9 records external", "x@unknown.example", personalFacts(9, 0, 0), verdict.Pass, nil, ""},
		{"records internal", "x@example.co.jp", personalFacts(9683, 0, 0), verdict.Pass, nil, ""},
		{"records allowlisted", "x@partner.example", personalFacts(9683, 0, 0), verdict.Pass, nil, ""},
		{"my number external", "x@unknown.example", personalFacts(0, 1, 0), verdict.Hold, []string{"my-number-unknown-recipient"}, ""},
		{"my number internal", "x@example.co.jp", personalFacts(0, 1, 0), verdict.Pass, nil, ""},
		{"card external (no default rule)", "x@unknown.example", personalFacts(0, 0, 2), verdict.Pass, nil, ""},
	}
	for _, tc := range tests {
		v := e.Evaluate(env("a@example.co.jp", tc.to), tc.f, lists, now)
		if v.Action != tc.action || strings.Join(v.Rules(), ",") != strings.Join(tc.rules, ",") {
			t.Errorf("%s: %s %v, want %s %v (%+v)", tc.name, v.Action, v.Rules(), tc.action, tc.rules, v.Reasons)
		}
		found := ""
		for _, r := range v.Reasons {
			if r.Monitor {
				found = r.Rule
			}
		}
		if found != tc.monitor {
			t.Errorf("%s: monitor %q, want %q", tc.name, found, tc.monitor)
		}
	}
	v := e.Evaluate(env("a@example.co.jp", "x@unknown.example"), personalFacts(9683, 0, 0), lists, now)
	want := "患者一覧.xlsx (Sheet1): 9,683 件の個人レコード（氏名・電話番号・生年月日） / 9,683 person records (name, phone number, date of birth)"
	if len(v.Reasons) == 0 || !strings.Contains(v.Reasons[0].Matched, want) || !strings.HasPrefix(v.Reasons[0].Detail, want) {
		t.Errorf("reason %+v, want %q", v.Reasons, want)
	}
	v = e.Evaluate(env("a@example.co.jp", "x@unknown.example"), personalFacts(0, 1, 0), lists, now)
	if len(v.Reasons) == 0 || !strings.Contains(v.Reasons[0].Matched, "1 件の個人番号") || !strings.Contains(v.Reasons[0].Matched, "labelled as My Number") {
		t.Errorf("my number reason %+v", v.Reasons)
	}
}

// TestPersonalConditions: the conditions decode from TOML, mean "at least
// N", combine with recipient classes, and 0 or less is refused.
func TestPersonalConditions(t *testing.T) {
	t.Parallel()
	src := `
[[rule]]
name = "cards-external"
action = "reject"
reason = "Card numbers."
card_numbers = 1
recipients = "any_external"

[[rule]]
name = "many-records-anyone"
action = "hold"
reason = "A large list."
personal_records = 1000

[[rule]]
name = "my-number"
action = "hold"
reason = "My Number."
my_number = 2
`
	var doc struct {
		Rule []RuleSpec `toml:"rule"`
	}
	md, err := toml.Decode(src, &doc)
	if err != nil || len(md.Undecoded()) > 0 {
		t.Fatalf("%v %v", err, md.Undecoded())
	}
	e := mustEngine(t, Config{InternalDomains: []string{"example.co.jp"}, Rules: doc.Rule})
	tests := []struct {
		name   string
		to     string
		f      *message.Facts
		action verdict.Action
	}{
		{"card to allowlisted is external", "x@partner.example", personalFacts(0, 0, 1), verdict.Reject},
		{"card internal", "x@example.co.jp", personalFacts(0, 0, 3), verdict.Pass},
		{"1000 records internal", "x@example.co.jp", personalFacts(1000, 0, 0), verdict.Hold},
		{"999 records", "x@example.co.jp", personalFacts(999, 0, 0), verdict.Pass},
		{"one my number of two", "x@example.co.jp", personalFacts(0, 1, 0), verdict.Pass},
		{"two my numbers", "x@example.co.jp", personalFacts(0, 2, 0), verdict.Hold},
	}
	lists := mustList(t, "partner.example")
	for _, tc := range tests {
		if v := e.Evaluate(env("a@example.co.jp", tc.to), tc.f, lists, now); v.Action != tc.action {
			t.Errorf("%s: %s, want %s (%+v)", tc.name, v.Action, tc.action, v.Reasons)
		}
	}
	zero, neg := 0, -1
	_, err = New(Config{Rules: []RuleSpec{
		{Name: "a", Action: "hold", Reason: "x", PersonalRecords: &zero},
		{Name: "b", Action: "hold", Reason: "x", MyNumber: &neg},
		{Name: "c", Action: "hold", Reason: "x", CardNumbers: &zero},
	}})
	if err == nil || strings.Count(err.Error(), "not a count of 1 or more") != 3 {
		t.Errorf("invalid counts: %v", err)
	}
}
