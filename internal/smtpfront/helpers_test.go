package smtpfront

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/verdict"
)

// fakeBackend is a Backend made of functions; nil functions take the
// defaults of newRecorder.
type fakeBackend struct {
	AuthFunc   func(ctx context.Context, user, pass string) (*Identity, error)
	SubmitFunc func(ctx context.Context, env *envelope.Envelope, data []byte) (Result, error)

	mu      sync.Mutex
	refused []refusal // what reached Refused
}

type refusal struct {
	env    *envelope.Envelope
	reason string
}

func (f *fakeBackend) Refused(_ context.Context, env *envelope.Envelope, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refused = append(f.refused, refusal{env, reason})
}

func (f *fakeBackend) refusals() []refusal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]refusal(nil), f.refused...)
}

func (f *fakeBackend) Authenticate(ctx context.Context, user, pass string) (*Identity, error) {
	return f.AuthFunc(ctx, user, pass)
}

func (f *fakeBackend) Submit(ctx context.Context, env *envelope.Envelope, data []byte) (Result, error) {
	return f.SubmitFunc(ctx, env, data)
}

type submission struct {
	env   *envelope.Envelope
	data  []byte // as the client sent it
	trace string // the guard's Received: field in front of it
}

// splitTrace splits the guard's Received: field (the first field, with its
// continuation lines) from the message the client sent.
func splitTrace(data []byte) (trace string, rest []byte) {
	if !bytes.HasPrefix(data, []byte("Received: ")) {
		return "", data
	}
	i := 0
	for {
		j := bytes.Index(data[i:], []byte("\r\n"))
		if j < 0 {
			return "", data
		}
		i += j + 2
		if i == len(data) || (data[i] != ' ' && data[i] != '\t') {
			return string(data[:i]), data[i:]
		}
	}
}

// recorder keeps what reached Submit.
type recorder struct {
	mu   sync.Mutex
	subs []submission
}

func (r *recorder) all() []submission {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]submission(nil), r.subs...)
}

func (r *recorder) count() int { return len(r.all()) }

// users: alice may send as herself and an alias; bob as himself.
var testUsers = map[string]struct {
	pass  string
	addrs []string
}{
	"alice": {"secret", []string{"alice@example.com", "Alice.Alias@example.com"}},
	"bob":   {"hunter2", []string{"bob@example.com"}},
	"carol": {"tiger123", []string{"carol@例え.テスト"}},
}

func testAuth(_ context.Context, user, pass string) (*Identity, error) {
	u, ok := testUsers[user]
	if !ok || u.pass != pass {
		return nil, ErrBadCredentials
	}
	return &Identity{User: user, Addresses: u.addrs}, nil
}

// newRecorder returns a backend that knows testUsers and queues everything.
func newRecorder() (*fakeBackend, *recorder) {
	rec := &recorder{}
	return &fakeBackend{
		AuthFunc: testAuth,
		SubmitFunc: func(_ context.Context, env *envelope.Envelope, data []byte) (Result, error) {
			rec.mu.Lock()
			trace, rest := splitTrace(data)
			rec.subs = append(rec.subs, submission{env, rest, trace})
			rec.mu.Unlock()
			return Result{Action: verdict.Pass}, nil
		},
	}, rec
}

// baseConfig is quick but otherwise realistic.
func baseConfig() Config {
	return Config{
		Hostname:        "guard.test",
		MaxMessageBytes: 1 << 20,
		MaxRecipients:   10,
		MaxLineLength:   1000,
		CommandTimeout:  5 * time.Second,
		DataTimeout:     5 * time.Second,
		MaxConns:        50,
		MaxConnsPerIP:   20,
		AuthFailDelay:   time.Millisecond,
		MaxAuthFailures: 5,
		AuthFailWindow:  time.Minute,
	}
}

type testServer struct {
	*Server
	addr string
	reg  *prometheus.Registry
}

