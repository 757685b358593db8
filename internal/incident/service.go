package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

var (
	// ErrNotFound: no such incident or message, or not one the user may see.
	ErrNotFound = errors.New("incident: not found")
	// ErrForbidden: the user may see it but not do this.
	ErrForbidden = errors.New("incident: not permitted")
	// ErrConflict: someone else changed the incident first; reload.
	ErrConflict = errors.New("incident: changed by someone else meanwhile")
	// ErrState: the change is not possible in the incident's or the
	// message's state.
	ErrState = errors.New("incident: not possible in this state")
	// ErrReported: someone else has already opened an incident about the
	// message; the officers handle it.
	ErrReported = errors.New("incident: already reported")
)

// Config configures the Service.
type Config struct {
	Rules Rules
	// RemindBefore: a deadline's first reminder goes out this long before
	// it (default 48h); a second when it has passed.
	RemindBefore time.Duration
	// Reminder composes the notices of a reminder (nil: none are sent,
	// the reminder is only audited).
	Reminder func(in *Incident, d Deadline, overdue bool) []hold.Notice
	// Opened composes the notices that an incident was opened (nil: none).
	Opened func(in *Incident, r Rules) []hold.Notice
	// Kick tells the delivery queue that notices were queued.
	Kick func()
	// Limits bound the inspection of a message whose bytes are still
	// stored, for its attachments.
	Limits message.Limits
	Now    func() time.Time
}

// Service manages incidents.
type Service struct {
	cfg Config
	st  store.Store
	log *zap.Logger
}

