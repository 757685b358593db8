package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/verdict"
)

// FuzzEvaluate runs arbitrary messages and recipient addresses through
// inspection and the default rules. Evaluate must not panic, must give a
// valid action, must never pass a message with inspection problems, must
// hold a share link to an unknown recipient, and its verdict must encode.
func FuzzEvaluate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.eml"))
	for i, file := range files {
		if i%3 != 0 { // a third of the corpus is plenty as seeds
			continue
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, "client@customer.example")
	}
	f.Add([]byte("Subject: x\n\nhttps://www.dropbox.com/s/abc123def456/x"), "Bob@パートナー.Example")
	f.Add([]byte("Subject: x\n\n"), "<@a,@b:user@[192.0.2.1]>")
	more, _ := filepath.Glob(filepath.Join(failClosedDir, "*.eml"))
	for _, file := range more {
		if raw, err := os.ReadFile(file); err == nil {
			f.Add(raw, "client@customer.example")
		}
	}
	e, lists := goldenEngine(f)
	f.Fuzz(func(t *testing.T, raw []byte, rcpt string) {
		env := &envelope.Envelope{From: "taro@example.co.jp", Rcpts: []envelope.Rcpt{{Addr: rcpt}}}
		facts := message.Inspect(raw, message.Limits{MaxTime: 2e9})
		v := e.Evaluate(env, facts, lists, now)
		switch v.Action {
		case verdict.Pass, verdict.Bcc, verdict.Delay, verdict.Confirm, verdict.Hold, verdict.Reject:
		default:
			t.Fatalf("action %q", v.Action)
		}
		if len(facts.Problems) > 0 && v.Action == verdict.Pass {
			t.Fatalf("passed with problems %v", facts.Problems)
		}
		if len(v.Links) > 0 && len(v.Unknown) > 0 && v.Action == verdict.Pass {
			t.Fatalf("share link to unknown recipient passed: %+v", v)
		}
		for _, d := range v.UnknownDestinations {
			if d.ShareCapable && len(v.Unknown) > 0 && v.Action == verdict.Pass {
				t.Fatalf("unknown destination to unknown recipient passed: %+v", v)
			}
		}
		if len(v.Recipients) != 1 {
			t.Fatalf("recipients %+v", v.Recipients)
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzStaticList checks allowlist parsing and lookup on arbitrary entries
// and addresses: no panic, and an entry always allows the address it was
// made from.
func FuzzStaticList(f *testing.F) {
	for _, s := range [][2]string{
		{"example.com", "a@example.com"},
		{".example.com", "a@b.example.com"},
		{"*.example.com", "a@example.com"},
		{"user@example.com", "USER@Example.COM"},
		{"パートナー.example", "a@xn--fdket6oc.example"},
		{"[192.0.2.1]", "a@[192.0.2.1]"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, entry, addr string) {
		l, err := NewStaticList([]string{entry})
		if err != nil {
			return
		}
		l.Allowed("", addr, now)
		if norm, _, ok := normalizeAddr(entry); ok {
			if _, allowed := l.lookup(norm); !allowed {
				t.Fatalf("entry %q does not allow %q", entry, norm)
			}
		}
	})
}
