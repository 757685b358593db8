package config

import (
	"encoding"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// decodeAll decodes text over cfg key by key, so that one wrong value
// does not hide the next: every type or value error and every unknown
// key is reported, each with its line. Keys are decoded in the order of
// the file.
func decodeAll(text string, cfg *Config, c *Checker, lines lineIndex) error {
	var top map[string]toml.Primitive
	md, err := toml.Decode(text, &top)
	if err != nil {
		return err
	}
	d := &decoder{md: md, c: c, lines: lines}
	d.table(top, reflect.ValueOf(cfg).Elem(), "")
	return nil
}

type decoder struct {
	md    toml.MetaData
	c     *Checker
	lines lineIndex
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	tomlUnmarshaler = reflect.TypeFor[toml.Unmarshaler]()
)

// isTable reports whether t is decoded key by key (a struct that does not
// decode itself).
func isTable(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	p := reflect.PointerTo(t)
	return !p.Implements(textUnmarshaler) && !p.Implements(tomlUnmarshaler)
}

// table decodes the keys of one TOML table into the struct v.
func (d *decoder) table(prims map[string]toml.Primitive, v reflect.Value, path string) {
	fields := map[string]int{}
	var names []string
	for i := 0; i < v.NumField(); i++ {
		tag := v.Type().Field(i).Tag.Get("toml")
		name, _, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	keys := make([]string, 0, len(prims))
	for k := range prims {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		li, lj := d.lines.line(path+keys[i]), d.lines.line(path+keys[j])
		if li != lj {
			return li < lj
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		key := path + k
		i, ok := fields[k]
		if !ok {
			hint := "check the spelling against config/egressguard.toml"
			if s := closest(k, names); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			d.c.AddLine(key, d.lines.line(key), "unknown key", hint)
			continue
		}
		d.value(prims[k], v.Field(i), key)
	}
}

// value decodes one value into v.
func (d *decoder) value(p toml.Primitive, v reflect.Value, key string) {
	t := v.Type()
	switch {
	case isTable(t):
		var sub map[string]toml.Primitive
		if !d.shape(p, key, "a table ([section])") {
			return
		}
		if err := d.md.PrimitiveDecode(p, &sub); err != nil {
			d.typeError(key, err)
			return
		}
		d.table(sub, v, key+".")
	case t.Kind() == reflect.Slice && isTable(t.Elem()):
		var subs []map[string]toml.Primitive
		if !d.shape(p, key, "a list of tables ([["+key+"]])") {
			return
		}
		if err := d.md.PrimitiveDecode(p, &subs); err != nil {
			d.typeError(key, err)
			return
		}
		out := reflect.MakeSlice(t, len(subs), len(subs))
		for i, sub := range subs {
			d.table(sub, out.Index(i), fmt.Sprintf("%s[%d].", key, i))
		}
		v.Set(out)
	default:
		nv := reflect.New(t)
		if err := d.md.PrimitiveDecode(p, nv.Interface()); err != nil {
			d.typeError(key, err)
			return
		}
		v.Set(nv.Elem())
	}
}

// shape checks that a value meant to be a table (or a list of tables) is
// one; the decoder would otherwise let a plain value through silently.
func (d *decoder) shape(p toml.Primitive, key, want string) bool {
	var x any
	if err := d.md.PrimitiveDecode(p, &x); err != nil {
		d.typeError(key, err)
		return false
	}
	switch x.(type) {
	case map[string]any:
		if strings.HasPrefix(want, "a table") {
			return true
		}
	case []map[string]any:
		if strings.HasPrefix(want, "a list") {
			return true
		}
	}
	d.c.AddLine(key, d.lines.line(key), fmt.Sprintf("must be %s, not %s", want, tomlKind(x)), "see this key in config/egressguard.toml")
	return false
}

func tomlKind(x any) string {
	switch x.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case bool:
		return "true or false"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return "another type"
}

var tomlErrPrefix = regexp.MustCompile(`^toml: (?:line \d+ )?(?:\(last key "[^"]*"\): )?`)

// typeError records a value that did not decode, in words.
func (d *decoder) typeError(key string, err error) {
	msg := tomlErrPrefix.ReplaceAllString(err.Error(), "")
	if m := typeErrRe.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("wrong type: the value is %s, but this key takes %s", typeWord(m[1]), typeWord(m[2]))
	}
	d.c.AddLine(key, d.lines.line(key), msg, "see this key in config/egressguard.toml")
}

var typeErrRe = regexp.MustCompile(`^incompatible types: TOML value has type (\S+); destination has type (\S+)$`)

// typeWord names a TOML or Go type for people.
func typeWord(t string) string {
	switch {
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), t == "integer":
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]"), t == "array", t == "slice":
		return "a list"
	case strings.HasPrefix(t, "map"), t == "struct", t == "table":
		return "a table"
	}
	return t
}

