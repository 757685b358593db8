package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/store"
)

var pageNames = []string{"login", "queue", "message", "confirm", "error", "allow", "allow_entry", "audit", "officers", "away", "sendlink"}

var funcs = template.FuncMap{
	// line and text make mail content safe to show, beyond HTML escaping:
	// no control or text-reordering characters (see Printable).
	"line":  func(s string) string { return Printable(s, false) },
	"text":  func(s string) string { return Printable(s, true) },
	"lower": strings.ToLower,
	// path escapes one path segment (allowlist IDs of config entries
	// carry the entry as written).
	"path": url.PathEscape,
}

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// pageData is what every page gets.
type pageData struct {
	L       lang
	User    *store.User
	Officer bool
	Admin   bool
	Title   string
	Path    string // this page, for the language switch to come back to
	Flash   string
	// The navigation: which sections u may open, and which one this is.
	ShowAllow     bool
	ShowAudit     bool
	ShowIncidents bool
	ShowOfficers  bool
	Section       string // "held", "allow", "audit", "sent", "incidents", "officers", "settings/away"
}

func (c *Console) page(r *http.Request, u *store.User, titleKey string) pageData {
	p := pageData{User: u, Path: r.URL.RequestURI(), Section: section(r.URL.Path)}
	if u != nil {
		p.L = pickLang(r, u.Lang)
		p.Officer = account.HasRole(u, account.RoleOfficer)
		p.Admin = account.HasRole(u, account.RoleAdmin)
		p.ShowAudit = mayAudit(u)
		p.ShowOfficers = mayOfficers(u)
		p.ShowAllow = c.allow != nil && mayViewAllow(u)
		p.ShowIncidents = c.inc != nil
	} else {
		p.L = pickLang(r, "")
	}
	p.L.zone = c.cfg.Zone
	p.Title = p.L.T(titleKey)
	return p
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var b bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&b, "layout", data); err != nil {
		c.log.Error("rendering page", zap.String("page", name), zap.Error(err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

type errorData struct {
	pageData
	Message string
	Back    string
}

// section names the part of the console a path belongs to.
func section(path string) string {
	for _, s := range []string{"allow", "audit", "sent", "incidents", "officers", "settings/away"} {
		if path == "/"+s || strings.HasPrefix(path, "/"+s+"/") {
			return s
		}
	}
	return "held"
}

func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, u *store.User, status int, key string, args ...any) {
	d := &errorData{pageData: c.page(r, u, "err.title"), Back: "/held"}
	d.Message = d.L.T(key, args...)
	id := r.PathValue("id")
	switch {
	case d.Section == "held" && id != "" && status != http.StatusNotFound:
		d.Back = "/messages/" + url.PathEscape(id)
	case d.Section == "allow" && d.ShowAllow:
		d.Back = "/allow"
		if id != "" && status != http.StatusNotFound {
			d.Back = "/allow/" + url.PathEscape(id)
		}
	case d.Section == "audit" && d.ShowAudit:
		d.Back = "/audit"
	}
	c.render(w, r, status, "error", d)
}

// holdErrorPage shows an error of hold.Service in words.
func (c *Console) holdErrorPage(w http.ResponseWriter, r *http.Request, u *store.User, err error) {
	status, _, key := holdError(err)
	if status == http.StatusInternalServerError {
		c.log.Error("console request failed", zap.String("path", r.URL.Path), zap.String("user", u.Name), zap.Error(err))
	}
	c.errorPage(w, r, u, status, key)
}

// ruleOption is a rule in the queue filter, shown by its reason in the
// reader's language (rule names are for admins).
type ruleOption struct{ Name, Label string }

type queueData struct {
	pageData
	Messages   []api.Message
	Total      int
	Rules      []ruleOption // rules present in the queue, for the filter
	Rule       string
	Sender     string
	NearMisses int
	WindowDays int
	Now        time.Time
}

func (c *Console) queuePage(w http.ResponseWriter, r *http.Request, u *store.User) {
	q := r.URL.Query()
	title := "queue.title"
	if !account.HasRole(u, account.RoleOfficer) {
		title = "queue.title_own"
	}
	d := &queueData{pageData: c.page(r, u, title), Rule: q.Get("rule"), Sender: q.Get("sender"), Now: c.cfg.Now(),
		WindowDays: int(c.cfg.NearMissWindow / (24 * time.Hour))}
	all, shown, err := c.listHeld(r.Context(), u, d.Rule, d.Sender)
	if err != nil {
		c.holdErrorPage(w, r, u, err)
		return
	}
	d.Messages, d.Total = shown, len(all)
	for _, m := range all {
		for _, rs := range m.Reasons {
			if rs.Rule != "" && !rs.Monitor && !slices.ContainsFunc(d.Rules, func(o ruleOption) bool { return o.Name == rs.Rule }) {
				d.Rules = append(d.Rules, ruleOption{Name: rs.Rule, Label: d.L.Reason(rs)})
			}
		}
	}
	slices.SortFunc(d.Rules, func(a, b ruleOption) int { return strings.Compare(a.Label, b.Label) })
	if d.Officer {
		if d.NearMisses, err = c.nearMisses(r.Context()); err != nil {
			c.holdErrorPage(w, r, u, err)
			return
		}
	}
	if done, id := q.Get("done"), q.Get("id"); done != "" {
		switch done {
		case "approved", "released", "rejected", "rejected_nobody", "withdrawn":
			// The banner names the subject, so that the officer sees
			// which message the decision was about.
			if subj, ok := c.subjectFor(r.Context(), u, id, d.L); ok {
				d.Flash = d.L.T("done."+done+"_subj", subj, id)
			} else {
				d.Flash = d.L.T("done."+done, id)
			}
		case "sent_now", "cancelled", "confirmed":
			d.Flash = d.L.T("done."+done, id)
		case "lang":
			d.Flash = d.L.T("done.lang")
		}
	}
	c.render(w, r, http.StatusOK, "queue", d)
}

// subjectFor returns the subject of message id for the result banner,
// if u may see the message.
func (c *Console) subjectFor(ctx context.Context, u *store.User, id string, l lang) (string, bool) {
	m, err := c.st.Message(ctx, id)
	if err != nil || !hold.CanSee(u, m) {
		return "", false
	}
	if m.Subject == "" {
		return l.T("no_subject"), true
	}
	return m.Subject, true
}

type partView struct {
	api.Part
	Segments []segment
}

type messageData struct {
	pageData
	M        *api.Detail
	Parts    []partView
	Now      time.Time
	HeadMain []api.Header // the fields people read first
	// VerdictJSON is the stored verdict, indented, shown as text.
	VerdictJSON string
	Retention   bool // the retention schedule is known
	// NearMissNotifies: incident contacts are configured.
	NearMissNotifies bool
}

var mainHeaders = []string{"From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date", "Message-Id"}

func (c *Console) messagePage(w http.ResponseWriter, r *http.Request, u *store.User) {
	m, err := c.detail(r.Context(), u, r.PathValue("id"), "console")
	if err != nil {
		c.holdErrorPage(w, r, u, err)
		return
	}
	d := &messageData{pageData: c.page(r, u, "msg.content"), M: m, Now: c.cfg.Now(), Retention: c.cfg.BodyGoneAt != nil,
		NearMissNotifies: c.cfg.IncidentContacts > 0}
	d.Title = m.Subject
	if d.Title == "" {
		d.Title = d.L.T("no_subject")
	}
	if r.URL.Query().Get("done") == "justified" {
		d.Flash = d.L.T("done.justified", d.Title)
	}
	for _, h := range m.Headers {
		if slices.ContainsFunc(mainHeaders, func(n string) bool { return strings.EqualFold(n, h.Name) }) {
			d.HeadMain = append(d.HeadMain, h)
		}
	}
	if len(m.Verdict) > 0 {
		var b bytes.Buffer
		if json.Indent(&b, m.Verdict, "", "  ") == nil {
			d.VerdictJSON = b.String()
		}
	}
	for _, p := range m.Parts {
		pv := partView{Part: p}
		if p.Text != "" {
			pv.Segments = highlight(p.Text, p.Path, m.Links)
		}
		d.Parts = append(d.Parts, pv)
	}
	c.render(w, r, http.StatusOK, "message", d)
}

type confirmData struct {
	pageData
	M     *api.Detail
	Error string
}

// confirmPage is the confirmation step before an approval: the summary
// and the recipients once more, a tick box, and for a high-risk hold the
// recipient's domain to type. The console has no script, so the step is
// a page of its own, and the server refuses an approval without it.
func (c *Console) confirmPage(w http.ResponseWriter, r *http.Request, u *store.User) {
	c.renderConfirm(w, r, u, http.StatusOK, "")
}

func (c *Console) renderConfirm(w http.ResponseWriter, r *http.Request, u *store.User, status int, errKey string) {
	m, err := c.detail(r.Context(), u, r.PathValue("id"), "console")
	if err != nil {
		c.holdErrorPage(w, r, u, err)
		return
	}
	if !m.CanDecide {
		c.holdErrorPage(w, r, u, c.whyNot(m))
		return
	}
	d := &confirmData{pageData: c.page(r, u, "confirm.title"), M: m}
	if errKey != "" {
		d.Error = d.L.T(errKey)
	}
	c.render(w, r, status, "confirm", d)
}

// whyNot explains why u cannot decide on m.
func (c *Console) whyNot(m *api.Detail) error {
	switch {
	case m.State != string(store.Held):
		return hold.ErrNotHeld
	case m.Self:
		return hold.ErrSelfApproval
	case m.ApprovedByYou:
		return hold.ErrAlreadyApproved
	}
	return hold.ErrForbidden
}

func (c *Console) approve(w http.ResponseWriter, r *http.Request, u *store.User) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, r, u, http.StatusBadRequest, "err.bad_request")
		return
	}
	id := r.PathValue("id")
	if r.PostForm.Get("confirm") != "1" {
		c.renderConfirm(w, r, u, http.StatusUnprocessableEntity, "err.confirm_required")
		return
	}
	out, err := c.hold.ApproveTyped(r.Context(), u, id, "console", r.PostForm.Get("domain"))
	if errors.Is(err, hold.ErrDomainRequired) {
		c.renderConfirm(w, r, u, http.StatusUnprocessableEntity, "err.domain_required")
		return
	}
	if err != nil {
		c.holdErrorPage(w, r, u, err)
		return
	}
	done := "approved"
	if out.Released {
		done = "released"
	}
	c.done(w, r, done, id)
}

