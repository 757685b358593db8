package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5"

	"github.com/egressguard/egressguard/internal/fakesmtp"
	"github.com/egressguard/egressguard/internal/testenv"
)

// testDSN returns a DSN for a fresh schema on the test PostgreSQL, dropped
// when the test ends. Without a server the test is skipped, except in CI.
func testDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("EGRESSGUARD_TEST_POSTGRES")
	if base == "" {
		base = "postgres://egressguard:egressguard@127.0.0.1:5432/egressguard_test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		testenv.Missing(t, "PostgreSQL for tests unreachable (set EGRESSGUARD_TEST_POSTGRES): %v", err)
	}
	defer conn.Close(context.Background())
	b := make([]byte, 6)
	rand.Read(b)
	schema := "eg_cmd_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// proxy forwards TCP to target until cut; while cut it refuses.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.cut {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

// setCut makes the database unreachable (closing every open connection)
// or reachable again.
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		p.conns = map[net.Conn]bool{}
	}
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func writePGConfig(t *testing.T, dir, name, listen, console, upstream, dsn string) string {
	t.Helper()
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
backoff_min = "200ms"
backoff_max = "1s"
connect_timeout = "1s"
command_timeout = "2s"
data_timeout = "2s"
lease = "4s"
[http]
listen = ""
[console]
listen = %q
[store]
driver = "postgres"
dsn = %q
[policy]
internal_domains = ["example.jp"]
[[seed_user]]
name = "olga"
password = "olga-password"
roles = ["officer"]
addresses = ["olga@example.jp"]
`, name, name, listen, upstream, console, dsn)
	p := filepath.Join(dir, name+".toml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func messageIDs(up *fakesmtp.Server) map[string]int {
	got := map[string]int{}
	for _, m := range up.Messages() {
		for _, line := range strings.Split(string(m.Data), "\r\n") {
			if strings.HasPrefix(line, "Message-ID: ") {
				got[strings.TrimPrefix(line, "Message-ID: ")]++
			}
		}
	}
	return got
}

// TestTwoInstancesOnePostgres: two guards share one database. Mail sent to
// both is delivered once each; one is killed with SIGKILL in the middle and
// the other finishes its work; a message held on B is approved on A's
// console API and delivered.
func TestTwoInstancesOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two binaries")
	}
	dsn := testDSN(t)
	up := fakesmtp.Start(t)
	up.SetDataDelay(20 * time.Millisecond) // keep deliveries in flight when A dies
	dir := t.TempDir()
	la, lb, ca := freePort(t), freePort(t), freePort(t)
	ga := startGuard(t, writePGConfig(t, dir, "a", la, ca, up.Addr(), dsn), la)
	startGuard(t, writePGConfig(t, dir, "b", lb, "", up.Addr(), dsn), lb)

	var mu sync.Mutex
	accepted := map[string]bool{}
	var wg sync.WaitGroup
	for w, addr := range []string{la, lb, la, lb} {
		wg.Add(1)
		go func(w int, addr string) {
			defer wg.Done()
			for i := w * 1000; i < w*1000+60; i++ {
				if err := sendTrusted(addr, i); err != nil {
					return // A died under us
				}
				mu.Lock()
				accepted[fmt.Sprintf("<crash-%d@example.jp>", i)] = true
				mu.Unlock()
			}
		}(w, addr)
	}
	waitAccepted(t, &mu, accepted, 60)
	ga.cmd.Process.Signal(syscall.SIGKILL)
	ga.cmd.Wait()
	wg.Wait()

	deadline := time.Now().Add(40 * time.Second)
	for {
		got := messageIDs(up)
		missing, dups := 0, 0
		for id := range accepted {
			if got[id] == 0 {
				missing++
			}
		}
		for _, n := range got {
			if n > 1 {
				dups++
			}
		}
		if missing == 0 {
			t.Logf("%d accepted on two instances, all delivered; %d more than once (A was killed mid-delivery)", len(accepted), dups)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted messages never delivered", missing, len(accepted))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Restart A; hold a message on B, approve it through A's API.
	startGuard(t, writePGConfig(t, dir, "a", la, ca, up.Addr(), dsn), la)
	reply, err := sendShare(lb, "x@elsewhere.example", 7)
	if err != nil || !strings.Contains(reply, "held") {
		t.Fatalf("hold on B: %q %v", reply, err)
	}
	id := reply[strings.LastIndex(reply, " ")+1:]
	cfgA := filepath.Join(dir, "a.toml")
	code, out, errOut := runMain(t, "token", "create", "--config", cfgA, "--user", "olga")
	if code != 0 {
		t.Fatalf("token create: %s %s", out, errOut)
	}
	token := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "egt_") {
			token = f
		}
	}
	code, out, errOut = runMain(t, "held", "approve", "--url", "http://"+ca, "--token", token, id)
	if code != 0 {
		t.Fatalf("approve on A: %d %s %s", code, out, errOut)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		n := 0
		for _, m := range up.Messages() {
			if strings.Contains(string(m.Data), "https://app.box.com/s/abcdefghijklmnop7") {
				n++
			}
		}
		if n == 1 {
			break
		}
		if n > 1 || time.Now().After(deadline) {
			t.Fatalf("message approved on A and accepted on B delivered %d times", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	code, out, _ = runMain(t, "audit", "verify", "--config", cfgA)
	if code != 0 {
		t.Errorf("one audit chain across instances: %s", out)
	}
}

// TestPostgresOutage: while the database is unreachable clients get 4xx,
// never 250; once it is back everything that got 250 is delivered.
func TestPostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dsn := testDSN(t)
	u, _ := url.Parse(dsn)
	px := startProxy(t, u.Host)
	u.Host = px.addr()
	up := fakesmtp.Start(t)
	dir := t.TempDir()
	l := freePort(t)
	startGuard(t, writePGConfig(t, dir, "a", l, "", up.Addr(), u.String()), l)

	accepted := map[string]bool{}
	for i := 0; i < 10; i++ {
		if err := sendTrusted(l, i); err != nil {
			t.Fatal(err)
		}
		accepted[fmt.Sprintf("<crash-%d@example.jp>", i)] = true
	}
	px.setCut(true)
	tempfails := 0
	for i := 10; i < 20; i++ {
		err := sendTrusted(l, i)
		if err == nil {
			accepted[fmt.Sprintf("<crash-%d@example.jp>", i)] = true // stored before the cut took effect
			continue
		}
		se, ok := err.(*smtp.SMTPError)
		if !ok || se.Code < 400 || se.Code >= 500 {
			t.Fatalf("message %d during the outage: %v (want 4xx)", i, err)
		}
		tempfails++
	}
	if tempfails == 0 {
		t.Fatal("no message was refused while the database was unreachable")
	}
	px.setCut(false)
	for i := 20; i < 30; i++ {
		deadline := time.Now().Add(15 * time.Second)
		for {
			err := sendTrusted(l, i)
			if err == nil {
				accepted[fmt.Sprintf("<crash-%d@example.jp>", i)] = true
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the outage: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := messageIDs(up)
		missing := 0
		for id := range accepted {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			t.Logf("%d refused with 4xx during the outage; all %d accepted delivered", tempfails, len(accepted))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted messages not delivered", missing, len(accepted))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
