package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlstore"
)

// Membership: who is alive among the instances sharing the store.
//
// Each process that joins holds, on a connection of its own for as long as
// it runs, a session-level advisory lock named after its instance (class
// lockInstance, second key instanceKey). PostgreSQL drops a session's
// locks the moment the session ends, and a session ends when its process
// dies: at once when the kernel closes the socket of a killed process, and
// within about 25 s (the TCP keepalives set on that connection) when the
// whole machine or the network to it is lost. So "the lock is held" is
// "the process is alive and reaches the database", without trusting any
// instance's clock. A heartbeat written every heartbeatEvery by the same
// connection, judged by the server's clock, covers the case where the
// server has not yet noticed a dead peer: a heartbeat older than
// staleAfter counts as dead too.
//
// The same connection LISTENs on the schema's channel. Every transaction
// that makes mail due (a message stored Queued, an approval, released
// claims) sends a NOTIFY on it with its COMMIT, so that every instance
// looks for due mail at once instead of at its next poll.
//
// A second live process under the same name cannot take the lock, and
// Join refuses it: two processes claiming as one owner would each take
// over the other's deliveries.

const (
	heartbeatEvery = 5 * time.Second
	staleAfter     = 30 * time.Second
)

// serverMillis is the server's clock in the store's time encoding.
const serverMillis = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`

type member struct {
	s       *Store
	name    string
	key     int32
	host    string
	pid     int
	started time.Time
	log     *zap.Logger

	state  chan bool // current joined state, buffered 1 (see Joined)
	cancel context.CancelFunc
	done   chan struct{}
}

// Join implements store.Cluster.
func (s *Store) Join(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("postgres: join: empty instance name")
	}
	if s.closed.Load() {
		return store.ErrClosed
	}
	s.mmu.Lock()
	defer s.mmu.Unlock()
	if s.member != nil {
		return fmt.Errorf("postgres: join: already joined as %q", s.member.name)
	}
	host, _ := os.Hostname()
	m := &member{
		s: s, name: name, key: instanceKey(s.schema, name), host: host, pid: os.Getpid(),
		started: time.Now(), log: s.log.With(zap.String("instance", name)),
		state: make(chan bool, 1), done: make(chan struct{}),
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.timeout)
	defer cancel()
	conn, err := m.connect(ctx)
	if err != nil {
		return err
	}
	m.state <- true
	rctx, rcancel := context.WithCancel(context.Background())
	m.cancel = rcancel
	go m.run(rctx, conn)
	s.member = m
	m.log.Info("joined the shared store", zap.String("schema", s.schema))
	return nil
}

// Joined implements store.Cluster.
func (s *Store) Joined() bool {
	s.mmu.Lock()
	m := s.member
	s.mmu.Unlock()
	if m == nil {
		return false
	}
	v := <-m.state
	m.state <- v
	return v
}

func (m *member) setJoined(v bool) {
	<-m.state
	m.state <- v
}

// Wake implements store.Cluster.
func (s *Store) Wake() <-chan struct{} { return s.wake }

func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// leave ends the membership (at Close): the lock goes with the connection.
func (s *Store) leave() {
	s.mmu.Lock()
	m := s.member
	s.member = nil
	s.mmu.Unlock()
	if m != nil {
		m.cancel()
		<-m.done
	}
}

// connect opens the member connection, takes the instance lock, records
// the instance and starts listening.
func (m *member) connect(ctx context.Context) (*pgx.Conn, error) {
	cfg := m.s.connCfg.Copy()
	an := "egressguard " + m.name
	if len(an) > 63 {
		an = an[:63]
	}
	cfg.RuntimeParams["application_name"] = an
	// The server drops this session, and with it the lock, soon after the
	// machine at the other end vanishes without closing the connection.
	cfg.RuntimeParams["tcp_keepalives_idle"] = "10"
	cfg.RuntimeParams["tcp_keepalives_interval"] = "5"
	cfg.RuntimeParams["tcp_keepalives_count"] = "3"
	// The connection sits idle between heartbeats, never in a transaction.
	delete(cfg.RuntimeParams, "idle_in_transaction_session_timeout")
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: join: connect: %w", mapErr(err))
	}
	fail := func(err error) (*pgx.Conn, error) {
		conn.Close(context.Background())
		return nil, err
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", lockInstance, m.key).Scan(&ok); err != nil {
		return fail(fmt.Errorf("postgres: join: lock: %w", mapErr(err)))
	}
	if !ok {
		var (
			host string
			pid  int
			seen int64
		)
		err := conn.QueryRow(ctx, "SELECT host, pid, seen FROM instances WHERE name = $1", m.name).Scan(&host, &pid, &seen)
		if err != nil {
			return fail(fmt.Errorf("%w: %q (held by another session)", store.ErrInstanceLive, m.name))
		}
		return fail(fmt.Errorf("%w: %q is held by process %d on host %q (last heartbeat %s); give each instance its own name",
			store.ErrInstanceLive, m.name, pid, host, time.UnixMilli(seen).UTC().Format(time.RFC3339)))
	}
	if _, err := conn.Exec(ctx, `INSERT INTO instances (name, lock_key, host, pid, started, seen)
		VALUES ($1, $2, $3, $4, $5, `+serverMillis+`)
		ON CONFLICT (name) DO UPDATE SET lock_key = excluded.lock_key, host = excluded.host,
			pid = excluded.pid, started = excluded.started, seen = excluded.seen`,
		m.name, m.key, m.host, m.pid, sqlstore.Millis(m.started)); err != nil {
		return fail(fmt.Errorf("postgres: join: register: %w", mapErr(err)))
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{m.s.channel}.Sanitize()); err != nil {
		return fail(fmt.Errorf("postgres: join: listen: %w", mapErr(err)))
	}
	return conn, nil
}

// run waits for notifications, writes the heartbeat, and re-joins after a
// lost connection.
func (m *member) run(ctx context.Context, conn *pgx.Conn) {
	defer close(m.done)
	defer func() {
		if r := recover(); r != nil {
			m.log.Error("panic in instance membership", zap.Any("panic", r))
		}
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	// The heartbeat is written on a timer, however many notifications
	// arrive: a steady flow of them must not starve it.
	next := time.Now().Add(m.s.opts.heartbeat)
	for {
		wctx, cancel := context.WithDeadline(ctx, next)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			m.s.signal()
			if time.Now().Before(next) {
				continue
			}
		}
		if err == nil || (errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed()) {
			hctx, cancel := context.WithTimeout(ctx, max(m.s.opts.heartbeat, time.Second))
			_, err = conn.Exec(hctx, "UPDATE instances SET seen = "+serverMillis+" WHERE name = $1", m.name)
			cancel()
			next = time.Now().Add(m.s.opts.heartbeat)
			if err == nil || ctx.Err() != nil {
				continue
			}
		}
		// The connection is gone, and with it the lock: the other
		// instances may now release this one's claims.
		m.setJoined(false)
		m.log.Warn("lost the instance lock's connection; the other instances may take over this instance's deliveries", zap.Error(err))
		conn.Close(context.Background())
		conn = nil
		// Back within reapGrace of the other instances (see outbound),
		// so that a database restart or a short cut is not taken for a
		// death.
		for wait := 250 * time.Millisecond; conn == nil; wait = min(2*wait, 4*time.Second) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			cctx, cancel := context.WithTimeout(ctx, m.s.opts.timeout)
			conn, err = m.connect(cctx)
			cancel()
			if err != nil {
				lvl := zap.WarnLevel
				if errors.Is(err, store.ErrInstanceLive) {
					lvl = zap.ErrorLevel
				}
				m.log.Log(lvl, "re-joining the shared store", zap.Error(err))
			}
		}
		m.setJoined(true)
		next = time.Now().Add(m.s.opts.heartbeat)
		m.log.Info("re-joined the shared store")
		// Notifications sent while disconnected are lost.
		m.s.signal()
	}
}

// instancesSQL lists the joined instances with their liveness and claims,
// and the owners of claims that never joined.
const instancesSQL = `
WITH claims AS (
	SELECT owner, count(*) AS n, min(updated) AS oldest
	FROM messages WHERE state = 'sending'
	GROUP BY owner),