// New returns a Service.
func New(cfg Config, st store.Store, log *zap.Logger) *Service {
	cfg.Rules.defaults()
	if cfg.RemindBefore <= 0 {
		cfg.RemindBefore = 48 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Kick == nil {
		cfg.Kick = func() {}
	}
	return &Service{cfg: cfg, st: st, log: log.Named("incident")}
}

// Rules are the deadline rules in force.
func (s *Service) Rules() Rules { return s.cfg.Rules }

// Manager reports whether u manages incidents (officers and admins).
func Manager(u *store.User) bool {
	return account.HasRole(u, account.RoleOfficer) || account.HasRole(u, account.RoleAdmin)
}

// CanOpen reports whether u may open an incident about m, and of which
// kind: the sender (or a manager) about delivered or bounced mail; a
// manager about a message rejected as a near miss.
func CanOpen(u *store.User, m *store.Message, ds []*store.Decision) (kind string, ok bool) {
	switch m.State {
	case store.Delivered, store.Bounced, store.Sending, store.Queued:
		if Manager(u) || hold.IsSender(u, m) {
			return KindMisdirected, true
		}
	case store.Rejected:
		if Manager(u) {
			for _, d := range ds {
				if d.Kind == store.DecisionReject && d.NearMiss {
					return KindNearMiss, true
				}
			}
		}
	}
	return "", false
}

// Open opens an incident about message msgID for u, pre-filled with what
// the guard knows, and audits it.
func (s *Service) Open(ctx context.Context, u *store.User, msgID, note string) (*Incident, error) {
	m, err := s.st.Message(ctx, msgID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if !Manager(u) && !hold.IsSender(u, m) {
		return nil, ErrNotFound
	}
	ds, err := s.st.Decisions(ctx, msgID)
	if err != nil {
		return nil, err
	}
	kind, ok := CanOpen(u, m, ds)
	if !ok {
		return nil, ErrState
	}
	// One incident per message: opening it again shows the one there is
	// (and tells nobody twice).
	existing, err := s.st.Incidents(ctx, store.IncidentFilter{MsgID: m.ID, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		if Manager(u) || existing[0].Reporter == u.Name {
			return s.load(ctx, u, existing[0].ID)
		}
		return nil, ErrReported
	}
	now := s.cfg.Now().UTC()
	in := &Incident{
		ID: "inc-" + store.NewID(now), MsgID: m.ID, Kind: kind, Reporter: u.Name, Status: Open,
		Created: now, Updated: now, Aware: now, Note: strings.TrimSpace(note),
	}
	if err := s.facts(ctx, in, m, ds); err != nil {
		return nil, err
	}
	in.Report = prefill(in)
	in.Steps = checklist(in)
	data, err := in.Encode()
	if err != nil {
		return nil, err
	}
	rec := &store.Incident{ID: in.ID, MsgID: in.MsgID, Reporter: in.Reporter, Status: string(in.Status),
		Created: now, Updated: now, Data: data}
	var notices []hold.Notice
	if s.cfg.Opened != nil {
		notices = s.cfg.Opened(in, s.cfg.Rules)
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertIncident(rec); err != nil {
			return err
		}
		for _, n := range notices {
			if err := hold.EnqueueNotice(tx, now, n); err != nil {
				return err
			}
		}
		_, err := audit.Append(tx, now, audit.Event{Actor: u.Name, Action: audit.ActionIncidentOpen, MsgID: m.ID, Data: map[string]any{
			"incident": in.ID, "kind": kind, "recipients": len(in.Facts.Recipients), "links": len(in.Facts.Links),
			"attachments": len(in.Facts.Attachments), "personal_records": in.Facts.PersonalRecords}})
		return err
	})
	if err != nil {
		return nil, err
	}
	in.Version = rec.Version
	if len(notices) > 0 {
		s.cfg.Kick()
	}
	if !Manager(u) {
		in = in.Redacted()
	}
	s.log.Info("incident opened", zap.String("incident", in.ID), zap.String("msg_id", m.ID), zap.String("by", u.Name))
	return in, nil
}

// load reads an incident for u: managers see all, others those they
// reported.
func (s *Service) load(ctx context.Context, u *store.User, id string) (*Incident, error) {
	rec, err := s.st.Incident(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if !Manager(u) && rec.Reporter != u.Name {
		return nil, ErrNotFound
	}
	in, err := Decode(rec.Data)
	if err != nil {
		return nil, err
	}
	if in.ID != rec.ID || in.Reporter != rec.Reporter {
		// The listed columns and the (sealed) record disagree: someone
		// changed the database behind the guard's back.
		s.log.Error("incident record does not match its row", zap.String("incident", rec.ID))
		return nil, ErrNotFound
	}
	in.Version = rec.Version
	if !Manager(u) {
		in = in.Redacted()
	}
	return in, nil
}

// Get returns an incident for u and audits the view (via: "console",
// "cli", "export").
func (s *Service) Get(ctx context.Context, u *store.User, id, via string) (*Incident, error) {
	in, err := s.load(ctx, u, id)
	if err != nil {
		return nil, err
	}
	action := audit.ActionIncidentView
	if via == "export" {
		action = audit.ActionIncidentExport
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		_, err := audit.Append(tx, s.cfg.Now(), audit.Event{Actor: u.Name, Action: action, MsgID: in.MsgID,
			Data: map[string]any{"incident": in.ID, "via": via}})
		return err
	})
	return in, err
}

// List returns the incidents u may see, newest first.
func (s *Service) List(ctx context.Context, u *store.User, status []string) ([]*Incident, error) {
	f := store.IncidentFilter{Status: status}
	if !Manager(u) {
		f.Reporter = u.Name
	}
	recs, err := s.st.Incidents(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]*Incident, 0, len(recs))
	for _, r := range recs {
		in, err := Decode(r.Data)
		if err != nil || in.ID != r.ID || in.Reporter != r.Reporter {
			// One unreadable record must not hide the others.
			s.log.Error("unreadable incident record skipped", zap.String("incident", r.ID), zap.Error(err))
			continue
		}
		in.Version = r.Version
		if !Manager(u) {
			in = in.Redacted()
		}
		out = append(out, in)
	}
	return out, nil
}

// Change is an edit of an incident by a manager. Nil fields are left as
// they are.
type Change struct {
	Version   int64             // the version the editor saw
	Report    map[string]string // report items by key
	Aware     *time.Time
	Wrongful  *bool
	Sensitive *bool
	Status    *Status
	// Step ticks or unticks one checklist step, with its evidence note.
	Step *StepChange
}

// StepChange is one checklist change.
type StepChange struct {
	ID   string
	Done bool
	Note string
}

// Update applies c for u (a manager) as one conditional write with its
// audit entry, which lists what changed (not the report's text).
func (s *Service) Update(ctx context.Context, u *store.User, id string, c Change) (*Incident, error) {
	in, err := s.load(ctx, u, id)
	if err != nil {
		return nil, err
	}
	if !Manager(u) {
		return nil, ErrForbidden
	}
	if c.Version != 0 && c.Version != in.Version {
		return nil, ErrConflict
	}
	now := s.cfg.Now().UTC()
	changed := map[string]any{"incident": in.ID}
	action := audit.ActionIncidentUpdate
	var fields []string
	for k, v := range c.Report {
		v = strings.ReplaceAll(strings.TrimSpace(v), "\r\n", "\n")
		old := in.Report
		if !in.Report.Set(k, v) {
			return nil, fmt.Errorf("incident: unknown report item %q", k)
		}
		if old != in.Report {
			fields = append(fields, k)
		}
	}
	if c.Aware != nil && !c.Aware.Equal(in.Aware) {
		if c.Aware.After(now.Add(time.Minute)) {
			return nil, fmt.Errorf("incident: the time of awareness cannot be in the future")
		}
		changed["aware_from"], changed["aware_to"] = in.Aware, c.Aware.UTC()
		in.Aware = c.Aware.UTC()
		fields = append(fields, "aware")
	}
	if c.Wrongful != nil && *c.Wrongful != in.Wrongful {
		in.Wrongful = *c.Wrongful
		changed["wrongful"] = in.Wrongful
		fields = append(fields, "wrongful")
	}
	if c.Sensitive != nil && *c.Sensitive != in.Sensitive {
		in.Sensitive = *c.Sensitive
		changed["sensitive"] = in.Sensitive
		fields = append(fields, "sensitive")
	}
	if c.Status != nil && *c.Status != in.Status {
		if !c.Status.Valid() || (*c.Status != Closed && c.Status.rank() < in.Status.rank()) || in.Status == Closed {
			return nil, ErrState
		}
		changed["from"], changed["to"] = string(in.Status), string(*c.Status)
		in.Status = *c.Status
		action = audit.ActionIncidentStatus
	}
	if sc := c.Step; sc != nil {
		found := false
		for i := range in.Steps {
			st := &in.Steps[i]
			if st.ID != sc.ID {
				continue
			}
			found = true
			note := strings.TrimSpace(sc.Note)
			if st.Done != sc.Done || st.Note != note {
				st.Done, st.Note = sc.Done, note
				st.By, st.At = u.Name, now
				if !sc.Done {
					st.By, st.At = "", time.Time{}
				}
				changed["step"], changed["done"], changed["evidence"] = st.ID, st.Done, note != ""
				action = audit.ActionIncidentStep
			}
		}
		if !found {
			return nil, fmt.Errorf("incident: unknown checklist step %q", sc.ID)
		}
	}
	if len(fields) > 0 {
		changed["fields"] = fields
	}
	if len(changed) == 1 {
		return in, nil // nothing changed
	}
	in.Updated = now
	if err := s.write(ctx, in, u.Name, action, changed); err != nil {
		return nil, err
	}
	return in, nil
}

// write stores in (conditional on its version) with one audit entry.
func (s *Service) write(ctx context.Context, in *Incident, actor, action string, data map[string]any) error {
	b, err := in.Encode()
	if err != nil {
		return err
	}
	rec := &store.Incident{ID: in.ID, MsgID: in.MsgID, Reporter: in.Reporter, Status: string(in.Status),
		Created: in.Created, Updated: in.Updated, Version: in.Version, Data: b}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdateIncident(rec); err != nil {
			return err
		}
		_, err := audit.Append(tx, in.Updated, audit.Event{Actor: actor, Action: action, MsgID: in.MsgID, Data: data})
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return ErrConflict
	}
	if err != nil {
		return err
	}
	in.Version = rec.Version
	return nil
}

