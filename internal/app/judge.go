package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/allowlist"
	"github.com/egressguard/egressguard/internal/config"
	"github.com/egressguard/egressguard/internal/correspondents"
	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/intake"
	"github.com/egressguard/egressguard/internal/lookalike"
	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/policy"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// Judge is inspection plus policy: the one engine behind serve and the
// check command.
type Judge struct {
	engine atomic.Pointer[policy.Engine]
	lists  atomic.Pointer[listsBox]
	limits message.Limits
	now    func() time.Time
	hits   func(*verdict.Verdict) // counts rule hits (serve); nil: not counted
}

// listsBox lets an interface value live in an atomic.Pointer. It is what
// the engine gets as its Lists: the allowlist, and the correspondents
// record when there is one (first contact, and more trusted domains for
// the look-alike check).
type listsBox struct {
	policy.Lists
	corr *correspondents.Service
}

// LookalikeIndexes implements policy.LookalikeSource.
func (b *listsBox) LookalikeIndexes() []*lookalike.Index {
	var out []*lookalike.Index
	if src, ok := b.Lists.(policy.LookalikeSource); ok {
		out = src.LookalikeIndexes()
	}
	if b.corr != nil {
		out = append(out, b.corr.LookalikeIndex())
	}
	return out
}

// Contacted implements policy.Correspondents; without a record nobody is
// known.
func (b *listsBox) Contacted(sender, rcpt string, now time.Time) (bool, bool) {
	if b.corr == nil {
		return false, false
	}
	return b.corr.Contacted(sender, rcpt, now)
}

// ContactedDomain implements policy.Correspondents.
func (b *listsBox) ContactedDomain(rcpt string, now time.Time) bool {
	return b.corr != nil && b.corr.ContactedDomain(rcpt, now)
}

// NewJudge builds the judge from cfg.
func NewJudge(cfg *config.Config, now func() time.Time) (*Judge, error) {
	engine, err := PolicyEngine(cfg)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	lists, err := policy.NewStaticList(cfg.Policy.Allow)
	if err != nil {
		return nil, fmt.Errorf("policy.allow: %w", err)
	}
	j := &Judge{
		limits: message.Limits{
			MaxDepth:       cfg.Inspect.MaxDepth,
			MaxParts:       cfg.Inspect.MaxParts,
			MaxDecodedSize: int64(cfg.Inspect.MaxDecodedSize),
			MaxTime:        cfg.Inspect.MaxTime.D(),

			MaxArchiveDepth:     cfg.Inspect.MaxArchiveDepth,
			MaxArchiveEntries:   cfg.Inspect.MaxArchiveEntries,
			MaxCompressionRatio: cfg.Inspect.MaxCompressionRatio,
		},
		now: now,
	}
	j.engine.Store(engine)
	j.lists.Store(&listsBox{Lists: lists})
	return j, nil
}

