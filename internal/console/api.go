package console

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

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

// APIMessage is a message in the held list.
type APIMessage struct {
	ID          string      `json:"id"`
	State       string      `json:"state"`
	Received    time.Time   `json:"received"`
	From        string      `json:"from"` // envelope sender
	AuthUser    string      `json:"auth_user,omitempty"`
	HeaderFrom  string      `json:"header_from,omitempty"`
	Subject     string      `json:"subject"`
	Action      string      `json:"action,omitempty"` // the verdict's action
	Rcpts       []APIRcpt   `json:"rcpts"`
	Reasons     []APIReason `json:"reasons"`
	HoldExpires *time.Time  `json:"hold_expires,omitempty"`
	// ReleaseAt is when delayed mail leaves by itself.
	ReleaseAt *time.Time `json:"release_at,omitempty"`
	Own       bool       `json:"own"` // the caller sent it
	// HighRisk: approving needs the recipient's domain typed.
	HighRisk bool `json:"high_risk,omitempty"`
}

// APIRcpt is an envelope recipient with the verdict's class.
type APIRcpt struct {
	Addr    string `json:"addr"`
	Class   string `json:"class,omitempty"`
	Unknown bool   `json:"unknown"`
	// Action is what the rules chose for this recipient.
	Action string `json:"action,omitempty"`
	// SentAs names the part that split delivery sent this recipient at
	// once; Waiting is set for a recipient the message still holds back.
	SentAs  string `json:"sent_as,omitempty"`
	Waiting bool   `json:"waiting,omitempty"`
	// Hidden: a blind copy, not in the To or Cc header (message view
	// only, while the content is kept).
	Hidden bool `json:"hidden,omitempty"`
	// Notes are other evidence about this recipient from the verdict
	// ("lookalike: example.com").
	Notes []string `json:"notes,omitempty"`
}

// APISignal is evidence of the verdict beyond reasons, links and
// recipients (look-alike domains, personal-data counts …), by field name.
type APISignal struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Raw is the field as the verdict has it, for showing it in the
	// reader's language.
	Raw json.RawMessage `json:"-"`
}

// APIReason is one reason of the verdict.
type APIReason struct {
	Rule     string `json:"rule,omitempty"`
	Detail   string `json:"detail,omitempty"`
	DetailJA string `json:"detail_ja,omitempty"`
	DetailEN string `json:"detail_en,omitempty"`
	Matched  string `json:"matched,omitempty"` // what made the rule's conditions true
	Action   string `json:"action,omitempty"`
	Monitor  bool   `json:"monitor,omitempty"`
}

// APIList is the answer to GET /api/held.
type APIList struct {
	Messages   []APIMessage `json:"messages"`
	NearMisses int          `json:"near_misses"`      // rejections marked near miss in the window
	WindowDays int          `json:"near_miss_window"` // the window, in days
	TimeZone   string       `json:"time_zone"`        // the zone the guard shows times in (IANA name)
}

