// Package testenv finds the programs and services that tests use beyond Go
// (swaks, Chromium, PostgreSQL, Postfix's smtp-source). When one is missing,
// a test is skipped on a developer's machine but fails when the CI
// environment variable is set (.ci/run sets it), so that CI can never pass
// by skipping. scripts/test-deps.sh installs all of them.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// InCI reports whether the tests run in CI, where nothing may be skipped
// for a missing tool.
func InCI() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("CI"))) {
	case "", "0", "false", "no":
		return false
	}
	return true
}

// Missing ends the test because something it needs is not there: a skip
// outside CI, a failure in CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s; CI is set, so a missing test dependency is a failure (scripts/test-deps.sh installs it)", msg)
	}
	t.Skipf("%s (scripts/test-deps.sh installs it)", msg)
}

// Program returns the path of an executable on PATH, or ends the test
// through Missing. pkg names the Debian package that has it.
func Program(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s not installed (Debian package %s)", name, pkg)
	}
	return path
}
