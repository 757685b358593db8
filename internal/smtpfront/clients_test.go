package smtpfront

import (
	"github.com/egressguard/egressguard/internal/testenv"

	"net/netip"
	"os/exec"
	"strings"
	"testing"
)

// Postfix's smtp-source (the benchmark's load generator) pipelines MAIL,
// RCPT and DATA and sends several messages per connection: none of it may
// trip the early-data or smuggling checks.
func TestSmtpSourceClient(t *testing.T) {
	t.Parallel()
	source := testenv.Program(t, "smtp-source", "postfix")
	cfg := baseConfig()
	cfg.TrustedNets = []netip.Prefix{loopback}
	b, rec := newRecorder()
	ts := startServer(t, cfg, b)
	// 4 sessions, 40 messages of 5000 bytes over the same connections
	// (-d), 3 recipients each.
	out, err := exec.Command(source, "-s", "4", "-m", "40", "-l", "5000", "-r", "3", "-N", "-d", ts.addr).CombinedOutput()
	if err != nil {
		t.Fatalf("smtp-source: %v\n%s", err, out)
	}
	subs := rec.all()
	if len(subs) != 40 {
		t.Fatalf("%d submissions", len(subs))
	}
	for _, s := range subs {
		if len(s.env.Rcpts) != 3 || !strings.Contains(string(s.data), "\r\n\r\n") || checkLines(s.data, 0) != nil {
			t.Fatalf("submission %+v", s.env)
		}
	}
	if n := ts.refused(reasonPipelining) + ts.refused(reasonSmuggling); n != 0 {
		t.Errorf("%v refusals", n)
	}
}
