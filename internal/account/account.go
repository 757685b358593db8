// Package account manages the guard's user accounts: staff who send mail,
// security officers who decide on held mail, and admins. Passwords are
// stored as bcrypt hashes in the store; this package is the only place that
// creates or checks them.
package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

// Roles a user can hold.
const (
	RoleSender  = "sender"
	RoleOfficer = "officer"
	RoleAdmin   = "admin"
)

var (
	// ErrBadCredentials is returned for an unknown user, a wrong password
	// or a disabled account alike, so callers cannot tell them apart.
	ErrBadCredentials = errors.New("account: invalid user name or password")
	// ErrInvalid is returned for a malformed name, password, role or address.
	ErrInvalid = errors.New("account: invalid value")
)

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 8

// cacheTTL bounds how long a verified password is remembered. Mail clients
// authenticate on every connection; without the cache each AUTH costs a
// bcrypt computation (tens of milliseconds of CPU), which caps throughput
// and invites denial of service.
const cacheTTL = 5 * time.Minute

// Service manages accounts.
type Service struct {
	st   store.Store
	cost int
	now  func() time.Time

	key   [32]byte // HMAC key for the verified-password cache, per process
	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	mac     [32]byte // HMAC of the password
	hash    string   // the bcrypt hash it was verified against
	expires time.Time
}

// New returns a Service on st. cost is the bcrypt cost (0: bcrypt.DefaultCost).
func New(st store.Store, cost int) *Service {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	s := &Service{st: st, cost: cost, now: time.Now, cache: map[string]cached{}}
	rand.Read(s.key[:])
	return s
}

// SetClock injects a clock (tests; the guard's own clock).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// dummyHash equalises the time spent on unknown user names.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("egressguard-dummy-password"), bcrypt.DefaultCost)

