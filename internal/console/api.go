package console

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/store"
)

// The JSON API. Requests authenticate with "Authorization: Bearer TOKEN";
// errors are {"error": code, "message": text} with these codes and statuses:
//
//	unauthorized      401  no, unknown or expired token, or disabled user
//	forbidden         403  not an officer, or not the sender (withdraw)
//	self_approval     403  deciding on one's own message
//	not_found         404  no such message, or not the caller's to see
//	already_approved  409  this officer's approval already counts
//	not_held          409  decided, withdrawn or expired meanwhile
//	comment_required  422  a rejection without a comment
//	domain_required   422  a high-risk approval without the recipient's
//	                       domain typed ({"confirm_domain": "example.com"})
//	justification_required 422  an empty justification (POST …/justify,
//	                       the sender: {"justification": "…"})
//	bad_request       400  unreadable request body or query
//	cross_origin      403  a browser request from another site
//	internal          500
//
// The allowlist (GET and POST /api/allow, DELETE /api/allow/{id},
// GET /api/allow/{id}/history: officers read, admins change) adds:
//
//	forbidden         403  a sender, or an officer changing the list
//	not_found         404  no such entry
//	exists            409  the same entry (value and senders) is listed already
//	config_entry      409  the entry comes from the config file
//	invalid           422  malformed value, sender or expiry; no reason
//	public_suffix     422  com, co.jp, lg.jp … would allow unrelated organisations
//	free_mail         422  a free-mail domain without "confirm_free_mail": true
//
// GET /api/audit?msg=&user=&rcpt=&since=&until=&before=&limit= searches
// the audit log (officers and admins), newest first; "older" in the
// answer is the "before" of the next page.

// via names the interface for the audit log: "cli" or "api". The CLI says
// who it is in its User-Agent; this is informational, not a credential.
func via(r *http.Request) string {
	if strings.HasPrefix(r.UserAgent(), api.CLIUserAgent) {
		return "cli"
	}
	return "api"
}

// tokenUser authenticates the bearer token of r.
func (c *Console) tokenUser(r *http.Request) (*store.User, error) {
	auth := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, nil
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || len(tok) > 200 {
		return nil, nil
	}
	return c.acc.TokenUser(r.Context(), tok, c.cfg.Now())
}

func (c *Console) withToken(h func(http.ResponseWriter, *http.Request, *store.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, err := c.tokenUser(r)
		if err != nil {
			c.log.Error("token lookup failed", zap.Error(err))
			apiError(w, http.StatusInternalServerError, "internal", "internal error")
			return
		}
		if u == nil {
			c.log.Info("api request without valid token", zap.String("ip", clientIP(r)), zap.String("path", r.URL.Path))
			w.Header().Set("WWW-Authenticate", `Bearer realm="egressguard"`)
			apiError(w, http.StatusUnauthorized, "unauthorized", "a valid API token is required (Authorization: Bearer …)")
			return
		}
		h(w, r, u)
	}
}

func apiJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	apiJSON(w, status, api.Error{Code: code, Message: msg})
}

// holdError maps an error of hold.Service to a status, an API code and a
// catalogue key. Anything else is internal and is not shown.
func holdError(err error) (status int, code, key string) {
	switch {
	case errors.Is(err, hold.ErrNotFound):
		return http.StatusNotFound, "not_found", "err.not_found"
	case errors.Is(err, hold.ErrSelfApproval):
		return http.StatusForbidden, "self_approval", "err.self_approval"
	case errors.Is(err, hold.ErrForbidden):
		return http.StatusForbidden, "forbidden", "err.forbidden"
	case errors.Is(err, hold.ErrAlreadyApproved):
		return http.StatusConflict, "already_approved", "err.already_approved"
	case errors.Is(err, hold.ErrExpired):
		return http.StatusConflict, "expired", "err.expired"
	case errors.Is(err, hold.ErrNotHeld):
		return http.StatusConflict, "not_held", "err.not_held"
	case errors.Is(err, hold.ErrCommentRequired):
		return http.StatusUnprocessableEntity, "comment_required", "err.comment_required"
	case errors.Is(err, hold.ErrDomainRequired):
		return http.StatusUnprocessableEntity, "domain_required", "err.domain_required"
	case errors.Is(err, hold.ErrJustificationRequired):
		return http.StatusUnprocessableEntity, "justification_required", "err.justification_required"
	case errors.Is(err, hold.ErrNotWaiting):
		return http.StatusConflict, "not_waiting", "err.not_waiting"
	case errors.Is(err, hold.ErrBadLink):
		return http.StatusForbidden, "bad_link", "err.bad_link"
	}
	return http.StatusInternalServerError, "internal", "err.internal"
}

