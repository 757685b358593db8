// Package notify writes the guard's own mail: notices to senders when their
// message is held, approved, rejected or expires; to officers when
// something new is held; to incident contacts when a near miss is reported.
// It also posts the same events to an optional webhook for chat tools.
// Notices are plain text in the configured language (ja or en) and are
// queued directly, never judged or held.
package notify

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/tz"
	"github.com/egressguard/egressguard/internal/verdict"
)

// Config tunes the notices.
type Config struct {
	From             string   // sender of notices, e.g. "egressguard@example.jp"
	DisplayName      string   // the From's display name; default per language ("送信メールガード")
	SubjectTag       string   // put before every notice subject; default per language ("【送信保留】")
	Contact          string   // whom senders ask ("security@example.jp, 内線 1234"); default: Officers
	Zone             tz.Zone  // times are written in it, labelled
	Officers         []string // addresses told about new holds
	IncidentContacts []string // addresses told at once about near misses
	Admins           []string // addresses that get the approval-quality digest
	Language         string   // "ja" or "en"
	ConsoleURL       string   // base URL of the console, for links in notices
	WebhookURL       string   // optional: JSON POST per event
	// OfficerDigest: 0 sends officers one notice per hold; otherwise one
	// digest per period listing what was held in it.
	OfficerDigest time.Duration
	Hostname      string // for Message-IDs
	Now           func() time.Time
	// Route returns the officers of m's sender group (nil: Officers).
	Route func(m *store.Message) []string
	// StandIn replaces away officers' addresses by their delegates'
	// (nil: none replaced).
	StandIn func(addrs []string) []string
	// OnWebhookFailure is told when an event is not delivered
	// ("failed" after retries, "dropped" with the queue full).
	OnWebhookFailure func(reason string)
}

// Notifier composes notices and posts webhooks.
type Notifier struct {
	cfg    Config
	log    *zap.Logger
	client *http.Client
	hooks  chan []byte
}

// New returns a Notifier. Webhooks are posted from one goroutine started
// by Run.
func New(cfg Config, log *zap.Logger) *Notifier {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Language != "en" {
		cfg.Language = "ja"
	}
	t := textsJA
	if cfg.Language == "en" {
		t = textsEN
	}
	if cfg.DisplayName == "" {
		cfg.DisplayName = t.displayName
	}
	if cfg.SubjectTag == "" {
		cfg.SubjectTag = t.subjectTag
	}
	if cfg.Contact == "" {
		cfg.Contact = strings.Join(cfg.Officers, ", ")
	}
	return &Notifier{cfg: cfg, log: log.Named("notify"), client: &http.Client{Timeout: 10 * time.Second}, hooks: make(chan []byte, 1000)}
}

// Held returns the notices for a newly held message: one to the sender,
// one to the officers (or the officers of the sender's group, see
// Router). What the guard found is read from the message's verdict.
func (n *Notifier) Held(m *store.Message) []hold.Notice {
	var out []hold.Notice
	t := n.text()
	v := cmp.Or(m.Verdict, &verdict.Verdict{})
	why := n.reasons(v)
	found := n.found(m, v)
	if m.From != "" {
		body := fmt.Sprintf(t.heldSender, n.subject(m), n.rcpts(m, v), found, why,
			n.cfg.Zone.Minute(m.HoldExpires), n.link(m.ID), n.contact(), m.ID)
		out = append(out, n.compose([]string{m.From}, n.tagged(fmt.Sprintf(t.heldSenderSubj, n.subject(m))), body))
	}
	if officers := n.officersFor(m); len(officers) > 0 && n.cfg.OfficerDigest == 0 {
		body := fmt.Sprintf(t.heldOfficer, m.From, n.rcpts(m, v), n.subject(m), found, why,
			n.cfg.Zone.Minute(m.HoldExpires), n.link(m.ID), m.ID)
		out = append(out, n.compose(officers, n.tagged(fmt.Sprintf(t.heldOfficerSubj, m.From)), body))
	}
	return out
}

// reasons lists the reasons that held the message, in the notice's language.
func (n *Notifier) reasons(v *verdict.Verdict) string {
	var lines []string
	for _, r := range v.Reasons {
		if !r.Monitor && r.Action != verdict.Pass {
			if s := r.Text(n.cfg.Language); s != "" && !slices.Contains(lines, s) {
				lines = append(lines, s)
			}
		}
	}
	if len(lines) == 0 {
		return "  -"
	}
	return "  - " + strings.Join(lines, "\n  - ")
}

