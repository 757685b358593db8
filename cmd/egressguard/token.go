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

	"github.com/egressguard/egressguard/internal/console"
	"github.com/egressguard/egressguard/internal/store"
)

const tokenUsage = `usage:
  egressguard token create --user NAME [--name LABEL] [--expires DURATION] [--config FILE]
  egressguard token list --user NAME [--config FILE]
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
	fs.Usage = func() { fmt.Fprintln(stderr, tokenUsage) }
	name := fs.String("user", "", "the token acts as user `NAME`")
	label := fs.String("name", "", "a `LABEL` to recognise the token by (e.g. the machine it is for)")
	expires := fs.Duration("expires", 720*time.Hour, "lifetime (0: never expires)")
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
			tok, t, err := console.CreateToken(ctx, st, actor, strings.ToLower(strings.TrimSpace(*name)), *label, until, now)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, tok)
			exp := "never expires"
			if !t.Expires.IsZero() {
				exp = "expires " + t.Expires.Local().Format(time.DateTime)
			}
			fmt.Fprintf(stderr, "token %s for %s, %s. It is shown only now: store it as EGRESSGUARD_TOKEN.\n", t.ID, t.User, exp)
		case "list":
			ts, err := st.Tokens(ctx, strings.ToLower(strings.TrimSpace(*name)))
			if err != nil {
				return err
			}
			slices.SortFunc(ts, func(a, b *store.Token) int { return a.Created.Compare(b.Created) })
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED\tEXPIRES")
			for _, t := range ts {
				exp := "never"
				if !t.Expires.IsZero() {
					exp = t.Expires.Local().Format(time.DateTime)
					if !now.Before(t.Expires) {
						exp += " (expired)"
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, termSafe(t.Name), t.Created.Local().Format(time.DateTime), exp)
			}
			return tw.Flush()
		case "revoke":
			t, err := console.RevokeToken(ctx, st, actor, strings.ToLower(pos[0]), now)
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
