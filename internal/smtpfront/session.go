package smtpfront

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
)

// session is go-smtp's Session for one EHLO/HELO (STARTTLS starts a new
// one). go-smtp calls it from the connection's goroutine, except Data for
// BDAT, which it runs in a goroutine of its own while the connection
// goroutine may still call Reset or Logout; mu guards tx for that.
type session struct {
	c   *conn
	sc  *smtp.Conn
	tls bool
	id  *Identity // after AUTH; used by the connection goroutine only

	mu sync.Mutex
	tx *txn
}

// txn is one mail transaction, from MAIL to the end of the data.
type txn struct {
	id        string
	start     time.Time
	helo      string
	authUser  string
	from      string
	params    envelope.MailParams
	sizeHint  int64
	rcpts     []envelope.Rcpt
	rcptCount int  // RCPT commands accepted, duplicates included
	data      bool // Data began; it logs the outcome
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
)

func (c *conn) newSession(sc *smtp.Conn) (smtp.Session, error) {
	c.sc = sc
	_, isTLS := sc.TLSConnectionState()
	return &session{c: c, sc: sc, tls: isTLS}, nil
}

func (s *session) AuthMechanisms() []string {
	if s.c.s.cfg.RequireTLSForAuth && !s.tls {
		return nil // not advertised before STARTTLS
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	c, srv := s.c, s.c.s
	s.mu.Lock()
	inTx := s.tx != nil
	s.mu.Unlock()
	if inTx {
		return nil, replyAuthInTx
	}
	if srv.cfg.RequireTLSForAuth && !s.tls {
		srv.m.refuse(reasonTLSRequired)
		return nil, replyTLSRequired
	}
	if srv.auth.blocked(c.key, srv.now()) {
		srv.m.refuse(reasonAuthLimit)
		srv.log.Warn("authentication refused, too many failures", zap.String("client_ip", ipString(c.ip)))
		c.closeWith(replyAuthLimit)
		return nil, replyAuthLimit
	}
	switch mech {
	case sasl.Plain:
		return saslGuard{sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				// Acting for another user is not supported.
				return s.authFailed(mech, user)
			}
			return s.login(mech, user, pass)
		})}, nil
	case sasl.Login:
		return saslGuard{&loginServer{auth: func(user, pass string) error {
			return s.login(mech, user, pass)
		}}}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) login(mech, user, pass string) error {
	c, srv := s.c, s.c.s
	if !c.enter() {
		return replyShuttingDown
	}
	defer c.leave()
	ctx, cancel := context.WithTimeout(srv.ctx, srv.cfg.CommandTimeout)
	defer cancel()
	id, err := srv.b.Authenticate(ctx, user, pass)
	switch {
	case errors.Is(err, ErrBadCredentials):
		return s.authFailed(mech, user)
	case err == nil && id == nil:
		err = errors.New("smtpfront: backend returned no identity")
		fallthrough
	case err != nil:
		srv.log.Error("authentication backend failed", zap.String("user", user),
			zap.String("client_ip", ipString(c.ip)), zap.Error(err))
		return replyAuthTempFail
	}
	s.id = &Identity{User: id.User, Addresses: slices.Clone(id.Addresses)}
	srv.log.Info("authenticated", zap.String("user", id.User), zap.String("client_ip", ipString(c.ip)),
		zap.String("mechanism", mech), zap.Bool("tls", s.tls))
	return nil
}

