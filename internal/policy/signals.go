package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/lookalike"
	"github.com/egressguard/egressguard/internal/verdict"
)

// Recipient-side signals: look-alike domains, first contact, exposure of
// addresses in To/Cc.
//
// The engine knows the internal domains and the built-in free-mail, ISP
// and carrier list itself. What changes at run time comes through the
// Lists value given to Evaluate, when it implements these interfaces:
//
//   - LookalikeSource: more trusted domains (allowlisted domains, the
//     domains the organisation corresponds with);
//   - Correspondents: who has received delivered mail.
//
// Without a Correspondents source nothing is known, so every external
// recipient is a first contact.

// LookalikeSource gives the look-alike check the trusted domains the
// engine does not know itself. nil indexes are skipped.
type LookalikeSource interface {
	LookalikeIndexes() []*lookalike.Index
}

// Correspondents is the record of delivered mail as the engine sees it.
// sender and rcpt arrive normalised (lower case, A-label domains).
// Implementations must be safe for concurrent use, answer from memory or
// a quick indexed read, and answer false when they cannot tell (a store
// error): an unknown recipient is a first contact.
type Correspondents interface {
	// Contacted reports whether mail from anyone was delivered to rcpt's
	// domain, and whether mail from sender was delivered to rcpt.
	Contacted(sender, rcpt string, now time.Time) (domain, address bool)
	// ContactedDomain is the first half of Contacted, for when no rule
	// asks about addresses (it may save a read).
	ContactedDomain(rcpt string, now time.Time) bool
}

// First-contact conditions.
const (
	FirstContactDomain  = "domain"
	FirstContactAddress = "address"
)

// kindText names a kind of trusted domain for evidence.
var kindText = map[lookalike.Kind][2]string{
	lookalike.Internal:      {"internal domain", "社内ドメイン"},
	lookalike.Allowlisted:   {"allowlisted domain", "許可リストのドメイン"},
	lookalike.Correspondent: {"regular correspondent", "よく送信している相手先ドメイン"},
	lookalike.Provider:      {"free-mail, ISP or carrier domain", "フリーメール・プロバイダ・携帯キャリアのドメイン"},
}

var reasonText = map[lookalike.Reason][2]string{
	lookalike.Confusable: {"confusable characters", "見分けにくい文字"},
	lookalike.Separator:  {"a hyphen or dot added or removed", "ハイフンまたはドットの有無"},
	lookalike.Suffix:     {"another ending", "末尾（.com / .co.jp / .jp など）の違い"},
	lookalike.Typo:       {"a typing slip", "入力ミス"},
	lookalike.Embedded:   {"the trusted domain inside another", "信頼済みドメインを含む別のドメイン"},
}

// findLookalikes checks the domain of every unknown recipient, each
// domain once.
func (ev *eval) findLookalikes() {
	var indexes []*lookalike.Index
	var extra bool
	var seen map[string]*lookalike.Match
	for _, r := range ev.rcpts {
		if r.Class != verdict.Unknown {
			continue
		}
		_, d, ok := normalizeAddr(r.Addr)
		if !ok || strings.HasPrefix(d, "[") {
			continue
		}
		m, done := seen[d]
		if !done {
			if !extra {
				extra = true
				indexes = append(indexes, ev.e.lookalike)
				if src, ok := ev.lists.(LookalikeSource); ok {
					indexes = append(indexes, src.LookalikeIndexes()...)
				}
			}
			if found, ok := lookalike.Lookup(d, indexes...); ok {
				m = &found
			}
			if seen == nil {
				seen = map[string]*lookalike.Match{}
			}
			seen[d] = m
		}
		if m == nil {
			continue
		}
		ev.lookalikes = append(ev.lookalikes, verdict.LookalikeEvidence{
			Rcpt: r.Addr, Domain: m.Domain, Trusted: m.Trusted, Kind: m.Kind, Reason: m.Reason,
			En: fmt.Sprintf("%s (%s, %s)", m.String(), kindText[m.Kind][0], reasonText[m.Reason][0]),
			Ja: fmt.Sprintf("%s（%s、%s）", m.Japanese(), kindText[m.Kind][1], reasonText[m.Reason][1]),
		})
	}
}

