// Package app wires egressguard together from its configuration: the
// store, accounts, inspection and policy, intake, the outbound queue, the
// SMTP front end and the HTTP listener for metrics and health. The command
// and the end-to-end tests both build the guard through it.
package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/allowlist"
	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/config"
	"github.com/egressguard/egressguard/internal/console"
	"github.com/egressguard/egressguard/internal/correspondents"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/incident"
	"github.com/egressguard/egressguard/internal/intake"
	"github.com/egressguard/egressguard/internal/membudget"
	"github.com/egressguard/egressguard/internal/notify"
	"github.com/egressguard/egressguard/internal/outbound"
	"github.com/egressguard/egressguard/internal/retention"
	"github.com/egressguard/egressguard/internal/seal"
	"github.com/egressguard/egressguard/internal/smtpfront"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/postgres"
	"github.com/egressguard/egressguard/internal/store/sqlite"
)

// App is one running guard.
type App struct {
	Cfg       *config.Config
	Log       *zap.Logger
	Store     store.Store
	Accounts  *account.Service
	Judge     *Judge
	Allow     *allowlist.Service
	Corr      *correspondents.Service
	Intake    *intake.Intake
	Queue     *outbound.Queue
	Notify    *notify.Notifier
	Hold      *hold.Service
	Retention *retention.Purger
	Incidents *incident.Service
	Console   *console.Console
	SMTP      *smtpfront.Server
	Registry  *prometheus.Registry
	metrics   *holdMetrics
	standIns  *standIns

	now       func() time.Time
	links     *hold.Links
	smtpLn    net.Listener
	smtpsLn   net.Listener // implicit TLS (465), if configured
	demo      []string     // seed users whose config password still works
	httpLn    net.Listener
	http      *http.Server
	consoleLn net.Listener
	console   *http.Server

	checkpoints *checkpointer // nil: no audit checkpoints

	cancel context.CancelFunc
	wg     sync.WaitGroup
	ready  chan struct{}
	errc   chan error
}

