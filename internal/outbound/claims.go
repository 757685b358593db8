package outbound

import (
	"context"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

// Claims and their owners.
//
// A claim is a lease: the message is the owner's until NextAttempt. While
// an attempt runs, the queue renews the claims of all its attempts every
// Lease/3, so the lease can be short (a minute by default) without
// shortening any SMTP timeout. An attempt whose claim could not be renewed
// is cut off before the claim ends, and one whose claim was taken away
// (released as the claim of a dead instance) at once: in either case
// another instance may already be sending the message.
//
// With a shared store (store.Cluster), a live instance also takes over the
// claims of dead ones at once, rather than when their leases end: every
// reapEvery, and whenever the store wakes it, it lists the instances and
// returns the claims of those that are not alive to the queue.

// reapEvery is how often the claims of dead instances are looked for.
// reapGrace is how long an instance must have been seen dead before its
// claims are taken: longer than a live instance takes to re-join after a
// database restart or a short network cut (instance.go retries within
// 4 s), so that those are not taken for deaths.
const (
	reapEvery = 2 * time.Second
	reapGrace = 10 * time.Second
)

// flight is one attempt in progress, for renewal.
type flight struct {
	cancel context.CancelFunc
	until  time.Time // the claim is known to be ours until then
}

type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

// track registers the attempt of a claim that lasts until until; the
// attempt's context is cancelled if the claim is lost. The returned
// function unregisters it.
func (q *Queue) track(id string, until time.Time, cancel context.CancelFunc) func() {
	q.fl.mu.Lock()
	if q.fl.m == nil {
		q.fl.m = map[string]*flight{}
	}
	q.fl.m[id] = &flight{cancel: cancel, until: until}
	q.fl.mu.Unlock()
	return func() {
		q.fl.mu.Lock()
		delete(q.fl.m, id)
		q.fl.mu.Unlock()
	}
}

// renewEvery is the renewal period for a lease.
func renewEvery(lease time.Duration) time.Duration { return max(lease/3, 100*time.Millisecond) }

// renewLoop renews the claims of the attempts in progress until ctx ends.
func (q *Queue) renewLoop(ctx context.Context) {
	defer func() {
		if r := recover(); r != nil {
			q.log.Error("panic in claim renewal", zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
		}
	}()
	t := time.NewTicker(renewEvery(q.cfg.Lease))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			q.renew()
		}
	}
}

// renew extends the claims of every attempt in progress by one lease.
func (q *Queue) renew() {
	q.fl.mu.Lock()
	ids := make([]string, 0, len(q.fl.m))
	for id := range q.fl.m {
		ids = append(ids, id)
	}
	q.fl.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	now := q.cfg.Now()
	until := now.Add(q.cfg.Lease)
	var renewed []string
	ctx, cancel := context.WithTimeout(context.Background(), min(storeTimeout, q.cfg.Lease/3))
	err := q.st.Update(ctx, func(tx store.Tx) error {
		var err error
		renewed, err = tx.RenewClaims(q.cfg.Instance, ids, until)
		return err
	})
	cancel()
	q.fl.mu.Lock()
	defer q.fl.mu.Unlock()
	if err != nil {
		// The claims stand until their ends as last written. Stop the
		// attempts whose claim ends within the next renewal period:
		// after its end another instance may send the message too.
		q.log.Warn("cannot renew claims", zap.Int("attempts", len(ids)), zap.Error(err))
		margin := renewEvery(q.cfg.Lease)
		for id, f := range q.fl.m {
			if !now.Add(margin).Before(f.until) {
				q.log.Warn("claim about to end without renewal: attempt cut off", zap.String("msg_id", id))
				f.cancel()
			}
		}
		return
	}
	ok := make(map[string]bool, len(renewed))
	for _, id := range renewed {
		ok[id] = true
	}
	for _, id := range ids {
		f := q.fl.m[id]
		if f == nil {
			continue // finished meanwhile
		}
		if ok[id] {
			f.until = until
			continue
		}
		// The claim is no longer ours: released as a dead instance's
		// (this instance lost its connection to the database for a
		// while), or the attempt finished and recorded its outcome
		// between the listing and the renewal.
		q.log.Warn("claim lost: attempt cut off", zap.String("msg_id", id))
		f.cancel()
	}
}

