package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/app"
	"github.com/egressguard/egressguard/internal/config"
	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/tz"
)

// parseInterleaved parses flags that may come before, between or after
// positional arguments ("user add alice --role officer").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// displayZone is the zone the CLI shows times in: the config's
// time_zone once a command has loaded the config, else the local zone.
// It is set and read atomically: the tests run commands in parallel.
var displayZone cliZone

type cliZone struct{ p atomic.Pointer[tz.Zone] }

func (z *cliZone) set(zone tz.Zone) { z.p.Store(&zone) }

func (z *cliZone) get() tz.Zone {
	if p := z.p.Load(); p != nil {
		return *p
	}
	return tz.Zone{}
}

func (z *cliZone) Minute(t time.Time) string         { return z.get().Minute(t) }
func (z *cliZone) Second(t time.Time) string         { return z.get().Second(t) }
func (z *cliZone) Parse(s string) (time.Time, error) { return z.get().Parse(s) }

func loadConfig(path string) (*config.Config, error) {
	cfg, err := app.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	displayZone.set(cfg.Zone)
	return cfg, nil
}

func newLogger(cfg config.Log, stderr io.Writer) *zap.Logger {
	level, _ := zapcore.ParseLevel(cfg.Level)
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "ts"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if cfg.Format == "console" {
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(stderr), level), zap.AddCaller())
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("serve", stderr)
	shutdown := fs.Duration("shutdown-timeout", 30*time.Second, "how long in-flight sessions and deliveries may take to finish on SIGTERM")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	defer log.Sync()
	log.Info("config loaded", zap.String("file", *cfgPath))
	if limit, set := memoryLimit(int64(cfg.SMTP.MemoryBudget)); set {
		log.Info("Go memory limit set from smtp.memory_budget", zap.Int64("bytes", limit), zap.Int("gc_percent", gcPercent()))
	}
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		a.Close(context.Background())
		return err
	}
	// For the person at the terminal; logs stay JSON on standard error.
	fmt.Fprint(stdout, a.Banner(version))
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			log.Info("signal received, shutting down", zap.Duration("timeout", *shutdown))
			break loop
		case runErr = <-a.Err():
			log.Error("fatal error, shutting down", zap.Error(runErr))
			break loop
		case <-hup:
			// A bad file is refused and the running config stays.
			ncfg, err := app.LoadConfig(*cfgPath)
			if err == nil {
				err = a.Reload(ctx, ncfg, *cfgPath)
			}
			if err != nil {
				log.Error("config reload refused; the running config stays", zap.Error(err))
			}
		}
	}
	cctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	if err := a.Close(cctx); err != nil {
		log.Warn("shutdown incomplete", zap.Error(err))
	}
	log.Info("stopped")
	return runErr
}

func cmdConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: egressguard config check [--config FILE]")
		return exitError{2}
	}
	fs, cfgPath := newFlags("config check", stderr)
	if _, err := parseInterleaved(fs, args[1:]); err != nil {
		return err
	}
	if _, err := app.LoadConfig(*cfgPath); err != nil {
		fmt.Fprintln(stderr, err)
		return exitError{1}
	}
	fmt.Fprintf(stdout, "%s: ok\n", *cfgPath)
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("check", stderr)
	from := fs.String("from", "", "envelope sender `ADDR`")
	var to multiFlag
	fs.Var(&to, "to", "envelope recipient `ADDR` (repeat for several)")
	user := fs.String("user", "", "authenticated user name, if the rules should see one")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || len(to) == 0 {
		fmt.Fprintln(stderr, "usage: egressguard check [--config FILE] --from ADDR --to ADDR [--to ADDR ...] FILE.eml")
		return exitError{2}
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	var data []byte
	if pos[0] == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(pos[0])
	}
	if err != nil {
		return err
	}
	// The same judge as serve's, with the live allowlist of the store.
	judge, note, done, err := app.CheckJudge(cfg, zap.NewNop(), time.Now)
	if err != nil {
		return err
	}
	defer done()
	if note != "" {
		fmt.Fprintln(stderr, "egressguard check: warning: "+note)
	}
	env := &envelope.Envelope{ID: "dry-run", Received: time.Now().UTC(), AuthUser: *user, From: *from}
	for _, t := range to {
		env.Rcpts = append(env.Rcpts, envelope.Rcpt{Addr: t})
	}
	j := judge.Judge(env, data)
	// Printed with sorted keys, as before the verdict became a type.
	fields, err := j.Verdict.Fields()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(fields)
}

// withStore opens the configured store for the account and listing commands.
func withStore(cfgPath string, stderr io.Writer, fn func(st store.Store) error) error {
	return withConfigStore(cfgPath, stderr, func(_ *config.Config, st store.Store) error { return fn(st) })
}