func startServer(t *testing.T, cfg Config, b Backend) *testServer {
	t.Helper()
	return startServerLog(t, cfg, b, zaptest.NewLogger(t))
}

func startServerLog(t *testing.T, cfg Config, b Backend, log *zap.Logger) *testServer {
	t.Helper()
	return startServerWith(t, cfg, b, log, nil)
}

// startServerWith lets setup change the server (its clock) before it serves.
func startServerWith(t *testing.T, cfg Config, b Backend, log *zap.Logger, setup func(*Server)) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := New(cfg, b, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) || !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return &testServer{Server: s, addr: ln.Addr().String(), reg: reg}
}

func (ts *testServer) refused(reason string) float64 {
	return ts.metric("egressguard_smtp_refused_total", "reason", reason)
}

func (ts *testServer) messages(result string) float64 {
	return ts.metric("egressguard_smtp_messages_total", "result", result)
}

// metric reads a counter or gauge from the registry, as a scrape would.
func (ts *testServer) metric(name string, label ...string) float64 {
	mfs, err := ts.reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(label); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == label[i] && lp.GetValue() == label[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// rawClient speaks SMTP byte by byte, for dialogs no real client would send.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	return dialRawFrom(t, addr, "")
}

// dialRawFrom dials from a given local loopback address (127.0.0.2 and so
// on are loopback on Linux), to act as another client.
func dialRawFrom(t *testing.T, addr, local string) *rawClient {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (c *rawClient) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// reply reads one reply, all lines, and returns its code and last line.
func (c *rawClient) reply() (int, string, error) {
	var text []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return 0, strings.Join(text, "\n"), err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 4 {
			return 0, line, fmt.Errorf("short reply line %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return 0, line, fmt.Errorf("bad reply line %q", line)
		}
		text = append(text, line[4:])
		if line[3] == ' ' {
			return code, strings.Join(text, "\n"), nil
		}
	}
}

// expect reads a reply and fails unless it has the code; returns the text.
func (c *rawClient) expect(code int) string {
	c.t.Helper()
	got, text, err := c.reply()
	if err != nil {
		c.t.Fatalf("reading reply (want %d): %v", code, err)
	}
	if got != code {
		c.t.Fatalf("got %d %s, want %d", got, text, code)
	}
	return text
}

func (c *rawClient) cmd(line string, code int) string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.expect(code)
}

// expectClosed asserts that the server closed the connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := c.r.ReadString('\n')
	if err == nil {
		c.t.Fatalf("connection still open, read %q", line)
	}
	if isTimeout(err) {
		c.t.Fatal("connection still open (read timed out)")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// greet reads the greeting and says EHLO.
func (c *rawClient) greet() {
	c.t.Helper()
	c.expect(220)
	c.cmd("EHLO client.test", 250)
}

// login authenticates with AUTH PLAIN.
func (c *rawClient) login(user, pass string) {
	c.t.Helper()
	c.cmd("AUTH PLAIN "+plain(user, pass), 235)
}

func plain(user, pass string) string {
	return b64("\x00" + user + "\x00" + pass)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// testTLS returns a server config with a throw-away certificate for
// 127.0.0.1 and a client config that trusts it.
func testTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "guard.test"},
		DNSNames:              []string{"guard.test", "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}
	client = &tls.Config{RootCAs: pool, ServerName: "guard.test", MinVersion: tls.VersionTLS12}
	return server, client
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var loopback = netip.MustParsePrefix("127.0.0.0/8")

// fakeClock is a settable clock for the server.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// startTLS upgrades a raw dialog after a 220 to STARTTLS.
func (c *rawClient) startTLS(cfg *tls.Config) {
	c.t.Helper()
	c.cmd("STARTTLS", 220)
	c.upgradeTLS(cfg)
}

// upgradeTLS does the client's TLS handshake after a 220 to STARTTLS.
func (c *rawClient) upgradeTLS(cfg *tls.Config) {
	c.t.Helper()
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.conn = tc
	c.r = bufio.NewReader(tc)
}
