package lookalike

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

func TestUnicodeData(t *testing.T) {
	if v := UnicodeVersion(); v < "17.0.0" {
		t.Errorf("confusables.txt version %q, want 17.0.0 or later", v)
	}
	for in, want := range map[string]string{
		"paypal":    "paypal",
		"pаypal":    "paypal", // Cyrillic а
		"m":         "rn",
		"1":         "l",
		"I":         "l",
		"0":         "O",
		"gmаil.com": "grnail.corn",
	} {
		if got := Skeleton(in); got != want {
			t.Errorf("Skeleton(%q) = %q, want %q", in, got, want)
		}
	}
}

// trustedForTests is an organisation: its own domains, an allowlist, a
// correspondent, and the built-in providers.
func trustedForTests() *Index {
	ds := ProviderDomains(nil)
	ds = append(ds,
		Domain{"example.co.jp", Internal},
		Domain{"example.jp", Internal},
		Domain{"mitsubishi-electric.co.jp", Allowlisted},
		Domain{"partner-corp.co.jp", Allowlisted},
		Domain{"torihikisaki.com", Correspondent},
		Domain{"ｅｘａｍｐｌｅ-ｈｄ.co.jp", Internal}, // full-width as typed in a config
	)
	return New(ds)
}

func TestLookalikes(t *testing.T) {
	ix := trustedForTests()
	for _, tc := range []struct {
		domain, trusted string
		reason          Reason
	}{
		{"gmial.com", "gmail.com", Typo},
		{"gmal.com", "gmail.com", Typo},
		{"gmaill.com", "gmail.com", Typo},
		{"gnail.com", "gmail.com", Typo},
		{"gmai1.com", "gmail.com", Confusable},
		{"grnail.com", "gmail.com", Confusable},
		{"xn--gmil-63d.com", "gmail.com", Confusable}, // Cyrillic а
		{"gmaıl.com", "gmail.com", Confusable},        // dotless ı, as typed
		{"gmia1.com", "gmail.com", Typo},              // a slip and a confusable
		{"xn--gml-7cd3q.com", "gmail.com", Typo},      // gmіаl: Cyrillic і and а, swapped
		{"g-mail.com", "gmail.com", Separator},
		{"gmail.co.jp", "gmail.com", Suffix},
		{"gmail.jp", "gmail.com", Suffix},
		{"gmail.cm", "gmail.com", Suffix},
		{"gmail.co", "gmail.com", Suffix},
		{"gmail.net", "gmail.com", Suffix},
		{"gmail.con", "gmail.com", Suffix},
		{"gmail.cmo", "gmail.com", Suffix},
		{"mail.gmial.com", "gmail.com", Typo},
		{"gmail.com.example.net", "gmail.com", Embedded},
		{"gmail-com.info", "gmail.com", Embedded},
		{"0utlook.com", "outlook.com", Confusable},
		{"outiook.com", "outlook.com", Typo},
		{"outlook.co.jp", "outlook.jp", Suffix},
		{"hotrnail.com", "hotmail.com", Confusable},
		{"hotmial.co.jp", "hotmail.co.jp", Typo},
		{"yahoo.jp", "yahoo.co.jp", Suffix},
		{"yahooo.co.jp", "yahoo.co.jp", Typo},
		{"yaho.co.jp", "yahoo.co.jp", Typo},
		{"icloud.co", "icloud.com", Suffix},
		{"icluod.com", "icloud.com", Typo},
		{"docomo.co.jp", "docomo.ne.jp", Suffix},
		{"docomo-ne.jp", "docomo.ne.jp", Separator},
		{"docomo.ne.jp.example.com", "docomo.ne.jp", Embedded},
		{"docono.ne.jp", "docomo.ne.jp", Typo},
		{"ezweb.co.jp", "ezweb.ne.jp", Suffix},
		{"ezwed.ne.jp", "ezweb.ne.jp", Typo},
		{"i.sofbank.jp", "i.softbank.jp", Typo},
		{"softbamk.ne.jp", "softbank.ne.jp", Typo},
		{"nifty.ne.jp", "nifty.co.jp", Suffix}, // the nearest of nifty.com and nifty.co.jp
		{"nitfy.com", "nifty.com", Typo},
		{"biglobe.or.jp", "biglobe.co.jp", Suffix},
		{"biglobe.co.jp", "", ""}, // the provider's corporate domain
		{"bigrobe.ne.jp", "biglobe.ne.jp", Typo},
		{"ocn.co.jp", "", ""}, // a provider's base under 4 characters: no swaps
		{"ocn-ne.jp", "ocn.ne.jp", Separator},
		{"plala.ne.jp", "plala.or.jp", Suffix},
		{"lvie.jp", "live.jp", Typo},
		{"zoho.co.jp", "zoho.com", Suffix},
		{"vvebmail.example", "", ""}, // nothing like it
		{"rnail.ru", "mail.ru", Confusable},
		{"me.com.example.net", "me.com", Embedded},
		{"yahoo.co.jp-login.example", "yahoo.co.jp", Embedded},
		// The organisation's own domains.
		{"example.com", "example.co.jp", Suffix},
		{"exampel.co.jp", "example.co.jp", Typo},
		{"examp1e.co.jp", "example.co.jp", Confusable},
		{"example-co.jp", "example.co.jp", Separator},
		{"exarnple.jp", "example.jp", Confusable},
		{"example.jp.mail-example.test", "example.jp", Embedded},
		{"example-jp.com", "example.jp", Embedded},
		{"examplehd.co.jp", "example-hd.co.jp", Separator},
		// Allowlisted and correspondents.
		{"partnercorp.co.jp", "partner-corp.co.jp", Separator},
		{"partner-crop.co.jp", "partner-corp.co.jp", Typo},
		{"partner-corp.jp", "partner-corp.co.jp", Suffix},
		{"mitsubishi-elecrtic.co.jp", "mitsubishi-electric.co.jp", Typo},
		{"mitsubishl-electrlc.co.jp", "mitsubishi-electric.co.jp", Typo},
		{"t0rihikisaki.com", "torihikisaki.com", Confusable},
		{"torihikisaki.co.jp", "torihikisaki.com", Suffix},
		{"torihikisak.com", "torihikisaki.com", Typo},
	} {
		m, ok := ix.Lookup(tc.domain)
		if tc.trusted == "" {
			if ok {
				t.Errorf("%s: reported as %s (%s), want nothing", tc.domain, m, m.Reason)
			}
			continue
		}
		if !ok {
			t.Errorf("%s: not reported, want it to look like %s (%s)", tc.domain, tc.trusted, tc.reason)
			continue
		}
		if m.Trusted != tc.trusted || m.Reason != tc.reason {
			t.Errorf("%s: looks like %s (%s), want %s (%s)", tc.domain, m.Trusted, m.Reason, tc.trusted, tc.reason)
		}
	}
}

