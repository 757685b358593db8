package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/allowlist"
	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

// Allowlist administration. allowlist.Service validates every change and
// commits it with its audit entry (actor, before/after, why); the console
// only checks roles, reads forms and explains refusals.
//
// Officers see the list and each entry's history read-only: what is
// allowed decides what they are asked to approve, so they must be able to
// see it. Only admins change it. Senders see neither (403).

// mayViewAllow reports whether u may see the allowlist.
func mayViewAllow(u *store.User) bool {
	return account.HasRole(u, account.RoleOfficer) || account.HasRole(u, account.RoleAdmin)
}

// mayEditAllow reports whether u may add and remove allowlist entries.
func mayEditAllow(u *store.User) bool { return account.HasRole(u, account.RoleAdmin) }

func allowEntry(e *store.AllowEntry, now time.Time) api.AllowEntry {
	out := api.AllowEntry{ID: e.ID, Kind: e.Kind, Value: e.Value, Display: allowlist.Display(e.Kind, e.Value),
		Reason: e.Reason, AddedBy: e.AddedBy, Senders: e.Senders, FreeMail: e.FreeMail, Source: e.Source}
	if e.Kind == store.AllowSubdomains {
		out.Value = "." + e.Value
	}
	if out.Senders == nil {
		out.Senders = []string{}
	}
	if !e.Added.IsZero() {
		t := e.Added.UTC()
		out.Added = &t
	}
	if !e.Expires.IsZero() {
		t := e.Expires.UTC()
		out.Expires = &t
		out.Expired = !now.Before(e.Expires)
	}
	return out
}

// matches applies the list search: a case-insensitive substring of the
// entry (Unicode or A-label), its reason or who added it.
func allowMatches(e *api.AllowEntry, q string) bool {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return true
	}
	for _, s := range []string{e.Display, e.Value, e.Reason, e.AddedBy} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// Config entries first, then the store's by value (allowlist.List's order).
func (c *Console) allowEntries(ctx context.Context, q string) (all int, shown []api.AllowEntry, err error) {
	es, err := c.allow.List(ctx)
	if err != nil {
		return 0, nil, err
	}
	now := c.cfg.Now()
	shown = []api.AllowEntry{}
	for _, e := range es {
		ae := allowEntry(e, now)
		if allowMatches(&ae, q) {
			shown = append(shown, ae)
		}
	}
	return len(es), shown, nil
}

// findAllow returns the current entry with the given ID, or nil.
func (c *Console) findAllow(ctx context.Context, id string) (*api.AllowEntry, error) {
	es, err := c.allow.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if e.ID == id {
			ae := allowEntry(e, c.cfg.Now())
			return &ae, nil
		}
	}
	return nil, nil
}

// parseExpiry reads an expiry as RFC 3339 or as a date, which means
// "through that day" in the server's time zone (the zone the console
// shows times in).
func parseExpiry(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("expires %q: want an RFC 3339 time or a date (YYYY-MM-DD)", s)
	}
	return t.AddDate(0, 0, 1), nil
}

// splitSenders reads the sender scope field: addresses or domains
// separated by commas, semicolons or white space.
func splitSenders(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == '、' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '　'
	})
}

// badSender returns the first sender scope that allowlist.Service would
// refuse, checked the way it checks them, or "".
func badSender(senders []string) string {
	for _, sd := range senders {
		sd = strings.ToLower(strings.TrimSpace(sd))
		if sd == "" {
			continue
		}
		if !strings.Contains(sd, "@") || strings.HasPrefix(sd, "@") {
			sd = strings.TrimPrefix(sd, "@")
		}
		if _, _, err := allowlist.Parse(sd); err != nil {
			return sd
		}
	}
	return ""
}

// allowError maps an error of allowlist.Service to a status, an API code
// and a catalogue key. Anything else is internal and is not shown.
func allowError(err error) (status int, code, key string) {
	switch {
	case errors.Is(err, allowlist.ErrPublicSuffix):
		return http.StatusUnprocessableEntity, "public_suffix", "err.allow_public_suffix"
	case errors.Is(err, allowlist.ErrFreeMail):
		return http.StatusUnprocessableEntity, "free_mail", "err.allow_free_mail"
	case errors.Is(err, allowlist.ErrInvalid):
		return http.StatusUnprocessableEntity, "invalid", "err.allow_invalid"
	case errors.Is(err, allowlist.ErrExists):
		return http.StatusConflict, "exists", "err.allow_exists"
	case errors.Is(err, allowlist.ErrConfigEntry):
		return http.StatusConflict, "config_entry", "err.allow_config"
	case errors.Is(err, allowlist.ErrNotFound):
		return http.StatusNotFound, "not_found", "err.allow_not_found"
	}
	return http.StatusInternalServerError, "internal", "err.internal"
}