// found says what the guard found: the recipients nobody vouched for,
// the share links with their hosts, and any other finding of the verdict
// (record counts, look-alike domains), by name.
func (n *Notifier) found(m *store.Message, v *verdict.Verdict) string {
	t := n.text()
	var lines []string
	if len(v.Unknown) > 0 {
		lines = append(lines, fmt.Sprintf(t.foundUnknown, len(v.Unknown), strings.Join(first(v.Unknown, 10), ", ")))
	}
	seen := map[string]bool{}
	for _, l := range v.Links {
		host := hostOf(l.URL)
		if seen[host] {
			continue
		}
		seen[host] = true
		if len(seen) > 5 {
			break
		}
		lines = append(lines, fmt.Sprintf(t.foundLink, host, l.Provider))
	}
	// Look-alike recipients are named with the pair, so that the sender
	// sees the typo at once.
	for i, l := range v.Lookalikes {
		if i == 5 {
			break
		}
		text := l.Ja
		if n.cfg.Language == "en" {
			text = l.En
		}
		lines = append(lines, l.Rcpt+": "+text)
	}
	if p := v.Personal; p != nil && (p.Records > 0 || p.MyNumbers > 0 || p.CardNumbers > 0) {
		lines = append(lines, fmt.Sprintf(t.foundPersonal, p.Records, p.MyNumbers, p.CardNumbers))
	}
	for _, sig := range extraFindings(v, n.cfg.Language, t.signalNames) {
		lines = append(lines, fmt.Sprintf(t.foundOther, sig))
	}
	if len(lines) == 0 {
		return "  -"
	}
	return "  - " + strings.Join(lines, "\n  - ")
}

// rcpts lists the envelope recipients, marking those nobody vouched for.
func (n *Notifier) rcpts(m *store.Message, v *verdict.Verdict) string {
	t := n.text()
	addrs := m.Addrs()
	out := make([]string, 0, len(addrs))
	var atOnce []string
	for i, a := range addrs {
		if i < len(m.Status) && m.Status[i].Part != "" {
			// Split delivery sent it at once: not waiting.
			atOnce = append(atOnce, a)
			continue
		}
		if slices.ContainsFunc(v.Unknown, func(u string) bool { return strings.EqualFold(u, a) }) {
			a += t.unknownMark
		}
		out = append(out, a)
	}
	s := strings.Join(out, ", ")
	if len(atOnce) > 0 {
		s += "\n" + strings.TrimSuffix(fmt.Sprintf(n.waitText().sentAtOnce, strings.Join(atOnce, ", ")), "\n")
	}
	return s
}

func (n *Notifier) contact() string {
	if n.cfg.Contact == "" {
		return "-"
	}
	return n.cfg.Contact
}

// officersFor returns who is told about a new hold of m.
func (n *Notifier) officersFor(m *store.Message) []string {
	if n.cfg.Route != nil {
		if o := n.cfg.Route(m); len(o) > 0 {
			return n.standIn(o)
		}
	}
	return n.standIn(n.cfg.Officers)
}

func (n *Notifier) standIn(addrs []string) []string {
	if n.cfg.StandIn == nil {
		return addrs
	}
	return n.cfg.StandIn(addrs)
}

// FiguresDigest returns the admins' digest of the officers' approval
// figures for one period, or false if there are no admins or no
// decisions.
func (n *Notifier) FiguresDigest(figs []hold.Figures, fast time.Duration, from, until time.Time) (hold.Notice, bool) {
	if len(n.cfg.Admins) == 0 || len(figs) == 0 {
		return hold.Notice{}, false
	}
	t := n.text()
	var b strings.Builder
	fmt.Fprintf(&b, t.figuresIntro, n.cfg.Zone.Minute(from), n.cfg.Zone.Minute(until), int(fast/time.Second))
	for _, f := range figs {
		median := "-"
		if f.Timed > 0 {
			median = n.duration(f.MedianDecide)
			if f.MedianDecide < time.Minute {
				median = fmt.Sprintf(t.seconds, int(f.MedianDecide/time.Second))
			}
		}
		fmt.Fprintf(&b, t.figuresLine, f.Officer, f.Decisions, f.Approvals, f.Rejections, f.NearMisses,
			int(f.ApprovalRate*100+0.5), median, f.FastApprovals)
	}
	if n.cfg.ConsoleURL != "" {
		fmt.Fprintf(&b, "\n%s/officers\n", strings.TrimRight(n.cfg.ConsoleURL, "/"))
	}
	return n.compose(n.cfg.Admins, t.figuresSubj, b.String()), true
}

