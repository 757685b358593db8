// Package codec holds the encodings of record fields that both store
// backends share (times as UTC milliseconds, recipients, delivery status
// string lists and the verdict as JSON), so that a database can be copied from SQLite
// to PostgreSQL and back.
package codec

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// Millis encodes a time as UTC unix milliseconds; the zero time is 0 so that
// "no time" sorts first and reads back as the zero time.
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMillis is the inverse of Millis. Times come back in UTC.
func FromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// The JSON shapes are declared here, with explicit names, so that renaming a
// Go field elsewhere cannot silently change what is stored.

type rcptJSON struct {
	Addr   string   `json:"addr"`
	Notify []string `json:"notify,omitempty"`
	ORcpt  string   `json:"orcpt,omitempty"`
}

type statusJSON struct {
	Done   bool   `json:"done,omitempty"`
	Failed bool   `json:"failed,omitempty"`
	Code   int    `json:"code,omitempty"`
	Detail string `json:"detail,omitempty"`
	Part   string `json:"part,omitempty"`
}

// EncodeRcpts returns the JSON stored for the value.
func EncodeRcpts(rs []envelope.Rcpt) (string, error) {
	if rs == nil {
		return "null", nil
	}
	js := make([]rcptJSON, len(rs))
	for i, r := range rs {
		js[i] = rcptJSON(r)
	}
	b, err := json.Marshal(js)
	return string(b), err
}

// DecodeRcpts is the inverse of EncodeRcpts.
func DecodeRcpts(b []byte) ([]envelope.Rcpt, error) {
	var js []rcptJSON
	if err := json.Unmarshal(b, &js); err != nil || js == nil {
		return nil, err
	}
	rs := make([]envelope.Rcpt, len(js))
	for i, r := range js {
		rs[i] = envelope.Rcpt(r)
	}
	return rs, nil
}

// EncodeStatus returns the JSON stored for the value.
func EncodeStatus(ss []store.RcptStatus) (string, error) {
	if ss == nil {
		return "null", nil
	}
	js := make([]statusJSON, len(ss))
	for i, s := range ss {
		js[i] = statusJSON(s)
	}
	b, err := json.Marshal(js)
	return string(b), err
}

// DecodeStatus is the inverse of EncodeStatus.
func DecodeStatus(b []byte) ([]store.RcptStatus, error) {
	var js []statusJSON
	if err := json.Unmarshal(b, &js); err != nil || js == nil {
		return nil, err
	}
	ss := make([]store.RcptStatus, len(js))
	for i, s := range js {
		ss[i] = store.RcptStatus(s)
	}
	return ss, nil
}

// EncodeStrings returns the JSON stored for the value.
func EncodeStrings(ss []string) (string, error) {
	b, err := json.Marshal(ss)
	return string(b), err
}

// DecodeStrings is the inverse of EncodeStrings.
func DecodeStrings(b []byte) ([]string, error) {
	var ss []string
	err := json.Unmarshal(b, &ss)
	return ss, err
}

// CheckCorrespondent validates a correspondents record before either
// backend writes it.
func CheckCorrespondent(c *store.Correspondent) error {
	switch {
	case c.Rcpt == "" || c.Domain == "":
		return errors.New("empty recipient or domain")
	case c.Count < 1:
		return fmt.Errorf("count %d: at least one delivery", c.Count)
	case c.Last.Before(c.First):
		return errors.New("last delivery before the first")
	}
	for _, s := range []string{c.Sender, c.Rcpt, c.Domain} {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return fmt.Errorf("%q is not valid UTF-8 text", s)
		}
	}
	return nil
}

// Verdict returns the verdict column of m for both backends: as a query
// argument it is the stored form of m.Verdict (its JSON, see
// verdict.Encode; NULL for none) or m.SealedVerdict when that is set; as a
// scan destination it decodes into m.Verdict, or keeps a sealed value in
// m.SealedVerdict for SealRecords to open. A stored verdict that does not
// decode fails the scan, and with it the read of the message.
func Verdict(m *store.Message) VerdictColumn { return VerdictColumn{m} }

// VerdictColumn is a driver.Valuer and an sql.Scanner; see Verdict.
type VerdictColumn struct{ m *store.Message }

// Value implements driver.Valuer.
func (c VerdictColumn) Value() (driver.Value, error) {
	if c.m.SealedVerdict != nil {
		return c.m.SealedVerdict, nil
	}
	b, err := verdict.Encode(c.m.Verdict)
	if err != nil || b == nil {
		// A nil []byte in a driver.Value is not NULL to every driver.
		return nil, err
	}
	return b, nil
}

// Scan implements sql.Scanner.
func (c VerdictColumn) Scan(src any) error {
	var b []byte
	switch s := src.(type) {
	case nil:
	case []byte:
		b = s
	case string:
		b = []byte(s)
	default:
		return fmt.Errorf("verdict column: unexpected %T", src)
	}
	c.m.Verdict, c.m.SealedVerdict = nil, nil
	if store.Sealed(b) {
		// The driver may reuse b once Scan returns.
		c.m.SealedVerdict = bytes.Clone(b)
		return nil
	}
	v, err := verdict.Decode(b)
	if err != nil {
		return fmt.Errorf("message %s: %w", c.m.ID, err)
	}
	c.m.Verdict = v
	return nil
}
