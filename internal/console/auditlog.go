package console

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/mailaddr"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/tz"
)

// The audit log search: officers and admins look up who did what, by
// message, user, recipient and time, newest first.
//
// Searching is not itself audited. The log is already visible to everyone
// who may search it, and a search only reads the log; an entry per query
// would make the log grow with every page view and bury the actions it
// exists for. What a search leads to is audited as always: opening a held
// message from the results records a message.view.

// mayAudit reports whether u may search the audit log.
func mayAudit(u *store.User) bool {
	return account.HasRole(u, account.RoleOfficer) || account.HasRole(u, account.RoleAdmin)
}

const (
	auditPageSize = 50  // entries per console page
	auditMaxLimit = 500 // most entries per API answer
	auditMaxBlock = 1 << 40
)

// auditBounds bound the work of one search.
type auditBounds struct {
	// batch is the most entries one store read returns.
	batch int
	// scanRows bounds the entries one search reads. A recipient is
	// matched here, not in the store, so a rare recipient may need more
	// than one request; the answer says where it stopped.
	scanRows int
	// firstBlock is the size of the first block of Seq numbers read;
	// 0: one page (a dense log fills the page in one read).
	firstBlock int64
}

var defaultAuditBounds = auditBounds{batch: 1000, scanRows: 50_000}

func auditEntry(e *store.AuditEntry) api.AuditEntry {
	data := json.RawMessage(e.Data)
	if !json.Valid(data) {
		data = json.RawMessage(`null`)
	}
	return api.AuditEntry{Seq: e.Seq, At: e.At.UTC(), Actor: e.Actor, Action: e.Action, MsgID: e.MsgID, Data: data,
		Prev: hex.EncodeToString(e.Prev), Hash: hex.EncodeToString(e.Hash)}
}

// auditQuery is one search.
type auditQuery struct {
	MsgID string // exact
	Actor string // exact
	Rcpt  string // case-insensitive substring of the entry's data
	Since time.Time
	Until time.Time // exclusive
	// Before: only entries with a lower Seq (the next page); 0: from the newest.
	Before int64
	Limit  int
}

type auditResult struct {
	Entries []*store.AuditEntry // newest first
	Older   int64
	Partial bool
}

// searchAudit returns one page of the entries matching q, newest first.
//
// The store reads the log in Seq order only (oldest first), so the search
// walks backwards from the newest entry in blocks of Seq numbers: each
// block is one read of the entries in (from, to] that match the store's
// filters. Blocks grow while they are sparse (a rare message ID or user
// takes few reads however long the log) and shrink when one read could
// not hold a block's matches, so no read returns more than b.batch
// entries. Seq numbers have no gaps, except for the oldest ones that
// retention purged, which the first match bounds.
func (c *Console) searchAudit(ctx context.Context, q auditQuery, b auditBounds) (*auditResult, error) {
	f := store.AuditFilter{Since: q.Since, Until: q.Until, MsgID: q.MsgID, Actor: q.Actor}
	res := &auditResult{}
	first := f
	first.Limit = 1
	es, err := c.st.Audit(ctx, first)
	if err != nil || len(es) == 0 {
		return res, err
	}
	lo := es[0].Seq
	to := q.Before - 1
	if q.Before <= 0 {
		if to, err = c.newestSeq(ctx, lo); err != nil {
			return nil, err
		}
	}
	match := rcptMatcher(q.Rcpt)
	want := q.Limit + 1 // one more than the page, to know whether there is more
	var out []*store.AuditEntry
	block, read := b.firstBlock, 0
	if block <= 0 {
		block = int64(want)
	}
	for to >= lo && len(out) < want {
		if read >= b.scanRows {
			res.Partial, res.Older = true, to+1
			break
		}
		from := max(lo-1, to-block)
		g := f
		g.AfterSeq, g.Limit = from, b.batch
		es, err := c.st.Audit(ctx, g)
		if err != nil {
			return nil, err
		}
		read += len(es)
		if len(es) == b.batch && es[len(es)-1].Seq < to {
			// The block holds more matches than one read returns, and
			// the read returned its oldest: try a smaller one.
			block = max(1, (to-from)/2)
			continue
		}
		n := 0
		for i := len(es) - 1; i >= 0 && len(out) < want; i-- {
			if e := es[i]; e.Seq <= to {
				n++
				if match(e) {
					out = append(out, e)
				}
			}
		}
		to = from
		switch {
		case 4*n < b.batch:
			block = min(block*2, auditMaxBlock)
		case 2*n > b.batch:
			block = max(1, block/2)
		}
	}
	if len(out) == want {
		out = out[:q.Limit]
		res.Older = out[len(out)-1].Seq
	}
	res.Entries = out
	return res, nil
}

