package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/codec"
)

const (
	corrColumns       = `sender, rcpt, domain, first_at, last_at, deliveries`
	corrDomainColumns = `domain, first_at, last_at, deliveries`
)

var correspondentWriterSQL = []struct {
	dst func(*stmts) **sql.Stmt
	sql string
}{
	{func(s *stmts) **sql.Stmt { return &s.addCorr }, `INSERT INTO correspondents (` + corrColumns + `)
		SELECT ?, ?, ?, ?, ?, ? WHERE true
		ON CONFLICT (sender, rcpt) DO UPDATE SET
			first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at),
			deliveries = deliveries + excluded.deliveries`},
	{func(s *stmts) **sql.Stmt { return &s.addCorrDomain }, `INSERT INTO correspondent_domains (` + corrDomainColumns + `)
		SELECT ?, ?, ?, ? WHERE true
		ON CONFLICT (domain) DO UPDATE SET
			first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at),
			deliveries = deliveries + excluded.deliveries`},
	{func(s *stmts) **sql.Stmt { return &s.purgeCorr }, `DELETE FROM correspondents WHERE last_at < ?`},
	{func(s *stmts) **sql.Stmt { return &s.purgeCorrDomains }, `DELETE FROM correspondent_domains WHERE last_at < ?`},
}

var correspondentReadSQL = []struct {
	dst func(*readStmts) **sql.Stmt
	sql string
}{
	{func(r *readStmts) **sql.Stmt { return &r.corr }, `SELECT ` + corrColumns + ` FROM correspondents WHERE sender = ? AND rcpt = ?`},
	{func(r *readStmts) **sql.Stmt { return &r.corrDomain }, `SELECT ` + corrDomainColumns + ` FROM correspondent_domains WHERE domain = ?`},
	{func(r *readStmts) **sql.Stmt { return &r.corrDomains }, `SELECT ` + corrDomainColumns + ` FROM correspondent_domains WHERE deliveries >= ? ORDER BY domain`},
	{func(r *readStmts) **sql.Stmt { return &r.corrsOf }, `SELECT ` + corrColumns + ` FROM correspondents WHERE domain = ? ORDER BY rcpt, sender`},
}

func (t *tx) AddCorrespondent(c *store.Correspondent) error {
	if err := t.check(); err != nil {
		return err
	}
	if err := codec.CheckCorrespondent(c); err != nil {
		return fmt.Errorf("sqlite: add correspondent: %w", err)
	}
	first, last := codec.Millis(c.First), codec.Millis(c.Last)
	if _, err := t.st.addCorr.Exec(c.Sender, c.Rcpt, c.Domain, first, last, c.Count); err != nil {
		return t.fail("add correspondent", err)
	}
	if _, err := t.st.addCorrDomain.Exec(c.Domain, first, last, c.Count); err != nil {
		return t.fail("add correspondent domain", err)
	}
	return nil
}

func (t *tx) PurgeCorrespondents(before time.Time) (int, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	res, err := t.st.purgeCorr.Exec(codec.Millis(before))
	if err != nil {
		return 0, t.fail("purge correspondents", err)
	}
	if _, err := t.st.purgeCorrDomains.Exec(codec.Millis(before)); err != nil {
		return 0, t.fail("purge correspondent domains", err)
	}
	n, err := res.RowsAffected()
	if n > 0 {
		*t.deleted = true
	}
	return int(n), err
}

func scanCorr(r scanner) (*store.Correspondent, error) {
	var c store.Correspondent
	var first, last int64
	if err := r.Scan(&c.Sender, &c.Rcpt, &c.Domain, &first, &last, &c.Count); err != nil {
		return nil, err
	}
	c.First, c.Last = codec.FromMillis(first), codec.FromMillis(last)
	return &c, nil
}

func scanCorrDomain(r scanner) (*store.CorrespondentDomain, error) {
	var d store.CorrespondentDomain
	var first, last int64
	if err := r.Scan(&d.Domain, &first, &last, &d.Count); err != nil {
		return nil, err
	}
	d.First, d.Last = codec.FromMillis(first), codec.FromMillis(last)
	return &d, nil
}

func (s *Store) Correspondent(ctx context.Context, sender, rcpt string) (*store.Correspondent, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	c, err := scanCorr(s.rd.corr.QueryRowContext(ctx, sender, rcpt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: correspondent: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read correspondent: %w", mapErr(err))
	}
	return c, nil
}

func (s *Store) CorrespondentDomain(ctx context.Context, domain string) (*store.CorrespondentDomain, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	d, err := scanCorrDomain(s.rd.corrDomain.QueryRowContext(ctx, domain))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: correspondent domain %s: %w", domain, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read correspondent domain %s: %w", domain, mapErr(err))
	}
	return d, nil
}

func (s *Store) CorrespondentDomains(ctx context.Context, minCount int64) ([]*store.CorrespondentDomain, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.rd.corrDomains.QueryContext(ctx, minCount)
	ds, err := collect(rows, err, scanCorrDomain)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read correspondent domains: %w", mapErr(err))
	}
	return ds, nil
}

func (s *Store) Correspondents(ctx context.Context, domain string) ([]*store.Correspondent, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.rd.corrsOf.QueryContext(ctx, domain)
	cs, err := collect(rows, err, scanCorr)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read correspondents of %s: %w", domain, mapErr(err))
	}
	return cs, nil
}
