package smtpfront

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/account"
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
	addrs     []string // the authenticated user's addresses
	ehlo      bool     // the client said EHLO, not HELO
	from      string
	params    envelope.MailParams
	sizeHint  int64
	rcpts     []envelope.Rcpt
	rcptCount int  // RCPT commands accepted, duplicates included
	data      bool // Data began; it logs the outcome
	chunked   bool // the message came in BDAT chunks
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
	if srv.authIP.Blocked(c.key.String(), srv.now()) {
		srv.m.refuse(reasonAuthLimit)
		srv.log.Warn("authentication refused, too many failures", zap.String("client_ip", ipString(c.ip)))
		c.closeWith(replyAuthLimit)
		return nil, replyAuthLimit
	}
	switch mech {
	case sasl.Plain:
		return saslGuard{sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				// Acting for another user is not supported; it
				// counts as a failed attempt.
				if _, ok := srv.authIP.Begin(c.key.String(), srv.now()); !ok {
					return s.authLimited(user, "client")
				}
				return s.authFailed(mech, user, "acting for another user is not supported")
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

// login checks a password. The attempt is counted against the client's
// and the user's limits before the check, so that parallel connections
// cannot run more checks than the limits allow; a success takes it back.
// The user's limit does not apply from an address the user logged in from
// successfully before.
func (s *session) login(mech, user, pass string) error {
	c, srv := s.c, s.c.s
	if !c.enter() {
		return replyShuttingDown
	}
	defer c.leave()
	now := srv.now()
	ipAttempt, ok := srv.authIP.Begin(c.key.String(), now)
	if !ok {
		return s.authLimited(user, "client")
	}
	userKey := strings.ToLower(strings.TrimSpace(user))
	var userAttempt *account.Attempt
	if !srv.known.has(userKey, c.key, now) {
		if userAttempt, ok = srv.authUser.Begin(userKey, now); !ok {
			ipAttempt.Forget() // no password was checked
			return s.authLimited(user, "user")
		}
	}
	ctx, cancel := context.WithTimeout(context.WithValue(srv.ctx, clientIPKey{}, ipString(c.ip)), srv.cfg.CommandTimeout)
	defer cancel()
	id, err := srv.b.Authenticate(ctx, user, pass)
	switch {
	case errors.Is(err, ErrNoSenderRole):
		return s.authFailed(mech, user, "account has no sender role")
	case errors.Is(err, ErrBadCredentials):
		return s.authFailed(mech, user, "bad user name or password")
	case err == nil && id == nil:
		err = errors.New("smtpfront: backend returned no identity")
		fallthrough
	case err != nil:
		ipAttempt.Forget()
		userAttempt.Forget()
		srv.log.Error("authentication backend failed", zap.String("user", user),
			zap.String("client_ip", ipString(c.ip)), zap.Error(err))
		return replyAuthTempFail
	}
	ipAttempt.Forget()
	userAttempt.Forget()
	srv.known.add(userKey, c.key, now)
	s.id = &Identity{User: id.User, Addresses: slices.Clone(id.Addresses)}
	srv.log.Info("authenticated", zap.String("user", id.User), zap.String("client_ip", ipString(c.ip)),
		zap.String("mechanism", mech), zap.Bool("tls", s.tls))
	return nil
}

// authLimited refuses an attempt over the client's or the user's limit
// and closes the connection.
func (s *session) authLimited(user, limit string) error {
	c, srv := s.c, s.c.s
	srv.m.refuse(reasonAuthLimit)
	srv.log.Warn("authentication refused, too many failures", zap.String("limit", limit),
		zap.String("user", user), zap.String("client_ip", ipString(c.ip)))
	c.closeWith(replyAuthLimit)
	return replyAuthLimit
}

type clientIPKey struct{}

// ClientIP returns the client's IP address from the context given to
// Backend.Authenticate ("" if unknown), for the backend's own records.
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// authFailed answers a failed attempt (already counted when it began)
// after a delay that makes guessing slow (the delay holds this session
// only); why goes to the log.
func (s *session) authFailed(mech, user, why string) error {
	c, srv := s.c, s.c.s
	srv.m.refuse(reasonBadAuth)
	srv.log.Warn("authentication failed", zap.String("user", user), zap.String("client_ip", ipString(c.ip)),
		zap.String("mechanism", mech), zap.String("reason", why))
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
		if !ownsAddr(s.id.Addresses, from) {
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
		ehlo:  s.sc.Extended(),
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
		tx.addrs = s.id.Addresses
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
}