// contacts judges every external recipient against the correspondents
// record, once per message.
func (ev *eval) contacts() []verdict.FirstContactEvidence {
	if ev.firstDone {
		return ev.firstContact
	}
	ev.firstDone = true
	corr, _ := ev.lists.(Correspondents)
	for _, r := range ev.rcpts {
		if r.Class == verdict.Internal {
			continue
		}
		norm, _, ok := normalizeAddr(r.Addr)
		var dom, addr bool
		switch {
		case !ok || corr == nil:
		case ev.e.firstAddr:
			dom, addr = corr.Contacted(ev.sender, norm, ev.now)
		default:
			// Only domains asked about: a new domain is a new address,
			// a known one is not reported.
			dom = corr.ContactedDomain(norm, ev.now)
			addr = dom
		}
		if dom && addr {
			continue
		}
		ev.firstContact = append(ev.firstContact, verdict.FirstContactEvidence{Rcpt: r.Addr, NewDomain: !dom, NewAddress: !addr})
	}
	return ev.firstContact
}

func compileSignalConds(spec RuleSpec, key string, probs *problems, r *rule) {
	if spec.VisibleExternalRecipients != nil {
		n := *spec.VisibleExternalRecipients
		if n < 1 {
			probs.add(key+".visible_external_recipients", fmt.Sprintf("%d is less than 1", n), "a count such as 10: the rule matches 10 or more external To/Cc addresses")
		}
		r.conds = append(r.conds, cond{costFact,
			func(ev *eval) bool { return ev.headerExternal() >= n },
			func(ev *eval) string {
				s := fmt.Sprintf("%d external addresses visible in To/Cc (%d or more): %s", ev.headerExternal(), n, strings.Join(ev.hdrAddrs, ", "))
				if more := ev.headerExternal() - len(ev.hdrAddrs); more > 0 {
					s += fmt.Sprintf(" and %d more", more)
				}
				return s
			}})
	}
	if spec.RecipientLookalike != nil {
		want := *spec.RecipientLookalike
		r.conds = append(r.conds, cond{costFact,
			func(ev *eval) bool { return (len(ev.lookalikes) > 0) == want },
			func(ev *eval) string {
				if !want {
					return "no look-alike recipient domain"
				}
				var parts []string
				for i, l := range ev.lookalikes {
					if i == 5 {
						parts = append(parts, fmt.Sprintf("and %d more", len(ev.lookalikes)-5))
						break
					}
					parts = append(parts, fmt.Sprintf("%s: %s / %s", l.Rcpt, l.En, l.Ja))
				}
				return strings.Join(parts, "; ")
			}})
		if want {
			// The rule applies to the look-alike recipients (split
			// delivery sends the others the message at once).
			r.who = append(r.who, func(ev *eval, i int) bool {
				for _, l := range ev.lookalikes {
					if l.Rcpt == ev.rcpts[i].Addr {
						return true
					}
				}
				return false
			})
		}
	}
	switch fc := strings.ToLower(strings.TrimSpace(spec.FirstContact)); fc {
	case "":
	case FirstContactDomain, FirstContactAddress:
		pick := func(ev *eval) []string {
			var out []string
			for _, c := range ev.contacts() {
				if c.NewDomain || fc == FirstContactAddress && c.NewAddress {
					out = append(out, c.Rcpt)
				}
			}
			return out
		}
		r.conds = append(r.conds, cond{costFact,
			func(ev *eval) bool { return len(pick(ev)) > 0 },
			func(ev *eval) string {
				what := "never mailed by anyone in the organisation"
				if fc == FirstContactAddress {
					what = "never mailed by this sender"
				}
				list := pick(ev)
				s := strings.Join(list[:min(len(list), 10)], ", ")
				if len(list) > 10 {
					s += fmt.Sprintf(" and %d more", len(list)-10)
				}
				return "first contact (" + what + "): " + s
			}})
		// The rule applies to the recipients contacted for the first time.
		r.who = append(r.who, func(ev *eval, i int) bool { return slices.Contains(pick(ev), ev.rcpts[i].Addr) })
	default:
		probs.add(key+".first_contact", fmt.Sprintf("unknown value %q", spec.FirstContact), "\"domain\" (no one in the organisation mailed the domain before) or \"address\" (this sender never mailed the address)")
	}
}
