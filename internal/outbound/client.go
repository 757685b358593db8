package outbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
)

// Connection reuse. Opening a connection costs a TCP handshake, a greeting,
// EHLO, often STARTTLS and AUTH: several round trips against one for MAIL.
// Idle connections are kept for the next message, within bounds that stay
// below the idle timeouts of common servers (Postfix: 300s).
const (
	maxConnMessages = 1000
	maxConnAge      = 5 * time.Minute
	maxConnIdle     = 30 * time.Second
)

// upConn is one upstream connection.
type upConn struct {
	c       *smtp.Client
	raw     net.Conn // the TCP connection under any TLS
	conn    net.Conn // the connection c speaks over (TLS or raw)
	tls     bool
	dsn     bool // upstream advertised DSN
	utf8    bool // upstream advertised SMTPUTF8
	created time.Time
	idle    time.Time // when it was returned to the pool
	used    int       // transactions started on it
}

func (uc *upConn) close() {
	// QUIT politely, but do not wait long for a server that is going away.
	// The client sets its own deadline per command, so the bound goes
	// through its CommandTimeout; the connection is no one else's now.
	uc.c.CommandTimeout = quitTimeout
	uc.raw.SetDeadline(time.Now().Add(quitTimeout))
	if err := uc.c.Quit(); err != nil {
		uc.c.Close()
	}
}

// quitTimeout bounds the goodbye to a retired connection.
const quitTimeout = time.Second

// closeLater QUITs connections in the background, so that neither an
// attempt nor the scheduler waits for a server's goodbye. The pool owns
// these goroutines: wait returns once they are done, and each is bounded
// by close's deadline.
func (p *pool) closeLater(ucs ...*upConn) {
	if len(ucs) == 0 {
		return
	}
	p.quits.Add(1)
	go func() {
		defer p.quits.Done()
		defer func() { recover() }() // nothing to do about a failing QUIT
		for _, uc := range ucs {
			uc.close()
		}
	}()
}

// wait returns when every QUIT that closeLater started is done.
func (p *pool) wait() { p.quits.Wait() }

// pool keeps idle upstream connections and knows every open one, so that a
// stop can cut them.
type pool struct {
	mu     sync.Mutex
	max    int
	idle   []*upConn // most recently used last
	open   map[*upConn]struct{}
	closed bool
	quits  sync.WaitGroup // closeLater's goroutines
}

func newPool(max int) *pool {
	return &pool{max: max, open: make(map[*upConn]struct{})}
}

// get returns an idle connection, or nil.
func (p *pool) get(now time.Time) *upConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) > 0 {
		uc := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(uc.idle) < maxConnIdle && now.Sub(uc.created) < maxConnAge {
			return uc
		}
		delete(p.open, uc)
		p.closeLater(uc)
	}
	return nil
}

// track registers a new connection; false if the pool is closed.
func (p *pool) track(uc *upConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.open[uc] = struct{}{}
	return true
}

// put returns a healthy connection after a completed transaction.
func (p *pool) put(uc *upConn, now time.Time) {
	p.mu.Lock()
	if p.closed || len(p.idle) >= p.max || uc.used >= maxConnMessages || now.Sub(uc.created) >= maxConnAge {
		delete(p.open, uc)
		p.mu.Unlock()
		p.closeLater(uc)
		return
	}
	uc.idle = now
	p.idle = append(p.idle, uc)
	p.mu.Unlock()
}

// drop closes a connection that is broken or in an unknown state.
func (p *pool) drop(uc *upConn) {
	p.mu.Lock()
	delete(p.open, uc)
	p.mu.Unlock()
	uc.c.Close()
}

// flush closes every idle connection.
func (p *pool) flush() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	for _, uc := range idle {
		delete(p.open, uc)
	}
	p.mu.Unlock()
	p.closeLater(idle...)
}

// prune closes idle connections that are too old.
func (p *pool) prune(now time.Time) {
	p.mu.Lock()
	var keep, old []*upConn
	for _, uc := range p.idle {
		if now.Sub(uc.idle) < maxConnIdle && now.Sub(uc.created) < maxConnAge {
			keep = append(keep, uc)
		} else {
			old = append(old, uc)
			delete(p.open, uc)
		}
	}
	p.idle = keep
	p.mu.Unlock()
	p.closeLater(old...)
}

