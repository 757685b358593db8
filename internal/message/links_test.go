package message

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExtractLinks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []string
	}{
		{"plain", "see https://example.com/a?b=1 now", []string{"https://example.com/a?b=1"}},
		{"japanese glued", "資料はhttps://drive.google.com/file/d/abc/viewです。", []string{"https://drive.google.com/file/d/abc/view"}},
		{"kagikakko", "「https://www.dropbox.com/s/abc/x.pdf?dl=0」をご確認ください", []string{"https://www.dropbox.com/s/abc/x.pdf?dl=0"}},
		{"touten", "URL:https://example.jp/a、パスワードは別送します", []string{"https://example.jp/a"}},
		{"kuten host", "詳細はhttps://www.example.co.jp。", []string{"https://www.example.co.jp"}},
		{"host glued to japanese", "https://www.example.co.jpをご覧ください", []string{"https://www.example.co.jp"}},
		{"fullwidth paren", "（https://example.com/x）", []string{"https://example.com/x"}},
		{"fullwidth url", "ｈｔｔｐｓ：／／ｄｒｉｖｅ．ｇｏｏｇｌｅ．ｃｏｍ／ｆｉｌｅ／ｄ／ＡＢＣ", []string{"https://drive.google.com/file/d/ABC"}},
		{"two glued", "https://a.example.com/xとhttps://b.example.com/y", []string{"https://a.example.com/x", "https://b.example.com/y"}},
		{"ascii glued", "linkhttps://example.com/", []string{"https://example.com/"}},
		{"period", "Go to https://example.com/a.", []string{"https://example.com/a"}},
		{"comma and quotes", `"https://example.com/a", 'https://example.org/b'`, []string{"https://example.com/a", "https://example.org/b"}},
		{"wikipedia parens", "(see https://en.wikipedia.org/wiki/Foo_(bar))", []string{"https://en.wikipedia.org/wiki/Foo_(bar)"}},
		{"markdown", "[x](https://example.com/y)", []string{"https://example.com/y"}},
		{"angle", "<https://example.com/y>", []string{"https://example.com/y"}},
		{"www", "visit www.example.com/path or WWW.EXAMPLE.ORG.", []string{"www.example.com/path", "WWW.EXAMPLE.ORG"}},
		{"bare share host", "drive.google.com/file/d/1AbC/view と 1drv.ms/u/s!AbCd", []string{"drive.google.com/file/d/1AbC/view", "1drv.ms/u/s!AbCd"}},
		{"bare host after japanese", "こちら→we.tl/t-AbCdEf", []string{"we.tl/t-AbCdEf"}},
		{"not a host", "file.txt/foo and 1.2/3 and e.g./x and a/b.c/d", nil},
		{"email not link", "mail taro@drive.google.com/x", nil},
		{"idn host", "https://例え.jp/パス", []string{"https://例え.jp/"}},
		{"idn tld", "https://例え.テスト", []string{"https://例え.テスト"}},
		{"port and userinfo", "https://user@example.com:8443/x", []string{"https://user@example.com:8443/x"}},
		{"ftp", "ftp://files.example.com/pub", []string{"ftp://files.example.com/pub"}},
		{"duplicates", "https://a.example/x https://a.example/x", []string{"https://a.example/x"}},
		{"backslashes", `open https:\\drive.google.com\drive\folders\abc now`, []string{`https:\\drive.google.com\drive\folders\abc`}},
		{"slash backslash", `https:/\drive.google.com/x and http:/example.com/y`, []string{`https:/\drive.google.com/x`, "http:/example.com/y"}},
		{"no slash is no link", "the ratio https:example was", nil},
		{"folded angle", "is <https://drive.google.com/drive/\n folders/abc>.", []string{"https://drive.google.com/drive/folders/abc"}},
		{"folded angle crlf twice", "<URL:https://ex\r\n ample.com/a/\r\n\tb/c>", []string{"https://example.com/a/b/c"}},
		{"angle not folded", "<https://example.com/a b>", []string{"https://example.com/a"}},
		{"folded without bracket", "https://example.com/a/\n b>", []string{"https://example.com/a/"}},
		{"no host", "https:// and http://", nil},
		{"mailto ignored", "mailto:a@example.com", nil},
		{"fragment kept", "https://mega.nz/file/AbC#keyKey", []string{"https://mega.nz/file/AbC#keyKey"}},
		{"math bold", "𝐡𝐭𝐭𝐩𝐬://𝐞𝐱𝐚𝐦𝐩𝐥𝐞.𝐜𝐨𝐦/𝐱", []string{"https://example.com/x"}},
		{"one dot leader", "see drive․google․com/file/d/x", []string{"drive.google.com/file/d/x"}},
		{"small forms", "https﹕//example﹒com/x", []string{"https://example.com/x"}},
		{"colon before www", "URL：www.box.com/s/abc。", []string{"www.box.com/s/abc"}},
		{"fullwidth paren after", "https://xgf.nu/AbC（パスワードは別送）", []string{"https://xgf.nu/AbC"}},
		{"trailing star", "*https://example.com/bold*", []string{"https://example.com/bold"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ExtractLinks(tt.text)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ExtractLinks(%q) (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestUnflowJoinsURL(t *testing.T) {
	t.Parallel()
	// Without DelSp the space before a soft break is content: a URL is
	// never broken there, but the paragraph is joined.
	in := "Link: \nhttps://drive.google.com/file/d/1Ab/view\n> quoted line \n> continues\n-- \nsig"
	if got, want := unflow(in, false), "Link: https://drive.google.com/file/d/1Ab/view\n> quoted line continues\n-- \nsig"; got != want {
		t.Errorf("unflow = %q, want %q", got, want)
	}
	// DelSp=yes (Apple Mail) may break anywhere: the URL is whole again.
	got := unflow("https://drive.google.com/file/d/1Ab \nCdEf/view", true)
	if l := ExtractLinks(got); len(l) != 1 || l[0] != "https://drive.google.com/file/d/1AbCdEf/view" {
		t.Errorf("DelSp: %q -> %v", got, l)
	}
	got = unflow("> a \n> b\nc", false)
	if got != "> a b\nc" {
		t.Errorf("quote depth: %q", got)
	}
}

func TestExtractLinksBoundedExpansion(t *testing.T) {
	t.Parallel()
	// U+FDFA expands eighteen-fold under NFKC; the fold leaves it alone.
	text := strings.Repeat("\uFDFA", 1<<20) + "ｈｔｔｐｓ：／／ｗｅ．ｔｌ／ｔ－ａ"
	got := ExtractLinks(text)
	if len(got) != 1 || got[0] != "https://we.tl/t-a" {
		t.Errorf("got %v", got)
	}
	if n := len(foldCompat(text)); n > len(text) {
		t.Errorf("fold grew the text from %d to %d bytes", len(text), n)
	}
}

// TestExtractLinksCap: more URLs than are read in one text is reported.
func TestExtractLinksCap(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range maxLinksPerText {
		b.WriteString("https://example.com/" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "/" + itoa(i) + "\n")
	}
	if _, complete := extractLinks(b.String()); !complete {
		t.Error("exactly the cap reported as incomplete")
	}
	b.WriteString("https://example.com/a/0\n") // a repeat costs nothing
	if _, complete := extractLinks(b.String()); !complete {
		t.Error("a repeated URL reported as incomplete")
	}
	b.WriteString("https://drive.google.com/drive/folders/abc\n")
	out, complete := extractLinks(b.String())
	if complete || len(out) != maxLinksPerText {
		t.Errorf("one over the cap: complete %v, %d links", complete, len(out))
	}
	_, complete = extractLinks("<https://example.com/a/\n" + strings.Repeat(" ", maxFoldedURL) + "b>")
	if complete {
		t.Error("a fold longer than followed is not reported")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