func (c *Console) reject(w http.ResponseWriter, r *http.Request, u *store.User) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, r, u, http.StatusBadRequest, "err.bad_request")
		return
	}
	id := r.PathValue("id")
	nearMiss := r.PostForm.Get("near_miss") != ""
	if err := c.hold.Reject(r.Context(), u, id, r.PostForm.Get("comment"), nearMiss, "console"); err != nil {
		c.holdErrorPage(w, r, u, err)
		return
	}
	if nearMiss && c.cfg.IncidentContacts == 0 {
		c.done(w, r, "rejected_nobody", id)
		return
	}
	c.done(w, r, "rejected", id)
}

// justify stores the sender's explanation and returns to the message.
func (c *Console) justify(w http.ResponseWriter, r *http.Request, u *store.User) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, r, u, http.StatusBadRequest, "err.bad_request")
		return
	}
	id := r.PathValue("id")
	if err := c.hold.Justify(r.Context(), u, id, r.PostForm.Get("justification"), "console"); err != nil {
		if errors.Is(err, hold.ErrJustificationRequired) {
			c.errorPage(w, r, u, http.StatusUnprocessableEntity, "err.justification_required")
			return
		}
		c.holdErrorPage(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/messages/"+url.PathEscape(id)+"?done=justified", http.StatusSeeOther)
}

func (c *Console) withdraw(w http.ResponseWriter, r *http.Request, u *store.User) {
	id := r.PathValue("id")
	if err := c.hold.Withdraw(r.Context(), u, id, "console"); err != nil {
		c.holdErrorPage(w, r, u, err)
		return
	}
	c.done(w, r, "withdrawn", id)
}

// done goes back to the queue after a decision (303, so that reloading
// the page does not post again).
func (c *Console) done(w http.ResponseWriter, r *http.Request, what, id string) {
	http.Redirect(w, r, "/held?done="+what+"&id="+url.QueryEscape(id), http.StatusSeeOther)
}

// setLang stores the user's console language ("" = the browser's).
func (c *Console) setLang(w http.ResponseWriter, r *http.Request, u *store.User) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, r, u, http.StatusBadRequest, "err.bad_request")
		return
	}
	l := r.PostForm.Get("lang")
	if _, ok := catalogue[l]; !ok {
		l = ""
	}
	err := c.acc.SetLang(r.Context(), u.Name, u.Name, l)
	if err != nil {
		c.log.Error("setting console language", zap.String("user", u.Name), zap.Error(err))
		c.errorPage(w, r, u, http.StatusInternalServerError, "err.internal")
		return
	}
	back := safeNext(r.PostForm.Get("back"))
	http.Redirect(w, r, back, http.StatusSeeOther)
}
