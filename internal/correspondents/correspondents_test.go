package correspondents

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/lookalike"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlite"
)

var now = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func TestParsePostfix(t *testing.T) {
	f, err := os.Open("testdata/maillog")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []Delivery
	n, err := ParsePostfix(f, now, func(d Delivery) error { got = append(got, d); return nil })
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339Nano, s); return t.UTC() }
	want := []Delivery{
		{"Taro@Example.JP", "yamada@partner.co.jp", at("2026-11-30T09:00:02Z")},
		{"Taro@Example.JP", "suzuki@partner.co.jp", at("2026-11-30T09:00:02Z")},
		{"hanako@example.jp", "yamada@partner.co.jp", at("2026-11-30T09:05:01Z")},
		{"hanako@example.jp", "boss@example.jp", at("2026-11-30T09:05:01Z")},
		{"", "taro@somewhere.example", at("2026-11-30T09:07:01Z")},
		{"taro@example.jp", "client@xn--bcher-kva.example", at("2026-11-30T01:00:01.5Z")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	if n != 17 {
		t.Errorf("%d lines read, want 17", n)
	}
	// A December log read in January belongs to the previous year.
	var d Delivery
	ParsePostfix(strings.NewReader("Dec 31 23:59:00 mx postfix/qmgr[1]: ABCDE12345: from=<a@example.jp>, size=1\nDec 31 23:59:01 mx postfix/smtp[2]: ABCDE12345: to=<b@x.example>, status=sent (ok)\n"),
		time.Date(2027, 1, 1, 8, 0, 0, 0, time.UTC), func(x Delivery) error { d = x; return nil })
	if d.At.Year() != 2026 {
		t.Errorf("year rollover: %v", d.At)
	}
}

func TestParseCSV(t *testing.T) {
	in := "sender,recipient,time\n" +
		"taro@example.jp, yamada@partner.co.jp, 2026-11-01T09:00:00+09:00\n" +
		"taro@example.jp,suzuki@partner.co.jp\n" +
		"\"hanako@example.jp\",\"c@client.example\",2026-10-01\n"
	var got []Delivery
	n, err := ParseCSV(strings.NewReader(in), now, func(d Delivery) error { got = append(got, d); return nil })
	if err != nil || n != 3 {
		t.Fatalf("ParseCSV: %d, %v", n, err)
	}
	want := []Delivery{
		{"taro@example.jp", "yamada@partner.co.jp", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"taro@example.jp", "suzuki@partner.co.jp", now},
		{"hanako@example.jp", "c@client.example", time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A message-trace export: columns by name, others ignored.
	trace := "\ufeff\"Received\",\"SenderAddress\",\"RecipientAddress\",\"Subject\",\"Status\"\n" +
		"\"11/30/2026 9:15:02 AM\",\"taro@example.jp\",\"yamada@partner.co.jp\",\"見積\",\"Delivered\"\n" +
		"\"11/30/2026 9:16:00 AM\",\"taro@example.jp\",\"nobody@gone.example\",\"見積\",\"Failed\"\n"
	got = nil
	if _, err := ParseCSV(strings.NewReader(trace), now, func(d Delivery) error { got = append(got, d); return nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Delivery{{"taro@example.jp", "yamada@partner.co.jp", time.Date(2026, 11, 30, 9, 15, 2, 0, time.UTC)}}, got); diff != "" {
		t.Errorf("message trace (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"a@x.example\n", "a@x.example,b@y.example,yesterday\n", "a@x.example,b@y.example,1,2\n", "a@x.example,\"b\n"} {
		if _, err := ParseCSV(strings.NewReader(bad), now, func(Delivery) error { return nil }); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("ParseCSV(%q) = %v, want an error naming line 1", bad, err)
		}
	}
}

func open(t *testing.T) (store.Store, *Service) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "eg.db"), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(st, zaptest.NewLogger(t), Options{
		Internal: func(a string) bool { return strings.HasSuffix(a, "@example.jp") },
		Now:      func() time.Time { return now },
	})
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st, s
}

func TestImportAndContacted(t *testing.T) {
	st, s := open(t)
	ctx := context.Background()
	f, err := os.Open("testdata/maillog")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stats, err := s.Import(ctx, "admin", "postfix", f)
	if err != nil {
		t.Fatal(err)
	}
	// boss@example.jp is internal, the null sender's bounce is not a
	// correspondence.
	if diff := cmp.Diff(ImportStats{Read: 17, Deliveries: 4, Skipped: 2, Pairs: 4, Domains: 2}, stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		sender, rcpt    string
		domain, address bool
	}{
		{"taro@example.jp", "yamada@partner.co.jp", true, true},
		{"hanako@example.jp", "suzuki@partner.co.jp", true, false},
		{"taro@example.jp", "client@xn--bcher-kva.example", true, true},
		{"taro@example.jp", "x@gone.example", false, false},
		{"taro@example.jp", "later@slow.example", false, false},
		{"", "yamada@partner.co.jp", true, false},
	} {
		d, a := s.Contacted(tc.sender, tc.rcpt, now)
		if d != tc.domain || a != tc.address {
			t.Errorf("Contacted(%s, %s) = %v, %v; want %v, %v", tc.sender, tc.rcpt, d, a, tc.domain, tc.address)
		}
	}
	// partner.co.jp got 3 deliveries: a regular correspondent; the IDN
	// domain only one.
	if m, ok := lookalike.Lookup("partner.jp", s.LookalikeIndex()); !ok || m.Trusted != "partner.co.jp" || m.Kind != lookalike.Correspondent {
		t.Errorf("partner.jp: %v %v", m, ok)
	}
	if s.LookalikeIndex().Len() != 1 {
		t.Errorf("index has %d domains, want 1", s.LookalikeIndex().Len())
	}
	es, _ := st.Audit(ctx, store.AuditFilter{})
	if len(es) != 1 || es[0].Action != "correspondents.import" || es[0].Actor != "admin" {
		t.Errorf("audit: %+v", es)
	}
	if _, err := s.Import(ctx, "admin", "mbox", strings.NewReader("")); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestRecordAndRefresh: a delivery recorded on this instance (or another
// sharing the store) counts at once for first contact, and enters the
// look-alike index at the next refresh.
func TestRecordAndRefresh(t *testing.T) {
	st, s := open(t)
	ctx := context.Background()
	m := &store.Message{Envelope: envelope.Envelope{From: "Taro@Example.jp", Rcpts: []envelope.Rcpt{
		{Addr: "A@Torihikisaki.com"}, {Addr: "boss@example.jp"}, {Addr: "bad@[192.0.2.1]"}, {Addr: "x@failed.example"}}}}
	for range 2 {
		if err := st.Update(ctx, func(tx store.Tx) error { return s.Delivered(tx, m, []int{0, 1, 2}, now) }); err != nil {
			t.Fatal(err)
		}
	}
	if d, a := s.Contacted("taro@example.jp", "a@torihikisaki.com", now); !d || !a {
		t.Errorf("recorded pair not known: %v %v", d, a)
	}
	if _, err := st.CorrespondentDomain(ctx, "example.jp"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("internal recipient recorded: %v", err)
	}
	if d, _ := s.Contacted("taro@example.jp", "x@failed.example", now); d {
		t.Error("a recipient not delivered to is known")
	}
	if s.LookalikeIndex().Len() != 0 {
		t.Error("index changed before the refresh")
	}
	if err := s.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := lookalike.Lookup("torihikisak.com", s.LookalikeIndex()); !ok {
		t.Error("regular correspondent not in the look-alike index after the refresh")
	}
}
