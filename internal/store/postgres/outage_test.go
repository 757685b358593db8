package postgres

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/egressguard/egressguard/internal/store"
)

type proxyMode int

const (
	forward   proxyMode = iota
	blackhole           // connections stay open, bytes are dropped: a network partition
	refuse              // connections are closed and new ones closed at once: a server gone
)

// proxy stands between the store and the test server on loopback, so
// that a test can cut the database off without touching the server that
// other tests share.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  proxyMode
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.set(refuse)
		p.wg.Wait()
	})
	return p
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
			if err != nil || !p.track(up) {
				c.Close()
				if up != nil {
					up.Close()
				}
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.pipe(up, c)
			}()
			p.pipe(c, up)
		}()
	}
}

// track registers c unless the proxy refuses connections.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == refuse {
		return false
	}
	p.conns[c] = true
	return true
}

// pipe copies from src to dst until either end closes; while the proxy
// is a black hole it reads and drops.
func (p *proxy) pipe(dst, src net.Conn) {
	defer func() {
		dst.Close()
		src.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			drop := p.mode == blackhole
			p.mu.Unlock()
			if !drop {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) set(m proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	if m == refuse {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// The database cut off (a partition, then a server that refuses) makes
// every operation fail within the store's timeout with ErrUnavailable;
// nothing hangs, nothing half-written appears, and once the database is
// back the store works again without being reopened.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	cfg, err := pgx.ParseConfig(db.base)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))))
	host, port, _ := net.SplitHostPort(p.ln.Addr().String())
	dsn := withParams(t, db.dsn, map[string]string{"host": host, "port": port})
	const timeout = 2 * time.Second
	s := (&testDB{dsn: dsn}).open(t, WithTimeout(timeout))
	ctx := context.Background()

	before, during, after := testMessage(1), testMessage(2), testMessage(3)
	insertMessages(t, s, before)

	// bounded runs op and checks that it fails with ErrUnavailable in
	// about the timeout.
	bounded := func(what string, op func() error) {
		t.Helper()
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- op() }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("%s with the database cut off: %v; want ErrUnavailable", what, err)
			}
			if d := time.Since(start); d > 3*timeout {
				t.Errorf("%s took %v to fail; the timeout is %v", what, d, timeout)
			}
		case <-time.After(10 * timeout):
			t.Fatalf("%s hangs with the database cut off", what)
		}
	}
	insert := func() error {
		return s.Update(ctx, func(tx store.Tx) error { return tx.InsertMessage(during, nil) })
	}
	read := func() error { _, err := s.Message(ctx, before.ID); return err }

	for _, mode := range []struct {
		name string
		m    proxyMode
	}{{"partition", blackhole}, {"refused", refuse}} {
		p.set(mode.m)
		bounded(mode.name+": Update", insert)
		bounded(mode.name+": Message", read)
		bounded(mode.name+": Ping", func() error { return s.Ping(ctx) })
		p.set(forward)
		// Back: the first operations may still meet connections that
		// died with the partition; within a few seconds everything works.
		deadline := time.Now().Add(10 * timeout)
		for {
			err := s.Ping(ctx)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: store not working again after the database came back: %v", mode.name, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	insertMessages(t, s, after)
	for _, m := range []*store.Message{before, after} {
		if _, err := s.Message(ctx, m.ID); err != nil {
			t.Errorf("message %s after the outage: %v", m.ID, err)
		}
	}
	if _, err := s.Message(ctx, during.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("message whose Update failed during the outage: %v; want ErrNotFound", err)
	}
}

// A transaction of another session holding a row the store must write
// makes that Update fail after the timeout rather than wait forever; the
// store then goes on.
func TestLockWaitBounded(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	const timeout = time.Second
	s := db.open(t, WithTimeout(timeout))
	ctx := context.Background()
	m := testMessage(1)
	insertMessages(t, s, m)

	conn, err := pgx.Connect(ctx, db.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1 FROM messages WHERE id = $1 FOR UPDATE", m.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	next := *m
	next.State = store.Delivered
	err = s.Update(ctx, func(tx store.Tx) error { return tx.UpdateMessage(&next, store.Queued) })
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Update of a row locked elsewhere: %v; want ErrUnavailable after the timeout", err)
	}
	if d := time.Since(start); d < timeout || d > 5*timeout {
		t.Errorf("Update gave up after %v; the timeout is %v", d, timeout)
	}
	tx.Rollback(ctx)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateMessage(&next, store.Queued) })
}
