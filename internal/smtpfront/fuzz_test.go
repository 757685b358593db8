package smtpfront

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/verdict"
)

// sessionSeeds are whole client dialogs.
var sessionSeeds = []string{
	// Trusted relay, two messages, the second pipelined after the dot.
	"EHLO a\r\nMAIL FROM:<x@example.com>\r\nRCPT TO:<y@example.net>\r\nDATA\r\n" +
		"Subject: a\r\n\r\n..dot\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<y@example.net>\r\nDATA\r\nb\r\n.\r\nQUIT\r\n",
	// AUTH PLAIN and LOGIN.
	"EHLO a\r\nAUTH PLAIN " + plain("alice", "secret") + "\r\nMAIL FROM:<alice@example.com> SIZE=20 BODY=8BITMIME\r\n" +
		"RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx@example.net\r\nDATA\r\nhi\r\n.\r\n",
	"EHLO a\r\nAUTH LOGIN\r\n" + b64("bob") + "\r\n" + b64("hunter2") + "\r\nMAIL FROM:<bob@example.com>\r\nRCPT TO:<a@b.c>\r\nDATA\r\nx\r\n.\r\n",
	// Smuggling.
	"EHLO a\r\nMAIL FROM:<x@example.com>\r\nRCPT TO:<y@example.net>\r\nDATA\r\nhi\n.\n" + smuggled,
	"EHLO a\r\nMAIL FROM:<x@example.com>\r\nRCPT TO:<y@example.net>\r\nDATA\r\nhi\r\n.\r" + smuggled,
	"EHLO a\r\nMAIL FROM:<x@example.com>\r\nRCPT TO:<y@example.net>\r\nDATA\r\nhi\r.\r\n" + smuggled,
	// BDAT.
	"EHLO a\r\nMAIL FROM:<x@example.com>\r\nRCPT TO:<y@example.net>\r\nBDAT 4\r\nab\r\nBDAT 3 LAST\r\nc\r\nQUIT\r\n",
	"EHLO a\r\nMAIL FROM:<x@example.com>\r\nRCPT TO:<y@example.net>\r\nBDAT 4 LAST\r\na\nb\r\n",
	// Odds and ends.
	"HELO a\r\nSTARTTLS\r\nAUTH PLAIN\r\n*\r\nRSET\r\nVRFY x\r\nNOOP\r\nQUIT\r\n",
	"EHLO a\r\nMAIL FROM:<\"a b\"@c> SMTPUTF8\r\nRCPT TO:<jörg@bücher.example>\r\nDATA\r\n.\r\n",
	"\r\n\n\x00garbage\r\nMAIL FROM:<x@y>\r\n",
}

// FuzzSession feeds arbitrary client bytes into a real session (over
// net.Pipe, from a trusted address so that messages get through). The
// session must end without panic or hang, never submit more messages than
// the client issued DATA or BDAT commands, and never submit bytes with a
// bare CR or LF.
func FuzzSession(f *testing.F) {
	for _, s := range sessionSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(fuzzSession)
}

func fuzzSession(t *testing.T, in []byte) {
	var mu sync.Mutex
	var submitted int
	var bad []string
	b := &fakeBackend{
		AuthFunc: testAuth,
		SubmitFunc: func(_ context.Context, env *envelope.Envelope, data []byte) (Result, error) {
			mu.Lock()
			defer mu.Unlock()
			submitted++
			if err := checkLines(data, 0); err != nil {
				bad = append(bad, fmt.Sprintf("%v in %q", err, data))
			}
			if len(env.Rcpts) == 0 {
				bad = append(bad, "no recipients")
			}
			return Result{Action: verdict.Pass}, nil
		},
	}
	cfg := baseConfig()
	cfg.TrustedNets = []netip.Prefix{loopback}
	cfg.CommandTimeout = 2 * time.Second
	cfg.DataTimeout = 2 * time.Second
	cfg.AuthFailDelay = time.Nanosecond
	s, err := New(cfg, b, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	server, client := net.Pipe()
	client.SetDeadline(time.Now().Add(5 * time.Second))
	s.accept(server, netip.MustParseAddr("127.0.0.1"), false)
	// Replies are read all along; a 354 lets the client go on after a
	// DATA command, as a real client waits for it (data sent before
	// it is refused, which the fuzzer finds anyway).
	replies := make(chan struct{})
	got354 := make(chan struct{}, 1)
	go func() {
		defer close(replies)
		r := bufio.NewReader(client)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if strings.HasPrefix(line, "354") {
				select {
				case got354 <- struct{}{}:
				default:
				}
			}
		}
	}()
	segs := splitAfterData(in)
	budget := time.After(50 * time.Millisecond) // for DATA commands that get no 354
	for i, seg := range segs {
		if _, err := client.Write(seg); err != nil {
			break
		}
		if i < len(segs)-1 {
			select {
			case <-got354:
			case <-replies:
			case <-budget:
			}
		}
	}
	client.Close()
	<-replies

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("session did not end: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("bad submission: %s", bad)
	}
	if n := dataCommands(in); submitted > n {
		t.Fatalf("%d messages submitted for %d DATA/BDAT commands", submitted, n)
	}
}

// splitAfterData cuts in after each line that could be a DATA command.
func splitAfterData(in []byte) [][]byte {
	var segs [][]byte
	start := 0
	for i := 0; i < len(in); {
		j := bytes.IndexByte(in[i:], '\n')
		if j < 0 {
			break
		}
		line := strings.ToUpper(strings.TrimRight(string(in[i:i+j]), "\r"))
		i += j + 1
		if line == "DATA" {
			segs = append(segs, in[start:i])
			start = i
		}
	}
	return append(segs, in[start:])
}

// dataCommands counts the lines that could be DATA or BDAT commands.
func dataCommands(in []byte) int {
	n := 0
	for line := range bytes.SplitSeq(in, []byte("\n")) {
		l := strings.ToUpper(string(line))
		if strings.HasPrefix(l, "DATA") || strings.HasPrefix(l, "BDAT") {
			n++
		}
	}
	return n
}
