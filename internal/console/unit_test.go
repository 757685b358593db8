package console

import (
	"io/fs"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/egressguard/egressguard/internal/api"
)

func TestHighlight(t *testing.T) {
	drive := api.Link{URL: "https://drive.google.com/x", Raw: "https://drive.google.com/x", Part: "1", Flagged: true}
	wrapped := api.Link{URL: "https://box.com/s/abc", Raw: "https://safelinks.example/?u=https%3A%2F%2Fbox.com%2Fs%2Fabc", Part: "1", Flagged: true, Text: "the files"}
	other := api.Link{URL: "https://www.example.jp/", Raw: "https://www.example.jp/", Part: "1"}
	elsewhere := api.Link{URL: "https://drive.google.com/x", Raw: "https://drive.google.com/x", Part: "2", Flagged: true}
	cases := []struct {
		name  string
		text  string
		links []api.Link
		want  []segment
	}{
		{"no links", "hello", nil, []segment{{Text: "hello"}}},
		{"one flagged", "see https://drive.google.com/x now", []api.Link{drive},
			[]segment{{Text: "see "}, {Text: "https://drive.google.com/x", Hit: true}, {Text: " now"}}},
		{"twice, and another link", "https://drive.google.com/x https://www.example.jp/ https://drive.google.com/x", []api.Link{drive, other},
			[]segment{{Text: "https://drive.google.com/x", Hit: true}, {Text: " "}, {Text: "https://www.example.jp/", Link: true}, {Text: " "}, {Text: "https://drive.google.com/x", Hit: true}}},
		{"other part's links ignored", "https://drive.google.com/x", []api.Link{elsewhere},
			[]segment{{Text: "https://drive.google.com/x"}}},
		{"wrapped: raw form and anchor text", "click the files: https://safelinks.example/?u=https%3A%2F%2Fbox.com%2Fs%2Fabc", []api.Link{wrapped},
			[]segment{{Text: "click "}, {Text: "the files", Hit: true}, {Text: ": "}, {Text: "https://safelinks.example/?u=https%3A%2F%2Fbox.com%2Fs%2Fabc", Hit: true}}},
		{"longest wins at the same start", "https://drive.google.com/x/more", []api.Link{
			{URL: "https://drive.google.com/x/more", Part: "1"}, drive},
			[]segment{{Text: "https://drive.google.com/x/more", Link: true}}},
		{"markup stays text", "<b>https://drive.google.com/x</b>", []api.Link{drive},
			[]segment{{Text: "<b>"}, {Text: "https://drive.google.com/x", Hit: true}, {Text: "</b>"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := highlight(c.text, "1", c.links)
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
			var joined strings.Builder
			for _, s := range got {
				joined.WriteString(s.Text)
			}
			if joined.String() != c.text {
				t.Errorf("segments do not add up to the text: %q", joined.String())
			}
		})
	}
}

func FuzzHighlight(f *testing.F) {
	f.Add("see https://a.example/x and https://a.example/x/y", "https://a.example/x", "https://a.example/x/y", "x")
	f.Add("", "", "a", "")
	f.Fuzz(func(t *testing.T, text, a, b, anchor string) {
		links := []api.Link{{URL: a, Raw: b, Part: "1", Flagged: true, Text: anchor}, {URL: b, Part: "1"}}
		var joined strings.Builder
		for _, s := range highlight(text, "1", links) {
			joined.WriteString(s.Text)
		}
		if joined.String() != text {
			t.Fatalf("segments %q do not add up to %q", joined.String(), text)
		}
	})
}

func TestPrintable(t *testing.T) {
	for _, c := range []struct {
		in        string
		multiline bool
		want      string
	}{
		{"plain subject", false, "plain subject"},
		{"資料の共有　全角スペース", false, "資料の共有　全角スペース"},
		{"a\tb\nc", false, "a\uFFFDb\uFFFDc"},
		{"a\tb\r\nc", true, "a\tb\nc"},
		{"\x1b[31mred\x1b[0m", false, "\uFFFD[31mred\uFFFD[0m"},
		{"invoice\u202Efdp.exe", false, "invoice\uFFFDfdp.exe"},
		{"zero\u200bwidth", true, "zero\uFFFDwidth"},
		{"c1\u009bcontrol", false, "c1\uFFFDcontrol"},
		{"bad \xff utf8", false, "bad \uFFFD utf8"},
	} {
		if got := Printable(c.in, c.multiline); got != c.want {
			t.Errorf("Printable(%q, %v) = %q, want %q", c.in, c.multiline, got, c.want)
		}
	}
}

// TestCatalogue checks that both languages have the same keys and that
// every key a template uses exists.
func TestCatalogue(t *testing.T) {
	for k := range catalogue["en"] {
		if _, ok := catalogue["ja"][k]; !ok {
			t.Errorf("%q missing in ja", k)
		}
	}
	for k := range catalogue["ja"] {
		if _, ok := catalogue["en"][k]; !ok {
			t.Errorf("%q missing in en", k)
		}
	}
	re := regexp.MustCompile(`\.T "([a-z_.]+)"`)
	files, _ := fs.Glob(templateFS, "templates/*.html")
	used := 0
	for _, name := range files {
		b, _ := fs.ReadFile(templateFS, name)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			used++
			if _, ok := catalogue["en"][m[1]]; !ok {
				t.Errorf("%s uses unknown key %q", name, m[1])
			}
		}
	}
	if used < 50 {
		t.Errorf("found only %d uses of keys: the pattern no longer matches the templates", used)
	}
	// Keys built at run time.
	for _, k := range []string{"state.held", "state.queued", "state.sending", "state.delivered", "state.bounced",
		"state.rejected", "state.expired", "state.withdrawn", "decision.approve", "decision.reject",
		"decision.withdraw", "decision.expire", "done.approved", "done.released", "done.rejected", "done.withdrawn",
		"allow.kind.address", "allow.kind.domain", "allow.kind.subdomains", "allow.change.add", "allow.change.remove",
		"done.allow_added", "done.allow_removed", "err.allow_invalid", "err.allow_public_suffix", "err.allow_free_mail",
		"err.allow_exists", "err.allow_config", "err.allow_not_found", "err.allow_reason", "err.allow_expires",
		"err.allow_expires_past", "err.allow_sender", "err.allow_refused", "err.allow_why", "err.audit_time", "err.audit_range", "err.expired", "done.rejected_nobody"} {
		if _, ok := catalogue["en"][k]; !ok {
			t.Errorf("missing %q", k)
		}
	}
}

