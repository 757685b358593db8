package route

import (
	"testing"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
)

func msg(user, from string) *store.Message {
	return &store.Message{Envelope: envelope.Envelope{AuthUser: user, From: from}}
}

func TestFor(t *testing.T) {
	r := New([]Group{
		{Name: "sales", Senders: []string{"@sales.example.jp", "carol"}},
		{Name: "exec", Senders: []string{"ceo@example.jp"}},
		{Name: "rest", Senders: []string{"*"}},
	})
	for _, c := range []struct {
		user, from, want string
	}{
		{"", "bob@sales.example.jp", "sales"},
		{"", "bob@tokyo.sales.example.jp", "sales"},
		{"carol", "carol@example.jp", "sales"},
		{"", "CEO@example.jp", "exec"},
		{"", "someone@example.jp", "rest"},
		{"", "x@notsales.example.jp", "rest"},
	} {
		g := r.For(msg(c.user, c.from))
		if g == nil || g.Name != c.want {
			t.Errorf("%s/%s: %v, want %s", c.user, c.from, g, c.want)
		}
	}
	if g := New([]Group{{Name: "a", Senders: []string{"@a.example"}}}).For(msg("", "x@b.example")); g != nil {
		t.Errorf("unmatched sender in group %s", g.Name)
	}
	var none *Router
	if none.For(msg("", "x@b.example")) != nil {
		t.Error("nil router")
	}
}
