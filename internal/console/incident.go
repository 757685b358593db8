package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/incident"
	"github.com/egressguard/egressguard/internal/store"
)

// Sent mail and incidents.
//
// Senders find their own delivered mail under "Sent mail" and report a
// message they sent to the wrong person; officers see everyone's, and open
// incidents from near misses too. The incident page shows the facts the
// guard knew, the PPC report items (officers and admins edit them), the
// deadlines, and the remediation checklist; senders see the incidents
// they reported, read-only. Every view and change is audited by package
// incident.

func init() {
	pageNames = append(pageNames, "sent", "incidents", "incident", "incident_new")
	for code, m := range incidentCatalogue {
		for k, v := range m {
			catalogue[code][k] = v
		}
	}
}

// sentLimit bounds the sent-mail listing.
const sentLimit = 200

type sentRow struct {
	ID, From, Subject string
	Rcpts             []string
	Received          time.Time
	State             string
	Incident          string // an incident already open about it
}

type sentData struct {
	pageData
	Rows  []sentRow
	Q     string
	Since string
	All   bool // officer view: everyone's mail
	// NearMisses are rejections marked as near misses without an incident.
	NearMisses []sentRow
}

func (c *Console) sentPage(w http.ResponseWriter, r *http.Request, u *store.User) {
	d := &sentData{pageData: c.page(r, u, "sent.title"), Q: strings.TrimSpace(r.URL.Query().Get("q")), Since: r.URL.Query().Get("since")}
	d.Section = "sent"
	d.All = incident.Manager(u)
	ctx := r.Context()
	var since time.Time
	if d.Since != "" {
		t, err := time.ParseInLocation(time.DateOnly, d.Since, time.Local)
		if err != nil {
			c.errorPage(w, r, u, http.StatusBadRequest, "sent.bad_date")
			return
		}
		since = t
	}
	f := store.Filter{States: []store.State{store.Delivered, store.Bounced, store.Sending, store.Queued}, Limit: 1000}
	var ms []*store.Message
	if d.All {
		var err error
		if ms, err = c.st.List(ctx, f); err != nil {
			c.fail(w, r, u, err)
			return
		}
	} else {
		seen := map[string]bool{}
		f.AuthUser = u.Name
		a, err := c.st.List(ctx, f)
		if err != nil {
			c.fail(w, r, u, err)
			return
		}
		f.AuthUser = ""
		for _, addr := range u.Addresses {
			f.From = addr
			b, err := c.st.List(ctx, f)
			if err != nil {
				c.fail(w, r, u, err)
				return
			}
			a = append(a, b...)
		}
		for _, m := range a {
			if !seen[m.ID] && hold.IsSender(u, m) {
				seen[m.ID] = true
				ms = append(ms, m)
			}
		}
		slices.SortFunc(ms, func(a, b *store.Message) int { return b.Received.Compare(a.Received) })
	}
	open := c.incidentsByMsg(r, u)
	q := strings.ToLower(d.Q)
	for _, m := range ms {
		if m.Action == store.ActionNotice {
			continue // the guard's own notices
		}
		if !since.IsZero() && m.Received.Before(since) {
			continue
		}
		row := sentRow{ID: m.ID, From: m.From, Subject: m.Subject, Received: m.Received, State: string(m.State), Incident: open[m.ID]}
		hay := strings.ToLower(m.From + " " + m.Subject)
		for _, rc := range m.Rcpts {
			row.Rcpts = append(row.Rcpts, rc.Addr)
			hay += " " + strings.ToLower(rc.Addr)
		}
		if q != "" && !strings.Contains(hay, q) {
			continue
		}
		d.Rows = append(d.Rows, row)
		if len(d.Rows) == sentLimit {
			break
		}
	}
	if d.All {
		ds, err := c.st.DecisionsSince(ctx, store.DecisionReject, c.cfg.Now().Add(-90*24*time.Hour))
		if err != nil {
			c.fail(w, r, u, err)
			return
		}
		for i := len(ds) - 1; i >= 0; i-- {
			dd := ds[i]
			if !dd.NearMiss || open[dd.MsgID] != "" {
				continue
			}
			m, err := c.st.Message(ctx, dd.MsgID)
			if err != nil {
				continue
			}
			row := sentRow{ID: m.ID, From: m.From, Subject: m.Subject, Received: m.Received, State: string(m.State)}
			for _, rc := range m.Rcpts {
				row.Rcpts = append(row.Rcpts, rc.Addr)
			}
			d.NearMisses = append(d.NearMisses, row)
		}
	}
	c.render(w, r, http.StatusOK, "sent", d)
}

