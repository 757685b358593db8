// Package outbound delivers queued messages to the upstream smarthost (or,
// with no upstream configured, to a local outbox folder) and owns
// everything that happens after a message is queued: the scheduler, the
// SMTP client with its connection pool, retries with backoff, expiry and
// delivery status notifications (DSN, RFC 3464).
//
// Every attempt is claimed in the store before the first byte goes out
// (attempts+1, the claim's end as next_attempt), so a crash at any point
// costs at most one repeated attempt after the claim expires, never a retry
// storm. The outcome of an attempt, the new state, the deletion of the body
// of a finished message and any DSN it causes are written in one store
// transaction.
package outbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/store"
)

// TLS modes for Config.TLS.
const (
	TLSRequired      = "required"      // STARTTLS with a verified certificate, or no delivery
	TLSOpportunistic = "opportunistic" // STARTTLS when offered, certificate not verified
	TLSNone          = "none"          // never STARTTLS
)

var (
	// ErrConfig: the configuration cannot work; the message says why.
	ErrConfig = errors.New("outbound: bad configuration")
	// ErrRunning: Run was called a second time.
	ErrRunning = errors.New("outbound: Run called twice")
)

// Config configures a Queue. Zero durations and counts take the defaults
// named in their comments.
type Config struct {
	Upstream  string      // host:port of the smarthost; "" → write to OutboxDir instead
	OutboxDir string      // where outbox mode writes ID.eml and ID.json
	TLS       string      // "required" (default) | "opportunistic" | "none"
	TLSConfig *tls.Config // ServerName, RootCAs; nil: system roots, ServerName from Upstream
	AuthUser  string      // AUTH PLAIN user, "" for no AUTH
	AuthPass  string

	ConnectTimeout time.Duration // default 30s
	CommandTimeout time.Duration // per command reply; default 5m (RFC 5321)
	DataTimeout    time.Duration // sending the bytes, and again waiting for the final reply; default 10m

	Concurrency int           // max simultaneous upstream transactions; default 20
	MaxAge      time.Duration // default 5 days; older pending mail bounces
	BackoffMin  time.Duration // first retry delay; default 1m
	BackoffMax  time.Duration // cap of the exponential backoff; default 1h
	// Lease is the length of a claim. Claims are renewed every Lease/3
	// while their attempts run, and an attempt whose claim could not be
	// renewed is cut off before the claim ends, so no other instance can
	// take over a message that is still being sent. A short lease bounds
	// how long the mail of an instance that vanished without a trace
	// waits (with a shared store, the claims of a dead instance are
	// usually taken over sooner: see claims.go). Default 1m.
	Lease time.Duration
	// StopTimeout bounds how long Run waits for in-flight attempts after
	// its context ends before it cuts their connections; default 30s.
	StopTimeout time.Duration
	// KeepBodies leaves the bytes of delivered and bounced mail in the
	// store for the retention purger; by default they are deleted in the
	// same transaction that records the final state.
	KeepBodies bool
	// Delivered, if set, runs in the transaction that records an attempt,
	// with the recipients (indexes into m.Rcpts) the attempt delivered
	// to, so that what is learnt from a delivery commits with it (the
	// correspondents record). If it fails the outcome is recorded without
	// it: losing what was learnt is better than sending the message
	// again.
	Delivered func(tx store.Tx, m *store.Message, rcpts []int, at time.Time) error

	Hostname string           // EHLO name, DSN Reporting-MTA; default: the machine's host name
	Instance string           // owner id for claims (stable across restarts of one instance); required
	Now      func() time.Time // injected clock (nil = time.Now)
}

func (c *Config) setDefaults() error {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ConnectTimeout, 30*time.Second)
	def(&c.CommandTimeout, 5*time.Minute)
	def(&c.DataTimeout, 10*time.Minute)
	def(&c.MaxAge, 5*24*time.Hour)
	def(&c.BackoffMin, time.Minute)
	def(&c.BackoffMax, time.Hour)
	def(&c.Lease, time.Minute)
	def(&c.StopTimeout, 30*time.Second)
	if c.Concurrency <= 0 {
		c.Concurrency = 20
	}
	if c.TLS == "" {
		c.TLS = TLSRequired
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Hostname == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		c.Hostname = h
	}

	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	switch c.TLS {
	case TLSRequired, TLSOpportunistic, TLSNone:
	default:
		bad("TLS %q: want required, opportunistic or none", c.TLS)
	}
	if c.Upstream == "" {
		if c.OutboxDir == "" {
			bad("neither Upstream nor OutboxDir is set")
		}
	} else if _, _, err := net.SplitHostPort(c.Upstream); err != nil {
		bad("Upstream %q: want host:port", c.Upstream)
	}
	if c.Instance == "" {
		bad("Instance is empty")
	}
	if c.BackoffMax < c.BackoffMin {
		bad("BackoffMax %v is less than BackoffMin %v", c.BackoffMax, c.BackoffMin)
	}
	if c.Lease < MinLease {
		bad("Lease %v is shorter than %v", c.Lease, MinLease)
	}
	return errors.Join(errs...)
}

