package message

import (
	"fmt"
	"strings"
	"testing"
)

// plain2K is a typical short business mail of about 2 KB with one share link.
func plain2K() []byte {
	var b strings.Builder
	b.WriteString("Received: from mail.example.co.jp (mail.example.co.jp [192.0.2.10])\r\n\tby relay.example.co.jp with ESMTPS id 4AbCdEf; Mon, 4 Mar 2024 10:00:00 +0900\r\n")
	b.WriteString("From: =?UTF-8?B?5bGx55Sw5aSq6YOO?= <taro.yamada@example.co.jp>\r\nTo: \"Partner\" <hanako@partner.example>, jiro@example.co.jp\r\nCc: team@example.co.jp\r\n")
	b.WriteString("Subject: =?UTF-8?B?44CQ6LOH5paZ44CR6KaL56mN5pu444Gu5Lu2?=\r\nDate: Mon, 4 Mar 2024 10:00:00 +0900\r\nMessage-ID: <20240304100000.1234@example.co.jp>\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString("パートナー株式会社\r\n花子様\r\n\r\nいつもお世話になっております。山田です。\r\n\r\n")
	b.WriteString("先日の打ち合わせの資料を共有いたします。\r\n「https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz/view?usp=sharing」\r\n\r\n")
	for b.Len() < 1900 {
		b.WriteString("ご確認のほど、よろしくお願いいたします。Please review the attached figures before Friday. \r\n")
	}
	b.WriteString("\r\n-- \r\n山田太郎 / Example Co., Ltd. https://www.example.co.jp/\r\n")
	return []byte(b.String())
}

// html100K is a multipart/alternative newsletter-like message of ~100 KB.
func html100K() []byte {
	var text, html strings.Builder
	for i := 0; html.Len() < 80<<10; i++ {
		fmt.Fprintf(&text, "Item %d: see https://www.example.com/items/%d?utm_source=mail\r\n", i, i)
		fmt.Fprintf(&html, "<tr><td style=\"padding:4px;font-family:Arial\"><a href=\"https://nam12.safelinks.protection.outlook.com/?url=https%%3A%%2F%%2Fwww.example.com%%2Fitems%%2F%d&amp;data=05%%7C01\">Item %d</a> &mdash; <span>詳細は</span>こちら</td></tr>\r\n", i, i)
	}
	return []byte("From: news@example.com\r\nTo: a@example.org\r\nSubject: News\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text.String() +
		"\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><table>" + html.String() + "</table></body></html>\r\n--alt--\r\n")
}

func BenchmarkInspect2KPlain(b *testing.B)  { benchInspect(b, plain2K()) }
func BenchmarkInspect100KHTML(b *testing.B) { benchInspect(b, html100K()) }
func BenchmarkInspect10MBinary(b *testing.B) {
	benchInspect(b, mailWith("archive.zip", "application/zip", randomBytes(10<<20, 7)))
}

func benchInspect(b *testing.B, raw []byte) {
	f := Inspect(raw, Limits{})
	if len(f.Problems) != 0 {
		b.Fatalf("problems: %+v", f.Problems)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		Inspect(raw, Limits{})
	}
}
