package smtpfront

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// aLongTimeAgo is a deadline in the past: reads time out at once.
var aLongTimeAgo = time.Unix(1, 0)

// directReplyTimeout bounds writing a final reply before closing.
const directReplyTimeout = 5 * time.Second

// conn is one accepted client connection as go-smtp sees it. It wraps the
// raw network connection (go-smtp layers TLS on top of it after STARTTLS)
// to notice timeouts, to let Shutdown end idle sessions, and to know when
// everything about the connection has ended.
type conn struct {
	net.Conn
	s       *Server
	ip      netip.Addr // client address, invalid if unknown
	key     netip.Addr // per-client key for limits (IPv6: the /64)
	trusted bool

	// implicitTLS: the connection came in on the implicit-TLS listener;
	// go-smtp gets it wrapped in TLS and shakes hands before greeting.
	implicitTLS bool

	timedOut atomic.Bool // a read hit its deadline
	counted  atomic.Bool // the connection's end needs no timeout refusal counted

	// sc is go-smtp's side of the connection, set when the first session
	// starts. Only the connection's goroutine uses it.
	sc *smtp.Conn

	mu      sync.Mutex
	closed  bool
	closing bool // shutting down: every read deadline is in the past
	inTx    bool // between MAIL and the end of the transaction
	active  int  // backend calls in progress (see enter)
	quiet   chan struct{}
	done    chan struct{}
}

func newConn(s *Server, nc net.Conn, ip netip.Addr) *conn {
	c := &conn{
		Conn:    nc,
		s:       s,
		ip:      ip,
		key:     limitKey(ip),
		trusted: s.isTrusted(ip),
		quiet:   make(chan struct{}),
		done:    make(chan struct{}),
	}
	return c
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		c.timedOut.Store(true)
	}
	return n, err
}

// SetReadDeadline is called by go-smtp before every command line. While
// the connection is closing the deadline is moved into the past, so that
// go-smtp's next read times out and it says 421 and hangs up by itself.
func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	if c.closing {
		t = aLongTimeAgo
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		t = aLongTimeAgo
	}
	return c.Conn.SetReadDeadline(t)
}

// Close closes the connection once; go-smtp, the session and Shutdown may
// all call it.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	if c.active == 0 {
		close(c.quiet)
	}
	c.mu.Unlock()
	err := c.Conn.Close()
	close(c.done)
	return err
}

// enter marks the start of a backend call (Authenticate, Submit) or of
// reading DATA; it fails once the connection is closed. The connection is
// only released, and Shutdown only returns, when every enter has been
// matched by leave.
func (c *conn) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.active++
	return true
}

func (c *conn) leave() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.active--
	if c.closed && c.active == 0 {
		close(c.quiet)
	}
}

// beginTx marks the start of a transaction; false if the server is shutting
// down, in which case the session should not start one.
func (c *conn) beginTx() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s.closing.Load() {
		c.closingLocked()
		return false
	}
	c.inTx = true
	return true
}

// endTx marks the end of a transaction. While the server shuts down, the
// session ends here, after its last reply.
func (c *conn) endTx() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inTx = false
	if c.s.closing.Load() {
		c.closingLocked()
	}
}

// drain ends the session if it is between transactions; otherwise endTx
// ends it when the transaction is over.
func (c *conn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.inTx {
		c.closingLocked()
	}
}

func (c *conn) closingLocked() {
	if c.closed || c.closing {
		return
	}
	c.closing = true
	// Wakes up a read in progress; go-smtp answers 421 and closes.
	c.Conn.SetReadDeadline(aLongTimeAgo)
}

// closeWith writes a final reply and closes the connection, for the cases
// where nothing more the client sent may be read: a broken end of data, a
// line too long, a timeout, too many authentication failures. go-smtp's own
// reply to the same command then fails to write, and its next read finds
// the connection closed, so commands it has already buffered are never run.
// Only the connection's goroutine may call it (it writes to the connection
// go-smtp reads from).
func (c *conn) closeWith(e *smtp.SMTPError) {
	nc := net.Conn(c)
	if c.sc != nil {
		nc = c.sc.Conn() // the TLS connection after STARTTLS
	}
	nc.SetWriteDeadline(time.Now().Add(directReplyTimeout))
	fmt.Fprintf(nc, "%d %d.%d.%d %s\r\n", e.Code, e.EnhancedCode[0], e.EnhancedCode[1], e.EnhancedCode[2], e.Message)
	if nc != net.Conn(c) {
		nc.Close()
	}
	c.Close()
}

// connQueue is the listener the one go-smtp server serves: it yields the
// connections the Server has accepted and admitted, until closed.
type connQueue struct {
	ch        chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	addr      net.Addr
}

func newConnQueue() *connQueue {
	return &connQueue{ch: make(chan net.Conn), done: make(chan struct{}), addr: queueAddr{}}
}

// put hands nc to go-smtp; false once the queue is closed.
func (q *connQueue) put(nc net.Conn) bool {
	select {
	case q.ch <- nc:
		return true
	case <-q.done:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case nc := <-q.ch:
		return nc, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.closeOnce.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }

type queueAddr struct{}

func (queueAddr) Network() string { return "smtpfront" }
func (queueAddr) String() string  { return "smtpfront" }

// remoteIP returns the client's address, or the zero Addr if the connection
// has none (net.Pipe in tests).
func remoteIP(nc net.Conn) netip.Addr {
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	ap, err := netip.ParseAddrPort(nc.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// limitKey is what per-client limits count by: the address, or for IPv6 its
// /64, since one client usually holds a whole /64.
func limitKey(ip netip.Addr) netip.Addr {
	if ip.Is6() {
		p, err := ip.Prefix(64)
		if err == nil {
			return p.Addr()
		}
	}
	return ip
}
