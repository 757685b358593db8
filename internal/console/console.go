// Package console is the security officers' web console and its JSON API:
// the held-mail queue, the message view with the evidence of the verdict,
// and the approve, reject and withdraw actions. Every decision goes through
// hold.Service, which applies the four-eyes rules; the console only shows
// and asks. Admins also edit the allowlist here (through allowlist.Service,
// which commits every change with its audit entry), and officers and
// admins search the audit log.
//
// Who sees what: senders see their own held mail; officers see all held
// mail, the allowlist (read only) and the audit log; admins change the
// allowlist and see the audit log. Refusals are 403.
//
// The pages are server-rendered with html/template and need no script:
// the Content-Security-Policy forbids all scripts and remote loads, mail
// HTML is never rendered (only its decoded text, escaped), and the CSS is
// embedded in the binary so that the console works without Internet access.
// Browser sessions are cookies whose SHA-256 is stored; the API takes
// per-user bearer tokens stored the same way. State-changing requests are
// refused when they come from another site (http.CrossOriginProtection and
// SameSite=Strict cookies).
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/allowlist"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/incident"
	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/tz"
)

// Config tunes the console.
type Config struct {
	Secure      bool          // served over TLS: cookies get Secure and the __Host- prefix
	SessionIdle time.Duration // a session ends after this long without a request (default 30m)
	SessionMax  time.Duration // and this long after login in any case (default 12h)
	BaseURL     string        // how users reach the console (informational)
	Now         func() time.Time
	Zone        tz.Zone // times are shown in it, labelled
	// FastApproval: approvals within this time of first opening the
	// message count as fast on the approval-quality page (default 10s).
	FastApproval time.Duration
	Limits       message.Limits // for inspecting a message shown in the view
	// BodyGoneAt says when retention destroys (or destroyed) a message's
	// content, zero while that is not decided yet; the view shows it.
	// nil: not shown.
	BodyGoneAt func(m *store.Message) time.Time

	// Login throttling (see account.Throttle), within ThrottleWindow (default
	// 15m): at most MaxFailuresSource failures for one account from one
	// client address (default 5), MaxFailuresIP from one address over all
	// accounts (default 20), and AccountCeiling for one account from
	// addresses outside its usual networks (default 20), beyond which such
	// attempts are slowed to one per SlowInterval (default 10s).
	MaxFailuresSource int
	MaxFailuresIP     int
	AccountCeiling    int
	SlowInterval      time.Duration
	ThrottleWindow    time.Duration
	// NearMissWindow is how far back the near-miss counter looks (default 30 days).
	NearMissWindow time.Duration
	// IncidentContacts is how many addresses a near miss is reported to.
	// With none, the reject form and its confirmation say that nobody
	// will be told.
	IncidentContacts int
}

// Deps are the services the console calls.
type Deps struct {
	Store    store.Store
	Hold     *hold.Service
	Accounts *account.Service
	// Allow is the allowlist; nil leaves its pages and API out.
	Allow *allowlist.Service
	// Incidents manages incident records; nil leaves the sent-mail and
	// incident pages out.
	Incidents *incident.Service
	Log       *zap.Logger
	// Registry takes the console's metrics; nil: not exported.
	Registry prometheus.Registerer
}

