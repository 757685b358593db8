package console

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// waiting stores a message of user in state st (delayed or unconfirmed).
func (f *fixture) waiting(user string, st store.State) string {
	f.t.Helper()
	id := f.held(user, "w", testBody("w"))
	m, err := f.st.Message(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	m.State = st
	m.Action = map[store.State]verdict.Action{store.Delayed: verdict.Delay, store.Unconfirmed: verdict.Confirm}[st]
	m.NextAttempt = f.clock.Now().Add(time.Hour)
	if err := f.st.Update(context.Background(), func(tx store.Tx) error { return tx.UpdateMessage(m, store.Held) }); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// The API's sender actions: only the sender, only from the right state.
func TestAPISenderActions(t *testing.T) {
	f := newFixture(t, 1)
	d := f.waiting("alice", store.Delayed)
	u := f.waiting("alice", store.Unconfirmed)
	olga, alice := f.token("olga"), f.token("alice")

	resp, body := f.api("POST", "/api/messages/"+d+"/send-now", olga, "")
	wantAPIError(t, resp, body, http.StatusForbidden, "forbidden")
	resp, body = f.api("POST", "/api/messages/"+u+"/confirm", olga, "")
	wantAPIError(t, resp, body, http.StatusForbidden, "forbidden")
	resp, body = f.api("POST", "/api/messages/"+d+"/confirm", alice, "")
	wantAPIError(t, resp, body, http.StatusConflict, "not_waiting")

	// The sender's list includes mail waiting for them.
	resp, body = f.api("GET", "/api/held", alice, "")
	wantStatus(t, resp, body, http.StatusOK)
	var l api.List
	json.Unmarshal([]byte(body), &l)
	if len(l.Messages) != 2 || l.Messages[0].ReleaseAt == nil {
		t.Errorf("alice's list: %s", body)
	}

	resp, body = f.api("POST", "/api/messages/"+d+"/send-now", alice, "")
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = f.api("POST", "/api/messages/"+u+"/cancel", alice, "")
	wantStatus(t, resp, body, http.StatusOK)
	if f.state(d) != store.Queued || f.state(u) != store.Withdrawn {
		t.Errorf("states %s %s", f.state(d), f.state(u))
	}
	resp, body = f.api("POST", "/api/messages/"+u+"/confirm", alice, "")
	wantAPIError(t, resp, body, http.StatusConflict, "not_waiting")
	if acts := f.auditActions(d); acts[len(acts)-1] != "sender.send_now" {
		t.Errorf("audit %v", acts)
	}
}

// A bad confirmation link gets an error page, not a crash or a 500.
func TestConfirmLinkRefused(t *testing.T) {
	f := newFixture(t, 1)
	for _, tok := range []string{"", "x", "a.b.c", "0123.99999999999.AAAA"} {
		resp, err := http.Get(f.srv.URL + "/confirm?t=" + tok)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("token %q: %d", tok, resp.StatusCode)
		}
	}
}

// An officer who also sends sees their own delayed mail in the queue, and
// nobody else's.
func TestOfficerSeesOwnDelayed(t *testing.T) {
	f := newFixture(t, 1)
	own := f.waiting("sam", store.Delayed)
	other := f.waiting("alice", store.Delayed)
	held := f.held("bob", "h", testBody("h"))
	resp, body := f.api("GET", "/api/held", f.token("sam"), "")
	wantStatus(t, resp, body, http.StatusOK)
	var l api.List
	json.Unmarshal([]byte(body), &l)
	ids := map[string]bool{}
	for _, m := range l.Messages {
		ids[m.ID] = true
	}
	if !ids[own] || ids[other] || !ids[held] || len(l.Messages) != 2 {
		t.Errorf("sam's list: %s", body)
	}
}