func (c *Console) apiHoldError(w http.ResponseWriter, r *http.Request, u *store.User, err error) {
	status, code, key := holdError(err)
	if status == http.StatusInternalServerError {
		c.log.Error("api request failed", zap.String("path", r.URL.Path), zap.String("user", u.Name), zap.Error(err))
	}
	apiError(w, status, code, langOf("en").T(key))
}

func (c *Console) apiHeld(w http.ResponseWriter, r *http.Request, u *store.User) {
	q := r.URL.Query()
	_, shown, err := c.listHeld(r.Context(), u, q.Get("rule"), q.Get("sender"))
	if err != nil {
		c.apiHoldError(w, r, u, err)
		return
	}
	out := api.List{Messages: shown, WindowDays: int(c.cfg.NearMissWindow / (24 * time.Hour)), TimeZone: c.cfg.Zone.Name()}
	if out.Messages == nil {
		out.Messages = []api.Message{}
	}
	if out.NearMisses, err = c.nearMisses(r.Context()); err != nil {
		c.apiHoldError(w, r, u, err)
		return
	}
	apiJSON(w, http.StatusOK, out)
}

func (c *Console) apiMessage(w http.ResponseWriter, r *http.Request, u *store.User) {
	d, err := c.detail(r.Context(), u, r.PathValue("id"), via(r))
	if err != nil {
		c.apiHoldError(w, r, u, err)
		return
	}
	if d.Decisions == nil {
		d.Decisions = []api.Decision{}
	}
	d.TimeZone = c.cfg.Zone.Name()
	apiJSON(w, http.StatusOK, d)
}

func (c *Console) apiApprove(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req api.ApproveRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", "the body must be empty or JSON: {\"confirm_domain\": \"…\"}")
		return
	}
	id := r.PathValue("id")
	out, err := c.hold.ApproveTyped(r.Context(), u, id, via(r), req.ConfirmDomain)
	if err != nil {
		c.apiHoldError(w, r, u, err)
		return
	}
	state := store.Held
	if out.Released {
		state = store.Queued
	}
	apiJSON(w, http.StatusOK, api.Outcome{ID: id, State: string(state), Released: out.Released, Approvals: out.Approvals, Needed: out.Needed})
}

func (c *Console) apiReject(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req api.RejectRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", "the body must be JSON: {\"comment\": \"…\", \"near_miss\": false}")
		return
	}
	id := r.PathValue("id")
	if err := c.hold.Reject(r.Context(), u, id, req.Comment, req.NearMiss, via(r)); err != nil {
		c.apiHoldError(w, r, u, err)
		return
	}
	out := api.Outcome{ID: id, State: string(store.Rejected)}
	if req.NearMiss && c.cfg.IncidentContacts == 0 {
		out.Warning = langOf("en").T("act.near_miss_nobody")
	}
	apiJSON(w, http.StatusOK, out)
}

func (c *Console) apiJustify(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req api.JustifyRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", "the body must be JSON: {\"justification\": \"…\"}")
		return
	}
	id := r.PathValue("id")
	if err := c.hold.Justify(r.Context(), u, id, req.Justification, via(r)); err != nil {
		c.apiHoldError(w, r, u, err)
		return
	}
	apiJSON(w, http.StatusOK, api.Outcome{ID: id, State: string(store.Held)})
}

func (c *Console) apiWithdraw(w http.ResponseWriter, r *http.Request, u *store.User) {
	id := r.PathValue("id")
	if err := c.hold.Withdraw(r.Context(), u, id, via(r)); err != nil {
		c.apiHoldError(w, r, u, err)
		return
	}
	apiJSON(w, http.StatusOK, api.Outcome{ID: id, State: string(store.Withdrawn)})
}
