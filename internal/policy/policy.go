// Package policy decides what happens to an outgoing message: pass, hold
// for an officer, or reject. It is pure — no I/O, no state, deterministic —
// and works on the envelope, the inspection facts and the allowlist:
//
//	Evaluate(envelope, facts, lists, now) → Verdict{Action, Reasons, evidence}
//
// # Recipients
//
// The envelope recipients decide (Bcc included); the To and Cc headers are
// facts for rules only. Each envelope recipient is internal (its domain is
// one of the organisation's domains or a subdomain), allowlisted (Lists
// says so), or unknown. Comparison is case-insensitive and IDN domains are
// compared as A-labels. A recipient address that cannot be parsed is
// unknown.
//
// # Rules and how they combine
//
// A rule (RuleSpec) is a set of conditions, all of which must hold, and an
// action. Every rule is evaluated against every message, so a verdict
// lists all the rules that matched, not just the first. Then:
//
//  1. The most severe action of the matching enforced rules wins:
//     reject > hold > confirm > delay > bcc > pass. With no match the
//     action is pass. Each recipient also gets its own action: that of
//     the rules that apply to it (see Verdict.Recipients), so that
//     recipients no rule waits for can be sent the message at once
//     (split delivery).
//  2. A pass rule is not an exception: it never lowers the action another
//     rule chose. It only records that the message was looked at and
//     found acceptable. Exceptions belong in the allowlist and in the
//     conditions of the rule that would otherwise hold (recipients,
//     providers, senders). This keeps the outcome independent of rule
//     order and makes a mistaken broad pass rule harmless.
//  3. A monitor rule (mode = "monitor") is listed in the verdict with the
//     action it would have taken (Reason.Monitor) and never changes the
//     action. It is how a new rule is tried on real traffic.
//  4. A message that inspection could not handle completely (a limit hit,
//     an unparseable part, or no facts at all) is never passed: if no
//     enforced rule holds or rejects it, the engine holds it with the
//     reason "builtin:inspection-problem". This holds whatever the rules
//     say, including a monitor-mode inspection rule, and also when the
//     rules only delay or ask the sender to confirm (both end with the
//     message sent without an officer's review).
//
// # Recipient-side signals
//
// Beside the content, three facts about the recipients are conditions
// (signals.go): a recipient domain that looks like, but is not, a trusted
// one (recipient_lookalike; package lookalike), a first contact with a
// domain or address (first_contact; the correspondents record, read
// through the Lists value when it implements Correspondents), and the
// number of external addresses visible in To/Cc
// (visible_external_recipients).
//
// Rules are compiled once by New; an invalid rule set is reported with
// every problem at once.
package policy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/lookalike"
	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/problem"
	"github.com/egressguard/egressguard/internal/sharelink"
)

// Action is what happens to a message.
type Action string

// Actions, from least to most severe:
//
//   - pass: deliver as submitted;
//   - bcc: move the external addresses visible in To/Cc out of the header
//     (they stay envelope recipients, so they still get the message, now
//     as Bcc) and deliver; the one action that changes the bytes;
//   - delay: wait for the rule's delay (RuleSpec.Delay), then deliver by
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

// Max returns the more severe of a and b.
func (a Action) Max(b Action) Action {
	if b.severity() > a.severity() {
		return b
	}
	return a
}

// BuiltinDelayExternalRule names the reason the engine adds when
// Config.DelayExternal delays a message with external recipients.
const BuiltinDelayExternalRule = "builtin:delay-external"

// The reason of BuiltinInspectionRule in each language.
const (
	InspectionReasonEN = "The message could not be inspected completely; an officer must review it."
	InspectionReasonJA = "メールを最後まで検査できませんでした。担当者の確認が必要です。"
)

// Text returns the reason in lang ("ja" or "en"): the rule's text in that
// language, else its plain reason, else the other language.
func (r *Reason) Text(lang string) string {
	own, other := r.DetailEN, r.DetailJA
	if lang == "ja" {
		own, other = r.DetailJA, r.DetailEN
	}
	return cmpOr(own, r.Detail, other)
}