// Escalated implements hold.Escalator: the notice to the backup officers
// of a hold that has waited too long.
func (n *Notifier) Escalated(m *store.Message, to []string, waited time.Duration) hold.Notice {
	t := n.text()
	v := cmp.Or(m.Verdict, &verdict.Verdict{})
	body := fmt.Sprintf(t.escalate, n.duration(waited), m.From, n.rcpts(m, v), n.subject(m), n.reasons(v),
		n.cfg.Zone.Minute(m.HoldExpires), n.link(m.ID), m.ID)
	return n.compose(to, n.tagged(fmt.Sprintf(t.escalateSubj, m.From)), body)
}

// duration words a waiting time: "4h 10m", "4時間10分".
func (n *Notifier) duration(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	if n.cfg.Language == "en" {
		return fmt.Sprintf("%dh %dm", h, m)
	}
	return fmt.Sprintf("%d時間%d分", h, m)
}

// Digest returns the officers' digest of the messages held in one period,
// or false if there are no officers or nothing was held.
func (n *Notifier) Digest(held []*store.Message, from, until time.Time) (hold.Notice, bool) {
	if len(n.cfg.Officers) == 0 || len(held) == 0 {
		return hold.Notice{}, false
	}
	t := n.text()
	var b strings.Builder
	fmt.Fprintf(&b, t.digestIntro, len(held), n.cfg.Zone.Minute(from), n.cfg.Zone.Minute(until))
	for _, m := range held {
		fmt.Fprintf(&b, "\n- %s  %s → %s\n  %s\n  %s\n", n.cfg.Zone.Minute(m.Received), m.From,
			waiting(m), n.subject(m), n.link(m.ID))
	}
	return n.compose(n.standIn(n.cfg.Officers), n.tagged(fmt.Sprintf(t.digestSubj, len(held))), b.String()), true
}

// Decided implements hold.Notifier. Approval and rejection notices name
// the officer who decided.
func (n *Notifier) Decided(m *store.Message, d *store.Decision) []hold.Notice {
	t := n.text()
	var out []hold.Notice
	if m.From != "" {
		var subj, body string
		switch d.Kind {
		case store.DecisionApprove:
			subj, body = t.approvedSubj, fmt.Sprintf(t.approved, n.subject(m), waiting(m), d.Actor, m.ID)
		case store.DecisionReject:
			subj, body = t.rejectedSubj, fmt.Sprintf(t.rejected, n.subject(m), waiting(m), d.Actor, d.Comment, n.contact(), m.ID)
		case store.DecisionExpire:
			subj, body = t.expiredSubj, fmt.Sprintf(t.expired, n.subject(m), waiting(m), n.contact(), m.ID)
			if m.Action == verdict.Confirm {
				w := n.waitText()
				subj, body = w.expiredSubj, fmt.Sprintf(w.expired, n.subject(m), waiting(m), m.ID)
			}
		}
		if subj != "" {
			out = append(out, n.compose([]string{m.From}, n.tagged(fmt.Sprintf(subj, n.subject(m))), body))
		}
	}
	if d.Kind == store.DecisionReject && d.NearMiss && len(n.cfg.IncidentContacts) > 0 {
		body := fmt.Sprintf(t.nearMiss, m.From, waiting(m), n.subject(m), d.Actor, d.Comment, n.link(m.ID), m.ID)
		out = append(out, n.compose(n.cfg.IncidentContacts, n.tagged(fmt.Sprintf(t.nearMissSubj, m.From)), body))
	}
	return out
}

// Event implements hold.Notifier: it queues a webhook post.
func (n *Notifier) Event(m *store.Message, d *store.Decision) {
	n.Post(map[string]any{
		"event": "hold." + d.Kind, "msg_id": m.ID, "actor": d.Actor, "from": m.From,
		"rcpts": m.Addrs(), "near_miss": d.NearMiss, "at": d.At.UTC().Format(time.RFC3339),
	})
}

