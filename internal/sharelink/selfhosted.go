package sharelink

import (
	"fmt"
	"regexp"
	"strings"
)

// selfHostedKind describes the public-share URLs of one server product.
// Patterns are not anchored at "/" because such servers are often
// installed under a prefix (https://files.example.jp/nextcloud/s/TOKEN).
type selfHostedKind struct {
	kind, provider string
	markers        []selfHostedMarker
}

type selfHostedMarker struct {
	path  []string
	query []string
	all   bool
}

var selfHostedKinds = []selfHostedKind{
	{KindNextcloud, "Nextcloud", nextcloudMarkers},
	{KindOwnCloud, "ownCloud", nextcloudMarkers},
	{KindProself, "Proself", []selfHostedMarker{
		{path: []string{`(?:^|/)(?:publink|public|publicweb)/[\w-]{4,}`}},
	}},
	{KindSeafile, "Seafile", []selfHostedMarker{
		// /f/<token>/ file, /d/<token>/ directory, /u/d/<token>/ upload
		// link, /seafhttp/files/<token>/name direct download.
		{path: []string{
			`(?:^|/)(?:f|d|u/d)/[0-9a-f]{6,}(?:/|$)`,
			`(?:^|/)seafhttp/(?:files|zip|f)/`,
		}},
	}},
	{KindSynology, "Synology", []selfHostedMarker{
		{path: []string{`(?:^|/)(?:sharing|d/s)/[\w-]{4,}`, `(?:^|/)fsdownload/`}},
	}},
}

// Nextcloud and ownCloud share one URL scheme: /s/TOKEN and
// /index.php/s/TOKEN, public previews, and ownCloud's old
// /public.php?service=files&t=TOKEN.
var nextcloudMarkers = []selfHostedMarker{
	{path: []string{
		`(?:^|/)(?:index\.php/)?s/[A-Za-z0-9]{5,}(?:/|$)`,
		`(?:^|/)(?:index\.php/)?apps/files_sharing/publicpreview/`,
		`(?:^|/)public\.php/(?:webdav|dav)`,
	}},
	{path: []string{`(?:^|/)public\.php$`}, query: []string{"t"}, all: true},
}

func selfHostedKindNames() []string {
	out := make([]string, len(selfHostedKinds))
	for i, k := range selfHostedKinds {
		out[i] = k.kind
	}
	return out
}

func compileSelfHosted(sh SelfHostedSpec, key string, probs *problems) *entry {
	var kind *selfHostedKind
	for i := range selfHostedKinds {
		if strings.EqualFold(selfHostedKinds[i].kind, strings.TrimSpace(sh.Kind)) {
			kind = &selfHostedKinds[i]
		}
	}
	ok := true
	if kind == nil {
		probs.add(key+".kind", fmt.Sprintf("unknown kind %q", sh.Kind), "one of "+strings.Join(selfHostedKindNames(), ", ")+"; other servers can be described as a [[provider]] entry")
		ok = false
	}
	host, err := normalizePattern(sh.Host)
	switch {
	case err != "":
		probs.add(key+".host", err, "the server's host name, e.g. \"files.example.jp\", or \"*.files.example.jp\"")
		ok = false
	case host == "*":
		probs.add(key+".host", "\"*\" would treat every site's /s/… or /d/… links as shares", "name the server's host")
		ok = false
	}
	if !ok {
		return nil
	}
	e := &entry{
		name:     "self-hosted " + kind.kind + " " + host,
		provider: kind.provider,
		kind:     kind.kind,
		hint:     true,
	}
	for _, sm := range kind.markers {
		m := marker{requireAll: sm.all, why: "self-hosted " + kind.kind + " " + host + ": "}
		for _, src := range sm.path {
			m.path = append(m.path, regexp.MustCompile(src))
		}
		for _, q := range sm.query {
			m.query = append(m.query, []string{strings.ToLower(q)})
			m.querySrc = append(m.querySrc, q)
		}
		e.markers = append(e.markers, m)
	}
	return e
}
