package console

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

// touchEvery bounds how often a session's LastSeen is written: often
// enough for the idle timeout, rarely enough that reading pages does not
// turn into a write per request.
const touchEvery = time.Minute

// cookieName is the session cookie's name. Over TLS the __Host- prefix
// makes the browser refuse it unless it is Secure, host-only and Path=/,
// so a sibling domain cannot plant a session cookie.
func (c *Console) cookieName() string {
	if c.cfg.Secure {
		return "__Host-egressguard"
	}
	return "egressguard"
}

// clientIP is the address of the peer. The console does not trust
// X-Forwarded-For: behind a proxy, throttling is then per proxy, which
// errs on the safe side.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// sessionUser returns the logged-in user of r, or nil. Expired sessions
// and sessions of disabled or deleted users are removed on sight.
func (c *Console) sessionUser(r *http.Request) (*store.User, *store.Session, error) {
	ck, err := r.Cookie(c.cookieName())
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return nil, nil, nil
	}
	lim := account.SessionLimits{Idle: c.cfg.SessionIdle, Max: c.cfg.SessionMax, Touch: touchEvery}
	u, s, err := c.acc.SessionUser(r.Context(), ck.Value, lim, c.cfg.Now())
	if errors.Is(err, account.ErrSessionExpired) {
		c.log.Info("console session expired", zap.String("user", s.User))
		return nil, nil, nil
	}
	return u, s, err
}

// withUser runs h for a logged-in user and sends everyone else to the
// login page (GET) or refuses (POST).
func (c *Console) withUser(h func(http.ResponseWriter, *http.Request, *store.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, _, err := c.sessionUser(r)
		if err != nil {
			c.log.Error("session lookup failed", zap.Error(err))
			c.errorPage(w, r, nil, http.StatusInternalServerError, "err.internal")
			return
		}
		if u == nil {
			c.clearCookie(w)
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.errorPage(w, r, nil, http.StatusUnauthorized, "err.login_required")
			return
		}
		h(w, r, u)
	}
}

func (c *Console) setCookie(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{
		Name:     c.cookieName(),
		Value:    value,
		Path:     "/",
		MaxAge:   int(c.cfg.SessionMax / time.Second),
		HttpOnly: true,
		Secure:   c.cfg.Secure,
		SameSite: http.SameSiteStrictMode,
	})
}

func (c *Console) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.cfg.Secure, SameSite: http.SameSiteStrictMode})
}

type loginData struct {
	pageData
	Name  string
	Next  string
	Error string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if u, _, err := c.sessionUser(r); err == nil && u != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "login", &loginData{pageData: c.page(r, nil, "login.title"), Next: safeNext(r.URL.Query().Get("next"))})
}

