package correspondents

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/policy"
	"github.com/egressguard/egressguard/internal/store"
)

// Delivery is one delivered message to one recipient, as a mail log
// tells it.
type Delivery struct {
	Sender string
	Rcpt   string
	At     time.Time
}

// maxLine bounds one log line; longer lines are skipped.
const maxLine = 64 << 10

// maxPending bounds the queue IDs whose sender is remembered while
// their deliveries are read; the oldest are forgotten beyond it.
const maxPending = 1 << 20

var (
	postfixQID  = regexp.MustCompile(`postfix(?:-[\w.-]+)?/[\w/.-]+\[\d+\]: ([0-9A-Za-z]{5,20}): (.*)$`)
	postfixFrom = regexp.MustCompile(`^from=<([^>]*)>`)
	postfixTo   = regexp.MustCompile(`^to=<([^>]*)>.*\bstatus=sent\b`)
)

// ParsePostfix reads a Postfix mail log and calls fn for each recipient
// delivered (status=sent), with the sender of its queue ID (the qmgr
// from= line). Lines in classic syslog form ("Dec  2 10:00:01") take the
// year from now (the previous year if that puts them in the future);
// lines that begin with an RFC 3339 time keep it. Other lines are
// skipped.
func ParsePostfix(r io.Reader, now time.Time, fn func(Delivery) error) (lines int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	from := map[string]string{}
	var order []string
	for {
		if !sc.Scan() {
			if errors.Is(sc.Err(), bufio.ErrTooLong) {
				// Skip the rest of an overlong line and go on.
				sc = bufio.NewScanner(r)
				sc.Buffer(make([]byte, 0, 64<<10), maxLine)
				continue
			}
			return lines, sc.Err()
		}
		lines++
		line := sc.Text()
		m := postfixQID.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		qid, rest := m[1], m[2]
		if f := postfixFrom.FindStringSubmatch(rest); f != nil {
			if _, seen := from[qid]; !seen {
				order = append(order, qid)
				if len(order) > maxPending {
					delete(from, order[0])
					order = order[1:]
				}
			}
			from[qid] = f[1]
			continue
		}
		if strings.HasPrefix(rest, "removed") {
			delete(from, qid)
			continue
		}
		t := postfixTo.FindStringSubmatch(rest)
		if t == nil {
			continue
		}
		sender, ok := from[qid]
		if !ok {
			continue
		}
		at, ok := logTime(line, now)
		if !ok {
			continue
		}
		if err := fn(Delivery{Sender: sender, Rcpt: t[1], At: at}); err != nil {
			return lines, err
		}
	}
}

// logTime reads the time at the start of a log line.
func logTime(line string, now time.Time) (time.Time, bool) {
	if sp := strings.IndexByte(line, ' '); sp > 0 {
		if t, err := time.Parse(time.RFC3339Nano, line[:sp]); err == nil {
			return t.UTC(), true
		}
	}
	if len(line) < 15 {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("Jan _2 15:04:05", line[:15], now.Location())
	if err != nil {
		return time.Time{}, false
	}
	t = t.AddDate(now.Year(), 0, 0)
	if t.After(now.Add(24 * time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t.UTC(), true
}

// ParseCSV reads "sender,recipient[,time]" records. A first record whose
// first field has no '@' is a header: when it names the columns (sender,
// from, senderaddress, mail_from; recipient, to, recipientaddress, rcpt;
// time, date, received, timestamp — in any case, spaces and underscores
// ignored), they are taken by name and other columns are ignored, so that
// a message-trace export (Microsoft 365's SenderAddress,
// RecipientAddress, Received, Status) reads as it is; with a status
// column only delivered rows count. Times are RFC 3339,
// "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006/01/02 15:04:05",
// "1/2/2006 3:04:05 PM" or "2006-01-02" (in now's location); a missing
// time is now. A record that cannot be read is an error naming its line.
func ParseCSV(r io.Reader, now time.Time, fn func(Delivery) error) (records int, err error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		br.Discard(3) // a byte-order mark, as spreadsheet exports write
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	sender, rcpt, when, status, named := 0, 1, 2, -1, false
	for n := 0; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return records, nil
		}
		if err != nil {
			// A *csv.ParseError names its line itself.
			return records, err
		}
		line, _ := cr.FieldPos(0)
		if n == 0 && len(rec) > 0 && !strings.Contains(rec[0], "@") {
			sender, rcpt, when, status, named = csvColumns(rec)
			continue
		}
		if !named && (len(rec) < 2 || len(rec) > 3) {
			return records, fmt.Errorf("line %d: want sender,recipient[,time], got %d fields", line, len(rec))
		}
		if sender >= len(rec) || rcpt >= len(rec) {
			return records, fmt.Errorf("line %d: %d fields, too few for the header's columns", line, len(rec))
		}
		if status >= 0 && status < len(rec) && !delivered(rec[status]) {
			continue // a trace's failed, pending or filtered message
		}
		d := Delivery{Sender: strings.TrimSpace(rec[sender]), Rcpt: strings.TrimSpace(rec[rcpt]), At: now.UTC()}
		if when >= 0 && when < len(rec) && strings.TrimSpace(rec[when]) != "" {
			t, ok := csvTime(strings.TrimSpace(rec[when]), now.Location())
			if !ok {
				return records, fmt.Errorf("line %d: time %q: use RFC 3339, \"2006-01-02 15:04:05\" or \"2006-01-02\"", line, rec[when])
			}
			d.At = t
		}
		records++
		if err := fn(d); err != nil {
			return records, err
		}
	}
}

// csvColumns finds the columns a header names; without both a sender and
// a recipient column the positions stay 0, 1, 2 and there is no status.
func csvColumns(header []string) (sender, rcpt, when, status int, named bool) {
	sender, rcpt, when, status = -1, -1, -1, -1
	for i, h := range header {
		h = strings.ToLower(strings.NewReplacer(" ", "", "_", "", "-", "").Replace(strings.TrimSpace(h)))
		switch h {
		case "sender", "from", "senderaddress", "mailfrom", "envelopefrom":
			if sender < 0 {
				sender = i
			}
		case "recipient", "to", "recipientaddress", "rcpt", "rcptto", "envelopeto":
			if rcpt < 0 {
				rcpt = i
			}
		case "time", "date", "received", "timestamp", "datetime", "sent":
			if when < 0 {
				when = i
			}
		case "status", "deliverystatus", "event", "result":
			if status < 0 {
				status = i
			}
		}
	}
	if sender < 0 || rcpt < 0 {
		return 0, 1, 2, -1, false
	}
	return sender, rcpt, when, status, true
}

// delivered reads a trace's status column: empty, or a word for a
// delivery.
func delivered(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "delivered", "sent", "relayed", "delivery", "success", "succeeded", "ok":
		return true
	}
	return false
}

