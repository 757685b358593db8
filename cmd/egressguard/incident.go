package main

import (
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

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/incident"
	"github.com/egressguard/egressguard/internal/store"
)

const incidentUsage = `usage:
  egressguard incident list [--status S] [--json] [--config FILE]
  egressguard incident show ID [--json] [--config FILE]
  egressguard incident export ID [--format html|json] [--lang ja|en] [--out FILE] [--config FILE]

Incident records: mail that went to the wrong person, or nearly did, with
the report to the Personal Information Protection Commission and its
deadlines. Senders open them in the console (送信済みメール); officers edit
them there. Reading them here is audited as the person at the terminal.`

func cmdIncident(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdout, incidentUsage)
			return nil
		}
		fmt.Fprintln(stderr, incidentUsage)
		return exitError{2}
	}
	sub := args[0]
	fs, cfgPath := newFlags("incident "+sub, stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, incidentUsage) }
	asJSON := fs.Bool("json", false, "print JSON")
	status := fs.String("status", "", "only incidents in status `S` (open, preliminary_sent, final_sent, closed)")
	format := fs.String("format", "html", "export `FORMAT`: html (printable) or json")
	lang := fs.String("lang", "ja", "export language: ja or en")
	out := fs.String("out", "", "write the export to `FILE` instead of standard output")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	rules := incident.Rules{PreliminaryDays: cfg.Incident.PreliminaryDays, FinalDays: cfg.Incident.FinalDays, FinalDaysWrongful: cfg.Incident.FinalDaysWrongful}
	// The terminal acts with the store's own authority, as the account
	// commands do; the audit log names the operator.
	op := &store.User{Name: cliActor(), Roles: []string{account.RoleAdmin}}
	return withStore(*cfgPath, stderr, func(st store.Store) error {
		svc := incident.New(incident.Config{Rules: rules}, st, zap.NewNop())
		switch sub {
		case "list":
			var f []string
			if *status != "" {
				if !incident.Status(*status).Valid() {
					return fmt.Errorf("--status %q: want open, preliminary_sent, final_sent or closed", *status)
				}
				f = []string{*status}
			}
			ins, err := svc.List(ctx, op, f)
			if err != nil {
				return err
			}
			if *asJSON {
				if ins == nil {
					ins = []*incident.Incident{}
				}
				return writeJSON(stdout, ins)
			}
			if len(ins) == 0 {
				fmt.Fprintln(stdout, "no incidents")
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tKIND\tOPENED\tNEXT DEADLINE\tREPORTER\tSUBJECT")
			for _, in := range ins {
				next := "-"
				if in.Kind != incident.KindNearMiss {
					for _, d := range in.Deadlines(rules) {
						if !d.Done {
							next = d.En + " " + d.Due.Local().Format("2006-01-02 15:04 MST")
							break
						}
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, in.Status, in.Kind, in.Created.Local().Format("2006-01-02 15:04 MST"),
					next, in.Reporter, in.Facts.Subject)
			}
			return tw.Flush()
		case "show", "export":
			if len(pos) != 1 {
				fmt.Fprintln(stderr, incidentUsage)
				return exitError{2}
			}
			via := "cli"
			if sub == "export" {
				via = "export"
			}
			in, err := svc.Get(ctx, op, pos[0], via)
			if errors.Is(err, incident.ErrNotFound) {
				return fmt.Errorf("no incident %q", pos[0])
			}
			if err != nil {
				return err
			}
			w := stdout
			if *out != "" {
				f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			switch {
			case sub == "show" && *asJSON, sub == "export" && *format == "json":
				return writeJSON(w, in)
			case sub == "export" && *format == "html":
				if *lang != "en" && *lang != "ja" {
					return fmt.Errorf("--lang %q: want ja or en", *lang)
				}
				return incident.Print(w, in, rules, *lang, time.Now())
			case sub == "export":
				return fmt.Errorf("--format %q: want html or json", *format)
			}
			showIncident(w, in, rules)
			return nil
		}
		fmt.Fprintln(stderr, incidentUsage)
		return exitError{2}
	})
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func showIncident(w io.Writer, in *incident.Incident, rules incident.Rules) {
	t := func(x time.Time) string { return x.Local().Format("2006-01-02 15:04 MST") }
	fmt.Fprintf(w, "incident %s (%s), status %s, opened %s by %s\n", in.ID, in.Kind, in.Status, t(in.Created), in.Reporter)
	fmt.Fprintf(w, "message %s: %q from %s, received %s\n", in.MsgID, in.Facts.Subject, in.Facts.Sender, t(in.Facts.Received))
	for _, r := range in.Facts.Recipients {
		fmt.Fprintf(w, "  recipient %s (%s): %s\n", r.Addr, r.Class, r.Result)
	}
	for _, l := range in.Facts.Links {
		fmt.Fprintf(w, "  link %s (%s, %s, anyone with the link: %s)\n", l.URL, l.Provider, l.Scope, l.Anyone)
	}
	for _, a := range in.Facts.Attachments {
		fmt.Fprintf(w, "  attachment %s (%s, %d bytes, %d person records)\n", a.Name, a.Type, a.Size, a.Records)
	}
	if ok, why := in.Reportable(); ok {
		fmt.Fprintf(w, "reportable to the PPC: %s\n", why)
	}
	fmt.Fprintf(w, "aware since %s\n", t(in.Aware))
	for _, d := range in.Deadlines(rules) {
		state := "due"
		if d.Done {
			state = "sent"
		}
		fmt.Fprintf(w, "  %s (%s): %s, %s\n", d.En, d.Ja, t(d.Due), state)
	}
	done := 0
	for _, s := range in.Steps {
		if s.Done {
			done++
		}
	}
	fmt.Fprintf(w, "checklist: %d of %d steps done\n", done, len(in.Steps))
}
