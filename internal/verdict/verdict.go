// Package verdict holds what the policy decides about a message and the
// evidence for it: the Action, the Verdict and the recipient classes. The
// policy engine produces a Verdict; intake, the SMTP front end, the store,
// hold, notices and the console read it as this one type.
//
// The JSON encoding of a Verdict (its field tags) is stored with every
// message and printed by "egressguard check" and the console's API, so it
// only ever grows: a field is never renamed or given another type, and
// verdicts written by older versions still decode (see Decode).
package verdict

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/egressguard/egressguard/internal/lookalike"
)

// Class is what a recipient is to the organisation.
type Class string

// Recipient classes. A recipient is internal when its domain is one of the
// organisation's domains or a subdomain of one; otherwise allowlisted when
// the allowlist says so; otherwise unknown. An address that cannot be
// parsed is unknown.
const (
	Internal    Class = "internal"
	Allowlisted Class = "allowlisted"
	Unknown     Class = "unknown"
)

// Action is what happens to a message.
type Action string

// Actions, from least to most severe:
//
//   - pass: deliver as submitted;
//   - bcc: move the external addresses visible in To/Cc out of the header
//     (they stay envelope recipients, so they still get the message, now
//     as Bcc) and deliver; the one action that changes the bytes;
//   - delay: wait for the rule's delay (policy.RuleSpec.Delay), then deliver by
//     itself unless the sender cancels it or sends it at once;
//   - confirm: wait for the sender to confirm; unconfirmed mail expires
//     unsent;
//   - hold: wait for an officer's decision;
//   - reject: refuse it at once (550).
const (
	Pass    Action = "pass"
	Bcc     Action = "bcc"
	Delay   Action = "delay"
	Confirm Action = "confirm"
	Hold    Action = "hold"
	Reject  Action = "reject"
)

// Actions lists every action from least to most severe.
func Actions() []Action { return []Action{Pass, Bcc, Delay, Confirm, Hold, Reject} }

func (a Action) severity() int {
	switch a {
	case Bcc:
		return 1
	case Delay:
		return 2
	case Confirm:
		return 3
	case Hold:
		return 4
	case Reject:
		return 5
	}
	return 0
}

// Waits reports whether a message with this action waits before it is
// delivered (delay, confirm, hold).
func (a Action) Waits() bool { return a == Delay || a == Confirm || a == Hold }

// Less reports whether a is less severe than b.
func (a Action) Less(b Action) bool { return a.severity() < b.severity() }

// Max returns the more severe of a and b.
func (a Action) Max(b Action) Action {
	if b.severity() > a.severity() {
		return b
	}
	return a
}

// Text returns the reason in lang ("ja" or "en"): the rule's text in that
// language, else its plain reason, else the other language.
func (r *Reason) Text(lang string) string {
	own, other := r.DetailEN, r.DetailJA
	if lang == "ja" {
		own, other = r.DetailJA, r.DetailEN
	}
	return cmp.Or(own, r.Detail, other)
}