func TestPickLang(t *testing.T) {
	for _, c := range []struct{ accept, user, want string }{
		{"", "", "en"},
		{"ja", "", "ja"},
		{"ja-JP,ja;q=0.9,en;q=0.8", "", "ja"},
		{"en-US,en;q=0.9", "", "en"},
		{"fr-FR,ja;q=0.5", "", "ja"},
		{"de", "", "en"},
		{"ja", "en", "en"},
		{"en", "ja", "ja"},
		{"garbage;;;q=x", "", "en"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", c.accept)
		if got := pickLang(r, c.user).Code(); got != c.want {
			t.Errorf("Accept-Language %q, user %q: %s, want %s", c.accept, c.user, got, c.want)
		}
	}
	en, ja := langOf("en"), langOf("ja")
	for _, c := range []struct {
		d      time.Duration
		en, ja string
	}{
		{-time.Minute, "0m", "0分"},
		{59 * time.Second, "0m", "0分"},
		{61 * time.Minute, "1h 1m", "1時間1分"},
		{50 * time.Hour, "2d 2h", "2日2時間"},
	} {
		if got := en.Age(c.d); got != c.en {
			t.Errorf("en.Age(%v) = %q", c.d, got)
		}
		if got := ja.Age(c.d); got != c.ja {
			t.Errorf("ja.Age(%v) = %q", c.d, got)
		}
	}
}

func TestHeaderFields(t *testing.T) {
	raw := []byte("Subject: =?ISO-2022-JP?B?GyRCJEYkOSRIGyhC?=\r\nX-A: 1\r\n\tcontinued\r\nReceived: x\r\nReceived: y\r\n\r\nbody: not a header\r\n")
	hs, n := headerFields(raw)
	var got []string
	for _, h := range hs {
		got = append(got, h.Name+"="+h.Value)
	}
	want := []string{"Subject=てすと", "X-A=1 continued", "Received=x", "Received=y"}
	if n != 4 || !slices.Equal(got, want) {
		t.Errorf("got %d %q, want %q", n, got, want)
	}
	if hs, _ := headerFields([]byte("no header at all")); len(hs) > 1 {
		t.Errorf("garbage: %v", hs)
	}
}
