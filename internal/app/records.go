package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/intake"
	"github.com/egressguard/egressguard/internal/notify"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// recordAccepted writes, in the transaction that stores an accepted
// message, its audit entry and, for a held message, the notices to the
// sender and the officers.
func (a *App) recordAccepted(now func() time.Time) func(tx store.Tx, m *store.Message, j intake.Judgement) error {
	return func(tx store.Tx, m *store.Message, j intake.Judgement) error {
		v := cmp.Or(j.Verdict, &verdict.Verdict{})
		// One entry per recipient of this record, with its class, the
		// action the rules chose for it, and whether it was sent at once
		// in a split part.
		byAddr := make(map[string]verdict.RcptClass, len(v.Recipients))
		for _, r := range v.Recipients {
			byAddr[r.Addr] = r
		}
		rcpts := make([]map[string]any, 0, len(m.Rcpts))
		for i, r := range m.Rcpts {
			e := map[string]any{"addr": r.Addr}
			if c, ok := byAddr[r.Addr]; ok {
				e["class"] = string(c.Class)
				if c.Action != "" {
					e["action"] = string(c.Action)
				}
			}
			if i < len(m.Status) && m.Status[i].Part != "" {
				e["sent_as"] = m.Status[i].Part
			} else if m.State.Waiting() {
				e["waiting"] = true
			}
			rcpts = append(rcpts, e)
		}
		actor := m.AuthUser
		if actor == "" {
			actor = "smtp:" + m.ClientAddr
		}
		data := map[string]any{
			"client_ip": m.ClientAddr, "auth_user": m.AuthUser, "from": m.From, "rcpts": rcpts,
			"message_id": j.MessageID, "size": m.Size, "action": j.Action, "rules": j.Rules,
			"state": string(m.State),
		}
		if m.Action != j.Action {
			// The part of a split message sent at once.
			data["action"] = m.Action
			data["split_of"] = strings.TrimSuffix(m.ID, intake.SplitSuffix)
		}
		switch m.State {
		case store.Delayed:
			data["release_at"] = m.NextAttempt.UTC().Format(time.RFC3339)
		case store.Unconfirmed:
			data["confirm_until"] = m.HoldExpires.UTC().Format(time.RFC3339)
		}
		if v.Bcc != nil {
			data["bcc"] = map[string]any{"applied": v.Bcc.Applied, "moved": v.Bcc.Moved, "undisclosed": v.Bcc.Undisclosed, "problem": v.Bcc.Problem}
		}
		if p := v.Personal; p != nil {
			// Counts only: the audit log never holds the data itself.
			data["personal"] = map[string]any{"records": p.Records, "my_numbers": p.MyNumbers, "card_numbers": p.CardNumbers}
		}
		if _, err := audit.Append(tx, now(), audit.Event{Actor: actor, Action: audit.ActionMessageAccepted, MsgID: m.ID, Data: data}); err != nil {
			return err
		}
		if !m.State.Waiting() {
			return nil
		}
		var notices []hold.Notice
		if m.State == store.Held {
			// The notices read the verdict themselves: the reasons in the
			// notice's language, and findings such as look-alike recipients
			// (named, so that the sender sees the typo at once).
			notices = a.Notify.Held(m)
		} else {
			var reasons []string
			for _, r := range v.Reasons {
				if !r.Monitor && r.Action != verdict.Pass {
					reasons = append(reasons, r.Text(a.Cfg.Notify.Language))
				}
			}
			f := notify.Found{Attachments: j.Attachments, Links: j.Links}
			for i, r := range v.Recipients {
				if r.Class != verdict.Internal && (i >= len(m.Status) || m.Status[i].Part == "") {
					f.External = append(f.External, r.Addr)
				}
			}
			confirmURL := ""
			if m.State == store.Unconfirmed && a.links != nil {
				confirmURL = a.Notify.ConfirmURL(a.links.Sign(m.ID, m.HoldExpires))
			}
			notices = a.Notify.Waiting(m, reasons, f, confirmURL)
		}
		for _, n := range notices {
			if err := hold.EnqueueNotice(tx, now(), n); err != nil {
				return err
			}
		}
		return nil
	}
}

// recordRefused audits a message refused by policy. It is not stored; the
// entry is the record that it was refused.
func (a *App) recordRefused(now func() time.Time) func(env *envelope.Envelope, j intake.Judgement) {
	return func(env *envelope.Envelope, j intake.Judgement) {
		a.auditRefusal(context.Background(), env, map[string]any{"message_id": j.MessageID, "rules": j.Rules})
	}
}

