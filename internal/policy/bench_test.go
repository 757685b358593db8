package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/message"
)

// BenchmarkEvaluate measures Evaluate alone (inspection excluded) with the
// default rules, on facts of corpus messages and on a link-heavy message.
func BenchmarkEvaluate(b *testing.B) {
	e, lists := goldenEngine(b)
	load := func(name string) *message.Facts {
		files, _ := filepath.Glob(filepath.Join(goldenDir, "*-"+name+".eml"))
		if len(files) != 1 {
			b.Fatalf("corpus message %q not found", name)
		}
		raw, err := os.ReadFile(files[0])
		if err != nil {
			b.Fatal(err)
		}
		return message.Inspect(raw, message.Limits{})
	}
	var html strings.Builder
	html.WriteString("From: a@example.co.jp\nSubject: News\nContent-Type: text/html; charset=UTF-8\n\n<html><body>")
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&html, `<p>Item %d: <a href="https://www.example.co.jp/news/%d">read more</a></p>`, i, i)
	}
	html.WriteString("</body></html>\n")
	newsletter := message.Inspect([]byte(html.String()), message.Limits{})

	internal := &envelope.Envelope{From: "taro@example.co.jp", Rcpts: []envelope.Rcpt{{Addr: "hanako@example.co.jp"}, {Addr: "jiro@sales.example.co.jp"}}}
	unknown := &envelope.Envelope{From: "taro@example.co.jp", Rcpts: []envelope.Rcpt{{Addr: "hanako@example.co.jp"}, {Addr: "client@customer.example"}}}
	cases := []struct {
		name  string
		env   *envelope.Envelope
		facts *message.Facts
	}{
		{"ja-business-internal", internal, load("ja-business-no-share")},
		{"ja-business-unknown", unknown, load("ja-business-no-share")},
		{"share-link-unknown", unknown, load("dropbox-scl-base64")},
		{"forwarded-invitation-unknown", unknown, load("forwarded-drive-invitation")},
		{"newsletter-50-links-unknown", unknown, newsletter},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Evaluate(c.env, c.facts, lists, now)
			}
		})
	}
}
