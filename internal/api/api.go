// Package api holds the types of the console's JSON API (/api/...): the
// requests it takes and the answers it gives. The console serves them and
// the egressguard command reads them, so both speak the same types.
package api

import (
	"encoding/json"
	"time"
)

// Message is a message in the held list.
type Message struct {
	ID          string     `json:"id"`
	State       string     `json:"state"`
	Received    time.Time  `json:"received"`
	From        string     `json:"from"` // envelope sender
	AuthUser    string     `json:"auth_user,omitempty"`
	HeaderFrom  string     `json:"header_from,omitempty"`
	Subject     string     `json:"subject"`
	Action      string     `json:"action,omitempty"` // the verdict's action
	Rcpts       []Rcpt     `json:"rcpts"`
	Reasons     []Reason   `json:"reasons"`
	HoldExpires *time.Time `json:"hold_expires,omitempty"`
	// ReleaseAt is when delayed mail leaves by itself.
	ReleaseAt *time.Time `json:"release_at,omitempty"`
	Own       bool       `json:"own"` // the caller sent it
	// HighRisk: approving needs the recipient's domain typed.
	HighRisk bool `json:"high_risk,omitempty"`
}

// Rcpt is an envelope recipient with the verdict's class.
type Rcpt struct {
	Addr    string `json:"addr"`
	Class   string `json:"class,omitempty"`
	Unknown bool   `json:"unknown"`
	// Action is what the rules chose for this recipient.
	Action string `json:"action,omitempty"`
	// SentAs names the part that split delivery sent this recipient at
	// once; Waiting is set for a recipient the message still holds back.
	SentAs  string `json:"sent_as,omitempty"`
	Waiting bool   `json:"waiting,omitempty"`
	// Hidden: a blind copy, not in the To or Cc header (message view
	// only, while the content is kept).
	Hidden bool `json:"hidden,omitempty"`
	// Notes are other evidence about this recipient from the verdict
	// ("lookalike: example.com").
	Notes []string `json:"notes,omitempty"`
}

// Signal is evidence of the verdict beyond reasons, links and
// recipients (look-alike domains, personal-data counts …), by field name.
type Signal struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Raw is the field as the verdict has it, for showing it in the
	// reader's language.
	Raw json.RawMessage `json:"-"`
}

// Reason is one reason of the verdict.
type Reason struct {
	Rule     string `json:"rule,omitempty"`
	Detail   string `json:"detail,omitempty"`
	DetailJA string `json:"detail_ja,omitempty"`
	DetailEN string `json:"detail_en,omitempty"`
	Matched  string `json:"matched,omitempty"` // what made the rule's conditions true
	Action   string `json:"action,omitempty"`
	Monitor  bool   `json:"monitor,omitempty"`
}

// List is the answer to GET /api/held.
type List struct {
	Messages   []Message `json:"messages"`
	NearMisses int       `json:"near_misses"`      // rejections marked near miss in the window
	WindowDays int       `json:"near_miss_window"` // the window, in days
	TimeZone   string    `json:"time_zone"`        // the zone the guard shows times in (IANA name)
}