func cmpOr(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// BuiltinInspectionRule names the reason the engine adds when it holds a
// message that could not be inspected completely and no rule held it.
const BuiltinInspectionRule = "builtin:inspection-problem"

// maxLinkEvidence bounds the share links listed in a verdict; the rest are
// counted in LinksOmitted.
const maxLinkEvidence = 50

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
	// target), at most maxLinkEvidence.
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

// maxPersonalFiles bounds PersonalEvidence.Files.
const maxPersonalFiles = 20

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

// Config configures an Engine.
type Config struct {
	// InternalDomains are the organisation's domains; their subdomains are
	// internal too. ".example.com" and "*.example.com" mean the same.
	InternalDomains []string
	// Rules in the order they are listed in the verdict.
	Rules []RuleSpec
	// Catalog recognises share links; nil means the built-in catalogue.
	Catalog *sharelink.Catalog
	// LookalikeDomains are trusted for the look-alike check in addition
	// to the internal domains and the built-in free-mail, ISP and carrier
	// list (lookalike.Providers): policy.lookalike.extra_domains.
	LookalikeDomains []string
	// DelayExternal, when positive, delays every message with an external
	// recipient (one not internal) by this long, as if a rule with action
	// delay matched for its external recipients.
	DelayExternal time.Duration
}

// Engine evaluates messages. It is immutable and safe for concurrent use.
type Engine struct {
	internal      domainSet
	rules         []*rule
	catalog       *sharelink.Catalog
	lookalike     *lookalike.Index // internal domains and providers
	firstUsed     bool             // some rule has a first_contact condition
	firstAddr     bool             // some rule has first_contact = "address"
	delayExternal time.Duration
}

// ErrInvalid is wrapped by the *Error that New and NewStaticList return.
var ErrInvalid = errors.New("policy: invalid configuration")

// Problem is one thing wrong with the policy configuration. Key is the
// path of the offending value relative to the section holding the lists,
// e.g. "rule[2].subject_regex[0]", "internal_domains[1]", "allow[3]".
type Problem = problem.Problem

// Error lists every problem found; it wraps ErrInvalid.
type Error = problem.Error

type problems problem.List

func (p *problems) add(key, what, hint string) { (*problem.List)(p).Add(key, what, hint) }

// New compiles cfg. It returns an *Error listing every problem.
func New(cfg Config) (*Engine, error) {
	e := &Engine{internal: domainSet{}, catalog: cfg.Catalog, delayExternal: cfg.DelayExternal}
	if e.catalog == nil {
		c, err := sharelink.New(nil, nil)
		if err != nil {
			return nil, fmt.Errorf("policy: built-in catalogue: %w", err)
		}
		e.catalog = c
	}
	var probs problems
	if cfg.DelayExternal < 0 {
		probs.add("delay.all_external", "negative", "a duration such as \"2m\", or 0 for off")
	}
	for i, d := range cfg.InternalDomains {
		t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(d), "*"), ".")
		n, ok := normalizeDomain(t)
		if !ok || strings.HasPrefix(n, "[") {
			probs.add(fmt.Sprintf("internal_domains[%d]", i), fmt.Sprintf("%q is not a domain name", d), "e.g. \"example.co.jp\"; its subdomains are included")
			continue
		}
		e.internal[n] = true
	}
	trusted := lookalike.ProviderDomains(nil)
	for i, d := range cfg.LookalikeDomains {
		n, ok := normalizeDomain(strings.TrimPrefix(strings.TrimSpace(d), "."))
		if !ok || strings.HasPrefix(n, "[") {
			probs.add(fmt.Sprintf("lookalike.extra_domains[%d]", i), fmt.Sprintf("%q is not a domain name", d), "e.g. \"example-isp.ne.jp\"")
			continue
		}
		trusted = append(trusted, lookalike.Domain{Name: n, Kind: lookalike.Provider})
	}
	for d := range e.internal {
		trusted = append(trusted, lookalike.Domain{Name: d, Kind: lookalike.Internal})
	}
	e.lookalike = lookalike.New(trusted)
	names := map[string]int{}
	for i, spec := range cfg.Rules {
		key := fmt.Sprintf("rule[%d]", i)
		if j, dup := names[strings.ToLower(spec.Name)]; dup && spec.Name != "" {
			probs.add(key+".name", fmt.Sprintf("duplicate rule name %q (also rule[%d])", spec.Name, j), "give each rule its own name")
		} else {
			names[strings.ToLower(spec.Name)] = i
		}
		if r := compileRule(spec, key, e.catalog, &probs); r != nil {
			e.rules = append(e.rules, r)
		}
		if spec.FirstContact != "" {
			e.firstUsed = true
			e.firstAddr = e.firstAddr || strings.EqualFold(strings.TrimSpace(spec.FirstContact), FirstContactAddress)
		}
	}
	if len(probs) > 0 {
		return nil, problem.List(probs).Err("policy", ErrInvalid)
	}
	return e, nil
}

// Catalog returns the share-link catalogue the engine uses.
func (e *Engine) Catalog() *sharelink.Catalog { return e.catalog }

