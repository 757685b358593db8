// Package incident turns what the guard knows about a message that went
// wrong into an incident record: who sent what to whom, what it exposed
// (links with their provider, attachments, personal-data counts), who saw
// it in the console, and the timeline from the audit log. On that record
// officers write the report that Japan's APPI requires for certain leaks
// (個人情報保護委員会への報告: a preliminary report promptly, a final
// report within 30 days, 60 for wrongful acts), work through a remediation
// checklist per link provider, and export the result.
//
// The record is kept as JSON in the store (sealed at rest like message
// content); every change is one conditional write with its audit entry.
package incident

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/audit"
)

// Status is where an incident is in its life.
type Status string

// Statuses, in order. A status may only move forward (closing is allowed
// from any status).
const (
	Open            Status = "open"
	PreliminarySent Status = "preliminary_sent" // 速報 sent to the PPC
	FinalSent       Status = "final_sent"       // 確報 sent to the PPC
	Closed          Status = "closed"
)

// Statuses lists them in order.
var Statuses = []Status{Open, PreliminarySent, FinalSent, Closed}

func (s Status) rank() int {
	for i, v := range Statuses {
		if v == s {
			return i
		}
	}
	return -1
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s.rank() >= 0 }

// Kinds of incident.
const (
	KindMisdirected = "misdirected" // a delivered message went to the wrong person
	KindNearMiss    = "near_miss"   // held and rejected before it left
)