// incidentsByMsg maps message IDs to the newest incident about them that u
// can see.
func (c *Console) incidentsByMsg(r *http.Request, u *store.User) map[string]string {
	out := map[string]string{}
	ins, err := c.inc.List(r.Context(), u, nil)
	if err != nil {
		c.log.Warn("listing incidents", zap.Error(err))
		return out
	}
	for i := len(ins) - 1; i >= 0; i-- {
		out[ins[i].MsgID] = ins[i].ID
	}
	return out
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, u *store.User, err error) {
	c.log.Error("console request failed", zap.String("path", r.URL.Path), zap.Error(err))
	c.errorPage(w, r, u, http.StatusInternalServerError, "err.internal")
}

type incidentNewData struct {
	pageData
	Msg  *store.Message
	Kind string
}

// incidentNewPage asks for confirmation (and a note) before opening an
// incident about a message.
func (c *Console) incidentNewPage(w http.ResponseWriter, r *http.Request, u *store.User) {
	id := r.URL.Query().Get("msg")
	m, err := c.st.Message(r.Context(), id)
	if err != nil || !(incident.Manager(u) || hold.IsSender(u, m)) {
		c.errorPage(w, r, u, http.StatusNotFound, "err.not_found")
		return
	}
	ds, err := c.st.Decisions(r.Context(), id)
	if err != nil {
		c.fail(w, r, u, err)
		return
	}
	kind, ok := incident.CanOpen(u, m, ds)
	if !ok {
		c.errorPage(w, r, u, http.StatusConflict, "incident.cannot_open")
		return
	}
	d := &incidentNewData{pageData: c.page(r, u, "incident.new_title"), Msg: m, Kind: kind}
	d.Section = "incidents"
	c.render(w, r, http.StatusOK, "incident_new", d)
}