func csvTime(s string, loc *time.Location) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006/01/02 15:04:05", "1/2/2006 3:04:05 PM", "1/2/2006 15:04:05", "2006-01-02", "2006/01/02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// ImportStats says what an import did.
type ImportStats struct {
	Read       int // log lines or CSV records read
	Deliveries int // deliveries recorded
	Skipped    int // deliveries not recorded (internal, unparseable, null sender)
	Pairs      int // distinct sender→recipient pairs written
	Domains    int // distinct recipient domains
}

// Import reads a Postfix log ("postfix") or CSV pairs ("csv") and adds
// what it finds to the correspondents record, in batches, with one audit
// entry by actor.
func (s *Service) Import(ctx context.Context, actor, format string, r io.Reader) (ImportStats, error) {
	var st ImportStats
	type key struct{ sender, rcpt string }
	agg := map[key]*store.Correspondent{}
	add := func(d Delivery) error {
		from, _, ok := policy.NormalizeAddr(d.Sender)
		if !ok {
			st.Skipped++
			return nil
		}
		c, ok := s.correspondent(from, d.Rcpt, d.At, d.At, 1)
		if !ok {
			st.Skipped++
			return nil
		}
		st.Deliveries++
		k := key{c.Sender, c.Rcpt}
		if old := agg[k]; old != nil {
			if c.First.Before(old.First) {
				old.First = c.First
			}
			if c.Last.After(old.Last) {
				old.Last = c.Last
			}
			old.Count++
			return nil
		}
		agg[k] = c
		return nil
	}
	var err error
	now := s.opts.Now()
	switch format {
	case "postfix":
		st.Read, err = ParsePostfix(r, now, add)
	case "csv":
		st.Read, err = ParseCSV(r, now, add)
	default:
		return st, fmt.Errorf("unknown format %q: postfix or csv", format)
	}
	if err != nil {
		return st, err
	}
	all := make([]*store.Correspondent, 0, len(agg))
	domains := map[string]bool{}
	for _, c := range agg {
		all = append(all, c)
		domains[c.Domain] = true
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Rcpt != all[j].Rcpt {
			return all[i].Rcpt < all[j].Rcpt
		}
		return all[i].Sender < all[j].Sender
	})
	st.Pairs, st.Domains = len(all), len(domains)
	const batch = 500
	for i := 0; i < len(all); i += batch {
		part := all[i:min(i+batch, len(all))]
		last := i+batch >= len(all)
		err := s.st.Update(ctx, func(tx store.Tx) error {
			for _, c := range part {
				if err := tx.AddCorrespondent(c); err != nil {
					return err
				}
			}
			if !last {
				return nil
			}
			_, err := audit.Append(tx, now.UTC(), audit.Event{Actor: actor, Action: audit.ActionCorrespondentsImport, Data: map[string]any{
				"format": format, "read": st.Read, "deliveries": st.Deliveries, "skipped": st.Skipped, "pairs": st.Pairs, "domains": st.Domains}})
			return err
		})
		if err != nil {
			return st, fmt.Errorf("after %d of %d pairs: %w", i, len(all), err)
		}
	}
	if len(all) == 0 {
		err := s.st.Update(ctx, func(tx store.Tx) error {
			_, err := audit.Append(tx, now.UTC(), audit.Event{Actor: actor, Action: audit.ActionCorrespondentsImport, Data: map[string]any{
				"format": format, "read": st.Read, "deliveries": 0, "skipped": st.Skipped, "pairs": 0, "domains": 0}})
			return err
		})
		if err != nil {
			return st, err
		}
	}
	return st, s.Load(ctx)
}
