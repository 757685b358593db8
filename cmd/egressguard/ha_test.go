package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/egressguard/egressguard/internal/fakesmtp"
)

// writeHAConfig is a PostgreSQL config with the default upstream timeouts
// and lease: what the high-availability tests measure is what an operator
// gets without tuning.
func writeHAConfig(t *testing.T, dir, file, instance, listen, upstream, dsn, extra string, httpListen ...string) string {
	t.Helper()
	hl := ""
	if len(httpListen) > 0 {
		hl = httpListen[0]
	}
	cfg := fmt.Sprintf(`
hostname = "guard.test"
instance = %q
data_dir = "data-%s"
[log]
level = "debug"
[smtp]
listen = %q
trusted_networks = ["127.0.0.0/8"]
[upstream]
address = %q
tls = "none"
%s
[http]
listen = %q
[console]
listen = ""
[store]
driver = "postgres"
dsn = %q
[policy]
internal_domains = ["example.jp"]
`, instance, file, listen, upstream, extra, hl, dsn)
	p := filepath.Join(dir, file+".toml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// sendTo submits one message from a trusted address to rcpt.
func sendTo(addr, rcpt string, i int) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	body := fmt.Sprintf("From: a@example.jp\r\nTo: %s\r\nSubject: ha %d\r\nMessage-ID: <ha-%d@example.jp>\r\n\r\nbody %d\r\n", rcpt, i, i, i)
	return c.SendMail("a@example.jp", []string{rcpt}, strings.NewReader(body))
}

// gate blocks the upstream's answer to RCPT for the recipients it names
// until it is opened, so that deliveries stay in flight, before any byte
// of the message has been accepted.
type gate struct {
	open chan struct{}
	once sync.Once
}

func newGate(up *fakesmtp.Server, block func(rcpt string) bool) *gate {
	g := &gate{open: make(chan struct{})}
	up.SetRcptHandler(func(rcpt string) *smtp.SMTPError {
		if block(rcpt) {
			<-g.open
		}
		return nil
	})
	return g
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// TestKilledInstanceTakenOver: instance A is killed for good while 20 of
// its deliveries are in flight and 10 more messages wait in the queue.
// With the default configuration, instance B delivers all of them within
// 60 s.
func TestKilledInstanceTakenOver(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two binaries")
	}
	dsn := testDSN(t)
	up := fakesmtp.Start(t)
	g := newGate(up, func(string) bool { return true })
	t.Cleanup(g.release)
	dir := t.TempDir()
	la, lb, hb := freePort(t), freePort(t), freePort(t)
	ga := startGuard(t, writeHAConfig(t, dir, "a", "a", la, up.Addr(), dsn, ""), la)
	startGuard(t, writeHAConfig(t, dir, "b", "b", lb, up.Addr(), dsn, "", hb), lb)
	metric := func(name string) string {
		resp, err := http.Get("http://" + hb + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, name+" ") {
				return strings.TrimPrefix(line, name+" ")
			}
		}
		return ""
	}
	if v := metric("egressguard_instances_live"); v != "2" {
		t.Errorf("egressguard_instances_live = %q with both running; want 2", v)
	}

	const n = 30
	for i := range n {
		if err := sendTo(la, "x@example.jp", i); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	// A's 20 delivery slots are all waiting on the upstream.
	deadline := time.Now().Add(20 * time.Second)
	for up.OpenSessions() < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d upstream sessions open", up.OpenSessions())
		}
		time.Sleep(20 * time.Millisecond)
	}
	ga.cmd.Process.Signal(syscall.SIGKILL)
	ga.cmd.Wait()
	killed := time.Now()
	g.release()

	for {
		got := messageIDs(up)
		missing, dups := 0, 0
		for i := range n {
			switch c := got[fmt.Sprintf("<ha-%d@example.jp>", i)]; {
			case c == 0:
				missing++
			case c > 1:
				dups += c - 1
			}
		}
		if missing == 0 {
			took := time.Since(killed)
			t.Logf("A killed with 20 deliveries in flight and 10 queued: all %d delivered by B %v after the kill; %d duplicates", n, took.Round(10*time.Millisecond), dups)
			if took > 60*time.Second {
				t.Errorf("takeover took %v; want at most 60s", took)
			}
			if dups > 20 {
				t.Errorf("%d duplicates; a crash may re-send at most the 20 in flight", dups)
			}
			break
		}
		if time.Since(killed) > 90*time.Second {
			t.Fatalf("%d of %d messages still undelivered 90s after A was killed", missing, n)
		}
		time.Sleep(100 * time.Millisecond)
	}

	if v := metric("egressguard_instances_live"); v != "1" {
		t.Errorf("egressguard_instances_live = %q after A died; want 1", v)
	}
	if v := metric(`egressguard_instance_up{instance="a"}`); v != "0" {
		t.Errorf(`egressguard_instance_up{instance="a"} = %q; want 0`, v)
	}
	// The takeover is in the audit log, and queue shows A dead, without
	// claims.
	cfgB := filepath.Join(dir, "b.toml")
	code, out, errOut := runMain(t, "audit", "export", "--config", cfgB)
	if code != 0 || !strings.Contains(out, `"queue.release"`) || !strings.Contains(out, `"instance not alive"`) {
		t.Errorf("audit export (%d): no takeover entry\n%s%s", code, out, errOut)
	}
	code, out, errOut = runMain(t, "queue", "--config", cfgB)
	if code != 0 || !strings.Contains(out, "dead") || !strings.Contains(out, "alive") {
		t.Errorf("queue (%d):\n%s%s", code, out, errOut)
	}
	t.Logf("queue:\n%s", out)
}