// closeAll closes every connection, idle or busy; busy attempts fail with
// a network error and are deferred.
func (p *pool) closeAll() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	var busy []*upConn
	for uc := range p.open {
		busy = append(busy, uc)
	}
	p.open = map[*upConn]struct{}{}
	p.mu.Unlock()
	isIdle := make(map[*upConn]bool, len(idle))
	for _, uc := range idle {
		isIdle[uc] = true
		uc.close()
	}
	for _, uc := range busy {
		if !isIdle[uc] {
			uc.raw.Close()
		}
	}
}

// errPoolClosed: the queue is stopping.
var errPoolClosed = errors.New("outbound: stopping")

// setupError is a failure before any transaction: it defers every
// recipient of the attempt.
type setupError struct {
	code   int    // the upstream's reply code, 0 for a local error
	detail string // "x.y.z text" for RcptStatus.Detail
	note   string // for LastError and the log
}

func (e *setupError) Error() string { return e.note }

func localSetupError(detail string) *setupError {
	return &setupError{detail: detail, note: detail}
}

// dial opens, secures and authenticates a new upstream connection.
func (q *Queue) dial(ctx context.Context, tlsMode string) (*upConn, error) {
	d := net.Dialer{Timeout: q.cfg.ConnectTimeout}
	raw, err := d.DialContext(ctx, "tcp", q.cfg.Upstream)
	if err != nil {
		return nil, localSetupError("4.4.1 connecting to upstream: " + err.Error())
	}
	uc := &upConn{raw: raw, created: time.Now()}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()

	conn := net.Conn(raw)
	if tlsMode != TLSNone {
		conn, err = q.startTLS(raw, tlsMode)
		if err != nil {
			raw.Close()
			return nil, err
		}
		_, uc.tls = conn.(*greetedConn).Conn.(*tls.Conn)
	}
	uc.conn = conn
	c := smtp.NewClient(conn)
	c.CommandTimeout = q.cfg.CommandTimeout
	c.SubmissionTimeout = q.cfg.DataTimeout
	uc.c = c
	if err := c.Hello(q.cfg.Hostname); err != nil {
		c.Close()
		return nil, setupErr("EHLO", err)
	}
	if q.cfg.AuthUser != "" {
		// The configured mode, not this dial's: a plain-text fallback of
		// opportunistic TLS must not carry the password either.
		if !uc.tls && q.cfg.TLS != TLSNone {
			c.Close()
			return nil, localSetupError("4.7.10 upstream offers no TLS; not sending credentials in the clear")
		}
		if !c.SupportsAuth(sasl.Plain) {
			c.Close()
			return nil, localSetupError("4.7.4 upstream does not offer AUTH PLAIN")
		}
		if err := c.Auth(sasl.NewPlainClient("", q.cfg.AuthUser, q.cfg.AuthPass)); err != nil {
			c.Close()
			// Even a definite 535 defers: a wrong password is ours to fix,
			// not a reason to bounce the sender's mail.
			return nil, setupErr("AUTH", err)
		}
	}
	uc.dsn, _ = c.Extension("DSN")
	uc.utf8, _ = c.Extension("SMTPUTF8")
	if !q.pool.track(uc) {
		c.Close()
		return nil, localSetupError("4.3.2 " + errPoolClosed.Error())
	}
	return uc, nil
}

// setupErr turns an error during connection set-up into a deferral, keeping
// the upstream's reply if there was one.
func setupErr(stage string, err error) *setupError {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return &setupError{code: se.Code, detail: detailOf(se), note: stage + ": " + reply(se)}
	}
	return localSetupError("4.4.2 " + stage + ": " + err.Error())
}