// ---- pages

type allowForm struct {
	Value, Reason, Expires, Senders string
	Confirm                         bool
}

type allowData struct {
	pageData
	Entries []api.AllowEntry
	Total   int
	Q       string
	CanEdit bool
	Form    allowForm
	Error   string
	// NeedConfirm: the value is a free-mail domain; the confirmation
	// checkbox is shown (it is not offered before it is needed).
	NeedConfirm bool
	Now         time.Time
}

func (c *Console) allowPage(w http.ResponseWriter, r *http.Request, u *store.User) {
	if !mayViewAllow(u) {
		c.errorPage(w, r, u, http.StatusForbidden, "err.forbidden")
		return
	}
	d := c.newAllowData(r, u)
	d.Q = r.URL.Query().Get("q")
	if err := c.fillAllow(r.Context(), d); err != nil {
		c.allowFailed(w, r, u, err)
		return
	}
	switch r.URL.Query().Get("done") {
	case "added":
		// The flash names the entry by looking it up, never by echoing
		// the URL: a crafted link cannot make the page claim anything.
		if e, err := c.findAllow(r.Context(), r.URL.Query().Get("id")); err == nil && e != nil {
			d.Flash = d.L.T("done.allow_added", e.Display)
		}
	case "removed":
		d.Flash = d.L.T("done.allow_removed")
	}
	c.render(w, r, http.StatusOK, "allow", d)
}

func (c *Console) newAllowData(r *http.Request, u *store.User) *allowData {
	return &allowData{pageData: c.page(r, u, "allow.title"), CanEdit: mayEditAllow(u), Now: c.cfg.Now()}
}

func (c *Console) fillAllow(ctx context.Context, d *allowData) error {
	var err error
	d.Total, d.Entries, err = c.allowEntries(ctx, d.Q)
	return err
}

func (c *Console) allowFailed(w http.ResponseWriter, r *http.Request, u *store.User, err error) {
	c.log.Error("allowlist request failed", zap.String("path", r.URL.Path), zap.String("user", u.Name), zap.Error(err))
	c.errorPage(w, r, u, http.StatusInternalServerError, "err.internal")
}

// allowAdd adds an entry from the form. A refusal shows the form again,
// filled in, with the reason in words.
func (c *Console) allowAdd(w http.ResponseWriter, r *http.Request, u *store.User) {
	if !mayEditAllow(u) {
		c.log.Warn("allowlist change refused", zap.String("user", u.Name), zap.String("path", r.URL.Path))
		c.errorPage(w, r, u, http.StatusForbidden, "err.forbidden")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, r, u, http.StatusBadRequest, "err.bad_request")
		return
	}
	pf := r.PostForm
	form := allowForm{Value: strings.TrimSpace(pf.Get("value")), Reason: pf.Get("reason"),
		Expires: strings.TrimSpace(pf.Get("expires")), Senders: pf.Get("senders"), Confirm: pf.Get("confirm_free_mail") != ""}
	d := c.newAllowData(r, u)
	d.Form = form
	d.NeedConfirm = form.Confirm
	refuse := func(status int, key string, args ...any) {
		d.Error = d.L.T(key, args...)
		if err := c.fillAllow(r.Context(), d); err != nil {
			c.allowFailed(w, r, u, err)
			return
		}
		c.render(w, r, status, "allow", d)
	}

	// The checks run in the order of the form, so the first problem the
	// admin reads is the topmost one.
	if _, _, err := allowlist.Parse(form.Value); err != nil {
		status, _, key := allowError(err)
		refuse(status, key, form.Value)
		return
	}
	if strings.TrimSpace(form.Reason) == "" {
		refuse(http.StatusUnprocessableEntity, "err.allow_reason")
		return
	}
	exp, err := parseExpiry(form.Expires)
	if err != nil {
		refuse(http.StatusUnprocessableEntity, "err.allow_expires", form.Expires)
		return
	}
	if !exp.IsZero() && !exp.After(c.cfg.Now()) {
		refuse(http.StatusUnprocessableEntity, "err.allow_expires_past")
		return
	}
	senders := splitSenders(form.Senders)
	if bad := badSender(senders); bad != "" {
		refuse(http.StatusUnprocessableEntity, "err.allow_sender", bad)
		return
	}
	e, err := c.allow.Add(r.Context(), u.Name, allowlist.Entry{Value: form.Value, Reason: form.Reason,
		Expires: exp, Senders: senders, ConfirmFree: form.Confirm})
	if err != nil {
		status, _, key := allowError(err)
		switch {
		case status == http.StatusInternalServerError:
			c.allowFailed(w, r, u, err)
		case errors.Is(err, allowlist.ErrFreeMail):
			d.NeedConfirm = true
			refuse(status, key, form.Value)
		case errors.Is(err, allowlist.ErrInvalid):
			// Checked above; what is left is a race with the clock.
			refuse(status, "err.allow_refused", err.Error())
		default:
			refuse(status, key, form.Value)
		}
		return
	}
	http.Redirect(w, r, "/allow?done=added&id="+url.QueryEscape(e.ID), http.StatusSeeOther)
}

