package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/verdict"
)

// SealRecords wraps a store so that the parts of a message record that
// come from the message's content — its subject, its header From, and the
// verdict (which lists the links found) — are sealed like the body before
// they reach the backend, and opened when read. With it, a copy of the
// database alone reveals no message content: what stays in the clear is
// the envelope (needed to route and to search), the states and the audit
// log.
//
// Records written before sealing was enabled still read: only values in
// the sealed form are opened.
func SealRecords(s Store, sl Sealer) Store { return &sealedStore{Store: s, sl: sl} }

const sealedPrefix = "sealed1:"

type sealedStore struct {
	Store
	sl Sealer
}

// Unwrap returns the wrapped store (see ClusterOf).
func (s *sealedStore) Unwrap() Store { return s.Store }

type sealedTx struct {
	Tx
	sl Sealer
}

func (s *sealedStore) Update(ctx context.Context, fn func(Tx) error) error {
	return s.Store.Update(ctx, func(tx Tx) error { return fn(&sealedTx{Tx: tx, sl: s.sl}) })
}

func (s *sealedStore) Message(ctx context.Context, id string) (*Message, error) {
	m, err := s.Store.Message(ctx, id)
	if err != nil {
		return nil, err
	}
	return m, openRecord(s.sl, m)
}

func (s *sealedStore) List(ctx context.Context, f Filter) ([]*Message, error) {
	ms, err := s.Store.List(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if err := openRecord(s.sl, m); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

func (t *sealedTx) InsertMessage(m *Message, body io.Reader) error {
	c, err := sealRecord(t.sl, m)
	if err != nil {
		return err
	}
	return t.Tx.InsertMessage(c, body)
}

func (t *sealedTx) UpdateClaimed(m *Message, owner string) error {
	c, err := sealRecord(t.sl, m)
	if err != nil {
		return err
	}
	return t.Tx.UpdateClaimed(c, owner)
}

func (t *sealedTx) UpdateMessage(m *Message, from State) error {
	c, err := sealRecord(t.sl, m)
	if err != nil {
		return err
	}
	return t.Tx.UpdateMessage(c, from)
}

func (t *sealedTx) Message(id string) (*Message, error) {
	m, err := t.Tx.Message(id)
	if err != nil {
		return nil, err
	}
	return m, openRecord(t.sl, m)
}

func (t *sealedTx) ClaimDue(now time.Time, owner string, until time.Time, limit int) ([]*Message, error) {
	ms, err := t.Tx.ClaimDue(now, owner, until, limit)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if err := openRecord(t.sl, m); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// sealRecord returns a copy of m with its content fields sealed; m itself
// is left as the caller knows it.
func sealRecord(sl Sealer, m *Message) (*Message, error) {
	c := *m
	c.Subject = sealString(sl, m.ID, "subject", m.Subject)
	c.HeaderFrom = sealString(sl, m.ID, "header_from", m.HeaderFrom)
	if m.Verdict != nil {
		b, err := verdict.Encode(m.Verdict)
		if err != nil {
			return nil, fmt.Errorf("store: message %s: %w", m.ID, err)
		}
		c.Verdict, c.SealedVerdict = nil, []byte(sealString(sl, m.ID, "verdict", string(b)))
	}
	return &c, nil
}

// Sealed reports whether a stored value is in the sealed form, which a
// backend keeps as it is (see Message.SealedVerdict).
func Sealed(b []byte) bool { return bytes.HasPrefix(b, []byte(sealedPrefix)) }

func openRecord(sl Sealer, m *Message) error {
	var err error
	if m.Subject, err = openString(sl, m.ID, "subject", m.Subject); err != nil {
		return err
	}
	if m.HeaderFrom, err = openString(sl, m.ID, "header_from", m.HeaderFrom); err != nil {
		return err
	}
	if m.SealedVerdict != nil {
		b, err := openString(sl, m.ID, "verdict", string(m.SealedVerdict))
		if err != nil {
			return err
		}
		if m.Verdict, err = verdict.Decode([]byte(b)); err != nil {
			return fmt.Errorf("store: message %s: %w", m.ID, err)
		}
		m.SealedVerdict = nil
	}
	return nil
}

func sealString(sl Sealer, id, field, v string) string {
	if v == "" || strings.HasPrefix(v, sealedPrefix) {
		return v
	}
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(sl.Seal(id+"\x00"+field, []byte(v)))
}

func openString(sl Sealer, id, field, v string) (string, error) {
	if !strings.HasPrefix(v, sealedPrefix) {
		return v, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(v[len(sealedPrefix):])
	if err != nil {
		return "", fmt.Errorf("%w: %s of %s: %v", ErrSealed, field, id, err)
	}
	p, err := sl.Open(id+"\x00"+field, b)
	if err != nil {
		return "", fmt.Errorf("%w: %s of %s: %v", ErrSealed, field, id, err)
	}
	return string(p), nil
}

// Incidents: Data, which holds the facts, the report and the checklist,
// is sealed under the incident's ID (in the "incident:" namespace, so it
// cannot be confused with a message's fields).

func (t *sealedTx) InsertIncident(in *Incident) error {
	c := *in
	c.Data = []byte(sealString(t.sl, "incident:"+in.ID, "data", string(in.Data)))
	if err := t.Tx.InsertIncident(&c); err != nil {
		return err
	}
	in.Version = c.Version
	return nil
}

func (t *sealedTx) UpdateIncident(in *Incident) error {
	c := *in
	c.Data = []byte(sealString(t.sl, "incident:"+in.ID, "data", string(in.Data)))
	if err := t.Tx.UpdateIncident(&c); err != nil {
		return err
	}
	in.Version = c.Version
	return nil
}

func openIncident(sl Sealer, in *Incident) error {
	d, err := openString(sl, "incident:"+in.ID, "data", string(in.Data))
	if err != nil {
		return err
	}
	in.Data = []byte(d)
	return nil
}

func (s *sealedStore) Incident(ctx context.Context, id string) (*Incident, error) {
	in, err := s.Store.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	return in, openIncident(s.sl, in)
}

func (s *sealedStore) Incidents(ctx context.Context, f IncidentFilter) ([]*Incident, error) {
	ins, err := s.Store.Incidents(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		if err := openIncident(s.sl, in); err != nil {
			return nil, err
		}
	}
	return ins, nil
}