// MinLease is the shortest claim Config.Lease may set. Renewed every
// third of it, a claim must survive a store write that is slow for a few
// seconds.
const MinLease = 3 * time.Second

// MaxAttempt is the longest one attempt may take with the given timeouts:
// connect, EHLO, STARTTLS and AUTH, MAIL, each RCPT, DATA, the bytes and
// the final reply. Past it the attempt is cut off, claim or no claim, so
// that an upstream that trickles answers cannot keep a message claimed
// for ever.
func MaxAttempt(connect, command, data time.Duration, rcpts int) time.Duration {
	return connect + command*time.Duration(5+rcpts) + 2*data
}

// Queue schedules and runs delivery attempts.
type Queue struct {
	cfg Config
	st  store.Store
	log *zap.Logger
	met *metrics

	// slots holds one token per attempt in progress (or reserved by
	// TryClaim); its capacity is Config.Concurrency.
	slots chan struct{}
	// streams bounds the attempts that stream a large body from the store
	// at once: each reads chunk after chunk, and many at once would fill
	// memory with chunks the collector has not yet returned.
	streams chan struct{}
	kick    chan struct{}
	wg      sync.WaitGroup // attempts in progress, including reserved slots

	// hardCtx is cancelled when Run gives up waiting at stop; attempts
	// then lose their connections and finish at once.
	hardCtx    context.Context
	hardCancel context.CancelFunc

	pool *pool

	fl      flights       // attempts in progress, for claim renewal
	cluster store.Cluster // nil unless the store is shared

	mu       sync.Mutex
	running  bool
	stopping bool
	ran      bool

	// passes counts the scheduler's completed passes, so that a test can
	// wait for the point where something would have been claimed.
	passes atomic.Int64
}

// New checks cfg and returns a Queue; metrics are registered on reg (nil:
// not registered).
func New(cfg Config, st store.Store, log *zap.Logger, reg prometheus.Registerer) (*Queue, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if cfg.Upstream == "" {
		if err := os.MkdirAll(cfg.OutboxDir, 0o750); err != nil {
			return nil, fmt.Errorf("outbound: outbox: %w", err)
		}
	}
	met, err := newMetrics(reg, st)
	if err != nil {
		return nil, err
	}
	q := &Queue{
		cfg:     cfg,
		st:      st,
		log:     log.Named("outbound"),
		met:     met,
		slots:   make(chan struct{}, cfg.Concurrency),
		streams: make(chan struct{}, maxStreams),
		kick:    make(chan struct{}, 1),
	}
	q.hardCtx, q.hardCancel = context.WithCancel(context.Background())
	q.pool = newPool(cfg.Concurrency)
	if cl, ok := store.ClusterOf(st); ok {
		q.cluster = cl
		if reg != nil {
			if err := reg.Register(newClusterCollector(cl)); err != nil {
				return nil, fmt.Errorf("outbound: register metrics: %w", err)
			}
		}
	}
	return q, nil
}

// storeTimeout bounds one store operation of the queue. Store writes use
// their own context, not Run's, so that the outcome of an attempt is
// recorded even while stopping.
const storeTimeout = 30 * time.Second

// Polling bounds of the scheduler. pollMax makes the loop notice work it
// was not told about (another instance's expired claims, a store that
// recovered) and close idle connections.
const (
	pollMin = 100 * time.Millisecond
	pollMax = 30 * time.Second
)