// maxPasswordLen: bcrypt looks at 72 bytes; anything much longer is not a
// password but an attempt to make the server work.
const maxPasswordLen = 1024

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, r, nil, http.StatusBadRequest, "err.bad_request")
		return
	}
	name := strings.ToLower(strings.TrimSpace(r.PostForm.Get("user")))
	pass := r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	ip := clientIP(r)
	ctx := r.Context()
	data := &loginData{pageData: c.page(r, nil, "login.title"), Name: name, Next: next}
	now := c.cfg.Now()

	if name == "" || pass == "" || len(name) > 254 || len(pass) > maxPasswordLen {
		data.Error = data.L.T("login.failed")
		c.render(w, r, http.StatusUnauthorized, "login", data)
		return
	}
	device := ""
	if ck, err := r.Cookie(c.deviceCookieName()); err == nil && ck.Value != "" && len(ck.Value) <= 100 {
		device = account.SecretID(ck.Value)
	}
	try, refused := c.throttle.Begin(name, ip, device, now)
	if refused != nil {
		// Not audited one by one: the throttle exists because someone is
		// guessing, and each refused guess would otherwise be a write. The
		// moment an account becomes slowed is (see lockoutAlert).
		c.log.Info("console login throttled", zap.String("user", name), zap.String("ip", ip), zap.String("scope", refused.Scope))
		if refused.Alert {
			c.lockoutAlert(ctx, name, ip, refused.Scope, now, nil)
		}
		secs := max(int((refused.RetryAfter+time.Second-1)/time.Second), 1)
		if refused.Scope == account.ScopeAccount {
			data.Error = data.L.T("login.slowed", secs)
		} else {
			data.Error = data.L.T("login.throttled", (secs+59)/60)
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		c.render(w, r, http.StatusTooManyRequests, "login", data)
		return
	}
	if try.SlowedNow {
		c.lockoutAlert(ctx, name, ip, account.ScopeAccount, now, nil)
	}
	u, err := c.acc.Authenticate(ctx, name, pass)
	if errors.Is(err, account.ErrBadCredentials) {
		locked := try.Failed(now)
		c.log.Info("console login failed", zap.String("user", name), zap.String("ip", ip))
		if err := c.st.Update(ctx, func(tx store.Tx) error {
			_, err := audit.Append(tx, now, audit.Event{Actor: name, Action: audit.ActionConsoleLoginFailed,
				Data: map[string]any{"ip": ip}})
			if err != nil || !locked {
				return err
			}
			return c.lockoutAlert(ctx, name, ip, account.ScopeSource, now, tx)
		}); err != nil {
			c.log.Error("audit of failed login", zap.Error(err))
			c.errorPage(w, r, nil, http.StatusInternalServerError, "err.internal")
			return
		}
		data.Error = data.L.T("login.failed")
		c.render(w, r, http.StatusUnauthorized, "login", data)
		return
	}
	if err != nil {
		try.Forget() // no password was judged
		c.log.Error("console login", zap.String("user", name), zap.Error(err))
		c.errorPage(w, r, nil, http.StatusInternalServerError, "err.internal")
		return
	}
	if device == "" {
		secret := account.NewSecret()
		device = account.SecretID(secret)
		c.setDeviceCookie(w, secret)
	}
	try.Succeeded(now, device)

	oldSecret := ""
	if old, err := r.Cookie(c.cookieName()); err == nil {
		oldSecret = old.Value
	}
	secret, err := c.acc.StartSession(ctx, u.Name, oldSecret,
		audit.Event{Actor: u.Name, Action: audit.ActionConsoleLogin, Data: map[string]any{"ip": ip}}, now)
	if err != nil {
		c.log.Error("creating console session", zap.String("user", u.Name), zap.Error(err))
		c.errorPage(w, r, nil, http.StatusInternalServerError, "err.internal")
		return
	}
	c.log.Info("console login", zap.String("user", u.Name), zap.String("ip", ip))
	c.setCookie(w, secret)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	u, s, err := c.sessionUser(r)
	if err != nil {
		c.log.Error("session lookup failed", zap.Error(err))
	}
	if u != nil && s != nil {
		if err := c.acc.EndSession(r.Context(), s, "logout", c.cfg.Now()); err != nil {
			c.log.Error("ending console session", zap.String("user", u.Name), zap.Error(err))
			c.errorPage(w, r, nil, http.StatusInternalServerError, "err.internal")
			return
		}
		c.log.Info("console logout", zap.String("user", u.Name))
	}
	c.clearCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// lockoutAlert raises the alert for a login throttle that has just
// closed: a warning in the log, the metric and an audit entry (written in
// tx if given, else on its own). scope is account.ScopeSource (name is refused from
// ip for the rest of the window), account.ScopeIP (ip is refused for accounts that
// do not usually log in from its network) or account.ScopeAccount (name is slowed
// for addresses outside its usual networks).
func (c *Console) lockoutAlert(ctx context.Context, name, ip, scope string, now time.Time, tx store.Tx) error {
	c.lockouts.WithLabelValues(scope).Inc()
	msg := "console login locked for this account from one address: too many failed passwords"
	switch scope {
	case account.ScopeAccount:
		msg = "console login slowed for this account from unusual addresses: too many failed passwords"
	case account.ScopeIP:
		msg = "console login locked for one address: too many failed passwords for several accounts"
	}
	c.log.Warn(msg, zap.String("user", name), zap.String("ip", ip), zap.String("scope", scope),
		zap.Duration("window", c.cfg.ThrottleWindow))
	ev := audit.Event{Actor: "system", Action: audit.ActionConsoleLoginLock,
		Data: map[string]any{"user": name, "ip": ip, "scope": scope}}
	if tx != nil {
		_, err := audit.Append(tx, now, ev)
		return err
	}
	err := c.st.Update(ctx, func(tx store.Tx) error {
		_, err := audit.Append(tx, now, ev)
		return err
	})
	if err != nil {
		c.log.Error("audit of a login lockout", zap.Error(err))
	}
	return nil
}

// deviceCookieName is the cookie that marks a browser that logged in
// before, for login throttling (see account.Throttle). It is not a credential.
func (c *Console) deviceCookieName() string {
	if c.cfg.Secure {
		return "__Host-egressguard-device"
	}
	return "egressguard-device"
}

func (c *Console) setDeviceCookie(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{Name: c.deviceCookieName(), Value: value, Path: "/", MaxAge: int(account.KnownFor / time.Second),
		HttpOnly: true, Secure: c.cfg.Secure, SameSite: http.SameSiteStrictMode})
}
