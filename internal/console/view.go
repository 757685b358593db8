package console

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// Display bounds: a held message can be large and hostile; the view shows
// enough to decide and says when it cut something.
const (
	maxPartText   = 256 << 10 // characters of text shown per part
	maxHeaders    = 300       // header fields shown
	maxHeaderLen  = 4 << 10   // bytes of one header value shown
	maxNeedles    = 1000      // link strings highlighted per part
	maxViewLinks  = 500       // links listed
	minAnchorText = 3         // anchor texts shorter than this are not highlighted
)

// noVerdict stands for the verdict of a message that has none.
var noVerdict = &verdict.Verdict{}

func verdictOf(m *store.Message) *verdict.Verdict { return cmp.Or(m.Verdict, noVerdict) }

// unknownRcpt reports whether the verdict classed addr as unknown.
func unknownRcpt(v *verdict.Verdict, addr string) (class string, unknown bool) {
	for _, r := range v.Recipients {
		if strings.EqualFold(r.Addr, addr) {
			class = string(r.Class)
			break
		}
	}
	if slices.ContainsFunc(v.Unknown, func(u string) bool { return strings.EqualFold(u, addr) }) {
		return class, true
	}
	return class, class == string(verdict.Unknown)
}

// rcptAction is the action the verdict chose for addr, "" if none.
func rcptAction(v *verdict.Verdict, addr string) string {
	for _, r := range v.Recipients {
		if strings.EqualFold(r.Addr, addr) {
			return string(r.Action)
		}
	}
	return ""
}

// causes are the reasons that decided (monitor-only rules are evidence
// too, but they did not hold the message: they come last).
func causes(v *verdict.Verdict) []api.Reason {
	out := make([]api.Reason, 0, len(v.Reasons))
	for _, r := range v.Reasons {
		out = append(out, api.Reason{Rule: r.Rule, Detail: r.Detail, DetailJA: r.DetailJA, DetailEN: r.DetailEN,
			Matched: r.Matched, Action: string(r.Action), Monitor: r.Monitor})
	}
	slices.SortStableFunc(out, func(a, b api.Reason) int {
		if a.Monitor != b.Monitor {
			if a.Monitor {
				return 1
			}
			return -1
		}
		return 0
	})
	return out
}

// summary builds the listing entry for m.
func summary(m *store.Message) api.Message {
	v := verdictOf(m)
	out := api.Message{
		ID:         m.ID,
		State:      string(m.State),
		Received:   m.Received.UTC(),
		From:       m.From,
		AuthUser:   m.AuthUser,
		HeaderFrom: m.HeaderFrom,
		Subject:    m.Subject,
		Action:     string(m.Action),
		Reasons:    causes(v),
	}
	if !m.HoldExpires.IsZero() {
		t := m.HoldExpires.UTC()
		out.HoldExpires = &t
	}
	if m.State == store.Delayed {
		t := m.NextAttempt.UTC()
		out.ReleaseAt = &t
	}
	for i, a := range m.Addrs() {
		class, unknown := unknownRcpt(v, a)
		r := api.Rcpt{Addr: a, Class: class, Unknown: unknown, Action: rcptAction(v, a)}
		if i < len(m.Status) && m.Status[i].Part != "" {
			r.SentAs = m.Status[i].Part
		} else if m.State.Waiting() {
			r.Waiting = true
		}
		out.Rcpts = append(out.Rcpts, r)
	}
	return out
}

// matches applies the queue filters: rule is exact, sender a
// case-insensitive substring of the envelope sender or user name.
func messageMatches(m *api.Message, rule, sender string) bool {
	if rule != "" && !slices.ContainsFunc(m.Reasons, func(r api.Reason) bool { return r.Rule == rule }) {
		return false
	}
	if sender != "" {
		s := strings.ToLower(sender)
		if !strings.Contains(strings.ToLower(m.From), s) && !strings.Contains(strings.ToLower(m.AuthUser), s) {
			return false
		}
	}
	return true
}