// TestSameInstanceNameRefused: a second live process started under the
// name of a running one exits with a clear error instead of taking over
// its deliveries.
func TestSameInstanceNameRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two binaries")
	}
	dsn := testDSN(t)
	up := fakesmtp.Start(t)
	dir := t.TempDir()
	la, l2 := freePort(t), freePort(t)
	startGuard(t, writeHAConfig(t, dir, "a", "relay-1", la, up.Addr(), dsn, ""), la)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), "serve", "--config", writeHAConfig(t, dir, "a2", "relay-1", l2, up.Addr(), dsn, ""))
	out, err := cmd.CombinedOutput()
	if err == nil || cmd.ProcessState.ExitCode() == 0 {
		t.Fatalf("second process under the same name started: %v\n%s", err, out)
	}
	if ctx.Err() != nil {
		t.Fatal("second process neither refused nor exited")
	}
	if !strings.Contains(string(out), "another live process uses this instance name") || !strings.Contains(string(out), "relay-1") {
		t.Errorf("refusal does not say why:\n%s", out)
	}
	// The first is unharmed.
	if err := sendTo(la, "x@example.jp", 1); err != nil {
		t.Errorf("first instance after the refused start: %v", err)
	}
	if len(up.WaitFor(1, 10*time.Second)) != 1 {
		t.Error("first instance no longer delivers")
	}
}

// TestPeerWokenAtOnce: mail queued on A while A has no free delivery slot
// is delivered by B within a second (B is told; it does not wait for its
// next poll, up to 30 s away).
func TestPeerWokenAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two binaries")
	}
	dsn := testDSN(t)
	up := fakesmtp.Start(t)
	g := newGate(up, func(rcpt string) bool { return strings.HasPrefix(rcpt, "slow@") })
	t.Cleanup(g.release)
	dir := t.TempDir()
	la, lb := freePort(t), freePort(t)
	startGuard(t, writeHAConfig(t, dir, "a", "a", la, up.Addr(), dsn, "concurrency = 1"), la)
	startGuard(t, writeHAConfig(t, dir, "b", "b", lb, up.Addr(), dsn, ""), lb)
	// Let B settle into an idle poll.
	time.Sleep(2 * time.Second)
	if err := sendTo(la, "slow@example.jp", 1); err != nil {
		t.Fatal(err)
	}
	for up.OpenSessions() < 1 {
		time.Sleep(10 * time.Millisecond)
	}
	for i := 2; i <= 4; i++ {
		start := time.Now()
		if err := sendTo(la, "fast@example.jp", i); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("<ha-%d@example.jp>", i)
		for messageIDs(up)[id] == 0 {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("message %d queued on A not delivered by B within 5s", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		took := time.Since(start)
		t.Logf("message %d: 250 on A → delivered by B in %v", i, took.Round(time.Millisecond))
		if took > time.Second {
			t.Errorf("message %d: peer picked it up after %v; want within 1s", i, took)
		}
	}
}
