package console

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/store"
)

// The sender's pages and actions for mail that waits for them: delayed
// mail (send now, cancel) and mail that needs their confirmation
// (confirm, cancel), from the message page; and the page behind the
// signed confirmation link of the notice, which needs no login. That page
// only shows and asks: a GET never confirms (mail scanners and link
// previews open links), the button POSTs the token back.

func (c *Console) sendNow(w http.ResponseWriter, r *http.Request, u *store.User) {
	id := r.PathValue("id")
	if err := c.hold.SendNow(r.Context(), u, id, "console"); err != nil {
		c.holdErrorPage(w, r, u, err)
		return
	}
	c.done(w, r, "sent_now", id)
}

func (c *Console) cancel(w http.ResponseWriter, r *http.Request, u *store.User) {
	id := r.PathValue("id")
	if err := c.hold.Cancel(r.Context(), u, id, "console"); err != nil {
		c.holdErrorPage(w, r, u, err)
		return
	}
	c.done(w, r, "cancelled", id)
}

func (c *Console) confirm(w http.ResponseWriter, r *http.Request, u *store.User) {
	id := r.PathValue("id")
	if err := c.hold.Confirm(r.Context(), u, id, "console"); err != nil {
		c.holdErrorPage(w, r, u, err)
		return
	}
	c.done(w, r, "confirmed", id)
}

type linkData struct {
	pageData
	Token   string
	ID      string
	Subject string
	From    string
	Rcpts   []api.Rcpt
	Until   time.Time
	Done    bool // confirmed just now
	Gone    bool // no longer waiting for confirmation
}

// confirmLinkPage shows what the link would confirm, with the button.
func (c *Console) confirmLinkPage(w http.ResponseWriter, r *http.Request) {
	c.confirmLinkShow(w, r, r.URL.Query().Get("t"), false)
}

func (c *Console) confirmLinkShow(w http.ResponseWriter, r *http.Request, token string, done bool) {
	m, err := c.hold.CheckLink(r.Context(), token)
	if err != nil {
		status, _, key := holdError(err)
		if status == http.StatusInternalServerError {
			c.log.Error("confirmation link", zap.Error(err))
		}
		c.errorPage(w, r, nil, status, key)
		return
	}
	d := &linkData{pageData: c.page(r, nil, "link.title"), Token: token, ID: m.ID, Subject: m.Subject, From: m.From,
		Until: m.HoldExpires, Done: done, Gone: m.State != store.Unconfirmed}
	d.Rcpts = summary(m).Rcpts
	status := http.StatusOK
	if d.Gone && !done {
		status = http.StatusConflict
	}
	c.render(w, r, status, "sendlink", d)
}

// confirmLink confirms through the link's token.
func (c *Console) confirmLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, r, nil, http.StatusBadRequest, "err.bad_request")
		return
	}
	token := r.PostForm.Get("t")
	if _, err := c.hold.ConfirmLink(r.Context(), token, "link"); err != nil {
		status, _, key := holdError(err)
		if status == http.StatusInternalServerError {
			c.log.Error("confirmation link", zap.Error(err))
		}
		c.errorPage(w, r, nil, status, key)
		return
	}
	http.Redirect(w, r, "/confirm/done?t="+url.QueryEscape(token), http.StatusSeeOther)
}

func (c *Console) confirmLinkDone(w http.ResponseWriter, r *http.Request) {
	c.confirmLinkShow(w, r, r.URL.Query().Get("t"), true)
}

// apiSender serves the sender's actions in the API: POST
// /api/messages/{id}/send-now, /cancel and /confirm.
func (c *Console) apiSender(act func(ctx context.Context, u *store.User, id, via string) error, to store.State) func(http.ResponseWriter, *http.Request, *store.User) {
	return func(w http.ResponseWriter, r *http.Request, u *store.User) {
		id := r.PathValue("id")
		if err := act(r.Context(), u, id, via(r)); err != nil {
			c.apiHoldError(w, r, u, err)
			return
		}
		apiJSON(w, http.StatusOK, api.Outcome{ID: id, State: string(to), Released: to == store.Queued})
	}
}