// Run is the scheduler. It returns claims this instance left behind to the
// queue, then claims due messages and delivers them, at most
// Config.Concurrency at a time, until ctx ends. It then stops claiming,
// waits up to StopTimeout for attempts in progress (after that it cuts
// their connections; they are recorded as deferred and retried after the
// next start) and returns.
func (q *Queue) Run(ctx context.Context) error {
	q.mu.Lock()
	if q.ran {
		q.mu.Unlock()
		return ErrRunning
	}
	q.ran = true
	q.mu.Unlock()

	// The store may be unreachable at start (a PostgreSQL restart): keep
	// trying rather than give up delivery for the life of the process.
	n, err := q.releaseOwner()
	for wait := time.Second; err != nil; wait = min(2*wait, 30*time.Second) {
		q.log.Error("cannot return this instance's claims to the queue; retrying",
			zap.String("instance", q.cfg.Instance), zap.Duration("retry_in", wait), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		n, err = q.releaseOwner()
	}
	if n > 0 {
		q.log.Info("claims returned to queue", zap.String("instance", q.cfg.Instance), zap.Int("count", n))
	}

	q.mu.Lock()
	q.running = true
	q.mu.Unlock()

	// Renewal and takeover run until the last attempt has finished.
	bg, bgCancel := context.WithCancel(context.Background())
	var bgwg sync.WaitGroup
	bgwg.Add(1)
	go func() { defer bgwg.Done(); q.renewLoop(bg) }()
	if q.cluster != nil {
		bgwg.Add(1)
		go func() { defer bgwg.Done(); q.reapLoop(ctx, q.cluster) }()
	}
	defer func() { bgCancel(); bgwg.Wait() }()

	timer := time.NewTimer(0)
	defer timer.Stop()
	for ctx.Err() == nil {
		wait := q.schedule()
		q.passes.Add(1)
		q.pool.prune(time.Now())
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-q.kick:
		case <-timer.C:
		}
	}

	q.mu.Lock()
	q.stopping = true
	q.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				q.log.Error("panic while stopping", zap.Any("panic", r))
			}
		}()
		q.wg.Wait()
	}()
	stop := time.NewTimer(q.cfg.StopTimeout)
	defer stop.Stop()
	select {
	case <-done:
	case <-stop.C:
		q.log.Warn("stop timeout: cutting connections of attempts in progress")
		q.hardCancel()
		q.pool.closeAll()
		<-done
	}
	q.hardCancel()
	q.pool.closeAll()
	// Connections retired in the background say goodbye before Run
	// returns (each within a second).
	q.pool.wait()
	q.mu.Lock()
	q.running = false
	q.mu.Unlock()
	return nil
}

func (q *Queue) releaseOwner() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	var n int
	err := q.st.Update(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.ReleaseOwner(q.cfg.Instance, q.cfg.Now())
		return err
	})
	return n, err
}

// schedule starts attempts for due messages while slots are free and
// returns how long to sleep unless kicked.
func (q *Queue) schedule() time.Duration {
	for {
		next, err := q.nextDue()
		if err != nil {
			q.log.Error("next due", zap.Error(err))
			return 5 * time.Second
		}
		if next.IsZero() {
			return pollMax
		}
		if d := next.Sub(q.cfg.Now()); d > 0 {
			return min(max(d, pollMin), pollMax)
		}
		if q.cluster != nil && !q.cluster.Joined() {
			// The others may consider this instance dead and take over
			// what it claims: claim nothing until it is back.
			return time.Second
		}
		// Something is due. Slots are reserved only now, and only for the
		// claim's transaction: while they are held, TryClaim of the fast
		// path finds none free.
		taken, claimed, err := q.claimAndStart()
		switch {
		case err != nil:
			q.log.Error("claim due messages", zap.Error(err))
			return 5 * time.Second
		case taken == 0:
			// Every slot is busy: a finishing attempt kicks us.
			return pollMax
		case claimed == 0:
			// Due, yet nothing claimable: another instance got there
			// first. Look again soon.
			return pollMin
		}
	}
}

func (q *Queue) nextDue() (time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	return q.st.NextDue(ctx)
}

// claimAndStart claims as many due messages as there are free slots and
// starts an attempt for each. It returns the number of slots it could
// reserve and the number of messages it claimed.
func (q *Queue) claimAndStart() (taken, claimed int, err error) {
	n := 0
reserve:
	for n < cap(q.slots) {
		select {
		case q.slots <- struct{}{}:
			n++
		default:
			break reserve
		}
	}
	if n == 0 {
		return 0, 0, nil
	}
	q.wg.Add(n)
	now := q.cfg.Now()
	var ms []*store.Message
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	err = q.st.Update(ctx, func(tx store.Tx) error {
		var err error
		ms, err = tx.ClaimDue(now, q.cfg.Instance, now.Add(q.cfg.Lease), n)
		return err
	})
	cancel()
	if err != nil {
		ms = nil
	}
	for i := len(ms); i < n; i++ {
		<-q.slots
		q.wg.Done()
	}
	for _, m := range ms {
		go q.runClaimed(m)
	}
	return n, len(ms), err
}

