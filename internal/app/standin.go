package app

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/account"
	"github.com/egressguard/egressguard/internal/store"
)

// standIns applies officers' absences to notice recipients: while an
// officer is away (account.SetDelegate), notices to their addresses go
// to their delegate's address instead. A loop reads the map from the
// accounts every standInEvery, so a delegation counts within seconds on
// every instance sharing the store; apply itself never reads the store,
// because notices are composed inside the transaction that accepts a
// message.
type standIns struct {
	st  store.Store
	now func() time.Time
	log *zap.Logger

	mu sync.Mutex
	m  map[string]string // lower-case address → delegate's address
}

const standInEvery = 15 * time.Second

func (s *standIns) refresh(ctx context.Context) {
	users, err := s.st.Users(ctx)
	if err != nil {
		s.log.Warn("reading delegations failed; notices go to the officers themselves", zap.Error(err))
		return
	}
	byName := make(map[string]*store.User, len(users))
	for _, u := range users {
		byName[u.Name] = u
	}
	now := s.now()
	m := map[string]string{}
	for _, u := range users {
		d, ok := account.Away(u, now)
		if !ok {
			continue
		}
		du := byName[d]
		if du == nil || du.Disabled || len(du.Addresses) == 0 {
			continue
		}
		for _, a := range u.Addresses {
			m[strings.ToLower(a)] = du.Addresses[0]
		}
	}
	s.mu.Lock()
	s.m = m
	s.mu.Unlock()
}

// apply returns addrs with away officers replaced by their delegates,
// without duplicates.
func (s *standIns) apply(addrs []string) []string {
	if len(addrs) == 0 {
		return addrs
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(addrs))
	seen := map[string]bool{}
	for _, a := range addrs {
		if d, ok := s.m[strings.ToLower(a)]; ok {
			a = d
		}
		if !seen[strings.ToLower(a)] {
			seen[strings.ToLower(a)] = true
			out = append(out, a)
		}
	}
	return out
}
