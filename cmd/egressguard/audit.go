package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/config"
	"github.com/egressguard/egressguard/internal/seal"
	"github.com/egressguard/egressguard/internal/store"
)

func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = `usage:
  egressguard audit verify [--config FILE] [--head CHECKPOINTS [--pubkey KEY]]
  egressguard audit export [--config FILE] [--since T] [--until T] [--msg ID] [--user U]
  egressguard audit keygen
T is a duration back from now ("24h", "7d"), RFC 3339 ("2026-11-01T00:00:00+09:00"),
or a date or time in the configured time_zone ("2026-11-01", "2026-11-01T09:00").
--head checks the database against the newest checkpoint in the file (audit.checkpoint_file):
entries up to it must all be there, unchanged. KEY is the public key "audit keygen" printed;
default: the one of audit.checkpoint_key_file.`
	if len(args) == 0 {
		fmt.Fprintln(stderr, use)
		return exitError{2}
	}
	sub := args[0]
	fs, cfgPath := newFlags("audit "+sub, stderr)
	since, until, msgID, user := new(string), new(string), new(string), new(string)
	head, pubkey := new(string), new(string)
	switch sub {
	case "export":
		fs.StringVar(since, "since", "", "entries at or after `T` (e.g. 24h: the last day)")
		fs.StringVar(until, "until", "", "entries before `T`")
		fs.StringVar(msgID, "msg", "", "entries about message `ID`")
		fs.StringVar(user, "user", "", "entries by `USER`")
	case "verify":
		fs.StringVar(head, "head", "", "verify against the newest checkpoint in `FILE`")
		fs.StringVar(pubkey, "pubkey", "", "public `KEY` of the checkpoints (ed25519:...)")
	}
	if _, err := parseInterleaved(fs, args[1:]); err != nil {
		return err
	}
	switch sub {
	case "keygen":
		line, public := audit.NewSigningKey()
		fmt.Fprintln(stdout, "# egressguard audit signing key (Ed25519); the file named by audit.checkpoint_key_file, mode 0600")
		fmt.Fprintln(stdout, "# public key, for audit verify --pubkey: "+public)
		fmt.Fprintln(stdout, line)
		fmt.Fprintln(stderr, "public key: "+public)
		return nil
	case "verify":
		var cp *audit.Checkpoint
		if *head != "" {
			var err error
			if cp, err = audit.ReadCheckpointFile(*head); err != nil {
				return fmt.Errorf("--head: %w", err)
			}
		}
		return withConfigStore(*cfgPath, stderr, func(cfg *config.Config, st store.Store) error {
			var (
				n   int64
				err error
			)
			if cp == nil {
				n, err = audit.Verify(ctx, st)
			} else {
				pub, perr := checkpointKey(cfg, *pubkey)
				if perr != nil {
					return perr
				}
				n, err = audit.VerifyHead(ctx, st, pub, cp)
			}
			var broken *audit.ErrBroken
			switch {
			case errors.As(err, &broken):
				fmt.Fprintf(stdout, "FAILED: %v (%d entries before it verified)\n", broken, n)
				return exitError{1}
			case errors.Is(err, audit.ErrCheckpoint):
				fmt.Fprintf(stdout, "FAILED: %v\n", err)
				return exitError{1}
			case err != nil:
				return err
			case cp != nil:
				fmt.Fprintf(stdout, "ok: %d entries verified; the chain reaches the checkpoint of entry %d\n", n, cp.Seq)
			default:
				fmt.Fprintf(stdout, "ok: %d entries verified\n", n)
			}
			return nil
		})
	case "export":
		f := store.AuditFilter{MsgID: *msgID, Actor: *user}
		return withStore(*cfgPath, stderr, func(st store.Store) error {
			// Times are read in the config's zone, known from here on.
			var err error
			if f.Since, err = parseTime(*since, time.Now()); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			if f.Until, err = parseTime(*until, time.Now()); err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			return exportAudit(ctx, st, f, stdout)
		})
	}
	fmt.Fprintln(stderr, use)
	return exitError{2}
}

// checkpointKey is the public key checkpoints are verified with: the one
// given, or that of the configured signing key.
func checkpointKey(cfg *config.Config, given string) (ed25519.PublicKey, error) {
	if given != "" {
		return audit.ParsePublicKey(given)
	}
	if cfg.Audit.CheckpointKeyFile == "" {
		return nil, errors.New("--head needs --pubkey or audit.checkpoint_key_file in the config")
	}
	priv, err := audit.LoadSigningKey(cfg.Path(cfg.Audit.CheckpointKeyFile))
	if err != nil {
		return nil, err
	}
	return priv.Public().(ed25519.PublicKey), nil
}

// parseTime reads a time for --since and --until: a duration back from
// now ("24h", "90m", "7d"), RFC 3339, or a date or time in the display zone.
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, ok := parseAgo(s); ok {
		return now.Add(-d), nil
	}
	return displayZone.Parse(s)
}

// parseAgo reads a positive Go duration, or whole days ("7d").
func parseAgo(s string) (time.Duration, bool) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, false
		}
		return time.Duration(days) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// exportAudit writes the entries f selects as JSON Lines, one
// api.AuditEntry each, as the console's audit API gives them.
func exportAudit(ctx context.Context, st store.Store, f store.AuditFilter, w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	const batch = 5000
	for {
		f.Limit = batch
		es, err := st.Audit(ctx, f)
		if err != nil {
			return err
		}
		for _, e := range es {
			data := json.RawMessage(e.Data)
			if !json.Valid(data) {
				data = json.RawMessage(`null`)
			}
			if err := enc.Encode(api.AuditEntry{Seq: e.Seq, At: e.At.UTC(), Actor: e.Actor, Action: e.Action,
				MsgID: e.MsgID, Data: data, Prev: hex.EncodeToString(e.Prev), Hash: hex.EncodeToString(e.Hash)}); err != nil {
				return err
			}
		}
		if len(es) < batch {
			return nil
		}
		f.AfterSeq = es[len(es)-1].Seq
	}
}

func cmdKeygen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("egressguard keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.Uint("id", uint(time.Now().Unix()), "key `ID` (the highest ID in the key file is the current key)")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	if *id == 0 || *id > 1<<32-1 {
		return errors.New("--id must be between 1 and 4294967295")
	}
	fmt.Fprintln(stdout, "# egressguard body key; append to the key file (mode 0600) named by store.key_file")
	fmt.Fprintln(stdout, seal.NewKeyLine(uint32(*id)))
	return nil
}
