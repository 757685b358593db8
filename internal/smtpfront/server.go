// Package smtpfront is the guard's SMTP submission listener. It speaks SMTP
// (on github.com/emersion/go-smtp), enforces protocol-level policy (AUTH,
// who may use which sender, limits, timeouts, strict end-of-data handling)
// and hands each complete message to a Backend, which decides what happens
// to it and stores it. It knows nothing of storage or inspection.
package smtpfront

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/membudget"
	"github.com/egressguard/egressguard/internal/verdict"
)

// Config is the SMTP listener's configuration. Zero values take the
// defaults given in the comments; negative values are errors.
type Config struct {
	Hostname          string      // greeting and EHLO name; default: the machine's host name
	TLS               *tls.Config // nil: no STARTTLS
	RequireTLSForAuth bool        // refuse AUTH before STARTTLS (needs TLS)

	// TrustedNets may relay without AUTH (internal mail servers). They are
	// also exempt from MaxConnsPerIP, since one such server carries the mail
	// of many users.
	TrustedNets []netip.Prefix

	MaxMessageBytes int64 // default 25 MiB; a message must be smaller than this
	MaxRecipients   int   // per message, duplicates included; default 100
	MaxLineLength   int   // octets per line including CRLF, commands and data; default 2000

	CommandTimeout time.Duration // per command line, and for the backend's answer; default 5m
	DataTimeout    time.Duration // without progress while reading message data; default 5m

	MaxConns      int // open connections in total; default 1000
	MaxConnsPerIP int // per client address (IPv6: per /64); default 20

	AuthFailDelay   time.Duration // before answering a failed AUTH; default 2s
	MaxAuthFailures int           // per client in AuthFailWindow before AUTH is refused; default 5
	AuthFailWindow  time.Duration // default 15m
	// MaxAuthFailuresUser is the limit per user name, from any client,
	// in AuthFailWindow; default 30. Clients the user logged in from
	// successfully in the last KnownSourceTTL are exempt from it.
	MaxAuthFailuresUser int
	KnownSourceTTL      time.Duration // default 30 days (kept in memory only)

	// EnforceHeaderFrom refuses a message from an authenticated user
	// whose header From names an address that is not one of theirs.
	// Trusted-network relays are not checked.
	EnforceHeaderFrom bool
	// MaxHops refuses a message that arrives with this many Received:
	// fields or more (a mail loop); default 50, as Postfix's
	// hopcount_limit.
	MaxHops int

	// SpoolDir is where a message longer than 256 KiB goes while it is
	// received, so that a session holds no more of it in memory; files
	// there are unlinked as soon as they are created, and New removes
	// any left over. Empty: every message is received in memory.
	SpoolDir string
	// Budget bounds the bytes of spooled messages that are in memory at
	// once (read back for inspection and storing); nil: no bound.
	Budget *membudget.Budget
}

// spoolPattern names spool files (os.CreateTemp).
const spoolPattern = "smtp-*.spool"

// cleanSpool removes spool files left in dir (by a crash between creating
// one and unlinking it) and creates dir if it does not exist.
func cleanSpool(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("smtpfront: spool directory: %w", err)
	}
	left, err := filepath.Glob(filepath.Join(dir, spoolPattern))
	if err != nil {
		return err
	}
	for _, f := range left {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("smtpfront: cleaning the spool directory: %w", err)
		}
	}
	return nil
}

// Identity is an authenticated user.
type Identity struct {
	User      string
	Addresses []string // envelope senders this user may use
}

// ErrBadCredentials is what Backend.Authenticate returns for an unknown user,
// a wrong password or a disabled account; the client gets 535.
var ErrBadCredentials = errors.New("smtpfront: bad credentials")

// ErrNoSenderRole is what Backend.Authenticate returns for a valid
// account that may not submit mail (an officer or admin account). The
// client gets the same 535 as for bad credentials; the log says which.
var ErrNoSenderRole = fmt.Errorf("%w: account has no sender role", ErrBadCredentials)

