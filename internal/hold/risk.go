package hold

import (
	"slices"
	"strings"

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// Risk says which held mail is high-risk: its approver must type the
// recipient's domain before approving, so that an approval is a reading
// of the recipient, not a reflex. A hold is high-risk when
//   - one of the rules that held it is named in Rules, or
//   - it goes to at least Recipients recipients that are not internal, or
//   - its verdict carries a signal named in Signals: a field whose name
//     contains one of them (e.g. "lookalike", "personal") with a value
//     that is set (a true, a number above zero, a non-empty text or
//     list), anywhere in the verdict. Signals are matched by name so that
//     evidence added to the verdict later (look-alike domains, personal
//     data counts) makes mail high-risk without a change here.
type Risk struct {
	Rules      []string
	Recipients int // 0: not by count
	Signals    []string
}

// DefaultSignals are the verdict fields that make a hold high-risk by
// default: a look-alike recipient domain, a My Number, a card number.
var DefaultSignals = []string{"lookalike", "look_alike", "my_number", "card_number"}

// DefaultRules are the built-in rules whose holds are high-risk by
// default: look-alike recipients, personal data, many visible recipients.
var DefaultRules = []string{"lookalike-recipient-domain", "personal-records-unknown-recipient",
	"my-number-unknown-recipient", "many-visible-external-recipients"}

// Assessment is what Risk found for one message.
type Assessment struct {
	High   bool
	Why    []string // rule names and signal names that made it so
	Domain string   // the recipient domain the approver must type
}

// Assess judges m.
func (r *Risk) Assess(m *store.Message) Assessment {
	var a Assessment
	v := m.Verdict
	if v == nil {
		v = &verdict.Verdict{}
	}
	for _, rs := range v.Reasons {
		if !rs.Monitor && slices.Contains(r.Rules, rs.Rule) && !slices.Contains(a.Why, rs.Rule) {
			a.Why = append(a.Why, rs.Rule)
		}
	}
	external := 0
	for _, rc := range v.Recipients {
		if rc.Class != verdict.Internal {
			external++
		}
	}
	if r.Recipients > 0 && external >= r.Recipients {
		a.Why = append(a.Why, "recipients")
	}
	if len(r.Signals) > 0 && m.Verdict != nil {
		fields, err := m.Verdict.Fields()
		if err != nil {
			// Fail closed: a verdict whose signals cannot be read is
			// treated as showing them.
			a.Why = append(a.Why, "verdict")
		}
		walkSignals(fields, r.Signals, &a.Why)
	}
	a.High = len(a.Why) > 0
	a.Domain = confirmDomain(v, m)
	return a
}

// walkSignals finds set fields whose names contain a signal.
func walkSignals(x any, signals []string, why *[]string) {
	switch t := x.(type) {
	case map[string]any:
		for k, val := range t {
			lk := strings.ToLower(k)
			for _, s := range signals {
				if strings.Contains(lk, s) && isSet(val) && !slices.Contains(*why, k) {
					*why = append(*why, k)
				}
			}
			walkSignals(val, signals, why)
		}
	case []any:
		for _, e := range t {
			walkSignals(e, signals, why)
		}
	}
}

func isSet(v any) bool {
	switch t := v.(type) {
	case bool:
		return t
	case float64:
		return t > 0
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	return false
}

// confirmDomain is the domain of the first unknown recipient, else of the
// first recipient that is not internal, else of the first recipient.
func confirmDomain(v *verdict.Verdict, m *store.Message) string {
	pick := ""
	for _, a := range v.Unknown {
		if pick = domainOf(a); pick != "" {
			return pick
		}
	}
	for _, rc := range v.Recipients {
		if rc.Class != verdict.Internal {
			if pick = domainOf(rc.Addr); pick != "" {
				return pick
			}
		}
	}
	for _, a := range m.Addrs() {
		if pick = domainOf(a); pick != "" {
			return pick
		}
	}
	return ""
}

func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(addr[at+1:], "."))
}

// SameDomain compares a typed domain with the expected one: case, spaces
// around it, a leading "@" and a trailing dot do not matter.
func SameDomain(typed, want string) bool {
	t := strings.ToLower(strings.TrimSpace(typed))
	t = strings.TrimSuffix(strings.TrimPrefix(t, "@"), ".")
	return want != "" && t == want
}
