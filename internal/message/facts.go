// Package message turns the bytes of a mail message into facts for the
// policy engine and the console: decoded text per MIME part, links (after
// unwrapping redirectors), attachments and header recipients. It is pure:
// no I/O, no state, and it never panics on any input.
package message

import (
	"time"

	"github.com/egressguard/egressguard/internal/pii"
)

// Limits bound the work done on one message. Hitting a limit is reported as
// a Problem; the policy never lets such a message pass unreviewed.
type Limits struct {
	MaxDepth       int           // nesting of multiparts and attached messages
	MaxParts       int           // MIME parts in total
	MaxDecodedSize int64         // decoded bytes inspected as text, in total
	MaxTime        time.Duration // wall time for one Inspect call

	// Attachments (see package extract): archives within archives, entries
	// of archives and documents in total, and the decompressed/compressed
	// size of one entry or stream. Decompressed bytes count against
	// MaxDecodedSize.
	MaxArchiveDepth     int
	MaxArchiveEntries   int
	MaxCompressionRatio int
}

// DefaultLimits are used when a Limits field is zero.
var DefaultLimits = Limits{MaxDepth: 20, MaxParts: 500, MaxDecodedSize: 32 << 20, MaxTime: 5 * time.Second,
	MaxArchiveDepth: 4, MaxArchiveEntries: 10000, MaxCompressionRatio: 200}

// Facts is what inspection found in one message.
type Facts struct {
	Subject     string   // decoded (RFC 2047)
	From        string   // header From, decoded, as written
	MessageID   string   // header Message-ID
	To          []string // header To addresses (lower-cased)
	Cc          []string // header Cc addresses (lower-cased)
	Parts       []Part
	Links       []Link
	Attachments []Attachment
	Problems    []Problem

	// Personal lists personal data found, per file, sheet or table (and
	// per body part); values are masked. PersonalRecords counts distinct
	// person records in the whole message (a row or line with two or more
	// kinds of identifier, counted once however often it appears);
	// MyNumbers and CardNumbers count valid numbers.
	Personal        []Personal `json:",omitempty"`
	PersonalRecords int        `json:",omitempty"`
	MyNumbers       int        `json:",omitempty"`
	CardNumbers     int        `json:",omitempty"`
}

// Personal is the personal data found in one file or part.
type Personal struct {
	Part string // MIME part path
	// File names where in the part: "患者一覧.xlsx (Sheet1)",
	// "data.zip/list.csv"; "" for a body part.
	File string
	pii.Summary
}

// Part is one MIME leaf part.
type Part struct {
	Path        string // "1", "1.2", "2.1.1" (attached messages count as a level)
	ContentType string // lower-cased media type, e.g. "text/plain"
	Charset     string // as declared, lower-cased
	Filename    string // decoded (RFC 2047 / RFC 2231), "" if none
	Disposition string // "inline", "attachment" or ""
	Size        int64  // decoded size in bytes
	// Text is the decoded text (UTF-8) of text parts and of what was
	// extracted from text-bearing attachments; "" for binary parts.
	Text string
}

// Link is one URL found in the message.
type Link struct {
	URL  string // normalised and unwrapped: what the recipient would finally reach
	Host string // lower-case, IDNA A-label form, no port
	Raw  string // as found in the message (before unwrapping)
	Part string // MIME part path it came from
	// Source: "text", "href", "html-text", "calendar", "ooxml", "pdf",
	// "header".
	Source string
	// Wrappers lists the redirectors removed, outermost first
	// (e.g. "safelinks", "google", "urldefense").
	Wrappers []string
	// Opaque is true when URL is a redirector that could not be unwrapped
	// (e.g. Mimecast); Hints then lists hostnames seen inside it.
	Opaque bool
	Hints  []string
	// Text is the visible text of an HTML anchor; Mismatch is true when that
	// text names another host than the target.
	Text     string
	Mismatch bool
}

// Attachment is a part with a file name or attachment disposition.
type Attachment struct {
	Part        string
	Filename    string
	ContentType string
	Size        int64
	Encrypted   bool // encrypted archive (ZIP with encryption flag, 7z/RAR headers with encryption) or encrypted PDF/Office
}

// Problem is something inspection could not do completely.
type Problem struct {
	Part   string // MIME part path, "" for the whole message
	Kind   string // "limit-depth", "limit-parts", "limit-size", "limit-time", "parse", "charset"
	Detail string
}
