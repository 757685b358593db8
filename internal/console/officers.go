package console

import (
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/store"
)

// The approval-quality page: per officer, decisions, approval rate,
// median time from opening a message to deciding, and approvals given
// within seconds of opening. Admins see it; officers do not see each
// other's figures.

type officersData struct {
	pageData
	Days    int
	Fast    time.Duration
	Figures []hold.Figures
}

func mayOfficers(u *store.User) bool {
	return account.HasRole(u, account.RoleAdmin) && !u.Disabled
}

// figuresWindow reads ?days= (default 30, at most 366).
func figuresWindow(r *http.Request) int {
	days, err := strconv.Atoi(r.URL.Query().Get("days"))
	if err != nil || days < 1 || days > 366 {
		return 30
	}
	return days
}

func (c *Console) officersPage(w http.ResponseWriter, r *http.Request, u *store.User) {
	if !mayOfficers(u) {
		c.errorPage(w, r, u, http.StatusForbidden, "err.forbidden")
		return
	}
	d := &officersData{pageData: c.page(r, u, "officers.title"), Days: figuresWindow(r), Fast: c.cfg.FastApproval}
	figs, err := c.hold.Figures(r.Context(), c.cfg.Now().Add(-time.Duration(d.Days)*24*time.Hour), time.Time{}, c.cfg.FastApproval)
	if err != nil {
		c.log.Error("officer figures failed", zap.Error(err))
		c.errorPage(w, r, u, http.StatusInternalServerError, "err.internal")
		return
	}
	d.Figures = figs
	c.render(w, r, http.StatusOK, "officers", d)
}

// APIFigures is the answer to GET /api/officers?days=N.
type APIFigures struct {
	Days          int            `json:"days"`
	FastApprovalS float64        `json:"fast_approval_s"`
	Officers      []hold.Figures `json:"officers"`
}

func (c *Console) apiOfficers(w http.ResponseWriter, r *http.Request, u *store.User) {
	if !mayOfficers(u) {
		c.apiForbidden(w, r, u)
		return
	}
	days := figuresWindow(r)
	figs, err := c.hold.Figures(r.Context(), c.cfg.Now().Add(-time.Duration(days)*24*time.Hour), time.Time{}, c.cfg.FastApproval)
	if err != nil {
		c.apiHoldError(w, r, u, err)
		return
	}
	if figs == nil {
		figs = []hold.Figures{}
	}
	apiJSON(w, http.StatusOK, APIFigures{Days: days, FastApprovalS: c.cfg.FastApproval.Seconds(), Officers: figs})
}
