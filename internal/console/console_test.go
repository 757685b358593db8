package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/allowlist"
	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlite"
	"github.com/egressguard/egressguard/internal/verdict"
)

// clock is an injected clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// failStore is the real store with writes that can be made to fail.
type failStore struct {
	store.Store
	mu  sync.Mutex
	err error
}

func (s *failStore) setFail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *failStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.Store.Update(ctx, fn)
}

type fixture struct {
	t     *testing.T
	st    *failStore
	clock *clock
	acc   *account.Service
	hold  *hold.Service
	allow *allowlist.Service
	c     *Console
	srv   *httptest.Server
}

// Users of every fixture: two senders, two officers, and sam, an officer
// who also sends mail (for self-approval).
var testUsers = []struct {
	name  string
	roles []string
	addrs []string
}{
	{"alice", []string{"sender"}, []string{"alice@example.jp"}},
	{"bob", []string{"sender"}, []string{"bob@example.jp"}},
	{"olga", []string{"officer"}, []string{"olga@example.jp"}},
	{"oscar", []string{"officer"}, nil},
	{"sam", []string{"sender", "officer"}, []string{"sam@example.jp"}},
	{"ada", []string{"admin"}, []string{"ada@example.jp"}},
	{"otto", []string{"officer", "admin"}, []string{"otto@example.jp"}},
}