// closest returns the name nearest to k (at most a third of its letters
// off, and at most 3), or "".
func closest(k string, names []string) string {
	best, bestD := "", 4
	for _, n := range names {
		dist := levenshtein(strings.ToLower(k), n)
		if dist < bestD && dist <= max(1, len(k)/3) {
			best, bestD = n, dist
		}
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// lineIndex maps key paths ("smtp.listen", "policy.rule[1].name",
// "policy.rule[1]" for the table header) to the line they are written
// on. It reads the file's structure line by line: table headers, array
// table headers (counted), and "key =" lines; multi-line strings and
// arrays are skipped. It serves error messages only, so a key it cannot
// place has line 0 and is reported without one.
type lineIndex map[string]int

func (l lineIndex) line(key string) int {
	for k := key; k != ""; {
		if n, ok := l[k]; ok {
			return n
		}
		i := strings.LastIndexAny(k, ".[")
		if i <= 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

var (
	headerRe  = regexp.MustCompile(`^\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$`)
	arrayRe   = regexp.MustCompile(`^\[\[\s*([^\[\]]+?)\s*\]\]\s*(?:#.*)?$`)
	keyLineRe = regexp.MustCompile(`^("[^"]*"|'[^']*'|[A-Za-z0-9_.\-" ']+?)\s*=`)
)

func indexLines(text string) lineIndex {
	idx := lineIndex{}
	counts := map[string]int{}
	prefix := ""
	inMulti := "" // the closing quote of a multi-line string we are in
	depth := 0    // open brackets of a multi-line array or inline table
	for n, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if inMulti != "" {
			if strings.Count(line, inMulti)%2 == 1 {
				inMulti = ""
			}
			continue
		}
		if depth > 0 {
			depth += bracketDepth(line)
			continue
		}
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case arrayRe.MatchString(line):
			name := normKey(arrayRe.FindStringSubmatch(line)[1])
			// An array table nested in another is numbered within
			// the current element of its parent.
			full := name
			for p := range counts {
				if strings.HasPrefix(name, p+".") {
					full = fmt.Sprintf("%s[%d]%s", p, counts[p]-1, name[len(p):])
				}
			}
			i := counts[name]
			counts[name] = i + 1
			prefix = fmt.Sprintf("%s[%d].", full, i)
			idx[strings.TrimSuffix(prefix, ".")] = n + 1
			continue
		case headerRe.MatchString(line):
			name := normKey(headerRe.FindStringSubmatch(line)[1])
			prefix = name + "."
			if _, ok := idx[name]; !ok {
				idx[name] = n + 1
			}
			continue
		}
		m := keyLineRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key := prefix + normKey(m[1])
		if _, ok := idx[key]; !ok {
			idx[key] = n + 1
		}
		rest := line[len(m[0]):]
		for _, q := range []string{`"""`, `'''`} {
			if strings.Count(rest, q)%2 == 1 {
				inMulti = q
			}
		}
		if inMulti == "" {
			depth = bracketDepth(rest)
		}
	}
	return idx
}

// bracketDepth counts the brackets a line opens minus those it closes,
// outside strings and comments.
func bracketDepth(s string) int {
	d := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote != 0:
			if ch == '\\' && quote == '"' {
				i++
			} else if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == '#':
			return d
		case ch == '[' || ch == '{':
			d++
		case ch == ']' || ch == '}':
			d--
		}
	}
	return max(d, 0)
}

// normKey removes spaces and quotes from a dotted key.
func normKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}
