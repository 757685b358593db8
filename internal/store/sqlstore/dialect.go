package sqlstore

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
)

// ErrNoRows is what a backend's QueryRow returns when there is no row,
// whatever its driver calls it.
var ErrNoRows = errors.New("sqlstore: no rows")

// Dialect is what the two databases spell differently. The statements are
// written once, with SQLite's placeholders (? and ?N); SQL rewrites them to
// PostgreSQL's $N when the dialect is Numbered.
type Dialect struct {
	Name string // error prefix: "sqlite", "postgres"
	// Numbered: placeholders are $1, $2, … (PostgreSQL).
	Numbered bool
	// BytesText: text from the network is bound as bytes (PostgreSQL
	// keeps it in bytea).
	BytesText bool
	// SQLite names the indexes and join order the throughput depends on
	// (INDEXED BY, NOT INDEXED, CROSS JOIN); PostgreSQL has no such
	// syntax and plans these queries well without it.
	Hints bool
	// Least and Greatest of two values: min and max in SQLite, LEAST and
	// GREATEST in PostgreSQL.
	Least, Greatest string
	// ForUpdate ends a read in a write transaction that must hold the row
	// until the commit (PostgreSQL: " FOR UPDATE"; SQLite's single writer
	// holds everything).
	ForUpdate string
	// Tiebreak orders rows of equal sort keys in insertion order where
	// it is free (SQLite's rowid), or by a unique key.
	Tiebreak string
	// StringList binds a list of strings for StringListSQL.
	StringList func([]string) any
	// StringListSQL is "col IN list" for one placeholder bound with
	// StringList.
	StringListSQL func(col, placeholder string) string
	// RawBytes: scanning a blob into *sql.RawBytes hands over the driver's
	// copy (database/sql) instead of copying it again.
	RawBytes bool

	rebound sync.Map // SQL with ? → SQL with $N
}

// Text binds text from the network (see MsgArgs).
func (d *Dialect) Text(s string) any {
	if d.BytesText {
		return []byte(s)
	}
	return s
}

// Hint returns h for SQLite and "" for PostgreSQL.
func (d *Dialect) Hint(h string) string {
	if d.Hints {
		return h
	}
	return ""
}

// SQL returns q with its placeholders in the dialect's form. "?N" is
// parameter N; a bare "?" is the one after the highest so far, as in
// SQLite. Question marks inside string literals are left alone.
func (d *Dialect) SQL(q string) string {
	if !d.Numbered {
		return q
	}
	if v, ok := d.rebound.Load(q); ok {
		return v.(string)
	}
	var (
		b       strings.Builder
		highest int
		quoted  bool
	)
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := highest + 1
			if j > i+1 {
				n, _ = strconv.Atoi(q[i+1 : j])
			}
			highest = max(highest, n)
			b.WriteString("$" + strconv.Itoa(n))
			i = j - 1
			continue
		}
		b.WriteByte(c)
	}
	s := b.String()
	d.rebound.Store(q, s)
	return s
}

// Schema returns a migration written once for both databases with the
// column types spelled for d: {key} (text compared byte by byte), {int},
// {blob}, and {strict} after a table's closing parenthesis.
func (d *Dialect) Schema(m string) string {
	var r *strings.Replacer
	if d.Numbered {
		r = strings.NewReplacer("{key}", `text COLLATE "C"`, "{int}", "bigint", "{blob}", "bytea", "{strict}", "")
	} else {
		r = strings.NewReplacer("{key}", "TEXT", "{int}", "INTEGER", "{blob}", "BLOB", "{strict}", " STRICT")
	}
	return r.Replace(m)
}

// BodyChunks is the migration that adds chunked bodies (see chunk.go).
const BodyChunks = `
-- 0: the body is data; n: the body is the n rows of body_chunks.
ALTER TABLE bodies ADD COLUMN chunks {int} NOT NULL DEFAULT 0;

CREATE TABLE body_chunks (
	id   {key} NOT NULL REFERENCES messages (id),
	seq  {int} NOT NULL,
	data {blob} NOT NULL,
	PRIMARY KEY (id, seq)
){strict};
`

// in returns "col IN (?, ?, …)" for n values.
func in(col string, n int) string {
	return col + " IN (?" + strings.Repeat(", ?", n-1) + ")"
}

// SQLite returns the SQLite dialect.
func SQLite() *Dialect {
	return &Dialect{
		Name:     "sqlite",
		Hints:    true,
		Least:    "min",
		Greatest: "max",
		Tiebreak: "rowid",
		RawBytes: true,
		StringList: func(ss []string) any {
			b, _ := json.Marshal(ss)
			return string(b)
		},
		StringListSQL: func(col, p string) string { return col + " IN (SELECT value FROM json_each(" + p + "))" },
	}
}

// Postgres returns the PostgreSQL dialect.
func Postgres() *Dialect {
	return &Dialect{
		Name:          "postgres",
		Numbered:      true,
		BytesText:     true,
		Least:         "LEAST",
		Greatest:      "GREATEST",
		ForUpdate:     " FOR UPDATE",
		Tiebreak:      "id",
		StringList:    func(ss []string) any { return ss },
		StringListSQL: func(col, p string) string { return col + " = ANY(" + p + ")" },
	}
}