type historyRow struct {
	api.AuditEntry
	Change        string // "add", "remove", or the action
	Why           string
	Before, After string // indented JSON, "" if absent
}

type allowEntryData struct {
	pageData
	ID      string
	Entry   *api.AllowEntry // nil: removed
	History []historyRow
	CanEdit bool
	Why     string
	Error   string
	Now     time.Time
}

func (c *Console) allowEntryPage(w http.ResponseWriter, r *http.Request, u *store.User) {
	if !mayViewAllow(u) {
		c.errorPage(w, r, u, http.StatusForbidden, "err.forbidden")
		return
	}
	c.renderAllowEntry(w, r, u, http.StatusOK, "", "")
}

func (c *Console) renderAllowEntry(w http.ResponseWriter, r *http.Request, u *store.User, status int, why, errKey string) {
	id := r.PathValue("id")
	ctx := r.Context()
	e, err := c.findAllow(ctx, id)
	if err != nil {
		c.allowFailed(w, r, u, err)
		return
	}
	hist, err := c.allow.History(ctx, id)
	if err != nil {
		c.allowFailed(w, r, u, err)
		return
	}
	if e == nil && len(hist) == 0 {
		c.errorPage(w, r, u, http.StatusNotFound, "err.allow_not_found")
		return
	}
	d := &allowEntryData{pageData: c.page(r, u, "allow.entry_title"), ID: id, Entry: e, CanEdit: mayEditAllow(u),
		Why: why, Now: c.cfg.Now()}
	if e != nil {
		d.Title = e.Display
	} else if v := removedValue(hist); v != "" {
		d.Title = v
	}
	if errKey != "" {
		d.Error = d.L.T(errKey)
	}
	// Newest first, like the audit log page.
	for i := len(hist) - 1; i >= 0; i-- {
		d.History = append(d.History, historyOf(hist[i]))
	}
	c.render(w, r, status, "allow_entry", d)
}

// historyOf splits an allowlist audit entry into its before, after and why.
func historyOf(e *store.AuditEntry) historyRow {
	h := historyRow{AuditEntry: auditEntry(e), Change: strings.TrimPrefix(e.Action, audit.PrefixAllow)}
	var data map[string]json.RawMessage
	if json.Unmarshal(e.Data, &data) != nil {
		return h
	}
	indent := func(raw json.RawMessage) string {
		var b bytes.Buffer
		if len(raw) == 0 || json.Indent(&b, raw, "", "  ") != nil {
			return ""
		}
		return b.String()
	}
	h.Before, h.After = indent(data["before"]), indent(data["after"])
	var why string
	if json.Unmarshal(data["why"], &why) == nil {
		h.Why = why
	}
	return h
}

// removedValue names a removed entry from its history, for people.
func removedValue(hist []*store.AuditEntry) string {
	for _, h := range slices.Backward(hist) {
		var data struct {
			Before, After *struct{ Kind, Value string }
		}
		if json.Unmarshal(h.Data, &data) != nil {
			continue
		}
		for _, x := range []*struct{ Kind, Value string }{data.Before, data.After} {
			if x != nil && x.Value != "" {
				return allowlist.Display(x.Kind, x.Value)
			}
		}
	}
	return ""
}

// allowRemove removes an entry; the form asks why, and the answer goes
// into the audit entry.
func (c *Console) allowRemove(w http.ResponseWriter, r *http.Request, u *store.User) {
	if !mayEditAllow(u) {
		c.log.Warn("allowlist change refused", zap.String("user", u.Name), zap.String("path", r.URL.Path))
		c.errorPage(w, r, u, http.StatusForbidden, "err.forbidden")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, r, u, http.StatusBadRequest, "err.bad_request")
		return
	}
	why := strings.TrimSpace(r.PostForm.Get("why"))
	if why == "" {
		c.renderAllowEntry(w, r, u, http.StatusUnprocessableEntity, "", "err.allow_why")
		return
	}
	if err := c.allow.Remove(r.Context(), u.Name, r.PathValue("id"), why); err != nil {
		status, _, key := allowError(err)
		if status == http.StatusInternalServerError {
			c.allowFailed(w, r, u, err)
			return
		}
		c.errorPage(w, r, u, status, key)
		return
	}
	http.Redirect(w, r, "/allow?done=removed", http.StatusSeeOther)
}

