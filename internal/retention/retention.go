// Package retention destroys what the guard no longer needs to keep: the
// bytes of delivered and bounced mail, the bytes of rejected, expired and
// withdrawn mail after a grace period, and audit entries older than the
// audit retention. The records about a message (envelope, verdict,
// decisions) stay; each purge is itself an audit entry.
//
// The SQLite store runs with secure_delete, so purged bytes are
// overwritten in the database file, not merely unlinked from it.
package retention

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

// Config says how long things are kept.
type Config struct {
	DeliveredBody time.Duration // bytes of delivered/bounced mail (0: at once)
	DecidedBody   time.Duration // bytes of rejected/expired/withdrawn mail, after the decision
	Audit         time.Duration // audit entries
	// Correspondents: the record of who received delivered mail, by the
	// last delivery (0: kept for ever).
	Correspondents time.Duration
	Interval       time.Duration // how often to purge
	Now            func() time.Time
}

// Delivered, Decided: the states each retention period applies to.
var (
	Delivered = []store.State{store.Delivered, store.Bounced}
	Decided   = []store.State{store.Rejected, store.Expired, store.Withdrawn}
)

// BodyGoneAt returns when the bytes of m are (or were) destroyed, or the
// zero time while that is not yet decided (held, queued).
func (c Config) BodyGoneAt(m *store.Message) time.Time {
	switch m.State {
	case store.Delivered, store.Bounced:
		return m.Updated.Add(c.DeliveredBody)
	case store.Rejected, store.Expired, store.Withdrawn:
		return m.Updated.Add(c.DecidedBody)
	}
	return time.Time{}
}

// Purger runs the purges.
type Purger struct {
	cfg Config
	st  store.Store
	log *zap.Logger
}

// New returns a Purger.
func New(cfg Config, st store.Store, log *zap.Logger) *Purger {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval == 0 {
		cfg.Interval = 10 * time.Minute
	}
	return &Purger{cfg: cfg, st: st, log: log.Named("retention")}
}

// Run purges every Interval until ctx ends.
func (p *Purger) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		if _, _, err := p.RunOnce(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("purge failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce purges everything due now and returns how many bodies and
// audit entries it removed.
func (p *Purger) RunOnce(ctx context.Context) (bodies, entries int, err error) {
	now := p.cfg.Now().UTC()
	for _, set := range []struct {
		states []store.State
		keep   time.Duration
		why    string
	}{
		{Delivered, p.cfg.DeliveredBody, "delivered"},
		{Decided, p.cfg.DecidedBody, "decided"},
	} {
		for {
			ids, err := p.st.Purgeable(ctx, set.states, now.Add(-set.keep), 200)
			if err != nil {
				return bodies, entries, err
			}
			if len(ids) == 0 {
				break
			}
			err = p.st.Update(ctx, func(tx store.Tx) error {
				for _, id := range ids {
					if err := tx.DeleteBody(id); err != nil {
						return err
					}
					if _, err := audit.Append(tx, now, audit.Event{Actor: "system", Action: audit.ActionMessagePurge, MsgID: id,
						Data: map[string]any{"reason": "retention:" + set.why}}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return bodies, entries, err
			}
			bodies += len(ids)
			if len(ids) < 200 {
				break
			}
		}
	}
	if p.cfg.Audit > 0 {
		if entries, err = p.purgeAudit(ctx, now); err != nil {
			return bodies, entries, err
		}
	}
	pairs := 0
	if p.cfg.Correspondents > 0 {
		if pairs, err = p.purgeCorrespondents(ctx, now); err != nil {
			return bodies, entries, err
		}
	}
	if bodies > 0 || entries > 0 || pairs > 0 {
		p.log.Info("purged", zap.Int("bodies", bodies), zap.Int("audit_entries", entries), zap.Int("correspondents", pairs))
	}
	return bodies, entries, nil
}

// purgeCorrespondents forgets the correspondents last mailed before the
// retention period, with an audit entry saying how many.
func (p *Purger) purgeCorrespondents(ctx context.Context, now time.Time) (int, error) {
	cut := now.Add(-p.cfg.Correspondents)
	n := 0
	err := p.st.Update(ctx, func(tx store.Tx) error {
		var err error
		if n, err = tx.PurgeCorrespondents(cut); err != nil || n == 0 {
			return err
		}
		_, err = audit.Append(tx, now, audit.Event{Actor: "system", Action: audit.ActionCorrespondentsPurge,
			Data: map[string]any{"before": cut.Format(time.RFC3339), "pairs": n}})
		return err
	})
	return n, err
}

// purgeAudit removes audit entries older than the audit retention.
// Entries go oldest first and without gaps, so the purge removes
// first..first+n-1; recording that range lets audit.Verify tell this purge
// from a deletion.
func (p *Purger) purgeAudit(ctx context.Context, now time.Time) (int, error) {
	cut := now.Add(-p.cfg.Audit)
	head, err := p.st.Audit(ctx, store.AuditFilter{Limit: 1})
	if err != nil || len(head) == 0 || !head[0].At.Before(cut) {
		return 0, err
	}
	first := head[0].Seq
	entries := 0
	err = p.st.Update(ctx, func(tx store.Tx) error {
		n, err := tx.PurgeAudit(cut)
		if err != nil || n == 0 {
			return err
		}
		entries = n
		_, err = audit.Append(tx, now, audit.Event{Actor: "system", Action: audit.ActionAuditPurge,
			Data: map[string]any{"before": cut.Format(time.RFC3339), "entries": n, "first_seq": first, "through_seq": first + int64(n) - 1}})
		return err
	})
	return entries, err
}