// authFailed records a failure for the client, and answers after a delay
// that makes guessing slow (the delay holds this session only).
func (s *session) authFailed(mech, user string) error {
	c, srv := s.c, s.c.s
	srv.auth.fail(c.key, srv.now())
	srv.m.refuse(reasonBadAuth)
	srv.log.Warn("authentication failed", zap.String("user", user), zap.String("client_ip", ipString(c.ip)),
		zap.String("mechanism", mech))
	t := time.NewTimer(srv.cfg.AuthFailDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-srv.ctx.Done():
	}
	return replyBadCredentials
}

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	c, srv := s.c, s.c.s
	s.mu.Lock()
	nested := s.tx != nil
	s.mu.Unlock()
	if nested {
		return reply(503, 5, 5, 1, "Nested MAIL command")
	}
	if s.id == nil && !c.trusted {
		// Not an open relay.
		srv.m.refuse(reasonAuthRequired)
		srv.log.Info("relay refused, not authenticated", zap.String("client_ip", ipString(c.ip)),
			zap.String("from", from))
		return replyAuthRequired
	}
	if from != "" {
		if err := checkAddress(from, opts.UTF8); err != nil {
			srv.m.refuse(reasonBadAddress)
			return addrReply(err, replyBadSender)
		}
	}
	if s.id != nil {
		if from == "" {
			srv.m.refuse(reasonSenderSpoof)
			srv.log.Warn("sender refused", zap.String("auth_user", s.id.User), zap.String("from", "<>"),
				zap.String("client_ip", ipString(c.ip)))
			return replyNullSender
		}
		if !slices.ContainsFunc(s.id.Addresses, func(a string) bool { return strings.EqualFold(a, from) }) {
			srv.m.refuse(reasonSenderSpoof)
			srv.log.Warn("sender refused", zap.String("auth_user", s.id.User), zap.String("from", from),
				zap.String("client_ip", ipString(c.ip)))
			return replySenderNotOwned
		}
	}
	if opts.Size > srv.cfg.MaxMessageBytes {
		// go-smtp checks this first; kept so the limit holds on its own.
		srv.m.refuse(reasonSize)
		return replySizeExceeded
	}
	if !c.beginTx() {
		srv.m.refuse(reasonShutdown)
		return replyShuttingDown
	}
	now := srv.now()
	tx := &txn{
		id:    store.NewID(now),
		start: now,
		helo:  s.sc.Hostname(),
		from:  from,
		params: envelope.MailParams{
			SMTPUTF8: opts.UTF8,
			Body:     string(opts.Body),
			Ret:      string(opts.Return),
			EnvID:    opts.EnvelopeID,
		},
		sizeHint: opts.Size,
	}
	if s.id != nil {
		tx.authUser = s.id.User
	}
	s.mu.Lock()
	s.tx = tx
	s.mu.Unlock()
	return nil
}

func addrReply(err error, syntax *smtp.SMTPError) *smtp.SMTPError {
	if errors.Is(err, errAddrNeedsUTF8) {
		return replyNeedsUTF8
	}
	return syntax
}

func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	srv := s.c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := s.tx
	if tx == nil {
		return replyNoTransaction
	}
	if err := checkAddress(to, tx.params.SMTPUTF8); err != nil {
		srv.m.refuse(reasonBadAddress)
		return addrReply(err, replyBadRcpt)
	}
	if tx.rcptCount >= srv.cfg.MaxRecipients {
		srv.m.refuse(reasonRcptLimit)
		return replyTooManyRcpts
	}
	var orcpt string
	if opts.OriginalRecipient != "" {
		// go-smtp has decoded it; control characters could only hurt
		// whoever writes it into a DSN or a command later.
		if strings.ContainsFunc(opts.OriginalRecipient, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return replyBadParam
		}
		orcpt = string(opts.OriginalRecipientType) + ";" + opts.OriginalRecipient
	}
	tx.rcptCount++
	if slices.ContainsFunc(tx.rcpts, func(r envelope.Rcpt) bool { return strings.EqualFold(r.Addr, to) }) {
		return nil // a duplicate: accepted, and delivered once
	}
	var notify []string
	for _, n := range opts.Notify {
		notify = append(notify, string(n))
	}
	tx.rcpts = append(tx.rcpts, envelope.Rcpt{Addr: to, Notify: notify, ORcpt: orcpt})
	return nil
}

func (s *session) Reset() { s.endTx() }

func (s *session) Logout() error {
	s.endTx()
	return nil
}

// endTx ends the transaction after its reply (go-smtp resets the session
// after each DATA reply), on RSET, a new EHLO and when the connection ends.
func (s *session) endTx() {
	s.mu.Lock()
	tx := s.tx
	s.tx = nil
	aborted := tx != nil && !tx.data
	s.mu.Unlock()
	if aborted {
		s.logTx(tx, 0, "aborted", nil, nil)
	}
	if tx != nil {
		s.c.endTx()
	}
	if !s.c.tap.disarm() {
		// go-smtp finished reading a refused message, but not at a clean
		// end-of-data line (a timeout or a bare CR/LF on the way): what
		// follows must not be read as commands.
		s.c.Close()
	}
}

// readChunk bounds one read of message data, so that DataTimeout is a
// timeout without progress rather than for the whole message.
const readChunk = 64 << 10

