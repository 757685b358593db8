package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

// decodeAll decodes text over cfg key by key, so that one wrong value
// does not hide the next: every type or value error and every unknown
// key is reported, each with its line. Keys are decoded in the order of
// the file.
//
// Unknown keys are the ones the TOML decoder leaves undecoded
// (MetaData.Undecoded) when the file is decoded into the config's shape;
// the walk that follows places each one in its table (numbering array
// tables) and finds its line.
func decodeAll(text string, cfg *Config, c *Checker, lines lineIndex) error {
	var top map[string]toml.Primitive
	md, err := toml.Decode(text, &top)
	if err != nil {
		return err
	}
	d := &decoder{md: md, c: c, lines: lines}
	d.undecoded = undecodedKeys(text, reflect.TypeFor[Config]())
	d.table(top, reflect.ValueOf(cfg).Elem(), "")
	return nil
}

type decoder struct {
	md        toml.MetaData
	c         *Checker
	lines     lineIndex
	undecoded map[string]bool // keys without array indices: "policy.rule.reasom"
}

// undecodedKeys decodes text into the shape of t, a struct whose every
// value is kept as a toml.Primitive, and returns the keys that no field
// took. Values are not decoded, so a wrong type does not stop it; a value
// that should be a table but is not stops the descent there (the walk
// reports it).
func undecodedKeys(text string, t reflect.Type) map[string]bool {
	v := reflect.New(shapeOf(t))
	md, err := toml.Decode(text, v.Interface())
	if err != nil {
		return nil
	}
	descend(&md, v.Elem(), t)
	out := map[string]bool{}
	for _, k := range md.Undecoded() {
		out[k.String()] = true
	}
	return out
}

// descend decodes the tables below v (a value of shapeOf(t)) into their
// own shapes, so that their keys count as decoded.
func descend(md *toml.MetaData, v reflect.Value, t reflect.Type) {
	j := 0
	for i := 0; i < t.NumField(); i++ {
		if tomlName(t.Field(i)) == "" {
			continue
		}
		ft, fv := t.Field(i).Type, v.Field(j)
		j++
		switch {
		case isTable(ft):
			sub := reflect.New(shapeOf(ft))
			p := fv.Interface().(toml.Primitive)
			if !fv.IsZero() && md.PrimitiveDecode(p, sub.Interface()) == nil {
				descend(md, sub.Elem(), ft)
			}
		case ft.Kind() == reflect.Slice && isTable(ft.Elem()):
			for n := 0; n < fv.Len(); n++ {
				sub := reflect.New(shapeOf(ft.Elem()))
				if md.PrimitiveDecode(fv.Index(n).Interface().(toml.Primitive), sub.Interface()) == nil {
					descend(md, sub.Elem(), ft.Elem())
				}
			}
		}
	}
}

var (
	primitiveType = reflect.TypeFor[toml.Primitive]()
	shapes        sync.Map // reflect.Type → its shape
)

// shapeOf returns a struct type with t's TOML keys, each value a
// toml.Primitive (a list of them for an array of tables).
func shapeOf(t reflect.Type) reflect.Type {
	if s, ok := shapes.Load(t); ok {
		return s.(reflect.Type)
	}
	var fields []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		name := tomlName(t.Field(i))
		if name == "" {
			continue
		}
		ft := primitiveType
		if f := t.Field(i).Type; f.Kind() == reflect.Slice && isTable(f.Elem()) {
			ft = reflect.SliceOf(primitiveType)
		}
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: ft,
			Tag: reflect.StructTag(fmt.Sprintf("toml:%q", name))})
	}
	s := reflect.StructOf(fields)
	shapes.Store(t, s)
	return s
}

// tomlName is the key of a struct field, "" for a field that is none.
func tomlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "-" {
		return ""
	}
	return name
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
		name := tomlName(v.Type().Field(i))
		if name == "" {
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
		// The decoder matches a key that differs from a field only in case
		// to that field; here it is unknown all the same.
		if d.undecoded[unindexed(key)] || !ok {
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

// unindexed drops the array indices from a key path, as TOML keys are
// written: "policy.rule[1].reason" → "policy.rule.reason".
func unindexed(key string) string { return indexRe.ReplaceAllString(key, "") }

var indexRe = regexp.MustCompile(`\[\d+\]`)

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
			d.typeError(key, p, t, err)
			return
		}
		d.table(sub, v, key+".")
	case t.Kind() == reflect.Slice && isTable(t.Elem()):
		var subs []map[string]toml.Primitive
		if !d.shape(p, key, "a list of tables ([["+key+"]])") {
			return
		}
		if err := d.md.PrimitiveDecode(p, &subs); err != nil {
			d.typeError(key, p, t, err)
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
			d.typeError(key, p, t, err)
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
		d.c.AddLine(key, d.lines.line(key), err.Error(), "see this key in config/egressguard.toml")
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

// typeError records a value that did not decode, in words. A value of the
// wrong kind is named as such; any other error is the decoder's message
// about the value (a bad duration, a number out of range).
func (d *decoder) typeError(key string, p toml.Primitive, t reflect.Type, err error) {
	msg := err.Error()
	var x any
	if d.md.PrimitiveDecode(p, &x) == nil {
		if have, want, bad := mismatch(x, t); bad {
			msg = fmt.Sprintf("wrong type: the value is %s, but this key takes %s", have, want)
		} else if perr := (toml.ParseError{}); errors.As(err, &perr) {
			msg = perr.Message
		}
	}
	d.c.AddLine(key, d.lines.line(key), msg, "see this key in config/egressguard.toml")
}

// mismatch reports whether the TOML value x is of a kind that t cannot
// take, naming both for people.
func mismatch(x any, t reflect.Type) (have, want string, bad bool) {
	p := reflect.PointerTo(t)
	switch {
	case p.Implements(tomlUnmarshaler):
		return "", "", false
	case p.Implements(textUnmarshaler):
		switch x.(type) {
		case string, int64, float64, bool:
			return "", "", false
		}
		return tomlKind(x), "a string", true
	}
	ok := false
	switch k := t.Kind(); {
	case k == reflect.String:
		_, ok = x.(string)
	case k >= reflect.Int && k <= reflect.Uint64:
		_, ok = x.(int64)
	case k == reflect.Float32 || k == reflect.Float64:
		switch x.(type) {
		case int64, float64:
			ok = true
		}
	case k == reflect.Bool:
		_, ok = x.(bool)
	case k == reflect.Slice || k == reflect.Array:
		list, isList := x.([]any)
		if !isList {
			break
		}
		for _, e := range list {
			if have, want, bad := mismatch(e, t.Elem()); bad {
				return have, want, true
			}
		}
		ok = true
	case k == reflect.Map:
		_, ok = x.(map[string]any)
	case k == reflect.Interface:
		ok = true
	}
	if ok {
		return "", "", false
	}
	return tomlKind(x), typeWord(t.Kind().String()), true
}

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
