package account

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

func TestTokens(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if _, err := s.Add(ctx, "admin", "olga", "password-1", []string{"officer"}, nil); err != nil {
		t.Fatal(err)
	}
	tok, rec, err := CreateToken(ctx, st, "admin", "olga", "laptop", now.Add(time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, TokenPrefix) || rec.ID != SecretID(tok) || strings.Contains(rec.ID, tok) {
		t.Errorf("token %q, record %+v", tok, rec)
	}
	if u, err := s.TokenUser(ctx, tok, now); err != nil || u == nil || u.Name != "olga" {
		t.Errorf("valid token: %v %v", u, err)
	}
	if u, _ := s.TokenUser(ctx, tok, now.Add(time.Hour)); u != nil {
		t.Error("an expired token still works")
	}
	if u, _ := s.TokenUser(ctx, tok+"x", now); u != nil {
		t.Error("a wrong token works")
	}
	if _, err := RevokeToken(ctx, st, "admin", rec.ID, now); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.TokenUser(ctx, tok, now); u != nil {
		t.Error("a revoked token works")
	}
	if _, err := RevokeToken(ctx, st, "admin", rec.ID, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second revoke: %v", err)
	}
	tok, _, _ = CreateToken(ctx, st, "admin", "olga", "laptop", time.Time{}, now)
	if err := s.SetDisabled(ctx, "admin", "olga", true); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.TokenUser(ctx, tok, now); u != nil {
		t.Error("the token of a disabled user works")
	}
	if _, _, err := CreateToken(ctx, st, "admin", "olga", "", time.Time{}, now); !errors.Is(err, ErrNoUser) {
		t.Errorf("token for a disabled user: %v", err)
	}
}

func TestSessions(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	lim := SessionLimits{Idle: 30 * time.Minute, Max: 2 * time.Hour, Touch: time.Minute}
	if _, err := s.Add(ctx, "admin", "olga", "password-1", []string{"officer"}, nil); err != nil {
		t.Fatal(err)
	}
	login := audit.Event{Actor: "olga", Action: "console.login"}
	first, err := s.StartSession(ctx, "olga", "", login, now)
	if err != nil {
		t.Fatal(err)
	}
	// A login that brings the old cookie ends that session.
	secret, err := s.StartSession(ctx, "olga", first, login, now)
	if err != nil {
		t.Fatal(err)
	}
	if u, _, err := s.SessionUser(ctx, first, lim, now); u != nil || err != nil {
		t.Errorf("the replaced session still works: %v %v", u, err)
	}
	// Each request within the idle time keeps it alive, up to its maximum.
	at := now
	for range 4 {
		at = at.Add(25 * time.Minute)
		u, sess, err := s.SessionUser(ctx, secret, lim, at)
		if err != nil || u == nil || u.Name != "olga" || !sess.LastSeen.Equal(at) {
			t.Fatalf("at %v: %v %+v %v", at, u, sess, err)
		}
	}
	u, sess, err := s.SessionUser(ctx, secret, lim, now.Add(lim.Max+time.Second))
	if !errors.Is(err, ErrSessionExpired) || u != nil || sess == nil || sess.User != "olga" {
		t.Errorf("past its maximum: %v %+v %v", u, sess, err)
	}
	if _, err := st.Session(ctx, SecretID(secret)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the expired session was not ended: %v", err)
	}

	// A disabled user loses every session at the next request.
	a, _ := s.StartSession(ctx, "olga", "", login, now)
	b, _ := s.StartSession(ctx, "olga", "", login, now)
	if err := s.SetDisabled(ctx, "admin", "olga", true); err != nil {
		t.Fatal(err)
	}
	if u, _, err := s.SessionUser(ctx, a, lim, now); u != nil || err != nil {
		t.Errorf("disabled user's session: %v %v", u, err)
	}
	for _, secret := range []string{a, b} {
		if _, err := st.Session(ctx, SecretID(secret)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a disabled user's session is left: %v", err)
		}
	}
}
