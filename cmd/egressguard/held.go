package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/console"
	"github.com/egressguard/egressguard/internal/tz"
)

const heldUsage = `usage:
  egressguard held list [--rule RULE] [--sender TEXT] [--json]
  egressguard held show ID [--json]
  egressguard held approve ID [--domain DOMAIN]   (DOMAIN: for a high-risk message)
  egressguard held reject ID --comment TEXT [--near-miss]
  egressguard held justify ID --text TEXT        (the sender: why it must go out)
  egressguard held withdraw ID

Every command talks to the console's API:
  --url URL      the console (default: $EGRESSGUARD_URL, else http://127.0.0.1:8025)
  --token TOKEN  an API token (default: $EGRESSGUARD_TOKEN; prefer the variable,
                 which other users cannot see in the process list)
Create a token with 'egressguard token create --user NAME'.`

// apiClient calls the console's JSON API.
type apiClient struct {
	base  *url.URL
	token string
	http  *http.Client
}

func newAPIClient(base, token string) (*apiClient, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want http(s)://host[:port]", base)
	}
	if token == "" {
		return nil, errors.New("no API token: pass --token or set EGRESSGUARD_TOKEN (create one with 'egressguard token create --user NAME')")
	}
	return &apiClient{base: u, token: token, http: &http.Client{
		Timeout: time.Minute,
		// The API never redirects; following one would send the token
		// somewhere it was not meant for.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// call sends a request and decodes the answer into out (raw, if out is
// *json.RawMessage). API errors come back as *api.Error.
func (c *apiClient) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", api.CLIUserAgent+version)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("console API: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("console API: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e api.Error
		if json.Unmarshal(b, &e) == nil && e.Code != "" {
			return &e
		}
		return fmt.Errorf("console API: %s %s: %s", method, path, resp.Status)
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("console API: unexpected answer: %w", err)
	}
	return nil
}

func cmdHeld(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, heldUsage)
		return exitError{2}
	}
	if isHelp(args[0]) {
		fmt.Fprintln(stdout, heldUsage)
		return nil
	}
	sub := args[0]
	fs := flag.NewFlagSet("egressguard held "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", envOr("EGRESSGUARD_URL", "http://127.0.0.1:8025"), "console `URL`")
	token := fs.String("token", os.Getenv("EGRESSGUARD_TOKEN"), "API `TOKEN`")
	asJSON := new(bool)
	var rule, sender, comment, domain, justification *string
	var nearMiss *bool
	switch sub {
	case "list":
		rule = fs.String("rule", "", "only mail held by `RULE`")
		sender = fs.String("sender", "", "only mail whose sender or user contains `TEXT`")
		fs.BoolVar(asJSON, "json", false, "print the API's JSON answer")
	case "show":
		fs.BoolVar(asJSON, "json", false, "print the API's JSON answer")
	case "approve":
		domain = fs.String("domain", "", "the recipient's `DOMAIN`, typed to approve a high-risk message")
	case "reject":
		comment = fs.String("comment", "", "comment for the sender (required)")
		nearMiss = fs.Bool("near-miss", false, "a misdirection was caught: tell the incident contacts")
	case "justify":
		justification = fs.String("text", "", "why the message must go out (the sender; officers read it)")
	case "withdraw":
	default:
		fmt.Fprintln(stderr, heldUsage)
		return exitError{2}
	}
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	need := 1
	if sub == "list" {
		need = 0
	}
	if len(pos) != need {
		fmt.Fprintln(stderr, heldUsage)
		return exitError{2}
	}
	c, err := newAPIClient(*base, *token)
	if err != nil {
		return err
	}
	var id string
	if need == 1 {
		id = pos[0]
		if id == "" || strings.ContainsAny(id, "/?#%") {
			return fmt.Errorf("invalid message ID %q", id)
		}
	}
	msgPath := "/api/messages/" + url.PathEscape(id)

	switch sub {
	case "list":
		q := url.Values{}
		if *rule != "" {
			q.Set("rule", *rule)
		}
		if *sender != "" {
			q.Set("sender", *sender)
		}
		path := "/api/held"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		if *asJSON {
			return printRaw(ctx, c, path, stdout)
		}
		var l api.List
		if err := c.call(ctx, "GET", path, nil, &l); err != nil {
			return apiErr(err)
		}
		return printList(stdout, &l, time.Now())
	case "show":
		if *asJSON {
			return printRaw(ctx, c, msgPath, stdout)
		}
		var d api.Detail
		if err := c.call(ctx, "GET", msgPath, nil, &d); err != nil {
			return apiErr(err)
		}
		return printDetail(stdout, &d)
	case "approve":
		var out api.Outcome
		if err := c.call(ctx, "POST", msgPath+"/approve", api.ApproveRequest{ConfirmDomain: *domain}, &out); err != nil {
			return apiErr(err)
		}
		if out.Released {
			fmt.Fprintf(stdout, "%s approved (%d of %d): released for delivery\n", id, out.Approvals, out.Needed)
		} else {
			fmt.Fprintf(stdout, "%s approved (%d of %d): another officer must approve before it is sent\n", id, out.Approvals, out.Needed)
		}
	case "reject":
		if strings.TrimSpace(*comment) == "" {
			fmt.Fprintln(stderr, "egressguard held reject: --comment is required (it is sent to the sender)")
			return exitError{2}
		}
		var out api.Outcome
		if err := c.call(ctx, "POST", msgPath+"/reject", api.RejectRequest{Comment: *comment, NearMiss: *nearMiss}, &out); err != nil {
			return apiErr(err)
		}
		fmt.Fprintf(stdout, "%s rejected: it will not be sent\n", id)
	case "justify":
		var out api.Outcome
		if err := c.call(ctx, "POST", msgPath+"/justify", api.JustifyRequest{Justification: *justification}, &out); err != nil {
			return apiErr(err)
		}
		fmt.Fprintf(stdout, "%s: explanation recorded; the officers will see it\n", id)
	case "withdraw":
		var out api.Outcome
		if err := c.call(ctx, "POST", msgPath+"/withdraw", struct{}{}, &out); err != nil {
			return apiErr(err)
		}
		fmt.Fprintf(stdout, "%s withdrawn: it will not be sent\n", id)
	}
	return nil
}