// Verdict is the engine's decision and the evidence for it. Its JSON is
// stored with the message and printed by "egressguard check".
type Verdict struct {
	Action  Action   `json:"action"`
	Reasons []Reason `json:"reasons"`
	// Links are the share links found, after unwrapping.
	Links        []LinkEvidence `json:"links"`
	LinksOmitted int            `json:"links_omitted,omitempty"`
	// UnknownDestinations are links whose destination cannot be known
	// without following them (URL shorteners, redirectors that hide their
	// target), at most a bounded number (see DestinationsOmitted).
	UnknownDestinations []DestinationEvidence `json:"unknown_destinations,omitempty"`
	DestinationsOmitted int                   `json:"unknown_destinations_omitted,omitempty"`
	Recipients          []RcptClass           `json:"recipients"`
	// Unknown lists the envelope recipients that are neither internal nor
	// allowlisted, as written in the envelope.
	Unknown  []string            `json:"unknown"`
	Problems []InspectionProblem `json:"problems,omitempty"`
	// DelaySeconds is how long delayed mail waits: the longest delay of
	// the enforced delay rules that matched (0 unless Action is delay or
	// more severe with a delay rule among the matches).
	DelaySeconds int64 `json:"delay_seconds,omitempty"`
	// Bcc is set when an enforced bcc rule matched. The engine sees no
	// bytes: whoever applies the rewrite records in it what was moved.
	Bcc *BccChange `json:"bcc,omitempty"`
	// Personal counts the personal data found (never the data itself).
	Personal *PersonalEvidence `json:"personal,omitempty"`

	// Recipient-side signals (see signals.go). Lookalikes is always
	// filled; FirstContact only when a rule asked for it.
	Lookalikes   []LookalikeEvidence    `json:"lookalikes,omitempty"`
	FirstContact []FirstContactEvidence `json:"first_contact,omitempty"`
	// VisibleExternal counts the distinct non-internal addresses in To
	// and Cc.
	VisibleExternal int `json:"visible_external_recipients"`
}

// BccChange records the bcc action: which visible external addresses were
// taken out of To and Cc (they remain envelope recipients).
type BccChange struct {
	Applied bool     `json:"applied"`
	Moved   []string `json:"moved,omitempty"`
	// Undisclosed: To had no address left and became
	// "undisclosed-recipients:;".
	Undisclosed bool `json:"undisclosed,omitempty"`
	// Problem says why the rewrite could not be made (the message is then
	// held instead: fail closed).
	Problem string `json:"problem,omitempty"`
}

// Delay returns how long delayed mail waits.
func (v *Verdict) Delay() time.Duration { return time.Duration(v.DelaySeconds) * time.Second }

// Immediate reports whether recipient i may get the message at once when
// the message is split: its own action does not make it wait.
func (v *Verdict) Immediate(i int) bool {
	return i < len(v.Recipients) && !v.Recipients[i].Action.Waits() && v.Recipients[i].Action != Reject
}

// Splittable reports whether some but not all recipients wait: the
// message waits (delay, confirm, hold) and at least one recipient's own
// action does not make it wait.
func (v *Verdict) Splittable() bool {
	if !v.Action.Waits() {
		return false
	}
	n := 0
	for i := range v.Recipients {
		if v.Immediate(i) {
			n++
		}
	}
	return n > 0 && n < len(v.Recipients)
}

// PersonalEvidence is what the verdict keeps of personal data: counts per
// message and per file, and the kinds of identifier. Masked samples stay
// in the inspection facts; the audit log takes the counts.
type PersonalEvidence struct {
	Records     int            `json:"records"`
	MyNumbers   int            `json:"my_numbers,omitempty"`
	CardNumbers int            `json:"card_numbers,omitempty"`
	Files       []PersonalFile `json:"files,omitempty"`
}

// PersonalFile is one file (sheet, table, body part) with personal data.
type PersonalFile struct {
	Part      string   `json:"part"`
	File      string   `json:"file,omitempty"`
	Records   int      `json:"records"`
	Kinds     []string `json:"kinds,omitempty"`
	MyNumbers int      `json:"my_numbers,omitempty"`
	Cards     int      `json:"cards,omitempty"`
}

// Reason is one matched rule.
type Reason struct {
	Rule   string `json:"rule"`
	Action Action `json:"action"`
	Detail string `json:"detail"` // the rule's reason, for officers and senders
	// DetailJA and DetailEN are the reason in each language, when the
	// rule gives them; Text picks one.
	DetailJA string `json:"detail_ja,omitempty"`
	DetailEN string `json:"detail_en,omitempty"`
	Matched  string `json:"matched,omitempty"` // what made the conditions true, for officers
	Monitor  bool   `json:"monitor,omitempty"` // recorded only; did not affect the action
}

