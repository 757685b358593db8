package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/user"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/store"
)

const tokenUsage = `usage:
  egressguard token create --user NAME [--name LABEL] [--expires DURATION] [--config FILE]
  egressguard token list --user NAME [--json] [--config FILE]
  egressguard token revoke ID [--config FILE]

create prints the token once; only its SHA-256 (the ID) is stored.
--expires is a duration such as 720h (the default, 30 days); 0 never expires.`

func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, tokenUsage)
		return exitError{2}
	}
	sub := args[0]
	fs, cfgPath := newFlags("token "+sub, stderr)
	name, label, expires, asJSON := new(string), new(string), new(time.Duration), new(bool)
	*expires = 720 * time.Hour
	switch sub {
	case "create":
		fs.StringVar(name, "user", "", "the token acts as user `NAME`")
		fs.StringVar(label, "name", "", "a `LABEL` to recognise the token by (e.g. the machine it is for)")
		fs.DurationVar(expires, "expires", 720*time.Hour, "lifetime (0: never expires)")
	case "list":
		fs.StringVar(name, "user", "", "tokens of user `NAME`")
		fs.BoolVar(asJSON, "json", false, "print the tokens as JSON")
	}
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case (sub == "create" || sub == "list") && (len(pos) != 0 || *name == ""),
		sub == "revoke" && len(pos) != 1,
		sub != "create" && sub != "list" && sub != "revoke":
		fmt.Fprintln(stderr, tokenUsage)
		return exitError{2}
	}
	if *expires < 0 {
		return errors.New("--expires must not be negative")
	}
	actor := "cli"
	if u, err := user.Current(); err == nil {
		actor = "cli:" + u.Username
	}
	return withStore(*cfgPath, stderr, func(st store.Store) error {
		now := time.Now()
		switch sub {
		case "create":
			var until time.Time
			if *expires > 0 {
				until = now.Add(*expires)
			}
			tok, t, err := account.CreateToken(ctx, st, actor, strings.ToLower(strings.TrimSpace(*name)), *label, until, now)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, tok)
			exp := "never expires"
			if !t.Expires.IsZero() {
				exp = "expires " + displayZone.Minute(t.Expires)
			}
			fmt.Fprintf(stderr, "token %s for %s, %s. It is shown only now: store it as EGRESSGUARD_TOKEN.\n", t.ID, t.User, exp)
		case "list":
			ts, err := st.Tokens(ctx, strings.ToLower(strings.TrimSpace(*name)))
			if err != nil {
				return err
			}
			slices.SortFunc(ts, func(a, b *store.Token) int { return a.Created.Compare(b.Created) })
			if *asJSON {
				type jsonToken struct {
					ID      string     `json:"id"`
					User    string     `json:"user"`
					Name    string     `json:"name"`
					Created time.Time  `json:"created"`
					Expires *time.Time `json:"expires,omitempty"`
				}
				out := []jsonToken{}
				for _, t := range ts {
					jt := jsonToken{ID: t.ID, User: t.User, Name: t.Name, Created: t.Created.UTC()}
					if !t.Expires.IsZero() {
						e := t.Expires.UTC()
						jt.Expires = &e
					}
					out = append(out, jt)
				}
				return printJSON(stdout, out)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED\tEXPIRES")
			for _, t := range ts {
				exp := "never"
				if !t.Expires.IsZero() {
					exp = displayZone.Minute(t.Expires)
					if !now.Before(t.Expires) {
						exp += " (expired)"
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, termSafe(t.Name), displayZone.Minute(t.Created), exp)
			}
			return tw.Flush()
		case "revoke":
			t, err := account.RevokeToken(ctx, st, actor, strings.ToLower(pos[0]), now)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no token with ID %s (see 'egressguard token list --user NAME')", pos[0])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "token %s of %s revoked\n", t.ID, t.User)
		}
		return nil
	})
}