// listHeld returns the held mail u may see, oldest first, filtered.
func (c *Console) listHeld(ctx context.Context, u *store.User, rule, sender string) (all []api.Message, shown []api.Message, err error) {
	// Held mail (officers: everyone's, senders: their own), and the
	// caller's own mail that waits for them (delayed, unconfirmed).
	ms, err := c.hold.List(ctx, u, nil)
	if err != nil {
		return nil, nil, err
	}
	own, err := c.hold.ListOwn(ctx, u, []store.State{store.Delayed, store.Unconfirmed})
	if err != nil {
		return nil, nil, err
	}
	ms = append(ms, own...)
	slices.SortStableFunc(ms, func(a, b *store.Message) int { return a.Received.Compare(b.Received) })
	for _, m := range ms {
		s := summary(m)
		s.Own = hold.IsSender(u, m)
		s.HighRisk = c.hold.Assess(m).High
		all = append(all, s)
		if messageMatches(&s, rule, sender) {
			shown = append(shown, s)
		}
	}
	return all, shown, nil
}

// detail loads one message for u through hold.View, which checks that u
// may see it and records the view in the audit log.
func (c *Console) detail(ctx context.Context, u *store.User, id, via string) (*api.Detail, error) {
	m, ds, err := c.hold.View(ctx, u, id, via)
	if err != nil {
		return nil, err
	}
	vj, err := verdict.Encode(m.Verdict)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", id, err)
	}
	d := &api.Detail{Message: summary(m), Size: m.Size, ClientAddr: m.ClientAddr, Helo: m.Helo,
		Needed: c.hold.Approvals(), Verdict: vj}
	d.Own = hold.IsSender(u, m)
	approvers := map[string]bool{}
	for _, x := range ds {
		switch x.Kind {
		case hold.DecisionOpen:
			continue // a fact for the figures, not a decision
		case hold.DecisionJustify:
			d.Justifications = append(d.Justifications, api.Decision{Actor: x.Actor, Kind: x.Kind, Comment: x.Comment, At: x.At.UTC()})
			continue
		}
		d.Decisions = append(d.Decisions, api.Decision{Actor: x.Actor, Kind: x.Kind, Comment: x.Comment, NearMiss: x.NearMiss, At: x.At.UTC()})
		if x.Kind == store.DecisionApprove {
			approvers[x.Actor] = true
		}
	}
	d.Approvals = len(approvers)
	if a := c.hold.Assess(m); a.High && m.State == store.Held {
		d.HighRisk, d.RiskWhy, d.ConfirmDomain = true, a.Why, a.Domain
	}
	var notes map[string][]string
	if d.Signals, notes, err = signals(vj); err != nil {
		return nil, fmt.Errorf("message %s: %w", id, err)
	}
	for i := range d.Rcpts {
		d.Rcpts[i].Notes = notes[strings.ToLower(d.Rcpts[i].Addr)]
	}
	held := m.State == store.Held
	officer := account.HasRole(u, account.RoleOfficer) && !u.Disabled
	d.Self = hold.IsOwnMessage(u, m)
	d.CanDecide = held && officer && !d.Self && !approvers[u.Name]
	d.ApprovedByYou = approvers[u.Name]
	d.CanWithdraw = held && d.Own
	sender := d.Own && !u.Disabled
	d.CanSendNow = sender && m.State == store.Delayed
	d.CanConfirm = sender && m.State == store.Unconfirmed
	d.CanCancel = sender && (m.State == store.Delayed || m.State == store.Unconfirmed)
	if c.cfg.BodyGoneAt != nil {
		if t := c.cfg.BodyGoneAt(m); !t.IsZero() {
			t = t.UTC()
			d.BodyGoneAt = &t
		}
	}

	raw, err := c.st.Body(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		d.BodyDeleted = true
		return d, nil
	}
	if err != nil {
		return nil, fmt.Errorf("body of %s: %w", id, err)
	}
	d.Headers, d.HeadersTotal = headerFields(raw)
	f := message.Inspect(raw, c.cfg.Limits)
	// Envelope recipients missing from the To and Cc headers are blind
	// copies: the other recipients do not see them.
	visible := map[string]bool{}
	for _, a := range append(slices.Clone(f.To), f.Cc...) {
		visible[strings.ToLower(a)] = true
	}
	for i := range d.Rcpts {
		d.Rcpts[i].Hidden = !visible[strings.ToLower(d.Rcpts[i].Addr)]
	}
	v := verdictOf(m)
	// The verdict names the links that made it (share links and links to
	// unknown destinations); the inspection finds them all again, with
	// where they are in the text.
	type flaggedLink struct{ Provider, Kind, Why string }
	flagged := map[string]*flaggedLink{}
	flag := func(url, raw string, l *flaggedLink) {
		flagged[url] = l
		if raw != "" {
			flagged[raw] = l
		}
	}
	for _, l := range v.Links {
		flag(l.URL, l.Raw, &flaggedLink{l.Provider, l.Kind, l.Why})
	}
	for _, l := range v.UnknownDestinations {
		flag(l.URL, l.Raw, &flaggedLink{Why: l.Why})
	}
	for i, l := range f.Links {
		if i == maxViewLinks {
			break
		}
		al := api.Link{URL: l.URL, Raw: l.Raw, Host: l.Host, Part: l.Part, Source: l.Source,
			Wrappers: l.Wrappers, Text: l.Text, Mismatch: l.Mismatch, Opaque: l.Opaque}
		if vl := cmp.Or(flagged[l.URL], flagged[l.Raw]); vl != nil {
			al.Flagged, al.Provider, al.Kind, al.Why = true, vl.Provider, vl.Kind, vl.Why
		}
		d.Links = append(d.Links, al)
	}
	hidden := map[string]bool{}
	for _, pd := range f.Personal {
		if pd.Records > 0 || pd.MyNumbers > 0 || pd.Cards > 0 {
			hidden[pd.Part] = true
		}
		ap := api.Personal{Part: pd.Part, File: pd.File, Records: pd.Records, MyNumbers: pd.MyNumbers, Cards: pd.Cards}
		for _, k := range pd.KindsInRecords() {
			ap.Kinds = append(ap.Kinds, string(k))
		}
		for _, smp := range pd.Samples {
			ap.Samples = append(ap.Samples, api.Sample{Kind: string(smp.Kind), Masked: smp.Masked})
		}
		d.Personal = append(d.Personal, ap)
	}
	for _, p := range f.Parts {
		text, cut := p.Text, false
		if hidden[p.Path] {
			// Never whole records: the findings above say what is there.
			d.Parts = append(d.Parts, api.Part{Path: p.Path, ContentType: p.ContentType, Charset: p.Charset,
				Filename: p.Filename, Disposition: p.Disposition, Size: p.Size, PersonalHidden: true})
			continue
		}
		if len(text) > maxPartText {
			text, cut = strings.ToValidUTF8(text[:maxPartText], ""), true
		}
		d.Parts = append(d.Parts, api.Part{Path: p.Path, ContentType: p.ContentType, Charset: p.Charset,
			Filename: p.Filename, Disposition: p.Disposition, Size: p.Size, Text: text, Truncated: cut})
	}
	for _, a := range f.Attachments {
		d.Attachments = append(d.Attachments, api.Attachment{Part: a.Part, Filename: a.Filename,
			ContentType: a.ContentType, Size: a.Size, Encrypted: a.Encrypted})
	}
	for _, p := range f.Problems {
		d.Problems = append(d.Problems, api.Problem{Part: p.Part, Kind: p.Kind, Detail: p.Detail})
	}
	return d, nil
}