func newFixture(t *testing.T, approvals int, tweak ...func(*Config)) *fixture {
	t.Helper()
	log := zaptest.NewLogger(t)
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "guard.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, st: &failStore{Store: db}, clock: &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}}
	f.acc = account.New(f.st, 4)
	f.acc.SetClock(f.clock.Now)
	ctx := context.Background()
	for _, u := range testUsers {
		if _, err := f.acc.Add(ctx, "test", u.name, u.name+"-password", u.roles, u.addrs); err != nil {
			t.Fatal(err)
		}
	}
	f.hold = hold.New(hold.Config{Approvals: approvals, Now: f.clock.Now}, f.st, nil, nil, log)
	f.allow, err = allowlist.New(f.st, []string{"partner.example.com"}, log, allowlist.Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Now: f.clock.Now}
	for _, fn := range tweak {
		fn(&cfg)
	}
	c, err := New(cfg, Deps{Store: f.st, Hold: f.hold, Accounts: f.acc, Allow: f.allow, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	f.srv = httptest.NewServer(c.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

const testVerdict = `{"action":"hold","reasons":[` +
	`{"rule":"share-link-unknown","detail":"Google Drive share link to an unknown recipient","matched":"link to drive.google.com; recipient stranger@elsewhere.example","action":"hold"},` +
	`{"rule":"watch-attachments","detail":"attachment seen","action":"pass","monitor":true}],` +
	`"links":[{"url":"https://drive.google.com/drive/folders/1AbCdEf","provider":"google-drive","kind":"folder","why":"shared folder path","part":"1"}],` +
	`"recipients":[{"addr":"colleague@example.jp","class":"internal"},{"addr":"stranger@elsewhere.example","class":"unknown"}],` +
	`"unknown":["stranger@elsewhere.example"]}`

// decodeVerdict decodes a verdict as the store holds it.
func decodeVerdict(t testing.TB, s string) *verdict.Verdict {
	t.Helper()
	v, err := verdict.Decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func testBody(subject string) []byte {
	return []byte("From: Sender <sender@example.jp>\r\nTo: stranger@elsewhere.example\r\n" +
		"Subject: " + subject + "\r\nMessage-ID: <t@example.jp>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Here is the folder: https://drive.google.com/drive/folders/1AbCdEf and our site https://www.example.jp/about\r\n" +
		"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"JVBERi0xLjQKJcfsj6IK\r\n--b--\r\n")
}

// held stores a held message from user (and their first address) and
// returns its ID. Received times increase with every call.
func (f *fixture) held(user, subject string, body []byte) string {
	f.t.Helper()
	from := ""
	for _, u := range testUsers {
		if u.name == user && len(u.addrs) > 0 {
			from = u.addrs[0]
		}
	}
	now := f.clock.Now().UTC()
	m := &store.Message{
		Envelope: envelope.Envelope{
			ID: store.NewID(now), Received: now, ClientAddr: "192.0.2.10", Helo: "client.example.jp",
			AuthUser: user, From: from,
			Rcpts: []envelope.Rcpt{{Addr: "colleague@example.jp"}, {Addr: "stranger@elsewhere.example"}},
		},
		State: store.Held, Updated: now, Size: int64(len(body)), Subject: subject, HeaderFrom: from,
		Status: make([]store.RcptStatus, 2), Verdict: decodeVerdict(f.t, testVerdict), Action: verdict.Hold,
		HoldExpires: now.Add(72 * time.Hour),
	}
	if err := f.st.Update(context.Background(), func(tx store.Tx) error { return tx.InsertMessage(m, bytes.NewReader(body)) }); err != nil {
		f.t.Fatal(err)
	}
	f.clock.Add(time.Minute)
	return m.ID
}

func (f *fixture) state(id string) store.State {
	f.t.Helper()
	m, err := f.st.Message(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return m.State
}

func (f *fixture) auditActions(msgID string) []string {
	es, _ := f.st.Audit(context.Background(), store.AuditFilter{MsgID: msgID})
	var out []string
	for _, e := range es {
		out = append(out, e.Action)
	}
	return out
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see them.
type browser struct {
	f      *fixture
	client *http.Client
	header http.Header // added to every request
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, header: http.Header{}, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.f.t.Helper()
	for k, v := range b.header {
		req.Header[k] = v
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) get(path string) (*http.Response, string) {
	b.f.t.Helper()
	req, _ := http.NewRequest("GET", b.f.srv.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values, hdr ...string) (*http.Response, string) {
	b.f.t.Helper()
	req, _ := http.NewRequest("POST", b.f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

func (b *browser) login(user, pass string) *http.Response {
	b.f.t.Helper()
	resp, body := b.post("/login", url.Values{"user": {user}, "password": {pass}})
	if resp.StatusCode != http.StatusSeeOther {
		b.f.t.Fatalf("login %s: status %d\n%s", user, resp.StatusCode, body)
	}
	return resp
}

func (f *fixture) loggedIn(user string) *browser {
	b := f.browser()
	b.login(user, user+"-password")
	return b
}

func wantStatus(t *testing.T, resp *http.Response, body string, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d\n%.2000s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, 1)
	id := f.held("alice", "hello", testBody("hello"))
	b := f.loggedIn("olga")
	for _, path := range []string{"/login", "/held", "/messages/" + id, "/api/held", "/nope", "/static/console.css"} {
		resp, _ := b.get(path)
		h := resp.Header
		if got := h.Get("Content-Security-Policy"); got != "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" {
			t.Errorf("%s: CSP %q", path, got)
		}
		for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s %q, want %q", path, k, got, want)
			}
		}
		if path == "/static/console.css" {
			if resp.StatusCode != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/css") {
				t.Errorf("stylesheet: %d %q", resp.StatusCode, h.Get("Content-Type"))
			}
		} else if got := h.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, got)
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS sent over plain HTTP", path)
		}
	}
	// The pages load nothing but the embedded style sheet.
	_, page := b.get("/messages/" + id)
	for _, bad := range []string{"<script", "http://", "<iframe", "<img", " style="} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("message page contains %q", bad)
		}
	}
}

func TestLoginLogout(t *testing.T) {
	f := newFixture(t, 1)
	b := f.browser()

	resp, body := b.post("/login", url.Values{"user": {"olga"}, "password": {"wrong-password"}})
	wantStatus(t, resp, body, http.StatusUnauthorized)
	if len(resp.Cookies()) != 0 {
		t.Errorf("failed login set cookies: %v", resp.Cookies())
	}
	if !strings.Contains(body, "Invalid user name or password.") {
		t.Errorf("no error message:\n%s", body)
	}

	resp = b.login("olga", "olga-password")
	if loc := resp.Header.Get("Location"); loc != "/held" {
		t.Errorf("redirect after login to %q", loc)
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "egressguard" {
			ck = c
		}
	}
	if ck == nil {
		t.Fatalf("no session cookie: %v", resp.Header["Set-Cookie"])
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure {
		t.Errorf("cookie attributes: %+v", ck)
	}
	if len(ck.Value) < 43 {
		t.Errorf("cookie value too short for 32 random bytes: %q", ck.Value)
	}
	// Only the hash of the cookie is stored.
	if _, err := f.st.Session(context.Background(), ck.Value); err == nil {
		t.Error("session stored under the raw cookie value")
	}
	s, err := f.st.Session(context.Background(), account.SecretID(ck.Value))
	if err != nil || s.User != "olga" {
		t.Fatalf("session by hash: %+v %v", s, err)
	}

	resp, body = b.get("/held")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, `<span class="user" id="current-user">olga</span>`) {
		t.Errorf("queue page does not show the user:\n%s", body)
	}

	resp, _ = b.post("/logout", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := f.st.Session(context.Background(), account.SecretID(ck.Value)); err == nil {
		t.Error("session survives logout")
	}
	resp, _ = b.get("/held")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("after logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A copy of the old cookie is worth nothing either.
	b2 := f.browser()
	u, _ := url.Parse(f.srv.URL)
	b2.client.Jar.SetCookies(u, []*http.Cookie{{Name: "egressguard", Value: ck.Value}})
	if resp, _ := b2.get("/held"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("replayed cookie after logout: %d", resp.StatusCode)
	}

	es, _ := f.st.Audit(context.Background(), store.AuditFilter{})
	var got []string
	for _, e := range es {
		if strings.HasPrefix(e.Action, "console.") {
			got = append(got, e.Actor+" "+e.Action)
		}
	}
	want := "olga console.login_failed,olga console.login,olga console.logout"
	if strings.Join(got, ",") != want {
		t.Errorf("audit %q, want %q", strings.Join(got, ","), want)
	}
	if n, err := audit.Verify(context.Background(), f.st); err != nil || n != int64(len(es)) {
		t.Errorf("audit verify: %d %v", n, err)
	}
}

func TestLoginRedirectsToRequestedPageOnly(t *testing.T) {
	f := newFixture(t, 1)
	id := f.held("alice", "x", testBody("x"))
	b := f.browser()
	resp, _ := b.get("/messages/" + id)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || loc != "/login?next="+url.QueryEscape("/messages/"+id) {
		t.Fatalf("unauthenticated: %d %q", resp.StatusCode, loc)
	}
	resp, _ = b.post("/login", url.Values{"user": {"olga"}, "password": {"olga-password"}, "next": {"/messages/" + id}})
	if got := resp.Header.Get("Location"); got != "/messages/"+id {
		t.Errorf("next: redirected to %q", got)
	}
	for next, want := range map[string]string{"//evil.example/": "/", "/\\evil.example": "/", "https://evil.example/": "/",
		"javascript:alert(1)": "/", "/login": "/", "": "/held"} {
		b := f.browser()
		resp, _ := b.post("/login", url.Values{"user": {"olga"}, "password": {"olga-password"}, "next": {next}})
		if got := resp.Header.Get("Location"); got != want {
			t.Errorf("next=%q: redirected to %q", next, got)
		}
	}
}

func TestSecureCookie(t *testing.T) {
	f := newFixture(t, 1, func(c *Config) { c.Secure = true })
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/login", strings.NewReader("user=olga&password=olga-password"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	f.c.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("login: %d", rec.Code)
	}
	// The session cookie and the device cookie of login throttling.
	cs := rec.Result().Cookies()
	names := map[string]bool{}
	for _, c := range cs {
		names[c.Name] = true
		if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
			t.Errorf("cookie over TLS: %+v", c)
		}
	}
	if len(cs) != 2 || !names["__Host-egressguard"] || !names["__Host-egressguard-device"] {
		t.Errorf("cookies over TLS: %+v", cs)
	}
	if rec.Header().Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t, 1)
	stored := func(b *browser) *store.Session {
		u, _ := url.Parse(f.srv.URL)
		for _, c := range b.client.Jar.Cookies(u) {
			if s, err := f.st.Session(context.Background(), account.SecretID(c.Value)); err == nil {
				return s
			}
		}
		return nil
	}
	ok := func(b *browser) bool {
		resp, _ := b.get("/held")
		return resp.StatusCode == http.StatusOK
	}

	t.Run("idle", func(t *testing.T) {
		b := f.loggedIn("olga")
		f.clock.Add(29 * time.Minute)
		if !ok(b) {
			t.Fatal("session ended before the idle timeout")
		}
		f.clock.Add(30*time.Minute + time.Second)
		if ok(b) {
			t.Fatal("session alive after 30 idle minutes")
		}
		if stored(b) != nil {
			t.Error("expired session not deleted")
		}
	})

	t.Run("touch at most once a minute", func(t *testing.T) {
		b := f.loggedIn("olga")
		s0 := stored(b)
		f.clock.Add(30 * time.Second)
		ok(b)
		if s := stored(b); !s.LastSeen.Equal(s0.LastSeen) {
			t.Errorf("LastSeen written after 30s: %v → %v", s0.LastSeen, s.LastSeen)
		}
		f.clock.Add(40 * time.Second)
		ok(b)
		if s := stored(b); !s.LastSeen.Equal(f.clock.Now()) {
			t.Errorf("LastSeen %v, want %v", s.LastSeen, f.clock.Now())
		}
	})

	t.Run("absolute", func(t *testing.T) {
		b := f.loggedIn("olga")
		for range 12*60/20 - 1 {
			f.clock.Add(20 * time.Minute)
			if !ok(b) {
				t.Fatalf("session ended early, at %v", f.clock.Now())
			}
		}
		f.clock.Add(20*time.Minute + time.Second)
		if ok(b) {
			t.Fatal("session alive after 12 hours")
		}
	})
}

func TestDisabledUserLosesSessions(t *testing.T) {
	f := newFixture(t, 1)
	b1, b2 := f.loggedIn("olga"), f.loggedIn("olga")
	// Disable the account behind the console's back (account.Service
	// ends sessions itself; the console must not rely on that).
	u, err := f.st.User(context.Background(), "olga")
	if err != nil {
		t.Fatal(err)
	}
	u.Disabled = true
	if err := f.st.Update(context.Background(), func(tx store.Tx) error { return tx.PutUser(u) }); err != nil {
		t.Fatal(err)
	}
	if resp, _ := b1.get("/held"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("disabled user's session still works: %d", resp.StatusCode)
	}
	su, _ := url.Parse(f.srv.URL)
	for _, b := range []*browser{b1, b2} {
		for _, c := range b.client.Jar.Cookies(su) {
			if _, err := f.st.Session(context.Background(), account.SecretID(c.Value)); err == nil {
				t.Error("session left after disabling")
			}
		}
	}
	if resp, _ := b2.get("/held"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("second session still works: %d", resp.StatusCode)
	}
	resp, body := f.browser().post("/login", url.Values{"user": {"olga"}, "password": {"olga-password"}})
	wantStatus(t, resp, body, http.StatusUnauthorized)
}

func TestCrossSitePostRefused(t *testing.T) {
	f := newFixture(t, 1)
	id := f.held("alice", "x", testBody("x"))
	b := f.loggedIn("olga")
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "http://evil.example"},
	} {
		resp, body := b.post("/messages/"+id+"/approve", url.Values{"confirm": {"1"}}, hdr...)
		wantStatus(t, resp, body, http.StatusForbidden)
		resp, _ = b.post("/messages/"+id+"/reject", url.Values{"comment": {"x"}}, hdr...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("reject with %v: %d", hdr, resp.StatusCode)
		}
		resp, _ = f.browser().post("/login", url.Values{"user": {"olga"}, "password": {"olga-password"}}, hdr...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("login with %v: %d", hdr, resp.StatusCode)
		}
		resp, _ = b.post("/logout", nil, hdr...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("logout with %v: %d", hdr, resp.StatusCode)
		}
	}
	if s := f.state(id); s != store.Held {
		t.Fatalf("state %s after refused cross-site posts", s)
	}
	if ds, _ := f.st.Decisions(context.Background(), id); len(ds) != 0 {
		t.Fatalf("decisions recorded: %v", ds)
	}
	// The same request from the console's own page goes through.
	resp, body := b.post("/messages/"+id+"/approve", url.Values{"confirm": {"1"}}, "Sec-Fetch-Site", "same-origin", "Origin", f.srv.URL)
	wantStatus(t, resp, body, http.StatusSeeOther)
	if s := f.state(id); s != store.Queued {
		t.Errorf("state %s after same-origin approval", s)
	}
}

func TestScriptInSubjectShownAsText(t *testing.T) {
	f := newFixture(t, 1)
	subj := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	body := []byte("From: a@example.jp\r\nSubject: " + subj + "\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nplain <script>alert(2)</script>\r\n" +
		"--b\r\nContent-Type: text/html\r\n\r\n<html><body><script>alert(3)</script><p onclick=\"x()\">Hi <b>there</b></p>" +
		"<img src=\"https://tracker.example/p.gif\"><a href=\"javascript:alert(4)\">&lt;script&gt;</a></body></html>\r\n--b--\r\n")
	id := f.held("alice", subj, body)
	b := f.loggedIn("olga")
	for _, path := range []string{"/held", "/messages/" + id} {
		resp, page := b.get(path)
		wantStatus(t, resp, page, http.StatusOK)
		low := strings.ToLower(page)
		for _, bad := range []string{"<script", "<img", "onclick=", "<b>", "tracker.example/p.gif\""} {
			if strings.Contains(low, bad) {
				t.Errorf("%s contains %q", path, bad)
			}
		}
		if !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
			t.Errorf("%s does not show the subject as text", path)
		}
	}
	_, page := b.get("/messages/" + id)
	if !strings.Contains(page, "plain &lt;script&gt;alert(2)&lt;/script&gt;") {
		t.Error("plain part not shown as escaped text")
	}
	if !strings.Contains(page, "Hi there") {
		t.Error("HTML part's visible text not shown")
	}
}

