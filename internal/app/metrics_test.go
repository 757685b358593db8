package app

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/egressguard/egressguard/internal/fakesmtp"
)

func scrape(t *testing.T, a *App) string {
	t.Helper()
	resp, err := http.Get("http://" + a.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// metricValue returns the value of the sample line that starts with name
// (name may include labels), or "" if none.
func metricValue(page, name string) string {
	for _, line := range strings.Split(page, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return rest
		}
	}
	return ""
}

// TestHeldQueueMetrics: /metrics reports the held queue (how many, how
// old the oldest), decisions by kind, per-officer figures and rule hits.
func TestHeldQueueMetrics(t *testing.T) {
	up := fakesmtp.Start(t)
	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	a := startApp(t, testConfig(t, up.Addr(), ""), WithClock(func() time.Time { return *now.Load() }))

	page := scrape(t, a)
	if v := metricValue(page, "egressguard_held_messages"); v != "0" {
		t.Errorf("held before any hold: %q", v)
	}
	if !regexp.MustCompile(`(?m)^egressguard_build_info\{goversion="go[^"]+",revision="[^"]*",version="[^"]+"\} 1$`).MatchString(page) {
		t.Error("no build_info")
	}
	id, _ := holdOne(t, a, "first")
	holdOne(t, a, "second")
	later := start.Add(90 * time.Second)
	now.Store(&later)
	time.Sleep(heldMaxAge) // the collector caches for heldMaxAge
	page = scrape(t, a)
	if v := metricValue(page, "egressguard_held_messages"); v != "2" {
		t.Errorf("held: %q", v)
	}
	if v, err := strconv.ParseFloat(metricValue(page, "egressguard_held_oldest_age_seconds"), 64); err != nil || v < 85 || v > 95 {
		t.Errorf("oldest age: %v %v, want about 90", v, err)
	}
	if v := metricValue(page, `egressguard_rule_hits_total{action="hold",mode="enforce",rule="share-link-unknown-recipient"}`); v != "2" {
		t.Errorf("rule hits: %q", v)
	}

	// An approval a second after the officer opened the message is fast.
	olga := user(t, a, "olga")
	if _, _, err := a.Hold.View(context.Background(), olga, id, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Hold.Approve(context.Background(), olga, id, "test"); err != nil {
		t.Fatal(err)
	}
	page = scrape(t, a)
	for name, want := range map[string]string{
		`egressguard_hold_decisions_total{kind="approve"}`:                   "1",
		`egressguard_officer_decisions_total{kind="approve",officer="olga"}`: "1",
		`egressguard_officer_fast_approvals_total{officer="olga"}`:           "1",
		`egressguard_webhook_failures_total{reason="failed"}`:                "0",
		`egressguard_notice_failures_total{result="bounced"}`:                "0",
	} {
		if v := metricValue(page, name); v != want {
			t.Errorf("%s = %q, want %s", name, v, want)
		}
	}
}

// TestAlertRulesFile: the example alert rules are valid rule-file YAML
// (the shape promtool checks), and every metric they name is one the
// guard exports.
func TestAlertRulesFile(t *testing.T) {
	b, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	up := fakesmtp.Start(t)
	a := startApp(t, testConfig(t, up.Addr(), ""))
	// A hold and a quick approval, so that the labelled metrics exist.
	id, _ := holdOne(t, a, "metrics")
	olga := user(t, a, "olga")
	if _, _, err := a.Hold.View(context.Background(), olga, id, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Hold.Approve(context.Background(), olga, id, "test"); err != nil {
		t.Fatal(err)
	}
	page := scrape(t, a)
	metricRe := regexp.MustCompile(`egressguard_[a-z_]+`)
	names := map[string]bool{}
	rules := 0
	for _, g := range f.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: no name or no rules", g.Name)
		}
		for _, r := range g.Rules {
			rules++
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %q lacks alert, expr, severity or summary", r.Alert)
			}
			if names[r.Alert] {
				t.Errorf("duplicate alert %q", r.Alert)
			}
			names[r.Alert] = true
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			if strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") {
				t.Errorf("%s: unbalanced parentheses in %q", r.Alert, r.Expr)
			}
			for _, m := range metricRe.FindAllString(r.Expr, -1) {
				if !strings.Contains(page, "\n"+m) && !strings.Contains(page, "# TYPE "+m+" ") {
					t.Errorf("%s: metric %s is not exported", r.Alert, m)
				}
			}
		}
	}
	if rules < 5 {
		t.Errorf("only %d rules", rules)
	}
}

// TestAdminFiguresDigest: admins get the officers' approval figures for
// each period, once, even when two instances ask.
func TestAdminFiguresDigest(t *testing.T) {
	up := fakesmtp.Start(t)
	var now atomic.Pointer[time.Time]
	start := time.Now().Truncate(time.Hour).Add(10 * time.Minute)
	now.Store(&start)
	a := startApp(t, testConfig(t, up.Addr(), `
[notify]
from = "guard@example.jp"
language = "en"
admins = ["ciso@example.jp"]
`), WithClock(func() time.Time { return *now.Load() }))
	ctx := context.Background()
	id, _ := holdOne(t, a, "figures")
	olga := user(t, a, "olga")
	if _, _, err := a.Hold.View(ctx, olga, id, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Hold.Approve(ctx, olga, id, "test"); err != nil {
		t.Fatal(err)
	}
	next := start.Add(time.Hour)
	now.Store(&next)
	a.sendFigures(ctx, time.Hour)
	a.sendFigures(ctx, time.Hour)
	waitFor(t, "figures digest", func() bool { return len(messagesTo(up, "ciso@example.jp")) == 1 })
	body := decodeNotice(t, messagesTo(up, "ciso@example.jp")[0].Data)
	if !strings.Contains(body, "olga: 1 decisions (1 approved, 0 rejected, 0 near misses), approval rate 100%") ||
		!strings.Contains(body, "fast approvals 1") {
		t.Errorf("figures digest:\n%s", body)
	}
	waitSent(t, a.Store)
	if n := len(messagesTo(up, "ciso@example.jp")); n != 1 {
		t.Errorf("%d digests for one period", n)
	}
}
