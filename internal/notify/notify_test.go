package notify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/policy"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/tz"
	"github.com/egressguard/egressguard/internal/verdict"
)

func body(t *testing.T, data []byte) string {
	t.Helper()
	_, b64, ok := bytes.Cut(data, []byte("\r\n\r\n"))
	if !ok {
		t.Fatal("no body")
	}
	out, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(b64), "\r\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestHeldNoticeJapanese: a Japanese hold notice says what was found (the
// unknown recipient, the host, other findings in Japanese), by when,
// whom to ask and what to do about a wrong address, in Japanese only.
func TestHeldNoticeJapanese(t *testing.T) {
	zone, _ := tz.Load("Asia/Tokyo")
	n := New(Config{From: "guard@example.jp", Officers: []string{"sec@example.jp"}, Language: "ja", Zone: zone,
		Contact: "情報セキュリティ担当 内線1234", Hostname: "guard.test"}, zap.NewNop())
	rules := policy.DefaultRules()
	v := map[string]any{
		"action": "hold",
		"reasons": []verdict.Reason{{Rule: rules[1].Name, Action: verdict.Hold, Detail: rules[1].Reason,
			DetailJA: rules[1].ReasonJA, DetailEN: rules[1].ReasonEN}},
		"links":      []verdict.LinkEvidence{{URL: "https://drive.google.com/drive/folders/1Ab", Provider: "Google Drive"}},
		"unknown":    []string{"yamada@gmial.com"},
		"lookalikes": []map[string]string{{"rcpt": "yamada@gmial.com", "ja": "gmial.com は gmail.com に似ています", "en": "gmial.com looks like gmail.com"}},
		"personal":   map[string]int{"records": 120, "my_numbers": 1},
	}
	vb, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	mv, err := verdict.Decode(vb)
	if err != nil {
		t.Fatal(err)
	}
	m := &store.Message{Envelope: envelope.Envelope{ID: "id1", From: "alice@example.jp",
		Rcpts: []envelope.Rcpt{{Addr: "yamada@gmial.com"}}}, Subject: "見積書",
		HoldExpires: time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC), Verdict: mv}
	ns := n.Held(m)
	if len(ns) != 2 || ns[0].To[0] != "alice@example.jp" {
		t.Fatalf("notices: %+v", ns)
	}
	text := body(t, ns[0].Data)
	for _, want := range []string{"yamada@gmial.com（未知）", "drive.google.com への共有リンク（Google Drive）",
		"yamada@gmial.com: gmial.com は gmail.com に似ています", "個人情報: 個人レコード 120件、マイナンバー 1件",
		"2026-12-05 12:00 JST (+09:00)",
		"情報セキュリティ担当 内線1234", "宛先が誤っている場合は取り下げて送り直してください", rules[1].ReasonJA} {
		if !strings.Contains(text, want) {
			t.Errorf("notice lacks %q:\n%s", want, text)
		}
	}
	for _, en := range []string{rules[1].ReasonEN, "looks like"} {
		if strings.Contains(text, en) {
			t.Errorf("Japanese notice contains %q", en)
		}
	}
	if !bytes.Contains(ns[0].Data, []byte("From: =?utf-8?")) {
		t.Errorf("no display name: %s", ns[0].Data[:80])
	}
}
