package console

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/egressguard/egressguard/internal/store"
)

// memStore is an in-memory store for the handler tests: every Update runs
// on a copy of the state that replaces the state only if the function
// succeeds, like a transaction, and Updates are serialised.
type memStore struct {
	wmu sync.Mutex // serialises Updates
	mu  sync.Mutex // guards s; reads inside an Update see the last commit
	s   *memState

	failUpdate error // when set, Update fails with it
}

type memState struct {
	msgs      map[string]*store.Message
	bodies    map[string][]byte
	users     map[string]*store.User
	decisions []*store.Decision
	audit     []*store.AuditEntry
	sessions  map[string]*store.Session
	tokens    map[string]*store.Token
}

func newMemStore() *memStore {
	return &memStore{s: &memState{msgs: map[string]*store.Message{}, bodies: map[string][]byte{},
		users: map[string]*store.User{}, sessions: map[string]*store.Session{}, tokens: map[string]*store.Token{}}}
}

func (s *memState) clone() *memState {
	return &memState{
		msgs: maps.Clone(s.msgs), bodies: maps.Clone(s.bodies), users: maps.Clone(s.users),
		decisions: slices.Clone(s.decisions), audit: slices.Clone(s.audit),
		sessions: maps.Clone(s.sessions), tokens: maps.Clone(s.tokens),
	}
}

func cp[T any](v *T) *T { c := *v; return &c }

func cpMsg(m *store.Message) *store.Message {
	c := *m
	c.Rcpts = slices.Clone(m.Rcpts)
	c.Status = slices.Clone(m.Status)
	c.Verdict = slices.Clone(m.Verdict)
	return &c
}

type memTx struct {
	s    *memState
	done bool
}

var errTxDone = errors.New("memstore: transaction finished")

func (m *memStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.wmu.Lock()
	defer m.wmu.Unlock()
	m.mu.Lock()
	fail, cur := m.failUpdate, m.s
	m.mu.Unlock()
	if fail != nil {
		return fail
	}
	tx := &memTx{s: cur.clone()}
	err := fn(tx)
	tx.done = true
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.s = tx.s
	m.mu.Unlock()
	return nil
}

func (m *memStore) state() *memState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.s
}

func (m *memStore) Message(ctx context.Context, id string) (*store.Message, error) {
	if v, ok := m.state().msgs[id]; ok {
		return cpMsg(v), nil
	}
	return nil, store.ErrNotFound
}

func (m *memStore) Body(ctx context.Context, id string) ([]byte, error) {
	if b, ok := m.state().bodies[id]; ok {
		return slices.Clone(b), nil
	}
	return nil, store.ErrNotFound
}

func (m *memStore) List(ctx context.Context, f store.Filter) ([]*store.Message, error) {
	var out []*store.Message
	for _, v := range m.state().msgs {
		if len(f.States) > 0 && !slices.Contains(f.States, v.State) {
			continue
		}
		if f.AuthUser != "" && v.AuthUser != f.AuthUser {
			continue
		}
		if f.From != "" && !strings.EqualFold(v.From, f.From) {
			continue
		}
		out = append(out, cpMsg(v))
	}
	slices.SortFunc(out, func(a, b *store.Message) int {
		if f.Ascending {
			return a.Received.Compare(b.Received)
		}
		return b.Received.Compare(a.Received)
	})
	return out, nil
}

func (m *memStore) Count(ctx context.Context) (map[store.State]int, error) {
	out := map[store.State]int{}
	for _, v := range m.state().msgs {
		out[v.State]++
	}
	return out, nil
}

func (m *memStore) NextDue(ctx context.Context) (time.Time, error) { return time.Time{}, nil }

func (m *memStore) User(ctx context.Context, name string) (*store.User, error) {
	if u, ok := m.state().users[name]; ok {
		return cp(u), nil
	}
	return nil, store.ErrNotFound
}

func (m *memStore) Users(ctx context.Context) ([]*store.User, error) {
	var out []*store.User
	for _, u := range m.state().users {
		out = append(out, cp(u))
	}
	return out, nil
}

func (m *memStore) Ping(ctx context.Context) error { return nil }
func (m *memStore) Close() error                   { return nil }

func (m *memStore) Decisions(ctx context.Context, msgID string) ([]*store.Decision, error) {
	return decisionsOf(m.state(), msgID), nil
}

func decisionsOf(s *memState, msgID string) []*store.Decision {
	var out []*store.Decision
	for _, d := range s.decisions {
		if d.MsgID == msgID {
			out = append(out, cp(d))
		}
	}
	return out
}

func (m *memStore) DecisionsSince(ctx context.Context, kind string, since time.Time) ([]*store.Decision, error) {
	var out []*store.Decision
	for _, d := range m.state().decisions {
		if d.Kind == kind && !d.At.Before(since) {
			out = append(out, cp(d))
		}
	}
	return out, nil
}