// Console serves the web console and the API.
type Console struct {
	cfg      Config
	st       store.Store
	hold     *hold.Service
	acc      *account.Service
	allow    *allowlist.Service // nil: no allowlist pages
	inc      *incident.Service  // nil: no sent-mail and incident pages
	log      *zap.Logger
	pages    map[string]*template.Template
	throttle *account.Throttle
	lockouts *prometheus.CounterVec
	handler  http.Handler
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns a Console.
func New(cfg Config, d Deps) (*Console, error) {
	if d.Store == nil || d.Hold == nil || d.Accounts == nil {
		return nil, errors.New("console: store, hold service and accounts are required")
	}
	if d.Log == nil {
		d.Log = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 30 * time.Minute
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 12 * time.Hour
	}
	if cfg.MaxFailuresSource <= 0 {
		cfg.MaxFailuresSource = 5
	}
	if cfg.AccountCeiling <= 0 {
		cfg.AccountCeiling = 20
	}
	if cfg.SlowInterval <= 0 {
		cfg.SlowInterval = 10 * time.Second
	}
	if cfg.MaxFailuresIP <= 0 {
		cfg.MaxFailuresIP = 20
	}
	if cfg.ThrottleWindow <= 0 {
		cfg.ThrottleWindow = 15 * time.Minute
	}
	if cfg.FastApproval <= 0 {
		cfg.FastApproval = 10 * time.Second
	}
	if cfg.NearMissWindow <= 0 {
		cfg.NearMissWindow = 30 * 24 * time.Hour
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{
		cfg:      cfg,
		st:       d.Store,
		hold:     d.Hold,
		acc:      d.Accounts,
		allow:    d.Allow,
		inc:      d.Incidents,
		log:      d.Log.Named("console"),
		pages:    pages,
		throttle: account.NewThrottle(cfg.MaxFailuresSource, cfg.MaxFailuresIP, cfg.AccountCeiling, cfg.ThrottleWindow, cfg.SlowInterval),
		lockouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "egressguard_console_login_lockouts_total",
			Help: "Console login throttling alerts: scope source (an account locked for one client address), ip (an address locked for accounts not usually used from it), account (an account slowed for unusual addresses).",
		}, []string{"scope"}),
	}
	for _, s := range []string{account.ScopeSource, account.ScopeIP, account.ScopeAccount} {
		c.lockouts.WithLabelValues(s)
	}
	if d.Registry != nil {
		if err := d.Registry.Register(c.lockouts); err != nil {
			return nil, fmt.Errorf("console: metrics: %w", err)
		}
	}
	if c.handler, err = c.routes(); err != nil {
		return nil, err
	}
	return c, nil
}

// Handler returns the console's HTTP handler: pages, /static/ and /api/.
func (c *Console) Handler() http.Handler { return c.handler }