// APIDetail is the answer to GET /api/messages/{id}.
type APIDetail struct {
	APIMessage
	Size          int64  `json:"size"`
	ClientAddr    string `json:"client_addr,omitempty"`
	Helo          string `json:"helo,omitempty"`
	Approvals     int    `json:"approvals"` // distinct officers who approved
	Needed        int    `json:"needed"`    // distinct approvals needed to release
	ApprovedByYou bool   `json:"approved_by_you"`
	CanDecide     bool   `json:"can_decide"`
	// Self: the caller may not decide on it as their own message (sent
	// by them, or with one of their addresses in the header From).
	Self        bool `json:"self"`
	CanWithdraw bool `json:"can_withdraw"`
	// The sender's actions on mail that waits for them.
	CanSendNow  bool `json:"can_send_now"`
	CanCancel   bool `json:"can_cancel"`
	CanConfirm  bool `json:"can_confirm"`
	BodyDeleted bool `json:"body_deleted"` // retention removed the content
	// BodyGoneAt is when retention destroys (or destroyed) the content;
	// absent while the message is held or queued.
	BodyGoneAt   *time.Time      `json:"body_gone_at,omitempty"`
	Headers      []APIHeader     `json:"headers,omitempty"`
	HeadersTotal int             `json:"headers_total,omitempty"`
	Parts        []APIPart       `json:"parts,omitempty"`
	Links        []APILink       `json:"links,omitempty"`
	Attachments  []APIAttachment `json:"attachments,omitempty"`
	Personal     []APIPersonal   `json:"personal,omitempty"`
	Problems     []APIProblem    `json:"problems,omitempty"`
	Decisions    []APIDecision   `json:"decisions"`
	Verdict      json.RawMessage `json:"verdict,omitempty"`
	// HighRisk: the approver must type the recipient's domain to approve
	// ("confirm_domain" in the approval request); RiskWhy names the
	// rules or signals that made it so.
	RiskWhy       []string `json:"risk_why,omitempty"`
	ConfirmDomain string   `json:"-"` // not handed out: the approver reads it from the recipients
	// Signals is other evidence of the verdict.
	Signals []APISignal `json:"signals,omitempty"`
	// Justifications are the sender's explanations, oldest first.
	Justifications []APIDecision `json:"justifications,omitempty"`
	// TimeZone is the zone the guard shows times in (IANA name).
	TimeZone string `json:"time_zone,omitempty"`

	rcptNotes map[string][]string
}

// APIHeader is one header field, decoded.
type APIHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// APIPart is one MIME leaf part with its decoded text.
type APIPart struct {
	Path        string `json:"path"`
	ContentType string `json:"content_type"`
	Charset     string `json:"charset,omitempty"`
	Filename    string `json:"filename,omitempty"`
	Disposition string `json:"disposition,omitempty"`
	Size        int64  `json:"size"`
	Text        string `json:"text,omitempty"`
	Truncated   bool   `json:"truncated,omitempty"`
	// PersonalHidden: the text holds person records or My/card numbers
	// and is not shown; the masked findings are.
	PersonalHidden bool `json:"personal_hidden,omitempty"`
}

// APILink is a link found in the message.
type APILink struct {
	URL      string   `json:"url"`
	Raw      string   `json:"raw,omitempty"`
	Host     string   `json:"host"`
	Part     string   `json:"part"`
	Source   string   `json:"source"`
	Wrappers []string `json:"wrappers,omitempty"`
	Text     string   `json:"text,omitempty"`
	Mismatch bool     `json:"mismatch,omitempty"`
	Opaque   bool     `json:"opaque,omitempty"`
	Flagged  bool     `json:"flagged"` // named by the verdict
	Provider string   `json:"provider,omitempty"`
	Kind     string   `json:"kind,omitempty"` // the verdict's kind of share link
	Why      string   `json:"why,omitempty"`  // why the verdict counts it as a share link
}