// startTLS reads the greeting, says EHLO and, if the upstream offers it,
// switches to TLS, all before go-smtp's client sees the connection: the
// client has no exported STARTTLS for a connection it already greeted and
// would otherwise EHLO as "localhost". It returns the connection for the
// client, which replays the greeting to it. Bytes the server sent after its
// 220 to STARTTLS are dropped with the buffered reader (no STARTTLS
// command injection).
func (q *Queue) startTLS(raw net.Conn, mode string) (net.Conn, error) {
	raw.SetDeadline(time.Now().Add(q.cfg.CommandTimeout))
	defer raw.SetDeadline(time.Time{})
	tp := textproto.NewConn(raw)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return nil, setupErr("greeting", protoErr(err))
	}
	_, msg, err := cmd(tp, 250, "EHLO %s", q.cfg.Hostname)
	if err != nil {
		return nil, setupErr("EHLO", err)
	}
	offered := false
	for _, line := range strings.Split(msg, "\n")[1:] {
		if strings.EqualFold(strings.TrimSpace(line), "STARTTLS") {
			offered = true
		}
	}
	greeting := []byte("220 " + q.cfg.Upstream + " (greeted)\r\n")
	if !offered {
		if mode == TLSRequired {
			return nil, localSetupError("4.7.10 upstream does not offer STARTTLS, which is required")
		}
		return &greetedConn{Conn: raw, pending: greeting}, nil
	}
	if _, _, err := cmd(tp, 220, "STARTTLS"); err != nil {
		if mode == TLSRequired {
			return nil, setupErr("STARTTLS", err)
		}
		// Opportunistic: the server is still in plain text; carry on.
		return &greetedConn{Conn: raw, pending: greeting}, nil
	}
	cfg := &tls.Config{}
	if q.cfg.TLSConfig != nil {
		cfg = q.cfg.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(q.cfg.Upstream)
	}
	if mode == TLSOpportunistic {
		// Like Postfix's "may": encryption against passive listeners
		// without authenticating the server, whose certificate a
		// smarthost on an internal name often does not match.
		cfg.InsecureSkipVerify = true
	}
	tc := tls.Client(raw, cfg)
	if err := tc.Handshake(); err != nil {
		return nil, localSetupError("4.7.5 TLS handshake with upstream: " + err.Error())
	}
	return &greetedConn{Conn: tc, pending: greeting}, nil
}

func cmd(tp *textproto.Conn, expect int, format string, args ...any) (int, string, error) {
	id, err := tp.Cmd(format, args...)
	if err != nil {
		return 0, "", err
	}
	tp.StartResponse(id)
	defer tp.EndResponse(id)
	code, msg, err := tp.ReadResponse(expect)
	return code, msg, protoErr(err)
}

// protoErr converts a textproto reply error to *smtp.SMTPError, as the
// go-smtp client does, so that all replies are classified alike.
func protoErr(err error) error {
	var te *textproto.Error
	if !errors.As(err, &te) {
		return err
	}
	se := &smtp.SMTPError{Code: te.Code, Message: te.Msg}
	if first, rest, ok := strings.Cut(te.Msg, " "); ok {
		if ec, ok := parseEnhanced(first); ok {
			se.EnhancedCode, se.Message = ec, rest
		}
	}
	return se
}

func parseEnhanced(s string) (smtp.EnhancedCode, bool) {
	var ec smtp.EnhancedCode
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return ec, false
	}
	for i, p := range parts {
		if p == "" || len(p) > 3 {
			return ec, false
		}
		n := 0
		for _, ch := range p {
			if ch < '0' || ch > '9' {
				return ec, false
			}
			n = n*10 + int(ch-'0')
		}
		ec[i] = n
	}
	return ec, ec[0] >= 2 && ec[0] <= 5
}

// greetedConn replays a greeting to a go-smtp client on a connection whose
// real greeting was already read.
type greetedConn struct {
	net.Conn
	pending []byte
}

func (g *greetedConn) Read(p []byte) (int, error) {
	if len(g.pending) > 0 {
		n := copy(p, g.pending)
		g.pending = g.pending[n:]
		return n, nil
	}
	return g.Conn.Read(p)
}

// reply renders an SMTP reply as "code x.y.z text" for LastError and logs.
func reply(se *smtp.SMTPError) string {
	return fmt.Sprintf("%d %s", se.Code, detailOf(se))
}

// classify turns the error of a command into a per-recipient result. A
// 5xx reply is permanent; any other reply (4xx, or a code that makes no
// sense here) is temporary.
func classify(idx int, se *smtp.SMTPError) result {
	perm := se.Code >= 500 && se.Code <= 599
	return result{idx: idx, done: perm, failed: true, code: se.Code, detail: detailOf(se)}
}

