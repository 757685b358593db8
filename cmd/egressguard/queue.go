package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/egressguard/egressguard/internal/outbound"
	"github.com/egressguard/egressguard/internal/store"
)

// cmdQueue shows the delivery queue with the claims and their owners, and
// releases the claims of an instance by hand.
func cmdQueue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = `usage:
  egressguard queue [--config FILE] [--json]
      the instances sharing the store (alive or not, their claims) and the
      messages being delivered, with their owners
  egressguard queue release --instance NAME [--force] [--config FILE]
      return NAME's claims to the queue at once (audited); refused while
      NAME is alive unless --force`
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs, cfgPath := newFlags("queue "+sub, stderr)
	asJSON, instance, force := new(bool), new(string), new(bool)
	switch sub {
	case "":
		fs.BoolVar(asJSON, "json", false, "print JSON")
	case "release":
		fs.StringVar(instance, "instance", "", "instance `NAME` whose claims to release")
		fs.BoolVar(force, "force", false, "release even if the instance is alive")
	}
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	switch sub {
	case "":
		return withStore(*cfgPath, stderr, func(st store.Store) error {
			return showQueue(ctx, st, *asJSON, stdout)
		})
	case "release":
		if *instance == "" {
			fmt.Fprintln(stderr, use)
			return exitError{2}
		}
		return withStore(*cfgPath, stderr, func(st store.Store) error {
			if cl, ok := store.ClusterOf(st); ok && !*force {
				ins, err := cl.Instances(ctx)
				if err != nil {
					return err
				}
				for _, in := range ins {
					if in.Name == *instance && in.Live {
						return fmt.Errorf("instance %q is alive (process %d on %s): its attempts are running; use --force to release its claims anyway (its mail may then be sent twice)", in.Name, in.PID, in.Host)
					}
				}
			}
			n, err := outbound.ReleaseClaims(st, *instance, cliActor(), "released by an operator", time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d claims of %s returned to the queue\n", n, *instance)
			return nil
		})
	}
	fmt.Fprintln(stderr, use)
	return exitError{2}
}

type queueView struct {
	Instances []instanceView `json:"instances"`
	Claims    []claimView    `json:"claims"`
	Queued    int            `json:"queued"`
}

type instanceView struct {
	Name        string     `json:"name"`
	Live        bool       `json:"live"`
	Registered  bool       `json:"registered"`
	Host        string     `json:"host,omitempty"`
	PID         int        `json:"pid,omitempty"`
	Started     *time.Time `json:"started,omitempty"`
	Seen        *time.Time `json:"seen,omitempty"`
	Claims      int        `json:"claims"`
	OldestClaim *time.Time `json:"oldest_claim,omitempty"`
}

type claimView struct {
	ID       string    `json:"id"`
	Owner    string    `json:"owner"`
	Attempts int       `json:"attempts"`
	Until    time.Time `json:"claimed_until"`
	From     string    `json:"from"`
	Rcpts    int       `json:"rcpts"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func showQueue(ctx context.Context, st store.Store, asJSON bool, stdout io.Writer) error {
	var v queueView
	if cl, ok := store.ClusterOf(st); ok {
		ins, err := cl.Instances(ctx)
		if err != nil {
			return err
		}
		for _, in := range ins {
			v.Instances = append(v.Instances, instanceView{Name: in.Name, Live: in.Live, Registered: in.Registered,
				Host: in.Host, PID: in.PID, Started: timePtr(in.Started), Seen: timePtr(in.Seen),
				Claims: in.Claims, OldestClaim: timePtr(in.OldestClaim)})
		}
	}
	ms, err := st.List(ctx, store.Filter{States: []store.State{store.Sending}, Ascending: true})
	if err != nil {
		return err
	}
	for _, m := range ms {
		v.Claims = append(v.Claims, claimView{ID: m.ID, Owner: m.Owner, Attempts: m.Attempts, Until: m.NextAttempt, From: m.From, Rcpts: len(m.Rcpts)})
	}
	counts, err := st.Count(ctx)
	if err != nil {
		return err
	}
	v.Queued = counts[store.Queued]
	if asJSON {
		if v.Instances == nil {
			v.Instances = []instanceView{}
		}
		if v.Claims == nil {
			v.Claims = []claimView{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if len(v.Instances) > 0 {
		fmt.Fprintln(tw, "INSTANCE\tSTATE\tHOST\tPID\tLAST SEEN\tCLAIMS\tOLDEST CLAIM")
		for _, in := range v.Instances {
			state := "alive"
			switch {
			case !in.Registered:
				state = "unknown (never joined)"
			case !in.Live:
				state = "dead"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", in.Name, state, dash(in.Host), dashInt(in.PID),
				localTime(in.Seen), in.Claims, age(in.OldestClaim))
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "%d queued, %d being delivered\n", v.Queued, len(v.Claims))
	if len(v.Claims) > 0 {
		fmt.Fprintln(tw, "ID\tOWNER\tATTEMPT\tCLAIMED UNTIL\tFROM\tRCPTS")
		for _, c := range v.Claims {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\n", c.ID, c.Owner, c.Attempts, localTime(&c.Until), dash(c.From), c.Rcpts)
		}
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dashInt(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func localTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return displayZone.Second(*t)
}

func age(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return time.Since(*t).Round(time.Second).String()
}
