package sharelink

import (
	"fmt"
	"strings"

	"github.com/egressguard/egressguard/internal/message"
)

// ShortenerSpec is one URL shortener (or other redirector) whose target
// only its operator knows: the link cannot be resolved without following
// it, which the guard never does. Written in TOML as an element of
// [[sharelink.shortener]]; a config entry with the host of a built-in one
// replaces it, and one with disable = true removes it.
type ShortenerSpec struct {
	// Host: exact host name ("bit.ly") or "*.suffix" for its subdomains
	// ("*.page.link"). An exact entry wins over a "*." one.
	Host string `toml:"host" json:"host"`
	// Sites, when set, are the only sites the shortener leads to
	// ("amzn.to" → "amazon.co.jp", "amazon.com"), subdomains included. Such
	// a link is an unknown destination that can reach a file share only if
	// one of its sites is a host of the share-link catalogue ("db.tt" →
	// "dropbox.com"). Without Sites it can lead anywhere.
	Sites []string `toml:"sites" json:"sites,omitempty"`
	// Disable removes the built-in entry for Host.
	Disable bool `toml:"disable" json:"disable,omitempty"`
}

// BuiltinShorteners returns the built-in list, a fresh copy on every call.
//
// Maintenance: public shorteners anyone can create links on, and the
// redirect domains of social networks and automation services that wrap
// any URL. A service whose short links lead only to its own site names
// that site, so that its links (a video on YouTube) are told apart from
// those that can lead to a file share. Whether a site hosts shares is the
// catalogue's word: Amazon Photos shares live on amazon.*, so amzn.to
// links count as share-capable.
func BuiltinShorteners() []ShortenerSpec {
	anywhere := []string{
		"bit.ly", "bitly.com", "j.mp", "bit.do", "tinyurl.com", "tiny.cc", "tiny.one",
		"t.co", "goo.gl", "ow.ly", "is.gd", "v.gd", "x.gd", "buff.ly", "rebrand.ly",
		"rb.gy", "cutt.ly", "shorturl.at", "t.ly", "s.id", "bl.ink", "lnkd.in",
		"ift.tt", "dlvr.it", "trib.al", "soo.gd", "clck.ru", "short.gy", "snip.ly",
		"qrco.de", "urlshortener.at", "shorturl.com", "tinu.be", "zpr.io", "hubs.ly",
		"*.page.link", "*.app.goo.gl", "*.app.link",
	}
	out := make([]ShortenerSpec, 0, len(anywhere)+12)
	for _, h := range anywhere {
		out = append(out, ShortenerSpec{Host: h})
	}
	amazon := []string{"amazon.co.jp", "amazon.com", "amazon.co.uk", "amazon.de", "amazon.fr", "amazon.it", "amazon.es", "amazon.ca", "amazon.com.au", "amazon.in"}
	return append(out,
		ShortenerSpec{Host: "amzn.to", Sites: amazon},
		ShortenerSpec{Host: "amzn.asia", Sites: amazon},
		ShortenerSpec{Host: "a.co", Sites: amazon},
		ShortenerSpec{Host: "youtu.be", Sites: []string{"youtube.com"}},
		ShortenerSpec{Host: "maps.app.goo.gl", Sites: []string{"maps.google.com", "www.google.com"}},
		ShortenerSpec{Host: "spoti.fi", Sites: []string{"spotify.com"}},
		ShortenerSpec{Host: "apple.co", Sites: []string{"apple.com"}},
		ShortenerSpec{Host: "fb.me", Sites: []string{"facebook.com", "messenger.com"}},
		ShortenerSpec{Host: "wp.me", Sites: []string{"wordpress.com"}},
		ShortenerSpec{Host: "db.tt", Sites: []string{"dropbox.com"}},
	)
}

// shortener is a compiled ShortenerSpec.
type shortener struct {
	host    string
	sites   []string // normalised; empty: anywhere
	capable bool     // may lead to a share (set once the catalogue is built)
}