// zoneOf is the guard's display zone as the API names it; the local
// zone if it is not known here.
func zoneOf(name string) tz.Zone {
	z, err := tz.Load(name)
	if err != nil {
		return tz.Zone{}
	}
	return z
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// apiErr words an API error for the terminal.
func apiErr(err error) error {
	var e *api.Error
	if errors.As(err, &e) {
		return errors.New(console.Printable(e.Message, false))
	}
	return err
}

// printRaw prints the API's JSON, with every character that could act on
// a terminal escaped as \uXXXX (valid inside JSON strings, and the only
// place such characters can be).
func printRaw(ctx context.Context, c *apiClient, path string, w io.Writer) error {
	var raw json.RawMessage
	if err := c.call(ctx, "GET", path, nil, &raw); err != nil {
		return apiErr(err)
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(string(raw), "\uFFFD") {
		if r == '\n' || console.Printable(string(r), false) == string(r) {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// termSafe makes one line of mail-derived text safe for a terminal.
func termSafe(s string) string { return console.Printable(s, false) }

func printList(w io.Writer, l *api.List, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAGE\tFROM\tRECIPIENTS\tRULE\tSUBJECT")
	unknown := false
	for _, m := range l.Messages {
		var rcpts []string
		for _, r := range m.Rcpts {
			a := termSafe(r.Addr)
			if r.Unknown {
				a += "*"
				unknown = true
			}
			rcpts = append(rcpts, a)
		}
		var rules []string
		for _, r := range m.Reasons {
			if !r.Monitor && r.Rule != "" {
				rules = append(rules, termSafe(r.Rule))
			}
		}
		from := termSafe(m.From)
		if from == "" {
			from = "<>"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", termSafe(m.ID), shortAge(now.Sub(m.Received)), from,
			strings.Join(rcpts, ","), strings.Join(rules, ","), termSafe(m.Subject))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if unknown {
		fmt.Fprintln(w, "* unknown recipient")
	}
	fmt.Fprintf(w, "%d held; near misses in the last %d days: %d\n", len(l.Messages), l.WindowDays, l.NearMisses)
	return nil
}

func shortAge(d time.Duration) string {
	m := int(max(d, 0) / time.Minute)
	switch {
	case m >= 24*60:
		return fmt.Sprintf("%dd%dh", m/(24*60), m%(24*60)/60)
	case m >= 60:
		return fmt.Sprintf("%dh%dm", m/60, m%60)
	}
	return fmt.Sprintf("%dm", m)
}

func printDetail(w io.Writer, d *api.Detail) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	field := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	field("ID", termSafe(d.ID))
	state := termSafe(d.State)
	if d.State == "held" {
		state += fmt.Sprintf(" (approvals %d of %d)", d.Approvals, d.Needed)
	}
	field("State", state)
	from := termSafe(d.From)
	if d.AuthUser != "" {
		from += " (user " + termSafe(d.AuthUser) + ")"
	}
	field("From", from)
	for i, r := range d.Rcpts {
		k := ""
		if i == 0 {
			k = "To"
		}
		v := termSafe(r.Addr)
		if r.Unknown {
			v += "  [unknown]"
		} else if r.Class != "" {
			v += "  [" + termSafe(r.Class) + "]"
		}
		field(k, v)
	}
	field("Subject", termSafe(d.Subject))
	zone := zoneOf(d.TimeZone)
	field("Received", zone.Minute(d.Received))
	if d.HoldExpires != nil {
		field("Expires", zone.Minute(*d.HoldExpires))
	}
	if d.HighRisk {
		field("High risk", "yes ("+termSafe(strings.Join(d.RiskWhy, ", "))+"): approve with --domain and the recipient's domain")
	}
	field("Size", fmt.Sprint(d.Size))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(d.Reasons) > 0 {
		fmt.Fprintln(w, "\nWhy held:")
		for _, r := range d.Reasons {
			mon := ""
			if r.Monitor {
				mon = " (monitor)"
			}
			fmt.Fprintf(w, "  %s: %s%s\n", termSafe(r.Rule), termSafe(r.Detail), mon)
			if r.Matched != "" {
				fmt.Fprintf(w, "    matched: %s\n", termSafe(r.Matched))
			}
		}
	}
	if len(d.Links) > 0 {
		fmt.Fprintln(w, "\nLinks (! = flagged):")
		for _, l := range d.Links {
			mark := " "
			if l.Flagged {
				mark = "!"
			}
			extra := ""
			if l.Provider != "" {
				extra = " (" + termSafe(l.Provider) + ")"
			}
			fmt.Fprintf(w, "  %s %s%s  [part %s]\n", mark, termSafe(l.URL), extra, termSafe(l.Part))
		}
	}
	if len(d.Attachments) > 0 {
		fmt.Fprintln(w, "\nAttachments:")
		for _, a := range d.Attachments {
			enc := ""
			if a.Encrypted {
				enc = "  [encrypted]"
			}
			fmt.Fprintf(w, "  %s  %s  %d bytes%s\n", termSafe(a.Filename), termSafe(a.ContentType), a.Size, enc)
		}
	}
	if len(d.Justifications) > 0 {
		fmt.Fprintln(w, "\nThe sender's explanation:")
		for _, j := range d.Justifications {
			fmt.Fprintf(w, "  %s  %s: %s\n", zone.Minute(j.At), termSafe(j.Actor), termSafe(j.Comment))
		}
	}
	fmt.Fprintln(w, "\nDecisions:")
	if len(d.Decisions) == 0 {
		fmt.Fprintln(w, "  none yet")
	}
	for _, x := range d.Decisions {
		nm := ""
		if x.NearMiss {
			nm = " [near miss]"
		}
		c := ""
		if x.Comment != "" {
			c = ": " + termSafe(x.Comment)
		}
		fmt.Fprintf(w, "  %s  %s  %s%s%s\n", zone.Minute(x.At), termSafe(x.Actor), termSafe(x.Kind), nm, c)
	}
	if d.BodyDeleted {
		fmt.Fprintln(w, "\nThe content has been destroyed (retention).")
	}
	for _, part := range d.Parts {
		name := ""
		if part.Filename != "" {
			name = " " + termSafe(part.Filename)
		}
		fmt.Fprintf(w, "\n--- part %s %s%s\n", termSafe(part.Path), termSafe(part.ContentType), name)
		if part.Text != "" {
			text := console.Printable(part.Text, true)
			fmt.Fprint(w, text)
			if !strings.HasSuffix(text, "\n") {
				fmt.Fprintln(w)
			}
			if part.Truncated {
				fmt.Fprintln(w, "[text truncated]")
			}
		}
	}
	return nil
}