// APIAttachment is an attachment's name and size.
type APIAttachment struct {
	Part        string `json:"part"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Encrypted   bool   `json:"encrypted,omitempty"`
}

// APIPersonal is the personal data found in one file, sheet or body
// part: counts and masked samples only, never whole records.
type APIPersonal struct {
	Part      string      `json:"part"`
	File      string      `json:"file,omitempty"`
	Records   int         `json:"records"`
	Kinds     []string    `json:"kinds,omitempty"` // kinds in records, reason order
	MyNumbers int         `json:"my_numbers,omitempty"`
	Cards     int         `json:"cards,omitempty"`
	Samples   []APISample `json:"samples,omitempty"`
}

// APISample is one masked value ("山田 **", "090-****-5678").
type APISample struct {
	Kind   string `json:"kind"`
	Masked string `json:"masked"`
}

// APIProblem is something inspection could not do completely.
type APIProblem struct {
	Part   string `json:"part,omitempty"`
	Kind   string `json:"kind"`
	Detail string `json:"detail,omitempty"`
}

// APIDecision is one entry of the decision history.
type APIDecision struct {
	Actor    string    `json:"actor"`
	Kind     string    `json:"kind"`
	Comment  string    `json:"comment,omitempty"`
	NearMiss bool      `json:"near_miss,omitempty"`
	At       time.Time `json:"at"`
}

// APIRejectRequest is the body of POST /api/messages/{id}/reject.
type APIRejectRequest struct {
	Comment  string `json:"comment"`
	NearMiss bool   `json:"near_miss"`
}

// APIApproveRequest is the (optional) body of POST /api/messages/{id}/approve.
type APIApproveRequest struct {
	// ConfirmDomain is the recipient's domain, typed by the approver;
	// required for a high-risk hold (see APIDetail.HighRisk).
	ConfirmDomain string `json:"confirm_domain"`
}

// APIJustifyRequest is the body of POST /api/messages/{id}/justify.
type APIJustifyRequest struct {
	Justification string `json:"justification"`
}

// APIOutcome is the answer to approve, reject and withdraw.
type APIOutcome struct {
	ID        string `json:"id"`
	State     string `json:"state"` // the message's state after the action
	Released  bool   `json:"released,omitempty"`
	Approvals int    `json:"approvals,omitempty"`
	Needed    int    `json:"needed,omitempty"`
	// Warning says what the action did not do that the caller may
	// expect (a near miss with no incident contacts to tell).
	Warning string `json:"warning,omitempty"`
}

// APIError is the body of every error answer.
type APIError struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *APIError) Error() string { return e.Message }

// CLIUserAgent prefixes the User-Agent of the egressguard command, so the
// audit log can tell CLI actions from other API clients.
const CLIUserAgent = "egressguard-cli/"

// via names the interface for the audit log: "cli" or "api". The CLI says
// who it is in its User-Agent; this is informational, not a credential.
func via(r *http.Request) string {
	if strings.HasPrefix(r.UserAgent(), CLIUserAgent) {
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
	ctx := r.Context()
	t, err := c.st.Token(ctx, secretID(tok))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !t.Expires.IsZero() && !c.cfg.Now().Before(t.Expires) {
		return nil, nil
	}
	u, err := c.acc.Get(ctx, t.User)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return nil, nil
	}
	return u, err
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
	apiJSON(w, status, APIError{Code: code, Message: msg})
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
	out := APIList{Messages: shown, WindowDays: int(c.cfg.NearMissWindow / (24 * time.Hour)), TimeZone: c.cfg.Zone.Name()}
	if out.Messages == nil {
		out.Messages = []APIMessage{}
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
		d.Decisions = []APIDecision{}
	}
	d.TimeZone = c.cfg.Zone.Name()
	apiJSON(w, http.StatusOK, d)
}

func (c *Console) apiApprove(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req APIApproveRequest
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
	apiJSON(w, http.StatusOK, APIOutcome{ID: id, State: string(state), Released: out.Released, Approvals: out.Approvals, Needed: out.Needed})
}

func (c *Console) apiReject(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req APIRejectRequest
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
	out := APIOutcome{ID: id, State: string(store.Rejected)}
	if req.NearMiss && c.cfg.IncidentContacts == 0 {
		out.Warning = langOf("en").T("act.near_miss_nobody")
	}
	apiJSON(w, http.StatusOK, out)
}

func (c *Console) apiJustify(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req APIJustifyRequest
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
	apiJSON(w, http.StatusOK, APIOutcome{ID: id, State: string(store.Held)})
}

func (c *Console) apiWithdraw(w http.ResponseWriter, r *http.Request, u *store.User) {
	id := r.PathValue("id")
	if err := c.hold.Withdraw(r.Context(), u, id, via(r)); err != nil {
		c.apiHoldError(w, r, u, err)
		return
	}
	apiJSON(w, http.StatusOK, APIOutcome{ID: id, State: string(store.Withdrawn)})
}