// ---- API

func (c *Console) apiAllowError(w http.ResponseWriter, r *http.Request, u *store.User, err error) {
	status, code, _ := allowError(err)
	if status == http.StatusInternalServerError {
		c.log.Error("api request failed", zap.String("path", r.URL.Path), zap.String("user", u.Name), zap.Error(err))
		apiError(w, status, code, "internal error")
		return
	}
	// The service's words name only what the admin sent.
	apiError(w, status, code, err.Error())
}

func (c *Console) apiForbidden(w http.ResponseWriter, r *http.Request, u *store.User) {
	c.log.Warn("api request refused", zap.String("user", u.Name), zap.String("method", r.Method), zap.String("path", r.URL.Path))
	apiError(w, http.StatusForbidden, "forbidden", langOf("en").T("err.forbidden"))
}

func (c *Console) apiAllowList(w http.ResponseWriter, r *http.Request, u *store.User) {
	if !mayViewAllow(u) {
		c.apiForbidden(w, r, u)
		return
	}
	_, shown, err := c.allowEntries(r.Context(), r.URL.Query().Get("q"))
	if err != nil {
		c.apiAllowError(w, r, u, err)
		return
	}
	apiJSON(w, http.StatusOK, api.AllowList{Entries: shown})
}

// readJSON decodes an optional JSON body strictly: unknown fields are an
// error, so that a misspelt "confirm_free_mail" is not silently ignored.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

func (c *Console) apiAllowAdd(w http.ResponseWriter, r *http.Request, u *store.User) {
	if !mayEditAllow(u) {
		c.apiForbidden(w, r, u)
		return
	}
	var req api.AllowRequest
	if err := readJSON(w, r, &req); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request",
			`the body must be JSON: {"value": "…", "reason": "…", "expires": "2027-03-31", "senders": ["…"], "confirm_free_mail": false} (`+err.Error()+`)`)
		return
	}
	exp, err := parseExpiry(req.Expires)
	if err != nil {
		apiError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
		return
	}
	e, err := c.allow.Add(r.Context(), u.Name, allowlist.Entry{Value: req.Value, Reason: req.Reason, Expires: exp,
		Senders: req.Senders, ConfirmFree: req.ConfirmFreeMail})
	if err != nil {
		c.apiAllowError(w, r, u, err)
		return
	}
	w.Header().Set("Location", "/api/allow/"+url.PathEscape(e.ID)+"/history")
	apiJSON(w, http.StatusCreated, allowEntry(e, c.cfg.Now()))
}

func (c *Console) apiAllowRemove(w http.ResponseWriter, r *http.Request, u *store.User) {
	if !mayEditAllow(u) {
		c.apiForbidden(w, r, u)
		return
	}
	var req api.AllowRemoveRequest
	if err := readJSON(w, r, &req); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", `the body must be empty or JSON: {"why": "…"} (`+err.Error()+`)`)
		return
	}
	id := r.PathValue("id")
	if err := c.allow.Remove(r.Context(), u.Name, id, strings.TrimSpace(req.Why)); err != nil {
		c.apiAllowError(w, r, u, err)
		return
	}
	apiJSON(w, http.StatusOK, api.AllowRemoved{ID: id, Removed: true})
}

func (c *Console) apiAllowHistory(w http.ResponseWriter, r *http.Request, u *store.User) {
	if !mayViewAllow(u) {
		c.apiForbidden(w, r, u)
		return
	}
	id := r.PathValue("id")
	e, err := c.findAllow(r.Context(), id)
	if err != nil {
		c.apiAllowError(w, r, u, err)
		return
	}
	hist, err := c.allow.History(r.Context(), id)
	if err != nil {
		c.apiAllowError(w, r, u, err)
		return
	}
	if e == nil && len(hist) == 0 {
		c.apiAllowError(w, r, u, allowlist.ErrNotFound)
		return
	}
	out := api.AllowHistory{ID: id, Entry: e, History: make([]api.AuditEntry, 0, len(hist))}
	for _, h := range slices.Backward(hist) {
		out.History = append(out.History, auditEntry(h))
	}
	apiJSON(w, http.StatusOK, out)
}