func TestNotLookalikes(t *testing.T) {
	ix := trustedForTests()
	for _, d := range []string{
		// Trusted themselves, in any spelling, and their subdomains.
		"gmail.com", "GMail.COM", "gmail.com.", "mail.example.co.jp", "sub.partner-corp.co.jp",
		"i.softbank.jp", "example-hd.co.jp", "ｅｘａｍｐｌｅ.co.jp",
		// Not names at all.
		"", ".", "com", "[192.0.2.1]", "..", "a..b",
		// Real domains near short provider names.
		"gmx.com", "gmc.com", "aon.com", "mi.com", "me.jp", "163.net", "live.net.au",
		"mail.ru", "email.com", "zoom.us", "line.me", "qq.com",
		"shop-au.com", "ocnk.net", "softbank.jp", "home.ne.jp", "x.softbank.jp", "mail.zaq.ne.jp",
	} {
		if m, ok := ix.Lookup(d); ok {
			t.Errorf("%q reported: %s (%s, %s)", d, m, m.Kind, m.Reason)
		}
	}
}

// TestPopularDomainsDistinct measures false positives: every popular
// domain is looked up in an index of all the others and the built-in
// providers. Domains of the same organisation under another suffix
// (hitachi.com, hitachi.co.jp) are left out of each other's index: a
// suffix swap is exactly what the check reports.
func TestPopularDomainsDistinct(t *testing.T) {
	f, err := os.Open("testdata/popular.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var popular []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			popular = append(popular, l)
		}
	}
	all := append(Providers(), popular...)
	builtin := New(ProviderDomains(nil))
	flagged := 0
	for _, d := range popular {
		if _, _, ok := builtin.Trusted(d); ok {
			// Built-in providers are trusted wherever the index is used,
			// so never looked up: gmail.com and ymail.com, mail.com and
			// email.com, so-net and eonet are one edit apart, and are all
			// on the list for that reason.
			continue
		}
		q := prepare(d, "")
		var ds []Domain
		for _, o := range all {
			if o == d {
				continue
			}
			if p := prepare(o, ""); p.bkey == q.bkey {
				continue // same organisation, another suffix
			}
			ds = append(ds, Domain{o, Correspondent})
		}
		if m, ok := New(ds).Lookup(d); ok {
			flagged++
			t.Errorf("%s reported: %s (%s)", d, m, m.Reason)
		}
	}
	t.Logf("%d popular domains, %d reported as look-alikes of another", len(popular), flagged)
}

