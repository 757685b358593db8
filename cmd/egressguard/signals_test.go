package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// signalVerdict is the part of check's verdict the signal tests read.
type signalVerdict struct {
	Action     string
	Reasons    []struct{ Rule, Matched string }
	Lookalikes []struct {
		Rcpt, Domain, Trusted, Kind, Reason, En, Ja string
	}
	FirstContact    []struct{ Rcpt string } `json:"first_contact"`
	VisibleExternal int                     `json:"visible_external_recipients"`
}

// checkSignals runs `egressguard check` with the example config on a
// message without links and returns the verdict.
func checkSignals(t *testing.T, headers string, to ...string) signalVerdict {
	t.Helper()
	eml := filepath.Join(t.TempDir(), "m.eml")
	body := "From: demo@example.jp\r\n" + headers + "Subject: 見積書の件\r\n\r\nいつもお世話になっております。ご確認ください。\r\n"
	if err := os.WriteFile(eml, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"check", "--config", "../../config/egressguard.toml", "--from", "demo@example.jp"}
	for _, a := range to {
		args = append(args, "--to", a)
	}
	code, out, errOut := runMain(t, append(args, eml)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v signalVerdict
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return v
}

func enforced(v signalVerdict) []string {
	var out []string
	for _, r := range v.Reasons {
		out = append(out, r.Rule)
	}
	return out
}

// TestCheckLookalikes: with the example config, mail without links to a
// look-alike of a free-mail domain, of the internal domain and of the
// allowlisted domain is held, naming the pair; the real domains pass.
func TestCheckLookalikes(t *testing.T) {
	for _, tc := range []struct{ rcpt, trusted, kind string }{
		{"yamada@gmial.com", "gmail.com", "provider"},
		{"yamada@gmai1.com", "gmail.com", "provider"},
		{"yamada@yahoo.jp", "yahoo.co.jp", "provider"},
		{"taro@docomo.co.jp", "docomo.ne.jp", "provider"},
		{"hanako@ezweb.co.jp", "ezweb.ne.jp", "provider"},
		{"colleague@examp1e.jp", "example.jp", "internal"},
		{"colleague@exmaple.jp", "example.jp", "internal"},
		{"colleague@example.jp.mail-example.test", "example.jp", "internal"},
		{"suzuki@partner-example.com", "partner.example.com", "allowlisted"},
		{"suzuki@partner.example.co.jp", "partner.example.com", "allowlisted"},
	} {
		v := checkSignals(t, "To: "+tc.rcpt+"\r\n", tc.rcpt)
		if v.Action != "hold" || !strings.Contains(strings.Join(enforced(v), " "), "lookalike-recipient-domain") {
			t.Errorf("%s: %s %v, want held as a look-alike", tc.rcpt, v.Action, enforced(v))
			continue
		}
		if len(v.Lookalikes) != 1 || v.Lookalikes[0].Trusted != tc.trusted || v.Lookalikes[0].Kind != tc.kind {
			t.Errorf("%s: evidence %+v, want %s (%s)", tc.rcpt, v.Lookalikes, tc.trusted, tc.kind)
			continue
		}
		d := tc.rcpt[strings.IndexByte(tc.rcpt, '@')+1:]
		if l := v.Lookalikes[0]; !strings.HasPrefix(l.En, d+" looks like "+tc.trusted) || !strings.HasPrefix(l.Ja, d+" は "+tc.trusted+" に似ています") {
			t.Errorf("%s: evidence text %q / %q", tc.rcpt, l.En, l.Ja)
		}
	}
	for _, rcpt := range []string{
		"yamada@gmail.com", "a@googlemail.com", "a@outlook.jp", "a@outlook.com", "a@hotmail.co.jp", "a@yahoo.co.jp",
		"a@icloud.com", "a@docomo.ne.jp", "a@ezweb.ne.jp", "a@au.com", "a@softbank.ne.jp", "a@i.softbank.jp",
		"a@nifty.com", "a@biglobe.ne.jp", "a@ocn.ne.jp", "a@gmx.com", "a@mail.com", "a@email.com",
		"a@google.co.jp", "a@rakuten.co.jp", "a@toyota.co.jp", "a@u-tokyo.ac.jp", "a@city.yokohama.lg.jp",
		"suzuki@partner.example.com", "colleague@sub.example.jp",
	} {
		v := checkSignals(t, "To: "+rcpt+"\r\n", rcpt)
		if v.Action != "pass" || len(v.Lookalikes) != 0 {
			t.Errorf("%s: %s %v %+v, want pass", rcpt, v.Action, enforced(v), v.Lookalikes)
		}
	}
}

// TestCheckVisibleRecipients: 10 external addresses visible in To/Cc are
// held; 9, or 10 with the others in Bcc, pass.
func TestCheckVisibleRecipients(t *testing.T) {
	var addrs []string
	for i := range 10 {
		addrs = append(addrs, fmt.Sprintf("customer%d@client%d.example", i, i))
	}
	v := checkSignals(t, "To: "+strings.Join(addrs[:6], ", ")+"\r\nCc: "+strings.Join(addrs[6:], ",\r\n ")+", boss@example.jp\r\n", addrs...)
	if v.Action != "hold" || v.VisibleExternal != 10 || !strings.Contains(strings.Join(enforced(v), " "), "many-visible-external-recipients") {
		t.Errorf("10 visible: %s %d %v", v.Action, v.VisibleExternal, enforced(v))
	}
	v = checkSignals(t, "To: "+strings.Join(addrs[:9], ", ")+"\r\n", addrs...)
	if v.Action != "pass" || v.VisibleExternal != 9 {
		t.Errorf("9 visible: %s %d %v", v.Action, v.VisibleExternal, enforced(v))
	}
	v = checkSignals(t, "To: undisclosed-recipients:;\r\n", addrs...)
	if v.Action != "pass" || v.VisibleExternal != 0 {
		t.Errorf("Bcc: %s %d %v", v.Action, v.VisibleExternal, enforced(v))
	}
	// First contact is recorded in monitor mode only.
	if len(v.FirstContact) != 10 {
		t.Errorf("first contact evidence: %+v", v.FirstContact)
	}
}

// TestCorrespondentsCommand: import a Postfix log into a store, then show
// a domain.
func TestCorrespondentsCommand(t *testing.T) {
	dir := t.TempDir()
	cfg, err := os.ReadFile("../../config/egressguard.toml")
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "eg.toml")
	os.WriteFile(conf, []byte(strings.Replace(string(cfg), `data_dir = "../data"`, `data_dir = "data"`, 1)), 0o600)
	csv := filepath.Join(dir, "pairs.csv")
	os.WriteFile(csv, []byte("sender,recipient,time\ndemo@example.jp,yamada@client.example,2026-11-01\ndemo@example.jp,boss@example.jp,2026-11-01\nnot-an-address,x@y.example\n"), 0o600)
	code, out, errOut := runMain(t, "correspondents", "import", "--config", conf, "--format", "csv", csv)
	if code != 0 || !strings.Contains(out, "recorded 1 deliveries (2 skipped") {
		t.Fatalf("import csv: exit %d %q %s", code, out, errOut)
	}
	code, out, errOut = runMain(t, "correspondents", "import", "--config", conf, "../../internal/correspondents/testdata/maillog")
	if code != 0 || !strings.Contains(out, "recorded 4 deliveries") {
		t.Fatalf("import postfix: exit %d %q %s", code, out, errOut)
	}
	code, out, _ = runMain(t, "correspondents", "show", "--config", conf, "partner.co.jp")
	if code != 0 || !strings.Contains(out, "yamada@partner.co.jp") || !strings.Contains(out, "taro@example.jp") {
		t.Errorf("show: exit %d\n%s", code, out)
	}
	code, out, _ = runMain(t, "correspondents", "show", "--config", conf, "never.example")
	if code != 0 || !strings.Contains(out, "first contact") {
		t.Errorf("show unknown: exit %d\n%s", code, out)
	}
	// check reads the same record: partner.co.jp is known (no first
	// contact) and, mailed three times, trusted: partner.jp is held as a
	// look-alike of it.
	eml := filepath.Join(dir, "m.eml")
	os.WriteFile(eml, []byte("From: demo@example.jp\r\nTo: yamada@partner.co.jp\r\nSubject: hello\r\n\r\nhello\r\n"), 0o600)
	for _, tc := range []struct {
		rcpt, action string
		first        int
	}{
		{"yamada@partner.co.jp", "pass", 0},
		{"yamada@partner.jp", "hold", 1},
	} {
		code, out, errOut = runMain(t, "check", "--config", conf, "--from", "demo@example.jp", "--to", tc.rcpt, eml)
		var v signalVerdict
		if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil {
			t.Fatalf("check: exit %d %v %s", code, err, errOut)
		}
		if v.Action != tc.action || len(v.FirstContact) != tc.first {
			t.Errorf("check %s: %s %v first contact %+v", tc.rcpt, v.Action, enforced(v), v.FirstContact)
		}
		if tc.action == "hold" && (len(v.Lookalikes) != 1 || v.Lookalikes[0].Trusted != "partner.co.jp" || v.Lookalikes[0].Kind != "correspondent") {
			t.Errorf("check %s: %+v", tc.rcpt, v.Lookalikes)
		}
	}
	if code, _, _ := runMain(t, "correspondents", "import", "--config", conf, "--format", "mbox", csv); code == 0 {
		t.Error("unknown format accepted")
	}
	if code, _, _ := runMain(t, "correspondents", "frobnicate", "--config", conf); code != 2 {
		t.Errorf("usage error: exit %d", code)
	}
}
