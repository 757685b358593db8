package app

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/egressguard/egressguard/internal/fakesmtp"
)

// TestNearMissNobodyInBrowser: with no incident contacts configured, the
// officer sees next to the near-miss box that nobody will be told, the
// note turns into a warning when the box is ticked (CSS only, no script
// under the CSP), and the confirmation after the rejection says it again.
func TestNearMissNobodyInBrowser(t *testing.T) {
	ctx := chromium(t)
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), "[notify]\nfrom = \"guard@example.jp\"\nlanguage = \"en\"\n"))
	base := "http://" + a.ConsoleAddr()
	var blog browserLog
	blog.listen(t, ctx)
	id, _ := holdOne(t, a, "near-miss-nobody")

	step(t, ctx, "login and open",
		chromedp.Navigate(base+"/messages/"+id),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "olga"),
		chromedp.SendKeys(chromedp.ID("password"), "olga-password"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("near-miss")),
	)
	if note := text(t, ctx, chromedp.CSS("#near-miss-nobody")); !strings.Contains(note, "Nobody will be notified") {
		t.Errorf("note next to the near-miss box: %q", note)
	}
	weight := `getComputedStyle(document.getElementById("near-miss-nobody")).fontWeight`
	if w := eval[string](t, ctx, weight); w == "700" {
		t.Errorf("note already a warning before the box is ticked")
	}
	step(t, ctx, "tick", chromedp.Click(chromedp.ID("near-miss")))
	if w := eval[string](t, ctx, weight); w != "700" {
		t.Errorf("ticked: note font weight %q, want the warning (700)", w)
	}
	step(t, ctx, "reject",
		chromedp.SendKeys(chromedp.ID("reject-comment"), "wrong customer"),
		chromedp.Click(chromedp.ID("reject")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if f := text(t, ctx, chromedp.CSS("#flash")); !strings.Contains(f, "nobody was notified") {
		t.Errorf("flash after a near miss with nobody to tell: %q", f)
	}
	blog.check(t)
}
