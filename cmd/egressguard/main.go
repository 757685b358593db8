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
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/egressguard/egressguard/internal/config"
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
}

func commands() []command {
	return []command{
		{"serve", "run the guard", cmdServe},
		{"config", "config check: validate a config file", cmdConfig},
		{"check", "dry-run: print the verdict for a message file", cmdCheck},
		{"user", "manage accounts: add, list, passwd, disable, enable", cmdUser},
		{"held", "held mail: list, show, approve, reject, withdraw (through the API)", cmdHeld},
		{"token", "API tokens: create, list, revoke", cmdToken},
		{"allow", "allowlist: list, add, remove, import, export", cmdAllow},
		{"correspondents", "who received delivered mail: import (Postfix log, CSV), show DOMAIN", cmdCorrespondents},
		{"audit", "audit verify | export | keygen: check or export the audit chain", cmdAudit},
		{"queue", "delivery queue: claims and their owners; release a dead instance's claims", cmdQueue},
		{"incident", "incident records: list, show, export", cmdIncident},
		{"keygen", "print a new key line for the body key file", cmdKeygen},
		{"version", "print the version", func(_ context.Context, _ []string, out, _ io.Writer) error {
			fmt.Fprintln(out, "egressguard", version)
			return nil
		}},
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
		err := c.run(ctx, args[1:], stdout, stderr)
		var ee exitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.code
		case errors.Is(err, flag.ErrHelp):
			return 2
		default:
			fmt.Fprintln(stderr, "egressguard:", err)
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
