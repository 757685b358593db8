package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/seal"
	"github.com/egressguard/egressguard/internal/store"
)

func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = `usage:
  egressguard audit verify [--config FILE]
  egressguard audit export [--config FILE] [--since T] [--until T] [--msg ID] [--user U]
T is a duration back from now ("24h", "7d"), RFC 3339 ("2026-11-01T00:00:00+09:00"),
or a date or time in the configured time_zone ("2026-11-01", "2026-11-01T09:00").`
	if len(args) == 0 {
		fmt.Fprintln(stderr, use)
		return exitError{2}
	}
	sub := args[0]
	fs, cfgPath := newFlags("audit "+sub, stderr)
	since, until, msgID, user := new(string), new(string), new(string), new(string)
	if sub == "export" {
		fs.StringVar(since, "since", "", "entries at or after `T` (e.g. 24h: the last day)")
		fs.StringVar(until, "until", "", "entries before `T`")
		fs.StringVar(msgID, "msg", "", "entries about message `ID`")
		fs.StringVar(user, "user", "", "entries by `USER`")
	}
	if _, err := parseInterleaved(fs, args[1:]); err != nil {
		return err
	}
	switch sub {
	case "verify":
		return withStore(*cfgPath, stderr, func(st store.Store) error {
			n, err := audit.Verify(ctx, st)
			var broken *audit.ErrBroken
			if errors.As(err, &broken) {
				fmt.Fprintf(stdout, "FAILED: %v (%d entries before it verified)\n", broken, n)
				return exitError{1}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "ok: %d entries verified\n", n)
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

// auditLine is one exported entry, JSON Lines.
type auditLine struct {
	Seq    int64           `json:"seq"`
	At     string          `json:"at"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"`
	MsgID  string          `json:"msg_id,omitempty"`
	Data   json.RawMessage `json:"data"`
	Prev   string          `json:"prev"`
	Hash   string          `json:"hash"`
}

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
			if err := enc.Encode(auditLine{Seq: e.Seq, At: e.At.UTC().Format(time.RFC3339Nano), Actor: e.Actor, Action: e.Action,
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
