package incident

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlite"
	"github.com/egressguard/egressguard/internal/verdict"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var (
	sender  = &store.User{Name: "sato", Roles: []string{"sender"}, Addresses: []string{"sato@example.jp"}}
	other   = &store.User{Name: "kato", Roles: []string{"sender"}, Addresses: []string{"kato@example.jp"}}
	officer = &store.User{Name: "olga", Roles: []string{"officer"}, Addresses: []string{"olga@example.jp"}}
)

const storedVerdict = `{"action":"pass","reasons":[],"links":[{"url":"https://drive.google.com/drive/folders/1AbCdEf?usp=sharing","provider":"Google Drive","kind":"saas"}],
"recipients":[{"addr":"yamada@gmial.com","class":"unknown"},{"addr":"suzuki@example.jp","class":"internal"}],"unknown":["yamada@gmial.com"],
"personal":{"records":9683,"files":[{"part":"2","file":"患者一覧.xlsx","records":9683,"kinds":["name","phone","birth_date"]}]}}`

func setup(t *testing.T) (*Service, store.Store, *clock, *[]hold.Notice) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "eg.db"), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	var sent []hold.Notice
	svc := New(Config{Now: c.Now, Reminder: func(in *Incident, d Deadline, overdue bool) []hold.Notice {
		n := hold.Notice{From: "guard@example.jp", To: []string{"dpo@example.jp"}, Data: []byte("Subject: reminder " + d.Key + "\r\n\r\nx\r\n")}
		sent = append(sent, n)
		return []hold.Notice{n}
	}}, st, zap.NewNop())
	v, err := verdict.Decode([]byte(storedVerdict))
	if err != nil {
		t.Fatal(err)
	}
	m := &store.Message{
		Envelope: envelope.Envelope{ID: "msg1", Received: c.Now().Add(-time.Hour), AuthUser: "sato", From: "sato@example.jp",
			Rcpts: []envelope.Rcpt{{Addr: "yamada@gmial.com"}, {Addr: "suzuki@example.jp"}}},
		State: store.Delivered, Updated: c.Now().Add(-50 * time.Minute), Subject: "患者一覧",
		Status:  []store.RcptStatus{{Done: true, Code: 250}, {Done: true, Code: 250}},
		Verdict: v, Action: verdict.Pass,
	}
	if err := st.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.InsertMessage(m, bytes.NewReader([]byte("x"))); err != nil {
			return err
		}
		_, err := audit.Append(tx, c.Now().Add(-30*time.Minute), audit.Event{Actor: "olga", Action: "message.view", MsgID: "msg1", Data: map[string]any{"via": "console"}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return svc, st, c, &sent
}

func TestOpenPrefilled(t *testing.T) {
	svc, st, _, _ := setup(t)
	ctx := context.Background()
	if _, err := svc.Open(ctx, other, "msg1", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("another sender opens an incident on sato's mail: %v", err)
	}
	in, err := svc.Open(ctx, sender, "msg1", "wrong autocomplete entry")
	if err != nil {
		t.Fatal(err)
	}
	f := in.Facts
	if len(f.Recipients) != 2 || f.Recipients[0].Result != "delivered" || f.Recipients[0].Class != "unknown" {
		t.Errorf("recipients: %+v", f.Recipients)
	}
	if len(f.Links) != 1 || f.Links[0].Scope != "folder" || f.Links[0].Anyone != "likely" || f.Links[0].Provider != "Google Drive" {
		t.Errorf("links: %+v", f.Links)
	}
	if f.PersonalRecords != 9683 || len(f.Viewers) != 0 {
		t.Errorf("records %d; the sender sees the viewers %+v", f.PersonalRecords, f.Viewers)
	}
	full, err := svc.Get(ctx, officer, in.ID, "console")
	if err != nil || len(full.Facts.Viewers) != 1 || full.Facts.Viewers[0].User != "olga" {
		t.Errorf("officer's view: %v viewers %+v", err, full.Facts.Viewers)
	}
	// Opening it again shows the same incident; another sender cannot.
	again, err := svc.Open(ctx, sender, "msg1", "")
	if err != nil || again.ID != in.ID {
		t.Errorf("second report of the same message: %v, %v (first %s)", err, again, in.ID)
	}
	if len(f.Attachments) != 1 || f.Attachments[0].Name != "患者一覧.xlsx" || f.Attachments[0].Records != 9683 {
		t.Errorf("attachments from the personal-data evidence: %+v", f.Attachments)
	}
	if !strings.Contains(in.Report.DataItems, "生年月日") {
		t.Errorf("data items: %q", in.Report.DataItems)
	}
	for _, want := range []string{"yamada@gmial.com", "患者一覧", "Google Drive"} {
		if !strings.Contains(in.Report.Summary, want) {
			t.Errorf("summary lacks %q: %s", want, in.Report.Summary)
		}
	}
	if !strings.Contains(in.Report.People, "9683") || !strings.Contains(in.Report.DataItems, "氏名") {
		t.Errorf("people %q items %q", in.Report.People, in.Report.DataItems)
	}
	var files bool
	for _, s := range in.Steps {
		if strings.HasSuffix(s.ID, "-files") && strings.Contains(s.Ja, "ファイルごと") {
			files = true
		}
	}
	if !files {
		t.Errorf("no step to check every file link in the folder: %+v", in.Steps)
	}
	if ok, why := in.Reportable(); !ok {
		t.Errorf("9,683 records not reportable (%s)", why)
	}
	ds := in.Deadlines(svc.Rules())
	// Aware 2026-12-01 19:00 JST (10:00 UTC): day 1 is 1 December, so the
	// preliminary report is due at the end of 5 December and the final
	// one at the end of 30 December, Japan time.
	if want := time.Date(2026, 12, 6, 0, 0, 0, 0, jst); !ds[0].Due.Equal(want) {
		t.Errorf("preliminary deadline %v; want %v", ds[0].Due, want)
	}
	if want := time.Date(2026, 12, 31, 0, 0, 0, 0, jst); !ds[1].Due.Equal(want) {
		t.Errorf("final deadline %v; want %v", ds[1].Due, want)
	}
	// The sender sees it; another sender does not; the open is audited.
	if _, err := svc.Get(ctx, sender, in.ID, "console"); err != nil {
		t.Error(err)
	}
	if _, err := svc.Get(ctx, other, in.ID, "console"); !errors.Is(err, ErrNotFound) {
		t.Errorf("other sender: %v", err)
	}
	es, _ := st.Audit(ctx, store.AuditFilter{MsgID: "msg1"})
	var opened bool
	for _, e := range es {
		opened = opened || e.Action == audit.ActionIncidentOpen
	}
	if !opened {
		t.Error("no incident.open audit entry")
	}
}

func TestUpdateStatusStepsAndConflict(t *testing.T) {
	svc, _, _, _ := setup(t)
	ctx := context.Background()
	in, err := svc.Open(ctx, sender, "msg1", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Update(ctx, sender, in.ID, Change{Report: map[string]string{"cause": "x"}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("sender edits the report: %v", err)
	}
	wrong := true
	in2, err := svc.Update(ctx, officer, in.ID, Change{Version: in.Version, Report: map[string]string{"cause": "オートコンプリートの誤選択"}, Wrongful: &wrong})
	if err != nil {
		t.Fatal(err)
	}
	if in2.Report.Cause != "オートコンプリートの誤選択" || !in2.Deadlines(svc.Rules())[1].Due.Equal(time.Date(2027, 1, 30, 0, 0, 0, 0, jst)) {
		t.Errorf("after update: cause %q final due %v", in2.Report.Cause, in2.Deadlines(svc.Rules())[1].Due)
	}
	if _, err := svc.Update(ctx, officer, in.ID, Change{Version: in.Version, Report: map[string]string{"cause": "stale"}}); !errors.Is(err, ErrConflict) {
		t.Errorf("stale edit: %v", err)
	}
	st := PreliminarySent
	if in2, err = svc.Update(ctx, officer, in.ID, Change{Status: &st}); err != nil || !in2.Deadlines(svc.Rules())[0].Done {
		t.Fatalf("status: %v", err)
	}
	back := Open
	if _, err := svc.Update(ctx, officer, in.ID, Change{Status: &back}); !errors.Is(err, ErrState) {
		t.Errorf("status backwards: %v", err)
	}
	step := in2.Steps[0].ID
	in3, err := svc.Update(ctx, officer, in.ID, Change{Step: &StepChange{ID: step, Done: true, Note: "制限付きに変更済み"}})
	if err != nil || !in3.Steps[0].Done || in3.Steps[0].By != "olga" || in3.Steps[0].Note == "" {
		t.Errorf("step: %v %+v", err, in3.Steps[0])
	}
}

func TestRemindersOnceEach(t *testing.T) {
	svc, st, c, sent := setup(t)
	ctx := context.Background()
	if _, err := svc.Open(ctx, sender, "msg1", ""); err != nil {
		t.Fatal(err)
	}
	if n, _ := svc.Remind(ctx); n != 0 {
		t.Errorf("reminders right after opening: %d", n)
	}
	c.Add(4 * 24 * time.Hour) // within 48h of the 5-day preliminary deadline
	if n, err := svc.Remind(ctx); n != 1 || err != nil {
		t.Errorf("reminders at day 4: %d %v", n, err)
	}
	if n, _ := svc.Remind(ctx); n != 0 {
		t.Errorf("reminder sent twice: %d", n)
	}
	c.Add(2 * 24 * time.Hour) // overdue
	if n, _ := svc.Remind(ctx); n != 1 {
		t.Errorf("overdue reminders: %d", n)
	}
	if len(*sent) != 2 {
		t.Errorf("%d notices composed", len(*sent))
	}
	counts, _ := st.Count(ctx)
	if counts[store.Queued] != 2 {
		t.Errorf("queued notices: %v", counts)
	}
}
