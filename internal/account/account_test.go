package account

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/sqlite"
)

func newService(t *testing.T) (*Service, store.Store) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "eg.db"), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(st, 4), st
}

func TestAccounts(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	if _, err := s.Add(ctx, "admin", "Alice", "password-1", []string{"sender", "officer"}, []string{"Alice@Example.JP"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, "admin", "alice", "password-2", nil, nil); !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate: %v", err)
	}
	for _, c := range []struct{ name, pw, why string }{
		{"bad name", "password-1", "space"},
		{"bob", "short", "short password"},
	} {
		if _, err := s.Add(ctx, "admin", c.name, c.pw, nil, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", c.why, err)
		}
	}
	if _, err := s.Add(ctx, "admin", "carol", "password-1", []string{"root"}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown role: %v", err)
	}
	u, err := s.Authenticate(ctx, "ALICE", "password-1")
	if err != nil || u.Addresses[0] != "alice@example.jp" {
		t.Fatalf("authenticate: %v %+v", err, u)
	}
	// Twice: the second comes from the verified-password cache.
	if _, err := s.Authenticate(ctx, "alice", "password-1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]string{{"alice", "wrong-password"}, {"nobody", "password-1"}} {
		if _, err := s.Authenticate(ctx, c[0], c[1]); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("%v: %v", c, err)
		}
	}
	// A password change invalidates the cache at once.
	if err := s.SetPassword(ctx, "admin", "alice", "password-3"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "alice", "password-1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("old password after change: %v", err)
	}
	if _, err := s.Authenticate(ctx, "alice", "password-3"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if err := s.SetDisabled(ctx, "admin", "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "alice", "password-3"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("disabled account: %v", err)
	}
	// Every change is audited, and the chain verifies.
	es, err := st.Audit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Action)
	}
	want := []string{"user.add", "user.passwd", "user.disable"}
	if len(actions) != len(want) {
		t.Fatalf("audit actions %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] || es[i].Actor != "admin" {
			t.Errorf("entry %d: %s by %s", i, actions[i], es[i].Actor)
		}
	}
	if _, err := audit.Verify(ctx, st); err != nil {
		t.Error(err)
	}
}