// Incident is the whole record.
type Incident struct {
	ID       string    `json:"id"`
	MsgID    string    `json:"msg_id"`
	Kind     string    `json:"kind"`
	Reporter string    `json:"reporter"`
	Status   Status    `json:"status"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	Version  int64     `json:"-"`

	// Aware is when the organisation became aware of the leak; the PPC
	// deadlines run from it. It starts as the time the incident was
	// opened.
	Aware time.Time `json:"aware"`
	// Wrongful: the leak was (or may have been) caused by a wrongful act
	// (不正の目的); the final report is then due in 60 days.
	Wrongful bool `json:"wrongful"`
	// Sensitive: special-care personal information (要配慮個人情報, such as
	// medical data) is or may be involved.
	Sensitive bool `json:"sensitive"`
	// Note is what the reporter wrote when opening it.
	Note string `json:"note,omitempty"`

	Facts  Facts  `json:"facts"`
	Report Report `json:"report"`
	Steps  []Step `json:"steps"`
	// Reminded records the reminders sent, by key ("preliminary:soon",
	// "final:overdue", …), so each goes out once.
	Reminded map[string]time.Time `json:"reminded,omitempty"`
}

// Facts is what the guard knew about the message when the incident was
// opened.
type Facts struct {
	Sender     string      `json:"sender"`      // envelope sender
	AuthUser   string      `json:"auth_user"`   // authenticated account, "" via trusted relay
	HeaderFrom string      `json:"header_from"` // as written
	Subject    string      `json:"subject"`
	Received   time.Time   `json:"received"`
	State      string      `json:"state"` // the message's state when the incident was opened
	Finished   time.Time   `json:"finished,omitempty"`
	Recipients []Recipient `json:"recipients"`
	Links      []Link      `json:"links"`
	// Attachments are known when the message's bytes were still stored,
	// or from the verdict.
	Attachments []Attachment `json:"attachments"`
	// PersonalRecords is the number of person records found (0 if none
	// were found or the message was not inspected for them).
	PersonalRecords int      `json:"personal_records"`
	PersonalKinds   []string `json:"personal_kinds,omitempty"`
	MyNumbers       int      `json:"my_numbers,omitempty"`
	Timeline        []Event  `json:"timeline"`
	Viewers         []Viewer `json:"viewers"`
	Decision        string   `json:"decision,omitempty"` // for a near miss: who rejected it, with the comment
}

// Recipient is one envelope recipient and what happened to it.
type Recipient struct {
	Addr   string `json:"addr"`
	Class  string `json:"class,omitempty"`  // internal, allowlisted, unknown
	Result string `json:"result"`           // delivered, failed, pending, not_sent
	Detail string `json:"detail,omitempty"` // upstream answer
}

// Link is one share link found in the message.
type Link struct {
	URL      string `json:"url"`
	Host     string `json:"host"`
	Provider string `json:"provider"`
	// Scope is what the URL shows of what it gives access to: "folder",
	// "file" or "unknown".
	Scope string `json:"scope"`
	// Anyone: "likely" when the URL carries the provider's mark of a
	// link anyone can open, "unknown" otherwise (check at the provider).
	Anyone string `json:"anyone"`
}

// Attachment is one attached file.
type Attachment struct {
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	Size      int64    `json:"size"`
	Encrypted bool     `json:"encrypted,omitempty"`
	Records   int      `json:"records,omitempty"`
	Kinds     []string `json:"kinds,omitempty"`
}

// Event is one entry of the timeline, from the audit log.
type Event struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Detail string    `json:"detail,omitempty"`
}

// Viewer is one viewing of the message in the console, API or CLI.
type Viewer struct {
	At   time.Time `json:"at"`
	User string    `json:"user"`
	Via  string    `json:"via,omitempty"`
}

// Report holds the items of the report to the Personal Information
// Protection Commission (個人情報保護委員会), in Japanese, as the form
// asks for them.
type Report struct {
	Summary        string `json:"summary"`         // 概要
	DataItems      string `json:"data_items"`      // 漏えい等が発生し又は発生したおそれがある個人データの項目
	People         string `json:"people"`          // 本人の数
	Cause          string `json:"cause"`           // 原因
	SecondaryHarm  string `json:"secondary_harm"`  // 二次被害又はそのおそれの有無及びその内容
	PeopleResponse string `json:"people_response"` // 本人への対応の実施状況
	Publication    string `json:"publication"`     // 公表の実施状況
	Prevention     string `json:"prevention"`      // 再発防止のための措置
	Other          string `json:"other"`           // その他参考となる事項
}

// ReportItem names one item of the report.
type ReportItem struct {
	Key     string // form field name
	Ja, En  string // labels
	Value   string
	Heading string
}

// Items lists the report's items in the order of the PPC form.
func (r Report) Items() []ReportItem {
	return []ReportItem{
		{"summary", "概要", "Summary", r.Summary, ""},
		{"data_items", "漏えい等が発生し又は発生したおそれがある個人データの項目", "Items of personal data leaked or possibly leaked", r.DataItems, ""},
		{"people", "本人の数", "Number of people affected", r.People, ""},
		{"cause", "原因", "Cause", r.Cause, ""},
		{"secondary_harm", "二次被害又はそのおそれの有無及びその内容", "Secondary harm, or its risk, and what it is", r.SecondaryHarm, ""},
		{"people_response", "本人への対応の実施状況", "Response to the people affected", r.PeopleResponse, ""},
		{"publication", "公表の実施状況", "Public announcement", r.Publication, ""},
		{"prevention", "再発防止のための措置", "Measures against recurrence", r.Prevention, ""},
		{"other", "その他参考となる事項", "Other relevant matters", r.Other, ""},
	}
}

// Set sets the item named key; false for an unknown key.
func (r *Report) Set(key, v string) bool {
	p := map[string]*string{
		"summary": &r.Summary, "data_items": &r.DataItems, "people": &r.People, "cause": &r.Cause,
		"secondary_harm": &r.SecondaryHarm, "people_response": &r.PeopleResponse,
		"publication": &r.Publication, "prevention": &r.Prevention, "other": &r.Other,
	}[key]
	if p == nil {
		return false
	}
	*p = v
	return true
}

// Step is one item of the remediation checklist.
type Step struct {
	ID   string    `json:"id"`
	Ja   string    `json:"ja"`
	En   string    `json:"en"`
	Done bool      `json:"done"`
	By   string    `json:"by,omitempty"`
	At   time.Time `json:"at,omitempty"`
	Note string    `json:"note,omitempty"` // evidence: what was done, where it is recorded
}

// Deadline is one PPC reporting deadline.
type Deadline struct {
	Key    string // "preliminary" or "final"
	Ja, En string
	Due    time.Time
	Done   bool // the report was sent (by the incident's status)
}

// Rules for the deadlines, from the APPI enforcement rules and the PPC
// guidelines: the preliminary report "promptly" (in practice within 3–5
// days of becoming aware), the final report within 30 days, 60 where the
// leak was caused by a wrongful act.
//
// Days are counted as the PPC guidelines count them: the day of becoming
// aware is day 1, and a deadline of N days ends at the end of day N, in
// Japan's time (Zone).
type Rules struct {
	PreliminaryDays   int            // default 5
	FinalDays         int            // default 30
	FinalDaysWrongful int            // default 60
	Zone              *time.Location // default Asia/Tokyo (JST)
}

func (r *Rules) defaults() {
	if r.PreliminaryDays <= 0 {
		r.PreliminaryDays = 5
	}
	if r.FinalDays <= 0 {
		r.FinalDays = 30
	}
	if r.FinalDaysWrongful <= 0 {
		r.FinalDaysWrongful = 60
	}
	if r.Zone == nil {
		r.Zone = jst
	}
}

// Defaults returns r with its defaults filled in.
func (r Rules) Defaults() Rules { r.defaults(); return r }

// due is the end of day n, day 1 being the day of t, in zone: midnight
// starting day n+1.
func due(t time.Time, n int, zone *time.Location) time.Time {
	y, m, d := t.In(zone).Date()
	return time.Date(y, m, d+n, 0, 0, 0, 0, zone)
}

// Deadlines returns the incident's reporting deadlines.
func (in *Incident) Deadlines(r Rules) []Deadline {
	r.defaults()
	final := r.FinalDays
	if in.Wrongful {
		final = r.FinalDaysWrongful
	}
	return []Deadline{
		{Key: "preliminary", Ja: "速報", En: "Preliminary report", Due: due(in.Aware, r.PreliminaryDays, r.Zone),
			Done: in.Status.rank() >= PreliminarySent.rank()},
		{Key: "final", Ja: "確報", En: "Final report", Due: due(in.Aware, final, r.Zone),
			Done: in.Status.rank() >= FinalSent.rank()},
	}
}

// Reportable says whether the leak is one the APPI requires reporting to
// the PPC, as far as the record shows: special-care data, a wrongful act,
// more than 1,000 people, or data whose misuse may cause financial harm
// (card numbers). "" when the record does not show it either way.
func (in *Incident) Reportable() (bool, string) {
	switch {
	case in.Kind == KindNearMiss:
		return false, "near miss: nothing left the organisation"
	case in.Sensitive:
		return true, "special-care personal information (要配慮個人情報)"
	case in.Wrongful:
		return true, "wrongful act (不正の目的)"
	case in.Facts.MyNumbers > 0:
		return true, "My Numbers (個人番号): risk of financial harm by misuse"
	case in.Facts.PersonalRecords > 1000:
		return true, fmt.Sprintf("more than 1,000 people (%d records)", in.Facts.PersonalRecords)
	case containsKind(in.Facts.PersonalKinds, "card_number"):
		return true, "card numbers: risk of financial harm"
	}
	return false, ""
}

func containsKind(kinds []string, k string) bool {
	for _, v := range kinds {
		if v == k {
			return true
		}
	}
	return false
}

// Redacted returns the record as a reporter who does not manage incidents
// may see it: without who viewed the message in the console and without
// the officers' decisions and comments, which are the officers' record.
func (in *Incident) Redacted() *Incident {
	c := *in
	c.Facts.Viewers = nil
	c.Facts.Decision = ""
	c.Facts.Timeline = nil
	for _, e := range in.Facts.Timeline {
		if strings.HasPrefix(e.Action, audit.PrefixHold) || strings.HasPrefix(e.Action, audit.ActionMessageView) {
			continue
		}
		c.Facts.Timeline = append(c.Facts.Timeline, e)
	}
	return &c
}

// Encode is the stored form of the record.
func (in *Incident) Encode() ([]byte, error) { return json.Marshal(in) }

// Decode reads a stored record.
func Decode(b []byte) (*Incident, error) {
	var in Incident
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("incident: decode: %w", err)
	}
	return &in, nil
}

// scopePatterns tell a folder link from a file link by the URL shapes of
// the providers that show it; the first match wins. Links that may be
// either (Box /s/, Nextcloud /s/) stay "unknown".
var scopePatterns = []struct{ sub, scope string }{
	{"/file/d/", "file"}, {"/document/d/", "file"}, {"/spreadsheets/d/", "file"},
	{"/presentation/d/", "file"}, {"/forms/d/", "file"},
	{"/folders/", "folder"}, {"/folderview", "folder"},
	{"/scl/fo/", "folder"}, {"/scl/fi/", "file"}, {"dropbox.com/sh/", "folder"}, {"dropbox.com/s/", "file"},
	{"/:f:/", "folder"}, {"/:x:/", "file"}, {"/:w:/", "file"}, {"/:p:/", "file"}, {"/:b:/", "file"},
	{"/:u:/", "file"}, {"/:i:/", "file"}, {"/:v:/", "file"},
	{"box.com/folder/", "folder"}, {"box.com/file/", "file"},
	{"/d/", "folder"}, {"/f/", "file"}, // Seafile
}

func linkScope(u string) string {
	l := strings.ToLower(u)
	for _, p := range scopePatterns {
		if strings.Contains(l, p.sub) {
			return p.scope
		}
	}
	return "unknown"
}

// linkAnyone reads what a URL shows of its access: Google's usp=sharing
// and Box/Dropbox public share paths are links anyone holding them can
// open by default.
func linkAnyone(u string) string {
	l := strings.ToLower(u)
	for _, m := range []string{"usp=sharing", "usp=drive_link", "dropbox.com/s/", "dropbox.com/scl/", "dropbox.com/sh/", "box.com/s/", "/:f:/", "/:x:/", "/:w:/", "/:p:/", "/:b:/"} {
		if strings.Contains(l, m) {
			return "likely"
		}
	}
	return "unknown"
}

// sortEvents orders a timeline by time.
func sortEvents(ev []Event) {
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].At.Before(ev[j].At) })
}