// OpenStore opens the store the config names. Commands that only manage
// accounts or list mail use it without building the rest.
func OpenStore(cfg *config.Config, log *zap.Logger) (store.Store, error) {
	var sealer store.Sealer
	if cfg.Store.KeyFile != "" {
		k, err := seal.Load(cfg.Path(cfg.Store.KeyFile))
		if err != nil {
			return nil, err
		}
		sealer = k
	}
	var (
		st  store.Store
		err error
	)
	switch cfg.Store.Driver {
	case "sqlite":
		var opts []sqlite.Option
		if sealer != nil {
			opts = append(opts, sqlite.WithSealer(sealer))
		}
		st, err = sqlite.Open(cfg.Path(cfg.Store.Path), log.Named("store"), opts...)
	case "postgres":
		var opts []postgres.Option
		if sealer != nil {
			opts = append(opts, postgres.WithSealer(sealer))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err = postgres.Open(ctx, cfg.Store.DSN, log.Named("store"), opts...)
	default:
		return nil, fmt.Errorf("store driver %q is not available", cfg.Store.Driver)
	}
	if err != nil || sealer == nil {
		return st, err
	}
	// Bodies are sealed by the backend; the record's content fields
	// (subject, header From, verdict with its links) by this wrapper.
	return store.SealRecords(st, sealer), nil
}

// Option changes how Open builds the app (used by tests).
type Option func(*options)

type options struct {
	now       func() time.Time
	store     store.Store
	bcrypt    int
	upstreamT *tls.Config
}

// WithClock injects a clock into the time-dependent components.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithStore uses st instead of opening the configured store (tests inject
// failing stores through it).
func WithStore(st store.Store) Option { return func(o *options) { o.store = st } }

// WithBcryptCost lowers the bcrypt cost (tests).
func WithBcryptCost(c int) Option { return func(o *options) { o.bcrypt = c } }

// WithUpstreamTLS sets the TLS config used towards the smarthost (tests
// pass their own CA).
func WithUpstreamTLS(t *tls.Config) Option { return func(o *options) { o.upstreamT = t } }

// Open builds every component. Nothing listens until Start.
func Open(ctx context.Context, cfg *config.Config, log *zap.Logger, opts ...Option) (*App, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.now == nil {
		o.now = time.Now
	}
	a := &App{Cfg: cfg, Log: log, Registry: prometheus.NewRegistry(), now: o.now, ready: make(chan struct{}), errc: make(chan error, 8)}
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if err := os.MkdirAll(cfg.Path(cfg.DataDir), 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	st := o.store
	if st == nil {
		var err error
		if st, err = OpenStore(cfg, log); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	a.Store = st
	if cl, ok := store.ClusterOf(st); ok {
		// Before anything listens: a second live process under this
		// instance's name would take over its deliveries.
		if err := cl.Join(ctx, cfg.Instance); err != nil {
			st.Close()
			return nil, fmt.Errorf("instance %q: %w", cfg.Instance, err)
		}
	}
	if cfg.Store.Driver == "postgres" && cfg.Store.KeyFile == "" {
		log.Warn("message bodies are stored in PostgreSQL unencrypted; PostgreSQL does not overwrite deleted rows, so purged content may remain in data files and WAL archives: set store.key_file")
	}
	if len(cfg.Notify.IncidentContacts) == 0 {
		log.Warn("notify.incident_contacts is empty: a rejection marked as a near miss in the console is recorded and counted, but nobody is notified")
	}
	a.Accounts = account.New(st, o.bcrypt)
	a.Accounts.SetClock(o.now)
	if err := a.seedUsers(ctx); err != nil {
		st.Close()
		return nil, err
	}

	a.metrics = newHoldMetrics(a.Registry, st, o.now, cfg.Hold.FastApproval.D())
	judge, allow, err := liveJudge(cfg, st, log, o.now)
	if err != nil {
		st.Close()
		return nil, err
	}
	judge.hits = a.metrics.hits
	a.Judge, a.Allow = judge, allow
	a.Corr = judge.Correspondents()

	if f := cfg.Audit.CheckpointKeyFile; f != "" {
		key, err := audit.LoadSigningKey(cfg.Path(f))
		if err != nil {
			st.Close()
			return nil, err
		}
		a.checkpoints = &checkpointer{a: a, key: key}
		if cfg.Audit.CheckpointFile != "" {
			a.checkpoints.file = cfg.Path(cfg.Audit.CheckpointFile)
		}
	}

	upTLS, err := upstreamTLS(cfg, o.upstreamT)
	if err != nil {
		st.Close()
		return nil, err
	}
	u := cfg.Upstream
	// The budget for spooled messages read back into memory for
	// inspection and storing (delivery streams large bodies instead).
	budget := membudget.New(int64(cfg.SMTP.MemoryBudget))
	a.Queue, err = outbound.New(outbound.Config{
		Upstream:       u.Address,
		OutboxDir:      cfg.Path(u.OutboxDir),
		TLS:            u.TLS,
		TLSConfig:      upTLS,
		AuthUser:       u.AuthUser,
		AuthPass:       u.AuthPassword,
		ConnectTimeout: u.ConnectTimeout.D(),
		CommandTimeout: u.CommandTimeout.D(),
		DataTimeout:    u.DataTimeout.D(),
		Concurrency:    u.Concurrency,
		MaxAge:         u.MaxAge.D(),
		BackoffMin:     u.BackoffMin.D(),
		BackoffMax:     u.BackoffMax.D(),
		Lease:          u.Lease.D(),
		KeepBodies:     cfg.Retain.DeliveredBody > 0,
		Delivered:      a.Corr.Delivered,
		Hostname:       cfg.Hostname,
		Instance:       cfg.Instance,
		Now:            o.now,
	}, st, log.Named("outbound"), a.Registry)
	if err != nil {
		st.Close()
		return nil, err
	}
	router := cfg.Router()
	a.standIns = &standIns{st: st, now: o.now, log: log.Named("delegation")}
	a.Notify = notify.New(notify.Config{
		Route:            router.Officers,
		StandIn:          a.standIns.apply,
		OnWebhookFailure: func(reason string) { a.metrics.webhookFail.WithLabelValues(reason).Inc() },
		From:             cfg.Notify.From,
		DisplayName:      cfg.Notify.DisplayName,
		SubjectTag:       cfg.Notify.SubjectTag,
		Contact:          cfg.Notify.Contact,
		Zone:             cfg.Zone,
		Officers:         cfg.Notify.Officers,
		IncidentContacts: cfg.Notify.IncidentContacts,
		Admins:           cfg.Notify.Admins,
		Language:         cfg.Notify.Language,
		ConsoleURL:       cfg.Console.BaseURL,
		WebhookURL:       cfg.Notify.WebhookURL,
		OfficerDigest:    cfg.Notify.OfficerDigest.D(),
		Hostname:         cfg.Hostname,
		Now:              o.now,
	}, log)
	links, err := confirmLinks(ctx, cfg, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.links = links
	risk := hold.Risk{Rules: hold.DefaultRules, Recipients: cfg.Hold.HighRiskRecipients, Signals: hold.DefaultSignals}
	if cfg.Hold.HighRiskRules != nil {
		risk.Rules = *cfg.Hold.HighRiskRules
	}
	if cfg.Hold.HighRiskSignals != nil {
		risk.Signals = *cfg.Hold.HighRiskSignals
	}
	escalation := func(m *store.Message) ([]string, time.Duration) {
		if g := router.For(m); g != nil {
			return a.standIns.apply(g.Backup), g.EscalateAfter
		}
		return nil, 0
	}
	a.Hold = hold.New(hold.Config{Approvals: cfg.Hold.Approvals, Now: o.now, Risk: risk, Escalation: escalation,
		Observe: a.metrics.observe, Links: links}, st, a.Notify, a.Queue.Kick, log)
	a.Intake = intake.New(intake.Config{
		Now:        o.now,
		HoldFor:    cfg.Hold.ExpireAfter.D(),
		ConfirmFor: cfg.Confirm.ExpireAfter.D(),
		Split:      cfg.Hold.Split(),
		Record:     a.recordAccepted(o.now),
		Refused:    a.recordRefused(o.now),
	}, st, judge, a.Queue, log)
	retain := retention.Config{
		DeliveredBody:  cfg.Retain.DeliveredBody.D(),
		DecidedBody:    cfg.Retain.DecidedBody.D(),
		Audit:          cfg.Retain.Audit.D(),
		Correspondents: cfg.Retain.Correspondents.D(),
		Interval:       cfg.Retain.Interval.D(),
		Now:            o.now,
	}
	a.Retention = retention.New(retain, st, log)
	inc := cfg.Incident
	a.Incidents = incident.New(incident.Config{
		Rules:        incident.Rules{PreliminaryDays: inc.PreliminaryDays, FinalDays: inc.FinalDays, FinalDaysWrongful: inc.FinalDaysWrongful},
		RemindBefore: inc.RemindBefore.D(),
		Reminder:     a.Notify.IncidentReminder,
		Opened:       a.Notify.IncidentOpened,
		Kick:         a.Queue.Kick,
		Limits:       judge.limits,
		Now:          o.now,
	}, st, log)
	if cfg.Console.Listen != "" {
		a.Console, err = console.New(console.Config{
			Secure:       cfg.Console.TLSConfig != nil,
			SessionIdle:  cfg.Console.SessionIdle.D(),
			SessionMax:   cfg.Console.SessionMax.D(),
			BaseURL:      cfg.Console.BaseURL,
			Now:          o.now,
			Zone:         cfg.Zone,
			FastApproval: cfg.Hold.FastApproval.D(),
			Limits:       judge.limits,
			BodyGoneAt:   retain.BodyGoneAt,
			// With none, the reject form says that a near miss tells nobody.
			IncidentContacts: len(cfg.Notify.IncidentContacts),
		}, console.Deps{Store: st, Hold: a.Hold, Accounts: a.Accounts, Allow: a.Allow, Incidents: a.Incidents,
			Log: log.Named("console"), Registry: a.Registry})
		if err != nil {
			st.Close()
			return nil, err
		}
	}

	s := cfg.SMTP
	a.SMTP, err = smtpfront.New(smtpfront.Config{
		Hostname:            cfg.Hostname,
		TLS:                 s.TLSConfig,
		RequireTLSForAuth:   *s.RequireTLSForAuth,
		TrustedNets:         s.Trusted,
		MaxMessageBytes:     int64(s.MaxMessageSize),
		MaxRecipients:       s.MaxRecipients,
		MaxLineLength:       s.MaxLineLength,
		CommandTimeout:      s.CommandTimeout.D(),
		DataTimeout:         s.DataTimeout.D(),
		MaxConns:            s.MaxConnections,
		MaxConnsPerIP:       s.MaxConnectionsIP,
		AuthFailDelay:       s.AuthFailDelay.D(),
		MaxAuthFailures:     s.MaxAuthFailures,
		AuthFailWindow:      s.AuthFailWindow.D(),
		MaxAuthFailuresUser: s.MaxAuthFailuresUser,
		EnforceHeaderFrom:   *s.EnforceHeaderFrom,
		MaxHops:             s.MaxHops,
		SpoolDir:            cfg.Path(filepath.Join(cfg.DataDir, "spool")),
		Budget:              budget,
	}, &backend{a: a}, log.Named("smtp"), a.Registry)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func upstreamTLS(cfg *config.Config, override *tls.Config) (*tls.Config, error) {
	if override != nil {
		return override, nil
	}
	u := cfg.Upstream
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.TLSServerName, InsecureSkipVerify: u.InsecureSkipVerify}
	if u.CAFile != "" {
		pem, err := os.ReadFile(cfg.Path(u.CAFile))
		if err != nil {
			return nil, fmt.Errorf("upstream.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("upstream.ca_file: no certificates found")
		}
		t.RootCAs = pool
	}
	return t, nil
}

// seedUsers creates the config's seed users that do not exist yet and warns
// loudly while a seeded (demo) password is still in use.
func (a *App) seedUsers(ctx context.Context) error {
	for _, su := range a.Cfg.Seed {
		_, err := a.Accounts.Add(ctx, "config", su.Name, su.Password, su.Roles, su.Addresses)
		if err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("seed user %q: %w", su.Name, err)
		}
		if a.Accounts.PasswordMatches(ctx, su.Name, su.Password) {
			a.demo = append(a.demo, su.Name)
			a.Log.Warn("DEMO PASSWORD IN USE: this account still has the password from the config file; change it with 'egressguard user passwd' or remove the seed_user entry before production",
				zap.String("user", su.Name))
		}
	}
	return nil
}

// Start opens the listeners and starts the queue. It returns once the guard
// accepts connections.
func (a *App) Start(ctx context.Context) error {
	ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	var err error
	a.smtpLn, err = net.Listen("tcp", a.Cfg.SMTP.Listen)
	if err != nil {
		return fmt.Errorf("smtp listener: %w", err)
	}
	if a.Cfg.SMTP.ImplicitTLSListen != "" {
		a.smtpsLn, err = net.Listen("tcp", a.Cfg.SMTP.ImplicitTLSListen)
		if err != nil {
			a.smtpLn.Close()
			return fmt.Errorf("implicit-TLS smtp listener: %w", err)
		}
	}
	closeSMTP := func() {
		a.smtpLn.Close()
		if a.smtpsLn != nil {
			a.smtpsLn.Close()
		}
	}
	if a.Cfg.HTTP.Listen != "" {
		a.httpLn, err = net.Listen("tcp", a.Cfg.HTTP.Listen)
		if err != nil {
			closeSMTP()
			return fmt.Errorf("http listener: %w", err)
		}
		a.http = &http.Server{Handler: a.httpHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
		a.goSafe("http", func() error {
			if err := a.http.Serve(a.httpLn); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	if a.Console != nil {
		a.consoleLn, err = net.Listen("tcp", a.Cfg.Console.Listen)
		if err != nil {
			closeSMTP()
			if a.httpLn != nil {
				a.httpLn.Close()
			}
			return fmt.Errorf("console listener: %w", err)
		}
		a.console = &http.Server{Handler: a.Console.Handler(), TLSConfig: a.Cfg.Console.TLSConfig,
			ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
			IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, ErrorLog: zap.NewStdLog(a.Log.Named("console.http"))}
		a.goSafe("console", func() error {
			var err error
			if a.Cfg.Console.TLSConfig != nil {
				err = a.console.ServeTLS(a.consoleLn, "", "")
			} else {
				err = a.console.Serve(a.consoleLn)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	a.goSafe("outbound", func() error { return a.Queue.Run(ctx) })
	a.goSafe("notify", func() error { a.Notify.Run(ctx); return nil })
	a.goSafe("retention", func() error { return a.Retention.Run(ctx) })
	a.goSafe("incidents", func() error { a.Incidents.Run(ctx, a.Cfg.Incident.RemindInterval.D()); return nil })
	if d := a.Cfg.Notify.OfficerDigest.D(); d > 0 {
		a.goSafe("officer-digest", func() error {
			return runLoop(ctx, time.Minute, func(ctx context.Context) { a.sendDigest(ctx, d) })
		})
	}
	a.goSafe("delegations", func() error {
		return runLoop(ctx, standInEvery, a.standIns.refresh)
	})
	if d := a.Cfg.Notify.AdminDigest.D(); d > 0 {
		a.goSafe("admin-digest", func() error {
			return runLoop(ctx, time.Minute, func(ctx context.Context) { a.sendFigures(ctx, d) })
		})
	}
	a.goSafe("hold-expiry", func() error {
		return runLoop(ctx, 30*time.Second, func(ctx context.Context) {
			if _, err := a.Hold.ExpireDue(ctx); err != nil && ctx.Err() == nil {
				a.Log.Error("expiring held mail failed", zap.Error(err))
			}
			if _, err := a.Hold.EscalateDue(ctx); err != nil && ctx.Err() == nil {
				a.Log.Error("escalating held mail failed", zap.Error(err))
			}
		})
	})
	a.goSafe("smtp", func() error {
		if err := a.SMTP.Serve(a.smtpLn); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	if a.smtpsLn != nil {
		a.goSafe("smtp-implicit-tls", func() error {
			if err := a.SMTP.ServeTLS(a.smtpsLn); err != nil && !errors.Is(err, net.ErrClosed) {
				return err
			}
			return nil
		})
	}
	if err := a.auditSimple(ctx, audit.Event{Actor: "system", Action: audit.ActionConfigLoad, Data: map[string]any{
		"instance": a.Cfg.Instance, "rules": a.Judge.Engine().RuleNames()}}); err != nil {
		a.Log.Error("audit of the config load failed", zap.Error(err))
	}
	if cp := a.checkpoints; cp != nil {
		a.goSafe("audit-checkpoint", func() error {
			return runLoop(ctx, a.Cfg.Audit.CheckpointInterval.D(), cp.checkpoint)
		})
	}
	close(a.ready)
	a.Log.Info("egressguard started",
		zap.String("smtp", a.smtpLn.Addr().String()),
		zap.String("smtp_implicit_tls", a.SMTPTLSAddr()),
		zap.String("http", a.HTTPAddr()),
		zap.String("console", a.ConsoleAddr()),
		zap.String("upstream", a.Cfg.Upstream.Address),
		zap.String("store", a.Cfg.Store.Driver),
		zap.String("instance", a.Cfg.Instance))
	return nil
}

// goSafe runs fn in a goroutine, turning a panic into an error on Err.
func (a *App) goSafe(name string, fn func() error) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				a.Log.Error("component panicked", zap.String("component", name), zap.Any("panic", r), zap.Stack("stack"))
				a.errc <- fmt.Errorf("%s: panic: %v", name, r)
			}
		}()
		if err := fn(); err != nil {
			a.Log.Error("component stopped", zap.String("component", name), zap.Error(err))
			select {
			case a.errc <- fmt.Errorf("%s: %w", name, err):
			default:
			}
		}
	}()
}

// Err delivers the first fatal error of a running component.
func (a *App) Err() <-chan error { return a.errc }

// SMTPAddr is the address the SMTP listener is bound to.
func (a *App) SMTPAddr() string {
	if a.smtpLn == nil {
		return ""
	}
	return a.smtpLn.Addr().String()
}

// SMTPTLSAddr is the address of the implicit-TLS listener ("" if none).
func (a *App) SMTPTLSAddr() string {
	if a.smtpsLn == nil {
		return ""
	}
	return a.smtpsLn.Addr().String()
}

// HTTPAddr is the address of the metrics and health listener ("" if none).
func (a *App) HTTPAddr() string {
	if a.httpLn == nil {
		return ""
	}
	return a.httpLn.Addr().String()
}

// Reload applies what can change without a restart: the rules, the
// share-link catalogue, the internal domains and the config's allowlist
// entries. Everything else (listeners, store, upstream, limits) needs a
// restart. An invalid config was already refused by LoadConfig; if a part
// still fails here nothing is applied.
func (a *App) Reload(ctx context.Context, cfg *config.Config, file string) error {
	engine, err := PolicyEngine(cfg)
	if err != nil {
		return err
	}
	if err := a.Allow.SetConfigEntries(cfg.Policy.Allow); err != nil {
		return err
	}
	a.Judge.SetEngine(engine)
	a.Log.Info("config reloaded", zap.String("file", file), zap.Strings("rules", engine.RuleNames()))
	return a.auditSimple(ctx, audit.Event{Actor: "system", Action: audit.ActionConfigLoad, Data: map[string]any{
		"file": file, "rules": engine.RuleNames(), "reload": true}})
}

// ConsoleAddr is the address of the console listener ("" if none).
func (a *App) ConsoleAddr() string {
	if a.consoleLn == nil {
		return ""
	}
	return a.consoleLn.Addr().String()
}

// Close stops accepting, lets in-flight sessions and deliveries finish
// within ctx, and closes the store. Nothing accepted is lost: what was not
// delivered stays queued for the next start.
func (a *App) Close(ctx context.Context) error {
	var errs []error
	if a.SMTP != nil && (a.smtpLn != nil || a.smtpsLn != nil) {
		errs = append(errs, a.SMTP.Shutdown(ctx))
	}
	if a.http != nil {
		errs = append(errs, a.http.Shutdown(ctx))
	}
	if a.console != nil {
		errs = append(errs, a.console.Shutdown(ctx))
	}
	if a.cancel != nil {
		a.cancel()
	}
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("shutdown: %w", ctx.Err()))
	}
	if a.checkpoints != nil && a.cancel != nil {
		// The last word: what happened since the last checkpoint.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		a.checkpoints.checkpoint(cctx)
		cancel()
	}
	if a.Store != nil {
		errs = append(errs, a.Store.Close())
	}
	return errors.Join(errs...)
}

// confirmLinks returns the signer of confirmation links: its key comes
// from confirm.key_file, or is a random secret kept in the store, made by
// the first instance that needs it and shared by every other.
func confirmLinks(ctx context.Context, cfg *config.Config, st store.Store) (*hold.Links, error) {
	if cfg.Confirm.KeyFile != "" {
		b, err := os.ReadFile(cfg.Path(cfg.Confirm.KeyFile))
		if err != nil {
			return nil, fmt.Errorf("confirm.key_file: %w", err)
		}
		l, err := hold.NewLinks(bytes.TrimSpace(b))
		if err != nil {
			return nil, fmt.Errorf("confirm.key_file: %w", err)
		}
		return l, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	var key []byte
	err := st.Update(ctx, func(tx store.Tx) error {
		var err error
		key, err = tx.InitSecret("confirm-link", fresh)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("confirmation link key: %w", err)
	}
	return hold.NewLinks(key)
}