func (m *memStore) Audit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEntry, error) {
	var out []*store.AuditEntry
	for _, e := range m.state().audit {
		if e.Seq <= f.AfterSeq || (f.MsgID != "" && e.MsgID != f.MsgID) || (f.Actor != "" && e.Actor != f.Actor) {
			continue
		}
		out = append(out, cp(e))
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

func (m *memStore) AllowEntries(ctx context.Context) ([]*store.AllowEntry, error) { return nil, nil }
func (m *memStore) Generation(ctx context.Context, name string) (int64, error)    { return 0, nil }

func (m *memStore) Session(ctx context.Context, id string) (*store.Session, error) {
	if v, ok := m.state().sessions[id]; ok {
		return cp(v), nil
	}
	return nil, store.ErrNotFound
}

func (m *memStore) Token(ctx context.Context, id string) (*store.Token, error) {
	if v, ok := m.state().tokens[id]; ok {
		return cp(v), nil
	}
	return nil, store.ErrNotFound
}

func (m *memStore) Tokens(ctx context.Context, user string) ([]*store.Token, error) {
	var out []*store.Token
	for _, t := range m.state().tokens {
		if t.User == user {
			out = append(out, cp(t))
		}
	}
	return out, nil
}

func (m *memStore) Purgeable(ctx context.Context, states []store.State, before time.Time, limit int) ([]string, error) {
	return nil, nil
}

func (t *memTx) check() error {
	if t.done {
		return errTxDone
	}
	return nil
}

func (t *memTx) InsertMessage(m *store.Message, body []byte) error {
	if err := t.check(); err != nil {
		return err
	}
	if _, ok := t.s.msgs[m.ID]; ok {
		return store.ErrExists
	}
	t.s.msgs[m.ID] = cpMsg(m)
	t.s.bodies[m.ID] = slices.Clone(body)
	return nil
}

func (t *memTx) UpdateMessage(m *store.Message, from store.State) error {
	if err := t.check(); err != nil {
		return err
	}
	cur, ok := t.s.msgs[m.ID]
	if !ok {
		return store.ErrNotFound
	}
	if cur.State != from {
		return store.ErrConflict
	}
	t.s.msgs[m.ID] = cpMsg(m)
	return nil
}

func (t *memTx) DeleteBody(id string) error {
	delete(t.s.bodies, id)
	return t.check()
}

func (t *memTx) ClaimDue(now time.Time, owner string, until time.Time, limit int) ([]*store.Message, error) {
	return nil, errors.New("memstore: ClaimDue not implemented")
}

func (t *memTx) ReleaseOwner(owner string, now time.Time) (int, error) { return 0, nil }

func (t *memTx) PutUser(u *store.User) error {
	t.s.users[u.Name] = cp(u)
	return t.check()
}

func (t *memTx) InsertUser(u *store.User) error {
	if _, ok := t.s.users[u.Name]; ok {
		return store.ErrExists
	}
	return t.PutUser(u)
}

func (t *memTx) Message(id string) (*store.Message, error) {
	if v, ok := t.s.msgs[id]; ok {
		return cpMsg(v), nil
	}
	return nil, store.ErrNotFound
}

func (t *memTx) Decisions(msgID string) ([]*store.Decision, error) {
	return decisionsOf(t.s, msgID), nil
}

func (t *memTx) AddDecision(d *store.Decision) error {
	t.s.decisions = append(t.s.decisions, cp(d))
	return t.check()
}

func (t *memTx) LastAudit() (*store.AuditEntry, error) {
	if len(t.s.audit) == 0 {
		return nil, nil
	}
	return cp(t.s.audit[len(t.s.audit)-1]), nil
}

func (t *memTx) InsertAudit(e *store.AuditEntry) error {
	t.s.audit = append(t.s.audit, cp(e))
	return t.check()
}

func (t *memTx) PurgeAudit(before time.Time) (int, error) { return 0, nil }
func (t *memTx) PutAllow(e *store.AllowEntry) error       { return nil }
func (t *memTx) DeleteAllow(id string) error              { return nil }

func (t *memTx) PutSession(s *store.Session) error {
	t.s.sessions[s.ID] = cp(s)
	return t.check()
}

func (t *memTx) DeleteSession(id string) error {
	if _, ok := t.s.sessions[id]; !ok {
		return store.ErrNotFound
	}
	delete(t.s.sessions, id)
	return t.check()
}

func (t *memTx) DeleteUserSessions(user string) error {
	maps.DeleteFunc(t.s.sessions, func(_ string, s *store.Session) bool { return s.User == user })
	return t.check()
}

func (t *memTx) PutToken(tk *store.Token) error {
	t.s.tokens[tk.ID] = cp(tk)
	return t.check()
}

func (t *memTx) DeleteToken(id string) error {
	if _, ok := t.s.tokens[id]; !ok {
		return store.ErrNotFound
	}
	delete(t.s.tokens, id)
	return t.check()
}
