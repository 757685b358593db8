package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

// Credentials other than passwords: console sessions and API tokens. Both
// are random secrets that the user holds (a cookie, a bearer token) and
// the store knows only by their SHA-256 (SecretID), so that a copy of the
// database yields no usable credential. The console carries them over
// HTTP; this package creates, checks and ends them.

// TokenPrefix starts every API token, so that secret scanners and people
// recognise one that was pasted where it should not be.
const TokenPrefix = "egt_"

var (
	// ErrNoUser: a token was asked for a user that does not exist or is
	// disabled.
	ErrNoUser = errors.New("account: no such active user")
	// ErrSessionExpired: the session outlived its idle or total time; it
	// has been ended.
	ErrSessionExpired = errors.New("account: session expired")
)

// NewSecret returns 32 random bytes, URL-safe encoded.
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return short)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// SecretID is the stored key of a session secret or token: its SHA-256 in
// hex.
func SecretID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateToken creates an API token for user and returns the token (shown
// once: only its SecretID is stored) and its record. expires zero means
// never. actor is who asked, for the audit log.
func CreateToken(ctx context.Context, st store.Store, actor, user, name string, expires, now time.Time) (string, *store.Token, error) {
	u, err := st.User(ctx, user)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return "", nil, fmt.Errorf("%w: %q", ErrNoUser, user)
	}
	if err != nil {
		return "", nil, err
	}
	secret := TokenPrefix + NewSecret()
	t := &store.Token{ID: SecretID(secret), User: u.Name, Name: name, Created: now.UTC()}
	if !expires.IsZero() {
		t.Expires = expires.UTC()
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutToken(t); err != nil {
			return err
		}
		data := map[string]any{"token_id": t.ID, "user": t.User, "name": t.Name}
		if !t.Expires.IsZero() {
			data["expires"] = t.Expires.Format(time.RFC3339)
		}
		_, err := audit.Append(tx, now, audit.Event{Actor: actor, Action: audit.ActionTokenCreate, Data: data})
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// RevokeToken deletes the token with the given ID (store.ErrNotFound if
// there is none).
func RevokeToken(ctx context.Context, st store.Store, actor, id string, now time.Time) (*store.Token, error) {
	t, err := st.Token(ctx, id)
	if err != nil {
		return nil, err
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteToken(id); err != nil {
			return err
		}
		_, err := audit.Append(tx, now, audit.Event{Actor: actor, Action: audit.ActionTokenRevoke,
			Data: map[string]any{"token_id": t.ID, "user": t.User, "name": t.Name}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// TokenUser returns the user an API token speaks for, or nil: no such
// token, expired, or its user is disabled or gone.
func (s *Service) TokenUser(ctx context.Context, token string, now time.Time) (*store.User, error) {
	t, err := s.st.Token(ctx, SecretID(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !t.Expires.IsZero() && !now.Before(t.Expires) {
		return nil, nil
	}
	u, err := s.Get(ctx, t.User)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return nil, nil
	}
	return u, err
}

// SessionLimits bound a console session's life.
type SessionLimits struct {
	Idle  time.Duration // since the last request
	Max   time.Duration // since the login
	Touch time.Duration // how often the last request's time is written
}

// StartSession creates a session for user after a successful login and
// returns its secret. A session the client still held (oldSecret, "" if
// none) is ended: a fresh login always gets a fresh session (no
// fixation). ev is the login's audit entry, written with the session.
func (s *Service) StartSession(ctx context.Context, user, oldSecret string, ev audit.Event, now time.Time) (string, error) {
	secret := NewSecret()
	sess := &store.Session{ID: SecretID(secret), User: user, Created: now.UTC(), LastSeen: now.UTC()}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if oldSecret != "" {
			if err := tx.DeleteSession(SecretID(oldSecret)); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if err := tx.PutSession(sess); err != nil {
			return err
		}
		_, err := audit.Append(tx, now, ev)
		return err
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// SessionUser returns the user and session a session secret stands for,
// or nils if there is none. A session past its limits is ended
// (ErrSessionExpired); the sessions of a disabled or deleted user are
// removed on sight, whichever of them comes first. The time of the last
// request is written at most every lim.Touch.
func (s *Service) SessionUser(ctx context.Context, secret string, lim SessionLimits, now time.Time) (*store.User, *store.Session, error) {
	sess, err := s.st.Session(ctx, SecretID(secret))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if now.Sub(sess.LastSeen) > lim.Idle || now.Sub(sess.Created) > lim.Max {
		if err := s.EndSession(ctx, sess, "expired", now); err != nil {
			return nil, nil, err
		}
		return nil, sess, ErrSessionExpired
	}
	u, err := s.Get(ctx, sess.User)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		err := s.st.Update(ctx, func(tx store.Tx) error { return tx.DeleteUserSessions(sess.User) })
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	if now.Sub(sess.LastSeen) >= lim.Touch {
		sess.LastSeen = now.UTC()
		if err := s.st.Update(ctx, func(tx store.Tx) error { return tx.PutSession(sess) }); err != nil {
			return nil, nil, err
		}
	}
	return u, sess, nil
}

// EndSession ends a session (a logout, or an expired one), audited with
// why.
func (s *Service) EndSession(ctx context.Context, sess *store.Session, why string, now time.Time) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteSession(sess.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, err := audit.Append(tx, now, audit.Event{Actor: sess.User, Action: audit.ActionConsoleLogout,
			Data: map[string]any{"reason": why}})
		return err
	})
}