func (c *Console) incidentCreate(w http.ResponseWriter, r *http.Request, u *store.User) {
	in, err := c.inc.Open(r.Context(), u, r.PostFormValue("msg"), r.PostFormValue("note"))
	switch {
	case errors.Is(err, incident.ErrNotFound):
		c.errorPage(w, r, u, http.StatusNotFound, "err.not_found")
		return
	case errors.Is(err, incident.ErrState):
		c.errorPage(w, r, u, http.StatusConflict, "incident.cannot_open")
		return
	case errors.Is(err, incident.ErrReported):
		c.errorPage(w, r, u, http.StatusConflict, "incident.already_reported")
		return
	case err != nil:
		c.fail(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(in.ID)+"?done=opened", http.StatusSeeOther)
}

type incidentsData struct {
	pageData
	Incidents []*incident.Incident
	Manager   bool
	Rules     incident.Rules
	Now       time.Time
}

func (c *Console) incidentsPage(w http.ResponseWriter, r *http.Request, u *store.User) {
	ins, err := c.inc.List(r.Context(), u, nil)
	if err != nil {
		c.fail(w, r, u, err)
		return
	}
	d := &incidentsData{pageData: c.page(r, u, "incidents.title"), Incidents: ins, Manager: incident.Manager(u), Rules: c.inc.Rules(), Now: c.cfg.Now()}
	d.Section = "incidents"
	c.render(w, r, http.StatusOK, "incidents", d)
}

type incidentData struct {
	pageData
	In         *incident.Incident
	Manager    bool
	Deadlines  []incident.Deadline
	Reportable bool
	Why        string
	Now        time.Time
	Statuses   []incident.Status
	Next       []incident.Status
	AwareLocal string
	Error      string
}

func (c *Console) incidentPage(w http.ResponseWriter, r *http.Request, u *store.User) {
	in, err := c.inc.Get(r.Context(), u, r.PathValue("id"), "console")
	if errors.Is(err, incident.ErrNotFound) {
		c.errorPage(w, r, u, http.StatusNotFound, "incident.not_found")
		return
	}
	if err != nil {
		c.fail(w, r, u, err)
		return
	}
	c.renderIncident(w, r, u, in, http.StatusOK, "")
}

func (c *Console) renderIncident(w http.ResponseWriter, r *http.Request, u *store.User, in *incident.Incident, status int, errKey string) {
	d := &incidentData{pageData: c.page(r, u, "incident.title"), In: in, Manager: incident.Manager(u),
		Deadlines: in.Deadlines(c.inc.Rules()), Now: c.cfg.Now(), Statuses: incident.Statuses}
	d.Section = "incidents"
	d.Reportable, d.Why = in.Reportable()
	d.AwareLocal = in.Aware.In(c.inc.Rules().Defaults().Zone).Format("2006-01-02T15:04")
	for _, s := range incident.Statuses {
		if s != in.Status && in.Status != incident.Closed && (s == incident.Closed || slices.Index(incident.Statuses, s) > slices.Index(incident.Statuses, in.Status)) {
			d.Next = append(d.Next, s)
		}
	}
	switch r.URL.Query().Get("done") {
	case "opened":
		d.Flash = d.L.T("incident.opened")
	case "saved":
		d.Flash = d.L.T("incident.saved")
	}
	if errKey != "" {
		d.Error = d.L.T(errKey)
	}
	c.render(w, r, status, "incident", d)
}

// incidentChange applies a form to an incident: the report, the status or
// one checklist step.
func (c *Console) incidentChange(w http.ResponseWriter, r *http.Request, u *store.User) {
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, r, u, http.StatusBadRequest, "err.bad_request")
		return
	}
	var ch incident.Change
	switch r.PathValue("what") {
	case "report":
		ch.Report = map[string]string{}
		for _, it := range (incident.Report{}).Items() {
			if v, ok := r.PostForm[it.Key]; ok {
				ch.Report[it.Key] = v[0]
			}
		}
		wr, se := r.PostFormValue("wrongful") == "1", r.PostFormValue("sensitive") == "1"
		ch.Wrongful, ch.Sensitive = &wr, &se
		if a := r.PostFormValue("aware"); a != "" {
			t, err := time.ParseInLocation("2006-01-02T15:04", a, c.inc.Rules().Defaults().Zone)
			if err != nil {
				c.errorPage(w, r, u, http.StatusBadRequest, "incident.bad_time")
				return
			}
			ch.Aware = &t
		}
	case "status":
		s := incident.Status(r.PostFormValue("status"))
		ch.Status = &s
	case "step":
		ch.Step = &incident.StepChange{ID: r.PostFormValue("step"), Done: r.PostFormValue("done") == "1", Note: r.PostFormValue("note")}
	default:
		c.errorPage(w, r, u, http.StatusNotFound, "err.not_found")
		return
	}
	// Every form carries the version it was made from: a change made on
	// a page older than someone else's change is refused, not applied.
	if err := json.Unmarshal([]byte(r.PostFormValue("version")), &ch.Version); err != nil || ch.Version < 1 {
		c.errorPage(w, r, u, http.StatusBadRequest, "err.bad_request")
		return
	}
	_, err := c.inc.Update(r.Context(), u, id, ch)
	switch {
	case errors.Is(err, incident.ErrNotFound):
		c.errorPage(w, r, u, http.StatusNotFound, "incident.not_found")
		return
	case errors.Is(err, incident.ErrForbidden):
		c.errorPage(w, r, u, http.StatusForbidden, "err.forbidden")
		return
	case errors.Is(err, incident.ErrConflict), errors.Is(err, incident.ErrState):
		key := "incident.conflict"
		if errors.Is(err, incident.ErrState) {
			key = "incident.bad_status"
		}
		in, gerr := c.inc.Get(r.Context(), u, id, "console")
		if gerr != nil {
			c.fail(w, r, u, gerr)
			return
		}
		c.renderIncident(w, r, u, in, http.StatusConflict, key)
		return
	case err != nil:
		c.log.Warn("incident change refused", zap.String("incident", id), zap.Error(err))
		c.errorPage(w, r, u, http.StatusBadRequest, "err.bad_request")
		return
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(id)+"?done=saved", http.StatusSeeOther)
}

// incidentExport serves the printable report (HTML, in the chosen
// language) or the record as JSON.
func (c *Console) incidentExport(w http.ResponseWriter, r *http.Request, u *store.User) {
	in, err := c.inc.Get(r.Context(), u, r.PathValue("id"), "export")
	if errors.Is(err, incident.ErrNotFound) {
		c.errorPage(w, r, u, http.StatusNotFound, "incident.not_found")
		return
	}
	if err != nil {
		c.fail(w, r, u, err)
		return
	}
	if r.URL.Query().Get("format") == "json" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+in.ID+`.json"`)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(in)
		return
	}
	code := r.URL.Query().Get("lang")
	if code != "en" {
		code = "ja"
	}
	var b bytes.Buffer
	if err := incident.Print(&b, in, c.inc.Rules(), code, c.cfg.Now()); err != nil {
		c.fail(w, r, u, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}