// newestSeq returns the Seq of the newest entry, knowing that entry lo
// exists: a galloping search over reads of one entry by Seq.
func (c *Console) newestSeq(ctx context.Context, lo int64) (int64, error) {
	after := func(x int64) (bool, error) { // is there an entry newer than x?
		es, err := c.st.Audit(ctx, store.AuditFilter{AfterSeq: x, Limit: 1})
		return len(es) > 0, err
	}
	hi, step := lo, int64(1)
	for {
		ok, err := after(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo = hi + 1
		hi += step
		step *= 2
	}
	// The newest is in [lo, hi].
	for lo < hi {
		mid := lo + (hi-lo)/2
		ok, err := after(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// rcptMatcher matches entries whose data contains s, case-insensitively;
// an internationalised domain matches in Unicode and as A-label, as
// addresses are recorded in either form.
func rcptMatcher(s string) func(*store.AuditEntry) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return func(*store.AuditEntry) bool { return true }
	}
	needles := [][]byte{[]byte(s)}
	local, domain := "", s
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		local, domain = s[:at+1], s[at+1:]
	}
	other := ""
	if !isASCII(domain) {
		if a, err := mailaddr.ToASCII(domain); err == nil {
			other = a // a name the profile rejects has no other form
		}
	} else if strings.Contains(domain, "xn--") {
		other = mailaddr.ToUnicode(domain)
	}
	if other = strings.ToLower(other); other != "" && other != domain {
		needles = append(needles, []byte(local+other))
	}
	return func(e *store.AuditEntry) bool {
		d := bytes.ToLower(e.Data)
		for _, n := range needles {
			if bytes.Contains(d, n) {
				return true
			}
		}
		return false
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// parseAuditTime reads a time as RFC 3339, as a browser's datetime-local
// value (YYYY-MM-DDTHH:MM[:SS]) or as a date (its start), the last two in
// the server's time zone, which is the zone the console shows.
func parseAuditTime(s string, zone tz.Zone) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := zone.Parse(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339, YYYY-MM-DDTHH:MM or YYYY-MM-DD)", s)
	}
	return t, nil
}

// auditParams reads the search from a query string. bad is the value that
// could not be read, for the error message.
func auditParams(v url.Values, limit int, zone tz.Zone) (q auditQuery, bad string, err error) {
	q = auditQuery{MsgID: strings.TrimSpace(v.Get("msg")), Actor: strings.TrimSpace(v.Get("user")),
		Rcpt: strings.TrimSpace(v.Get("rcpt")), Limit: limit}
	if q.Since, err = parseAuditTime(v.Get("since"), zone); err != nil {
		return q, v.Get("since"), err
	}
	if q.Until, err = parseAuditTime(v.Get("until"), zone); err != nil {
		return q, v.Get("until"), err
	}
	if b := v.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			return q, b, fmt.Errorf("before %q: want an entry number", b)
		}
		q.Before = n
	}
	return q, "", nil
}

type auditRow struct {
	api.AuditEntry
	Link bool   // the message exists and the viewer may open it
	JSON string // the data, indented
}