// Detail is the answer to GET /api/messages/{id}.
type Detail struct {
	Message
	Size          int64  `json:"size"`
	ClientAddr    string `json:"client_addr,omitempty"`
	Helo          string `json:"helo,omitempty"`
	Approvals     int    `json:"approvals"` // distinct officers who approved
	Needed        int    `json:"needed"`    // distinct approvals needed to release
	ApprovedByYou bool   `json:"approved_by_you"`
	CanDecide     bool   `json:"can_decide"`
	// Self: the caller may not decide on it as their own message (sent
	// by them, or with one of their addresses in the header From).
	Self        bool `json:"self"`
	CanWithdraw bool `json:"can_withdraw"`
	// The sender's actions on mail that waits for them.
	CanSendNow  bool `json:"can_send_now"`
	CanCancel   bool `json:"can_cancel"`
	CanConfirm  bool `json:"can_confirm"`
	BodyDeleted bool `json:"body_deleted"` // retention removed the content
	// BodyGoneAt is when retention destroys (or destroyed) the content;
	// absent while the message is held or queued.
	BodyGoneAt   *time.Time      `json:"body_gone_at,omitempty"`
	Headers      []Header        `json:"headers,omitempty"`
	HeadersTotal int             `json:"headers_total,omitempty"`
	Parts        []Part          `json:"parts,omitempty"`
	Links        []Link          `json:"links,omitempty"`
	Attachments  []Attachment    `json:"attachments,omitempty"`
	Personal     []Personal      `json:"personal,omitempty"`
	Problems     []Problem       `json:"problems,omitempty"`
	Decisions    []Decision      `json:"decisions"`
	Verdict      json.RawMessage `json:"verdict,omitempty"`
	// HighRisk: the approver must type the recipient's domain to approve
	// ("confirm_domain" in the approval request); RiskWhy names the
	// rules or signals that made it so.
	RiskWhy       []string `json:"risk_why,omitempty"`
	ConfirmDomain string   `json:"-"` // not handed out: the approver reads it from the recipients
	// Signals is other evidence of the verdict.
	Signals []Signal `json:"signals,omitempty"`
	// Justifications are the sender's explanations, oldest first.
	Justifications []Decision `json:"justifications,omitempty"`
	// TimeZone is the zone the guard shows times in (IANA name).
	TimeZone string `json:"time_zone,omitempty"`
}

// Header is one header field, decoded.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Part is one MIME leaf part with its decoded text.
type Part struct {
	Path        string `json:"path"`
	ContentType string `json:"content_type"`
	Charset     string `json:"charset,omitempty"`
	Filename    string `json:"filename,omitempty"`
	Disposition string `json:"disposition,omitempty"`
	Size        int64  `json:"size"`
	Text        string `json:"text,omitempty"`
	Truncated   bool   `json:"truncated,omitempty"`
	// PersonalHidden: the text holds person records or My/card numbers
	// and is not shown; the masked findings are.
	PersonalHidden bool `json:"personal_hidden,omitempty"`
}

// Link is a link found in the message.
type Link struct {
	URL      string   `json:"url"`
	Raw      string   `json:"raw,omitempty"`
	Host     string   `json:"host"`
	Part     string   `json:"part"`
	Source   string   `json:"source"`
	Wrappers []string `json:"wrappers,omitempty"`
	Text     string   `json:"text,omitempty"`
	Mismatch bool     `json:"mismatch,omitempty"`
	Opaque   bool     `json:"opaque,omitempty"`
	Flagged  bool     `json:"flagged"` // named by the verdict
	Provider string   `json:"provider,omitempty"`
	Kind     string   `json:"kind,omitempty"` // the verdict's kind of share link
	Why      string   `json:"why,omitempty"`  // why the verdict counts it as a share link
}