// Destination describes a link whose destination is not known offline.
type Destination struct {
	// Why, for officers: "URL shortener bit.ly", "redirector that hides
	// its target".
	Why string `json:"why"`
	// Sites are the only sites a single-site shortener leads to.
	Sites []string `json:"sites,omitempty"`
	// ShareCapable: the link may lead to a file share (it can lead
	// anywhere, or one of its sites hosts shares).
	ShareCapable bool `json:"share_capable"`
}

func compileShorteners(builtin, specs []ShortenerSpec, probs *problems) (exact, suffix map[string]*shortener) {
	exact, suffix = map[string]*shortener{}, map[string]*shortener{}
	add := func(s ShortenerSpec, key string) {
		h, err := normalizePattern(s.Host)
		if err != "" || h == "*" {
			if err == "" {
				err = "\"*\" would make every link a shortener"
			}
			probs.add(key+".host", err, "an exact host name such as \"s.example.net\", or \"*.example.net\" for its subdomains")
			return
		}
		wild := strings.HasPrefix(h, "*.")
		h = strings.TrimPrefix(h, "*.")
		m := exact
		if wild {
			m = suffix
		}
		if s.Disable {
			delete(m, h)
			return
		}
		sh := &shortener{host: h}
		for j, site := range s.Sites {
			a, ok := asciiHost(strings.TrimPrefix(strings.TrimSpace(site), "*."))
			if !ok || !strings.Contains(a, ".") {
				probs.add(fmt.Sprintf("%s.sites[%d]", key, j), fmt.Sprintf("%q is not a domain name", site), "e.g. \"amazon.co.jp\"; its subdomains are included")
				continue
			}
			sh.sites = append(sh.sites, a)
		}
		m[h] = sh
	}
	for _, s := range builtin {
		add(s, "builtin["+s.Host+"]")
	}
	for i, s := range specs {
		add(s, fmt.Sprintf("shortener[%d]", i))
	}
	return exact, suffix
}

// shortenerFor returns the shortener entry for host, exact entries first.
func (c *Catalog) shortenerFor(host string) *shortener {
	if s := c.shortExact[host]; s != nil {
		return s
	}
	for h := host; ; {
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return nil
		}
		h = h[i+1:]
		if s := c.shortSuffix[h]; s != nil {
			return s
		}
	}
}

// IsShortener reports whether host (normalised) is a listed shortener.
func (c *Catalog) IsShortener(host string) bool { return c.shortenerFor(normalizeHost(host)) != nil }

// UnknownDestination reports whether link leads somewhere that cannot be
// known offline: a listed URL shortener, or a redirector the inspector
// could not unwrap (link.Opaque). Call it for links Match did not
// recognise as shares.
func (c *Catalog) UnknownDestination(link message.Link) (Destination, bool) {
	host := link.Host
	if host == "" {
		host = splitURL(link.URL).host
	} else {
		host = normalizeHost(host)
	}
	if s := c.shortenerFor(host); s != nil {
		return Destination{Why: "URL shortener " + host, Sites: s.sites, ShareCapable: s.capable}, true
	}
	if link.Opaque {
		return Destination{Why: "redirector that hides its target (" + host + ")", ShareCapable: true}, true
	}
	return Destination{}, false
}

// markCapable decides for each shortener whether it can lead to a share.
func (c *Catalog) markCapable() {
	for _, m := range []map[string]*shortener{c.shortExact, c.shortSuffix} {
		for _, s := range m {
			s.capable = len(s.sites) == 0
			for _, site := range s.sites {
				s.capable = s.capable || c.hostsShares(site)
			}
		}
	}
}

// hostsShares reports whether the catalogue has entries for site or one of
// its subdomains (dropbox.com: www.dropbox.com is a provider host).
func (c *Catalog) hostsShares(site string) bool {
	if len(c.exact[site])+len(c.suffix[site]) > 0 {
		return true
	}
	dot := "." + site
	for h := range c.exact {
		if strings.HasSuffix(h, dot) {
			return true
		}
	}
	for h := range c.suffix {
		if strings.HasSuffix(h, dot) {
			return true
		}
	}
	for h := site; ; {
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return false
		}
		h = h[i+1:]
		if len(c.suffix[h]) > 0 {
			return true
		}
	}
}