// Post queues a webhook event (dropped with a log line if the queue is
// full or no webhook is configured).
func (n *Notifier) Post(ev map[string]any) {
	if n.cfg.WebhookURL == "" {
		return
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	select {
	case n.hooks <- b:
	default:
		n.log.Warn("webhook queue full, event dropped", zap.Any("event", ev["event"]))
		n.failed("dropped")
	}
}

// Run posts queued webhook events until ctx ends, retrying each a few
// times. Webhooks are a convenience for chat tools; the notices by mail
// and the audit log are the durable record.
func (n *Notifier) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-n.hooks:
			n.postOne(ctx, b)
		}
	}
}

func (n *Notifier) postOne(ctx context.Context, b []byte) {
	defer func() {
		if r := recover(); r != nil {
			n.log.Error("webhook panic", zap.Any("panic", r))
		}
	}()
	for attempt := 0; attempt < 3; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.WebhookURL, bytes.NewReader(b))
		if err != nil {
			n.log.Warn("webhook request", zap.Error(err))
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := n.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		n.log.Warn("webhook post failed", zap.Int("attempt", attempt+1), zap.Error(err))
		if attempt == 2 {
			n.failed("failed")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(attempt+1) * time.Second):
		}
	}
}

// tagged puts the subject tag before the subject of a notice about held
// mail.
func (n *Notifier) tagged(subject string) string {
	if n.cfg.SubjectTag == "" {
		return subject
	}
	return n.cfg.SubjectTag + " " + subject
}

func (n *Notifier) failed(reason string) {
	if n.cfg.OnWebhookFailure != nil {
		n.cfg.OnWebhookFailure(reason)
	}
}

func (n *Notifier) subject(m *store.Message) string {
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, m.Subject)
	if s == "" {
		return n.text().noSubject
	}
	if len([]rune(s)) > 120 {
		s = string([]rune(s)[:119]) + "…"
	}
	return s
}

func (n *Notifier) link(id string) string {
	if n.cfg.ConsoleURL == "" {
		return id
	}
	return strings.TrimRight(n.cfg.ConsoleURL, "/") + "/messages/" + id
}

// compose builds a plain-text UTF-8 message. The body is base64 so that
// every upstream takes it; the subject is RFC 2047 encoded.
func (n *Notifier) compose(to []string, subject, body string) hold.Notice {
	now := n.cfg.Now()
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", (&mail.Address{Name: n.cfg.DisplayName, Address: n.cfg.From}).String())
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.BEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s.notice@%s>\r\n", store.NewID(now), n.cfg.Hostname)
	b.WriteString("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return hold.Notice{From: n.cfg.From, To: to, Data: b.Bytes()}
}

func first(ss []string, n int) []string {
	if len(ss) > n {
		return ss[:n]
	}
	return ss
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Hostname()
	}
	return raw
}

// knownVerdict are the verdict fields notices word themselves.
var knownVerdict = map[string]bool{"action": true, "reasons": true, "links": true, "links_omitted": true,
	"recipients": true, "unknown": true, "problems": true, "lookalikes": true, "personal": true,
	"unknown_destinations": true, "unknown_destinations_omitted": true, "visible_external_recipients": true}

// extraFindings lists the verdict's other fields that are set, as
// "name: value" (counts of personal records, look-alike domains …),
// named from names when it knows them, and in lang where the value
// carries its own words per language.
func extraFindings(v *verdict.Verdict, lang string, names map[string]string) []string {
	top, err := v.Fields()
	if err != nil {
		// Not silently left out: the notice says the findings are missing.
		return []string{err.Error()}
	}
	var out []string
	for k, v := range top {
		if knownVerdict[k] {
			continue
		}
		if s := findingValue(v, lang); s != "" {
			name, ok := names[k]
			if !ok {
				name = strings.ReplaceAll(k, "_", " ")
			}
			out = append(out, name+": "+s)
		}
	}
	sort.Strings(out)
	return out
}

func findingValue(v any, lang string) string {
	switch t := v.(type) {
	case bool:
		if t {
			return "yes"
		}
	case float64:
		if t != 0 {
			return fmt.Sprint(t)
		}
	case string:
		return t
	case []any:
		var parts []string
		for _, e := range t {
			if s := findingValue(e, lang); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		if words, ok := t[lang].(string); ok && words != "" {
			return words
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			if s := findingValue(t[k], lang); s != "" {
				parts = append(parts, k+" "+s)
			}
		}
		return strings.Join(parts, ", ")
	}
	return ""
}