// RuleNames returns the names of the rules in order.
func (e *Engine) RuleNames() []string {
	out := make([]string, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.name
	}
	return out
}

// IsInternal reports whether addr is an internal address.
func (e *Engine) IsInternal(addr string) bool {
	_, d, ok := normalizeAddr(addr)
	return ok && e.internal.contains(d)
}

// Classify returns the class of one recipient of sender's mail.
func (e *Engine) Classify(sender, rcpt string, lists Lists, now time.Time) RcptClass {
	s, _, _ := normalizeAddr(sender)
	return e.classify(s, rcpt, lists, now)
}

func (e *Engine) classify(sender, addr string, lists Lists, now time.Time) RcptClass {
	norm, domain, ok := normalizeAddr(addr)
	switch {
	case !ok:
		return RcptClass{Addr: addr, Class: Unknown, Note: "unparseable address"}
	case e.internal.contains(domain):
		return RcptClass{Addr: addr, Class: Internal}
	}
	if lists != nil {
		if entry, ok := lists.Allowed(sender, norm, now); ok {
			return RcptClass{Addr: addr, Class: Allowlisted, Entry: entry}
		}
	}
	return RcptClass{Addr: addr, Class: Unknown}
}

// share is a link the catalogue recognised.
type share struct {
	link int // index into Facts.Links
	m    sharelink.Match
}

// destination is a link to an unknown destination.
type destination struct {
	link int // index into Facts.Links
	d    sharelink.Destination
}

// attachmentView is an attachment with its name prepared for matching.
type attachmentView struct {
	a         *message.Attachment
	name      normText
	lowerName string // plain lower-case, for extensions
	lowerType string
}

// eval is the state of one Evaluate call. Everything a condition may need
// more than once is computed at most once, and text only when a rule gets
// as far as a text condition.
type eval struct {
	e      *Engine
	env    *envelope.Envelope
	f      *message.Facts
	lists  Lists
	now    time.Time
	sender string
	rcpts  []RcptClass
	count  map[Class]int
	shares []share
	// unknownDest are the links to unknown destinations.
	unknownDest []destination

	lookalikes            []LookalikeEvidence
	firstContact          []FirstContactEvidence
	firstDone             bool
	hdrExternal           int
	hdrAddrs              []string // the first external To/Cc addresses, for evidence
	hdrDone               bool
	subj                  normText
	subjDone              bool
	bodyTexts             []normText
	bodyDone              bool
	noticePhrase          string
	noticeDone            bool
	atts                  []attachmentView
	attsDone              bool
	problemSummaryCache   string
	problemSummaryCounted bool
}