held AS (
	SELECT l.objid::bigint AS key FROM pg_locks l
	WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
	  AND l.classid::bigint = $1
	  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
SELECT i.name, i.host, i.pid, i.started, i.seen,
	EXISTS (SELECT 1 FROM held WHERE held.key = (i.lock_key::bigint & 4294967295))
		AND i.seen > ` + serverMillis + ` - $2,
	true, coalesce(c.n, 0), coalesce(c.oldest, 0)
FROM instances i LEFT JOIN claims c ON c.owner = i.name
UNION ALL
SELECT c.owner, '', 0, 0, 0, false, false, c.n, c.oldest
FROM claims c WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE i.name = c.owner)
ORDER BY 1`

// Instances implements store.Cluster.
func (s *Store) Instances(ctx context.Context) ([]store.Instance, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	rows, err := s.query(ctx, instancesSQL, int64(uint32(lockInstance)), s.opts.stale.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("postgres: instances: %w", mapErr(err))
	}
	defer rows.Close()
	var out []store.Instance
	for rows.Next() {
		var (
			in                    store.Instance
			started, seen, oldest int64
			n                     int64
		)
		if err := rows.Scan(&in.Name, &in.Host, &in.PID, &started, &seen, &in.Live, &in.Registered, &n, &oldest); err != nil {
			return nil, fmt.Errorf("postgres: instances: %w", mapErr(err))
		}
		in.Started, in.Seen, in.OldestClaim = sqlstore.FromMillis(started), sqlstore.FromMillis(seen), sqlstore.FromMillis(oldest)
		in.Claims = int(n)
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: instances: %w", mapErr(err))
	}
	return out, nil
}