// detailOf is the "x.y.z text" of a reply, deriving x.0.0 when the server
// sent no enhanced code.
func detailOf(se *smtp.SMTPError) string {
	msg := strings.ReplaceAll(se.Message, "\n", " ")
	if se.EnhancedCode != smtp.EnhancedCodeNotSet && se.EnhancedCode != smtp.NoEnhancedCode {
		return fmt.Sprintf("%d.%d.%d %s", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], msg)
	}
	class := se.Code / 100
	if class != 2 && class != 5 {
		class = 4
	}
	return fmt.Sprintf("%d.0.0 %s", class, msg)
}

// sendUpstream delivers m to the pending recipients idx over a pooled or new
// connection.
func (q *Queue) sendUpstream(ctx context.Context, m *store.Message, body *msgBody, idx []int) outcome {
	host, _, _ := net.SplitHostPort(q.cfg.Upstream)
	for try := 0; ; try++ {
		out := outcome{remoteMTA: host}
		var uc *upConn
		if try == 0 {
			uc = q.pool.get(time.Now())
		}
		reused := uc != nil
		if uc == nil {
			var err error
			uc, err = q.dial(ctx, q.cfg.TLS)
			var se *setupError
			if err != nil && errors.As(err, &se) && q.cfg.TLS == TLSOpportunistic && strings.HasPrefix(se.detail, "4.7.5 ") {
				// Opportunistic TLS that fails its handshake: plain text on a
				// new connection is still better than no delivery.
				uc, err = q.dial(ctx, TLSNone)
			}
			if err != nil {
				se, _ := err.(*setupError)
				out.fail(idx, false, se.code, se.detail)
				out.err = se.note
				return out
			}
		}
		out.dsn = uc.dsn
		stop := context.AfterFunc(ctx, func() { uc.raw.Close() })
		// A reader per try: a stale connection sends the body again.
		r, err := body.reader(ctx)
		if err != nil {
			if stop() {
				q.pool.put(uc, time.Now()) // nothing was sent on it
			} else {
				q.pool.drop(uc)
			}
			out.fail(idx, false, 0, "4.3.0 reading message bytes: "+err.Error())
			return out
		}
		state, stale := q.transact(uc, m, r, body.size, idx, &out, reused)
		r.Close()
		stop()
		switch {
		case stale:
			// The server closed the idle connection; that says nothing
			// about the message. Again on a fresh one; the other idle
			// connections are likely dead too (a restarted server).
			q.pool.drop(uc)
			q.pool.flush()
			continue
		case state == connReusable:
			q.pool.put(uc, time.Now())
		default:
			q.pool.drop(uc)
		}
		return out
	}
}

// Connection state after a transaction.
const (
	connReusable = iota // no transaction open, healthy
	connBroken          // network error or a transaction left open
)

