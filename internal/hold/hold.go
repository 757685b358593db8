// Package hold decides the fate of held mail. Every decision — approve,
// reject, withdraw, expire — goes through Service, which applies the
// four-eyes rules below every interface (console, API, CLI), so that no
// interface can skip them:
//
//   - only officers approve or reject;
//   - nobody approves or rejects their own message (the sender is the
//     authenticated user who submitted it, or the user whose address is the
//     envelope sender or in the header From; addresses compared without
//     case, "+tag" subaddress or IDN differences);
//   - one officer counts once towards the approvals needed;
//   - only the sender withdraws, and only while the message is held;
//   - nothing is decided at or after the hold's expiry time: a late
//     decision is refused and expires the message instead, in the same
//     transaction, so that an approval can never beat the expiry sweep.
//
// Each decision is one store transaction: the decision record, the audit
// entry, any notices and, when it is final, the state change, which is
// conditional on the message still being held. Two officers deciding at
// the same moment therefore end in exactly one final state, and an
// approved message is queued exactly once.
package hold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
)

var (
	// ErrNotFound: no such message, or the actor may not see it. Senders
	// asking for another sender's message get this, not ErrForbidden, so
	// that message IDs cannot be probed.
	ErrNotFound = errors.New("hold: message not found")
	// ErrForbidden: the actor may see the message but not do this.
	ErrForbidden = errors.New("hold: not allowed")
	// ErrSelfApproval: an officer tried to decide on their own message.
	ErrSelfApproval = errors.New("hold: nobody may decide on their own message")
	// ErrAlreadyApproved: this officer's approval is already counted.
	ErrAlreadyApproved = errors.New("hold: this officer has already approved")
	// ErrNotHeld: the message is no longer held (decided, expired, withdrawn).
	ErrNotHeld = errors.New("hold: message is not held")
	// ErrExpired: the message's hold time had ended when the decision
	// came. The decision is refused and the message expires then and
	// there (it is never sent), whether or not the expiry sweep ran.
	ErrExpired = fmt.Errorf("%w: its hold time has ended", ErrNotHeld)
	// ErrCommentRequired: rejecting needs a comment for the sender.
	ErrCommentRequired = errors.New("hold: a rejection needs a comment")
	// ErrDomainRequired: a high-risk hold is approved only with the
	// recipient's domain typed by the approver; it was missing or wrong.
	ErrDomainRequired = errors.New("hold: type the recipient's domain to approve this high-risk message")
	// ErrJustificationRequired: an empty justification.
	ErrJustificationRequired = errors.New("hold: the justification is empty")
)

// Decision kinds that record facts about a held message rather than
// decide it: the sender's justification, and an officer's first opening
// of the message (for the approval-quality figures).
const (
	DecisionJustify  = "justify"
	DecisionOpen     = "open"
	DecisionEscalate = "escalate" // the backup officers were told (actor "system")
)

// MaxJustification bounds a sender's justification, in bytes.
const MaxJustification = 4000

// Notice is a mail the guard sends itself (to a sender, officers or
// incident contacts). Notices go straight to the queue and are never held.
type Notice struct {
	From string
	To   []string
	Data []byte
}

// Notifier composes notices and announces events (webhooks).
type Notifier interface {
	// Decided returns the notices for a decision on m.
	Decided(m *store.Message, d *store.Decision) []Notice
	// Event is called after a decision has been committed.
	Event(m *store.Message, d *store.Decision)
}

// Store is what the service needs of the store.
type Store interface {
	store.Store
	Decisions(ctx context.Context, msgID string) ([]*store.Decision, error)
}

// Tx is what the service needs of a transaction.
type Tx interface {
	store.Tx
	audit.Appender
	AddDecision(d *store.Decision) error
	// Message reads a message inside the transaction and locks it until
	// the transaction ends; Decisions reads its decisions likewise.
	Message(id string) (*store.Message, error)
	Decisions(msgID string) ([]*store.Decision, error)
}

// Config tunes the service.
type Config struct {
	Approvals int              // distinct officers needed to release (default 1)
	Now       func() time.Time // injected clock; nil = time.Now
	// Links signs and checks confirmation links; nil: links are refused.
	Links *Links
	Risk  Risk // which holds need the recipient's domain typed
	// Observe is told about every committed decision (metrics); nil: nobody.
	Observe func(Observation)
	// Escalation returns the backup officers of m and how long m may
	// wait undecided before they are told (0: never).
	Escalation func(m *store.Message) (backup []string, after time.Duration)
}