// liveJudge builds the judge with the live allowlist: the store's entries
// and the config file's, as an admin edits them at run time, and the
// correspondents record. serve and check both judge through it.
func liveJudge(cfg *config.Config, st store.Store, log *zap.Logger, now func() time.Time) (*Judge, *allowlist.Service, error) {
	j, err := NewJudge(cfg, now)
	if err != nil {
		return nil, nil, err
	}
	allow, err := allowlist.New(st, cfg.Policy.Allow, log, allowlist.Options{Now: now})
	if err != nil {
		return nil, nil, err
	}
	j.SetLists(allow)
	corr := correspondents.New(st, log, correspondents.Options{
		MinMessages: cfg.Policy.Lookalike.CorrespondentMinMessages,
		Internal:    func(addr string) bool { return j.Engine().IsInternal(addr) },
		Now:         now,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := corr.Load(ctx); err != nil {
		return nil, nil, fmt.Errorf("correspondents: %w", err)
	}
	j.SetCorrespondents(corr)
	return j, allow, nil
}

// CheckJudge builds the judge of the check command: the one serve uses,
// with the live allowlist from the configured store, so that check and
// serve give the same verdict. The store is opened only if it exists (a
// dry run creates no database); when it cannot be opened the judge uses
// the config file's allowlist alone and note says so, for the command to
// warn that serve may decide otherwise. done releases the store.
func CheckJudge(cfg *config.Config, log *zap.Logger, now func() time.Time) (j *Judge, note string, done func() error, err error) {
	done = func() error { return nil }
	st, serr := openExistingStore(cfg, log)
	if serr == nil {
		j, _, err = liveJudge(cfg, st, log, now)
		if err == nil {
			return j, "", st.Close, nil
		}
		st.Close()
		serr = err
	}
	j, err = NewJudge(cfg, now)
	if err != nil {
		return nil, "", done, err
	}
	return j, "the store's allowlist is not available (" + serr.Error() + "); only the config file's entries were used, so serve may decide otherwise", done, nil
}

// openExistingStore opens the configured store without creating one.
func openExistingStore(cfg *config.Config, log *zap.Logger) (store.Store, error) {
	if cfg.Store.Driver == "sqlite" {
		if _, err := os.Stat(cfg.Path(cfg.Store.Path)); errors.Is(err, fs.ErrNotExist) {
			return nil, errors.New("no database at " + cfg.Path(cfg.Store.Path))
		}
	}
	return OpenStore(cfg, log)
}

// SetLists replaces the allowlist used for the next message.
func (j *Judge) SetLists(l policy.Lists) {
	j.lists.Store(&listsBox{Lists: l, corr: j.lists.Load().corr})
}

// Correspondents returns the correspondents record the judge reads (nil
// without one).
func (j *Judge) Correspondents() *correspondents.Service { return j.lists.Load().corr }

// SetCorrespondents gives the engine the correspondents record.
func (j *Judge) SetCorrespondents(c *correspondents.Service) {
	j.lists.Store(&listsBox{Lists: j.lists.Load().Lists, corr: c})
}

// SetEngine replaces the rules used for the next message (config reload).
func (j *Judge) SetEngine(e *policy.Engine) { j.engine.Store(e) }

// Engine returns the current policy engine.
func (j *Judge) Engine() *policy.Engine { return j.engine.Load() }

// Judge implements intake.Judge. It never fails open: a panic anywhere in
// inspection or policy holds the message.
func (j *Judge) Judge(env *envelope.Envelope, data []byte) (out intake.Judgement) {
	defer func() {
		if r := recover(); r != nil {
			v := &verdict.Verdict{Action: verdict.Hold, Reasons: []verdict.Reason{{
				Rule: "builtin:internal-error", Action: verdict.Hold,
				Detail:   "The guard could not inspect this message; an officer must review it.",
				DetailEN: "The guard could not inspect this message; an officer must review it.",
				DetailJA: "このメールを検査できませんでした。担当者の確認が必要です。",
			}}}
			out = intake.Judgement{Action: verdict.Hold, Verdict: v, Rules: []string{"builtin:internal-error"}}
		}
	}()
	facts := message.Inspect(data, j.limits)
	engine := j.engine.Load()
	v := engine.Evaluate(env, facts, j.lists.Load(), j.now())
	rewritten := applyBcc(engine, v, data)
	if j.hits != nil {
		j.hits(v)
	}
	out = intake.Judgement{Action: v.Action, Verdict: v, Subject: facts.Subject, HeaderFrom: facts.From, MessageID: facts.MessageID,
		Delay: v.Delay(), Data: rewritten}
	out.Rules = v.Rules()
	if v.Splittable() {
		out.Immediate = make([]bool, len(v.Recipients))
		for i := range v.Recipients {
			out.Immediate[i] = v.Immediate(i)
		}
	}
	for _, a := range facts.Attachments {
		if len(out.Attachments) == maxFound {
			break
		}
		if a.Filename != "" {
			out.Attachments = append(out.Attachments, a.Filename)
		}
	}
	seen := map[string]bool{}
	for _, l := range facts.Links {
		if len(out.Links) == maxFound {
			break
		}
		if !seen[l.URL] {
			seen[l.URL] = true
			out.Links = append(out.Links, l.URL)
		}
	}
	return out
}

// maxFound bounds the attachments and links listed in a judgement.
const maxFound = 30

// BuiltinBccProblemRule names the reason the judge adds when the bcc
// action cannot rewrite the header.
const BuiltinBccProblemRule = "builtin:bcc-not-applied"

// applyBcc carries out the bcc action of a verdict: the external
// addresses visible in To and Cc are taken out of the header (they remain
// envelope recipients). It records the change in the verdict and returns
// the new bytes, or nil when nothing changed. A header it cannot rewrite
// holds the message: the exposure the rule is about would otherwise go
// out as it is.
func applyBcc(engine *policy.Engine, v *verdict.Verdict, data []byte) []byte {
	if v.Bcc == nil || v.Action == verdict.Reject {
		return nil
	}
	rw, err := message.MoveToBcc(data, engine.IsInternal)
	if err != nil {
		v.Bcc.Problem = "To or Cc could not be parsed; nothing was moved"
		if v.Action.Max(verdict.Hold) == verdict.Hold {
			v.Action = verdict.Hold
			for i := range v.Recipients {
				v.Recipients[i].Action = v.Recipients[i].Action.Max(verdict.Hold)
			}
		}
		v.Reasons = append(v.Reasons, verdict.Reason{Rule: BuiltinBccProblemRule, Action: verdict.Hold,
			Detail:  "External addresses should have been moved to Bcc, but the To/Cc header could not be read; an officer must review the message.",
			Matched: err.Error()})
		return nil
	}
	v.Bcc.Applied = true
	v.Bcc.Moved = rw.Moved
	v.Bcc.Undisclosed = rw.Undisclosed
	if len(rw.Moved) == 0 {
		return nil
	}
	return rw.Data
}