// initialDataBuf is the buffer for a message without a SIZE hint; it grows
// by doubling.
const initialDataBuf = 32 << 10

var errTooLarge = errors.New("smtpfront: message too large")

// dataBuf holds a message in memory: sized from the SIZE hint, never beyond
// the limit, handed to the backend without a copy.
type dataBuf struct {
	b     []byte
	max   int64
	probe [1]byte
}

func newDataBuf(hint, limit int64) *dataBuf {
	n := int64(initialDataBuf)
	if hint > 0 {
		n = hint
	}
	return &dataBuf{b: make([]byte, 0, min(n, limit)), max: limit}
}

// read reads from r once. It returns errTooLarge once the message turns out
// longer than the limit.
func (d *dataBuf) read(r io.Reader) error {
	if len(d.b) == cap(d.b) {
		// Full: if the data ends here (a correct SIZE hint), it stays
		// the size it is.
		n, err := r.Read(d.probe[:])
		if errors.Is(err, smtp.ErrDataTooLarge) || (n > 0 && int64(len(d.b)) >= d.max) {
			return errTooLarge
		}
		if n == 0 {
			return err
		}
		nb := make([]byte, len(d.b), min(max(2*int64(cap(d.b)), initialDataBuf), d.max))
		copy(nb, d.b)
		d.b = append(nb, d.probe[0])
		return err
	}
	end := min(cap(d.b), len(d.b)+readChunk)
	n, err := r.Read(d.b[len(d.b):end])
	d.b = d.b[:len(d.b)+n]
	if errors.Is(err, smtp.ErrDataTooLarge) {
		return errTooLarge
	}
	return err
}

func (s *session) Data(r io.Reader) error {
	c := s.c
	if !c.enter() {
		return replyShuttingDown // the connection is gone; nobody reads this
	}
	defer c.leave()
	s.mu.Lock()
	tx := s.tx
	if tx != nil {
		tx.data = true
	}
	s.mu.Unlock()
	if tx == nil {
		return replyNoTransaction
	}
	if pr, ok := r.(*io.PipeReader); ok {
		return s.dataBDAT(tx, pr)
	}
	return s.dataDATA(tx, r)
}

// dataDATA reads the message of a DATA command (go-smtp's dot-unstuffing
// reader) while the tap scans the raw bytes, and refuses anything that is
// not a clean CRLF message ending in CRLF.CRLF.
func (s *session) dataDATA(tx *txn, r io.Reader) error {
	c, srv := s.c, s.c.s
	c.tap.arm()
	nc := s.sc.Conn()
	buf := newDataBuf(tx.sizeHint, srv.cfg.MaxMessageBytes)
	var rerr error
	verr := c.tap.check(0) // data before 354 is known at once
	for verr == nil {
		nc.SetReadDeadline(time.Now().Add(srv.cfg.DataTimeout))
		rerr = buf.read(r)
		if verr = c.tap.check(int64(len(buf.b))); verr != nil || rerr != nil {
			break
		}
	}
	if rerr == io.EOF {
		rerr = nil
		verr = c.tap.finish(int64(len(buf.b)))
		if verr == nil {
			// The scanner and go-smtp agree; check the result itself too.
			verr = checkLines(buf.b, 0)
		}
	}
	size := int64(len(buf.b))
	if verr != nil {
		rep, reason := violationReply(verr)
		rep = withID(rep, tx.id)
		srv.m.refuse(reason)
		c.counted.Store(true) // the tap's stop is not a timeout
		c.closeWith(rep)
		s.logTx(tx, size, "refused", rep, verr)
		return rep
	}
	switch {
	case rerr == nil:
		return s.submit(tx, buf.b)
	case errors.Is(rerr, errTooLarge):
		// go-smtp reads the rest of the data after this returns and then
		// replies; the tap stays armed to see that it ends cleanly.
		rep := withID(replySizeExceeded, tx.id)
		srv.m.refuse(reasonSize)
		s.logTx(tx, size, "refused", rep, rerr)
		return rep
	case errors.Is(rerr, smtp.ErrTooLongLine):
		rep := withID(replyLineTooLong, tx.id)
		srv.m.refuse(reasonLineLength)
		c.closeWith(rep)
		s.logTx(tx, size, "refused", rep, rerr)
		return rep
	case errors.Is(rerr, os.ErrDeadlineExceeded):
		rep := withID(replyDataTimeout, tx.id)
		if c.counted.CompareAndSwap(false, true) {
			srv.m.refuse(reasonTimeout)
		}
		c.closeWith(rep)
		s.logTx(tx, size, "refused", rep, rerr)
		return rep
	default:
		// The client went away.
		rep := withID(replyDataAborted, tx.id)
		c.Close()
		s.logTx(tx, size, "aborted", rep, rerr)
		return rep
	}
}

