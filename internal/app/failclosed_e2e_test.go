package app

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

// TestFailClosedOverSMTP sends, through the running guard, messages a
// security review got delivered to a recipient neither internal nor
// allowlisted: a text part with 10,001 URLs and the Drive folder link
// last, a shortened link, a link in the multipart preamble, an ambiguous
// duplicate boundary. Each is held now and nothing reaches the smarthost;
// the same text with 5 URLs to a colleague is delivered.
func TestFailClosedOverSMTP(t *testing.T) {
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), ""))
	const drive = "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp"
	urls := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "https://www.example.com/p/%d\r\n", i)
		}
		return b.String() + drive
	}
	raw := func(name string) []byte {
		b, err := os.ReadFile("../../testdata/failclosed/" + name)
		if err != nil {
			t.Fatal(err)
		}
		// Sent by alice, whose header From must be hers.
		return []byte(strings.Replace(string(b), "From: Taro <taro@example.co.jp>", "From: Alice <alice@example.jp>", 1))
	}
	cases := []struct {
		name string
		to   string
		data []byte
		want store.State
	}{
		{"10,001 URLs, Drive last", "client@customer.example", msg("many", urls(10001)), store.Held},
		{"shortener", "client@customer.example", raw("03-shortener.eml"), store.Held},
		{"preamble", "client@customer.example", raw("10-preamble.eml"), store.Held},
		{"duplicate boundary", "client@customer.example", raw("04-duplicate-boundary.eml"), store.Held},
		{"5 URLs to a colleague", "colleague@example.jp", msg("few", urls(5)), store.Delivered},
	}
	for _, c := range cases {
		reply, err := send(t, a.SMTPAddr(), "alice", "alice-password", "alice@example.jp", []string{c.to}, c.data)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		waitState(t, a.Store, idFrom(t, reply), c.want)
	}
	waitSent(t, a.Store)
	for _, m := range up.Messages() {
		if m.From == "alice@example.jp" && !strings.Contains(string(m.Data), "Subject: few") {
			t.Errorf("delivered upstream: %.200s", m.Data)
		}
	}
}
