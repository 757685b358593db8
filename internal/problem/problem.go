// Package problem lists what is wrong with a configuration. Each Problem
// names the key it is about, says what is wrong and hints at the fix; a
// List collects every problem found, so that an operator sees them all at
// once. The config loader, the policy compiler and the share-link
// catalogue report through it, so one list carries the problems of a whole
// file. It imports nothing of ours.
package problem

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	Key  string // the key path, e.g. "smtp.listen" or "rule[2].subject_regex[0]"
	Line int    // where the key is written; 0 if not known
	What string
	Hint string
}

func (p Problem) String() string {
	s := p.Key
	if p.Line > 0 {
		s += fmt.Sprintf(" (line %d)", p.Line)
	}
	s += ": " + p.What
	if p.Hint != "" {
		s += " (hint: " + p.Hint + ")"
	}
	return s
}

// List collects problems in the order they are found.
type List []Problem

// Add records a problem without a line.
func (l *List) Add(key, what, hint string) {
	*l = append(*l, Problem{Key: key, What: what, Hint: hint})
}

// Prefixed returns the problems with prefix before each key, for a part
// of a configuration checked on its own ("policy." + "rule[0].name").
func (l List) Prefixed(prefix string) List {
	out := make(List, len(l))
	for i, p := range l {
		p.Key = prefix + p.Key
		out[i] = p
	}
	return out
}

// SortByLine orders the problems as the file is written; problems without
// a line (a missing key) go last, in the order found.
func (l List) SortByLine() {
	slices.SortStableFunc(l, func(a, b Problem) int {
		switch {
		case a.Line == b.Line:
			return 0
		case a.Line == 0:
			return 1
		case b.Line == 0:
			return -1
		}
		return cmp.Compare(a.Line, b.Line)
	})
}

// Err returns the problems as an *Error from source with kind, or nil if
// there are none.
func (l List) Err(source string, kind error) error {
	if len(l) == 0 {
		return nil
	}
	return &Error{Source: source, Problems: l, Kind: kind}
}

// Error is a List returned as an error.
type Error struct {
	Source   string // what was checked: a file name, "policy"
	Problems List
	Kind     error // a sentinel that errors.Is finds; may be nil
}

// Error names the source, counts the problems and lists one per line.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s):", e.Source, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns Kind, so that errors.Is(err, policy.ErrInvalid) works.
func (e *Error) Unwrap() error { return e.Kind }