// reapLoop releases the claims of dead instances, with a shared store.
func (q *Queue) reapLoop(ctx context.Context, cl store.Cluster) {
	defer func() {
		if r := recover(); r != nil {
			q.log.Error("panic in claim takeover", zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
		}
	}()
	t := time.NewTicker(reapEvery)
	defer t.Stop()
	dead := map[string]time.Time{} // since when each instance has been seen dead
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			q.reap(cl, dead, time.Now())
		case <-cl.Wake():
			// Woken by a peer: look for due mail; the takeover scan
			// stays on its timer, whatever the rate of wake-ups.
			q.Kick()
		}
	}
}

// reap returns to the queue the claims of every registered instance that
// has been dead for reapGrace, each release audited. dead remembers since
// when each instance has been seen dead (by the scans of this instance).
func (q *Queue) reap(cl store.Cluster, dead map[string]time.Time, now time.Time) {
	if !cl.Joined() {
		clear(dead) // we may be the one the others consider dead
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	ins, err := cl.Instances(ctx)
	cancel()
	if err != nil {
		q.log.Warn("list instances", zap.Error(err))
		return
	}
	for _, in := range ins {
		if in.Live || !in.Registered || in.Name == q.cfg.Instance {
			delete(dead, in.Name)
			continue
		}
		since, ok := dead[in.Name]
		if !ok {
			dead[in.Name] = now
			continue
		}
		if in.Claims == 0 || now.Sub(since) < reapGrace {
			continue
		}
		n, err := ReleaseClaims(q.st, in.Name, "system", "instance not alive", q.cfg.Now())
		if err != nil {
			q.log.Error("release a dead instance's claims", zap.String("dead_instance", in.Name), zap.Error(err))
			continue
		}
		if n > 0 {
			q.log.Warn("took over the claims of a dead instance", zap.String("dead_instance", in.Name),
				zap.Int("claims", n), zap.Time("last_seen", in.Seen))
			q.met.takeovers.Add(float64(n))
			q.Kick()
		}
	}
}

// ReleaseClaims returns every claim of instance to the queue, due now, and
// records who did it and why in the audit log, in one transaction. It is
// used for dead instances and by `egressguard queue release`.
func ReleaseClaims(st store.Store, instance, actor, reason string, now time.Time) (int, error) {
	var n int
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	err := st.Update(ctx, func(tx store.Tx) error {
		var err error
		if n, err = tx.ReleaseOwner(instance, now); err != nil || n == 0 {
			return err
		}
		_, err = audit.Append(tx, now, audit.Event{Actor: actor, Action: audit.ActionQueueRelease,
			Data: map[string]any{"instance": instance, "claims": n, "reason": reason}})
		return err
	})
	return n, err
}

// clusterCollector reports the instances sharing the store when scraped,
// reading them at most every depthMaxAge (the query scans pg_locks), as
// depthCollector does for the queue depth.
type clusterCollector struct {
	cl                        store.Cluster
	live, claims, oldest, ins *prometheus.Desc

	mu     sync.Mutex
	at     time.Time
	cached []store.Instance
}

func newClusterCollector(cl store.Cluster) *clusterCollector {
	return &clusterCollector{
		cl: cl,
		live: prometheus.NewDesc("egressguard_instances_live",
			"Instances sharing the store that are alive (hold their instance lock, recent heartbeat).", nil, nil),
		ins: prometheus.NewDesc("egressguard_instance_up",
			"1 if the instance is alive, 0 if not (known instances and owners of claims).", []string{"instance"}, nil),
		claims: prometheus.NewDesc("egressguard_instance_claims",
			"Messages claimed for delivery by the instance.", []string{"instance"}, nil),
		oldest: prometheus.NewDesc("egressguard_instance_oldest_claim_age_seconds",
			"Age of the instance's oldest claim (0 without claims).", []string{"instance"}, nil),
	}
}

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.live
	ch <- c.ins
	ch <- c.claims
	ch <- c.oldest
}

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if now.Sub(c.at) >= depthMaxAge {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ins, err := c.cl.Instances(ctx)
		cancel()
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.live, err)
			return
		}
		c.cached, c.at = ins, now
	}
	ins := c.cached
	live := 0
	for _, in := range ins {
		up := 0.0
		if in.Live {
			live++
			up = 1
		}
		age := 0.0
		if !in.OldestClaim.IsZero() {
			age = max(0, now.Sub(in.OldestClaim).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(c.ins, prometheus.GaugeValue, up, in.Name)
		ch <- prometheus.MustNewConstMetric(c.claims, prometheus.GaugeValue, float64(in.Claims), in.Name)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age, in.Name)
	}
	ch <- prometheus.MustNewConstMetric(c.live, prometheus.GaugeValue, float64(live))
}
