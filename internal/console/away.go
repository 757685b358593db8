package console

import (
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/store"
)

// The absence page: an officer who will be away names another officer
// who gets their notices until a date (account.SetDelegate, audited as
// user.delegate). Deciding needs no delegation: every officer may decide.

type awayData struct {
	pageData
	Officers []string // other active officers
	Delegate string
	Until    time.Time
	Away     bool
	Error    string
}

func (c *Console) awayPage(w http.ResponseWriter, r *http.Request, u *store.User) {
	c.renderAway(w, r, u, http.StatusOK, "")
}

func (c *Console) renderAway(w http.ResponseWriter, r *http.Request, u *store.User, status int, errText string) {
	if !account.HasRole(u, account.RoleOfficer) {
		c.errorPage(w, r, u, http.StatusForbidden, "err.forbidden")
		return
	}
	d := &awayData{pageData: c.page(r, u, "away.title"), Error: errText}
	cur, err := c.acc.Get(r.Context(), u.Name)
	if err == nil {
		d.Delegate, d.Away = account.Away(cur, c.cfg.Now())
		d.Until = cur.DelegateUntil
		var users []*store.User
		users, err = c.acc.List(r.Context())
		for _, o := range users {
			if o.Name != u.Name && !o.Disabled && account.HasRole(o, account.RoleOfficer) {
				d.Officers = append(d.Officers, o.Name)
			}
		}
	}
	if err != nil {
		c.log.Error("absence page", zap.Error(err))
		c.errorPage(w, r, u, http.StatusInternalServerError, "err.internal")
		return
	}
	if r.URL.Query().Get("done") == "1" {
		d.Flash = d.L.T("away.saved")
	}
	c.render(w, r, status, "away", d)
}

func (c *Console) setAway(w http.ResponseWriter, r *http.Request, u *store.User) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, r, u, http.StatusBadRequest, "err.bad_request")
		return
	}
	if !account.HasRole(u, account.RoleOfficer) {
		c.errorPage(w, r, u, http.StatusForbidden, "err.forbidden")
		return
	}
	l := c.page(r, u, "away.title").L
	delegate := r.PostForm.Get("delegate")
	var until time.Time
	if delegate != "" {
		day, err := time.ParseInLocation(time.DateOnly, r.PostForm.Get("until"), c.cfg.Zone.Location())
		if err != nil {
			c.renderAway(w, r, u, http.StatusUnprocessableEntity, l.T("err.allow_expires", r.PostForm.Get("until")))
			return
		}
		until = day.AddDate(0, 0, 1) // through that day
	}
	err := c.acc.SetDelegate(r.Context(), u.Name, u.Name, delegate, until)
	if errors.Is(err, account.ErrDelegate) {
		c.renderAway(w, r, u, http.StatusUnprocessableEntity, l.T("err.away"))
		return
	}
	if err != nil {
		c.log.Error("setting an absence", zap.String("user", u.Name), zap.Error(err))
		c.errorPage(w, r, u, http.StatusInternalServerError, "err.internal")
		return
	}
	http.Redirect(w, r, "/settings/away?done=1", http.StatusSeeOther)
}
