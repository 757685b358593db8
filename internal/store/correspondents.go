package store

import (
	"context"
	"time"
)

// Correspondent records that mail from Sender was delivered to Rcpt: the
// guard learns whom the organisation writes to, so that a first contact
// stands out (policy condition first_contact). Addresses are normalised
// by the caller (lower case, domain as A-label) and valid UTF-8 without
// NUL; Domain is Rcpt's domain.
type Correspondent struct {
	Sender string
	Rcpt   string
	Domain string
	First  time.Time // first delivery recorded
	Last   time.Time // last delivery recorded
	Count  int64     // deliveries recorded
}

// CorrespondentDomain sums the correspondents of one domain over every
// sender.
type CorrespondentDomain struct {
	Domain string
	First  time.Time
	Last   time.Time
	Count  int64
}

// CorrespondentTx writes the correspondents record. RecordTx embeds it.
type CorrespondentTx interface {
	// AddCorrespondent records c.Count deliveries (at least one) from
	// c.Sender to c.Rcpt between c.First and c.Last: a new pair is stored
	// as given; a known one keeps the earlier First and the later Last
	// and adds the count. The domain's record is updated the same way in
	// the same transaction.
	AddCorrespondent(c *Correspondent) error
	// PurgeCorrespondents deletes the pairs and the domains last
	// delivered before before, and returns how many pairs it deleted.
	PurgeCorrespondents(before time.Time) (int, error)
}

// CorrespondentStore reads the correspondents record. RecordStore embeds
// it.
type CorrespondentStore interface {
	// Correspondent returns one pair; ErrNotFound if mail from sender was
	// never recorded as delivered to rcpt.
	Correspondent(ctx context.Context, sender, rcpt string) (*Correspondent, error)
	// CorrespondentDomain returns one domain; ErrNotFound if none.
	CorrespondentDomain(ctx context.Context, domain string) (*CorrespondentDomain, error)
	// CorrespondentDomains returns every domain with at least minCount
	// deliveries, sorted by Domain.
	CorrespondentDomains(ctx context.Context, minCount int64) ([]*CorrespondentDomain, error)
	// Correspondents returns the pairs of one recipient domain, sorted
	// by Rcpt, then Sender: who wrote to whom there.
	Correspondents(ctx context.Context, domain string) ([]*Correspondent, error)
}