func violationReply(err error) (*smtp.SMTPError, string) {
	switch {
	case errors.Is(err, errBareLF):
		return replyBareLF, reasonSmuggling
	case errors.Is(err, errBareCR):
		return replyBareCR, reasonSmuggling
	case errors.Is(err, errEarlyData):
		return replyEarlyData, reasonPipelining
	case errors.Is(err, errLongLine):
		return replyLineTooLong, reasonLineLength
	default:
		return replyBadEnd, reasonSmuggling
	}
}

// dataBDAT reads a message sent in BDAT chunks (go-smtp always offers
// CHUNKING). The chunks are counted, not terminated, so nothing can end the
// message early; the bytes are still held to the same rules, since they are
// sent on with DATA.
func (s *session) dataBDAT(tx *txn, r *io.PipeReader) error {
	srv := s.c.s
	buf := newDataBuf(tx.sizeHint, srv.cfg.MaxMessageBytes)
	var err error
	for err == nil {
		err = buf.read(r)
	}
	size := int64(len(buf.b))
	switch {
	case err == io.EOF:
	case errors.Is(err, errTooLarge):
		rep := withID(replySizeExceeded, tx.id)
		srv.m.refuse(reasonSize)
		s.logTx(tx, size, "refused", rep, err)
		return rep
	default: // RSET, QUIT or a lost connection between chunks
		rep := withID(replyDataAborted, tx.id)
		s.logTx(tx, size, "aborted", rep, err)
		return rep
	}
	if verr := checkLines(buf.b, srv.cfg.MaxLineLength); verr != nil {
		rep, reason := violationReply(verr)
		rep = withID(rep, tx.id)
		srv.m.refuse(reason)
		s.logTx(tx, size, "refused", rep, verr)
		return rep
	}
	return s.submit(tx, buf.b)
}

// submit hands a complete, valid message to the backend and turns the
// outcome into the reply.
func (s *session) submit(tx *txn, data []byte) error {
	c, srv := s.c, s.c.s
	end := time.Now()
	env := &envelope.Envelope{
		ID:         tx.id,
		Received:   srv.now(),
		ClientAddr: ipString(c.ip),
		Helo:       tx.helo,
		AuthUser:   tx.authUser,
		From:       tx.from,
		Params:     tx.params,
		Rcpts:      tx.rcpts,
	}
	ctx, cancel := context.WithTimeout(srv.ctx, srv.cfg.CommandTimeout)
	res, err := srv.b.Submit(ctx, env, data)
	cancel()
	rep, result := submitReply(tx.id, res, err)
	if err == nil && result == resultTempfail {
		err = errUnknownAction(res.Action)
	}
	srv.m.accept.Observe(time.Since(end).Seconds())
	srv.m.messages.WithLabelValues(result).Inc()
	s.logTx(tx, int64(len(data)), result, rep, err)
	return rep
}

// logTx writes the one log line of a transaction.
func (s *session) logTx(tx *txn, size int64, outcome string, rep *smtp.SMTPError, err error) {
	srv := s.c.s
	fields := []zap.Field{
		zap.String("msg_id", tx.id),
		zap.String("client_ip", ipString(s.c.ip)),
		zap.String("auth_user", tx.authUser),
		zap.String("from", tx.from),
		zap.Int("rcpts", len(tx.rcpts)),
		zap.Int64("size", size),
		zap.String("outcome", outcome),
		zap.Duration("duration", srv.now().Sub(tx.start)),
	}
	if rep != nil {
		fields = append(fields, zap.Int("code", rep.Code))
	}
	level := zap.InfoLevel
	if err != nil {
		fields = append(fields, zap.Error(err))
		if outcome == resultTempfail {
			level = zap.ErrorLevel
		}
	}
	srv.log.Log(level, "smtp transaction", fields...)
}