// ErrServerClosed is returned by Serve after Shutdown. It wraps net.ErrClosed.
var ErrServerClosed = fmt.Errorf("smtpfront: server closed: %w", net.ErrClosed)

// Backend is what the front end hands its work to.
type Backend interface {
	// Authenticate checks a user's password. It returns ErrBadCredentials
	// for a wrong user, password or a disabled account; any other error is
	// a temporary failure (454).
	Authenticate(ctx context.Context, user, pass string) (*Identity, error)
	// Submit decides and durably stores the message, or returns an error.
	// It is called once DATA is complete and valid. data is the message as
	// received (dot-unstuffed, CRLF line endings) with the guard's
	// Received: field in front; the backend may keep it.
	Submit(ctx context.Context, env *envelope.Envelope, data []byte) (Result, error)
	// Refused records a complete message that the front end refused
	// itself (reason: a refusal reason such as "header_from" or
	// "too_many_hops"). The message is not stored; the client has its
	// 5xx reply whatever the backend does.
	Refused(ctx context.Context, env *envelope.Envelope, reason string)
}

// Result is the backend's decision about a message: the action of its
// verdict (a delayed message and one waiting for its sender's confirmation
// count as held in the metrics).
type Result struct{ Action verdict.Action }

// Server is the SMTP listener. It applies the connection limits itself and
// hands the connections it admits to one go-smtp server, through a queue
// that is that server's listener.
type Server struct {
	cfg      Config
	b        Backend
	log      *zap.Logger
	m        *metrics
	errLog   smtp.Logger
	authIP   *account.Limiter // password checks per client
	authUser *account.Limiter // password checks per user name
	known    *knownSources
	now      func() time.Time
	ctx      context.Context // canceled when Shutdown gives up waiting
	cancel   context.CancelFunc
	wg       sync.WaitGroup // connection goroutines
	closing  atomic.Bool    // Shutdown has begun

	ps      *smtp.Server // the protocol server, for every listener
	queue   *connQueue   // its listener
	psStart sync.Once

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	perIP     map[netip.Addr]int
}

