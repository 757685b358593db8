package console

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

// appendAudit writes n synthetic entries, one a minute from the fixture's
// clock on, and moves the clock past them.
func (f *fixture) appendAudit(n int, ev func(i int) audit.Event) {
	f.t.Helper()
	start := f.clock.Now()
	err := f.st.Update(context.Background(), func(tx store.Tx) error {
		for i := range n {
			if _, err := audit.Append(tx, start.Add(time.Duration(i)*time.Minute), ev(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.clock.Add(time.Duration(n) * time.Minute)
}

// clockAfterAccounts moves the fixture's clock past the accounts' audit
// entries, which carry the real time, so that synthetic entries are the
// newest and time searches see only them.
func (f *fixture) clockAfterAccounts() time.Time {
	f.clock.mu.Lock()
	defer f.clock.mu.Unlock()
	f.clock.t = time.Now().Add(time.Hour).UTC().Truncate(time.Minute)
	return f.clock.t
}

func syntheticEvent(i int) audit.Event {
	actors := []string{"alice", "olga", "system", "smtp:192.0.2.1", "ada"}
	ev := audit.Event{Actor: actors[i%len(actors)], Action: fmt.Sprintf("test.e%d", i%3),
		Data: map[string]any{"n": i}}
	if i%7 == 0 {
		ev.MsgID = fmt.Sprintf("msg%d", i%4)
	}
	if i%11 == 0 {
		ev.Data["rcpts"] = []string{fmt.Sprintf("Person%d@Partner.example", i%2), "user@例え.jp"}
	}
	return ev
}

// TestSearchAuditMatchesBruteForce: following the pages of any search,
// with any bounds, yields exactly the matching entries, newest first,
// each once, also after retention purged the oldest.
func TestSearchAuditMatchesBruteForce(t *testing.T) {
	f := newFixture(t, 1)
	f.clockAfterAccounts()
	f.appendAudit(150, syntheticEvent)
	// Retention purges the oldest entries: the chain starts above 1.
	cut := f.clock.Now().Add(-125 * time.Minute)
	if err := f.st.Update(context.Background(), func(tx store.Tx) error { _, err := tx.PurgeAudit(cut); return err }); err != nil {
		t.Fatal(err)
	}
	all, err := f.st.Audit(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if all[0].Seq < 20 {
		t.Fatalf("purge left the chain starting at %d", all[0].Seq)
	}
	t0 := all[0].At
	queries := []auditQuery{
		{},
		{Actor: "olga"},
		{Actor: "nobody"},
		{MsgID: "msg2"},
		{MsgID: "msg3", Actor: "system"},
		{Rcpt: "person1@partner"},
		{Rcpt: "USER@例え.JP"},
		{Rcpt: "xn--r8jz45g", Actor: "alice"},
		{Since: t0.Add(30 * time.Minute), Until: t0.Add(90 * time.Minute)},
		{Since: t0.Add(30 * time.Minute), Rcpt: "partner.example"},
		{Until: t0.Add(5 * time.Minute)},
		{Since: t0.Add(10000 * time.Hour)},
		{Before: all[len(all)/2].Seq},
		{Before: all[len(all)-1].Seq + 1000, Actor: "ada"},
	}
	bounds := []auditBounds{defaultAuditBounds, {batch: 7, scanRows: 40, firstBlock: 3}, {batch: 1, scanRows: 9, firstBlock: 1}, {batch: 2, scanRows: 1000, firstBlock: 500}}
	for qi, q := range queries {
		var want []int64
		for _, e := range slices.Backward(all) {
			if q.MsgID != "" && e.MsgID != q.MsgID || q.Actor != "" && e.Actor != q.Actor ||
				!q.Since.IsZero() && e.At.Before(q.Since) || !q.Until.IsZero() && !e.At.Before(q.Until) ||
				q.Before != 0 && e.Seq >= q.Before || !rcptMatcher(q.Rcpt)(e) {
				continue
			}
			want = append(want, e.Seq)
		}
		if q.Rcpt != "" && len(want) == 0 {
			t.Fatalf("query %d matches nothing; the test is too weak", qi)
		}
		for bi, b := range bounds {
			for _, limit := range []int{1, 13} {
				if limit == 1 && bi != 0 {
					continue // one page per entry: enough with one set of bounds
				}
				q := q
				q.Limit = limit
				var got []int64
				for pages := 0; ; pages++ {
					if pages > 5000 {
						t.Fatalf("query %d %+v: no end", qi, b)
					}
					res, err := f.c.searchAudit(context.Background(), q, b)
					if err != nil {
						t.Fatal(err)
					}
					if len(res.Entries) > limit {
						t.Fatalf("query %d: page of %d, limit %d", qi, len(res.Entries), limit)
					}
					if !res.Partial && res.Older != 0 && len(res.Entries) != limit {
						t.Fatalf("query %d: short page (%d) that is not partial", qi, len(res.Entries))
					}
					for _, e := range res.Entries {
						got = append(got, e.Seq)
					}
					if res.Older == 0 {
						break
					}
					q.Before = res.Older
				}
				if !slices.Equal(got, want) {
					t.Errorf("query %d, bounds %+v, limit %d:\n got %v\nwant %v", qi, b, limit, got, want)
				}
			}
		}
	}
}

// TestAuditPage: officers and admins search the log in the console; the
// page escapes what entries carry, links messages the viewer may open,
// pages newest first, and searching writes no audit entry.
func TestAuditPage(t *testing.T) {
	f := newFixture(t, 1)
	f.clockAfterAccounts()
	id := f.held("alice", "report", testBody("report"))
	f.appendAudit(60, func(i int) audit.Event {
		ev := audit.Event{Actor: "system", Action: "test.filler", Data: map[string]any{"i": i}}
		if i == 59 {
			ev = audit.Event{Actor: "smtp:192.0.2.7", Action: "message.refused", MsgID: "gone00000000000000",
				Data: map[string]any{"rcpt": `<script>alert(1)</script>evil` + "\u202e" + `gpj.exe@x.example`, "helo": `"><img src=x>`}}
		}
		return ev
	})
	olga := f.loggedIn("olga")
	olga.get("/messages/" + id) // message.view by olga
	seq := f.lastSeq()

	resp, body := olga.get("/audit")
	wantStatus(t, resp, body, http.StatusOK)
	low := strings.ToLower(body)
	for _, bad := range []string{"<script", "<img", "\u202e"} {
		if strings.Contains(low, bad) {
			t.Errorf("audit page contains %q", bad)
		}
	}
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;evil\uFFFDgpj.exe") {
		t.Error("hostile data not shown as text")
	}
	// Newest first; 50 a page; the next page continues below.
	if i, j := strings.Index(body, `id="audit-`+itoa(seq)+`"`), strings.Index(body, `id="audit-`+itoa(seq-1)+`"`); i < 0 || j < 0 || i > j {
		t.Errorf("newest entries not first (%d, %d)", i, j)
	}
	if n := strings.Count(body, `<tr id="audit-`); n != auditPageSize {
		t.Errorf("%d rows, want %d", n, auditPageSize)
	}
	older := ""
	if i := strings.Index(body, `" id="audit-older"`); i > 0 {
		older = body[strings.LastIndex(body[:i], `href="`)+len(`href="`) : i]
	}
	if !strings.HasPrefix(older, "/audit?") {
		t.Fatalf("no link to older entries:\n%s", body)
	}
	older = strings.ReplaceAll(older, "&amp;", "&")
	resp, body = olga.get(older)
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, `id="audit-`+itoa(seq-auditPageSize)+`"`) || strings.Contains(body, `id="audit-`+itoa(seq-auditPageSize+1)+`"`) {
		t.Errorf("second page does not continue the first")
	}
	if !strings.Contains(body, `id="audit-newest"`) {
		t.Error("no link back to the newest entries")
	}

	// By message: the existing message is linked; the unknown one is not.
	_, body = olga.get("/audit?msg=" + id)
	if !strings.Contains(body, `<a href="/messages/`+id+`" class="msg-link">`) || !strings.Contains(body, "message.view") {
		t.Errorf("message search:\n%s", body)
	}
	_, body = olga.get("/audit?msg=gone00000000000000")
	if strings.Contains(body, `class="msg-link"`) || !strings.Contains(body, "message.refused") {
		t.Errorf("unknown message linked:\n%s", body)
	}
	// An admin who is no officer cannot open held mail: no link.
	ada := f.loggedIn("ada")
	_, body = ada.get("/audit?msg=" + id)
	if strings.Contains(body, `class="msg-link"`) || !strings.Contains(body, "message.view") {
		t.Errorf("admin's message search:\n%s", body)
	}

	// By user, recipient and time.
	_, body = olga.get("/audit?user=smtp:192.0.2.7")
	if n := strings.Count(body, `<tr id="audit-`); n != 1 {
		t.Errorf("user search: %d rows", n)
	}
	_, body = olga.get("/audit?rcpt=GPJ.EXE")
	if n := strings.Count(body, `<tr id="audit-`); n != 1 {
		t.Errorf("recipient search: %d rows", n)
	}
	_, body = olga.get("/audit?rcpt=nobody-at-all")
	if !strings.Contains(body, `id="audit-empty"`) {
		t.Error("no empty notice")
	}
	es, _ := f.st.Audit(context.Background(), store.AuditFilter{Actor: "system"})
	from := es[10].At.Local().Format("2006-01-02T15:04")
	until := es[20].At.Local().Format("2006-01-02T15:04")
	_, body = olga.get("/audit?user=system&since=" + url.QueryEscape(from) + "&until=" + url.QueryEscape(until))
	if n := strings.Count(body, `<tr id="audit-`); n != 10 {
		t.Errorf("time range: %d rows, want 10", n)
	}
	if !strings.Contains(body, `value="`+from+`"`) {
		t.Error("the form forgot the time")
	}

	// Bad input.
	resp, body = olga.get("/audit?since=yesterday")
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "“yesterday” is not a time") {
		t.Errorf("bad time:\n%s", body)
	}
	resp, body = olga.get("/audit?since=2026-04-02&until=2026-04-01")
	wantStatus(t, resp, body, http.StatusBadRequest)
	resp, body = olga.get("/audit?before=-3")
	wantStatus(t, resp, body, http.StatusBadRequest)

	// Japanese.
	ja := f.browser()
	ja.header.Set("Accept-Language", "ja")
	ja.login("olga", "olga-password")
	_, body = ja.get("/audit")
	if !strings.Contains(body, "<h1>監査ログ</h1>") || !strings.Contains(body, "新しい順") {
		t.Errorf("Japanese audit page:\n%.3000s", body)
	}

	// Searching was not audited; logins were.
	es, _ = f.st.Audit(context.Background(), store.AuditFilter{AfterSeq: seq})
	for _, e := range es {
		if e.Action != "console.login" {
			t.Errorf("searching wrote %s", e.Action)
		}
	}
	// Opening a message from the results is audited as always.
	before := f.lastSeq()
	olga.get("/messages/" + id)
	if es, _ := f.auditSince(before); len(es) != 1 || es[0].Action != "message.view" || es[0].Actor != "olga" {
		t.Errorf("view from the audit page: %v", es)
	}
}

// TestAuditAPI: GET /api/audit takes the page's filters, a limit and the
// "before" cursor, and answers entries as `audit export` writes them.
func TestAuditAPI(t *testing.T) {
	f := newFixture(t, 1)
	start := f.clockAfterAccounts()
	f.appendAudit(30, syntheticEvent)
	tok := f.token("olga")
	seq := f.lastSeq()
	resp, body := f.api("GET", "/api/audit?limit=5&user=olga", tok, "")
	wantStatus(t, resp, body, http.StatusOK)
	a := decodeJSON[api.Audit](t, body)
	if len(a.Entries) != 5 || a.Older == 0 || a.Partial {
		t.Fatalf("first page %s", body)
	}
	for i, e := range a.Entries {
		if e.Actor != "olga" || len(e.Hash) != 64 || len(e.Prev) != 64 || !bytes.HasPrefix(e.Data, []byte("{")) ||
			i > 0 && e.Seq >= a.Entries[i-1].Seq {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	_, body = f.api("GET", "/api/audit?limit=5&user=olga&before="+strconv.FormatInt(a.Older, 10), tok, "")
	b := decodeJSON[api.Audit](t, body)
	if len(b.Entries) != 1 || b.Older != 0 || b.Entries[0].Seq >= a.Entries[4].Seq {
		t.Errorf("second page %s", body)
	}
	_, body = f.api("GET", "/api/audit?rcpt=person0@partner.example&msg=msg0", f.token("ada"), "")
	if c := decodeJSON[api.Audit](t, body); len(c.Entries) != 1 || c.Entries[0].MsgID != "msg0" {
		t.Errorf("recipient and message: %s", body)
	}
	since := start.Add(10 * time.Minute).Format(time.RFC3339)
	_, body = f.api("GET", "/api/audit?limit=500&since="+url.QueryEscape(since), tok, "")
	if c := decodeJSON[api.Audit](t, body); len(c.Entries) != 20+2 { // and the two tokens'
		t.Errorf("since %s: %d entries", since, len(c.Entries))
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "since=tomorrow", "until=2026-13-01", "before=x"} {
		resp, body := f.api("GET", "/api/audit?"+q, tok, "")
		wantAPIError(t, resp, body, http.StatusBadRequest, "bad_request")
	}
	f.noAuditSince(seq+1, "API searches") // seq+1: ada's token
}