// Observation is one committed decision, for metrics and figures.
type Observation struct {
	Kind     string // store.DecisionApprove, …, DecisionEscalate
	Actor    string
	NearMiss bool
	// SinceOpen is the time from the actor's first opening of the
	// message to the decision (approve and reject; 0 if unknown).
	SinceOpen time.Duration
	// SinceHeld is the time from receipt to the decision.
	SinceHeld time.Duration
}

func (s *Service) observe(o Observation) {
	if s.cfg.Observe != nil {
		s.cfg.Observe(o)
	}
}

// openedAt returns when actor first opened the message, from its decisions.
func openedAt(ds []*store.Decision, actor string) time.Time {
	for _, d := range ds {
		if d.Kind == DecisionOpen && d.Actor == actor {
			return d.At
		}
	}
	return time.Time{}
}

func since(from, to time.Time) time.Duration {
	if from.IsZero() || to.Before(from) {
		return 0
	}
	return to.Sub(from)
}

// Escalator composes the notice to backup officers; a Notifier that
// implements it is used by EscalateDue.
type Escalator interface {
	Escalated(m *store.Message, to []string, waited time.Duration) Notice
}

// Service applies decisions.
type Service struct {
	cfg    Config
	st     Store
	notify Notifier
	kick   func() // wakes the outbound queue after a release
	log    *zap.Logger
}