// Attachment is an attachment's name and size.
type Attachment struct {
	Part        string `json:"part"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Encrypted   bool   `json:"encrypted,omitempty"`
}

// Personal is the personal data found in one file, sheet or body
// part: counts and masked samples only, never whole records.
type Personal struct {
	Part      string   `json:"part"`
	File      string   `json:"file,omitempty"`
	Records   int      `json:"records"`
	Kinds     []string `json:"kinds,omitempty"` // kinds in records, reason order
	MyNumbers int      `json:"my_numbers,omitempty"`
	Cards     int      `json:"cards,omitempty"`
	Samples   []Sample `json:"samples,omitempty"`
}

// Sample is one masked value ("山田 **", "090-****-5678").
type Sample struct {
	Kind   string `json:"kind"`
	Masked string `json:"masked"`
}

// Problem is something inspection could not do completely.
type Problem struct {
	Part   string `json:"part,omitempty"`
	Kind   string `json:"kind"`
	Detail string `json:"detail,omitempty"`
}

// Decision is one entry of the decision history.
type Decision struct {
	Actor    string    `json:"actor"`
	Kind     string    `json:"kind"`
	Comment  string    `json:"comment,omitempty"`
	NearMiss bool      `json:"near_miss,omitempty"`
	At       time.Time `json:"at"`
}

// RejectRequest is the body of POST /api/messages/{id}/reject.
type RejectRequest struct {
	Comment  string `json:"comment"`
	NearMiss bool   `json:"near_miss"`
}

// ApproveRequest is the (optional) body of POST /api/messages/{id}/approve.
type ApproveRequest struct {
	// ConfirmDomain is the recipient's domain, typed by the approver;
	// required for a high-risk hold (see Detail.HighRisk).
	ConfirmDomain string `json:"confirm_domain"`
}

// JustifyRequest is the body of POST /api/messages/{id}/justify.
type JustifyRequest struct {
	Justification string `json:"justification"`
}

// Outcome is the answer to approve, reject and withdraw.
type Outcome struct {
	ID        string `json:"id"`
	State     string `json:"state"` // the message's state after the action
	Released  bool   `json:"released,omitempty"`
	Approvals int    `json:"approvals,omitempty"`
	Needed    int    `json:"needed,omitempty"`
	// Warning says what the action did not do that the caller may
	// expect (a near miss with no incident contacts to tell).
	Warning string `json:"warning,omitempty"`
}

// Error is the body of every error answer.
type Error struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

// AllowEntry is one allowlist entry.
type AllowEntry struct {
	ID string `json:"id"`
	// Kind is "address", "domain" or "subdomains".
	Kind string `json:"kind"`
	// Value is the entry as POST /api/allow takes it: lower case, domain
	// as A-label, ".domain" for a domain with its subdomains.
	Value string `json:"value"`
	// Display is the entry for people, the domain in Unicode.
	Display  string     `json:"display"`
	Reason   string     `json:"reason"`
	AddedBy  string     `json:"added_by"`
	Added    *time.Time `json:"added,omitempty"`
	Expires  *time.Time `json:"expires,omitempty"`
	Expired  bool       `json:"expired"`
	Senders  []string   `json:"senders"` // empty: every sender
	FreeMail bool       `json:"free_mail"`
	// Source is "store" (edited at run time) or "config" (from the config
	// file; not removable here).
	Source string `json:"source"`
}

// AllowList is the answer to GET /api/allow.
type AllowList struct {
	Entries []AllowEntry `json:"entries"`
}

// AllowRequest is the body of POST /api/allow.
type AllowRequest struct {
	Value  string `json:"value"`
	Reason string `json:"reason"`
	// Expires is an RFC 3339 time, or a date (YYYY-MM-DD: the entry
	// counts through that day, in the server's time zone); "" never.
	Expires         string   `json:"expires,omitempty"`
	Senders         []string `json:"senders,omitempty"`
	ConfirmFreeMail bool     `json:"confirm_free_mail,omitempty"`
}

// AllowRemoveRequest is the optional body of DELETE /api/allow/{id}.
type AllowRemoveRequest struct {
	Why string `json:"why"`
}

// AllowRemoved is the answer to DELETE /api/allow/{id}.
type AllowRemoved struct {
	ID      string `json:"id"`
	Removed bool   `json:"removed"`
}

// AllowHistory is the answer to GET /api/allow/{id}/history: the
// entry's audit entries, newest first. Entry is null once the entry was
// removed; its history stays.
type AllowHistory struct {
	ID      string       `json:"id"`
	Entry   *AllowEntry  `json:"entry"`
	History []AuditEntry `json:"history"`
}

// AuditEntry is one audit entry, as `egressguard audit export` writes it.
type AuditEntry struct {
	Seq    int64           `json:"seq"`
	At     time.Time       `json:"at"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"`
	MsgID  string          `json:"msg_id,omitempty"`
	Data   json.RawMessage `json:"data"`
	Prev   string          `json:"prev"`
	Hash   string          `json:"hash"`
}

// Audit is the answer to GET /api/audit.
type Audit struct {
	Entries []AuditEntry `json:"entries"` // newest first
	// Older, if set, is the "before" of the next page.
	Older int64 `json:"older,omitempty"`
	// Partial: the search read its bound of entries before filling the
	// page; entries before Older were not searched yet.
	Partial bool `json:"partial,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// CLIUserAgent prefixes the User-Agent of the egressguard command, so the
// audit log can tell CLI actions from other API clients.
const CLIUserAgent = "egressguard-cli/"