// Remind sends the reminders that are due: for every incident not yet
// closed, a first one when a reporting deadline is within RemindBefore
// and a second once it has passed, each once (recorded in the incident,
// with an audit entry, in the transaction that queues the notices; of
// several instances only one sends it).
func (s *Service) Remind(ctx context.Context) (int, error) {
	recs, err := s.st.Incidents(ctx, store.IncidentFilter{Status: []string{string(Open), string(PreliminarySent), string(FinalSent)}, Limit: 1 << 30})
	if err != nil {
		return 0, err
	}
	now := s.cfg.Now().UTC()
	sent := 0
	for _, r := range recs {
		in, err := Decode(r.Data)
		if err != nil {
			s.log.Error("unreadable incident record: no reminders for it", zap.String("incident", r.ID), zap.Error(err))
			continue
		}
		in.Version = r.Version
		if in.Kind == KindNearMiss {
			continue
		}
		for _, d := range in.Deadlines(s.cfg.Rules) {
			if d.Done {
				continue
			}
			overdue := !now.Before(d.Due)
			if !overdue && now.Before(d.Due.Add(-s.cfg.RemindBefore)) {
				continue
			}
			key := d.Key + ":soon"
			if overdue {
				key = d.Key + ":overdue"
			}
			if _, done := in.Reminded[key]; done {
				continue
			}
			if in.Reminded == nil {
				in.Reminded = map[string]time.Time{}
			}
			in.Reminded[key] = now
			var notices []hold.Notice
			if s.cfg.Reminder != nil {
				notices = s.cfg.Reminder(in, d, overdue)
			}
			b, err := in.Encode()
			if err != nil {
				return sent, err
			}
			rec := &store.Incident{ID: in.ID, MsgID: in.MsgID, Reporter: in.Reporter, Status: string(in.Status),
				Created: in.Created, Updated: in.Updated, Version: in.Version, Data: b}
			var to []string
			for _, n := range notices {
				to = append(to, n.To...)
			}
			err = s.st.Update(ctx, func(tx store.Tx) error {
				if err := tx.UpdateIncident(rec); err != nil {
					return err
				}
				for _, n := range notices {
					if err := hold.EnqueueNotice(tx, now, n); err != nil {
						return err
					}
				}
				_, err := audit.Append(tx, now, audit.Event{Actor: "system", Action: audit.ActionIncidentRemind, MsgID: in.MsgID, Data: map[string]any{
					"incident": in.ID, "deadline": d.Key, "due": d.Due, "overdue": overdue, "to": to}})
				return err
			})
			if errors.Is(err, store.ErrConflict) {
				break // changed meanwhile (or another instance reminded): next round
			}
			if err != nil {
				return sent, err
			}
			in.Version = rec.Version
			sent++
			if len(notices) > 0 {
				s.cfg.Kick()
			}
			s.log.Info("incident reminder", zap.String("incident", in.ID), zap.String("deadline", d.Key), zap.Bool("overdue", overdue))
		}
	}
	return sent, nil
}

