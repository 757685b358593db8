// Command membench measures the guard's memory under parallel large
// messages: it opens N SMTP sessions at once to a loopback address, sends
// one message of the given size in each (repeated -rounds times), and
// reports the guard's peak resident memory (VmHWM in /proc/PID/status,
// the peak over the process's life) and the throughput. It is a hand-run
// benchmark tool (docs/performance.md), not part of the test suite:
//
//	go run ./tools/membench -guard ./egressguard -config bench.toml -sessions 20 -size 25MB
//	go run ./tools/membench -pid $(pidof egressguard) -sessions 10 -size 20MiB
//
// With -guard it starts the guard itself (egressguard serve --config FILE),
// waits for the SMTP port, runs, reads the peak and stops the guard with
// SIGTERM, so the peak is that of this run alone. With -pid it measures a
// guard that is already running (its peak so far). The client must be
// allowed to relay without AUTH (a trusted network such as 127.0.0.0/8).
// It only targets loopback addresses.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
)

func main() {
	target := flag.String("target", "127.0.0.1:2525", "host:port of the guard's SMTP listener (loopback only)")
	sessions := flag.Int("sessions", 20, "parallel SMTP sessions")
	rounds := flag.Int("rounds", 1, "messages per session, one after another")
	sizeFlag := flag.String("size", "25MB", "message size: bytes, or with kB, MB, KiB, MiB")
	from := flag.String("from", "bench@bench-org.jp", "envelope sender")
	rcpt := flag.String("rcpt", "sink@example.net", "envelope recipient")
	pid := flag.Int("pid", 0, "PID of a running guard to measure")
	guard := flag.String("guard", "", "guard binary to start (with -config) and stop")
	config := flag.String("config", "", "configuration file for -guard")
	flag.Parse()
	size, err := parseSize(*sizeFlag)
	if err == nil {
		err = run(*target, *sessions, *rounds, size, *from, *rcpt, *pid, *guard, *config)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "membench:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int, error) {
	units := []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := 1
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

func run(target string, sessions, rounds, size int, from, rcpt string, pid int, guard, config string) error {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return err
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return fmt.Errorf("target %s is not a loopback address", target)
	}
	if guard != "" {
		cmd := exec.Command(guard, "serve", "--config", config)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		defer func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}()
		pid = cmd.Process.Pid
		if err := waitPort(target, 30*time.Second); err != nil {
			return err
		}
	}
	if pid == 0 {
		return errors.New("no guard to measure: give -pid or -guard")
	}
	before, err := vm(pid, "VmHWM")
	if err != nil {
		return err
	}
	body := message(size)

	start := time.Now()
	var mu sync.Mutex
	var ok int
	fails := map[string]int{}
	var wg sync.WaitGroup
	for range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				err := send(target, from, rcpt, body)
				mu.Lock()
				if err == nil {
					ok++
				} else {
					fails[err.Error()]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	peak, err := vm(pid, "VmHWM")
	if err != nil {
		return err
	}
	total := sessions * rounds
	fmt.Printf("sessions=%d rounds=%d size=%d messages=%d accepted=%d elapsed=%.2fs msgs/s=%.1f MB/s=%.1f\n",
		sessions, rounds, len(body), total, ok, elapsed.Seconds(), float64(ok)/elapsed.Seconds(),
		float64(ok)*float64(len(body))/1e6/elapsed.Seconds())
	fmt.Printf("guard pid=%d VmHWM before=%d MiB peak=%d MiB (bytes in flight at once: %d MiB)\n",
		pid, before>>20, peak>>20, (sessions*len(body))>>20)
	for e, n := range fails {
		fmt.Printf("failed %d: %s\n", n, e)
	}
	return nil
}

// message is a plain text message of size bytes in 78-octet lines.
func message(size int) []byte {
	head := "From: bench@bench-org.jp\r\nTo: sink@example.net\r\nSubject: membench\r\n\r\n"
	line := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 2)[:76] + "\r\n"
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(head)
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	if r := size - b.Len(); r >= 2 {
		b.WriteString(strings.Repeat("x", r-2) + "\r\n")
	}
	return b.Bytes()
}

func send(target, from, rcpt string, body []byte) error {
	c, err := smtp.Dial(target)
	if err != nil {
		return err
	}
	defer c.Close()
	c.CommandTimeout = 5 * time.Minute
	c.SubmissionTimeout = 5 * time.Minute
	if err := c.Hello("membench.localhost"); err != nil {
		return err
	}
	if err := c.Mail(from, &smtp.MailOptions{Size: int64(len(body))}); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.ReadFrom(bytes.NewReader(body)); err != nil {
		return err
	}
	if _, err := w.CloseWithResponse(); err != nil {
		return err
	}
	return c.Quit()
}

// vm returns a field of /proc/PID/status in bytes.
func vm(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		return kb << 10, err
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func waitPort(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not open within %v", addr, limit)
}
