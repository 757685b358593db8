package outbound

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/store"
)

func TestSuccessNotification(t *testing.T) {
	t.Parallel()
	// An upstream without DSN cannot honour NOTIFY=SUCCESS: we report
	// "relayed" ourselves (RFC 3461 §4.1).
	e := newEnv(t, fakesmtp.WithoutDSN())
	e.start(e.config())
	m, body := e.message("sender@example.com", "b@example.org")
	m.Rcpts[0].Notify = []string{"SUCCESS", "FAILURE"}
	e.insert(m, body)
	e.waitState(m.ID, store.Delivered)
	msgs := e.up.WaitFor(2, 10*time.Second)
	if msgs[0].Rcpts[0].Notify != nil {
		t.Errorf("NOTIFY sent to an upstream without DSN")
	}
	r := parseDSN(t, msgs[1].Data)
	if msgs[1].From != "" || r.rcpts[0].Get("Action") != "relayed" || r.rcpts[0].Get("Status") != "2.0.0" {
		t.Errorf("relayed DSN: from %q fields %v", msgs[1].From, r.rcpts)
	}

	// With DSN upstream, it is the upstream's job.
	e2 := newEnv(t)
	_, stop2 := e2.start(e2.config())
	m2, body2 := e2.message("sender@example.com", "b@example.org")
	m2.Rcpts[0].Notify = []string{"SUCCESS"}
	e2.insert(m2, body2)
	e2.waitState(m2.ID, store.Delivered)
	// Stopped, the queue has finished all it started: a DSN or a second
	// delivery would be there now.
	stop2()
	if n := len(e2.all()); n != 1 {
		t.Errorf("%d messages in the store; no DSN expected", n)
	}
	if got := e2.up.Messages()[0].Rcpts[0].Notify; len(got) != 1 || got[0] != "SUCCESS" {
		t.Errorf("NOTIFY passed on: %v", got)
	}
}

func TestSMTPUTF8Upstream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fakesmtp.WithoutSMTPUTF8())
	e.start(e.config())

	// ASCII addresses: sent without the parameter.
	m, body := e.message("a@example.com", "b@example.org")
	m.Params.SMTPUTF8 = true
	e.insert(m, body)
	e.waitState(m.ID, store.Delivered)
	if got := e.up.WaitFor(1, 5*time.Second)[0]; got.Opts.UTF8 {
		t.Error("SMTPUTF8 sent to an upstream that does not offer it")
	}

	// A non-ASCII recipient cannot go: permanent failure 5.6.7.
	m2, body2 := e.message("", "jürgen@example.org")
	m2.Params.SMTPUTF8 = true
	e.insert(m2, body2)
	d := e.waitState(m2.ID, store.Bounced)
	if !strings.HasPrefix(d.Status[0].Detail, "5.6.7 ") {
		t.Errorf("status %+v", d.Status[0])
	}
}

