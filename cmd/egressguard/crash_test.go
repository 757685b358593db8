package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
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

// buildBinary compiles the real command once per test binary run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "egressguard-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "egressguard")
		// Built as the Dockerfile builds it (TestDockerfile checks that
		// the flags agree): static, without cgo.
		cmd := exec.Command("go", append(append([]string{"build"}, dockerBuildFlags...), "-o", buildOnce.path, ".")...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type guardProc struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
	mu   *sync.Mutex
}

// startGuard runs the real binary with cfgPath and waits until its SMTP
// listener answers.
func startGuard(t *testing.T, cfgPath, addr string) *guardProc {
	t.Helper()
	cmd := exec.Command(binary(t), "serve", "--config", cfgPath)
	p := &guardProc{cmd: cmd, addr: addr, logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			p.mu.Lock()
			t.Logf("guard log:\n%s", p.logs.String())
			p.mu.Unlock()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			p.mu.Lock()
			defer p.mu.Unlock()
			t.Fatalf("guard did not start: %v\n%s", err, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writeConfig(t *testing.T, dir, listen, upstream string) string {
	t.Helper()
	cfg := fmt.Sprintf(`
hostname = "guard.test"
data_dir = "data"
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
[http]
listen = ""
[console]
listen = ""
[policy]
internal_domains = ["example.jp"]
`, listen, upstream)
	p := filepath.Join(dir, "egressguard.toml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// sendTrusted submits one message from a trusted address without AUTH and
// reports whether it got 250.
func sendTrusted(addr string, i int) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	body := fmt.Sprintf("From: a@example.jp\r\nTo: b@example.jp\r\nSubject: crash %d\r\nMessage-ID: <crash-%d@example.jp>\r\n\r\nbody %d\r\n", i, i, i)
	return c.SendMail("a@example.jp", []string{"b@example.jp"}, strings.NewReader(body))
}

// TestCrashLosesNothing: every message that got 250 is delivered after the
// guard is killed with SIGKILL and started again, whether it was killed
// with the upstream down (mail queued) or in the middle of a stream of
// deliveries.
func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	up := fakesmtp.Start(t)
	up.Stop() // upstream down at first: everything accepted stays queued
	dir := t.TempDir()
	listen := freePort(t)
	cfgPath := writeConfig(t, dir, listen, up.Addr())

	g := startGuard(t, cfgPath, listen)
	accepted := map[string]bool{}
	for i := 0; i < 30; i++ {
		if err := sendTrusted(listen, i); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		accepted[fmt.Sprintf("<crash-%d@example.jp>", i)] = true
	}
	g.cmd.Process.Signal(syscall.SIGKILL)
	g.cmd.Wait()

	// Second round: upstream up, kill while a concurrent stream is being
	// accepted and delivered.
	up.Restart()
	g = startGuard(t, cfgPath, listen)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 100 + w*1000; i < 100+w*1000+200; i++ {
				if err := sendTrusted(listen, i); err != nil {
					return // the guard died under us: this one was not acknowledged
				}
				mu.Lock()
				accepted[fmt.Sprintf("<crash-%d@example.jp>", i)] = true
				mu.Unlock()
			}
		}(w)
	}
	waitAccepted(t, &mu, accepted, 30+40)
	g.cmd.Process.Signal(syscall.SIGKILL)
	g.cmd.Wait()
	wg.Wait()

	startGuard(t, cfgPath, listen)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := map[string]int{}
		for _, m := range up.Messages() {
			for _, line := range strings.Split(string(m.Data), "\r\n") {
				if strings.HasPrefix(line, "Message-ID: ") {
					got[strings.TrimPrefix(line, "Message-ID: ")]++
				}
			}
		}
		missing := 0
		for id := range accepted {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			dups := 0
			for _, n := range got {
				if n > 1 {
					dups++
				}
			}
			t.Logf("%d accepted, all delivered; %d delivered more than once (at-least-once after SIGKILL)", len(accepted), dups)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted messages never delivered", missing, len(accepted))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitAccepted waits until accepted (guarded by mu) holds n messages: the
// moment a kill lands in the middle of a stream.
func waitAccepted(t *testing.T, mu *sync.Mutex, accepted map[string]bool, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		have := len(accepted)
		mu.Unlock()
		if have >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages accepted in 30 s, want %d before the kill", have, n)
		}
	}
}
