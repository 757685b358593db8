package app

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/testenv"
)

// chromium returns a headless browser context, or skips the test when no
// Chromium is installed (and fails instead under CI, which must have it).
func chromium(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		testenv.Missing(t, "chromium not installed (Debian package chromium)")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("no-pings", true),
		// Nothing but the loopback guard may be reached: any other host
		// name fails to resolve.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser now, on a context without a deadline (a deadline
	// on the first run would bound the browser's whole life).
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// browserLog collects what the browser logs, so that a test can fail on a
// Content-Security-Policy violation or a script error.
type browserLog struct {
	mu    sync.Mutex
	lines []string
}

func (b *browserLog) listen(t *testing.T, ctx context.Context) {
	err := chromedp.Listen(ctx, func(ev any) {
		var line string
		switch e := ev.(type) {
		case *log.EventEntryAdded:
			line = string(e.Entry.Source) + " " + string(e.Entry.Level) + ": " + e.Entry.Text
		case *runtime.EventExceptionThrown:
			line = "exception: " + e.ExceptionDetails.Text
		default:
			return
		}
		b.mu.Lock()
		b.lines = append(b.lines, line)
		b.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (b *browserLog) check(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.lines {
		low := strings.ToLower(l)
		if strings.Contains(low, "content security policy") || strings.HasPrefix(low, "exception") {
			t.Errorf("browser: %s", l)
		}
	}
}

// step runs browser actions with a time limit and fails the test on error.
func step(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

func text(t *testing.T, ctx context.Context, sel chromedp.CSS) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// TestConsoleInBrowser: a share link to an unknown recipient is held; the
// officer logs in, opens it, sees why, approves; the smarthost receives the
// original bytes and the sender is told. Then the sender withdraws another
// message from a phone-sized screen.
func TestConsoleInBrowser(t *testing.T) {
	ctx := chromium(t)
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), `
[notify]
from = "guard@example.jp"
language = "en"
`))
	base := "http://" + a.ConsoleAddr()
	var blog browserLog
	blog.listen(t, ctx)

	id, data := holdOne(t, a, "quarterly-figures")
	waitFor(t, "hold notice", func() bool { return len(messagesTo(up, "alice@example.jp")) == 1 })

	// The officer logs in; the console sends them to the queue.
	step(t, ctx, "login",
		chromedp.Navigate(base+"/held"),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "olga"),
		chromedp.SendKeys(chromedp.ID("password"), "olga-password"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("row-"+id)),
	)
	row := text(t, ctx, chromedp.CSS("#row-"+id))
	for _, want := range []string{"alice@example.jp", "stranger@elsewhere.example", "unknown", "quarterly-figures"} {
		if !strings.Contains(row, want) {
			t.Errorf("queue row lacks %q: %q", want, row)
		}
	}
	// The embedded style sheet applies under the CSP (a blocked sheet
	// would leave the header unstyled).
	if bg := eval[string](t, ctx, `getComputedStyle(document.querySelector("header.top")).backgroundColor`); bg != "rgb(24, 32, 46)" {
		t.Errorf("style sheet not applied: header background %q", bg)
	}

	// Open it: why it is held, with the offending link marked.
	step(t, ctx, "open message",
		chromedp.Click(chromedp.CSS("#row-"+id+" td.subject a")),
		chromedp.WaitVisible(chromedp.ID("subject")),
	)
	if s := text(t, ctx, chromedp.CSS("#subject")); s != "quarterly-figures" {
		t.Errorf("subject %q", s)
	}
	why := text(t, ctx, chromedp.CSS("#why"))
	if !strings.Contains(strings.ToLower(why), "share") {
		t.Errorf("why section: %q", why)
	}
	if hit := text(t, ctx, chromedp.CSS("mark.hit")); !strings.Contains(hit, "drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQrStUv") {
		t.Errorf("marked link %q", hit)
	}
	if env := text(t, ctx, chromedp.CSS("#envelope")); !strings.Contains(env, "stranger@elsewhere.example") || !strings.Contains(env, "unknown") {
		t.Errorf("envelope: %q", env)
	}
	if n := len(messagesTo(up, "stranger@elsewhere.example")); n != 0 {
		t.Fatalf("delivered before approval: %d", n)
	}

	// Approve: a confirmation page, then the approval.
	step(t, ctx, "approve",
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.ID("confirm-check")),
		chromedp.Click(chromedp.ID("confirm-check")),
		chromedp.Click(chromedp.ID("approve-confirm")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if f := text(t, ctx, chromedp.CSS("#flash")); !strings.Contains(f, id) || !strings.Contains(f, "being sent") {
		t.Errorf("flash after approval: %q", f)
	}
	waitState(t, a.Store, id, store.Delivered)
	ms := messagesTo(up, "stranger@elsewhere.example")
	if len(ms) != 1 || !bytes.Equal(untraced(t, ms[0].Data), data) {
		t.Fatalf("smarthost got %d copies; bytes equal: %v", len(ms), len(ms) == 1 && bytes.Equal(untraced(t, ms[0].Data), data))
	}
	waitFor(t, "approval notice", func() bool { return len(messagesTo(up, "alice@example.jp")) == 2 })
	notices := messagesTo(up, "alice@example.jp")
	if !bytes.Contains(notices[0].Data, []byte("quarterly-figures")) || !bytes.Contains(notices[1].Data, []byte("Approved and sent")) {
		t.Errorf("sender notices:\n%s\n---\n%s", notices[0].Data, notices[1].Data)
	}

	// The view and the approval are in the audit log, from the console.
	es, err := a.Store.Audit(context.Background(), store.AuditFilter{MsgID: id})
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, e := range es {
		if e.Actor == "olga" {
			acts = append(acts, e.Action)
			if !bytes.Contains(e.Data, []byte(`"via":"console"`)) {
				t.Errorf("%s not marked as from the console: %s", e.Action, e.Data)
			}
		}
	}
	// Two views: the message, and the confirmation page that shows its
	// recipients again.
	if strings.Join(acts, ",") != "message.view,message.view,hold.approve" {
		t.Errorf("officer's audit entries: %v", acts)
	}

	// Log out; the sender logs in on a phone and withdraws a message.
	step(t, ctx, "logout",
		chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.ID("user")),
	)
	id2, _ := holdOne(t, a, "second-thoughts")
	step(t, ctx, "sender login on a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(base+"/held"),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "alice-password"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("row-"+id2)),
	)
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("queue is %dpx wider than a phone's screen", w)
	}
	step(t, ctx, "open on phone",
		chromedp.Click(chromedp.CSS("#row-"+id2+" td.subject a")),
		chromedp.WaitVisible(chromedp.ID("withdraw")),
	)
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("message page is %dpx wider than a phone's screen", w)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#approve, #reject").length`); n != 0 {
		t.Error("the sender is offered approve or reject")
	}
	step(t, ctx, "withdraw",
		chromedp.Click(chromedp.ID("withdraw")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	waitState(t, a.Store, id2, store.Withdrawn)
	if n, err := audit.Verify(context.Background(), a.Store); err != nil || n == 0 {
		t.Errorf("audit verify: %d %v", n, err)
	}
	waitSent(t, a.Store)
	if n := len(messagesTo(up, "stranger@elsewhere.example")); n != 1 {
		t.Errorf("stranger got %d messages, want only the approved one", n)
	}
	blog.check(t)
}