func TestPrintableInPages(t *testing.T) {
	f := newFixture(t, 1)
	// A right-to-left override makes "fdp.exe" read as "exe.pdf".
	subj := "invoice\u202Efdp.exe\x1b[2J"
	id := f.held("alice", subj, testBody("x"))
	b := f.loggedIn("olga")
	_, page := b.get("/messages/" + id)
	if strings.Contains(page, "\u202E") || strings.Contains(page, "\x1b") {
		t.Error("control characters reach the page")
	}
	if !strings.Contains(page, "invoice\uFFFDfdp.exe\uFFFD[2J") {
		t.Error("subject not shown with replacement characters")
	}
}

func TestQueue(t *testing.T) {
	f := newFixture(t, 1)
	a1 := f.held("alice", "first", testBody("first"))
	b1 := f.held("bob", "second", testBody("second"))
	a2 := f.held("alice", "third", testBody("third"))
	f.clock.Add(3 * time.Hour)

	b := f.loggedIn("olga")
	resp, page := b.get("/held")
	wantStatus(t, resp, page, http.StatusOK)
	i1, i2, i3 := strings.Index(page, "row-"+a1), strings.Index(page, "row-"+b1), strings.Index(page, "row-"+a2)
	if i1 < 0 || i2 < 0 || i3 < 0 || !(i1 < i2 && i2 < i3) {
		t.Errorf("queue not oldest first: %d %d %d", i1, i2, i3)
	}
	for _, want := range []string{
		"3h 3m", // age of the first message
		"stranger@elsewhere.example <span class=\"badge warn\">unknown</span>",
		"<div>Google Drive share link to an unknown recipient</div>",
		"alice@example.jp",
		`<span class="num">0</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("queue page lacks %q", want)
		}
	}
	if strings.Contains(page, "attachment seen") {
		t.Error("monitor-only reason shown as a reason in the queue")
	}

	_, page = b.get("/held?sender=BOB")
	if strings.Contains(page, "row-"+a1) || !strings.Contains(page, "row-"+b1) {
		t.Error("sender filter")
	}
	_, page = b.get("/held?rule=share-link-unknown")
	if !strings.Contains(page, "row-"+a1) || !strings.Contains(page, "row-"+b1) {
		t.Error("rule filter drops matching mail")
	}
	_, page = b.get("/held?rule=other-rule")
	if strings.Contains(page, "row-") {
		t.Error("rule filter keeps mail held for another rule")
	}

	// A sender sees only their own, with a withdraw button.
	ba := f.loggedIn("alice")
	_, page = ba.get("/held")
	if !strings.Contains(page, "row-"+a1) || !strings.Contains(page, "row-"+a2) || strings.Contains(page, "row-"+b1) {
		t.Error("sender sees other senders' mail or not their own")
	}
	if !strings.Contains(page, `action="/messages/`+a1+`/withdraw"`) {
		t.Error("no withdraw button for the sender")
	}
	if strings.Contains(page, "near-misses") {
		t.Error("near-miss counter shown to a sender")
	}
}

func TestSenderGets404ForOthersMessage(t *testing.T) {
	f := newFixture(t, 1)
	bobs := f.held("bob", "bob's", testBody("b"))
	b := f.loggedIn("alice")
	resp, body := b.get("/messages/" + bobs)
	wantStatus(t, resp, body, http.StatusNotFound)
	if strings.Contains(body, "bob&#39;s") || strings.Contains(body, "bob's") {
		t.Error("404 page reveals the subject")
	}
	resp, body = b.get("/messages/doesnotexist")
	wantStatus(t, resp, body, http.StatusNotFound)
	resp, body = b.post("/messages/"+bobs+"/withdraw", nil)
	wantStatus(t, resp, body, http.StatusNotFound)
	resp, body = b.post("/messages/"+bobs+"/approve", url.Values{"confirm": {"1"}})
	wantStatus(t, resp, body, http.StatusNotFound)
	if f.state(bobs) != store.Held {
		t.Fatal("state changed")
	}
	// No view of someone else's message was recorded as one.
	if got := f.auditActions(bobs); len(got) != 0 {
		t.Errorf("audit for a refused view: %v", got)
	}
}

func TestSelfApprovalRefused(t *testing.T) {
	f := newFixture(t, 1)
	id := f.held("sam", "mine", testBody("mine"))
	b := f.loggedIn("sam")
	_, page := b.get("/messages/" + id)
	if strings.Contains(page, `id="approve"`) || !strings.Contains(page, `id="own-note"`) {
		t.Error("approve offered on one's own message")
	}
	resp, body := b.post("/messages/"+id+"/approve", url.Values{"confirm": {"1"}})
	wantStatus(t, resp, body, http.StatusForbidden)
	if !strings.Contains(body, "Nobody may decide on their own message") {
		t.Errorf("no clear message:\n%s", body)
	}
	resp, body = b.post("/messages/"+id+"/reject", url.Values{"comment": {"no"}})
	wantStatus(t, resp, body, http.StatusForbidden)

	tok := f.token("sam")
	resp, body = f.api("POST", "/api/messages/"+id+"/approve", tok, "")
	wantAPIError(t, resp, body, http.StatusForbidden, "self_approval")
	if f.state(id) != store.Held {
		t.Fatal("self-approval changed the state")
	}
	// Another officer may.
	resp, body = f.loggedIn("olga").post("/messages/"+id+"/approve", url.Values{"confirm": {"1"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if f.state(id) != store.Queued {
		t.Error("approval by another officer did not release")
	}
}

func TestSenderCannotApprove(t *testing.T) {
	f := newFixture(t, 1)
	own := f.held("alice", "own", testBody("own"))
	b := f.loggedIn("alice")
	_, page := b.get("/messages/" + own)
	if strings.Contains(page, `id="approve"`) || strings.Contains(page, `id="reject"`) {
		t.Error("decision buttons shown to a sender")
	}
	resp, body := b.post("/messages/"+own+"/approve", url.Values{"confirm": {"1"}})
	wantStatus(t, resp, body, http.StatusForbidden)
	resp, body = f.api("POST", "/api/messages/"+own+"/approve", f.token("alice"), "")
	wantAPIError(t, resp, body, http.StatusForbidden, "forbidden")
	resp, body = f.api("POST", "/api/messages/"+own+"/reject", f.token("alice"), `{"comment":"x"}`)
	wantAPIError(t, resp, body, http.StatusForbidden, "forbidden")
	if f.state(own) != store.Held {
		t.Fatal("sender changed the state")
	}
}

func TestSecondApprovalBySameOfficerDoesNotCount(t *testing.T) {
	f := newFixture(t, 2)
	id := f.held("alice", "two", testBody("two"))
	olga := f.loggedIn("olga")
	resp, body := olga.post("/messages/"+id+"/approve", url.Values{"confirm": {"1"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/held?done=approved&id="+id {
		t.Errorf("redirect %q", loc)
	}
	_, page := olga.get("/messages/" + id)
	if !strings.Contains(page, "Approvals: 1 of 2") || strings.Contains(page, `id="approve"`) || !strings.Contains(page, `id="approved-note"`) {
		t.Error("message page after the first approval")
	}
	resp, body = olga.post("/messages/"+id+"/approve", url.Values{"confirm": {"1"}})
	wantStatus(t, resp, body, http.StatusConflict)
	if !strings.Contains(body, "Your approval counts once") {
		t.Errorf("no clear message:\n%s", body)
	}
	resp, body = f.api("POST", "/api/messages/"+id+"/approve", f.token("olga"), "")
	wantAPIError(t, resp, body, http.StatusConflict, "already_approved")
	if f.state(id) != store.Held {
		t.Fatal("released by one officer approving twice")
	}
	resp, body = f.api("POST", "/api/messages/"+id+"/approve", f.token("oscar"), "")
	wantStatus(t, resp, body, http.StatusOK)
	var out api.Outcome
	if err := json.Unmarshal([]byte(body), &out); err != nil || !out.Released || out.Approvals != 2 || out.Needed != 2 || out.State != "queued" {
		t.Errorf("outcome %+v %v", out, err)
	}
	if f.state(id) != store.Queued {
		t.Error("not released by the second officer")
	}
	// Deciding again on a released message: not held any more.
	resp, body = olga.post("/messages/"+id+"/reject", url.Values{"comment": {"late"}})
	wantStatus(t, resp, body, http.StatusConflict)
	if !strings.Contains(body, "not held any more") {
		t.Errorf("no clear message:\n%s", body)
	}
}

func TestRejectAndNearMiss(t *testing.T) {
	f := newFixture(t, 1)
	id := f.held("alice", "oops", testBody("oops"))
	olga := f.loggedIn("olga")
	resp, body := olga.post("/messages/"+id+"/reject", url.Values{"comment": {"   "}})
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "A rejection needs a comment") {
		t.Errorf("no clear message:\n%s", body)
	}
	resp, body = f.api("POST", "/api/messages/"+id+"/reject", f.token("olga"), `{"comment":""}`)
	wantAPIError(t, resp, body, http.StatusUnprocessableEntity, "comment_required")

	resp, body = olga.post("/messages/"+id+"/reject", url.Values{"comment": {"wrong customer"}, "near_miss": {"1"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if f.state(id) != store.Rejected {
		t.Fatal("not rejected")
	}
	ds, _ := f.st.Decisions(context.Background(), id)
	if len(ds) != 1 || !ds[0].NearMiss || ds[0].Comment != "wrong customer" || ds[0].Actor != "olga" {
		t.Errorf("decision %+v", ds)
	}
	_, page := olga.get("/held")
	if !strings.Contains(page, `<span class="num">1</span>`) {
		t.Error("near-miss counter does not count the rejection")
	}
	_, page = olga.get("/messages/" + id)
	if !strings.Contains(page, "wrong customer") || !strings.Contains(page, "near miss") {
		t.Error("history does not show the rejection")
	}
	// A near miss older than the window does not count.
	f.clock.Add(31 * 24 * time.Hour)
	_, page = f.loggedIn("oscar").get("/held")
	if !strings.Contains(page, `<span class="num">0</span>`) {
		t.Error("old near miss still counted")
	}
}

func TestWithdraw(t *testing.T) {
	f := newFixture(t, 1)
	id := f.held("alice", "take back", testBody("w"))
	resp, body := f.loggedIn("olga").post("/messages/"+id+"/withdraw", nil)
	wantStatus(t, resp, body, http.StatusForbidden)
	b := f.loggedIn("alice")
	resp, body = b.post("/messages/"+id+"/withdraw", nil)
	wantStatus(t, resp, body, http.StatusSeeOther)
	if f.state(id) != store.Withdrawn {
		t.Fatal("not withdrawn")
	}
	resp, body = b.post("/messages/"+id+"/withdraw", nil)
	wantStatus(t, resp, body, http.StatusConflict)
	id2 := f.held("alice", "api", testBody("w"))
	resp, body = f.api("POST", "/api/messages/"+id2+"/withdraw", f.token("alice"), "")
	wantStatus(t, resp, body, http.StatusOK)
	if f.state(id2) != store.Withdrawn {
		t.Fatal("not withdrawn through the API")
	}
}

func TestMessageView(t *testing.T) {
	f := newFixture(t, 1)
	body := []byte("From: =?UTF-8?B?5bGx55Sw?= <alice@example.jp>\r\nTo: stranger@elsewhere.example\r\n" +
		"Subject: =?UTF-8?B?6LOH5paZ44Gu5YWx5pyJ?=\r\nX-Long: one\r\n two\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"フォルダ: https://drive.google.com/drive/folders/1AbCdEf と https://www.example.jp/about\r\n" +
		"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"JVBERi0xLjQKJcfsj6IK\r\n--b--\r\n")
	id := f.held("alice", "資料の共有", body)
	b := f.loggedIn("olga")
	resp, page := b.get("/messages/" + id)
	wantStatus(t, resp, page, http.StatusOK)
	for _, want := range []string{
		`<h1 class="subject" id="subject">資料の共有</h1>`,
		"<dt>Subject</dt><dd>資料の共有</dd>",
		"<dt>From</dt><dd>山田 &lt;alice@example.jp&gt;</dd>",
		"<dt>X-Long</dt><dd>one two</dd>",
		`<mark class="hit">https://drive.google.com/drive/folders/1AbCdEf</mark>`,
		`<mark class="link">https://www.example.jp/about</mark>`,
		"report.pdf",
		"Google Drive share link to an unknown recipient",
		`stranger@elsewhere.example <span class="badge warn">unknown</span>`,
		`<span class="badge warn bcc">Bcc: not visible in To/Cc</span>`,
		"Approvals: 0 of 1",
		"192.0.2.10",
		`id="approve"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("message page lacks %q", want)
		}
	}
	// The rule's evidence and the catalogue's match are technical: an
	// officer does not see them; an admin opens them in a disclosure.
	for _, tech := range []string{"link to drive.google.com; recipient stranger@elsewhere.example", "shared folder path", `id="tech"`} {
		if strings.Contains(page, tech) {
			t.Errorf("officer's page shows technical detail %q", tech)
		}
	}
	if got := f.auditActions(id); strings.Join(got, ",") != "message.view" {
		t.Errorf("audit after console view: %v", got)
	}
	es, _ := f.st.Audit(context.Background(), store.AuditFilter{MsgID: id})
	if !strings.Contains(string(es[0].Data), `"via":"console"`) || es[0].Actor != "olga" {
		t.Errorf("view audit entry %s %s", es[0].Actor, es[0].Data)
	}

	// The same through the API, as the CLI.
	resp, js := f.api("GET", "/api/messages/"+id, f.token("olga"), "", "User-Agent", api.CLIUserAgent+"test")
	wantStatus(t, resp, js, http.StatusOK)
	var d api.Detail
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		t.Fatal(err)
	}
	if d.Subject != "資料の共有" || len(d.Parts) != 2 || !strings.Contains(d.Parts[0].Text, "drive.google.com") ||
		len(d.Attachments) != 1 || d.Attachments[0].Filename != "report.pdf" || d.Attachments[0].Size != 15 ||
		!d.CanDecide || d.Needed != 1 || len(d.Rcpts) != 2 || !d.Rcpts[1].Unknown || d.Rcpts[0].Unknown {
		t.Errorf("API detail: %s", js)
	}
	flagged := 0
	for _, l := range d.Links {
		if l.Flagged {
			flagged++
			if l.URL != "https://drive.google.com/drive/folders/1AbCdEf" || l.Provider != "google-drive" {
				t.Errorf("flagged link %+v", l)
			}
		}
	}
	if flagged != 1 {
		t.Errorf("%d flagged links", flagged)
	}
	es, _ = f.st.Audit(context.Background(), store.AuditFilter{MsgID: id})
	if len(es) != 2 || !strings.Contains(string(es[1].Data), `"via":"cli"`) {
		t.Errorf("API view not audited as cli: %d entries", len(es))
	}
	f.api("GET", "/api/messages/"+id, f.token("olga"), "")
	es, _ = f.st.Audit(context.Background(), store.AuditFilter{MsgID: id})
	if len(es) != 3 || !strings.Contains(string(es[2].Data), `"via":"api"`) {
		t.Errorf("API view not audited as api")
	}
	// Listing does not count as viewing a message.
	f.api("GET", "/api/held", f.token("olga"), "")
	b.get("/held")
	if es, _ := f.st.Audit(context.Background(), store.AuditFilter{MsgID: id}); len(es) != 3 {
		t.Errorf("listing audited as a view")
	}

	_, adm := f.loggedIn("otto").get("/messages/" + id)
	for _, tech := range []string{`<details class="tech" id="tech">`, "link to drive.google.com; recipient stranger@elsewhere.example", "shared folder path"} {
		if !strings.Contains(adm, tech) {
			t.Errorf("admin's page lacks technical detail %q", tech)
		}
	}

	// After approval: history, no buttons.
	b.post("/messages/"+id+"/approve", url.Values{"confirm": {"1"}})
	_, page = b.get("/messages/" + id)
	if strings.Contains(page, `id="approve"`) || !strings.Contains(page, "approved, queued") || !strings.Contains(page, "<td data-label=\"Who\">olga</td>") {
		t.Error("message page after approval")
	}
}

func TestBodyDeleted(t *testing.T) {
	f := newFixture(t, 1)
	id := f.held("alice", "gone", testBody("gone"))
	f.st.Update(context.Background(), func(tx store.Tx) error { return tx.DeleteBody(id) })
	resp, page := f.loggedIn("olga").get("/messages/" + id)
	wantStatus(t, resp, page, http.StatusOK)
	if !strings.Contains(page, `id="body-gone"`) {
		t.Error("no note that the content was destroyed")
	}
}

func TestLanguage(t *testing.T) {
	f := newFixture(t, 1)
	f.held("alice", "x", testBody("x"))
	b := f.loggedIn("olga")
	b.header.Set("Accept-Language", "ja,en-US;q=0.8")
	_, page := b.get("/held")
	if !strings.Contains(page, `<html lang="ja">`) || !strings.Contains(page, "保留メール") || !strings.Contains(page, "未知") {
		t.Error("Japanese not chosen from Accept-Language")
	}
	b.header.Set("Accept-Language", "en-GB,en;q=0.9,ja;q=0.5")
	if _, page = b.get("/held"); !strings.Contains(page, `<html lang="en">`) {
		t.Error("English not chosen from Accept-Language")
	}
	// The user's setting wins over the browser's.
	resp, _ := b.post("/settings/lang", url.Values{"lang": {"ja"}, "back": {"/held?done=lang"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/held?done=lang" {
		t.Fatalf("set lang: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, page = b.get("/held?done=lang"); !strings.Contains(page, `<html lang="ja">`) || !strings.Contains(page, "言語を変更しました。") {
		t.Error("user setting not applied")
	}
	if u, _ := f.acc.Get(context.Background(), "olga"); u.Lang != "ja" {
		t.Errorf("stored lang %q", u.Lang)
	}
	// The password still works: the setting did not overwrite the account.
	f.loggedIn("olga")
	b.post("/settings/lang", url.Values{"lang": {""}})
	if _, page = b.get("/held"); !strings.Contains(page, `<html lang="en">`) {
		t.Error("back to the browser's language")
	}
	// The login page follows the browser.
	lb := f.browser()
	lb.header.Set("Accept-Language", "ja")
	if _, page = lb.get("/login"); !strings.Contains(page, "ログイン") {
		t.Error("login page not in Japanese")
	}
}

func TestPanicRecovered(t *testing.T) {
	f := newFixture(t, 1)
	rec := httptest.NewRecorder()
	f.c.secure(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("panic: %d %q", rec.Code, rec.Body.String())
	}
}

func TestStoreFailureIsInternalError(t *testing.T) {
	f := newFixture(t, 1)
	id := f.held("alice", "x", testBody("x"))
	b := f.loggedIn("olga")
	f.st.setFail(fmt.Errorf("disk on fire"))
	resp, body := b.post("/messages/"+id+"/approve", url.Values{"confirm": {"1"}})
	wantStatus(t, resp, body, http.StatusInternalServerError)
	if strings.Contains(body, "disk on fire") {
		t.Error("internal error text shown to the user")
	}
	// The view is audited in the same breath as it is shown: if the audit
	// entry cannot be written, the message is not shown.
	resp, body = b.get("/messages/" + id)
	wantStatus(t, resp, body, http.StatusInternalServerError)
	if strings.Contains(body, "drive.google.com") {
		t.Error("message shown although its view could not be audited")
	}
}

func TestRetentionShown(t *testing.T) {
	f := newFixture(t, 1, func(c *Config) {
		c.BodyGoneAt = func(m *store.Message) time.Time {
			if m.State == store.Rejected {
				return m.Updated.Add(30 * 24 * time.Hour)
			}
			return time.Time{}
		}
	})
	id := f.held("alice", "kept", testBody("kept"))
	b := f.loggedIn("olga")
	_, page := b.get("/messages/" + id)
	if !strings.Contains(page, `<dd id="retention">kept while held or queued`) {
		t.Error("retention of a held message not shown")
	}
	b.post("/messages/"+id+"/reject", url.Values{"comment": {"no"}})
	_, page = b.get("/messages/" + id)
	want := `<dd id="retention">on ` + strings.ReplaceAll(langOf("en").Time(f.clock.Now().Add(30*24*time.Hour)), "+", "&#43;") + `</dd>`
	if !strings.Contains(page, want) {
		t.Errorf("retention of a rejected message: want %q", want)
	}
	resp, js := f.api("GET", "/api/messages/"+id, f.token("olga"), "")
	var d api.Detail
	if err := json.Unmarshal([]byte(js), &d); err != nil || resp.StatusCode != 200 || d.BodyGoneAt == nil ||
		!d.BodyGoneAt.Equal(f.clock.Now().Add(30*24*time.Hour).Truncate(time.Millisecond)) {
		t.Errorf("API body_gone_at: %v %v", d.BodyGoneAt, err)
	}
	// Without a schedule, nothing is claimed.
	f2 := newFixture(t, 1)
	id2 := f2.held("alice", "x", testBody("x"))
	if _, page := f2.loggedIn("olga").get("/messages/" + id2); strings.Contains(page, `id="retention"`) {
		t.Error("retention shown without a schedule")
	}
}

// TestEveryActionAuditedOnce: each console and API action writes exactly
// its audit entry, naming the actor, the message and the interface;
// listings and refused actions write none.
func TestEveryActionAuditedOnce(t *testing.T) {
	f := newFixture(t, 1)
	idA := f.held("alice", "a", testBody("a"))
	idB := f.held("alice", "b", testBody("b"))
	idC := f.held("alice", "c", testBody("c"))
	alice := f.loggedIn("alice")
	olga := f.browser()
	tok := f.token("olga")
	var tokID string
	cases := []struct {
		name               string
		do                 func()
		action, actor, msg string // action "" = no entry
		via                string
	}{
		{"failed login", func() { f.browser().post("/login", url.Values{"user": {"olga"}, "password": {"nope"}}) }, "console.login_failed", "olga", "", ""},
		{"login", func() { olga.login("olga", "olga-password") }, "console.login", "olga", "", ""},
		{"queue", func() { olga.get("/held") }, "", "", "", ""},
		{"API list", func() { f.api("GET", "/api/held", tok, "") }, "", "", "", ""},
		{"console view", func() { olga.get("/messages/" + idA) }, "message.view", "olga", idA, "console"},
		{"API view", func() { f.api("GET", "/api/messages/"+idA, tok, "") }, "message.view", "olga", idA, "api"},
		{"CLI view", func() { f.api("GET", "/api/messages/"+idA, tok, "", "User-Agent", api.CLIUserAgent+"1") }, "message.view", "olga", idA, "cli"},
		{"refused view", func() { alice.get("/messages/nonexistent") }, "", "", "", ""},
		{"console approve", func() { olga.post("/messages/"+idA+"/approve", url.Values{"confirm": {"1"}}) }, "hold.approve", "olga", idA, "console"},
		{"refused approve", func() { olga.post("/messages/"+idA+"/approve", url.Values{"confirm": {"1"}}) }, "", "", "", ""},
		{"refused reject", func() { f.api("POST", "/api/messages/"+idB+"/reject", tok, `{"comment":""}`) }, "", "", "", ""},
		{"API reject", func() { f.api("POST", "/api/messages/"+idB+"/reject", tok, `{"comment":"no"}`) }, "hold.reject", "olga", idB, "api"},
		{"console withdraw", func() { alice.post("/messages/"+idC+"/withdraw", nil) }, "hold.withdraw", "alice", idC, "console"},
		{"language", func() { olga.post("/settings/lang", url.Values{"lang": {"ja"}}) }, "user.lang", "olga", "", ""},
		{"token create", func() {
			_, tk, _ := account.CreateToken(context.Background(), f.st, "admin", "olga", "x", time.Time{}, f.clock.Now())
			tokID = tk.ID
		}, "token.create", "admin", "", ""},
		{"token revoke", func() { account.RevokeToken(context.Background(), f.st, "admin", tokID, f.clock.Now()) }, "token.revoke", "admin", "", ""},
		{"logout", func() { olga.post("/logout", nil) }, "console.logout", "olga", "", ""},
	}
	all := func() []*store.AuditEntry {
		es, err := f.st.Audit(context.Background(), store.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	for _, c := range cases {
		before := len(all())
		c.do()
		es := all()[before:]
		if c.action == "" {
			if len(es) != 0 {
				t.Errorf("%s: %d audit entries, want none (first %s)", c.name, len(es), es[0].Action)
			}
			continue
		}
		if len(es) != 1 {
			t.Errorf("%s: %d audit entries, want 1", c.name, len(es))
			continue
		}
		e := es[0]
		if e.Action != c.action || e.Actor != c.actor || e.MsgID != c.msg {
			t.Errorf("%s: entry %s by %s on %q, want %s by %s on %q", c.name, e.Action, e.Actor, e.MsgID, c.action, c.actor, c.msg)
		}
		if c.via != "" && !strings.Contains(string(e.Data), `"via":"`+c.via+`"`) {
			t.Errorf("%s: data %s lacks via %s", c.name, e.Data, c.via)
		}
	}
	if _, err := audit.Verify(context.Background(), f.st); err != nil {
		t.Error(err)
	}
}

func TestBaseURLIsTrustedOrigin(t *testing.T) {
	f := newFixture(t, 1, func(c *Config) { c.BaseURL = "https://guard.example.jp/console" })
	// Behind a proxy the Host differs from the public origin.
	resp, body := f.browser().post("/login", url.Values{"user": {"olga"}, "password": {"olga-password"}}, "Origin", "https://guard.example.jp")
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, body = f.browser().post("/login", url.Values{"user": {"olga"}, "password": {"olga-password"}}, "Origin", "https://evil.example")
	wantStatus(t, resp, body, http.StatusForbidden)

	_, err := New(Config{BaseURL: "guard.example.jp"}, Deps{Store: f.st, Hold: f.hold, Accounts: f.acc})
	if err == nil {
		t.Error("base URL without scheme accepted")
	}
}

// TestPersonalDataShownMasked: the message page lists personal data per
// attachment with masked samples and never shows the records themselves.
func TestPersonalDataShownMasked(t *testing.T) {
	f := newFixture(t, 1)
	csv := "氏名,電話番号,生年月日\r\n山田 太郎,090-1234-5678,1980/01/02\r\n佐藤 花子,080-2222-3333,1975/05/06\r\n"
	body := []byte("From: alice@example.jp\r\nTo: stranger@elsewhere.example\r\nSubject: list\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n" +
		"--b\r\nContent-Type: text/csv; charset=utf-8\r\nContent-Disposition: attachment; filename=\"list.csv\"\r\n\r\n" + csv + "--b--\r\n")
	id := f.held("alice", "list", body)
	b := f.loggedIn("olga")
	resp, page := b.get("/messages/" + id)
	wantStatus(t, resp, page, http.StatusOK)
	for _, want := range []string{`id="personal"`, "list.csv", "090-****-5678", "山田 **", "phone number"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, leak := range []string{"090-1234-5678", "山田 太郎", "1980/01/02"} {
		if strings.Contains(page, leak) {
			t.Errorf("page shows %q", leak)
		}
	}
	b.header.Set("Accept-Language", "ja")
	_, page = b.get("/messages/" + id)
	for _, want := range []string{"個人情報（マスク済み）", "氏名・電話番号・生年月日", "個人情報を含むため本文は表示しません"} {
		if !strings.Contains(page, want) {
			t.Errorf("Japanese page lacks %q", want)
		}
	}
}

// TestUnknownDestinationFlagged: a link the verdict names as an unknown
// destination is flagged in the message view, with why.
func TestUnknownDestinationFlagged(t *testing.T) {
	f := newFixture(t, 1)
	body := []byte("From: alice@example.jp\r\nTo: stranger@elsewhere.example\r\nSubject: files\r\n\r\nhttps://bit.ly/3AbCdEf and https://www.example.jp/about\r\n")
	id := f.held("alice", "files", body)
	v := `{"action":"hold","reasons":[],"links":[],"unknown_destinations":[{"url":"https://bit.ly/3AbCdEf","why":"URL shortener bit.ly","part":"1","share_capable":true}],"unknown":[]}`
	m, err := f.st.Message(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	m.Verdict = decodeVerdict(t, v)
	if err := f.st.Update(context.Background(), func(tx store.Tx) error { return tx.UpdateMessage(m, store.Held) }); err != nil {
		t.Fatal(err)
	}
	resp, js := f.api("GET", "/api/messages/"+id, f.token("olga"), "")
	wantStatus(t, resp, js, http.StatusOK)
	var d api.Detail
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		t.Fatal(err)
	}
	for _, l := range d.Links {
		if flag := l.URL == "https://bit.ly/3AbCdEf"; l.Flagged != flag || (flag && l.Why != "URL shortener bit.ly") {
			t.Errorf("link %+v", l)
		}
	}
}