// Authenticate checks a user name and password and returns the user.
func (s *Service) Authenticate(ctx context.Context, name, password string) (*store.User, error) {
	name = normName(name)
	u, err := s.st.User(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	mac := s.mac(password)
	s.mu.Lock()
	c, ok := s.cache[name]
	s.mu.Unlock()
	if ok && c.hash == u.PasswordHash && hmac.Equal(c.mac[:], mac[:]) && s.now().Before(c.expires) {
		if u.Disabled {
			return nil, ErrBadCredentials
		}
		return u, nil
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil || u.Disabled {
		return nil, ErrBadCredentials
	}
	s.mu.Lock()
	if len(s.cache) > 10000 { // bounded: forget everything rather than grow
		clear(s.cache)
	}
	s.cache[name] = cached{mac: mac, hash: u.PasswordHash, expires: s.now().Add(cacheTTL)}
	s.mu.Unlock()
	return u, nil
}

func (s *Service) mac(password string) [32]byte {
	h := hmac.New(sha256.New, s.key[:])
	h.Write([]byte(password))
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// PasswordMatches reports whether password is the current password of
// user name (used to warn while a demo password is still in use).
func (s *Service) PasswordMatches(ctx context.Context, name, password string) bool {
	u, err := s.st.User(ctx, normName(name))
	if err != nil {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) == nil
}

// Add creates a user. It returns store.ErrExists if the name is taken.
// actor is who did it, for the audit log.
func (s *Service) Add(ctx context.Context, actor, name, password string, roles, addresses []string) (*store.User, error) {
	name = normName(name)
	if err := checkName(name); err != nil {
		return nil, err
	}
	roles, err := checkRoles(roles)
	if err != nil {
		return nil, err
	}
	addresses, err = checkAddresses(addresses)
	if err != nil {
		return nil, err
	}
	hash, err := s.hash(password)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	u := &store.User{Name: name, PasswordHash: hash, Roles: roles, Addresses: addresses, Created: now, Updated: now}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertUser(u); err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
		_, err := audit.Append(tx, now, audit.Event{Actor: actor, Action: audit.ActionUserAdd, Data: map[string]any{
			"user": name, "roles": roles, "addresses": addresses}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// SetPassword replaces a user's password and ends their console sessions.
func (s *Service) SetPassword(ctx context.Context, actor, name, password string) error {
	hash, err := s.hash(password)
	if err != nil {
		return err
	}
	return s.modify(ctx, actor, audit.ActionUserPasswd, name, nil, true, func(tx store.Tx, u *store.User, data map[string]any) error {
		u.PasswordHash = hash
		return nil
	})
}

// SetDisabled disables or enables an account. A disabled account can
// neither authenticate over SMTP nor log in to the console; disabling
// also ends its console sessions and revokes its API tokens, in the same
// transaction, so that nothing the account held keeps working.
func (s *Service) SetDisabled(ctx context.Context, actor, name string, disabled bool) error {
	action := audit.ActionUserEnable
	if disabled {
		action = audit.ActionUserDisable
	}
	return s.modify(ctx, actor, action, name, nil, true, func(tx store.Tx, u *store.User, data map[string]any) error {
		u.Disabled = disabled
		if !disabled {
			return nil
		}
		n, err := tx.DeleteUserTokens(u.Name)
		if err != nil {
			return err
		}
		data["tokens_revoked"] = n
		return nil
	})
}

// SetRoles replaces a user's roles.
func (s *Service) SetRoles(ctx context.Context, actor, name string, roles []string) error {
	roles, err := checkRoles(roles)
	if err != nil {
		return err
	}
	return s.modify(ctx, actor, audit.ActionUserRoles, name, map[string]any{"roles": roles}, true, func(tx store.Tx, u *store.User, data map[string]any) error {
		u.Roles = roles
		return nil
	})
}

// SetAddresses replaces the envelope senders a user may use.
func (s *Service) SetAddresses(ctx context.Context, actor, name string, addresses []string) error {
	addresses, err := checkAddresses(addresses)
	if err != nil {
		return err
	}
	return s.modify(ctx, actor, audit.ActionUserAddresses, name, map[string]any{"addresses": addresses}, true, func(tx store.Tx, u *store.User, data map[string]any) error {
		u.Addresses = addresses
		return nil
	})
}

// ErrDelegate: the delegate named for an absence cannot take it (not an
// active officer, the officer themself, or an end in the past).
var ErrDelegate = errors.New("account: invalid delegate")

// SetDelegate records that officer name is away until until and that
// delegate gets their notices meanwhile; an empty delegate ends the
// absence. The officer's sessions stay (it is not an account change),
// and the change is audited.
func (s *Service) SetDelegate(ctx context.Context, actor, name, delegate string, until time.Time) error {
	name, delegate = normName(name), normName(delegate)
	now := s.now().UTC()
	if delegate != "" {
		d, err := s.st.User(ctx, delegate)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("%w: no user %q", ErrDelegate, delegate)
		case err != nil:
			return err
		case delegate == name, !HasRole(d, RoleOfficer), d.Disabled:
			return fmt.Errorf("%w: %q is not another active officer", ErrDelegate, delegate)
		case !until.After(now):
			return fmt.Errorf("%w: the absence must end in the future", ErrDelegate)
		}
	} else {
		until = time.Time{}
	}
	data := map[string]any{"delegate": delegate}
	if !until.IsZero() {
		data["until"] = until.UTC().Format(time.RFC3339)
	}
	return s.modify(ctx, actor, audit.ActionUserDelegate, name, data, false, func(tx store.Tx, u *store.User, data map[string]any) error {
		u.DelegateTo, u.DelegateUntil = delegate, until.UTC()
		return nil
	})
}

// Away reports whether u is away now, and who stands in.
func Away(u *store.User, now time.Time) (delegate string, ok bool) {
	if u.DelegateTo == "" || !now.Before(u.DelegateUntil) {
		return "", false
	}
	return u.DelegateTo, true
}

// SetLang stores a user's console language ("" = the browser's). It
// leaves the user's sessions alone and writes nothing if the language is
// already lang.
func (s *Service) SetLang(ctx context.Context, actor, name, lang string) error {
	err := s.modify(ctx, actor, audit.ActionUserLang, name, map[string]any{"lang": lang}, false, func(tx store.Tx, u *store.User, data map[string]any) error {
		if u.Lang == lang {
			return errUnchanged
		}
		u.Lang = lang
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// errUnchanged makes modify write nothing.
var errUnchanged = errors.New("account: unchanged")

// modify changes one user and records the change, in one transaction:
// the user is read inside it (and locked until it ends), so that a
// concurrent change of another field is never undone by writing back a
// copy read before it. endSessions also ends the user's console
// sessions. fn may add to the audit entry's data.
func (s *Service) modify(ctx context.Context, actor, action, name string, data map[string]any, endSessions bool,
	fn func(tx store.Tx, u *store.User, data map[string]any) error) error {
	name = normName(name)
	if data == nil {
		data = map[string]any{}
	}
	data["user"] = name
	err := s.st.Update(ctx, func(tx store.Tx) error {
		u, err := tx.User(name)
		if err != nil {
			return err
		}
		if err := fn(tx, u, data); err != nil {
			return err
		}
		now := s.now().UTC()
		u.Updated = now
		if err := tx.PutUser(u); err != nil {
			return err
		}
		if endSessions {
			if err := tx.DeleteUserSessions(name); err != nil {
				return err
			}
		}
		_, err = audit.Append(tx, now, audit.Event{Actor: actor, Action: action, Data: data})
		return err
	})
	s.mu.Lock()
	delete(s.cache, name)
	s.mu.Unlock()
	return err
}

// List returns all users.
func (s *Service) List(ctx context.Context) ([]*store.User, error) { return s.st.Users(ctx) }

// Get returns one user.
func (s *Service) Get(ctx context.Context, name string) (*store.User, error) {
	return s.st.User(ctx, normName(name))
}

func (s *Service) hash(password string) (string, error) {
	if len(password) < MinPasswordLength {
		return "", fmt.Errorf("%w: password shorter than %d characters", ErrInvalid, MinPasswordLength)
	}
	if len(password) > 72 {
		return "", fmt.Errorf("%w: password longer than 72 bytes (bcrypt's limit)", ErrInvalid)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// HasRole reports whether u holds role. Admins are not implicitly officers:
// deciding on held mail is a separate duty.
func HasRole(u *store.User, role string) bool { return slices.Contains(u.Roles, role) }

func normName(n string) string { return strings.ToLower(strings.TrimSpace(n)) }

func checkName(n string) error {
	if n == "" || len(n) > 254 || strings.ContainsAny(n, " \t\r\n\x00:") {
		return fmt.Errorf("%w: user name %q (no spaces, colons or control characters; at most 254 bytes)", ErrInvalid, n)
	}
	return nil
}

func checkRoles(roles []string) ([]string, error) {
	var out []string
	for _, r := range roles {
		r = strings.ToLower(strings.TrimSpace(r))
		switch r {
		case RoleSender, RoleOfficer, RoleAdmin:
		default:
			return nil, fmt.Errorf("%w: role %q (sender, officer or admin)", ErrInvalid, r)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		out = []string{RoleSender}
	}
	return out, nil
}

func checkAddresses(addrs []string) ([]string, error) {
	var out []string
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		at := strings.LastIndexByte(a, '@')
		if at <= 0 || at == len(a)-1 || strings.ContainsAny(a, " \t<>\r\n") {
			return nil, fmt.Errorf("%w: address %q", ErrInvalid, a)
		}
		// Domains are case-insensitive; local parts are compared
		// case-insensitively too, as every mail system here does.
		a = strings.ToLower(a)
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}
