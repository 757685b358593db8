package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/store"
)

// token creates an API token for user.
func (f *fixture) token(user string) string {
	f.t.Helper()
	tok, _, err := account.CreateToken(context.Background(), f.st, "test", user, "test", time.Time{}, f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// api makes one API request; hdr are extra header name/value pairs.
func (f *fixture) api(method, path, token, body string, hdr ...string) (*http.Response, string) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func wantAPIError(t *testing.T, resp *http.Response, body string, status int, code string) {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("%s %s: not a JSON error (%v): %q", resp.Request.Method, resp.Request.URL.Path, err, body)
	}
	if resp.StatusCode != status || e.Code != code || e.Message == "" {
		t.Fatalf("%s %s: %d %+v, want %d %q", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, e, status, code)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
}

func TestTokenAuth(t *testing.T) {
	f := newFixture(t, 1)
	id := f.held("alice", "x", testBody("x"))
	tok := f.token("olga")
	if !strings.HasPrefix(tok, account.TokenPrefix) || len(tok) < len(account.TokenPrefix)+43 {
		t.Errorf("token %q", tok)
	}
	// Only the hash is stored.
	if _, err := f.st.Token(context.Background(), tok); err == nil {
		t.Error("token stored in the clear")
	}

	resp, body := f.api("GET", "/api/held", "", "")
	wantAPIError(t, resp, body, http.StatusUnauthorized, "unauthorized")
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	resp, body = f.api("GET", "/api/held", tok+"x", "")
	wantAPIError(t, resp, body, http.StatusUnauthorized, "unauthorized")
	resp, body = f.api("GET", "/api/held", "", "", "Authorization", "Basic "+tok)
	wantAPIError(t, resp, body, http.StatusUnauthorized, "unauthorized")

	resp, body = f.api("GET", "/api/held", tok, "")
	wantStatus(t, resp, body, http.StatusOK)
	var l api.List
	if err := json.Unmarshal([]byte(body), &l); err != nil || len(l.Messages) != 1 || l.Messages[0].ID != id || l.WindowDays != 30 {
		t.Fatalf("list %s (%v)", body, err)
	}

	// A browser session is not an API credential.
	b := f.loggedIn("olga")
	resp, body = b.get("/api/held")
	wantAPIError(t, resp, body, http.StatusUnauthorized, "unauthorized")

	// Expiry.
	exp, _, err := account.CreateToken(context.Background(), f.st, "test", "olga", "short", f.clock.Now().Add(time.Hour), f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := f.api("GET", "/api/held", exp, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("fresh token: %d", resp.StatusCode)
	}
	f.clock.Add(time.Hour)
	resp, body = f.api("GET", "/api/held", exp, "")
	wantAPIError(t, resp, body, http.StatusUnauthorized, "unauthorized")

	// Revocation.
	if _, err := account.RevokeToken(context.Background(), f.st, "test", account.SecretID(tok), f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	resp, body = f.api("GET", "/api/held", tok, "")
	wantAPIError(t, resp, body, http.StatusUnauthorized, "unauthorized")
	if _, err := account.RevokeToken(context.Background(), f.st, "test", account.SecretID(tok), f.clock.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking twice: %v", err)
	}

	// A disabled user's tokens stop working.
	tok2 := f.token("oscar")
	if err := f.acc.SetDisabled(context.Background(), "test", "oscar", true); err != nil {
		t.Fatal(err)
	}
	resp, body = f.api("GET", "/api/held", tok2, "")
	wantAPIError(t, resp, body, http.StatusUnauthorized, "unauthorized")
	if _, _, err := account.CreateToken(context.Background(), f.st, "test", "oscar", "", time.Time{}, f.clock.Now()); !errors.Is(err, account.ErrNoUser) {
		t.Errorf("token for a disabled user: %v", err)
	}
	if _, _, err := account.CreateToken(context.Background(), f.st, "test", "nobody", "", time.Time{}, f.clock.Now()); !errors.Is(err, account.ErrNoUser) {
		t.Errorf("token for an unknown user: %v", err)
	}

	// Token changes are audited.
	es, _ := f.st.Audit(context.Background(), store.AuditFilter{})
	var acts []string
	for _, e := range es {
		if strings.HasPrefix(e.Action, "token.") {
			acts = append(acts, e.Action)
		}
	}
	if strings.Join(acts, ",") != "token.create,token.create,token.revoke,token.create" {
		t.Errorf("token audit: %v", acts)
	}
}

func TestAPIErrors(t *testing.T) {
	f := newFixture(t, 1)
	id := f.held("alice", "x", testBody("x"))
	bobs := f.held("bob", "y", testBody("y"))
	olga, alice := f.token("olga"), f.token("alice")

	resp, body := f.api("GET", "/api/messages/"+bobs, alice, "")
	wantAPIError(t, resp, body, http.StatusNotFound, "not_found")
	resp, body = f.api("POST", "/api/messages/"+bobs+"/withdraw", alice, "")
	wantAPIError(t, resp, body, http.StatusNotFound, "not_found")
	resp, body = f.api("GET", "/api/messages/nope", olga, "")
	wantAPIError(t, resp, body, http.StatusNotFound, "not_found")
	resp, body = f.api("GET", "/api/nothing-here", olga, "")
	wantAPIError(t, resp, body, http.StatusNotFound, "not_found")
	resp, body = f.api("POST", "/api/messages/"+id+"/reject", olga, `{"comment":`)
	wantAPIError(t, resp, body, http.StatusBadRequest, "bad_request")
	resp, body = f.api("POST", "/api/messages/"+id+"/withdraw", olga, "")
	wantAPIError(t, resp, body, http.StatusForbidden, "forbidden")

	resp, body = f.api("POST", "/api/messages/"+id+"/reject", olga, `{"comment":"no","near_miss":true}`)
	wantStatus(t, resp, body, http.StatusOK)
	var out api.Outcome
	if json.Unmarshal([]byte(body), &out); out.State != "rejected" || out.ID != id {
		t.Errorf("outcome %s", body)
	}
	resp, body = f.api("POST", "/api/messages/"+id+"/approve", olga, "")
	wantAPIError(t, resp, body, http.StatusConflict, "not_held")

	// The list: a sender's own only, the near-miss counter for everyone.
	resp, body = f.api("GET", "/api/held", alice, "")
	wantStatus(t, resp, body, http.StatusOK)
	var l api.List
	json.Unmarshal([]byte(body), &l)
	if len(l.Messages) != 0 || l.NearMisses != 1 {
		t.Errorf("alice's list %s", body)
	}
	resp, body = f.api("GET", "/api/held?sender=bob", olga, "")
	wantStatus(t, resp, body, http.StatusOK)
	l = api.List{}
	json.Unmarshal([]byte(body), &l)
	if len(l.Messages) != 1 || l.Messages[0].ID != bobs || l.Messages[0].Own {
		t.Errorf("filtered list %s", body)
	}

	// A cross-site browser request to the API is refused too.
	resp, body = f.api("POST", "/api/messages/"+bobs+"/approve", olga, "", "Sec-Fetch-Site", "cross-site")
	wantAPIError(t, resp, body, http.StatusForbidden, "cross_origin")
	if f.state(bobs) != store.Held {
		t.Error("cross-site API request changed the state")
	}
}

// TestConcurrentDecisions: an approval and a rejection of one message at
// the same moment, through the API: one wins, the other is told the
// message is not held any more, and the final state is the winner's.
func TestConcurrentDecisions(t *testing.T) {
	f := newFixture(t, 1)
	olga, oscar := f.token("olga"), f.token("oscar")
	for i := range 10 {
		id := f.held("alice", fmt.Sprint("race", i), testBody("race"))
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for j, call := range []func() (*http.Response, string){
			func() (*http.Response, string) { return f.api("POST", "/api/messages/"+id+"/approve", olga, "") },
			func() (*http.Response, string) {
				return f.api("POST", "/api/messages/"+id+"/reject", oscar, `{"comment":"no"}`)
			},
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _ := call()
				codes[j] = resp.StatusCode
			}()
		}
		wg.Wait()
		st := f.state(id)
		switch {
		case codes[0] == 200 && codes[1] == 409 && st == store.Queued:
		case codes[0] == 409 && codes[1] == 200 && st == store.Rejected:
		default:
			t.Fatalf("round %d: approve %d, reject %d, state %s", i, codes[0], codes[1], st)
		}
		ds, _ := f.st.Decisions(context.Background(), id)
		if len(ds) != 1 {
			t.Fatalf("round %d: %d decisions recorded", i, len(ds))
		}
	}
}