// LinkEvidence is one share link.
type LinkEvidence struct {
	URL      string   `json:"url"`
	Provider string   `json:"provider"`
	Kind     string   `json:"kind"`
	Why      string   `json:"why"`
	Part     string   `json:"part"` // MIME part path, "" for a header
	Source   string   `json:"source,omitempty"`
	Wrappers []string `json:"wrappers,omitempty"`
	Raw      string   `json:"raw,omitempty"`  // as found, when it differs from URL
	Text     string   `json:"text,omitempty"` // anchor text naming another host
	Opaque   bool     `json:"opaque,omitempty"`
}

// DestinationEvidence is one link to an unknown destination.
type DestinationEvidence struct {
	URL    string `json:"url"`
	Why    string `json:"why"`
	Part   string `json:"part"`
	Source string `json:"source,omitempty"`
	// Sites are the only sites a single-site shortener leads to.
	Sites []string `json:"sites,omitempty"`
	// ShareCapable: the link may lead to a file share; only such links
	// satisfy unknown_destination = true.
	ShareCapable bool   `json:"share_capable"`
	Raw          string `json:"raw,omitempty"` // as found, when it differs from URL
}

// RcptClass is one envelope recipient and its class.
type RcptClass struct {
	Addr  string `json:"addr"`
	Class Class  `json:"class"`
	Entry string `json:"allow_entry,omitempty"` // allowlist entry that matched
	Note  string `json:"note,omitempty"`        // e.g. "unparseable address"
	// Action is the most severe action of the enforced rules that matched
	// for this recipient: a rule whose recipient condition picks some
	// recipients ("any_unknown" picks the unknown ones) applies to those;
	// any other rule applies to every recipient.
	Action Action `json:"action,omitempty"`
}

// InspectionProblem is a message.Problem in the verdict.
type InspectionProblem struct {
	Part   string `json:"part,omitempty"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// Rules returns the names of the matched rules that decided the action
// (enforced, with that action), in rule order.
func (v *Verdict) Rules() []string {
	var out []string
	for _, r := range v.Reasons {
		if !r.Monitor && r.Action == v.Action {
			out = append(out, r.Rule)
		}
	}
	return out
}

// LookalikeEvidence is one recipient whose domain resembles a trusted one.
type LookalikeEvidence struct {
	Rcpt    string           `json:"rcpt"`
	Domain  string           `json:"domain"`
	Trusted string           `json:"trusted"`
	Kind    lookalike.Kind   `json:"kind"`   // internal, allowlisted, correspondent, provider
	Reason  lookalike.Reason `json:"reason"` // confusable, separator, suffix, typo, embedded
	En      string           `json:"en"`     // "gmial.com looks like gmail.com"
	Ja      string           `json:"ja"`     // 「gmial.com は gmail.com に似ています」
}

// FirstContactEvidence is one external recipient never mailed before.
type FirstContactEvidence struct {
	Rcpt string `json:"rcpt"`
	// NewDomain: nobody in the organisation had mail delivered to the
	// domain; NewAddress: the sender never had mail delivered to rcpt.
	NewDomain  bool `json:"new_domain"`
	NewAddress bool `json:"new_address"`
}

// Encode returns the stored form of v: its JSON, or nil for a nil verdict.
func Encode(v *Verdict) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("verdict: encode: %w", err)
	}
	return b, nil
}

// ErrDecode is returned (wrapped) for a stored verdict that does not decode.
var ErrDecode = errors.New("verdict: cannot decode")

// Decode is the inverse of Encode: nil for an empty value (or JSON null),
// else the verdict. Verdicts written by older versions decode: fields added
// since are left zero, and fields since dropped are ignored.
func Decode(b []byte) (*Verdict, error) {
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	v := new(Verdict)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	return v, nil
}

// Fields returns the verdict as generic JSON values keyed by its stored
// field names, for readers that match names an operator configured (risk
// signals, findings in notices) against whatever the verdict holds,
// including fields added after they were written. A nil verdict has none.
func (v *Verdict) Fields() (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := Encode(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("verdict: fields: %w", err)
	}
	return m, nil
}
