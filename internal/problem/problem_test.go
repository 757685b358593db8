package problem

import (
	"errors"
	"testing"
)

func TestErrorListsEveryProblemInFileOrder(t *testing.T) {
	errBad := errors.New("bad")
	var l List
	if l.Err("x.toml", errBad) != nil {
		t.Fatal("an empty list must be no error")
	}
	l.Add("store.dsn", "required", "e.g. postgres://")
	l = append(l, Problem{Key: "smtp.listen", Line: 7, What: "not host:port"})
	l = append(l, Problem{Key: "hostname", Line: 2, What: "must not be empty", Hint: "a name"})
	l.SortByLine()
	err := l.Err("x.toml", errBad)
	want := "x.toml: 3 problem(s):\n" +
		"  hostname (line 2): must not be empty (hint: a name)\n" +
		"  smtp.listen (line 7): not host:port\n" +
		"  store.dsn: required (hint: e.g. postgres://)"
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err, want)
	}
	if !errors.Is(err, errBad) {
		t.Error("errors.Is does not find the kind")
	}
	var pe *Error
	if !errors.As(err, &pe) || len(pe.Problems) != 3 {
		t.Errorf("errors.As: %v", pe)
	}
}

func TestPrefixedLeavesTheOriginal(t *testing.T) {
	l := List{{Key: "rule[0].name", What: "x"}}
	p := l.Prefixed("policy.")
	if p[0].Key != "policy.rule[0].name" || l[0].Key != "rule[0].name" {
		t.Errorf("got %q, original %q", p[0].Key, l[0].Key)
	}
}
