// Package fakesmtp is a fake upstream smarthost for tests: a real go-smtp
// server on a loopback port that records every message it accepts (envelope,
// parameters and exact bytes) and lets a test inject failures: replies per
// recipient, MAIL and DATA errors, a refused greeting, slow DATA, an outage
// (Stop, then Restart on the same port), STARTTLS with a generated
// certificate and AUTH PLAIN.
//
// It is an ordinary package rather than a _test file so that the tests of
// every package (outbound, smtpfront, app) can share one fake.
package fakesmtp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the fake accepted.
type Message struct {
	From     string // envelope sender, "" for <>
	Opts     smtp.MailOptions
	Rcpts    []Rcpt // the recipients that were accepted, in order
	Data     []byte // the bytes as received, dot-unstuffed
	Conn     int    // sequence number of the connection (1, 2, ...) it came on
	TLS      bool   // it came over a TLS connection
	AuthUser string // user that authenticated on the connection, "" if none
	Helo     string
}

// Rcpt is one accepted recipient with its DSN parameters.
type Rcpt struct {
	Addr      string
	Notify    []smtp.DSNNotify
	ORcptType smtp.DSNAddressType
	ORcpt     string
}

// Addrs returns the accepted recipient addresses.
func (m *Message) Addrs() []string {
	out := make([]string, len(m.Rcpts))
	for i, r := range m.Rcpts {
		out[i] = r.Addr
	}
	return out
}

// Option configures a Server at Start.
type Option func(*Server)

// WithTLS makes the server offer STARTTLS with a certificate for
// "localhost" and 127.0.0.1, signed by a CA generated for this server. Use
// ClientTLSConfig or CertPool on the client side.
func WithTLS() Option { return func(s *Server) { s.useTLS = true } }

// WithAuth makes the server offer AUTH PLAIN (also without TLS) and require
// it before MAIL.
func WithAuth(user, pass string) Option {
	return func(s *Server) { s.authUser, s.authPass = user, pass }
}

// WithoutDSN stops the server from advertising DSN (RFC 3461); it then
// refuses NOTIFY, ORCPT, RET and ENVID like any server without DSN.
func WithoutDSN() Option { return func(s *Server) { s.noDSN = true } }

// WithoutSMTPUTF8 stops the server from advertising SMTPUTF8.
func WithoutSMTPUTF8() Option { return func(s *Server) { s.noUTF8 = true } }

// WithMaxSize sets the SIZE the server advertises and enforces.
func WithMaxSize(n int64) Option { return func(s *Server) { s.maxSize = n } }

// Server is a running fake smarthost.
type Server struct {
	tb testing.TB

	useTLS             bool
	authUser, authPass string
	noDSN, noUTF8      bool
	maxSize            int64
	tlsConfig          *tls.Config
	pool               *x509.CertPool
	addr               string

	mu        sync.Mutex
	srv       *smtp.Server
	ln        net.Listener
	served    chan struct{} // closed when Serve of the current srv returns
	msgs      []Message
	bodies    int           // message bodies received in full, replied to or not
	changed   chan struct{} // closed and replaced whenever msgs or bodies grows
	conns     int
	sessions  int // open sessions now
	mailErr   func(from string) *smtp.SMTPError
	rcptFn    func(rcpt string) *smtp.SMTPError
	dataErr   func(m *Message) *smtp.SMTPError
	helloErr  *smtp.SMTPError
	dataDelay time.Duration
	stopped   chan struct{} // closed by Stop, so slow DATA ends at once
}