func TestMatchText(t *testing.T) {
	m, ok := New(ProviderDomains(nil)).Lookup("gmial.com")
	if !ok {
		t.Fatal("gmial.com not reported")
	}
	if got, want := m.String(), "gmial.com looks like gmail.com"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got, want := m.Japanese(), "gmial.com は gmail.com に似ています"; got != want {
		t.Errorf("Japanese = %q, want %q", got, want)
	}
	m, _ = New(ProviderDomains(nil)).Lookup("xn--gmil-63d.com")
	if got, want := m.String(), "gmаil.com (xn--gmil-63d.com) looks like gmail.com"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestLookupAcrossIndexes(t *testing.T) {
	static := New(ProviderDomains(nil))
	live := New([]Domain{{"gmial.com", Correspondent}, {"partner.co.jp", Allowlisted}})
	// Trusted by the live index: not a look-alike of gmail.com.
	if m, ok := Lookup("gmial.com", static, live); ok {
		t.Errorf("gmial.com reported although a correspondent: %s", m)
	}
	if m, ok := Lookup("partner.jp", static, nil, live); !ok || m.Trusted != "partner.co.jp" || m.Kind != Allowlisted {
		t.Errorf("partner.jp: %v %v", m, ok)
	}
	// Short names of organisations: only a transposition counts.
	org := New([]Domain{{"nissan.co.jp", Correspondent}})
	if m, ok := org.Lookup("nissay.co.jp"); ok {
		t.Errorf("nissay.co.jp, a real company, reported: %s", m)
	}
	if m, ok := org.Lookup("nisasn.co.jp"); !ok || m.Reason != Typo {
		t.Errorf("nisasn.co.jp: %v %v", m, ok)
	}
	sub := New([]Domain{{"mail.partner-corp.co.jp", Correspondent}})
	for _, d := range []string{"partner-corp.co.jp", "sales.partner-corp.co.jp"} {
		if m, ok := sub.Lookup(d); ok {
			t.Errorf("%s (same owner as mail.partner-corp.co.jp) reported: %s", d, m)
		}
	}
	if m, ok := sub.Lookup("mail.partner-corp.jp"); !ok || m.Trusted != "mail.partner-corp.co.jp" {
		t.Errorf("mail.partner-corp.jp: %v %v", m, ok)
	}
	if _, ok := Lookup("gnail.com", nil, nil); ok {
		t.Error("reported with no index")
	}
}

func TestOSA(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"gmail", "gmial", 1}, {"gmail", "gmail", 0}, {"gmail", "gmal", 1}, {"ca", "abc", 3},
		{"abcdef", "badcfe", 3}, {"example", "exmaple", 1}, {"kitten", "sitting", 3},
	} {
		if got := osa([]rune(tc.a), []rune(tc.b), 5); got != tc.want {
			t.Errorf("osa(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	if got := osa([]rune("kitten"), []rune("sitting"), 1); got != 2 {
		t.Errorf("bounded osa = %d, want 2 (max+1)", got)
	}
}
