package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/app"
	"github.com/egressguard/egressguard/internal/correspondents"
	"github.com/egressguard/egressguard/internal/policy"
	"github.com/egressguard/egressguard/internal/store"
)

func cmdCorrespondents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = `usage:
  egressguard correspondents import [--format postfix|csv] FILE   ("-" for stdin)
  egressguard correspondents show DOMAIN
The import seeds the record of who received delivered mail from whom, so
that on the first day not every recipient is a first contact:
  postfix  a Postfix mail log: status=sent deliveries, joined by queue ID
           with their from= line (the default)
  csv      sender,recipient[,time] lines; time RFC 3339 or "2006-01-02 15:04:05";
           or a header naming the columns (SenderAddress, RecipientAddress,
           Received …), as message-trace exports have`
	if len(args) == 0 {
		fmt.Fprintln(stderr, use)
		return exitError{2}
	}
	sub := args[0]
	fs, cfgPath := newFlags("correspondents "+sub, stderr)
	format := fs.String("format", "postfix", "input format: postfix or csv")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if (sub != "import" && sub != "show") || len(pos) != 1 {
		fmt.Fprintln(stderr, use)
		return exitError{2}
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	engine, err := app.PolicyEngine(cfg)
	if err != nil {
		return err
	}
	return withStore(*cfgPath, stderr, func(st store.Store) error {
		svc := correspondents.New(st, zap.NewNop(), correspondents.Options{
			MinMessages: cfg.Policy.Lookalike.CorrespondentMinMessages,
			Internal:    engine.IsInternal,
		})
		switch sub {
		case "import":
			var in io.Reader = os.Stdin
			if pos[0] != "-" {
				f, err := os.Open(pos[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			stats, err := svc.Import(ctx, cliActor(), *format, in)
			if err != nil {
				return fmt.Errorf("import %s: %w", pos[0], err)
			}
			fmt.Fprintf(stdout, "read %d, recorded %d deliveries (%d skipped: internal, bounces, unparseable) as %d sender→recipient pairs in %d domains\n",
				stats.Read, stats.Deliveries, stats.Skipped, stats.Pairs, stats.Domains)
			return nil
		default:
			_, d, ok := policy.NormalizeAddr("x@" + strings.TrimPrefix(pos[0], "@"))
			if !ok {
				return fmt.Errorf("%q is not a domain", pos[0])
			}
			cs, err := st.Correspondents(ctx, d)
			if err != nil {
				return err
			}
			if len(cs) == 0 {
				fmt.Fprintf(stdout, "%s: no delivered mail recorded (a first contact)\n", d)
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RECIPIENT\tSENDER\tFIRST\tLAST\tDELIVERIES")
			for _, c := range cs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", c.Rcpt, c.Sender, c.First.Local().Format(time.DateTime), c.Last.Local().Format(time.DateTime), c.Count)
			}
			return tw.Flush()
		}
	})
}