// transact runs MAIL, RCPT and DATA for the pending recipients. stale
// reports that a reused connection failed before the server could have
// accepted anything, so the caller may retry on a fresh one (out is then
// meaningless).
func (q *Queue) transact(uc *upConn, m *store.Message, body io.Reader, size int64, idx []int, out *outcome, reused bool) (state int, stale bool) {
	c := uc.c
	uc.used++

	utf8 := m.Params.SMTPUTF8
	if utf8 && !uc.utf8 {
		if needsUTF8(&m.Envelope) {
			out.fail(idx, true, 0, "5.6.7 upstream does not support SMTPUTF8, which non-ASCII addresses need")
			return connReusable, false
		}
		// ASCII addresses: send without the parameter, as RFC 6531 §3.4
		// allows; the upstream gets the 8-bit headers as it gets any
		// 8BITMIME content.
		utf8 = false
	}
	if strings.EqualFold(m.Params.Body, "BINARYMIME") {
		out.fail(idx, true, 0, "5.6.3 BINARYMIME cannot be relayed with DATA")
		return connReusable, false
	}

	opts := &smtp.MailOptions{Size: size, UTF8: utf8}
	if r := strings.ToUpper(m.Params.Ret); r == "FULL" || r == "HDRS" {
		opts.Return = smtp.DSNReturn(r)
	}
	if isPrintableASCII(m.Params.EnvID) {
		opts.EnvelopeID = m.Params.EnvID
	}
	if err := c.Mail(m.From, opts); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			if reused && se.Code == 421 {
				return connBroken, true
			}
			out.failReply(idx, se)
			return connReusable, false
		}
		if reused {
			return connBroken, true
		}
		out.fail(idx, false, 0, "4.4.2 MAIL: "+err.Error())
		return connBroken, false
	}

	var ok []int
	for n, i := range idx {
		err := c.Rcpt(m.Rcpts[i].Addr, rcptOptions(m.Rcpts[i]))
		if err == nil {
			ok = append(ok, i)
			continue
		}
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			// The connection is gone; everyone not finally answered waits.
			out.fail(append(ok, idx[n:]...), false, 0, "4.4.2 RCPT: "+err.Error())
			return connBroken, false
		}
		r := classify(i, se)
		out.rcpts = append(out.rcpts, r)
		out.note(fmt.Sprintf("<%s>: %s", m.Rcpts[i].Addr, reply(se)))
	}
	if len(ok) == 0 {
		// A transaction is open. go-smtp's Reset would also force a new
		// EHLO; a fresh connection next time is simpler and this is rare.
		return connBroken, false
	}

	w, err := c.Data()
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			out.failReply(ok, se)
			return connBroken, false
		}
		out.fail(ok, false, 0, "4.4.2 DATA: "+err.Error())
		return connBroken, false
	}
	// go-smtp sets no deadline while the body is written, nor for the
	// final flush in CloseWithResponse (which then sets its own deadline
	// for the reply and clears it), so this one covers both.
	uc.raw.SetWriteDeadline(time.Now().Add(q.cfg.DataTimeout))
	// Dot-stuffed in bulk by go-smtp's DataCommand.ReadFrom.
	if _, werr := w.ReadFrom(body); werr != nil {
		out.fail(ok, false, 0, "4.4.2 sending message: "+werr.Error())
		return connBroken, false
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			out.failReply(ok, se)
			return connReusable, false
		}
		out.fail(ok, false, 0, "4.4.2 end of data: "+err.Error())
		return connBroken, false
	}
	text := strings.ReplaceAll(resp.StatusText, "\n", " ")
	for _, i := range ok {
		out.rcpts = append(out.rcpts, accepted(i, 250, text))
	}
	return connReusable, false
}

func rcptOptions(r envelope.Rcpt) *smtp.RcptOptions {
	opts := &smtp.RcptOptions{}
	if len(r.Notify) > 0 {
		var n []smtp.DSNNotify
		for _, v := range r.Notify {
			n = append(n, smtp.DSNNotify(strings.ToUpper(v)))
		}
		if validNotify(n) {
			opts.Notify = n
		}
	}
	if typ, addr, ok := strings.Cut(r.ORcpt, ";"); ok && addr != "" {
		switch {
		case strings.EqualFold(typ, "rfc822") && isPrintableASCII(addr):
			opts.OriginalRecipientType, opts.OriginalRecipient = smtp.DSNAddressTypeRFC822, addr
		case strings.EqualFold(typ, "utf-8"):
			opts.OriginalRecipientType, opts.OriginalRecipient = smtp.DSNAddressTypeUTF8, addr
		}
	}
	return opts
}

// validNotify mirrors go-smtp's check, which would otherwise fail the RCPT
// locally: known values, no repeats, NEVER alone.
func validNotify(n []smtp.DSNNotify) bool {
	seen := map[smtp.DSNNotify]bool{}
	for _, v := range n {
		switch v {
		case smtp.DSNNotifyNever, smtp.DSNNotifyDelayed, smtp.DSNNotifyFailure, smtp.DSNNotifySuccess:
		default:
			return false
		}
		if seen[v] {
			return false
		}
		seen[v] = true
	}
	return !(seen[smtp.DSNNotifyNever] && len(seen) > 1)
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func isASCII[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// needsUTF8 reports whether an address of the envelope is non-ASCII.
func needsUTF8(e *envelope.Envelope) bool {
	if !isASCII(e.From) {
		return true
	}
	for _, r := range e.Rcpts {
		if !isASCII(r.Addr) {
			return true
		}
	}
	return false
}
