package testenv

import (
	"strings"
	"testing"
)

// recorder records how Missing ends a test (Missing calls only Helper,
// Fatalf and Skipf).
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Fatalf(f string, args ...any) { r.fatal = f }
func (r *recorder) Skipf(f string, args ...any)  { r.skip = f }

// Outside CI a missing tool skips; with CI set it fails.
func TestMissing(t *testing.T) {
	for ci, want := range map[string]string{"": "skip", "false": "skip", "0": "skip", "true": "fatal", "1": "fatal", "yes": "fatal"} {
		t.Setenv("CI", ci)
		r := &recorder{TB: t}
		Program(r, "egressguard-no-such-program", "none")
		got := "skip"
		if r.fatal != "" {
			got = "fatal"
		}
		if got != want || (r.fatal == "" && r.skip == "") {
			t.Errorf("CI=%q: %s, want %s", ci, got, want)
		}
		if r.fatal != "" && !strings.Contains(r.fatal, "CI is set") {
			t.Errorf("CI=%q: message %q", ci, r.fatal)
		}
	}
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	if p := Program(r, "go", "golang"); p == "" || r.fatal != "" || r.skip != "" {
		t.Errorf("go not found: %q %q %q", p, r.fatal, r.skip)
	}
}
