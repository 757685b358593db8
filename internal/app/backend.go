package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/smtpfront"
	"github.com/egressguard/egressguard/internal/verdict"
)

// backend connects the SMTP front end to accounts and intake.
type backend struct{ a *App }

func (b *backend) Authenticate(ctx context.Context, user, pass string) (*smtpfront.Identity, error) {
	u, err := b.a.Accounts.Authenticate(ctx, user, pass)
	if errors.Is(err, account.ErrBadCredentials) {
		// Failed logins are audited; successful ones are recorded with
		// each accepted message (auth_user and client_ip).
		ip := smtpfront.ClientIP(ctx)
		if aerr := b.a.auditSimple(ctx, audit.Event{Actor: "smtp:" + ip, Action: audit.ActionSMTPLoginFailed,
			Data: map[string]any{"user": user, "client_ip": ip}}); aerr != nil {
			b.a.Log.Warn("audit of a failed SMTP login failed", zap.Error(aerr))
		}
		return nil, smtpfront.ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	if !account.HasRole(u, account.RoleSender) {
		// Officers and admins who do not send mail through the guard
		// cannot submit: their accounts exist for the console. The
		// client is told no more than for a wrong password.
		ip := smtpfront.ClientIP(ctx)
		if aerr := b.a.auditSimple(ctx, audit.Event{Actor: "smtp:" + ip, Action: audit.ActionSMTPLoginFailed,
			Data: map[string]any{"user": u.Name, "client_ip": ip, "reason": "no sender role"}}); aerr != nil {
			b.a.Log.Warn("audit of a failed SMTP login failed", zap.Error(aerr))
		}
		return nil, smtpfront.ErrNoSenderRole
	}
	return &smtpfront.Identity{User: u.Name, Addresses: u.Addresses}, nil
}

func (b *backend) Submit(ctx context.Context, env *envelope.Envelope, data []byte) (smtpfront.Result, error) {
	j, err := b.a.Intake.Accept(ctx, env, data)
	action := j.Action
	if action == verdict.Bcc {
		action = verdict.Pass // queued, with the header rewritten
	}
	return smtpfront.Result{Action: action}, err
}

// Refused audits a message the SMTP front end refused itself (a header
// From that is not the sender's, a mail loop). It is not stored; the entry
// is the record that it was refused.
func (b *backend) Refused(ctx context.Context, env *envelope.Envelope, reason string) {
	b.a.auditRefusal(ctx, env, map[string]any{"reason": reason})
}

// httpHandler serves the metrics and health endpoints and nothing else:
// every other path is 404. Profiles (/debug/pprof/) expose memory contents
// such as message bytes and are served only when http.pprof is set.
func (a *App) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", http.NotFound)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{Registry: a.Registry}))
	if a.Cfg.HTTP.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-a.ready:
		default:
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.Store.Ping(ctx); err != nil {
			a.Log.Warn("readiness check failed", zap.Error(err))
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	return mux
}