// Start starts a server on 127.0.0.1:0 and stops it when the test ends.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := &Server{tb: tb, changed: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	if s.useTLS {
		cfg, pool, err := newTLS()
		if err != nil {
			tb.Fatalf("fakesmtp: %v", err)
		}
		s.tlsConfig, s.pool = cfg, pool
	}
	if err := s.listen("127.0.0.1:0"); err != nil {
		tb.Fatalf("fakesmtp: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Addr is the host:port the server listens on; it stays the same across
// Stop and Restart.
func (s *Server) Addr() string { return s.addr }

// CertPool holds the CA that signed the server's certificate (nil without
// WithTLS).
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// ClientTLSConfig is a client configuration that trusts the server.
func (s *Server) ClientTLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
}

func (s *Server) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "fakesmtp.localhost"
	srv.AllowInsecureAuth = true
	srv.EnableSMTPUTF8 = !s.noUTF8
	srv.EnableDSN = !s.noDSN
	srv.MaxMessageBytes = s.maxSize
	srv.TLSConfig = s.tlsConfig
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = log.New(io.Discard, "", 0)

	served := make(chan struct{})
	s.mu.Lock()
	s.srv, s.ln, s.served = srv, &countingListener{Listener: ln, s: s}, served
	s.stopped = make(chan struct{})
	s.addr = ln.Addr().String()
	cl := s.ln
	s.mu.Unlock()

	go func() {
		defer close(served)
		defer func() {
			if r := recover(); r != nil {
				s.tb.Errorf("fakesmtp: panic: %v", r)
			}
		}()
		srv.Serve(cl)
	}()
	return nil
}

// Stop closes the listener and every open connection: the upstream is down
// and connections are refused until Restart. Stop is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln, served, stopped := s.srv, s.ln, s.served, s.stopped
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	close(stopped)
	// Close the listener ourselves too: srv.Close only knows listeners that
	// Serve has registered, and Serve may not have started yet.
	ln.Close()
	srv.Close()
	<-served
}

// Restart listens again on the same address after Stop. Recorded messages
// and knobs are kept.
func (s *Server) Restart() {
	s.tb.Helper()
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return
	}
	var err error
	// The port is ours until someone else binds it; retry briefly in case
	// the kernel is slow to release it.
	for i := 0; i < 50; i++ {
		if err = s.listen(s.addr); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.tb.Fatalf("fakesmtp: restart on %s: %v", s.addr, err)
}

// Messages returns a copy of what has been accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Reset forgets the recorded messages and bodies and the connection count.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
	s.bodies = 0
	s.conns = 0
}

// WaitFor waits until at least n messages have been accepted and returns
// them; it fails the test (from the calling goroutine, so call it from the
// test's) if that does not happen within timeout.
func (s *Server) WaitFor(n int, timeout time.Duration) []Message {
	s.tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if len(s.msgs) >= n {
			out := append([]Message(nil), s.msgs...)
			s.mu.Unlock()
			return out
		}
		ch, have := s.changed, len(s.msgs)
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			s.tb.Fatalf("fakesmtp: got %d messages within %v, want %d", have, timeout, n)
			return nil
		}
	}
}

// WaitBodies waits until n message bodies have been received in full,
// whether or not they were accepted yet: with SetDataDelay, the client is
// then in the middle of DATA, waiting for the reply.
func (s *Server) WaitBodies(n int, timeout time.Duration) {
	s.tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		have, ch := s.bodies, s.changed
		s.mu.Unlock()
		if have >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			s.tb.Fatalf("fakesmtp: got %d message bodies within %v, want %d", have, timeout, n)
			return
		}
	}
}

// Connections is the number of connections accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// SetMailHandler sets the reply to MAIL FROM; nil (or a nil result) accepts.
func (s *Server) SetMailHandler(f func(from string) *smtp.SMTPError) {
	s.mu.Lock()
	s.mailErr = f
	s.mu.Unlock()
}

// SetRcptHandler sets the reply per recipient; nil (or a nil result) accepts.
func (s *Server) SetRcptHandler(f func(rcpt string) *smtp.SMTPError) {
	s.mu.Lock()
	s.rcptFn = f
	s.mu.Unlock()
}

// SetDataHandler sets the reply after the data is received; nil (or a nil
// result) accepts and records the message.
func (s *Server) SetDataHandler(f func(m *Message) *smtp.SMTPError) {
	s.mu.Lock()
	s.dataErr = f
	s.mu.Unlock()
}

// SetHelloError makes EHLO/HELO fail with err (nil: accept). go-smtp answers
// the first EHLO of a connection with it; that is how a real smarthost
// sounds when it is overloaded (421/451) or refuses us (554).
func (s *Server) SetHelloError(err *smtp.SMTPError) {
	s.mu.Lock()
	s.helloErr = err
	s.mu.Unlock()
}

