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
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/lookalike"
	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/problem"
	"github.com/egressguard/egressguard/internal/sharelink"
	"github.com/egressguard/egressguard/internal/textnorm"
	"github.com/egressguard/egressguard/internal/verdict"
)

// BuiltinDelayExternalRule names the reason the engine adds when
// Config.DelayExternal delays a message with external recipients.
const BuiltinDelayExternalRule = "builtin:delay-external"

// The reason of BuiltinInspectionRule in each language.
const (
	InspectionReasonEN = "The message could not be inspected completely; an officer must review it."
	InspectionReasonJA = "メールを最後まで検査できませんでした。担当者の確認が必要です。"
)

// BuiltinInspectionRule names the reason the engine adds when it holds a
// message that could not be inspected completely and no rule held it.
const BuiltinInspectionRule = "builtin:inspection-problem"

// maxLinkEvidence bounds the share links listed in a verdict; the rest are
// counted in LinksOmitted.
const maxLinkEvidence = 50

// maxPersonalFiles bounds PersonalEvidence.Files.
const maxPersonalFiles = 20

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
func (e *Engine) Classify(sender, rcpt string, lists Lists, now time.Time) verdict.RcptClass {
	s, _, _ := normalizeAddr(sender)
	return e.classify(s, rcpt, lists, now)
}

func (e *Engine) classify(sender, addr string, lists Lists, now time.Time) verdict.RcptClass {
	norm, domain, ok := normalizeAddr(addr)
	switch {
	case !ok:
		return verdict.RcptClass{Addr: addr, Class: verdict.Unknown, Note: "unparseable address"}
	case e.internal.contains(domain):
		return verdict.RcptClass{Addr: addr, Class: verdict.Internal}
	}
	if lists != nil {
		if entry, ok := lists.Allowed(sender, norm, now); ok {
			return verdict.RcptClass{Addr: addr, Class: verdict.Allowlisted, Entry: entry}
		}
	}
	return verdict.RcptClass{Addr: addr, Class: verdict.Unknown}
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
	name      textnorm.Text
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
	rcpts  []verdict.RcptClass
	count  map[verdict.Class]int
	shares []share
	// unknownDest are the links to unknown destinations.
	unknownDest []destination

	lookalikes            []verdict.LookalikeEvidence
	firstContact          []verdict.FirstContactEvidence
	firstDone             bool
	hdrExternal           int
	hdrAddrs              []string // the first external To/Cc addresses, for evidence
	hdrDone               bool
	subj                  textnorm.Text
	subjDone              bool
	bodyTexts             []textnorm.Text
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
func (e *Engine) Evaluate(env *envelope.Envelope, f *message.Facts, lists Lists, now time.Time) *verdict.Verdict {
	if f == nil {
		f = &message.Facts{Problems: []message.Problem{{Kind: message.KindParse, Detail: "the message was not inspected"}}}
	}
	if env == nil {
		env = &envelope.Envelope{}
	}
	ev := &eval{e: e, env: env, f: f, lists: lists, now: now, count: make(map[verdict.Class]int, 3)}
	ev.sender, _, _ = normalizeAddr(env.From)
	v := &verdict.Verdict{Action: verdict.Pass, Reasons: []verdict.Reason{}, Links: []verdict.LinkEvidence{}, Unknown: []string{}}

	ev.rcpts = make([]verdict.RcptClass, len(env.Rcpts))
	for i, r := range env.Rcpts {
		c := e.classify(ev.sender, r.Addr, lists, now)
		ev.rcpts[i] = c
		ev.count[c.Class]++
		if c.Class == verdict.Unknown {
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
				de := verdict.DestinationEvidence{URL: l.URL, Why: d.Why, Part: l.Part, Source: l.Source, Sites: d.Sites, ShareCapable: d.ShareCapable}
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
		le := verdict.LinkEvidence{
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
		v.Problems = append(v.Problems, verdict.InspectionProblem{Part: p.Part, Kind: p.Kind, Detail: p.Detail})
	}
	v.Personal = personalSummary(f)

	for i := range ev.rcpts {
		ev.rcpts[i].Action = verdict.Pass
	}
	// apply raises the action of the message and of the recipients the
	// rule applies to.
	apply := func(a verdict.Action, who []bool) {
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
			detail = cmp.Or(r.reasonEN, r.reasonJA, "matched rule "+r.name)
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
		v.Reasons = append(v.Reasons, verdict.Reason{Rule: r.name, Action: r.action, Detail: detail,
			DetailJA: ja, DetailEN: en, Matched: ev.evidence(r), Monitor: r.monitor})
		if r.monitor {
			continue
		}
		apply(r.action, ev.targets(r))
		if r.action == verdict.Delay {
			delay = max(delay, r.delay)
		}
		if r.action == verdict.Bcc {
			v.Bcc = &verdict.BccChange{}
		}
	}
	if e.delayExternal > 0 && ev.count[verdict.Unknown]+ev.count[verdict.Allowlisted] > 0 {
		who := make([]bool, len(ev.rcpts))
		for i, r := range ev.rcpts {
			who[i] = r.Class != verdict.Internal
		}
		v.Reasons = append(v.Reasons, verdict.Reason{
			Rule: BuiltinDelayExternalRule, Action: verdict.Delay,
			Detail:  fmt.Sprintf("All mail to external recipients waits %s before it is sent, so that a mistake can still be cancelled.", e.delayExternal),
			Matched: "external recipients: " + ev.addrs(verdict.Unknown, verdict.Allowlisted),
		})
		apply(verdict.Delay, who)
		delay = max(delay, e.delayExternal)
	}
	if delay > 0 {
		v.DelaySeconds = int64((delay + time.Second - 1) / time.Second)
	}

	if len(f.Problems) > 0 && v.Action.Less(verdict.Hold) {
		// Not delay or confirm either: both end with the message sent
		// without an officer having seen what inspection missed.
		apply(verdict.Hold, nil)
		v.Action = verdict.Hold
		v.Reasons = append(v.Reasons, verdict.Reason{
			Rule:     BuiltinInspectionRule,
			Action:   verdict.Hold,
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
func (ev *eval) addrs(classes ...verdict.Class) string {
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

func containsClass(list []verdict.Class, c verdict.Class) bool {
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

func (ev *eval) subject() textnorm.Text {
	if !ev.subjDone {
		ev.subj = textnorm.Normalize(ev.f.Subject)
		ev.subjDone = true
	}
	return ev.subj
}

// body returns the normalised text of the parts that are not attachments.
func (ev *eval) body() []textnorm.Text {
	if ev.bodyDone {
		return ev.bodyTexts
	}
	ev.bodyDone = true
	for i := range ev.f.Parts {
		p := &ev.f.Parts[i]
		if p.Text == "" || p.Disposition == "attachment" || p.Filename != "" {
			continue
		}
		ev.bodyTexts = append(ev.bodyTexts, textnorm.Normalize(p.Text))
	}
	return ev.bodyTexts
}

// notice returns the share-invitation phrase in the subject or body, or "".
func (ev *eval) notice() string {
	if ev.noticeDone {
		return ev.noticePhrase
	}
	ev.noticeDone = true
	if p := detectNotice(ev.subject().Lower); p != "" {
		ev.noticePhrase = p
		return p
	}
	for _, t := range ev.body() {
		if p := detectNotice(t.Lower); p != "" {
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
			name:      textnorm.Normalize(a.Filename),
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
