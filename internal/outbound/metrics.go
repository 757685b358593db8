package outbound

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/egressguard/egressguard/internal/store"
)

type metrics struct {
	attempts  *prometheus.CounterVec
	delivered prometheus.Counter
	bounced   prometheus.Counter
	deferred  prometheus.Counter
	seconds   prometheus.Histogram
	notices   *prometheus.CounterVec
	takeovers prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, st store.Store) (*metrics, error) {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "egressguard_delivery_attempts_total",
			Help: "Delivery attempts by result (delivered, deferred, bounced, error: outcome not recorded).",
		}, []string{"result"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "egressguard_delivered_total",
			Help: "Messages delivered (every recipient finished, at least one accepted).",
		}),
		bounced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "egressguard_bounced_total",
			Help: "Messages bounced (every recipient failed permanently or the message expired).",
		}),
		deferred: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "egressguard_deferred_total",
			Help: "Attempts after which recipients remained to be retried.",
		}),
		notices: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "egressguard_notice_failures_total",
			Help: "Attempts to deliver the guard's own notices that failed (deferred: to be retried; bounced: given up).",
		}, []string{"result"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "egressguard_delivery_seconds",
			Help:    "Duration of delivery attempts.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		takeovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "egressguard_claims_taken_over_total",
			Help: "Claims of dead instances this instance returned to the queue.",
		}),
	}
	for _, r := range []string{resultDelivered, resultDeferred, resultBounced, resultError} {
		m.attempts.WithLabelValues(r)
	}
	for _, r := range []string{resultDeferred, resultBounced, resultError} {
		m.notices.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	depth := &depthCollector{st: st, desc: prometheus.NewDesc("egressguard_queue_depth",
		"Messages waiting for delivery (queued or being sent).", nil, nil)}
	for _, c := range []prometheus.Collector{m.attempts, m.delivered, m.bounced, m.deferred, m.seconds, m.notices, m.takeovers, depth} {
		if err := reg.Register(c); err != nil {
			return nil, errors.Join(errors.New("outbound: register metrics"), err)
		}
	}
	return m, nil
}

// observeNotice counts a failed attempt at one of the guard's own notices.
func (m *metrics) observeNotice(result string) {
	if result != resultDelivered {
		m.notices.WithLabelValues(result).Inc()
	}
}

func (m *metrics) observe(result string, d time.Duration) {
	m.attempts.WithLabelValues(result).Inc()
	m.seconds.Observe(d.Seconds())
	switch result {
	case resultDelivered:
		m.delivered.Inc()
	case resultBounced:
		m.bounced.Inc()
	case resultDeferred:
		m.deferred.Inc()
	}
}

// depthCollector reads the queue depth from the store when scraped, at
// most every depthMaxAge, so that frequent scrapes do not load the store.
type depthCollector struct {
	st   store.Store
	desc *prometheus.Desc

	mu    sync.Mutex
	at    time.Time
	value float64
}

const depthMaxAge = 5 * time.Second

func (d *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- d.desc }

func (d *depthCollector) Collect(ch chan<- prometheus.Metric) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if time.Since(d.at) >= depthMaxAge {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		counts, err := d.st.Count(ctx)
		cancel()
		if err == nil {
			d.value = float64(counts[store.Queued] + counts[store.Sending])
			d.at = time.Now()
		}
	}
	ch <- prometheus.MustNewConstMetric(d.desc, prometheus.GaugeValue, d.value)
}
