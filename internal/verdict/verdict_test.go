package verdict

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestActionOrder(t *testing.T) {
	t.Parallel()
	as := Actions()
	for i := 1; i < len(as); i++ {
		if as[i].severity() <= as[i-1].severity() || !as[i-1].Less(as[i]) || as[i].Less(as[i-1]) {
			t.Errorf("%s is not more severe than %s", as[i], as[i-1])
		}
		if as[i-1].Max(as[i]) != as[i] || as[i].Max(as[i-1]) != as[i] {
			t.Errorf("Max(%s, %s)", as[i-1], as[i])
		}
	}
	for _, a := range as {
		if a.Waits() != (a == Delay || a == Confirm || a == Hold) {
			t.Errorf("%s.Waits() = %v", a, a.Waits())
		}
	}
}

// A verdict as the first version stored it (before per-recipient actions,
// languages, delays, bcc, personal data and recipient-side signals), and
// one as this version stores it: both must decode, and the second must
// encode back to the same value.
const (
	storedV1  = `{"action":"hold","reasons":[{"rule":"share-link-unknown-recipient","action":"hold","detail":"Share link to an unknown recipient","matched":"drive.google.com"}],"links":[{"url":"https://drive.google.com/drive/folders/1AbC?usp=sharing","provider":"Google Drive","kind":"saas","why":"folder","part":"1"}],"recipients":[{"addr":"a@partner.example","class":"unknown","note":""}],"unknown":["a@partner.example"]}`
	storedNow = `{"action":"delay","reasons":[{"rule":"r","action":"delay","detail":"d","detail_ja":"ja","detail_en":"en","monitor":true}],"links":null,"unknown_destinations":[{"url":"https://bit.ly/x","why":"shortener","part":"1","sites":["example.com"],"share_capable":true}],"recipients":[{"addr":"b@example.jp","class":"internal","action":"pass"},{"addr":"c@partner.example","class":"allowlisted","allow_entry":"partner.example","action":"delay"}],"unknown":null,"problems":[{"part":"2","kind":"limit","detail":"too deep"}],"delay_seconds":300,"bcc":{"applied":true,"moved":["x@y.example"]},"personal":{"records":12,"files":[{"part":"2","file":"a.csv","records":12,"kinds":["phone"]}]},"lookalikes":[{"rcpt":"z@gmial.com","domain":"gmial.com","trusted":"gmail.com","kind":"provider","reason":"typo","en":"e","ja":"j"}],"first_contact":[{"rcpt":"z@gmial.com","new_domain":true,"new_address":false}],"visible_external_recipients":2,"a_field_of_a_later_version":1}`
)

func TestDecodeStored(t *testing.T) {
	t.Parallel()
	v, err := Decode([]byte(storedV1))
	if err != nil {
		t.Fatal(err)
	}
	want := &Verdict{Action: Hold,
		Reasons:    []Reason{{Rule: "share-link-unknown-recipient", Action: Hold, Detail: "Share link to an unknown recipient", Matched: "drive.google.com"}},
		Links:      []LinkEvidence{{URL: "https://drive.google.com/drive/folders/1AbC?usp=sharing", Provider: "Google Drive", Kind: "saas", Why: "folder", Part: "1"}},
		Recipients: []RcptClass{{Addr: "a@partner.example", Class: Unknown}},
		Unknown:    []string{"a@partner.example"},
	}
	if d := cmp.Diff(want, v); d != "" {
		t.Errorf("first version (-want +got):\n%s", d)
	}
	if got := v.Rules(); len(got) != 1 || got[0] != "share-link-unknown-recipient" {
		t.Errorf("Rules() = %q", got)
	}

	v, err = Decode([]byte(storedNow))
	if err != nil {
		t.Fatal(err)
	}
	if v.Action != Delay || v.Delay().Minutes() != 5 || v.Reasons[0].Text("ja") != "ja" || !v.Reasons[0].Monitor ||
		v.Recipients[1].Entry != "partner.example" || !v.Bcc.Applied || v.Personal.Files[0].Records != 12 ||
		v.Lookalikes[0].Trusted != "gmail.com" || !v.FirstContact[0].NewDomain || v.VisibleExternal != 2 ||
		!v.UnknownDestinations[0].ShareCapable || v.Problems[0].Kind != "limit" {
		t.Errorf("current version decoded as %+v", v)
	}
	if !v.Splittable() || !v.Immediate(0) || v.Immediate(1) {
		t.Errorf("Splittable %v Immediate %v %v", v.Splittable(), v.Immediate(0), v.Immediate(1))
	}
	b, err := Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(v, again); d != "" {
		t.Errorf("encode, decode (-first +again):\n%s", d)
	}
}

func TestDecodeEmptyAndBad(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "null"} {
		if v, err := Decode([]byte(s)); v != nil || err != nil {
			t.Errorf("Decode(%q) = %v, %v; want nil, nil", s, v, err)
		}
	}
	if b, err := Encode(nil); b != nil || err != nil {
		t.Errorf("Encode(nil) = %q, %v", b, err)
	}
	for _, s := range []string{"{", `{"action":1}`, `{"reasons":["a string, not a reason"]}`, "sealed1:abc"} {
		if v, err := Decode([]byte(s)); !errors.Is(err, ErrDecode) || v != nil {
			t.Errorf("Decode(%q) = %v, %v; want ErrDecode", s, v, err)
		}
	}
}