// knownVerdictFields are the verdict fields the console shows in their
// own places; any other field is evidence added later (look-alike
// domains, personal-data counts …) and is shown as a signal.
var knownVerdictFields = map[string]bool{"action": true, "reasons": true, "links": true, "links_omitted": true,
	"recipients": true, "unknown": true, "problems": true,
	// Shown in the links table.
	"unknown_destinations": true, "unknown_destinations_omitted": true}

var knownRcptFields = map[string]bool{"addr": true, "class": true, "allow_entry": true}

// signals returns the verdict's other evidence: top-level fields with a
// value, and per recipient (lower-cased address) its extra fields. b is
// the verdict's encoding (verdict.Encode); nil for none.
func signals(b []byte) ([]api.Signal, map[string][]string, error) {
	if b == nil {
		return nil, nil, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, nil, fmt.Errorf("verdict signals: %w", err)
	}
	var out []api.Signal
	for k, raw := range top {
		if knownVerdictFields[k] {
			continue
		}
		if v := signalValue(raw, ""); v != "" {
			out = append(out, api.Signal{Name: k, Value: v, Raw: raw})
		}
	}
	slices.SortFunc(out, func(a, b api.Signal) int { return strings.Compare(a.Name, b.Name) })
	notes := map[string][]string{}
	var rcpts []map[string]json.RawMessage
	if raw := top["recipients"]; raw != nil {
		if err := json.Unmarshal(raw, &rcpts); err != nil {
			return nil, nil, fmt.Errorf("verdict signals: %w", err)
		}
	}
	for _, r := range rcpts {
		var addr string
		if err := json.Unmarshal(r["addr"], &addr); err != nil {
			return nil, nil, fmt.Errorf("verdict signals: %w", err)
		}
		keys := make([]string, 0, len(r))
		for k := range r {
			if !knownRcptFields[k] {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			if v := signalValue(r[k], ""); v != "" {
				notes[strings.ToLower(addr)] = append(notes[strings.ToLower(addr)], k+": "+v)
			}
		}
	}
	return out, notes, nil
}

// signalValue shows a JSON value in one line; "" for an unset one. An
// object that carries its own words per language ("ja", "en") shows
// only those of lang (or of English, with lang "").
func signalValue(raw json.RawMessage, lang string) string {
	var x any
	if json.Unmarshal(raw, &x) != nil {
		return ""
	}
	switch t := x.(type) {
	case nil:
		return ""
	case bool:
		if !t {
			return ""
		}
		return "✓"
	case float64:
		if t == 0 {
			return ""
		}
		return strconv.FormatFloat(t, 'f', -1, 64)
	case string:
		return t
	case []any:
		var parts []string
		for _, e := range t {
			if v := signalValue(mustJSON(e), lang); v != "" {
				parts = append(parts, v)
			}
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		if lang == "" {
			lang = "en"
		}
		if words, ok := t[lang].(string); ok && words != "" {
			return words
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var parts []string
		for _, k := range keys {
			if v := signalValue(mustJSON(t[k]), lang); v != "" {
				parts = append(parts, k+" "+v)
			}
		}
		return strings.Join(parts, ", ")
	}
	return ""
}

func mustJSON(x any) json.RawMessage {
	b, _ := json.Marshal(x)
	return b
}

// headerFields parses the header of raw and decodes encoded words. It
// returns at most maxHeaders fields and how many there were.
func headerFields(raw []byte) ([]api.Header, int) {
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if e := bytes.Index(raw, []byte("\n\n")); e >= 0 && (end < 0 || e < end) {
		end = e
	}
	if end < 0 {
		end = len(raw)
	}
	h, err := textproto.ReadHeader(bufio.NewReader(io.MultiReader(bytes.NewReader(raw[:end]), strings.NewReader("\r\n\r\n"))))
	if err != nil && h.Len() == 0 {
		return nil, 0
	}
	dec := mime.WordDecoder{CharsetReader: charset.Reader}
	var out []api.Header
	n := 0
	for fs := h.Fields(); fs.Next(); {
		n++
		if len(out) == maxHeaders {
			continue
		}
		v := unfold(fs.Value())
		if d, err := dec.DecodeHeader(v); err == nil {
			v = d
		}
		if len(v) > maxHeaderLen {
			v = strings.ToValidUTF8(v[:maxHeaderLen], "") + "…"
		}
		out = append(out, api.Header{Name: fs.Key(), Value: strings.ToValidUTF8(v, "\uFFFD")})
	}
	return out, n
}

func unfold(v string) string {
	v = strings.ReplaceAll(v, "\r\n", "\n")
	if !strings.Contains(v, "\n") {
		return v
	}
	var b strings.Builder
	for i, line := range strings.Split(v, "\n") {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strings.TrimLeft(line, " \t"))
	}
	return b.String()
}

// segment is a run of text, marked when it is a link: Hit for a link the
// rules flagged, Link for any other.
type segment struct {
	Text string
	Hit  bool
	Link bool
}

type needle struct {
	s   string
	hit bool
}

// highlight splits text around the link strings of one part. The text
// stays text: the template escapes every segment, and marking is done by
// wrapping segments in <mark>, never by inserting markup into the text.
func highlight(text, part string, links []api.Link) []segment {
	var ns []needle
	for _, l := range links {
		if l.Part != part {
			continue
		}
		for _, s := range []string{l.Raw, l.URL} {
			if s != "" {
				ns = append(ns, needle{s, l.Flagged})
			}
		}
		if l.Flagged && utf8.RuneCountInString(strings.TrimSpace(l.Text)) >= minAnchorText {
			ns = append(ns, needle{strings.TrimSpace(l.Text), true})
		}
		if len(ns) >= maxNeedles {
			break
		}
	}
	if len(ns) == 0 || text == "" {
		return []segment{{Text: text}}
	}
	type span struct {
		start, end int
		hit        bool
	}
	var spans []span
	seen := map[string]bool{}
	for _, n := range ns {
		key := n.s + fmt.Sprint(n.hit)
		if seen[key] {
			continue
		}
		seen[key] = true
		for i := 0; i < len(text); {
			j := strings.Index(text[i:], n.s)
			if j < 0 {
				break
			}
			spans = append(spans, span{i + j, i + j + len(n.s), n.hit})
			i += j + len(n.s)
		}
	}
	// Earliest first; at the same start the longest, flagged before not.
	slices.SortFunc(spans, func(a, b span) int {
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		if c := cmp.Compare(b.end, a.end); c != 0 {
			return c
		}
		if a.hit != b.hit {
			if a.hit {
				return -1
			}
			return 1
		}
		return 0
	})
	var out []segment
	pos := 0
	for _, s := range spans {
		if s.start < pos {
			continue // overlaps one already marked
		}
		if s.start > pos {
			out = append(out, segment{Text: text[pos:s.start]})
		}
		out = append(out, segment{Text: text[s.start:s.end], Hit: s.hit, Link: !s.hit})
		pos = s.end
	}
	if pos < len(text) {
		out = append(out, segment{Text: text[pos:]})
	}
	return out
}

// Printable makes s safe to show: control characters and the Unicode
// formatting characters that reorder or hide text (bidi overrides,
// zero-width characters) become U+FFFD, so that a subject or file name
// cannot rewrite a terminal line or disguise "exe" as "pdf". With
// multiline, newlines and tabs are kept.
func Printable(s string, multiline bool) string {
	clean := true
	for _, r := range s {
		if !printable(r, multiline) {
			clean = false
			break
		}
	}
	if clean && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if printable(r, multiline) {
			b.WriteRune(r)
		} else if r == '\r' && multiline {
			// CRLF line ends: the LF stays.
		} else {
			b.WriteRune('\uFFFD')
		}
	}
	return b.String()
}

func printable(r rune, multiline bool) bool {
	switch {
	case r == '\n' || r == '\t':
		return multiline
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return false
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return false // bidi embedding, override and isolate controls, marks
	case r == 0x200b || r == 0x200c || r == 0x200d || r == 0x2060 || r == 0xfeff:
		return false // zero-width characters
	}
	return unicode.IsPrint(r) || unicode.IsSpace(r)
}
