package console

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

// TokenPrefix starts every API token, so that secret scanners and people
// recognise one that was pasted where it should not be.
const TokenPrefix = "egt_"

// ErrNoUser: a token was asked for a user that does not exist or is disabled.
var ErrNoUser = errors.New("console: no such active user")

// CreateToken creates an API token for user and returns the token (shown
// once: only its SHA-256 is stored) and its record. expires zero means
// never. actor is who asked, for the audit log.
func CreateToken(ctx context.Context, st store.Store, actor, user, name string, expires, now time.Time) (string, *store.Token, error) {
	u, err := st.User(ctx, user)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return "", nil, fmt.Errorf("%w: %q", ErrNoUser, user)
	}
	if err != nil {
		return "", nil, err
	}
	secret := TokenPrefix + newSecret()
	t := &store.Token{ID: secretID(secret), User: u.Name, Name: name, Created: now.UTC()}
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
