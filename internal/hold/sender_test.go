package hold

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLinks(t *testing.T) {
	t.Parallel()
	if _, err := NewLinks([]byte("short")); err == nil {
		t.Error("short key accepted")
	}
	l, _ := NewLinks([]byte("0123456789abcdef0123456789abcdef"))
	other, _ := NewLinks([]byte("fedcba9876543210fedcba9876543210"))
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	tok := l.Sign("06eavrgnn0tbt15h2kgg", now.Add(time.Hour))
	if id, err := l.Verify(tok, now); err != nil || id != "06eavrgnn0tbt15h2kgg" {
		t.Fatalf("verify: %q %v", id, err)
	}
	bad := []string{
		"",
		tok + "A",
		strings.Replace(tok, "06eavrgnn0tbt15h2kgg", "06eavrgnn0tbt15h2kgh", 1), // another message
		strings.Replace(tok, ".", ".1", 1),                                      // later expiry
		other.Sign("06eavrgnn0tbt15h2kgg", now.Add(time.Hour)),                  // another key
		"06eavrgnn0tbt15h2kgg..",
		strings.Repeat("a", 300),
	}
	for _, b := range bad {
		if _, err := l.Verify(b, now); !errors.Is(err, ErrBadLink) {
			t.Errorf("%q: %v", b, err)
		}
	}
	if _, err := l.Verify(tok, now.Add(time.Hour)); !errors.Is(err, ErrBadLink) {
		t.Errorf("expired link: %v", err)
	}
	var nilLinks *Links
	if _, err := nilLinks.Verify(tok, now); !errors.Is(err, ErrBadLink) {
		t.Errorf("no key configured: %v", err)
	}
}