// Evaluate decides what happens to the message. f may be nil (inspection
// failed entirely), which holds the message; lists may be nil (no
// allowlist).
func (e *Engine) Evaluate(env *envelope.Envelope, f *message.Facts, lists Lists, now time.Time) *Verdict {
	if f == nil {
		f = &message.Facts{Problems: []message.Problem{{Kind: message.KindParse, Detail: "the message was not inspected"}}}
	}
	if env == nil {
		env = &envelope.Envelope{}
	}
	ev := &eval{e: e, env: env, f: f, lists: lists, now: now, count: make(map[Class]int, 3)}
	ev.sender, _, _ = normalizeAddr(env.From)
	v := &Verdict{Action: Pass, Reasons: []Reason{}, Links: []LinkEvidence{}, Unknown: []string{}}

	ev.rcpts = make([]RcptClass, len(env.Rcpts))
	for i, r := range env.Rcpts {
		c := e.classify(ev.sender, r.Addr, lists, now)
		ev.rcpts[i] = c
		ev.count[c.Class]++
		if c.Class == Unknown {
			v.Unknown = append(v.Unknown, r.Addr)
		}
	}
	v.Recipients = ev.rcpts
	ev.findLookalikes()
	v.Lookalikes = ev.lookalikes
	v.VisibleExternal = ev.headerExternal()
	if e.firstUsed {
		v.FirstContact = ev.contacts()
	}

	type seenKey struct{ url, part string }
	var seen map[seenKey]bool
	for i := range f.Links {
		l := &f.Links[i]
		m, ok := e.catalog.Match(*l)
		if !ok {
			if d, ok := e.catalog.UnknownDestination(*l); ok {
				ev.unknownDest = append(ev.unknownDest, destination{link: i, d: d})
				if len(v.UnknownDestinations) >= maxLinkEvidence {
					v.DestinationsOmitted++
					continue
				}
				de := DestinationEvidence{URL: l.URL, Why: d.Why, Part: l.Part, Source: l.Source, Sites: d.Sites, ShareCapable: d.ShareCapable}
				if l.Raw != l.URL {
					de.Raw = l.Raw
				}
				v.UnknownDestinations = append(v.UnknownDestinations, de)
			}
			continue
		}
		ev.shares = append(ev.shares, share{link: i, m: m})
		k := seenKey{l.URL, l.Part}
		if seen[k] {
			continue
		}
		if seen == nil {
			seen = map[seenKey]bool{}
		}
		seen[k] = true
		if len(v.Links) >= maxLinkEvidence {
			v.LinksOmitted++
			continue
		}
		le := LinkEvidence{
			URL: l.URL, Provider: m.Provider, Kind: m.Kind, Why: m.Why, Part: l.Part,
			Source: l.Source, Wrappers: l.Wrappers, Opaque: l.Opaque,
		}
		if l.Raw != l.URL {
			le.Raw = l.Raw
		}
		if l.Mismatch {
			le.Text = l.Text
		}
		v.Links = append(v.Links, le)
	}

	for _, p := range f.Problems {
		v.Problems = append(v.Problems, InspectionProblem{Part: p.Part, Kind: p.Kind, Detail: p.Detail})
	}
	v.Personal = personalSummary(f)

	for i := range ev.rcpts {
		ev.rcpts[i].Action = Pass
	}
	// apply raises the action of the message and of the recipients the
	// rule applies to.
	apply := func(a Action, who []bool) {
		v.Action = v.Action.Max(a)
		for i := range ev.rcpts {
			if who == nil || who[i] {
				ev.rcpts[i].Action = ev.rcpts[i].Action.Max(a)
			}
		}
	}
	var delay time.Duration
	for _, r := range e.rules {
		if !ev.matches(r) {
			continue
		}
		detail := r.reason
		if detail == "" {
			detail = cmpOr(r.reasonEN, r.reasonJA, "matched rule "+r.name)
		}
		ja, en := r.reasonJA, r.reasonEN
		if r.personal != nil {
			found := r.personal(ev) + " — "
			detail = found + detail
			if ja != "" {
				ja = found + ja
			}
			if en != "" {
				en = found + en
			}
		}
		v.Reasons = append(v.Reasons, Reason{Rule: r.name, Action: r.action, Detail: detail,
			DetailJA: ja, DetailEN: en, Matched: ev.evidence(r), Monitor: r.monitor})
		if r.monitor {
			continue
		}
		apply(r.action, ev.targets(r))
		if r.action == Delay {
			delay = max(delay, r.delay)
		}
		if r.action == Bcc {
			v.Bcc = &BccChange{}
		}
	}
	if e.delayExternal > 0 && ev.count[Unknown]+ev.count[Allowlisted] > 0 {
		who := make([]bool, len(ev.rcpts))
		for i, r := range ev.rcpts {
			who[i] = r.Class != Internal
		}
		v.Reasons = append(v.Reasons, Reason{
			Rule: BuiltinDelayExternalRule, Action: Delay,
			Detail:  fmt.Sprintf("All mail to external recipients waits %s before it is sent, so that a mistake can still be cancelled.", e.delayExternal),
			Matched: "external recipients: " + ev.addrs(Unknown, Allowlisted),
		})
		apply(Delay, who)
		delay = max(delay, e.delayExternal)
	}
	if delay > 0 {
		v.DelaySeconds = int64((delay + time.Second - 1) / time.Second)
	}

	if len(f.Problems) > 0 && v.Action.severity() < Hold.severity() {
		// Not delay or confirm either: both end with the message sent
		// without an officer having seen what inspection missed.
		apply(Hold, nil)
		v.Action = Hold
		v.Reasons = append(v.Reasons, Reason{
			Rule:     BuiltinInspectionRule,
			Action:   Hold,
			Detail:   InspectionReasonEN,
			DetailJA: InspectionReasonJA,
			DetailEN: InspectionReasonEN,
			Matched:  "inspection problem: " + ev.problemSummary(),
		})
	}
	return v
}

func (ev *eval) matches(r *rule) bool {
	for i := range r.conds {
		if !r.conds[i].test(ev) {
			return false
		}
	}
	return true
}

