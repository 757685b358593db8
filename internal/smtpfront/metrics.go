package smtpfront

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Refusal reasons, the label values of egressguard_smtp_refused_total.
const (
	reasonAuthRequired = "auth_required" // MAIL without AUTH from outside the trusted networks
	reasonBadAuth      = "bad_auth"      // wrong user name or password
	reasonAuthLimit    = "auth_limit"    // too many failures from one client
	reasonTLSRequired  = "tls_required"  // AUTH before STARTTLS
	reasonSenderSpoof  = "sender_spoof"  // MAIL FROM not owned by the user
	reasonBadAddress   = "bad_address"   // address syntax
	reasonSize         = "size"          // message larger than the limit
	reasonRcptLimit    = "rcpt_limit"    // too many recipients
	reasonSmuggling    = "smuggling"     // bare CR/LF or a malformed end of data
	reasonPipelining   = "pipelining"    // data sent before 354
	reasonLineLength   = "line_length"   // line in DATA too long
	reasonConnLimit    = "conn_limit"    // too many connections, in total or per client
	reasonTimeout      = "timeout"       // command or data timeout
	reasonShutdown     = "shutdown"      // refused because the server is stopping
	reasonHeaderFrom   = "header_from"   // header From not an address of the user
	reasonLoop         = "too_many_hops" // more Received: fields than MaxHops
)

var allReasons = []string{
	reasonAuthRequired, reasonBadAuth, reasonAuthLimit, reasonTLSRequired,
	reasonSenderSpoof, reasonBadAddress, reasonSize, reasonRcptLimit,
	reasonSmuggling, reasonPipelining, reasonLineLength, reasonConnLimit,
	reasonTimeout, reasonShutdown, reasonHeaderFrom, reasonLoop,
}

type metrics struct {
	connections prometheus.Counter
	messages    *prometheus.CounterVec
	refused     *prometheus.CounterVec
	accept      prometheus.Histogram
	active      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "egressguard_smtp_connections_total",
			Help: "SMTP connections accepted, including those refused for a connection limit.",
		}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "egressguard_smtp_messages_total",
			Help: "Messages handed to the backend, by outcome (queued, held, rejected, tempfail).",
		}, []string{"result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "egressguard_smtp_refused_total",
			Help: "Commands, messages and connections refused by the SMTP front end, by reason.",
		}, []string{"reason"}),
		accept: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "egressguard_smtp_accept_seconds",
			Help:    "Time from the end of the message data to the reply (inspection and durable commit).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "egressguard_smtp_active_sessions",
			Help: "SMTP connections currently open.",
		}),
	}
	// Known label values start at zero, so that rate() works from the start.
	for _, r := range []string{resultQueued, resultHeld, resultRejected, resultTempfail} {
		m.messages.WithLabelValues(r)
	}
	for _, r := range allReasons {
		m.refused.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connections, m.messages, m.refused, m.accept, m.active} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("smtpfront: registering metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) refuse(reason string) { m.refused.WithLabelValues(reason).Inc() }
