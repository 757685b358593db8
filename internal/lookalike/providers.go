package lookalike

import "slices"

// providers are the major free-mail, ISP and mobile-carrier domains, where
// anyone (or any subscriber) can get an address. A look-alike of one is
// the classic misdirection: yamada@gmial.com for yamada@gmail.com. The
// list is maintained here; admins add their own through the configuration
// (policy.lookalike.extra_domains).
var providers = []string{
	// Google, Microsoft, Yahoo, Apple, AOL.
	"gmail.com", "googlemail.com",
	"outlook.com", "outlook.jp", "hotmail.com", "hotmail.co.jp", "hotmail.co.uk", "live.com", "live.jp", "msn.com",
	"yahoo.com", "yahoo.co.jp", "ymail.com", "rocketmail.com", "yahoo.co.uk",
	"icloud.com", "me.com", "mac.com",
	"aol.com", "aim.com",
	// Privacy-minded and independent providers.
	"proton.me", "protonmail.com", "pm.me", "tutanota.com", "tuta.io", "fastmail.com", "zoho.com", "zohomail.com",
	"gmx.com", "gmx.net", "gmx.de", "web.de", "mail.com", "email.com",
	"yandex.com", "yandex.ru", "mail.ru",
	"qq.com", "163.com", "126.com", "sina.com", "naver.com", "daum.net", "hanmail.net",
	// Japanese mobile carriers.
	"docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp", "i.softbank.jp", "disney.ne.jp",
	"ymobile.ne.jp", "y-mobile.ne.jp", "emobile.ne.jp", "willcom.com", "pdx.ne.jp", "rakuten.jp", "uqmobile.jp",
	// Japanese ISPs and portals.
	"nifty.com", "biglobe.ne.jp", "ocn.ne.jp", "so-net.ne.jp", "plala.or.jp", "dion.ne.jp", "ybb.ne.jp",
	"jcom.home.ne.jp", "jcom.zaq.ne.jp", "zaq.ne.jp", "eonet.ne.jp", "odn.ne.jp", "infoseek.jp", "excite.co.jp",
	"goo.jp", "livedoor.com", "mopera.net", "kcn.ne.jp", "commufa.jp", "tnc.ne.jp", "bbexcite.jp",
	// The providers' own corporate domains: real, and a suffix swap away
	// from their mail domains, so trusted rather than reported.
	"rakuten.co.jp", "rakuten.com", "softbank.jp", "softbank.co.jp", "nttdocomo.co.jp", "kddi.com",
	"biglobe.co.jp", "nifty.co.jp", "google.com", "google.co.jp", "microsoft.com", "apple.com", "lycorp.co.jp",
	// Real domains one edit from a provider.
	"cloud.com",
}

// Providers returns the built-in free-mail, ISP and carrier domains.
func Providers() []string { return slices.Clone(providers) }

// ProviderDomains returns the built-in list and extra as Domains of kind
// Provider, ready for New.
func ProviderDomains(extra []string) []Domain {
	out := make([]Domain, 0, len(providers)+len(extra))
	for _, p := range providers {
		out = append(out, Domain{Name: p, Kind: Provider})
	}
	for _, p := range extra {
		out = append(out, Domain{Name: p, Kind: Provider})
	}
	return out
}
