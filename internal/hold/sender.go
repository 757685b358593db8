package hold

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

// The sender's own decisions on mail that waits for them: delayed mail
// (send now, cancel) and mail that needs their confirmation (confirm,
// cancel). Only the sender may take them, never an officer on their
// behalf; like every decision, each is one transaction with its decision
// record and audit entry, conditional on the state the message is in, so
// a message released by its timer cannot also be cancelled, and a
// confirmation link works once.

// Kinds of the sender's decisions (store.Decision.Kind).
const (
	DecisionSendNow = "send_now"
	DecisionCancel  = "cancel"
	DecisionConfirm = "confirm"
)

var (
	// ErrNotWaiting: the message is not (or no longer) in a state the
	// sender's action applies to: already sent, cancelled or expired.
	ErrNotWaiting = errors.New("hold: message is not waiting for its sender")
	// ErrBadLink: a confirmation link that is malformed, forged or
	// expired.
	ErrBadLink = errors.New("hold: invalid or expired confirmation link")
	// ErrTooLate: the time to confirm had ended when the sender acted; the
	// message has expired (unsent) instead.
	ErrTooLate = fmt.Errorf("%w: the time to confirm has ended", ErrNotWaiting)
)

// SendNow releases a delayed message at once.
func (s *Service) SendNow(ctx context.Context, u *store.User, id, via string) error {
	return s.senderDecide(ctx, u, nil, id, via, DecisionSendNow, []store.State{store.Delayed})
}

// Cancel withdraws a delayed or unconfirmed message; it is not sent.
func (s *Service) Cancel(ctx context.Context, u *store.User, id, via string) error {
	return s.senderDecide(ctx, u, nil, id, via, DecisionCancel, []store.State{store.Delayed, store.Unconfirmed})
}

// Confirm releases a message that waited for its sender's confirmation.
func (s *Service) Confirm(ctx context.Context, u *store.User, id, via string) error {
	return s.senderDecide(ctx, u, nil, id, via, DecisionConfirm, []store.State{store.Unconfirmed})
}

// ConfirmLink confirms through a signed link from the notice. The link
// proves that its holder received the notice, which went to the envelope
// sender; it is checked for its signature and expiry, and works once,
// because the confirmation moves the message out of the unconfirmed
// state. It returns the message ID.
func (s *Service) ConfirmLink(ctx context.Context, token, via string) (string, error) {
	id, err := s.cfg.Links.Verify(token, s.cfg.Now())
	if err != nil {
		return "", err
	}
	return id, s.senderDecide(ctx, nil, func(m *store.Message) string { return "link:" + m.From }, id, via, DecisionConfirm, []store.State{store.Unconfirmed})
}

