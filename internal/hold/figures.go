package hold

import (
	"context"
	"slices"
	"time"

	"github.com/egressguard/egressguard/internal/store"
)

// Figures are one officer's decisions in a period: how many, how many
// approved, how long they took from first opening the message, and how
// many approvals came within seconds of opening it (a sign of approving
// without reading).
type Figures struct {
	Officer      string        `json:"officer"`
	Decisions    int           `json:"decisions"` // approvals and rejections
	Approvals    int           `json:"approvals"`
	Rejections   int           `json:"rejections"`
	NearMisses   int           `json:"near_misses"`
	ApprovalRate float64       `json:"approval_rate"` // approvals / decisions, 0..1
	MedianDecide time.Duration `json:"median_decide_ns"`
	// Timed is how many decisions had a recorded opening (the median is
	// over those).
	Timed int `json:"timed"`
	// FastApprovals are approvals given within the fast threshold of
	// the officer first opening the message.
	FastApprovals int `json:"fast_approvals"`
}

// openLookback is how long before the period an opening may lie and
// still count for a decision in it.
const openLookback = 30 * 24 * time.Hour

// Figures returns every officer's figures for decisions at or after
// since and before until (zero: no end), ordered by officer name. fast
// is the fast-approval threshold.
func (s *Service) Figures(ctx context.Context, since, until time.Time, fast time.Duration) ([]Figures, error) {
	opens, err := s.st.DecisionsSince(ctx, DecisionOpen, since.Add(-openLookback))
	if err != nil {
		return nil, err
	}
	type key struct{ msg, actor string }
	opened := map[key]time.Time{}
	for _, o := range opens {
		k := key{o.MsgID, o.Actor}
		if t, ok := opened[k]; !ok || o.At.Before(t) {
			opened[k] = o.At
		}
	}
	by := map[string]*Figures{}
	waits := map[string][]time.Duration{}
	for _, kind := range []string{store.DecisionApprove, store.DecisionReject} {
		ds, err := s.st.DecisionsSince(ctx, kind, since)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if !until.IsZero() && !d.At.Before(until) {
				continue
			}
			f := by[d.Actor]
			if f == nil {
				f = &Figures{Officer: d.Actor}
				by[d.Actor] = f
			}
			f.Decisions++
			if kind == store.DecisionApprove {
				f.Approvals++
			} else {
				f.Rejections++
				if d.NearMiss {
					f.NearMisses++
				}
			}
			if at, ok := opened[key{d.MsgID, d.Actor}]; ok && !d.At.Before(at) {
				w := d.At.Sub(at)
				waits[d.Actor] = append(waits[d.Actor], w)
				f.Timed++
				if kind == store.DecisionApprove && w < fast {
					f.FastApprovals++
				}
			}
		}
	}
	out := make([]Figures, 0, len(by))
	for name, f := range by {
		if f.Decisions > 0 {
			f.ApprovalRate = float64(f.Approvals) / float64(f.Decisions)
		}
		if w := waits[name]; len(w) > 0 {
			slices.Sort(w)
			if len(w)%2 == 1 {
				f.MedianDecide = w[len(w)/2]
			} else {
				f.MedianDecide = (w[len(w)/2-1] + w[len(w)/2]) / 2
			}
		}
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b Figures) int {
		switch {
		case a.Officer < b.Officer:
			return -1
		case a.Officer > b.Officer:
			return 1
		}
		return 0
	})
	return out, nil
}
