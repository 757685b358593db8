package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/allowlist"
	"github.com/egressguard/egressguard/internal/store"
)

// allowRecord is one entry in `allow export` and `allow import` (JSON Lines).
type allowRecord struct {
	ID       string   `json:"id,omitempty"`
	Value    string   `json:"value"`
	Kind     string   `json:"kind,omitempty"`
	Reason   string   `json:"reason"`
	AddedBy  string   `json:"added_by,omitempty"`
	Added    string   `json:"added,omitempty"`
	Expires  string   `json:"expires,omitempty"`
	Senders  []string `json:"senders,omitempty"`
	FreeMail bool     `json:"free_mail,omitempty"`
	Source   string   `json:"source,omitempty"`
}

func cmdAllow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = `usage:
  egressguard allow list [--json]
  egressguard allow add VALUE --reason TEXT [--expires 2027-03-31|720h] [--sender ADDR|DOMAIN ...] [--confirm-free-mail]
  egressguard allow remove ID [--why TEXT]
  egressguard allow import FILE     (JSON Lines as written by export, or one VALUE per line; "-" for stdin)
  egressguard allow export
VALUE: user@example.com (one address), example.com (the domain), .example.com (with subdomains).`
	if len(args) == 0 {
		fmt.Fprintln(stderr, use)
		return exitError{2}
	}
	sub := args[0]
	fs, cfgPath := newFlags("allow "+sub, stderr)
	reason, expires, why := new(string), new(string), new(string)
	confirm, asJSON := new(bool), new(bool)
	var senders multiFlag
	switch sub {
	case "add":
		fs.StringVar(reason, "reason", "", "why this recipient may receive share links (required)")
		fs.StringVar(expires, "expires", "", "expiry: a date, an RFC 3339 time, or a duration such as 720h")
		fs.BoolVar(confirm, "confirm-free-mail", false, "confirm allowing a whole free-mail domain")
		fs.Var(&senders, "sender", "limit the entry to mail from this sender `ADDR` or domain (repeat)")
	case "import":
		fs.StringVar(reason, "reason", "", "reason for lines that give none")
	case "remove":
		fs.StringVar(why, "why", "", "why the entry is removed")
	case "list":
		fs.BoolVar(asJSON, "json", false, "print the entries as JSON")
	}
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	need := map[string]int{"list": 0, "export": 0, "add": 1, "remove": 1, "import": 1}
	n, ok := need[sub]
	if !ok || len(pos) != n {
		fmt.Fprintln(stderr, use)
		return exitError{2}
	}
	return withStore(*cfgPath, stderr, func(st store.Store) error {
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		svc, err := allowlist.New(st, cfg.Policy.Allow, zap.NewNop(), allowlist.Options{})
		if err != nil {
			return err
		}
		switch sub {
		case "list":
			es, err := svc.List(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				out := []allowRecord{}
				for _, e := range es {
					out = append(out, toRecord(e))
				}
				return printJSON(stdout, out)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tENTRY\tKIND\tSCOPE\tEXPIRES\tADDED BY\tREASON")
			for _, e := range es {
				scope := "all senders"
				if len(e.Senders) > 0 {
					scope = strings.Join(e.Senders, ",")
				}
				exp := "never"
				if !e.Expires.IsZero() {
					exp = displayZone.Minute(e.Expires)
					if !e.Expires.After(time.Now()) {
						exp += " (expired)"
					}
				}
				entry := allowlist.Display(e.Kind, e.Value)
				if e.FreeMail {
					entry += " [FREE MAIL]"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, entry, e.Kind, scope, exp, e.AddedBy, oneLine(e.Reason, 50))
			}
			return tw.Flush()
		case "add":
			exp, err := parseExpiry(*expires)
			if err != nil {
				return err
			}
			e, err := svc.Add(ctx, cliActor(), allowlist.Entry{Value: pos[0], Reason: *reason, Expires: exp, Senders: senders, ConfirmFree: *confirm})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "added %s (%s) as %s\n", allowlist.Display(e.Kind, e.Value), e.Kind, e.ID)
		case "remove":
			if err := svc.Remove(ctx, cliActor(), pos[0], *why); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "removed %s\n", pos[0])
		case "export":
			es, err := svc.List(ctx)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(stdout)
			enc.SetEscapeHTML(false)
			for _, e := range es {
				if err := enc.Encode(toRecord(e)); err != nil {
					return err
				}
			}
		case "import":
			return importAllow(ctx, svc, pos[0], *reason, stdout, stderr)
		}
		return nil
	})
}

// toRecord is an entry as export and list --json write it.
func toRecord(e *store.AllowEntry) allowRecord {
	r := allowRecord{ID: e.ID, Value: allowlist.Display(e.Kind, e.Value), Kind: e.Kind, Reason: e.Reason, AddedBy: e.AddedBy,
		Senders: e.Senders, FreeMail: e.FreeMail, Source: e.Source}
	if e.Kind == store.AllowAddress || e.Kind == store.AllowDomain {
		r.Value = e.Value
	} else {
		r.Value = "." + e.Value
	}
	if !e.Added.IsZero() {
		r.Added = e.Added.UTC().Format(time.RFC3339)
	}
	if !e.Expires.IsZero() {
		r.Expires = e.Expires.UTC().Format(time.RFC3339)
	}
	return r
}

func parseExpiry(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("--expires %q: use a date (2027-03-31), an RFC 3339 time or a duration (720h)", s)
	}
	return t.Add(24 * time.Hour), nil // a date means "through that day"
}

// importAllow adds every entry of a file; config entries in the file
// (source "config") are skipped, and existing entries are reported, not
// duplicated. It stops at nothing: every line gets its own verdict.
func importAllow(ctx context.Context, svc *allowlist.Service, path, defaultReason string, stdout, stderr io.Writer) error {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	added, failed := 0, 0
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		var rec allowRecord
		if strings.HasPrefix(t, "{") {
			if err := json.Unmarshal([]byte(t), &rec); err != nil {
				fmt.Fprintf(stderr, "line %d: %v\n", line, err)
				failed++
				continue
			}
		} else {
			rec = allowRecord{Value: t, Reason: defaultReason}
		}
		if rec.Source == "config" {
			continue
		}
		var exp time.Time
		if rec.Expires != "" {
			var err error
			if exp, err = time.Parse(time.RFC3339, rec.Expires); err != nil {
				fmt.Fprintf(stderr, "line %d: expires: %v\n", line, err)
				failed++
				continue
			}
			if !exp.After(time.Now()) {
				fmt.Fprintf(stderr, "line %d: %s expired on %s; skipped\n", line, rec.Value, rec.Expires)
				continue
			}
		}
		_, err := svc.Add(ctx, cliActor(), allowlist.Entry{Value: rec.Value, Reason: rec.Reason, Expires: exp, Senders: rec.Senders, ConfirmFree: rec.FreeMail})
		switch {
		case errors.Is(err, allowlist.ErrExists):
			fmt.Fprintf(stderr, "line %d: %v (kept)\n", line, err)
		case err != nil:
			fmt.Fprintf(stderr, "line %d: %v\n", line, err)
			failed++
		default:
			added++
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d added, %d refused\n", added, failed)
	if failed > 0 {
		return exitError{1}
	}
	return nil
}

// oneLine makes untrusted text safe for a terminal table: control
// characters (escape sequences included) become spaces.
func oneLine(s string, max int) string {
	r := []rune(s)
	for i, c := range r {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			r[i] = ' '
		}
	}
	if len(r) > max {
		r = append(r[:max-1], '…')
	}
	return string(r)
}
