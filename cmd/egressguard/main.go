// Command egressguard is an outbound mail guard: an SMTP relay that holds
// suspicious outgoing mail, such as file-share links to unknown recipients,
// until a second person approves it.
//
// Usage:
//
//	egressguard serve [--config FILE]
//	egressguard config check [--config FILE]
//	egressguard check [--config FILE] --from ADDR --to ADDR [--to ADDR ...] FILE.eml
//	egressguard user add|list|passwd|disable|enable ...
//	egressguard held list|show|approve|reject|withdraw ...
//	egressguard token create|list|revoke ...
//	egressguard allow list|add|remove|import|export ...
//	egressguard correspondents import|show ...
//	egressguard audit verify|export|keygen ...
//	egressguard queue [release --instance NAME] ...
//	egressguard incident list|show|export ...
//	egressguard keygen [--id N]
//	egressguard version
//
// Administration runs on the server host and goes through the store, the
// same road for every admin command (user, token, allow, correspondents,
// audit, queue, incident): each loads the config (app.LoadConfig), opens
// the store (app.OpenStore) and calls the package the console calls too
// (account, allowlist, audit, incident, outbound), which writes the audit
// entry. So administration works with the console off, and the host's file
// permissions on the config and its key files are what authorise it.
//
// The one exception is `held`: approving, rejecting and justifying are
// decisions of a person, under the four-eyes rule, so they are made as
// that person, authenticated by their own API token, through the
// console's JSON API (internal/api holds its types).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/egressguard/egressguard/internal/config"
	"github.com/egressguard/egressguard/internal/store"
	buildversion "github.com/egressguard/egressguard/internal/version"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries an exit code through the command functions.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	group bool // has subcommands; run with no arguments prints their usage
}

func isHelp(a string) bool { return a == "-h" || a == "--help" || a == "-help" || a == "help" }

func commands() []command {
	return []command{
		{"serve", "run the guard", cmdServe, false},
		{"config", "config check: validate a config file", cmdConfig, true},
		{"check", "dry-run: print the verdict for a message file", cmdCheck, false},
		{"user", "manage accounts: add, list, passwd, disable, enable", cmdUser, true},
		{"held", "held mail: list, show, approve, reject, withdraw (through the API)", cmdHeld, true},
		{"token", "API tokens: create, list, revoke", cmdToken, true},
		{"allow", "allowlist: list, add, remove, import, export", cmdAllow, true},
		{"correspondents", "who received delivered mail: import (Postfix log, CSV), show DOMAIN", cmdCorrespondents, true},
		{"audit", "audit verify | export | keygen: check or export the audit chain", cmdAudit, true},
		{"queue", "delivery queue: claims and their owners; release a dead instance's claims", cmdQueue, false},
		{"incident", "incident records: list, show, export", cmdIncident, true},
		{"keygen", "print a new key line for the body key file", cmdKeygen, false},
		{"version", "print the version and the commit it was built from", cmdVersion, false},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: egressguard COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nRun 'egressguard COMMAND -h' for a command's flags.")
}

func main() {
	if version != "dev" {
		buildversion.Version = version
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		if len(args) == 2 && isHelp(args[1]) && c.group {
			// "held --help": the command's own usage, on stdout, exit 0.
			c.run(ctx, nil, stdout, stdout)
			return 0
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ee exitError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0 // asked for with -h or --help; the flags were printed
		case errors.As(err, &ee):
			return ee.code
		default:
			fmt.Fprintln(stderr, "egressguard:", userError(err))
			return 1
		}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "egressguard: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

// userError words an error for the terminal: the store's sentinels in
// words, never SQL or a Go type.
func userError(err error) error {
	switch {
	case errors.Is(err, store.ErrExists):
		return errors.New(strings.TrimPrefix(trimSentinel(err, store.ErrExists), "") + "already exists")
	case errors.Is(err, store.ErrNotFound):
		return errors.New(trimSentinel(err, store.ErrNotFound) + "not found")
	case errors.Is(err, store.ErrFull):
		return errors.New("the store is full (disk or quota): free space and try again")
	case errors.Is(err, store.ErrClosed), errors.Is(err, context.DeadlineExceeded):
		return errors.New("the store did not answer in time: is the database running?")
	}
	return err
}

// trimSentinel keeps what an error says before its sentinel: `user
// "alice": store: already exists` → `user "alice": `.
func trimSentinel(err, sentinel error) string {
	msg, s := err.Error(), sentinel.Error()
	if i := strings.LastIndex(msg, s); i >= 0 {
		return msg[:i]
	}
	return ""
}

// newFlags returns a flag set that reports errors instead of exiting, with
// the --config flag every command shares.
func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("egressguard "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := fs.String("config", defaultConfig(), "config `FILE` (default from $EGRESSGUARD_CONFIG if set)")
	return fs, cfg
}

// defaultConfig is the config file used without --config: the one
// EGRESSGUARD_CONFIG names (the container image and the systemd unit set
// it, so that every command finds the service's config), else the example.
func defaultConfig() string {
	if p := os.Getenv("EGRESSGUARD_CONFIG"); p != "" {
		return p
	}
	return config.DefaultPath
}

func cmdVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("egressguard version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the build as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	v := buildversion.Get()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	fmt.Fprintln(stdout, "egressguard", v)
	return nil
}