func TestGreetingRefusedDefers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.up.SetHelloError(fakesmtp.Reply(554, "5.7.1 go away"))
	q, _ := e.start(e.config())
	m, _ := e.enqueue("a@example.com", "b@example.org")
	// Even a 5xx before any transaction defers: it says nothing about
	// the message, and a smarthost that refuses us is ours to fix.
	d := e.waitDeferred(m.ID, 1)
	if d.Status[0].Done || d.Status[0].Code != 554 || !strings.Contains(d.LastError, "go away") {
		t.Errorf("status %+v last error %q", d.Status[0], d.LastError)
	}
	e.up.SetHelloError(nil)
	e.clock.Advance(2 * time.Minute)
	q.Kick()
	e.waitState(m.ID, store.Delivered)
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.up.SetRcptHandler(func(r string) *smtp.SMTPError {
		if strings.HasPrefix(r, "bad@") {
			return fakesmtp.Reply(550, "5.1.1 no")
		}
		return nil
	})
	reg := prometheus.NewRegistry()
	q, err := New(e.config(), e.st, zaptest.NewLogger(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(e.config(), e.st, zaptest.NewLogger(t), reg); err == nil {
		t.Error("second registration on one registry succeeded")
	}
	m1, _ := e.enqueue("", "ok@example.org")
	m2, _ := e.enqueue("", "bad@example.org")
	// Depth before anything runs: two queued.
	if got := gather(t, reg)["egressguard_queue_depth"]; got != 2 {
		t.Errorf("queue depth %v, want 2", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	e.waitState(m1.ID, store.Delivered)
	e.waitState(m2.ID, store.Bounced)
	cancel()
	<-done

	got := gather(t, reg)
	for name, want := range map[string]float64{
		`egressguard_delivery_attempts_total{result="delivered"}`: 1,
		`egressguard_delivery_attempts_total{result="bounced"}`:   1,
		`egressguard_delivery_attempts_total{result="deferred"}`:  0,
		`egressguard_delivered_total`:                             1,
		`egressguard_bounced_total`:                               1,
		`egressguard_delivery_seconds_count`:                      2,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}

// gather flattens a registry into "name{labels}" → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			if len(m.GetLabel()) > 0 {
				var ls []string
				for _, l := range m.GetLabel() {
					ls = append(ls, l.GetName()+`="`+l.GetValue()+`"`)
				}
				name += "{" + strings.Join(ls, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestCrashMidAttemptThenRestart(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/eg.db"
	st := openStoreAt(t, path)
	e := &env{t: t, st: st, up: fakesmtp.Start(t), clock: newClock()}
	e.up.SetDataDelay(10 * time.Second)
	e.start(e.config())
	m, body := e.enqueue("a@example.com", "b@example.org")
	e.waitState(m.ID, store.Sending)
	e.up.WaitBodies(1, 10*time.Second) // into DATA, waiting for the reply

	// The "crash": the store goes away under the attempt, then the
	// connection. Nothing of the attempt's outcome can be recorded.
	st.Close()
	e.up.Stop()

	// Restart: same database file, same instance name, upstream back.
	e.up.SetDataDelay(0)
	e.up.Restart()
	e2 := &env{t: t, st: openStoreAt(t, path), up: e.up, clock: e.clock}
	if got := e2.get(m.ID); got.State != store.Sending || got.Attempts != 1 {
		t.Fatalf("after crash: %+v", got)
	}
	e2.start(e.config())
	d := e2.waitState(m.ID, store.Delivered)
	if d.Attempts != 2 {
		t.Errorf("attempts %d, want 2", d.Attempts)
	}
	got := e.up.WaitFor(1, 5*time.Second)
	if len(got) != 1 || string(got[0].Data) != string(body) {
		t.Errorf("upstream got %d messages", len(got))
	}
}

// failingDSNStore refuses to insert any message, as a full store would.
type failingDSNStore struct{ store.Store }

type failingDSNTx struct{ store.Tx }

func (s failingDSNStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(failingDSNTx{tx}) })
}

func (failingDSNTx) InsertMessage(*store.Message, io.Reader) error { return store.ErrFull }

func TestDSNThatCannotBeStoredIsDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.up.SetRcptHandler(func(r string) *smtp.SMTPError {
		if strings.HasPrefix(r, "bad@") {
			return fakesmtp.Reply(550, "5.1.1 no")
		}
		return nil
	})
	m, _ := e.enqueue("sender@example.com", "ok@example.org", "bad@example.org")
	q, err := New(e.config(), failingDSNStore{e.st}, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	defer cancel()
	d := e.waitState(m.ID, store.Delivered)
	if d.Attempts != 1 {
		t.Errorf("attempts %d", d.Attempts)
	}
	// Stopped, the queue has finished all it started: a DSN or a second
	// delivery would be there now.
	cancel()
	<-done
	if n := len(e.all()); n != 1 {
		t.Errorf("%d messages in store", n)
	}
	if n := len(e.up.Messages()); n != 1 {
		t.Errorf("upstream got %d messages, want the original once", n)
	}
}