// New checks cfg, fills in defaults and returns a server. Metrics are
// registered on reg unless it is nil.
func New(cfg Config, b Backend, log *zap.Logger, reg prometheus.Registerer) (*Server, error) {
	if b == nil {
		return nil, errors.New("smtpfront: no backend")
	}
	if log == nil {
		log = zap.NewNop()
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if cfg.SpoolDir != "" {
		if err := cleanSpool(cfg.SpoolDir); err != nil {
			return nil, err
		}
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		b:         b,
		log:       log,
		m:         m,
		errLog:    errorLog{log},
		authIP:    account.NewLimiter(cfg.MaxAuthFailures, cfg.AuthFailWindow),
		authUser:  account.NewLimiter(cfg.MaxAuthFailuresUser, cfg.AuthFailWindow),
		known:     &knownSources{ttl: cfg.KnownSourceTTL, m: make(map[string]time.Time)},
		now:       time.Now,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		perIP:     make(map[netip.Addr]int),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.queue = newConnQueue()
	s.ps = s.protocolServer()
	return s, nil
}

func (c *Config) setDefaults() error {
	var problems []string
	neg := func(name string, v int64) {
		if v < 0 {
			problems = append(problems, name+" is negative")
		}
	}
	neg("MaxMessageBytes", c.MaxMessageBytes)
	neg("MaxRecipients", int64(c.MaxRecipients))
	neg("MaxLineLength", int64(c.MaxLineLength))
	neg("CommandTimeout", int64(c.CommandTimeout))
	neg("DataTimeout", int64(c.DataTimeout))
	neg("MaxConns", int64(c.MaxConns))
	neg("MaxConnsPerIP", int64(c.MaxConnsPerIP))
	neg("AuthFailDelay", int64(c.AuthFailDelay))
	neg("MaxAuthFailures", int64(c.MaxAuthFailures))
	neg("AuthFailWindow", int64(c.AuthFailWindow))
	neg("MaxAuthFailuresUser", int64(c.MaxAuthFailuresUser))
	neg("KnownSourceTTL", int64(c.KnownSourceTTL))
	neg("MaxHops", int64(c.MaxHops))
	if c.RequireTLSForAuth && c.TLS == nil {
		problems = append(problems, "RequireTLSForAuth needs a TLS configuration")
	}
	if c.MaxLineLength > 0 && c.MaxLineLength < 1000 {
		problems = append(problems, "MaxLineLength is below the 1000 octets RFC 5321 requires")
	}
	if len(problems) > 0 {
		return fmt.Errorf("smtpfront: invalid configuration: %s", strings.Join(problems, "; "))
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
		if c.Hostname == "" {
			c.Hostname = "localhost"
		}
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 25 << 20
	}
	def(&c.MaxRecipients, 100)
	def(&c.MaxLineLength, 2000)
	defDur(&c.CommandTimeout, 5*time.Minute)
	defDur(&c.DataTimeout, 5*time.Minute)
	def(&c.MaxConns, 1000)
	def(&c.MaxConnsPerIP, 20)
	defDur(&c.AuthFailDelay, 2*time.Second)
	def(&c.MaxAuthFailures, 5)
	defDur(&c.AuthFailWindow, 15*time.Minute)
	def(&c.MaxAuthFailuresUser, 30)
	defDur(&c.KnownSourceTTL, 30*24*time.Hour)
	def(&c.MaxHops, 50)
	nets := make([]netip.Prefix, len(c.TrustedNets))
	for i, p := range c.TrustedNets {
		nets[i] = p.Masked()
	}
	c.TrustedNets = nets
	return nil
}

func (s *Server) isTrusted(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range s.cfg.TrustedNets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Serve accepts connections on l until Shutdown, then returns
// ErrServerClosed. It may be called for several listeners.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, false) }

// ServeTLS is Serve for implicit TLS (RFC 8314 submissions, port 465):
// every connection begins with a TLS handshake, before the greeting. The
// session is then what it is after STARTTLS on the plain listener: the same
// limits and sender rules, AUTH offered at once, STARTTLS not offered.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.cfg.TLS == nil {
		l.Close()
		return errors.New("smtpfront: implicit TLS needs a TLS configuration")
	}
	return s.serve(l, true)
}

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()

	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait and try again,
			// as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Error("accept failed", zap.Error(err), zap.Duration("retry_in", delay))
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.accept(nc, remoteIP(nc), implicitTLS)
	}
}

