package app

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
	"github.com/egressguard/egressguard/internal/version"
)

// holdMetrics are the metrics of the review queue: what waits, what was
// decided and how, per rule and per officer. Operators alert on them
// (deploy/prometheus/alerts.yml).
type holdMetrics struct {
	decisions   *prometheus.CounterVec
	nearMisses  prometheus.Counter
	expired     prometheus.Counter
	escalations prometheus.Counter
	officer     *prometheus.CounterVec
	fast        *prometheus.CounterVec
	openToDec   *prometheus.HistogramVec
	heldToDec   *prometheus.HistogramVec
	ruleHits    *prometheus.CounterVec
	webhookFail *prometheus.CounterVec
	fastWithin  time.Duration
}

func newHoldMetrics(reg prometheus.Registerer, st store.Store, now func() time.Time, fastWithin time.Duration) *holdMetrics {
	m := &holdMetrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "egressguard_hold_decisions_total",
			Help: "Decisions on held mail by kind (approve, reject, withdraw, expire).",
		}, []string{"kind"}),
		nearMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "egressguard_near_misses_total",
			Help: "Rejections marked as near misses (a misdirection caught).",
		}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "egressguard_held_expired_total",
			Help: "Held messages that expired undecided (not sent).",
		}),
		escalations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "egressguard_hold_escalations_total",
			Help: "Held messages escalated to backup officers.",
		}),
		officer: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "egressguard_officer_decisions_total",
			Help: "Approvals and rejections per officer.",
		}, []string{"officer", "kind"}),
		fast: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "egressguard_officer_fast_approvals_total",
			Help: "Approvals given within hold.fast_approval of the officer first opening the message.",
		}, []string{"officer"}),
		openToDec: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "egressguard_decision_open_seconds",
			Help:    "Time from an officer first opening a held message to their decision.",
			Buckets: []float64{2, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"kind"}),
		heldToDec: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "egressguard_decision_wait_seconds",
			Help:    "Time from a message being held to its decision.",
			Buckets: []float64{60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 72 * 3600},
		}, []string{"kind"}),
		ruleHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "egressguard_rule_hits_total",
			Help: "Messages each rule matched, by the rule's action and mode (enforce, monitor).",
		}, []string{"rule", "action", "mode"}),
		webhookFail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "egressguard_webhook_failures_total",
			Help: "Webhook events not delivered: failed after retries, or dropped with the queue full.",
		}, []string{"reason"}),
		fastWithin: fastWithin,
	}
	for _, k := range []string{store.DecisionApprove, store.DecisionReject, store.DecisionWithdraw, store.DecisionExpire} {
		m.decisions.WithLabelValues(k)
	}
	for _, r := range []string{"failed", "dropped"} {
		m.webhookFail.WithLabelValues(r)
	}
	v := version.Get()
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "egressguard_build_info",
		Help: "The running build: version, commit and Go version (value 1).",
	}, []string{"version", "revision", "goversion"})
	build.WithLabelValues(v.Version, v.Revision, v.Go).Set(1)
	held := &heldCollector{st: st, now: now,
		count: prometheus.NewDesc("egressguard_held_messages", "Messages held now, waiting for a decision.", nil, nil),
		age:   prometheus.NewDesc("egressguard_held_oldest_age_seconds", "Age of the oldest held message (0 when none).", nil, nil),
		up:    prometheus.NewDesc("egressguard_held_scrape_ok", "1 if the held-queue figures could be read from the store.", nil, nil),
	}
	reg.MustRegister(m.decisions, m.nearMisses, m.expired, m.escalations, m.officer, m.fast, m.openToDec, m.heldToDec,
		m.ruleHits, m.webhookFail, build, held)
	return m
}

// observe implements hold.Config.Observe.
func (m *holdMetrics) observe(o hold.Observation) {
	switch o.Kind {
	case hold.DecisionEscalate:
		m.escalations.Inc()
		return
	case store.DecisionExpire:
		m.expired.Inc()
	}
	m.decisions.WithLabelValues(o.Kind).Inc()
	if o.NearMiss {
		m.nearMisses.Inc()
	}
	m.heldToDec.WithLabelValues(o.Kind).Observe(o.SinceHeld.Seconds())
	if o.Kind != store.DecisionApprove && o.Kind != store.DecisionReject {
		return
	}
	m.officer.WithLabelValues(o.Actor, o.Kind).Inc()
	if o.SinceOpen > 0 {
		m.openToDec.WithLabelValues(o.Kind).Observe(o.SinceOpen.Seconds())
		if o.Kind == store.DecisionApprove && o.SinceOpen < m.fastWithin {
			m.fast.WithLabelValues(o.Actor).Inc()
		}
	}
}

// hits counts the rules of a verdict.
func (m *holdMetrics) hits(v *verdict.Verdict) {
	for _, r := range v.Reasons {
		mode := "enforce"
		if r.Monitor {
			mode = "monitor"
		}
		m.ruleHits.WithLabelValues(r.Rule, string(r.Action), mode).Inc()
	}
}

// heldCollector reads the held queue from the store when scraped, at
// most every heldMaxAge, so that frequent scrapes do not load the store.
// With several instances on one store every instance reports the same
// queue: aggregate with max(), not sum().
type heldCollector struct {
	st              store.Store
	now             func() time.Time
	count, age, up  *prometheus.Desc
	mu              sync.Mutex
	at              time.Time
	n, oldest, okay float64
}

const heldMaxAge = 5 * time.Second

func (h *heldCollector) Describe(ch chan<- *prometheus.Desc) { ch <- h.count; ch <- h.age; ch <- h.up }

func (h *heldCollector) Collect(ch chan<- prometheus.Metric) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if time.Since(h.at) >= heldMaxAge {
		h.refresh()
	}
	ch <- prometheus.MustNewConstMetric(h.count, prometheus.GaugeValue, h.n)
	ch <- prometheus.MustNewConstMetric(h.age, prometheus.GaugeValue, h.oldest)
	ch <- prometheus.MustNewConstMetric(h.up, prometheus.GaugeValue, h.okay)
}

func (h *heldCollector) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.okay = 0
	counts, err := h.st.Count(ctx)
	if err != nil {
		return
	}
	oldest, err := h.st.List(ctx, store.Filter{States: []store.State{store.Held}, Ascending: true, Limit: 1})
	if err != nil {
		return
	}
	h.n, h.oldest, h.okay = float64(counts[store.Held]), 0, 1
	if len(oldest) == 1 {
		h.oldest = max(0, h.now().Sub(oldest[0].Received).Seconds())
	}
	h.at = time.Now()
}
