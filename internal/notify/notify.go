// Package notify writes the guard's own mail: notices to senders when their
// message is held, approved, rejected or expires; to officers when
// something new is held; to incident contacts when a near miss is reported.
// It also posts the same events to an optional webhook for chat tools.
// Notices are plain text in the configured language (ja or en) and are
// queued directly, never judged or held.
package notify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/store"
)

// Config tunes the notices.
type Config struct {
	From             string   // sender of notices, e.g. "egressguard@example.jp"
	Officers         []string // addresses told about new holds
	IncidentContacts []string // addresses told at once about near misses
	Language         string   // "ja" or "en"
	ConsoleURL       string   // base URL of the console, for links in notices
	WebhookURL       string   // optional: JSON POST per event
	// OfficerDigest: 0 sends officers one notice per hold; otherwise one
	// digest per period listing what was held in it.
	OfficerDigest time.Duration
	Hostname      string // for Message-IDs
	Now           func() time.Time
}

// Notifier composes notices and posts webhooks.
type Notifier struct {
	cfg    Config
	log    *zap.Logger
	client *http.Client
	hooks  chan []byte
	once   sync.Once
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
	return &Notifier{cfg: cfg, log: log.Named("notify"), client: &http.Client{Timeout: 10 * time.Second}, hooks: make(chan []byte, 1000)}
}

// Held returns the notices for a newly held message: one to the sender,
// one to the officers.
func (n *Notifier) Held(m *store.Message, reasons []string) []hold.Notice {
	var out []hold.Notice
	t := n.text()
	why := strings.Join(reasons, "\n  - ")
	if why != "" {
		why = "  - " + why
	}
	if m.From != "" {
		body := fmt.Sprintf(t.heldSender, n.subject(m), n.waitingAndSent(m), why, n.link(m.ID), m.HoldExpires.Local().Format(time.DateTime), m.ID)
		out = append(out, n.compose([]string{m.From}, fmt.Sprintf(t.heldSenderSubj, n.subject(m)), body))
	}
	if len(n.cfg.Officers) > 0 && n.cfg.OfficerDigest == 0 {
		body := fmt.Sprintf(t.heldOfficer, m.From, waiting(m), n.subject(m), why, n.link(m.ID), m.ID)
		out = append(out, n.compose(n.cfg.Officers, fmt.Sprintf(t.heldOfficerSubj, m.From), body))
	}
	return out
}

// Digest returns the officers' digest of the messages held in one period,
// or false if there are no officers or nothing was held.
func (n *Notifier) Digest(held []*store.Message, from, until time.Time) (hold.Notice, bool) {
	if len(n.cfg.Officers) == 0 || len(held) == 0 {
		return hold.Notice{}, false
	}
	t := n.text()
	var b strings.Builder
	fmt.Fprintf(&b, t.digestIntro, len(held), from.Local().Format(time.DateTime), until.Local().Format(time.DateTime))
	for _, m := range held {
		fmt.Fprintf(&b, "\n- %s  %s → %s\n  %s\n  %s\n", m.Received.Local().Format(time.DateTime), m.From,
			waiting(m), n.subject(m), n.link(m.ID))
	}
	return n.compose(n.cfg.Officers, fmt.Sprintf(t.digestSubj, len(held)), b.String()), true
}

// Decided implements hold.Notifier.
func (n *Notifier) Decided(m *store.Message, d *store.Decision) []hold.Notice {
	t := n.text()
	var out []hold.Notice
	if m.From != "" {
		var subj, body string
		switch d.Kind {
		case store.DecisionApprove:
			subj, body = t.approvedSubj, fmt.Sprintf(t.approved, n.subject(m), waiting(m), m.ID)
		case store.DecisionReject:
			subj, body = t.rejectedSubj, fmt.Sprintf(t.rejected, n.subject(m), waiting(m), d.Comment, m.ID)
		case store.DecisionExpire:
			subj, body = t.expiredSubj, fmt.Sprintf(t.expired, n.subject(m), waiting(m), m.ID)
			if m.Action == "confirm" {
				w := n.waitText()
				subj, body = w.expiredSubj, fmt.Sprintf(w.expired, n.subject(m), waiting(m), m.ID)
			}
		}
		if subj != "" {
			out = append(out, n.compose([]string{m.From}, fmt.Sprintf(subj, n.subject(m)), body))
		}
	}
	if d.Kind == store.DecisionReject && d.NearMiss && len(n.cfg.IncidentContacts) > 0 {
		body := fmt.Sprintf(t.nearMiss, m.From, waiting(m), n.subject(m), d.Actor, d.Comment, n.link(m.ID), m.ID)
		out = append(out, n.compose(n.cfg.IncidentContacts, fmt.Sprintf(t.nearMissSubj, m.From), body))
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
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(attempt+1) * time.Second):
		}
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
		return "(no subject)"
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
	fmt.Fprintf(&b, "From: %s\r\n", n.cfg.From)
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