// accept applies the connection limits and starts serving nc.
func (s *Server) accept(nc net.Conn, ip netip.Addr, implicitTLS bool) {
	s.m.connections.Inc()
	c := newConn(s, nc, ip)
	c.implicitTLS = implicitTLS
	var refusal string
	s.mu.Lock()
	switch {
	case s.closing.Load():
		refusal = "4.3.2 Service shutting down, try again later"
	case len(s.conns) >= s.cfg.MaxConns:
		refusal = "4.7.0 Too many connections, try again later"
	case !c.trusted && s.perIP[c.key] >= s.cfg.MaxConnsPerIP:
		refusal = "4.7.0 Too many connections from your address, try again later"
	default:
		s.conns[c] = struct{}{}
		s.perIP[c.key]++
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if refusal != "" {
		if s.closing.Load() {
			s.m.refuse(reasonShutdown)
		} else {
			s.m.refuse(reasonConnLimit)
			s.log.Warn("connection refused", zap.String("client_ip", ipString(ip)), zap.String("reason", reasonConnLimit))
		}
		if implicitTLS {
			// The client expects a TLS handshake, not a reply; a
			// handshake per refused connection is what a flood wants.
			nc.Close()
			return
		}
		// Written here, not by a goroutine: a new socket's send buffer
		// takes a greeting without blocking, and the deadline bounds it
		// anyway.
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		code, text, _ := strings.Cut(refusal, " ")
		fmt.Fprintf(nc, "421 %s %s %s\r\n", code, s.cfg.Hostname, text)
		nc.Close()
		return
	}
	s.m.active.Inc()
	go s.serveConn(c)
}

// serveConn hands c to the go-smtp server and releases the connection's
// slot when everything about it has ended.
func (s *Server) serveConn(c *conn) {
	defer s.wg.Done()
	defer s.release(c)
	s.psStart.Do(func() { go s.ps.Serve(s.queue) })
	nc := net.Conn(c)
	if c.implicitTLS {
		// Layered like STARTTLS: the deadlines still see the wrapper
		// underneath, go-smtp sees a *tls.Conn and shakes hands first.
		nc = tls.Server(c, s.cfg.TLS)
	}
	if !s.queue.put(nc) {
		c.Close()
	}
	// go-smtp closes the connection when the session ends; a BDAT
	// backend call it left behind may still be running then.
	<-c.quiet
}

// protocolServer configures go-smtp.
func (s *Server) protocolServer() *smtp.Server {
	ps := smtp.NewServer(smtp.BackendFunc(s.newSession))
	ps.Domain = s.cfg.Hostname
	ps.TLSConfig = s.cfg.TLS
	ps.MaxMessageBytes = s.cfg.MaxMessageBytes
	ps.MaxLineLength = s.cfg.MaxLineLength
	// The session counts recipients itself, to log and count refusals.
	ps.MaxRecipients = 0
	// The session decides about AUTH before TLS, answering 538 (go-smtp
	// would say 523).
	ps.AllowInsecureAuth = true
	ps.ReadTimeout = s.cfg.CommandTimeout
	ps.WriteTimeout = s.cfg.CommandTimeout
	ps.EnableSMTPUTF8 = true
	ps.EnableDSN = true
	// Bare CR or LF and data before 354 refused, the connection closed
	// after a DATA that did not end cleanly (SMTP smuggling).
	ps.StrictData = true
	ps.ErrorLog = s.errLog
	return ps
}

// newSession finds the connection go-smtp is serving (the *conn this
// server queued, or the *tls.Conn on it) and starts a session on it.
func (s *Server) newSession(sc *smtp.Conn) (smtp.Session, error) {
	nc := sc.Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	c, ok := nc.(*conn)
	if !ok {
		return nil, errors.New("smtpfront: connection not accepted by this server")
	}
	return c.newSession(sc)
}

func (s *Server) release(c *conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	if s.perIP[c.key]--; s.perIP[c.key] <= 0 {
		delete(s.perIP, c.key)
	}
	s.mu.Unlock()
	s.m.active.Dec()
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if c.timedOut.Load() && !closing && c.counted.CompareAndSwap(false, true) {
		s.m.refuse(reasonTimeout)
		s.log.Info("connection timed out", zap.String("client_ip", ipString(c.ip)))
	}
}

// Shutdown stops accepting connections and ends sessions that are between
// transactions with 421. Sessions in a transaction may finish it until ctx
// is done; then every connection is closed, backend calls in progress are
// canceled, and Shutdown returns ctx's error once they have returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for l := range s.listeners {
		l.Close()
	}
	conns := slices.Collect(maps.Keys(s.conns))
	s.mu.Unlock()

	for _, c := range conns {
		c.drain()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.mu.Lock()
		conns = slices.Collect(maps.Keys(s.conns))
		s.mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
		s.cancel()
		<-done
	}
	s.cancel()
	// Every connection is closed: this waits for go-smtp's connection
	// goroutines to return.
	s.queue.Close()
	s.ps.Shutdown(context.Background())
	return err
}

// errorLog receives go-smtp's own complaints (connection errors, panics in
// a session).
type errorLog struct{ log *zap.Logger }

func (e errorLog) Printf(format string, v ...any) { e.write(fmt.Sprintf(format, v...)) }
func (e errorLog) Println(v ...any)               { e.write(fmt.Sprint(v...)) }

func (e errorLog) write(s string) {
	if strings.HasPrefix(s, "panic") {
		e.log.Error("smtp session panicked", zap.String("detail", s))
		return
	}
	// Connection resets and the like: expected, not worth a warning.
	e.log.Debug("smtp connection error", zap.String("detail", s))
}

func ipString(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}
