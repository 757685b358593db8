package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/store/codec"
)

const (
	corrColumns       = `sender, rcpt, domain, first_at, last_at, deliveries`
	corrDomainColumns = `domain, first_at, last_at, deliveries`
)

func (t *tx) AddCorrespondent(c *store.Correspondent) error {
	if err := t.check(); err != nil {
		return err
	}
	if err := codec.CheckCorrespondent(c); err != nil {
		return fmt.Errorf("postgres: add correspondent: %w", err)
	}
	// One statement, one round trip on the writer connection: the pair
	// and its domain.
	_, err := t.exec("add correspondent", `WITH pair AS (
			INSERT INTO correspondents (`+corrColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (sender, rcpt) DO UPDATE SET
				first_at = LEAST(correspondents.first_at, excluded.first_at),
				last_at = GREATEST(correspondents.last_at, excluded.last_at),
				deliveries = correspondents.deliveries + excluded.deliveries)
		INSERT INTO correspondent_domains (`+corrDomainColumns+`) VALUES ($3, $4, $5, $6)
		ON CONFLICT (domain) DO UPDATE SET
			first_at = LEAST(correspondent_domains.first_at, excluded.first_at),
			last_at = GREATEST(correspondent_domains.last_at, excluded.last_at),
			deliveries = correspondent_domains.deliveries + excluded.deliveries`,
		c.Sender, c.Rcpt, c.Domain, codec.Millis(c.First), codec.Millis(c.Last), c.Count)
	return err
}

func (t *tx) PurgeCorrespondents(before time.Time) (int, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	tag, err := t.exec("purge correspondents", `DELETE FROM correspondents WHERE last_at < $1`, codec.Millis(before))
	if err != nil {
		return 0, err
	}
	if _, err := t.exec("purge correspondent domains", `DELETE FROM correspondent_domains WHERE last_at < $1`, codec.Millis(before)); err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

func scanCorr(r pgx.Row) (*store.Correspondent, error) {
	var c store.Correspondent
	var first, last int64
	if err := r.Scan(&c.Sender, &c.Rcpt, &c.Domain, &first, &last, &c.Count); err != nil {
		return nil, err
	}
	c.First, c.Last = codec.FromMillis(first), codec.FromMillis(last)
	return &c, nil
}

func scanCorrDomain(r pgx.Row) (*store.CorrespondentDomain, error) {
	var d store.CorrespondentDomain
	var first, last int64
	if err := r.Scan(&d.Domain, &first, &last, &d.Count); err != nil {
		return nil, err
	}
	d.First, d.Last = codec.FromMillis(first), codec.FromMillis(last)
	return &d, nil
}

func (s *Store) Correspondent(ctx context.Context, sender, rcpt string) (*store.Correspondent, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	c, err := scanCorr(s.queryRow(ctx, `SELECT `+corrColumns+` FROM correspondents WHERE sender = $1 AND rcpt = $2`, sender, rcpt))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: correspondent: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: read correspondent: %w", mapErr(err))
	}
	return c, nil
}

func (s *Store) CorrespondentDomain(ctx context.Context, domain string) (*store.CorrespondentDomain, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	d, err := scanCorrDomain(s.queryRow(ctx, `SELECT `+corrDomainColumns+` FROM correspondent_domains WHERE domain = $1`, domain))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: correspondent domain %s: %w", domain, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: read correspondent domain %s: %w", domain, mapErr(err))
	}
	return d, nil
}

func (s *Store) CorrespondentDomains(ctx context.Context, minCount int64) ([]*store.CorrespondentDomain, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	ds, err := collectRows(s, ctx, scanCorrDomain, `SELECT `+corrDomainColumns+` FROM correspondent_domains WHERE deliveries >= $1 ORDER BY domain`, minCount)
	if err != nil {
		return nil, fmt.Errorf("postgres: read correspondent domains: %w", mapErr(err))
	}
	return ds, nil
}

func (s *Store) Correspondents(ctx context.Context, domain string) ([]*store.Correspondent, error) {
	ctx, cancel, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	cs, err := collectRows(s, ctx, scanCorr, `SELECT `+corrColumns+` FROM correspondents WHERE domain = $1 ORDER BY rcpt, sender`, domain)
	if err != nil {
		return nil, fmt.Errorf("postgres: read correspondents of %s: %w", domain, mapErr(err))
	}
	return cs, nil
}