// CheckLink verifies a confirmation link and returns the message it is
// for, without using it (the page that asks "send it?"). The view is
// audited like any other: link scanners that open it leave a trace too.
func (s *Service) CheckLink(ctx context.Context, token string) (*store.Message, error) {
	id, err := s.cfg.Links.Verify(token, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	m, err := s.st.Message(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrBadLink
	}
	if err != nil {
		return nil, err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		_, err := audit.Append(tx.(Tx), s.cfg.Now(), audit.Event{Actor: "link:" + m.From, Action: audit.ActionMessageView, MsgID: id,
			Data: map[string]any{"via": "link", "state": string(m.State)}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// senderDecide applies one of the sender's decisions. u is the console
// user (checked to be the sender); with u nil, linkActor names the actor
// of a decision made through a signed link.
func (s *Service) senderDecide(ctx context.Context, u *store.User, linkActor func(*store.Message) string, id, via, kind string, from []store.State) error {
	var m *store.Message
	var d *store.Decision
	late := false
	err := s.st.Update(ctx, func(txx store.Tx) error {
		tx := txx.(Tx)
		var err error
		m, err = tx.Message(id)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		actor := ""
		if u != nil {
			if !IsSender(u, m) {
				if CanSee(u, m) {
					return ErrForbidden
				}
				return ErrNotFound
			}
			if u.Disabled {
				return ErrForbidden
			}
			actor = u.Name
		} else {
			actor = linkActor(m)
		}
		was := m.State
		ok := false
		for _, st := range from {
			ok = ok || was == st
		}
		if !ok {
			return ErrNotWaiting
		}
		now := s.cfg.Now().UTC()
		if was == store.Unconfirmed && due(m, now) {
			// Its time ended before the expiry loop came by: it expires
			// now, whatever the sender asked (never sent late).
			late = true
			d, err = s.expireTx(tx, now, m)
			return err
		}
		switch kind {
		case DecisionSendNow, DecisionConfirm:
			m.State = store.Queued
			m.NextAttempt = now
		case DecisionCancel:
			m.State = store.Withdrawn
			m.NextAttempt = time.Time{}
		}
		m.Updated = now
		if err := tx.UpdateMessage(m, was); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return ErrNotWaiting
			}
			return err
		}
		d = &store.Decision{MsgID: id, Actor: actor, Kind: kind, At: now}
		if err := tx.AddDecision(d); err != nil {
			return err
		}
		action := map[string]string{DecisionSendNow: audit.ActionSenderSendNow, DecisionCancel: audit.ActionSenderCancel,
			DecisionConfirm: audit.ActionSenderConfirm}[kind]
		if action == "" {
			return fmt.Errorf("hold: no audit action for a sender's decision %q", kind)
		}
		_, err = audit.Append(tx, now, audit.Event{Actor: actor, Action: action, MsgID: id, Data: map[string]any{
			"via": via, "from_state": string(was), "state": string(m.State), "waiting": waitingRcpts(m)}})
		return err
	})
	if err != nil {
		return err
	}
	if late {
		s.log.Info("confirmation time ended; expired", zap.String("msg_id", id))
		s.kick() // the notice to the sender is queued
		s.event(m, d)
		return ErrTooLate
	}
	s.log.Info("sender decision", zap.String("msg_id", id), zap.String("actor", d.Actor), zap.String("decision", kind))
	s.kick()
	s.event(m, d)
	return nil
}

// ListOwn returns u's own messages in states, oldest first, whatever u's
// roles: an officer's delayed mail is theirs to send or cancel.
func (s *Service) ListOwn(ctx context.Context, u *store.User, states []store.State) ([]*store.Message, error) {
	var out []*store.Message
	seen := map[string]bool{}
	add := func(f store.Filter) error {
		f.States, f.Ascending = states, true
		ms, err := s.st.List(ctx, f)
		for _, m := range ms {
			if !seen[m.ID] && IsSender(u, m) {
				seen[m.ID] = true
				out = append(out, m)
			}
		}
		return err
	}
	if err := add(store.Filter{AuthUser: u.Name}); err != nil {
		return nil, err
	}
	for _, a := range u.Addresses {
		if err := add(store.Filter{From: a}); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b *store.Message) int { return a.Received.Compare(b.Received) })
	return out, nil
}

// waitingRcpts lists the recipients a waiting message holds back (those
// not sent at once in a split part).
func waitingRcpts(m *store.Message) []string {
	var out []string
	for i, r := range m.Rcpts {
		if i < len(m.Status) && m.Status[i].Part != "" {
			continue
		}
		out = append(out, r.Addr)
	}
	return out
}

// Links signs and checks confirmation links: HMAC-SHA256 over the message
// ID and the link's expiry, with a key that never leaves the guard.
type Links struct{ key []byte }

// NewLinks returns Links with key (at least 16 bytes).
func NewLinks(key []byte) (*Links, error) {
	if len(key) < 16 {
		return nil, errors.New("hold: confirmation link key shorter than 16 bytes")
	}
	return &Links{key: append([]byte(nil), key...)}, nil
}

var linkEncoding = base64.RawURLEncoding

func (l *Links) mac(id string, exp int64) []byte {
	h := hmac.New(sha256.New, l.key)
	h.Write([]byte("egressguard confirm\x00" + id + "\x00" + strconv.FormatInt(exp, 10)))
	return h.Sum(nil)
}

// Sign returns the token for message id, valid until exp.
func (l *Links) Sign(id string, exp time.Time) string {
	e := exp.Unix()
	return id + "." + strconv.FormatInt(e, 10) + "." + linkEncoding.EncodeToString(l.mac(id, e))
}

// Verify checks a token at now and returns its message ID.
func (l *Links) Verify(token string, now time.Time) (string, error) {
	if l == nil || len(token) > 200 {
		return "", ErrBadLink
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] == "" {
		return "", ErrBadLink
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", ErrBadLink
	}
	sig, err := linkEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, l.mac(parts[0], exp)) {
		return "", ErrBadLink
	}
	if now.Unix() >= exp {
		return "", ErrBadLink
	}
	return parts[0], nil
}