// SetDataDelay makes the server wait d after receiving the data before it
// replies (slow upstream). Stop cuts the wait short.
func (s *Server) SetDataDelay(d time.Duration) {
	s.mu.Lock()
	s.dataDelay = d
	s.mu.Unlock()
}

// OpenSessions is the number of SMTP sessions open now (after EHLO).
func (s *Server) OpenSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

type countingListener struct {
	net.Listener
	s *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		seq := l.s.conns
		l.s.mu.Unlock()
		return &seqConn{Conn: c, seq: seq}, nil
	}
	return c, err
}

// seqConn carries the connection's sequence number to its session.
type seqConn struct {
	net.Conn
	seq int
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	herr := s.helloErr
	if herr == nil {
		s.sessions++
	}
	s.mu.Unlock()
	if herr != nil {
		return nil, herr
	}
	sess := &session{s: s, helo: c.Hostname()}
	nc := c.Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		sess.tls = true
		nc = tc.NetConn()
	}
	if sc, ok := nc.(*seqConn); ok {
		sess.conn = sc.seq
	}
	return sess, nil
}

type session struct {
	s        *Server
	helo     string
	conn     int
	tls      bool
	authUser string

	from    *string
	opts    smtp.MailOptions
	rcpts   []Rcpt
	onceOut sync.Once
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.s.authUser == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.s.authUser == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if (identity != "" && identity != user) || user != ss.s.authUser || pass != ss.s.authPass {
			return smtp.ErrAuthFailed
		}
		ss.authUser = user
		return nil
	}), nil
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if ss.s.authUser != "" && ss.authUser == "" {
		return smtp.ErrAuthRequired
	}
	ss.s.mu.Lock()
	f := ss.s.mailErr
	ss.s.mu.Unlock()
	if f != nil {
		if err := f(from); err != nil {
			return err
		}
	}
	ss.from = &from
	if opts != nil {
		ss.opts = *opts
	}
	return nil
}

func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	f := ss.s.rcptFn
	ss.s.mu.Unlock()
	if f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	r := Rcpt{Addr: to}
	if opts != nil {
		r.Notify = append([]smtp.DSNNotify(nil), opts.Notify...)
		r.ORcptType, r.ORcpt = opts.OriginalRecipientType, opts.OriginalRecipient
	}
	ss.rcpts = append(ss.rcpts, r)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if ss.from == nil || len(ss.rcpts) == 0 {
		return errors.New("fakesmtp: DATA without envelope")
	}
	m := Message{
		From: *ss.from, Opts: ss.opts, Rcpts: ss.rcpts, Data: data,
		Conn: ss.conn, TLS: ss.tls, AuthUser: ss.authUser, Helo: ss.helo,
	}

	ss.s.mu.Lock()
	delay, df, stopped := ss.s.dataDelay, ss.s.dataErr, ss.s.stopped
	ss.s.bodies++
	close(ss.s.changed)
	ss.s.changed = make(chan struct{})
	ss.s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-stopped:
			t.Stop()
			return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "shutting down"}
		}
	}
	if df != nil {
		if err := df(&m); err != nil {
			return err
		}
	}

	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, m)
	close(ss.s.changed)
	ss.s.changed = make(chan struct{})
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset() {
	ss.from = nil
	ss.opts = smtp.MailOptions{}
	ss.rcpts = nil
}

func (ss *session) Logout() error {
	ss.onceOut.Do(func() {
		ss.s.mu.Lock()
		ss.s.sessions--
		ss.s.mu.Unlock()
	})
	return nil
}

// Reply is a shorthand for an SMTP error reply in tests:
// Reply(550, "5.1.1 no such user") carries the enhanced code 5.1.1.
func Reply(code int, text string) *smtp.SMTPError {
	e := &smtp.SMTPError{Code: code, Message: text}
	first, rest, ok := strings.Cut(text, " ")
	if !ok {
		return e
	}
	parts := strings.Split(first, ".")
	if len(parts) != 3 {
		return e
	}
	var ec smtp.EnhancedCode
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return e
		}
		ec[i] = n
	}
	e.EnhancedCode, e.Message = ec, rest
	return e
}
