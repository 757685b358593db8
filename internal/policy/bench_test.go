package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/verdict"
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

// smtpSource100K is a message as Postfix's smtp-source sends it with
// -l 100000 (the relay benchmark's load): four header fields, then lines of
// a digit and 78 "X".
func smtpSource100K() []byte {
	var b strings.Builder
	b.WriteString("From: <sender@example.com>\r\nTo: <rcpt@example.net>\r\nDate: Wed, 25 Nov 2026 20:12:46 +0000 (UTC)\r\nMessage-Id: <6bea.0003.0000@vm>\r\n\r\n")
	for i := 1; b.Len() < 100000; i++ {
		b.WriteString(strconv.Itoa(i % 10))
		b.WriteString(strings.Repeat("X", 78))
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

// japanese100K is a 100 KB Japanese business mail in UTF-8 with a few URLs
// and no share link, plain text, 8bit.
func japanese100K() []byte {
	var b strings.Builder
	b.WriteString("From: =?UTF-8?B?5bGx55Sw5aSq6YOO?= <taro.yamada@example.co.jp>\r\nTo: client@customer.example\r\n" +
		"Subject: =?UTF-8?B?44CQ6LOH5paZ44CR6KaL56mN5pu444Gu5Lu2?=\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString("株式会社カスタマー\r\n営業部 御中\r\n\r\nいつもお世話になっております。山田です。\r\n\r\n")
	for i := 0; b.Len() < 100<<10; i++ {
		switch i % 8 {
		case 0:
			fmt.Fprintf(&b, "第%d項：詳細は弊社サイト（https://www.example.co.jp/products/%d）をご覧ください。\r\n", i, i)
		case 3:
			b.WriteString("先日共有いたしました資料につきまして、ご不明な点がございましたらお知らせください。\r\n")
		default:
			b.WriteString("本件につきましては、来週の定例会議にてあらためてご説明させていただきます。よろしくお願いいたします。\r\n")
		}
	}
	b.WriteString("\r\n--\r\n山田太郎 / Example Co., Ltd.\r\n")
	return []byte(b.String())
}

// BenchmarkJudge measures what the relay does to each message between the
// end of DATA and the reply: Inspect, then Evaluate with the default rules,
// for a recipient that is neither internal nor allowlisted (so the text
// rules run).
func BenchmarkJudge(b *testing.B) {
	e := mustEngine(b, Config{InternalDomains: []string{"example.jp"}, Rules: DefaultRules()})
	env := &envelope.Envelope{From: "sender@example.com", Rcpts: []envelope.Rcpt{{Addr: "rcpt@example.net"}}}
	for _, c := range []struct {
		name string
		raw  []byte
	}{
		{"smtp-source-100K", smtpSource100K()},
		{"ja-utf8-100K", japanese100K()},
	} {
		b.Run(c.name, func(b *testing.B) {
			if v := e.Evaluate(env, message.Inspect(c.raw, message.Limits{}), nil, now); v.Action != verdict.Pass {
				b.Fatalf("verdict %+v", v)
			}
			b.SetBytes(int64(len(c.raw)))
			b.ReportAllocs()
			for b.Loop() {
				e.Evaluate(env, message.Inspect(c.raw, message.Limits{}), nil, now)
			}
		})
	}
}
