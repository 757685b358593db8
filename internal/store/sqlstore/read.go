package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/store"
)

// Rows are the rows of a query.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Reader is a backend's pool of read connections. SQL is written as for
// SQLite; the backend rewrites it with Dialect.SQL.
type Reader interface {
	// Read bounds a read (PostgreSQL: the store's timeout) and fails with
	// store.ErrClosed once the store is closed.
	Read(ctx context.Context) (context.Context, context.CancelFunc, error)
	// QueryRow runs a query for one row; Scan returns ErrNoRows if there
	// is none.
	QueryRow(ctx context.Context, sql string, args ...any) Scanner
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
	// MapErr translates the driver's errors into the store's sentinels.
	MapErr(err error) error
}

// Reads is every read of store.Store, written once for both databases;
// a backend's Store embeds it.
type Reads struct {
	R      Reader
	D      *Dialect
	Sealer store.Sealer
}

func (r *Reads) errorf(format string, args ...any) error {
	return fmt.Errorf(r.D.Name+": "+format, args...)
}

// one reads one row with scan; ErrNotFound (as notFound says) if none.
func one[T any](r *Reads, ctx context.Context, scan func(Scanner) (*T, error), notFound, what string, q string, args ...any) (*T, error) {
	ctx, cancel, err := r.R.Read(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	v, err := scan(r.R.QueryRow(ctx, q, args...))
	if errors.Is(err, ErrNoRows) {
		return nil, r.errorf("%s: %w", notFound, store.ErrNotFound)
	}
	if err != nil {
		return nil, r.errorf("%s: %w", what, r.R.MapErr(err))
	}
	return v, nil
}

// all reads every row with scan.
func all[T any](r *Reads, ctx context.Context, scan func(Scanner) (*T, error), what string, q string, args ...any) ([]*T, error) {
	ctx, cancel, err := r.R.Read(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	rows, err := r.R.Query(ctx, q, args...)
	if err != nil {
		return nil, r.errorf("%s: %w", what, r.R.MapErr(err))
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, r.errorf("%s: %w", what, r.R.MapErr(err))
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, r.errorf("%s: %w", what, r.R.MapErr(err))
	}
	return out, nil
}

func (r *Reads) Message(ctx context.Context, id string) (*store.Message, error) {
	return one(r, ctx, r.D.scanMessage, "message "+id, "read message "+id,
		`SELECT `+msgColumns+` FROM messages WHERE id = ?`, id)
}

const defaultListLimit = 1000

func (r *Reads) List(ctx context.Context, f store.Filter) ([]*store.Message, error) {
	var (
		q    strings.Builder
		args []any
		and  = " WHERE "
	)
	q.WriteString("SELECT " + msgColumns + " FROM messages")
	if len(f.States) > 0 {
		q.WriteString(and + in("state", len(f.States)))
		for _, st := range f.States {
			args = append(args, string(st))
		}
		and = " AND "
	}
	if f.AuthUser != "" {
		q.WriteString(and + "auth_user = ?")
		args = append(args, f.AuthUser)
		and = " AND "
	}
	if f.From != "" {
		q.WriteString(and + "mail_from = ?")
		args = append(args, r.D.Text(f.From))
		and = " AND "
	}
	if !f.Since.IsZero() {
		q.WriteString(and + "received >= ?")
		args = append(args, Millis(f.Since))
		and = " AND "
	}
	if !f.Before.IsZero() {
		q.WriteString(and + "received < ?")
		args = append(args, Millis(f.Before))
	}
	// The tiebreak keeps the order the same on every call (SQLite's rowid
	// comes free with the index).
	tb := r.D.Tiebreak
	if f.Ascending {
		q.WriteString(" ORDER BY received, " + tb)
	} else {
		q.WriteString(" ORDER BY received DESC, " + tb + " DESC")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	q.WriteString(" LIMIT ?")
	args = append(args, limit)
	return all(r, ctx, r.D.scanMessage, "list messages", q.String(), args...)
}

type stateCount struct {
	state string
	n     int
}

func (r *Reads) Count(ctx context.Context) (map[store.State]int, error) {
	cs, err := all(r, ctx, func(sc Scanner) (*stateCount, error) {
		var c stateCount
		return &c, sc.Scan(&c.state, &c.n)
	}, "count messages", `SELECT state, count(*) FROM messages GROUP BY state`)
	if err != nil {
		return nil, err
	}
	counts := make(map[store.State]int, len(cs))
	for _, c := range cs {
		counts[store.State(c.state)] = c.n
	}
	return counts, nil
}

// NextDue implements store.Store. A due message whose NextAttempt is the
// zero time yields the unix epoch, not the zero time, which would read as
// "nothing due". Same IN list as the partial index messages_due.
func (r *Reads) NextDue(ctx context.Context) (time.Time, error) {
	ctx, cancel, err := r.R.Read(ctx)
	if err != nil {
		return time.Time{}, err
	}
	defer cancel()
	var next sql.NullInt64
	err = r.R.QueryRow(ctx, `SELECT min(next_attempt) FROM messages`+r.D.Hint(" INDEXED BY messages_due")+`
		WHERE state IN ('queued', 'sending', 'delayed')`).Scan(&next)
	if err != nil {
		return time.Time{}, r.errorf("next due: %w", r.R.MapErr(err))
	}
	switch {
	case !next.Valid:
		return time.Time{}, nil
	case next.Int64 == 0:
		return time.UnixMilli(0).UTC(), nil
	}
	return FromMillis(next.Int64), nil
}

func (r *Reads) User(ctx context.Context, name string) (*store.User, error) {
	return one(r, ctx, r.D.scanUser, "user "+name, "read user "+name,
		`SELECT `+userColumns+` FROM users WHERE name = ?`, name)
}

// Users returns every user, sorted by name (byte order: PostgreSQL's
// column has the collation "C").
func (r *Reads) Users(ctx context.Context) ([]*store.User, error) {
	return all(r, ctx, r.D.scanUser, "list users", `SELECT `+userColumns+` FROM users ORDER BY name`)
}

func (r *Reads) Decisions(ctx context.Context, msgID string) ([]*store.Decision, error) {
	return all(r, ctx, r.D.scanDecision, "read decisions of "+msgID,
		`SELECT `+decisionColumns+` FROM decisions WHERE msg_id = ? ORDER BY seq`, msgID)
}

func (r *Reads) DecisionsSince(ctx context.Context, kind string, since time.Time) ([]*store.Decision, error) {
	return all(r, ctx, r.D.scanDecision, "read "+kind+" decisions",
		`SELECT `+decisionColumns+` FROM decisions WHERE kind = ? AND at >= ? ORDER BY at, seq`, kind, Millis(since))
}

// AuditSQL is the query of Audit for a filter, with its arguments. In
// SQLite the indexes on msg_id, actor and at end in the rowid, which is
// seq, so it returns entries in seq order from whichever it picks without
// sorting.
func (d *Dialect) AuditSQL(f store.AuditFilter) (string, []any) {
	var q strings.Builder
	q.WriteString("SELECT " + auditColumns + " FROM audit WHERE seq > ?")
	args := []any{f.AfterSeq}
	if !f.Since.IsZero() {
		q.WriteString(" AND at >= ?")
		args = append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		q.WriteString(" AND at < ?")
		args = append(args, f.Until.UnixMilli())
	}
	if f.MsgID != "" {
		q.WriteString(" AND msg_id = ?")
		args = append(args, d.Text(f.MsgID))
	}
	if f.Actor != "" {
		q.WriteString(" AND actor = ?")
		args = append(args, d.Text(f.Actor))
	}
	q.WriteString(" ORDER BY seq")
	if f.Limit > 0 {
		q.WriteString(" LIMIT ?")
		args = append(args, f.Limit)
	}
	return q.String(), args
}

func (r *Reads) Audit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEntry, error) {
	q, args := r.D.AuditSQL(f)
	return all(r, ctx, r.D.scanAudit, "read audit log", q, args...)
}

func (r *Reads) AllowEntries(ctx context.Context) ([]*store.AllowEntry, error) {
	return all(r, ctx, r.D.scanAllow, "read allowlist", `SELECT `+allowColumns+` FROM allow_entries ORDER BY value, id`)
}

// Generation implements store.RecordStore. It reads the database on every
// call (one primary-key lookup), so a change committed on any instance
// before the call is seen: an instance that polls before each message
// applies an allowlist change to the very next message; one that polls
// every N seconds, within N seconds.
func (r *Reads) Generation(ctx context.Context, name string) (int64, error) {
	ctx, cancel, err := r.R.Read(ctx)
	if err != nil {
		return 0, err
	}
	defer cancel()
	var n int64
	err = r.R.QueryRow(ctx, `SELECT counter FROM generations WHERE name = ?`, name).Scan(&n)
	if errors.Is(err, ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, r.errorf("read generation %s: %w", name, r.R.MapErr(err))
	}
	return n, nil
}

func (r *Reads) Session(ctx context.Context, id string) (*store.Session, error) {
	return one(r, ctx, r.D.scanSession, "session", "read session", `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id)
}

func (r *Reads) Token(ctx context.Context, id string) (*store.Token, error) {
	return one(r, ctx, r.D.scanToken, "token", "read token", `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id)
}

func (r *Reads) Tokens(ctx context.Context, user string) ([]*store.Token, error) {
	if user == "" {
		return all(r, ctx, r.D.scanToken, "read tokens", `SELECT `+tokenColumns+` FROM tokens ORDER BY created, id`)
	}
	return all(r, ctx, r.D.scanToken, "read tokens", `SELECT `+tokenColumns+` FROM tokens WHERE username = ? ORDER BY created, id`, user)
}

// PurgeableSQL is Purgeable's query for n states. It walks the stored
// bodies, not the messages: records are kept forever, bodies only until
// retention removes them, so the bodies' primary key index is the short
// list. SQLite's CROSS JOIN keeps it on that order.
func (d *Dialect) PurgeableSQL(n int) string {
	return `SELECT m.id FROM bodies b ` + d.Hint("CROSS ") + `JOIN messages m ON m.id = b.id
		WHERE ` + in("m.state", n) + ` AND m.updated < ?
		ORDER BY m.updated, m.id LIMIT ?`
}

func (r *Reads) Purgeable(ctx context.Context, states []store.State, before time.Time, limit int) ([]string, error) {
	if len(states) == 0 || limit <= 0 {
		_, cancel, err := r.R.Read(ctx)
		if err != nil {
			return nil, err
		}
		cancel()
		return nil, nil
	}
	args := make([]any, 0, len(states)+2)
	for _, st := range states {
		args = append(args, string(st))
	}
	args = append(args, Millis(before), limit)
	ids, err := all(r, ctx, func(sc Scanner) (*string, error) {
		var id string
		return &id, sc.Scan(&id)
	}, "find purgeable bodies", r.D.PurgeableSQL(len(states)), args...)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = *id
	}
	return out, nil
}

func (r *Reads) Incident(ctx context.Context, id string) (*store.Incident, error) {
	return one(r, ctx, r.D.scanIncident, "incident "+id, "read incident",
		`SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id)
}

func (r *Reads) Incidents(ctx context.Context, f store.IncidentFilter) ([]*store.Incident, error) {
	var (
		where []string
		args  []any
	)
	if f.Reporter != "" {
		where, args = append(where, "reporter = ?"), append(args, f.Reporter)
	}
	if f.MsgID != "" {
		where, args = append(where, "msg_id = ?"), append(args, f.MsgID)
	}
	if len(f.Status) > 0 {
		where = append(where, in("status", len(f.Status)))
		for _, st := range f.Status {
			args = append(args, st)
		}
	}
	q := `SELECT ` + incidentColumns + ` FROM incidents`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	q += " ORDER BY created DESC, " + r.D.Tiebreak + " DESC LIMIT ?"
	args = append(args, limit)
	return all(r, ctx, r.D.scanIncident, "list incidents", q, args...)
}

func (r *Reads) Correspondent(ctx context.Context, sender, rcpt string) (*store.Correspondent, error) {
	return one(r, ctx, r.D.scanCorr, "correspondent", "read correspondent",
		`SELECT `+corrColumns+` FROM correspondents WHERE sender = ? AND rcpt = ?`, sender, rcpt)
}

func (r *Reads) CorrespondentDomain(ctx context.Context, domain string) (*store.CorrespondentDomain, error) {
	return one(r, ctx, r.D.scanCorrDomain, "correspondent domain "+domain, "read correspondent domain "+domain,
		`SELECT `+corrDomainColumns+` FROM correspondent_domains WHERE domain = ?`, domain)
}

func (r *Reads) CorrespondentDomains(ctx context.Context, minCount int64) ([]*store.CorrespondentDomain, error) {
	return all(r, ctx, r.D.scanCorrDomain, "read correspondent domains",
		`SELECT `+corrDomainColumns+` FROM correspondent_domains WHERE deliveries >= ? ORDER BY domain`, minCount)
}

func (r *Reads) Correspondents(ctx context.Context, domain string) ([]*store.Correspondent, error) {
	return all(r, ctx, r.D.scanCorr, "read correspondents of "+domain,
		`SELECT `+corrColumns+` FROM correspondents WHERE domain = ? ORDER BY rcpt, sender`, domain)
}