// New returns a Service. kick is called after a message is released.
func New(cfg Config, st Store, n Notifier, kick func(), log *zap.Logger) *Service {
	if cfg.Approvals < 1 {
		cfg.Approvals = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if kick == nil {
		kick = func() {}
	}
	return &Service{cfg: cfg, st: st, notify: n, kick: kick, log: log.Named("hold")}
}

// Approvals is the number of distinct officers needed.
func (s *Service) Approvals() int { return s.cfg.Approvals }

// Assess tells whether m is high-risk and which domain its approver must type.
func (s *Service) Assess(m *store.Message) Assessment { return s.cfg.Risk.Assess(m) }

// IsSender reports whether u sent m: u submitted it, or the envelope
// sender is one of u's addresses. Addresses are compared normalised
// (account.NormalizeMailbox: case, "+tag" subaddress, IDN), so that
// "Off2+x@Example.JP" is off2@example.jp's.
func IsSender(u *store.User, m *store.Message) bool {
	if m.AuthUser != "" && strings.EqualFold(m.AuthUser, u.Name) {
		return true
	}
	return m.From != "" && ownsAddress(u, m.From)
}

// IsOwnMessage reports whether u may not decide on m: u sent it (see
// IsSender), or the message's header From names one of u's addresses.
// The header counts here although the envelope decides who sent the
// message: mail that arrives through a trusted relay carries no
// authenticated user, and an officer must not approve what presents
// itself to the recipient as their own mail.
func IsOwnMessage(u *store.User, m *store.Message) bool {
	if IsSender(u, m) {
		return true
	}
	return slices.ContainsFunc(account.HeaderAddresses(m.HeaderFrom), func(a string) bool { return ownsAddress(u, a) })
}

func ownsAddress(u *store.User, addr string) bool {
	return slices.ContainsFunc(u.Addresses, func(a string) bool { return account.SameMailbox(a, addr) })
}

// CanSee reports whether u may see m: officers see all held mail and its
// history; a sender sees only their own.
func CanSee(u *store.User, m *store.Message) bool {
	return account.HasRole(u, account.RoleOfficer) || IsSender(u, m)
}

// View returns a message for u and records the view in the audit log.
func (s *Service) View(ctx context.Context, u *store.User, id string, via string) (*store.Message, []*store.Decision, error) {
	m, err := s.st.Message(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !CanSee(u, m)) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	decider := m.State == store.Held && account.HasRole(u, account.RoleOfficer) && !IsOwnMessage(u, m)
	err = s.st.Update(ctx, func(txx store.Tx) error {
		tx := txx.(Tx)
		now := s.cfg.Now()
		if _, err := audit.Append(tx, now, audit.Event{Actor: u.Name, Action: audit.ActionMessageView, MsgID: id,
			Data: map[string]any{"via": via, "state": string(m.State)}}); err != nil {
			return err
		}
		if !decider {
			return nil
		}
		// The first time an officer who may decide opens the message is
		// kept with its decisions: the time from opening to deciding
		// is an approval-quality figure.
		prior, err := tx.Decisions(id)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(prior, func(d *store.Decision) bool { return d.Kind == DecisionOpen && d.Actor == u.Name }) {
			return nil
		}
		return tx.AddDecision(&store.Decision{MsgID: id, Actor: u.Name, Kind: DecisionOpen, At: now.UTC()})
	})
	if err != nil {
		return nil, nil, err
	}
	ds, err := s.st.Decisions(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return m, ds, nil
}

// List returns held messages u may see, oldest first.
func (s *Service) List(ctx context.Context, u *store.User, states []store.State) ([]*store.Message, error) {
	if len(states) == 0 {
		states = []store.State{store.Held}
	}
	f := store.Filter{States: states, Ascending: true}
	if !account.HasRole(u, account.RoleOfficer) {
		// Senders: their own submissions, and mail sent with their addresses.
		var out []*store.Message
		seen := map[string]bool{}
		add := func(ms []*store.Message) {
			for _, m := range ms {
				if !seen[m.ID] && IsSender(u, m) {
					seen[m.ID] = true
					out = append(out, m)
				}
			}
		}
		f.AuthUser = u.Name
		ms, err := s.st.List(ctx, f)
		if err != nil {
			return nil, err
		}
		add(ms)
		f.AuthUser = ""
		for _, a := range u.Addresses {
			f.From = a
			ms, err := s.st.List(ctx, f)
			if err != nil {
				return nil, err
			}
			add(ms)
		}
		slices.SortFunc(out, func(a, b *store.Message) int { return a.Received.Compare(b.Received) })
		return out, nil
	}
	return s.st.List(ctx, f)
}

// Outcome tells what an approval did.
type Outcome struct {
	Released  bool // the message left the hold and was queued
	Approvals int  // distinct approvals so far
	Needed    int
}

// Approve records u's approval of message id and releases it once enough
// distinct officers have approved. A high-risk hold (see Risk) needs
// ApproveTyped.
func (s *Service) Approve(ctx context.Context, u *store.User, id, via string) (Outcome, error) {
	return s.ApproveTyped(ctx, u, id, via, "")
}

// ApproveTyped is Approve with the recipient domain the approver typed,
// which a high-risk hold requires (ErrDomainRequired otherwise).
func (s *Service) ApproveTyped(ctx context.Context, u *store.User, id, via, typed string) (Outcome, error) {
	var out Outcome
	var obs Observation
	var m *store.Message
	var d *store.Decision
	expired := false
	err := s.st.Update(ctx, func(txx store.Tx) error {
		tx := txx.(Tx)
		var err error
		m, err = s.decidable(tx, u, id)
		if err != nil {
			return err
		}
		now := s.cfg.Now().UTC()
		if due(m, now) {
			expired = true
			d, err = s.expireTx(tx, now, m)
			return err
		}
		prior, err := tx.Decisions(id)
		if err != nil {
			return err
		}
		approvers := map[string]bool{}
		for _, p := range prior {
			if p.Kind == store.DecisionApprove {
				approvers[p.Actor] = true
			}
		}
		if approvers[u.Name] {
			return ErrAlreadyApproved
		}
		risk := s.cfg.Risk.Assess(m)
		if risk.High && !SameDomain(typed, risk.Domain) {
			return ErrDomainRequired
		}
		approvers[u.Name] = true
		obs = Observation{Kind: store.DecisionApprove, Actor: u.Name, SinceOpen: since(openedAt(prior, u.Name), now), SinceHeld: since(m.Received, now)}
		d = &store.Decision{MsgID: id, Actor: u.Name, Kind: store.DecisionApprove, At: now}
		if err := tx.AddDecision(d); err != nil {
			return err
		}
		out = Outcome{Approvals: len(approvers), Needed: s.cfg.Approvals}
		if out.Approvals >= s.cfg.Approvals {
			// Release: straight to the queue, not judged again, so the
			// rule that held it cannot hold it twice.
			m.State = store.Queued
			m.NextAttempt = now
			m.Updated = now
			if err := tx.UpdateMessage(m, store.Held); err != nil {
				return mapConflict(err)
			}
			out.Released = true
		} else {
			// Touch the record from Held so that a concurrent final
			// decision conflicts with this one instead of interleaving.
			m.Updated = now
			if err := tx.UpdateMessage(m, store.Held); err != nil {
				return mapConflict(err)
			}
		}
		data := map[string]any{"via": via, "approvals": out.Approvals, "needed": out.Needed, "released": out.Released, "waiting": waitingRcpts(m)}
		if risk.High {
			data["high_risk"] = risk.Why
			data["typed_domain"] = risk.Domain
		}
		if _, err := audit.Append(tx, now, audit.Event{Actor: u.Name, Action: audit.ActionHoldApprove, MsgID: id, Data: data}); err != nil {
			return err
		}
		if out.Released {
			return s.enqueueNotices(tx, now, m, d)
		}
		return nil
	})
	if err != nil {
		return Outcome{}, err
	}
	if expired {
		s.expired(m, d, u)
		return Outcome{}, ErrExpired
	}
	s.log.Info("approval", zap.String("msg_id", id), zap.String("approver", u.Name),
		zap.Int("approvals", out.Approvals), zap.Bool("released", out.Released))
	s.observe(obs)
	if out.Released {
		s.kick()
		s.event(m, d)
	}
	return out, nil
}

// Reject rejects a held message; it will not be sent.
func (s *Service) Reject(ctx context.Context, u *store.User, id, comment string, nearMiss bool, via string) error {
	comment = strings.TrimSpace(comment)
	if comment == "" {
		return ErrCommentRequired
	}
	return s.finish(ctx, u, id, via, &store.Decision{Kind: store.DecisionReject, Comment: comment, NearMiss: nearMiss}, store.Rejected)
}

// Justify records the sender's explanation of why a held message should
// go out; officers see it, and it is audited. A sender may add to it
// while the message is held.
func (s *Service) Justify(ctx context.Context, u *store.User, id, text, via string) error {
	text = strings.TrimSpace(text)
	if text == "" {
		return ErrJustificationRequired
	}
	if len(text) > MaxJustification {
		text = strings.ToValidUTF8(text[:MaxJustification], "")
	}
	err := s.st.Update(ctx, func(txx store.Tx) error {
		tx := txx.(Tx)
		m, err := s.withdrawable(tx, u, id)
		if err != nil {
			return err
		}
		now := s.cfg.Now().UTC()
		// Touch the record from Held, so that a justification never
		// lands on a message decided in the same moment.
		m.Updated = now
		if err := tx.UpdateMessage(m, store.Held); err != nil {
			return mapConflict(err)
		}
		if err := tx.AddDecision(&store.Decision{MsgID: id, Actor: u.Name, Kind: DecisionJustify, Comment: text, At: now}); err != nil {
			return err
		}
		_, err = audit.Append(tx, now, audit.Event{Actor: u.Name, Action: audit.ActionHoldJustify, MsgID: id,
			Data: map[string]any{"via": via, "justification": text}})
		return err
	})
	if err != nil {
		return err
	}
	s.log.Info("justification", zap.String("msg_id", id), zap.String("sender", u.Name))
	return nil
}

// Withdraw lets the sender take back their own held message.
func (s *Service) Withdraw(ctx context.Context, u *store.User, id, via string) error {
	return s.finish(ctx, u, id, via, &store.Decision{Kind: store.DecisionWithdraw}, store.Withdrawn)
}

func (s *Service) finish(ctx context.Context, u *store.User, id, via string, d *store.Decision, to store.State) error {
	var m *store.Message
	var obs Observation
	var exp *store.Decision
	err := s.st.Update(ctx, func(txx store.Tx) error {
		tx := txx.(Tx)
		var err error
		if d.Kind == store.DecisionWithdraw {
			m, err = s.withdrawable(tx, u, id)
		} else {
			m, err = s.decidable(tx, u, id)
		}
		if err != nil {
			return err
		}
		now := s.cfg.Now().UTC()
		if due(m, now) {
			exp, err = s.expireTx(tx, now, m)
			return err
		}
		d.MsgID, d.Actor, d.At = id, u.Name, now
		obs = Observation{Kind: d.Kind, Actor: u.Name, NearMiss: d.NearMiss, SinceHeld: since(m.Received, now)}
		if d.Kind == store.DecisionReject {
			prior, err := tx.Decisions(id)
			if err != nil {
				return err
			}
			obs.SinceOpen = since(openedAt(prior, u.Name), now)
		}
		m.State = to
		m.Updated = now
		if err := tx.UpdateMessage(m, store.Held); err != nil {
			return mapConflict(err)
		}
		if err := tx.AddDecision(d); err != nil {
			return err
		}
		data := map[string]any{"via": via, "waiting": waitingRcpts(m)}
		if d.Comment != "" {
			data["comment"] = d.Comment
		}
		if d.NearMiss {
			data["near_miss"] = true
		}
		action := map[string]string{store.DecisionReject: audit.ActionHoldReject, store.DecisionWithdraw: audit.ActionHoldWithdraw}[d.Kind]
		if action == "" {
			return fmt.Errorf("hold: no audit action for a decision %q", d.Kind)
		}
		if _, err := audit.Append(tx, now, audit.Event{Actor: u.Name, Action: action, MsgID: id, Data: data}); err != nil {
			return err
		}
		return s.enqueueNotices(tx, now, m, d)
	})
	if err != nil {
		return err
	}
	if exp != nil {
		s.expired(m, exp, u)
		return ErrExpired
	}
	s.log.Info("decision", zap.String("msg_id", id), zap.String("actor", u.Name), zap.String("decision", d.Kind), zap.Bool("near_miss", d.NearMiss))
	s.observe(obs)
	s.kick() // notices are queued
	s.event(m, d)
	return nil
}

// ExpireDue expires held messages whose hold time has passed, and mail
// its sender did not confirm in time. Expired mail is not sent (fail
// closed); the sender is told.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	ms, err := s.st.List(ctx, store.Filter{States: []store.State{store.Held, store.Unconfirmed}, Ascending: true, Limit: 1000})
	if err != nil {
		return 0, err
	}
	now := s.cfg.Now().UTC()
	n := 0
	for _, m := range ms {
		if !due(m, now) {
			continue
		}
		var d *store.Decision
		err := s.st.Update(ctx, func(txx store.Tx) error {
			var err error
			d, err = s.expireTx(txx.(Tx), now, m)
			return err
		})
		if errors.Is(err, ErrNotHeld) {
			continue // decided meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
		s.log.Info("hold expired", zap.String("msg_id", m.ID))
		s.observe(Observation{Kind: store.DecisionExpire, Actor: "system", SinceHeld: since(m.Received, now)})
		s.event(m, d)
	}
	if n > 0 {
		s.kick()
	}
	return n, nil
}

// EscalateDue tells the backup officers about held messages that have
// waited longer than their group allows. Each message is escalated once,
// even with several instances sharing the store: the notice's message ID
// is derived from the held message's, and the transaction that would
// insert it a second time fails. The escalation is recorded as a
// decision (for the history) and audited, in the same transaction.
func (s *Service) EscalateDue(ctx context.Context) (int, error) {
	esc, ok := s.notify.(Escalator)
	if s.cfg.Escalation == nil || !ok {
		return 0, nil
	}
	ms, err := s.st.List(ctx, store.Filter{States: []store.State{store.Held}, Ascending: true, Limit: 1000})
	if err != nil {
		return 0, err
	}
	now := s.cfg.Now().UTC()
	n := 0
	for _, m := range ms {
		backup, after := s.cfg.Escalation(m)
		waited := now.Sub(m.Received)
		if after <= 0 || len(backup) == 0 || waited < after {
			continue
		}
		noticeID := "escalate-" + m.ID
		err := s.st.Update(ctx, func(txx store.Tx) error {
			tx := txx.(Tx)
			if _, err := tx.Message(noticeID); err == nil {
				return store.ErrExists
			}
			cur, err := tx.Message(m.ID)
			if err != nil {
				return err
			}
			if cur.State != store.Held {
				return ErrNotHeld
			}
			if err := EnqueueNoticeID(tx, now, noticeID, esc.Escalated(cur, backup, waited)); err != nil {
				return err
			}
			if err := tx.AddDecision(&store.Decision{MsgID: m.ID, Actor: "system", Kind: DecisionEscalate,
				Comment: strings.Join(backup, ", "), At: now}); err != nil {
				return err
			}
			_, err = audit.Append(tx, now, audit.Event{Actor: "system", Action: audit.ActionHoldEscalate, MsgID: m.ID,
				Data: map[string]any{"to": backup, "waited_s": int64(waited / time.Second), "after_s": int64(after / time.Second)}})
			return err
		})
		if errors.Is(err, store.ErrExists) || errors.Is(err, ErrNotHeld) {
			continue // escalated before, or decided meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
		s.log.Info("hold escalated", zap.String("msg_id", m.ID), zap.Strings("to", backup))
		s.observe(Observation{Kind: DecisionEscalate, Actor: "system", SinceHeld: waited})
	}
	if n > 0 {
		s.kick()
	}
	return n, nil
}

// due reports whether m's hold time has ended at now: expiry is at
// HoldExpires, inclusive.
func due(m *store.Message, now time.Time) bool {
	return !m.HoldExpires.IsZero() && !now.Before(m.HoldExpires)
}

// expireTx expires the held message m in tx: its state, the system's
// decision, the audit entry and the notice to the sender.
func (s *Service) expireTx(tx Tx, now time.Time, m *store.Message) (*store.Decision, error) {
	d := &store.Decision{MsgID: m.ID, Actor: "system", Kind: store.DecisionExpire, At: now}
	// Held mail, or mail its sender did not confirm in time.
	was, action := m.State, audit.ActionHoldExpire
	if was == store.Unconfirmed {
		action = audit.ActionSenderExpire
	}
	m.State = store.Expired
	m.Updated = now
	if err := tx.UpdateMessage(m, was); err != nil {
		return nil, mapConflict(err)
	}
	if err := tx.AddDecision(d); err != nil {
		return nil, err
	}
	if _, err := audit.Append(tx, now, audit.Event{Actor: "system", Action: action, MsgID: m.ID,
		Data: map[string]any{"held_until": m.HoldExpires.UTC().Format(time.RFC3339), "from_state": string(was), "waiting": waitingRcpts(m)}}); err != nil {
		return nil, err
	}
	return d, s.enqueueNotices(tx, now, m, d)
}

// expired reports an expiry that a late decision by u found and committed.
func (s *Service) expired(m *store.Message, d *store.Decision, u *store.User) {
	s.log.Info("hold expired; late decision refused", zap.String("msg_id", m.ID), zap.String("actor", u.Name))
	s.observe(Observation{Kind: store.DecisionExpire, Actor: "system", SinceHeld: since(m.Received, d.At)})
	s.kick() // the notice to the sender is queued
	s.event(m, d)
}

// decidable loads a held message for an officer's decision and applies
// the four-eyes rules.
func (s *Service) decidable(tx Tx, u *store.User, id string) (*store.Message, error) {
	m, err := tx.Message(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if !CanSee(u, m) {
		return nil, ErrNotFound
	}
	if !account.HasRole(u, account.RoleOfficer) || u.Disabled {
		return nil, ErrForbidden
	}
	if IsOwnMessage(u, m) {
		return nil, ErrSelfApproval
	}
	if m.State != store.Held {
		return nil, ErrNotHeld
	}
	return m, nil
}

func (s *Service) withdrawable(tx Tx, u *store.User, id string) (*store.Message, error) {
	m, err := tx.Message(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if !IsSender(u, m) {
		if CanSee(u, m) {
			return nil, ErrForbidden
		}
		return nil, ErrNotFound
	}
	if m.State != store.Held {
		return nil, ErrNotHeld
	}
	return m, nil
}

func mapConflict(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return ErrNotHeld
	}
	return err
}

func (s *Service) enqueueNotices(tx store.Tx, now time.Time, m *store.Message, d *store.Decision) error {
	if s.notify == nil {
		return nil
	}
	for _, n := range s.notify.Decided(m, d) {
		if err := EnqueueNotice(tx, now, n); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) event(m *store.Message, d *store.Decision) {
	if s.notify != nil {
		s.notify.Event(m, d)
	}
}

// EnqueueNotice stores a notice as a queued message. Notices bypass the
// judge: they are the guard's own mail and are never held.
func EnqueueNotice(tx store.Tx, now time.Time, n Notice) error {
	return EnqueueNoticeID(tx, now, store.NewID(now), n)
}

// EnqueueNoticeID is EnqueueNotice with a given message ID.
func EnqueueNoticeID(tx store.Tx, now time.Time, id string, n Notice) error {
	if len(n.To) == 0 {
		return nil
	}
	now = now.UTC()
	m := &store.Message{
		State:       store.Queued,
		Updated:     now,
		Size:        int64(len(n.Data)),
		Status:      make([]store.RcptStatus, len(n.To)),
		Action:      store.ActionNotice,
		NextAttempt: now,
	}
	m.ID = id
	m.Received = now
	m.From = n.From
	for _, to := range n.To {
		m.Rcpts = append(m.Rcpts, envelope.Rcpt{Addr: to})
	}
	if err := tx.InsertMessage(m, bytes.NewReader(n.Data)); err != nil {
		return fmt.Errorf("notice: %w", err)
	}
	return nil
}