func (c *Console) routes() (http.Handler, error) {
	mux := http.NewServeMux()

	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The files change only with the binary; an hour is harmless and
		// saves a request per page on slow phones.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))

	mux.HandleFunc("GET /login", c.loginPage)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("POST /logout", c.logout)
	mux.HandleFunc("GET /{$}", c.withUser(func(w http.ResponseWriter, r *http.Request, u *store.User) {
		http.Redirect(w, r, "/held", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /held", c.withUser(c.queuePage))
	mux.HandleFunc("GET /messages/{id}", c.withUser(c.messagePage))
	mux.HandleFunc("GET /messages/{id}/approve", c.withUser(c.confirmPage))
	mux.HandleFunc("POST /messages/{id}/approve", c.withUser(c.approve))
	mux.HandleFunc("POST /messages/{id}/justify", c.withUser(c.justify))
	mux.HandleFunc("POST /messages/{id}/reject", c.withUser(c.reject))
	mux.HandleFunc("POST /messages/{id}/withdraw", c.withUser(c.withdraw))
	mux.HandleFunc("POST /messages/{id}/send-now", c.withUser(c.sendNow))
	mux.HandleFunc("POST /messages/{id}/cancel", c.withUser(c.cancel))
	mux.HandleFunc("POST /messages/{id}/confirm", c.withUser(c.confirm))
	mux.HandleFunc("GET /confirm", c.confirmLinkPage)
	mux.HandleFunc("POST /confirm", c.confirmLink)
	mux.HandleFunc("GET /confirm/done", c.confirmLinkDone)
	mux.HandleFunc("POST /settings/lang", c.withUser(c.setLang))
	mux.HandleFunc("GET /settings/away", c.withUser(c.awayPage))
	mux.HandleFunc("POST /settings/away", c.withUser(c.setAway))
	mux.HandleFunc("GET /audit", c.withUser(c.auditPage))
	mux.HandleFunc("GET /audit/export", c.withUser(c.auditExport))
	mux.HandleFunc("GET /officers", c.withUser(c.officersPage))
	mux.HandleFunc("GET /api/officers", c.withToken(c.apiOfficers))
	if c.allow != nil {
		mux.HandleFunc("GET /allow", c.withUser(c.allowPage))
		mux.HandleFunc("POST /allow", c.withUser(c.allowAdd))
		mux.HandleFunc("GET /allow/{id}", c.withUser(c.allowEntryPage))
		mux.HandleFunc("POST /allow/{id}/remove", c.withUser(c.allowRemove))
	}

	if c.inc != nil {
		mux.HandleFunc("GET /sent", c.withUser(c.sentPage))
		mux.HandleFunc("GET /incidents", c.withUser(c.incidentsPage))
		mux.HandleFunc("GET /incidents/new", c.withUser(c.incidentNewPage))
		mux.HandleFunc("POST /incidents", c.withUser(c.incidentCreate))
		mux.HandleFunc("GET /incidents/{id}", c.withUser(c.incidentPage))
		mux.HandleFunc("GET /incidents/{id}/export", c.withUser(c.incidentExport))
		mux.HandleFunc("POST /incidents/{id}/{what}", c.withUser(c.incidentChange))
	}
	mux.HandleFunc("GET /api/held", c.withToken(c.apiHeld))
	mux.HandleFunc("GET /api/messages/{id}", c.withToken(c.apiMessage))
	mux.HandleFunc("POST /api/messages/{id}/approve", c.withToken(c.apiApprove))
	mux.HandleFunc("POST /api/messages/{id}/reject", c.withToken(c.apiReject))
	mux.HandleFunc("POST /api/messages/{id}/withdraw", c.withToken(c.apiWithdraw))
	mux.HandleFunc("POST /api/messages/{id}/justify", c.withToken(c.apiJustify))
	mux.HandleFunc("POST /api/messages/{id}/send-now", c.withToken(c.apiSender(c.hold.SendNow, store.Queued)))
	mux.HandleFunc("POST /api/messages/{id}/cancel", c.withToken(c.apiSender(c.hold.Cancel, store.Withdrawn)))
	mux.HandleFunc("POST /api/messages/{id}/confirm", c.withToken(c.apiSender(c.hold.Confirm, store.Queued)))
	mux.HandleFunc("GET /api/audit", c.withToken(c.apiAudit))
	if c.allow != nil {
		mux.HandleFunc("GET /api/allow", c.withToken(c.apiAllowList))
		mux.HandleFunc("POST /api/allow", c.withToken(c.apiAllowAdd))
		mux.HandleFunc("DELETE /api/allow/{id}", c.withToken(c.apiAllowRemove))
		mux.HandleFunc("GET /api/allow/{id}/history", c.withToken(c.apiAllowHistory))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "not_found", "no such API endpoint")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.errorPage(w, r, nil, http.StatusNotFound, "err.page_not_found")
	})

	// Every state-changing request that a browser marks as coming from
	// another origin is refused, before any handler runs. Requests without
	// Sec-Fetch-Site and Origin (the CLI, curl) are not browser requests
	// and pass; the API authenticates them with a bearer token, which a
	// foreign site cannot make a browser send.
	cop := http.NewCrossOriginProtection()
	if c.cfg.BaseURL != "" {
		// Behind a proxy that rewrites Host, the Origin of the console's
		// own pages is the public URL; browsers that send no
		// Sec-Fetch-Site are then judged by it.
		u, err := url.Parse(c.cfg.BaseURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("console: base URL %q: want scheme://host[:port]", c.cfg.BaseURL)
		}
		if err := cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			return nil, fmt.Errorf("console: base URL %q: %w", c.cfg.BaseURL, err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.log.Warn("cross-origin request refused", zap.String("path", r.URL.Path),
			zap.String("origin", r.Header.Get("Origin")), zap.String("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")))
		if isAPI(r) {
			apiError(w, http.StatusForbidden, "cross_origin", "cross-origin request refused")
			return
		}
		c.errorPage(w, r, nil, http.StatusForbidden, "err.cross_origin")
	}))
	return c.secure(cop.Handler(mux)), nil
}

// csp allows nothing but the console's own style sheet and images, and
// forms posting back to the console: no script, no frame, no remote load.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secure sets the headers every response carries and recovers panics so
// that one bad message cannot take the console down.
func (c *Console) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
		// Pages show mail content and session state: never cache them.
		// /static/ overrides this.
		h.Set("Cache-Control", "no-store")
		if c.cfg.Secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				c.log.Error("handler panicked", zap.String("path", r.URL.Path), zap.Any("panic", v), zap.Stack("stack"))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func isAPI(r *http.Request) bool {
	return len(r.URL.Path) >= 5 && r.URL.Path[:5] == "/api/"
}

// nearMisses counts the rejections marked as near misses in the window.
func (c *Console) nearMisses(ctx context.Context) (int, error) {
	ds, err := c.st.DecisionsSince(ctx, store.DecisionReject, c.cfg.Now().Add(-c.cfg.NearMissWindow))
	if err != nil {
		return 0, fmt.Errorf("near misses: %w", err)
	}
	n := 0
	for _, d := range ds {
		if d.NearMiss {
			n++
		}
	}
	return n, nil
}
