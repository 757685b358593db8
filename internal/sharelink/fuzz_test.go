package sharelink

import (
	"strings"
	"testing"

	"github.com/egressguard/egressguard/internal/message"
)

// FuzzMatch feeds arbitrary URLs and wrapper hints to the catalogue. It
// must not panic, must be deterministic, and a match must name a known
// provider and say why.
func FuzzMatch(f *testing.F) {
	for _, tc := range catalogueCases {
		f.Add(tc.url, "")
	}
	f.Add("https://protect.mimecast.com/s/x", "www.dropbox.com")
	f.Add("https://protect.mimecast.com/s/x", "ファイル.example.jp")
	f.Add("https://bit.ly/3AbC", "")
	f.Add("https://x.page.link/abc", "")
	f.Add("https://amzn.to/abc", "")
	c, err := New(nil, []SelfHostedSpec{{Kind: "nextcloud", Host: "cloud.example.jp"}, {Kind: "seafile", Host: "*.example.org"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, url, hint string) {
		link := message.Link{URL: url, Opaque: hint != "", Hints: []string{hint}}
		m1, ok1 := c.Match(link)
		m2, ok2 := c.Match(link)
		if ok1 != ok2 || m1 != m2 {
			t.Fatalf("not deterministic: %+v %v / %+v %v", m1, ok1, m2, ok2)
		}
		d1, u1 := c.UnknownDestination(link)
		d2, u2 := c.UnknownDestination(link)
		if u1 != u2 || d1.Why != d2.Why || d1.ShareCapable != d2.ShareCapable || (u1 && d1.Why == "") {
			t.Fatalf("unknown destination not deterministic or without why: %+v %v / %+v %v", d1, u1, d2, u2)
		}
		if ok1 {
			if p, known := c.Provider(m1.Provider); !known || p != m1.Provider {
				t.Fatalf("match names unknown provider %q", m1.Provider)
			}
			if m1.Why == "" || m1.Kind == "" {
				t.Fatalf("match without why or kind: %+v", m1)
			}
		}
		tg := splitURL(url)
		if !strings.HasPrefix(tg.path, "/") {
			t.Fatalf("splitURL(%q).path = %q, not absolute", url, tg.path)
		}
		for _, p := range tg.params {
			if p != strings.ToLower(p) {
				t.Fatalf("param %q not lower-cased", p)
			}
		}
	})
}