// targets returns which recipients a matched rule applies to, or nil for
// all of them. A rule applies to the recipients its per-recipient
// conditions pick (all of them together); if they pick none in common
// (each condition was met by a different recipient), to every recipient
// any of them picked.
func (ev *eval) targets(r *rule) []bool {
	var all, anyOf []bool
	for _, who := range r.who {
		if all == nil {
			all = make([]bool, len(ev.rcpts))
			anyOf = make([]bool, len(ev.rcpts))
			for j := range all {
				all[j] = true
			}
		}
		for j := range ev.rcpts {
			p := who(ev, j)
			all[j] = all[j] && p
			anyOf[j] = anyOf[j] || p
		}
	}
	if all == nil {
		return nil
	}
	for _, p := range all {
		if p {
			return all
		}
	}
	for _, p := range anyOf {
		if p {
			return anyOf
		}
	}
	return nil
}

func (ev *eval) evidence(r *rule) string {
	parts := make([]string, 0, len(r.conds))
	for i := range r.conds {
		parts = append(parts, r.conds[i].evidence(ev))
	}
	return strings.Join(parts, "; ")
}

// addrs lists the recipients of the given classes, at most ten.
func (ev *eval) addrs(classes ...Class) string {
	var out []string
	n := 0
	for _, r := range ev.rcpts {
		if !containsClass(classes, r.Class) {
			continue
		}
		n++
		if len(out) < 10 {
			out = append(out, r.Addr)
		}
	}
	s := strings.Join(out, ", ")
	if n > len(out) {
		s += fmt.Sprintf(" and %d more", n-len(out))
	}
	return s
}

func containsClass(list []Class, c Class) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

// headerExternal counts the distinct To/Cc addresses that are not
// internal. An address that cannot be parsed counts as external.
func (ev *eval) headerExternal() int {
	if ev.hdrDone {
		return ev.hdrExternal
	}
	ev.hdrDone = true
	seen := make(map[string]bool, len(ev.f.To)+len(ev.f.Cc))
	for _, list := range [][]string{ev.f.To, ev.f.Cc} {
		for _, a := range list {
			norm, d, ok := normalizeAddr(a)
			if !ok {
				norm = strings.ToLower(strings.TrimSpace(a))
			}
			if seen[norm] {
				continue
			}
			seen[norm] = true
			if !ok || !ev.e.internal.contains(d) {
				ev.hdrExternal++
				if len(ev.hdrAddrs) < 10 {
					ev.hdrAddrs = append(ev.hdrAddrs, strings.TrimSpace(a))
				}
			}
		}
	}
	return ev.hdrExternal
}

func (ev *eval) subject() normText {
	if !ev.subjDone {
		ev.subj = normalize(ev.f.Subject)
		ev.subjDone = true
	}
	return ev.subj
}

// body returns the normalised text of the parts that are not attachments.
func (ev *eval) body() []normText {
	if ev.bodyDone {
		return ev.bodyTexts
	}
	ev.bodyDone = true
	for i := range ev.f.Parts {
		p := &ev.f.Parts[i]
		if p.Text == "" || p.Disposition == "attachment" || p.Filename != "" {
			continue
		}
		ev.bodyTexts = append(ev.bodyTexts, normalize(p.Text))
	}
	return ev.bodyTexts
}

// notice returns the share-invitation phrase in the subject or body, or "".
func (ev *eval) notice() string {
	if ev.noticeDone {
		return ev.noticePhrase
	}
	ev.noticeDone = true
	if p := detectNotice(ev.subject().lower); p != "" {
		ev.noticePhrase = p
		return p
	}
	for _, t := range ev.body() {
		if p := detectNotice(t.lower); p != "" {
			ev.noticePhrase = p
			return p
		}
	}
	return ""
}

func (ev *eval) attachments() []attachmentView {
	if ev.attsDone {
		return ev.atts
	}
	ev.attsDone = true
	ev.atts = make([]attachmentView, len(ev.f.Attachments))
	for i := range ev.f.Attachments {
		a := &ev.f.Attachments[i]
		ev.atts[i] = attachmentView{
			a:         a,
			name:      normalize(a.Filename),
			lowerName: strings.ToLower(a.Filename),
			lowerType: strings.ToLower(a.ContentType),
		}
	}
	return ev.atts
}

// problemSummary describes the inspection problems in one line.
func (ev *eval) problemSummary() string {
	if ev.problemSummaryCounted {
		return ev.problemSummaryCache
	}
	ev.problemSummaryCounted = true
	var parts []string
	for i, p := range ev.f.Problems {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(ev.f.Problems)-3))
			break
		}
		s := p.Kind
		if p.Part != "" {
			s += " in part " + p.Part
		}
		if p.Detail != "" {
			s += " (" + excerpt(p.Detail, 100) + ")"
		}
		parts = append(parts, s)
	}
	ev.problemSummaryCache = strings.Join(parts, ", ")
	return ev.problemSummaryCache
}