// Run sends reminders every interval until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 10 * time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Remind(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("incident reminders", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// facts fills in.Facts from the message record, its verdict, its bytes
// (if still stored) and the audit log.
func (s *Service) facts(ctx context.Context, in *Incident, m *store.Message, ds []*store.Decision) error {
	f := &in.Facts
	f.Sender, f.AuthUser, f.HeaderFrom, f.Subject = m.From, m.AuthUser, m.HeaderFrom, m.Subject
	f.Received, f.State = m.Received, string(m.State)
	if m.State.Final() {
		f.Finished = m.Updated
	}
	v := m.Verdict
	if v == nil {
		v = &verdict.Verdict{}
	}
	class := map[string]string{}
	for _, r := range v.Recipients {
		class[strings.ToLower(r.Addr)] = string(r.Class)
	}
	for i, r := range m.Rcpts {
		rc := Recipient{Addr: r.Addr, Class: class[strings.ToLower(r.Addr)], Result: "pending"}
		if m.State == store.Rejected || m.State == store.Expired || m.State == store.Withdrawn || m.State == store.Held {
			rc.Result = "not_sent"
		} else if i < len(m.Status) {
			st := m.Status[i]
			switch {
			case st.Done && !st.Failed:
				rc.Result = "delivered"
			case st.Done:
				rc.Result = "failed"
			}
			rc.Detail = st.Detail
		}
		f.Recipients = append(f.Recipients, rc)
	}
	seen := map[string]bool{}
	for _, l := range v.Links {
		if seen[l.URL] {
			continue
		}
		seen[l.URL] = true
		host := ""
		if i := strings.Index(l.URL, "://"); i >= 0 {
			host = l.URL[i+3:]
			if j := strings.IndexAny(host, "/?#"); j >= 0 {
				host = host[:j]
			}
		}
		f.Links = append(f.Links, Link{URL: l.URL, Host: host, Provider: l.Provider, Scope: linkScope(l.URL), Anyone: linkAnyone(l.URL)})
	}
	if p := v.Personal; p != nil {
		f.PersonalRecords, f.MyNumbers = p.Records, p.MyNumbers
		var kinds []string
		if p.CardNumbers > 0 {
			kinds = append(kinds, "card_number")
		}
		for _, pf := range p.Files {
			kinds = append(kinds, pf.Kinds...)
			if pf.File == "" {
				continue // the body, not an attachment
			}
			found := false
			for i := range f.Attachments {
				if f.Attachments[i].Name == pf.File {
					f.Attachments[i].Records += pf.Records
					f.Attachments[i].Kinds = append(f.Attachments[i].Kinds, pf.Kinds...)
					found = true
				}
			}
			if !found {
				f.Attachments = append(f.Attachments, Attachment{Name: pf.File, Records: pf.Records, Kinds: pf.Kinds})
			}
		}
		f.PersonalKinds = dedupe(kinds)
	}
	if !attachmentsKnown(f.Attachments) {
		// The verdict does not list attachments; the bytes may still be
		// there (held and rejected mail, or kept by the settings).
		if body, err := s.st.Body(ctx, m.ID); err == nil {
			facts := message.Inspect(body, s.cfg.Limits)
			for _, a := range facts.Attachments {
				merged := false
				for i := range f.Attachments {
					if f.Attachments[i].Name == a.Filename {
						f.Attachments[i].Type, f.Attachments[i].Size, f.Attachments[i].Encrypted = a.ContentType, a.Size, a.Encrypted
						merged = true
					}
				}
				if !merged {
					f.Attachments = append(f.Attachments, Attachment{Name: a.Filename, Type: a.ContentType, Size: a.Size, Encrypted: a.Encrypted})
				}
			}
		}
	}
	for _, d := range ds {
		if d.Kind == store.DecisionReject && d.NearMiss {
			f.Decision = fmt.Sprintf("%s (%s): %s", d.Actor, d.At.Format(time.RFC3339), d.Comment)
		}
	}
	entries, err := s.st.Audit(ctx, store.AuditFilter{MsgID: m.ID, Limit: 5000})
	if err != nil {
		return err
	}
	for _, e := range entries {
		var data map[string]any
		_ = json.Unmarshal(e.Data, &data)
		if e.Action == audit.ActionMessageView {
			via, _ := data["via"].(string)
			f.Viewers = append(f.Viewers, Viewer{At: e.At, User: e.Actor, Via: via})
			continue
		}
		f.Timeline = append(f.Timeline, Event{At: e.At, Actor: e.Actor, Action: e.Action, Detail: eventDetail(e.Action, data)})
	}
	sortEvents(f.Timeline)
	return nil
}