type auditData struct {
	pageData
	Form    url.Values // the search as typed
	Rows    []auditRow
	Older   string // URL of the next page, "" if none
	Newest  string // URL of the first page, "" on it
	Partial bool
	Error   string
	Filter  bool // some filter is set
	Chain   chainStatus
	Export  string // URL of the export of this search
	Verify  string // URL of this page with the chain verified
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, u *store.User) {
	if !mayAudit(u) {
		c.errorPage(w, r, u, http.StatusForbidden, "err.forbidden")
		return
	}
	v := r.URL.Query()
	d := &auditData{pageData: c.page(r, u, "audit.title"), Form: v}
	for _, k := range []string{"msg", "user", "rcpt", "since", "until"} {
		if v.Get(k) != "" {
			d.Filter = true
		}
	}
	q, bad, err := auditParams(v, auditPageSize, c.cfg.Zone)
	if err != nil {
		d.Error = d.L.T("err.audit_time", bad)
		c.render(w, r, http.StatusBadRequest, "audit", d)
		return
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		d.Error = d.L.T("err.audit_range")
		c.render(w, r, http.StatusBadRequest, "audit", d)
		return
	}
	ctx := r.Context()
	res, err := c.searchAudit(ctx, q, defaultAuditBounds)
	if err == nil {
		d.Chain, err = c.head(ctx)
	}
	if err == nil && v.Get("verify") == "1" {
		err = c.verifyChain(ctx, &d.Chain)
	}
	if err != nil {
		c.log.Error("audit search failed", zap.String("user", u.Name), zap.Error(err))
		c.errorPage(w, r, u, http.StatusInternalServerError, "err.internal")
		return
	}
	exp := cloneValues(v)
	exp.Del("before")
	d.Export = "/audit/export?" + exp.Encode()
	ver := cloneValues(v)
	ver.Set("verify", "1")
	d.Verify = "/audit?" + ver.Encode()
	// Link each message the viewer may open; the link leads to the
	// message view, which audits the view as always.
	linkable := map[string]bool{}
	for _, e := range res.Entries {
		if e.MsgID == "" {
			continue
		}
		if _, seen := linkable[e.MsgID]; seen {
			continue
		}
		m, err := c.st.Message(ctx, e.MsgID)
		linkable[e.MsgID] = err == nil && hold.CanSee(u, m)
	}
	for _, e := range res.Entries {
		row := auditRow{AuditEntry: auditEntry(e), Link: linkable[e.MsgID]}
		var b bytes.Buffer
		if json.Indent(&b, row.Data, "", "  ") == nil {
			row.JSON = b.String()
		} else {
			row.JSON = string(row.Data)
		}
		d.Rows = append(d.Rows, row)
	}
	d.Partial = res.Partial
	if res.Older != 0 {
		next := cloneValues(v)
		next.Set("before", strconv.FormatInt(res.Older, 10))
		d.Older = "/audit?" + next.Encode()
	}
	if v.Get("before") != "" {
		first := cloneValues(v)
		first.Del("before")
		d.Newest = "/audit?" + first.Encode()
	}
	c.render(w, r, http.StatusOK, "audit", d)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for _, k := range []string{"msg", "user", "rcpt", "since", "until", "before"} {
		if s := v.Get(k); s != "" {
			out.Set(k, s)
		}
	}
	return out
}

// apiAudit is GET /api/audit?msg=&user=&rcpt=&since=&until=&before=&limit=.
func (c *Console) apiAudit(w http.ResponseWriter, r *http.Request, u *store.User) {
	if !mayAudit(u) {
		c.apiForbidden(w, r, u)
		return
	}
	v := r.URL.Query()
	limit := auditPageSize
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > auditMaxLimit {
			apiError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("limit %q: want 1 to %d", s, auditMaxLimit))
			return
		}
		limit = n
	}
	q, _, err := auditParams(v, limit, c.cfg.Zone)
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	res, err := c.searchAudit(r.Context(), q, defaultAuditBounds)
	if err != nil {
		c.log.Error("audit search failed", zap.String("user", u.Name), zap.Error(err))
		apiError(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	out := api.Audit{Entries: make([]api.AuditEntry, 0, len(res.Entries)), Older: res.Older, Partial: res.Partial}
	for _, e := range res.Entries {
		out.Entries = append(out.Entries, auditEntry(e))
	}
	apiJSON(w, http.StatusOK, out)
}