// withConfigStore is withStore for commands that need the config too.
func withConfigStore(cfgPath string, stderr io.Writer, fn func(cfg *config.Config, st store.Store) error) error {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Path(cfg.DataDir), 0o700); err != nil {
		return err
	}
	log := zap.NewNop()
	st, err := app.OpenStore(cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(cfg, st)
}

func readPassword(stdin bool, prompt string, stderr io.Writer) (string, error) {
	if !stdin && term.IsTerminal(int(syscall.Stdin)) {
		fmt.Fprint(stderr, prompt)
		b, err := term.ReadPassword(int(syscall.Stdin))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "again: ")
		b2, err := term.ReadPassword(int(syscall.Stdin))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(b) != string(b2) {
			return "", errors.New("the passwords differ")
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("reading password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func cmdUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = `usage:
  egressguard user add NAME [--role sender|officer|admin ...] [--address ADDR ...] [--password-stdin]
  egressguard user list [--json]
  egressguard user passwd NAME [--password-stdin]
  egressguard user disable NAME
  egressguard user enable NAME`
	if len(args) == 0 {
		fmt.Fprintln(stderr, use)
		return exitError{2}
	}
	sub := args[0]
	fs, cfgPath := newFlags("user "+sub, stderr)
	var roles, addrs multiFlag
	pwStdin, asJSON := new(bool), new(bool)
	switch sub {
	case "add":
		fs.Var(&roles, "role", "role `ROLE` (sender, officer, admin; repeat for several; default sender)")
		fs.Var(&addrs, "address", "envelope sender `ADDR` the user may use (repeat for aliases)")
		fs.BoolVar(pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	case "passwd":
		fs.BoolVar(pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	case "list":
		fs.BoolVar(asJSON, "json", false, "print the accounts as JSON")
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
		fmt.Fprintln(stderr, use)
		return exitError{2}
	}
	return withStore(*cfgPath, stderr, func(st store.Store) error {
		acc := account.New(st, 0)
		switch sub {
		case "add":
			pw, err := readPassword(*pwStdin, "password: ", stderr)
			if err != nil {
				return err
			}
			if _, err := acc.Add(ctx, cliActor(), pos[0], pw, roles, addrs); err != nil {
				if errors.Is(err, store.ErrExists) {
					return fmt.Errorf("user %q already exists (see 'egressguard user list')", strings.ToLower(pos[0]))
				}
				return err
			}
			fmt.Fprintf(stdout, "user %s added\n", strings.ToLower(pos[0]))
		case "passwd":
			pw, err := readPassword(*pwStdin, "new password: ", stderr)
			if err != nil {
				return err
			}
			if err := acc.SetPassword(ctx, cliActor(), pos[0], pw); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "password of %s changed\n", strings.ToLower(pos[0]))
		case "disable", "enable":
			if err := acc.SetDisabled(ctx, cliActor(), pos[0], sub == "disable"); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "user %s %sd\n", strings.ToLower(pos[0]), sub)
		case "list":
			users, err := acc.List(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				type jsonUser struct {
					Name      string   `json:"name"`
					Roles     []string `json:"roles"`
					Addresses []string `json:"addresses"`
					Disabled  bool     `json:"disabled"`
				}
				out := []jsonUser{}
				for _, u := range users {
					out = append(out, jsonUser{u.Name, u.Roles, u.Addresses, u.Disabled})
				}
				return printJSON(stdout, out)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLES\tADDRESSES\tSTATUS")
			for _, u := range users {
				status := "active"
				if u.Disabled {
					status = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, strings.Join(u.Roles, ","), strings.Join(u.Addresses, ","), status)
			}
			return tw.Flush()
		default:
			fmt.Fprintln(stderr, use)
			return exitError{2}
		}
		return nil
	})
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// cliActor names the person at the terminal in the audit log.
func cliActor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}

// memoryLimit sets the Go runtime's soft memory limit to four times the
// memory budget (at least 128 MiB), unless GOMEMLIMIT says otherwise: the
// collector then returns the garbage of large messages (bodies read back,
// inspected, stored in chunks and streamed to delivery) before the heap
// doubles, which keeps the process's peak near what is live. A soft
// limit: a process that needs more gets it, with more collection.
//
// Under that limit the collector may also wait longer between cycles:
// unless GOGC is set, it runs when the heap has grown by four times what
// is live (GOGC=400) rather than by as much again. Inspecting a 100 KB
// spreadsheet leaves a few megabytes of garbage, so with the default the
// collector ran every message or two and took a quarter of the CPU; the
// limit still bounds the heap when much is live.
func memoryLimit(budget int64) (int64, bool) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	limit := max(4*budget, 128<<20)
	debug.SetMemoryLimit(limit)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	return limit, true
}

// gcPercent is the collector's GOGC setting.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}