// attachmentsKnown reports whether the list came with types and sizes
// (the personal-data evidence names files only).
func attachmentsKnown(as []Attachment) bool {
	if len(as) == 0 {
		return false
	}
	for _, a := range as {
		if a.Type == "" && a.Size == 0 {
			return false
		}
	}
	return true
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// eventDetail summarises an audit entry for the timeline.
func eventDetail(action string, data map[string]any) string {
	str := func(k string) string {
		if v, ok := data[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	switch {
	case strings.HasPrefix(action, audit.PrefixDelivery):
		var ok, bad []string
		if rs, _ := data["rcpts"].([]any); rs != nil {
			for _, r := range rs {
				rm, _ := r.(map[string]any)
				addr, _ := rm["addr"].(string)
				if done, _ := rm["done"].(bool); done {
					if failed, _ := rm["failed"].(bool); failed {
						bad = append(bad, addr)
					} else {
						ok = append(ok, addr)
					}
				}
			}
		}
		d := "attempt " + str("attempt")
		if len(ok) > 0 {
			d += "; accepted: " + strings.Join(ok, ", ")
		}
		if len(bad) > 0 {
			d += "; refused: " + strings.Join(bad, ", ")
		}
		return d
	case action == audit.ActionMessageAccepted:
		return "verdict " + str("action")
	case strings.HasPrefix(action, audit.PrefixHold):
		if c := str("comment"); c != "" {
			return c
		}
	}
	return ""
}