// auditRefusal writes the message.refused entry of a message that was not
// stored, with the envelope and details.
func (a *App) auditRefusal(ctx context.Context, env *envelope.Envelope, details map[string]any) {
	actor := env.AuthUser
	if actor == "" {
		actor = "smtp:" + env.ClientAddr
	}
	data := map[string]any{
		"client_ip": env.ClientAddr, "auth_user": env.AuthUser, "from": env.From, "rcpts": env.Addrs(),
	}
	for k, v := range details {
		data[k] = v
	}
	// The client has its reply already decided; the entry is written
	// even if the session's context ends meanwhile.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		_, err := audit.Append(tx, a.now(), audit.Event{Actor: actor, Action: audit.ActionMessageRefused, MsgID: env.ID, Data: data})
		return err
	})
	if err != nil {
		a.Log.Error("audit of a refused message failed", zap.String("msg_id", env.ID), zap.Error(err))
	}
}

// auditSimple commits one audit entry on its own (logins, config loads).
func (a *App) auditSimple(ctx context.Context, ev audit.Event) error {
	return a.Store.Update(ctx, func(tx store.Tx) error {
		_, err := audit.Append(tx, a.now(), ev)
		return err
	})
}

// runLoop calls fn every interval until ctx ends.
func runLoop(ctx context.Context, interval time.Duration, fn func(context.Context)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// digestMax bounds the holds one digest lists (a mail, not a report).
const digestMax = 1000

// sendDigest queues the officers' digest for the last complete period, if
// not sent yet. The digest's message ID is derived from the period, so
// that of several instances sharing a store exactly one sends it (the
// others' inserts fail with store.ErrExists).
func (a *App) sendDigest(ctx context.Context, period time.Duration) {
	now := a.now().UTC()
	until := now.Truncate(period)
	from := until.Add(-period)
	// The period is asked for directly: filtering a listing of all held
	// mail (capped) would miss new holds once the queue is long.
	in, err := a.Store.List(ctx, store.Filter{States: []store.State{store.Held}, Since: from, Before: until,
		Ascending: true, Limit: digestMax + 1})
	if err != nil {
		a.Log.Error("officer digest: listing held mail failed", zap.Error(err))
		return
	}
	if len(in) > digestMax {
		a.Log.Warn("officer digest lists only the oldest holds of its period; see the console for the rest",
			zap.Int("listed", digestMax), zap.Time("from", from), zap.Time("until", until))
		in = in[:digestMax]
	}
	n, ok := a.Notify.Digest(in, from, until)
	if !ok {
		return
	}
	id := fmt.Sprintf("digest-%d", until.Unix())
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Message(id); err == nil {
			return store.ErrExists
		}
		return hold.EnqueueNoticeID(tx, now, id, n)
	})
	switch {
	case errors.Is(err, store.ErrExists):
	case err != nil:
		a.Log.Error("officer digest failed", zap.Error(err))
	default:
		a.Log.Info("officer digest queued", zap.Int("held", len(in)), zap.String("msg_id", id))
		a.Queue.Kick()
	}
}

// sendFigures queues the admins' digest of the officers' approval
// figures for the last complete period, once across instances (its
// message ID derives from the period, as the officers' digest's does).
func (a *App) sendFigures(ctx context.Context, period time.Duration) {
	now := a.now().UTC()
	until := now.Truncate(period)
	from := until.Add(-period)
	id := fmt.Sprintf("figures-%d", until.Unix())
	if _, err := a.Store.Message(ctx, id); err == nil {
		return // sent already
	}
	figs, err := a.Hold.Figures(ctx, from, until, a.Cfg.Hold.FastApproval.D())
	if err != nil {
		a.Log.Error("approval figures failed", zap.Error(err))
		return
	}
	n, ok := a.Notify.FiguresDigest(figs, a.Cfg.Hold.FastApproval.D(), from, until)
	if !ok {
		return
	}
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Message(id); err == nil {
			return store.ErrExists
		}
		return hold.EnqueueNoticeID(tx, now, id, n)
	})
	switch {
	case errors.Is(err, store.ErrExists):
	case err != nil:
		a.Log.Error("approval figures digest failed", zap.Error(err))
	default:
		a.Log.Info("approval figures digest queued", zap.String("msg_id", id))
		a.Queue.Kick()
	}
}