// Kick tells the scheduler that a message may have become due (queued by
// an approval, or a DSN was inserted).
func (q *Queue) Kick() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// TryClaim is the fast path for a message that was just accepted: if a
// delivery slot is free and the queue is running, it reserves the slot and
// makes m a claim of this instance for its first attempt (State Sending,
// Owner, Attempts+1, NextAttempt = now+Lease) and returns true. The caller
// then commits m with InsertMessage and calls Deliver, or Release if the
// commit failed. With false, m is untouched and the caller stores it
// Queued for the scheduler.
func (q *Queue) TryClaim(m *store.Message) bool {
	q.mu.Lock()
	if !q.running || q.stopping || (q.cluster != nil && !q.cluster.Joined()) {
		q.mu.Unlock()
		return false
	}
	select {
	case q.slots <- struct{}{}:
	default:
		q.mu.Unlock()
		return false
	}
	q.wg.Add(1)
	q.mu.Unlock()

	now := q.cfg.Now()
	m.State = store.Sending
	m.Owner = q.cfg.Instance
	m.Attempts++
	m.NextAttempt = now.Add(q.cfg.Lease)
	m.Updated = now
	return true
}

// Deliver starts the attempt for a message claimed with TryClaim and
// committed, with its bytes in memory, and returns at once. The queue owns
// m and body from then on; the slot is released when the attempt ends.
func (q *Queue) Deliver(m *store.Message, body []byte) {
	go func() {
		s := &slot{q: q, held: true}
		defer q.wg.Done()
		defer s.free()
		defer q.recoverAttempt(m)
		q.attempt(m, memBody(body), s)
	}()
}

// Release gives back a slot reserved by TryClaim whose message was not
// committed.
func (q *Queue) Release() {
	<-q.slots
	q.wg.Done()
	q.Kick()
}

// slot is the delivery slot of one attempt. It is freed as soon as the
// upstream transaction is over, before the outcome is committed: the slot
// limits upstream transactions, and the commit (an fsync, shared with
// other commits) would otherwise hold it for longer than the transaction
// itself. Run still waits for the commit through the WaitGroup.
type slot struct {
	q    *Queue
	held bool
}

func (s *slot) free() {
	if s.held {
		s.held = false
		<-s.q.slots
		s.q.Kick()
	}
}

func (q *Queue) runClaimed(m *store.Message) {
	s := &slot{q: q, held: true}
	defer q.wg.Done()
	defer s.free()
	defer q.recoverAttempt(m)
	if m.Size > streamAbove {
		// Large bodies are streamed from the store, chunk by chunk, for
		// each try (and their start read again if a DSN returns it). A few
		// at a time: waiting for a turn is bounded by the claim's lease,
		// and one that does not get it in time is retried later.
		t := time.NewTimer(q.cfg.Lease / 3)
		select {
		case q.streams <- struct{}{}:
			t.Stop()
		case <-t.C:
			s.free()
			q.attemptWithoutBody(m, errors.New("outbound: waiting for a turn to stream a large message"))
			return
		case <-q.hardCtx.Done():
			t.Stop()
			s.free()
			q.attemptWithoutBody(m, q.hardCtx.Err())
			return
		}
		defer func() { <-q.streams }()
		body, err := q.streamedBody(m)
		if err != nil {
			s.free()
			q.attemptWithoutBody(m, err)
			return
		}
		q.attempt(m, body, s)
		return
	}
	// The body is in memory until the attempt ends: at most streamAbove
	// bytes per delivery slot, so delivery takes nothing of the SMTP
	// side's memory budget (which a stuck upstream would otherwise hold).
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	body, err := q.st.Body(ctx, m.ID)
	cancel()
	if err != nil {
		s.free()
		q.attemptWithoutBody(m, err)
		return
	}
	q.attempt(m, memBody(body), s)
}

// streamedBody returns m's body as one read afresh from the store for
// each try. Opening it here finds a body that is gone (a permanent
// failure) before anything is sent.
func (q *Queue) streamedBody(m *store.Message) (*msgBody, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	r, err := q.st.OpenBody(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	r.Close()
	id := m.ID
	return &msgBody{size: m.Size, open: func(ctx context.Context) (io.ReadCloser, error) {
		return q.st.OpenBody(ctx, id)
	}}, nil
}

// recoverAttempt keeps a panic in one attempt from taking the process
// down. The message stays claimed and is retried when the claim expires.
func (q *Queue) recoverAttempt(m *store.Message) {
	if r := recover(); r != nil {
		q.met.attempts.WithLabelValues(resultError).Inc()
		q.log.Error("panic in delivery attempt", zap.String("msg_id", m.ID),
			zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
	}
}
