// Package route assigns held mail to a sender group: each group has its
// own officers, who are told about its holds, and backup officers, who
// are told once when a hold has waited too long without a decision.
// Groups come from the config today; Router takes them as plain values
// so that a directory can supply them later.
package route

import (
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/store"
)

// Group is one sender group.
type Group struct {
	Name string
	// Senders: user names ("alice"), addresses ("alice@example.jp"),
	// domains ("@sales.example.jp" or "sales.example.jp") or "*" for
	// every sender.
	Senders  []string
	Officers []string // addresses told about each new hold
	Backup   []string // addresses told once when a hold waits EscalateAfter
	// EscalateAfter: 0 never escalates.
	EscalateAfter time.Duration
}

// Router finds the group of a message: the first group listing its
// authenticated user, its envelope sender, or the sender's domain, in
// that order of precedence within each group, groups in config order.
type Router struct{ groups []Group }

// New returns a Router over groups (in order).
func New(groups []Group) *Router { return &Router{groups: groups} }

// Groups returns the groups in order.
func (r *Router) Groups() []Group {
	if r == nil {
		return nil
	}
	return r.groups
}

// For returns the group of m, or nil.
func (r *Router) For(m *store.Message) *Group {
	if r == nil {
		return nil
	}
	user := strings.ToLower(m.AuthUser)
	from := strings.ToLower(m.From)
	domain := ""
	if at := strings.LastIndexByte(from, '@'); at >= 0 {
		domain = from[at+1:]
	}
	for i := range r.groups {
		g := &r.groups[i]
		for _, s := range g.Senders {
			s = strings.ToLower(strings.TrimSpace(s))
			switch {
			case s == "*":
				return g
			case strings.Contains(s, "@") && !strings.HasPrefix(s, "@"):
				if s == from {
					return g
				}
			case strings.HasPrefix(s, "@") || strings.Contains(s, "."):
				d := strings.TrimPrefix(s, "@")
				if domain != "" && (domain == d || strings.HasSuffix(domain, "."+d)) {
					return g
				}
			default:
				if user != "" && s == user {
					return g
				}
			}
		}
	}
	return nil
}

// Officers returns the officers of m's group, or nil.
func (r *Router) Officers(m *store.Message) []string {
	if g := r.For(m); g != nil {
		return g.Officers
	}
	return nil
}
