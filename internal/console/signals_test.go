package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/egressguard/egressguard/internal/store"
)

// TestSignalsInReadersLanguage: evidence other parts of the guard add to
// the verdict (look-alike domains with their own words per language,
// personal-data counts) is shown on the panel, in the reader's language,
// without the console knowing those fields.
func TestSignalsInReadersLanguage(t *testing.T) {
	f := newFixture(t, 1)
	id := f.held("alice", "signals", testBody("signals"))
	js := strings.TrimSuffix(testVerdict, "}") +
		`,"lookalikes":[{"rcpt":"stranger@elsewhere.example","domain":"elsewhere.example","trusted":"elsewhere.example.jp",` +
		`"ja":"elsewhere.example は elsewhere.example.jp に似ています","en":"elsewhere.example looks like elsewhere.example.jp"}],` +
		`"personal":{"records":120},"visible_external_recipients":0}`
	ctx := context.Background()
	m, err := f.st.Message(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	m.Verdict = decodeVerdict(t, js)
	if err := f.st.Update(ctx, func(tx store.Tx) error { return tx.UpdateMessage(m, store.Held) }); err != nil {
		t.Fatal(err)
	}
	olga := f.loggedIn("olga")
	olga.post("/settings/lang", url.Values{"lang": {"ja"}})
	resp, page := olga.get("/messages/" + id)
	wantStatus(t, resp, page, http.StatusOK)
	for _, want := range []string{"<dt>似たドメインの宛先</dt><dd>elsewhere.example は elsewhere.example.jp に似ています</dd>",
		"<dt>個人情報</dt><dd>records 120</dd>"} {
		if !strings.Contains(page, want) {
			t.Errorf("Japanese panel lacks %q", want)
		}
	}
	if strings.Contains(page, "looks like") || strings.Contains(page, "visible_external") {
		t.Error("English words or an unset signal on the Japanese panel")
	}
	olga.post("/settings/lang", url.Values{"lang": {"en"}})
	_, page = olga.get("/messages/" + id)
	if !strings.Contains(page, "<dt>Look-alike recipient domains</dt><dd>elsewhere.example looks like elsewhere.example.jp</dd>") {
		t.Error("English panel lacks the look-alike warning")
	}
}
