package policy

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/sharelink"
	"github.com/egressguard/egressguard/internal/verdict"
)

// RuleSpec is one rule as written in TOML (an element of a [[…rule]]
// array). Every condition that is set must hold for the rule to match
// (AND); within one list condition any element suffices (OR). A rule with
// no condition matches every message.
type RuleSpec struct {
	// Name identifies the rule in verdicts, logs and the audit log; unique.
	// Letters, digits, '.', '_' and '-'.
	Name string `toml:"name" json:"name"`
	// Action: "pass", "bcc", "delay", "confirm", "hold" or "reject".
	Action string `toml:"action" json:"action"`
	// Delay is how long a message waits with action "delay" ("5m",
	// "1h30m"); required for it, not allowed with other actions.
	Delay string `toml:"delay" json:"delay,omitempty"`
	// Reason is shown to officers and to the sender; required for hold
	// and reject.
	Reason string `toml:"reason" json:"reason,omitempty"`
	// ReasonJA and ReasonEN are the reason in Japanese and in English;
	// notices and the console show the reader's language and fall back
	// to Reason (and then to the other language) when one is missing.
	ReasonJA string `toml:"reason_ja" json:"reason_ja,omitempty"`
	ReasonEN string `toml:"reason_en" json:"reason_en,omitempty"`
	// Mode: "enforce" (default) or "monitor". A monitor rule is recorded
	// in the verdict with what it would have done and never changes the
	// action.
	Mode string `toml:"mode" json:"mode,omitempty"`

	// ShareLink: true — the message contains a share link (of one of
	// Providers / ProviderKinds if those are set); false — it contains
	// none.
	ShareLink *bool `toml:"share_link" json:"share_link,omitempty"`
	// Providers restricts share links to these providers (names as in the
	// catalogue, e.g. "Dropbox", "Google Drive", "Nextcloud", or entry
	// names). Setting it implies share_link = true.
	Providers []string `toml:"providers" json:"providers,omitempty"`
	// ProviderKinds restricts share links to these kinds ("saas",
	// "transfer", "signed-url", "nextcloud", …). Implies share_link = true.
	ProviderKinds []string `toml:"provider_kinds" json:"provider_kinds,omitempty"`
	// UnknownDestination: true — the message contains a link whose
	// destination cannot be known without following it and that may lead
	// to a file share: a URL shortener that can lead anywhere (bit.ly,
	// t.co, …; the list is in the catalogue and admins extend it) or one
	// whose sites host shares (db.tt), or a redirector that hides its
	// target (Mimecast). Single-site shorteners whose sites share no files
	// (amzn.to, youtu.be) are listed in the verdict but do not count.
	// false — there is no such link.
	UnknownDestination *bool `toml:"unknown_destination" json:"unknown_destination,omitempty"`
	// ShareNotice: true — the subject or body reads like a file-sharing
	// invitation ("Taro shared a folder with you", 「山田さんがファイルを
	// 共有しました」); false — it does not.
	ShareNotice *bool `toml:"share_notice" json:"share_notice,omitempty"`

	// Recipients, judged on the envelope recipients (Bcc included):
	// "any_unknown" — at least one is neither internal nor allowlisted;
	// "any_external" — at least one is not internal;
	// "any_allowlisted" — at least one is allowlisted (and not internal);
	// "all_internal" — all are internal;
	// "all_known" — all are internal or allowlisted;
	// "any" or "" — no condition.
	Recipients string `toml:"recipients" json:"recipients,omitempty"`
	// ExternalHeaderRcptsOver: more than this many distinct non-internal
	// addresses are visible in the To and Cc headers.
	ExternalHeaderRcptsOver *int `toml:"external_header_rcpts_over" json:"external_header_rcpts_over,omitempty"`
	// VisibleExternalRecipients: this many or more distinct non-internal
	// addresses (allowlisted ones included) are visible in To and Cc, so
	// that every recipient learns the others' addresses. An address that
	// cannot be parsed counts as external.
	VisibleExternalRecipients *int `toml:"visible_external_recipients" json:"visible_external_recipients,omitempty"`
	// RecipientLookalike: true — an envelope recipient that is neither
	// internal nor allowlisted has a domain that resembles, without being,
	// an internal, allowlisted, correspondent or free-mail/ISP/carrier
	// domain (gmial.com for gmail.com; see package lookalike); false —
	// none does.
	RecipientLookalike *bool `toml:"recipient_lookalike" json:"recipient_lookalike,omitempty"`
	// FirstContact: "domain" — an external envelope recipient's domain
	// never received delivered mail from anyone in the organisation;
	// "address" — an external recipient never received delivered mail from
	// this sender (a new domain is a new address too). Judged on the
	// correspondents record (what was delivered, within its retention).
	FirstContact string `toml:"first_contact" json:"first_contact,omitempty"`

	// Attachment conditions hold when one attachment satisfies all of the
	// ones that are set.
	AttachmentExt       []string  `toml:"attachment_ext" json:"attachment_ext,omitempty"`             // ".zip", "7z", "tar.gz"; case-insensitive
	AttachmentType      []string  `toml:"attachment_type" json:"attachment_type,omitempty"`           // "application/zip", "application/*"
	AttachmentSizeOver  *ByteSize `toml:"attachment_size_over" json:"attachment_size_over,omitempty"` // 10485760 or "10MiB"
	EncryptedAttachment *bool     `toml:"encrypted_attachment" json:"encrypted_attachment,omitempty"` // encrypted archive, PDF or Office file
	FilenameRegex       []string  `toml:"filename_regex" json:"filename_regex,omitempty"`
	FilenameKeywords    []string  `toml:"filename_keywords" json:"filename_keywords,omitempty"`

	// Text conditions. Regular expressions (RE2) see the text in Unicode
	// NFKC form (full-width letters become ASCII); use (?i) for case
	// insensitivity. Keywords are matched as case-insensitive substrings
	// in NFKC form. The body is every text part that is not an attachment,
	// including those of attached (forwarded) messages; HTML is matched as
	// its visible text.
	SubjectRegex    []string `toml:"subject_regex" json:"subject_regex,omitempty"`
	SubjectKeywords []string `toml:"subject_keywords" json:"subject_keywords,omitempty"`
	BodyRegex       []string `toml:"body_regex" json:"body_regex,omitempty"`
	BodyKeywords    []string `toml:"body_keywords" json:"body_keywords,omitempty"`

	// Senders: the envelope sender is one of these ("user@example.com",
	// "example.com", ".example.com" with subdomains).
	Senders []string `toml:"senders" json:"senders,omitempty"`

	// Personal data, counted over the body and every attachment (archives
	// included); each condition is met at the given count or more.
	// PersonalRecords: distinct person records (a row or line with two or
	// more kinds of identifier: name, phone, date of birth, address, …).
	PersonalRecords *int `toml:"personal_records" json:"personal_records,omitempty"`
	// MyNumber: valid My Numbers (個人番号, check digit verified).
	MyNumber *int `toml:"my_number" json:"my_number,omitempty"`
	// CardNumbers: valid credit card numbers (Luhn and issuer checked).
	CardNumbers *int `toml:"card_numbers" json:"card_numbers,omitempty"`

	// InspectionProblem: true — inspection hit a limit or could not parse
	// a part; false — it did not.
	InspectionProblem *bool `toml:"inspection_problem" json:"inspection_problem,omitempty"`
}

// ByteSize is a byte count written as a number or with a unit ("25MB",
// "512KiB"; KB/MB/GB are powers of 1000, KiB/MiB/GiB and K/M/G of 1024).
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
	{"b", 1},
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *ByteSize) UnmarshalText(b []byte) error {
	str := strings.ToLower(strings.TrimSpace(string(b)))
	mult := 1.0
	for _, u := range sizeUnits {
		if strings.HasSuffix(str, u.suffix) {
			str = strings.TrimSpace(strings.TrimSuffix(str, u.suffix))
			mult = u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(str, 64)
	if err != nil || n < 0 || n*mult > 1<<62 {
		return fmt.Errorf("invalid size %q (use e.g. 10485760, \"10MiB\", \"512KB\")", string(b))
	}
	*s = ByteSize(n * mult)
	return nil
}

// UnmarshalTOML accepts integers as well as strings.
func (s *ByteSize) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return fmt.Errorf("invalid size %d: must not be negative", x)
		}
		*s = ByteSize(x)
		return nil
	case string:
		return s.UnmarshalText([]byte(x))
	}
	return fmt.Errorf("invalid size %v: use a number of bytes or a string such as \"10MiB\"", v)
}

// MarshalText writes the size in bytes.
func (s ByteSize) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(s), 10)), nil }

// Recipient conditions.
const (
	RcptAny            = "any"
	RcptAnyUnknown     = "any_unknown"
	RcptAnyExternal    = "any_external"
	RcptAnyAllowlisted = "any_allowlisted"
	RcptAllInternal    = "all_internal"
	RcptAllKnown       = "all_known"
)

var recipientConds = []string{RcptAny, RcptAnyUnknown, RcptAnyExternal, RcptAnyAllowlisted, RcptAllInternal, RcptAllKnown}

// Modes.
const (
	ModeEnforce = "enforce"
	ModeMonitor = "monitor"
)

// DefaultRules are the rules the example configuration ships with:
//
//   - inspection-problem (hold): a message that could not be inspected
//     completely is reviewed. (The engine holds such mail even without
//     this rule; the rule names the reason and allows "reject" instead.)
//   - share-link-unknown-recipient (hold): a share link to anyone neither
//     internal nor allowlisted — the guard's reason to exist.
//   - unknown-destination-unknown-recipient (hold): a link that may lead
//     to a file share but whose destination cannot be known offline (a
//     URL shortener, a redirector hiding its target) to such a recipient.
//     The guard never follows links, so it cannot tell a shortened share
//     link from any other; an officer can.
//   - personal-records-unknown-recipient (hold): 100 or more person
//     records (the patient list of the incident behind this project);
//   - my-number-unknown-recipient (hold): any valid My Number;
//   - encrypted-attachment-unknown-recipient (hold): an encrypted archive,
//     Office file or PDF, whose content cannot be inspected (the PPAP
//     case); set mode = "monitor" on a rule of that name to only record it;
//   - share-notice-unknown-recipient (hold): share-invitation wording to
//     such a recipient, for notices whose link is not recognisable. Its
//     phrases are notice templates in the third person (see notice.go);
//     ordinary mail about sharing ("I've shared the folder with you",
//     「共有フォルダに保存しました」) does not match, so its false-positive
//     risk is low enough to enforce.
//   - lookalike-recipient-domain (hold): a recipient domain that resembles
//     an internal, allowlisted, correspondent or free-mail/ISP/carrier
//     domain (gmial.com), whatever the message contains: misdirected mail
//     leaks without any link.
//   - many-visible-external-recipients (hold): 10 or more external
//     addresses visible in To/Cc, the classic Bcc mistake.
//
// and, in monitor mode (recorded, never acted on), examples to enforce
// once their hit rate is known:
//
//   - personal-records-10-unknown-recipient: 10 or more person records;
//   - first-contact-domain: a recipient domain nobody in the organisation
//     has mailed before (noisy on its own; combine it with other
//     conditions, see config/egressguard.toml);
//   - confidential-subject-unknown-recipient: 社外秘/極秘/confidential in
//     the subject;
//   - large-attachment-unknown-recipient: an attachment over 10 MB.
func DefaultRules() []RuleSpec {
	yes := func() *bool { b := true; return &b }
	ten, hundred, one := 10, 100, 1
	size := ByteSize(10 << 20)
	return []RuleSpec{
		{
			Name: "inspection-problem", Action: "hold",
			Reason:            "The message could not be inspected completely (a limit was reached or a part could not be parsed); an officer must review it.",
			ReasonJA:          "メールを最後まで検査できませんでした（上限に達したか、読み取れない部分があります）。担当者の確認が必要です。",
			ReasonEN:          "The message could not be inspected completely (a limit was reached or a part could not be parsed); an officer must review it.",
			InspectionProblem: yes(),
		},
		{
			Name: "share-link-unknown-recipient", Action: "hold",
			Reason:     "The message contains a link to shared files and goes to a recipient who is neither internal nor on the allowlist.",
			ReasonJA:   "ファイル共有リンクを含むメールが、社内でも許可リストにもない宛先に送られようとしています。",
			ReasonEN:   "The message contains a link to shared files and goes to a recipient who is neither internal nor on the allowlist.",
			ShareLink:  yes(),
			Recipients: RcptAnyUnknown,
		},
		{
			Name: "unknown-destination-unknown-recipient", Action: "hold",
			Reason:             "The message contains a link whose destination cannot be known without following it (a URL shortener or a redirector that hides its target); it may lead to shared files, and it goes to a recipient who is neither internal nor on the allowlist.",
			ReasonJA:           "リンク先をたどらないと分からないリンク（短縮 URL や転送先を隠すリダイレクト）を含むメールが、社内でも許可リストにもない宛先に送られようとしています。共有ファイルにつながっている可能性があります。",
			ReasonEN:           "The message contains a link whose destination cannot be known without following it (a URL shortener or a redirector that hides its target); it may lead to shared files, and it goes to a recipient who is neither internal nor on the allowlist.",
			UnknownDestination: yes(),
			Recipients:         RcptAnyUnknown,
		},
		{
			Name: "share-notice-unknown-recipient", Action: "hold",
			Reason:      "The message reads like a file-sharing invitation and goes to a recipient who is neither internal nor on the allowlist.",
			ReasonJA:    "ファイル共有の招待と思われるメールが、社内でも許可リストにもない宛先に送られようとしています。",
			ReasonEN:    "The message reads like a file-sharing invitation and goes to a recipient who is neither internal nor on the allowlist.",
			ShareNotice: yes(),
			Recipients:  RcptAnyUnknown,
		},
		{
			Name: "personal-records-unknown-recipient", Action: "hold",
			Reason:          "個人情報（100 件以上の個人レコード）を社外の未登録の宛先へ送ろうとしています。 / The message carries personal data (100 or more person records) to a recipient who is neither internal nor on the allowlist.",
			ReasonJA:        "個人情報（100 件以上の個人レコード）を社外の未登録の宛先へ送ろうとしています。",
			ReasonEN:        "The message carries personal data (100 or more person records) to a recipient who is neither internal nor on the allowlist.",
			PersonalRecords: &hundred,
			Recipients:      RcptAnyUnknown,
		},
		{
			Name: "my-number-unknown-recipient", Action: "hold",
			Reason:     "個人番号（マイナンバー）を社外の未登録の宛先へ送ろうとしています。 / The message carries a My Number to a recipient who is neither internal nor on the allowlist.",
			ReasonJA:   "個人番号（マイナンバー）を社外の未登録の宛先へ送ろうとしています。",
			ReasonEN:   "The message carries a My Number to a recipient who is neither internal nor on the allowlist.",
			MyNumber:   &one,
			Recipients: RcptAnyUnknown,
		},
		{
			Name: "encrypted-attachment-unknown-recipient", Action: "hold",
			Reason:              "暗号化された添付ファイルは中身を検査できません（PPAP）。社外の未登録の宛先へ送る前に確認が必要です。 / An encrypted attachment cannot be inspected (PPAP) and goes to a recipient who is neither internal nor on the allowlist.",
			ReasonJA:            "暗号化された添付ファイルは中身を検査できません（PPAP）。社外の未登録の宛先へ送る前に確認が必要です。",
			ReasonEN:            "An encrypted attachment cannot be inspected (PPAP) and goes to a recipient who is neither internal nor on the allowlist.",
			EncryptedAttachment: yes(),
			Recipients:          RcptAnyUnknown,
		},
		{
			Name: "lookalike-recipient-domain", Action: "hold",
			Reason:             "宛先のドメインが、社内・許可リスト・よく送信する相手先・主要なフリーメール／プロバイダ／携帯キャリアのドメインに似ていますが、同じではありません。宛先の入力ミスの可能性があります。 / A recipient's domain looks like, but is not, a domain the organisation knows (its own, an allowlisted one, a regular correspondent, or a major free-mail, ISP or carrier domain); the address may be mistyped.",
			ReasonJA:           "宛先のドメインが、社内・許可リスト・よく送信する相手先・主要なフリーメール／プロバイダ／携帯キャリアのドメインに似ていますが、同じではありません。宛先の入力ミスの可能性があります。",
			ReasonEN:           "A recipient's domain looks like, but is not, a domain the organisation knows (its own, an allowlisted one, a regular correspondent, or a major free-mail, ISP or carrier domain); the address may be mistyped.",
			RecipientLookalike: yes(),
		},
		{
			Name: "many-visible-external-recipients", Action: "hold",
			Reason:                    "社外のアドレス 10 件以上が To/Cc に表示され、受信者全員が互いのアドレスを見られます。Bcc のつもりではありませんか。 / 10 or more external addresses are visible in To/Cc, so every recipient sees the others' addresses; Bcc may have been intended.",
			ReasonJA:                  "社外のアドレス 10 件以上が To/Cc に表示され、受信者全員が互いのアドレスを見られます。Bcc のつもりではありませんか。",
			ReasonEN:                  "10 or more external addresses are visible in To/Cc, so every recipient sees the others' addresses; Bcc may have been intended.",
			VisibleExternalRecipients: &ten,
		},
		{
			Name: "first-contact-domain", Action: "hold", Mode: ModeMonitor,
			Reason:       "組織からこれまでメールを送ったことのないドメインが宛先にあります。 / A recipient's domain has never received mail from the organisation before.",
			ReasonJA:     "組織からこれまでメールを送ったことのないドメインが宛先にあります。",
			ReasonEN:     "A recipient's domain has never received mail from the organisation before.",
			FirstContact: FirstContactDomain,
		},
		{
			Name: "personal-records-10-unknown-recipient", Action: "hold", Mode: ModeMonitor,
			Reason:          "個人情報（10 件以上の個人レコード）を社外の未登録の宛先へ送ろうとしています。 / The message carries personal data (10 or more person records) to a recipient who is neither internal nor on the allowlist.",
			ReasonJA:        "個人情報（10 件以上の個人レコード）を社外の未登録の宛先へ送ろうとしています。",
			ReasonEN:        "The message carries personal data (10 or more person records) to a recipient who is neither internal nor on the allowlist.",
			PersonalRecords: &ten,
			Recipients:      RcptAnyUnknown,
		},
		{
			Name: "confidential-subject-unknown-recipient", Action: "hold", Mode: ModeMonitor,
			Reason:          "The subject marks the message as confidential and it goes to a recipient who is neither internal nor on the allowlist.",
			ReasonJA:        "件名に「社外秘」などの表示があり、社内でも許可リストにもない宛先に送られようとしています。",
			ReasonEN:        "The subject marks the message as confidential and it goes to a recipient who is neither internal nor on the allowlist.",
			SubjectKeywords: []string{"社外秘", "極秘", "部外秘", "confidential"},
			Recipients:      RcptAnyUnknown,
		},
		{
			Name: "large-attachment-unknown-recipient", Action: "hold", Mode: ModeMonitor,
			Reason:             "An attachment over 10 MB goes to a recipient who is neither internal nor on the allowlist.",
			ReasonJA:           "10MB を超える添付ファイルが、社内でも許可リストにもない宛先に送られようとしています。",
			ReasonEN:           "An attachment over 10 MB goes to a recipient who is neither internal nor on the allowlist.",
			AttachmentSizeOver: &size,
			Recipients:         RcptAnyUnknown,
		},
	}
}

// rule is a compiled RuleSpec.
type rule struct {
	name     string
	action   verdict.Action
	reason   string
	reasonJA string
	reasonEN string
	monitor  bool
	delay    time.Duration
	conds    []cond
	// who holds one test per condition about recipients; the rule
	// applies to the recipients they pick (see eval.targets).
	who []recipientTest
	// personal: the rule has a personal-data condition; its reason then
	// starts with what was found (file, count, kinds), which officers and
	// the sender need to see.
	personal func(*eval) string
}

// cond is one compiled condition. cost orders evaluation: cheap facts
// first, text scans last, so most rules fail before any text is touched.
type cond struct {
	cost     int
	test     func(*eval) bool
	evidence func(*eval) string
}

// recipientTest tells, for a condition about recipients, whether recipient
// i (an index into the envelope recipients) is one that makes it true.
type recipientTest func(ev *eval, i int) bool

const (
	costFact = iota
	costAttachment
	costSubject
	costBody
)

var ruleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// compileRule compiles spec; problems go to probs under key.
func compileRule(spec RuleSpec, key string, cat *sharelink.Catalog, probs *problems) *rule {
	n := len(*probs)
	r := &rule{name: spec.Name, reason: strings.TrimSpace(spec.Reason),
		reasonJA: strings.TrimSpace(spec.ReasonJA), reasonEN: strings.TrimSpace(spec.ReasonEN)}
	if !ruleName.MatchString(spec.Name) {
		probs.add(key+".name", fmt.Sprintf("%q is not a valid rule name", spec.Name), "letters, digits, '.', '_' and '-', at most 64, e.g. \"share-link-unknown-recipient\"")
	}
	switch a := verdict.Action(strings.ToLower(strings.TrimSpace(spec.Action))); a {
	case verdict.Pass, verdict.Bcc, verdict.Delay, verdict.Confirm, verdict.Hold, verdict.Reject:
		r.action = a
	default:
		probs.add(key+".action", fmt.Sprintf("unknown action %q", spec.Action), "pass, bcc, delay, confirm, hold or reject")
	}
	if r.reason == "" && r.reasonJA == "" && r.reasonEN == "" && r.action != verdict.Pass && r.action != "" {
		probs.add(key+".reason", "missing", "a sentence for officers and senders saying why such mail is "+map[verdict.Action]string{
			verdict.Bcc: "sent with its external To/Cc addresses moved to Bcc", verdict.Delay: "delayed", verdict.Confirm: "sent only after the sender confirms",
			verdict.Hold: "held", verdict.Reject: "rejected"}[r.action])
	}
	switch d := strings.TrimSpace(spec.Delay); {
	case r.action == verdict.Delay && d == "":
		probs.add(key+".delay", "missing", "how long delayed mail waits, e.g. delay = \"5m\"")
	case r.action == verdict.Delay:
		v, err := time.ParseDuration(d)
		if err != nil || v <= 0 {
			probs.add(key+".delay", fmt.Sprintf("%q is not a positive duration", spec.Delay), "e.g. \"5m\", \"90s\", \"1h\"")
		}
		r.delay = v
	case d != "":
		probs.add(key+".delay", "set for action "+string(r.action), "delay belongs to action = \"delay\"; remove it")
	}
	switch strings.ToLower(strings.TrimSpace(spec.Mode)) {
	case "", ModeEnforce:
	case ModeMonitor:
		r.monitor = true
	default:
		probs.add(key+".mode", fmt.Sprintf("unknown mode %q", spec.Mode), "enforce (default) or monitor")
	}

	if spec.InspectionProblem != nil {
		want := *spec.InspectionProblem
		r.conds = append(r.conds, cond{costFact,
			func(ev *eval) bool { return (len(ev.f.Problems) > 0) == want },
			func(ev *eval) string {
				if !want {
					return "inspected completely"
				}
				return "inspection problem: " + ev.problemSummary()
			}})
	}
	compileShareCond(spec, key, cat, probs, r)
	if spec.UnknownDestination != nil {
		want := *spec.UnknownDestination
		pick := func(ev *eval) int {
			for i, d := range ev.unknownDest {
				if d.d.ShareCapable {
					return i
				}
			}
			return -1
		}
		r.conds = append(r.conds, cond{costFact,
			func(ev *eval) bool { return (pick(ev) >= 0) == want },
			func(ev *eval) string {
				if !want {
					return "no link to an unknown destination"
				}
				d := ev.unknownDest[pick(ev)]
				l := &ev.f.Links[d.link]
				return fmt.Sprintf("unknown destination %s (%s, part %s)", excerpt(l.URL, 200), d.d.Why, partName(l.Part))
			}})
	}
	compileRecipientCond(spec, key, probs, r)
	if len(spec.Senders) > 0 {
		l, ps := parseEntries(spec.Senders, key+".senders")
		*probs = append(*probs, ps...)
		r.conds = append(r.conds, cond{costFact,
			func(ev *eval) bool { _, ok := l.lookup(ev.sender); return ok },
			func(ev *eval) string { return "sender " + ev.sender }})
	}
	compileAttachmentCond(spec, key, probs, r)
	compilePersonalConds(spec, key, probs, r)
	compileTextConds(spec, key, probs, r)
	if spec.ShareNotice != nil {
		want := *spec.ShareNotice
		r.conds = append(r.conds, cond{costBody,
			func(ev *eval) bool { return (ev.notice() != "") == want },
			func(ev *eval) string {
				if !want {
					return "no share-invitation wording"
				}
				return fmt.Sprintf("share-invitation wording %q", ev.notice())
			}})
	}
	if len(*probs) > n {
		return nil
	}
	sort.SliceStable(r.conds, func(i, j int) bool { return r.conds[i].cost < r.conds[j].cost })
	return r
}

func compileShareCond(spec RuleSpec, key string, cat *sharelink.Catalog, probs *problems, r *rule) {
	if spec.ShareLink != nil && !*spec.ShareLink {
		if len(spec.Providers)+len(spec.ProviderKinds) > 0 {
			probs.add(key+".share_link", "false together with providers or provider_kinds", "providers imply share_link = true; remove one of them")
			return
		}
		r.conds = append(r.conds, cond{costFact,
			func(ev *eval) bool { return len(ev.shares) == 0 },
			func(*eval) string { return "no share link" }})
		return
	}
	if spec.ShareLink == nil && len(spec.Providers)+len(spec.ProviderKinds) == 0 {
		return
	}
	var providers, kinds map[string]bool
	for j, p := range spec.Providers {
		name, ok := cat.Provider(p)
		if !ok {
			probs.add(fmt.Sprintf("%s.providers[%d]", key, j), fmt.Sprintf("unknown provider %q", p), "one of: "+strings.Join(cat.Providers(), ", "))
			continue
		}
		if providers == nil {
			providers = map[string]bool{}
		}
		providers[name] = true
	}
	for j, k := range spec.ProviderKinds {
		k = strings.ToLower(strings.TrimSpace(k))
		if !contains(sharelink.Kinds(), k) {
			probs.add(fmt.Sprintf("%s.provider_kinds[%d]", key, j), fmt.Sprintf("unknown kind %q", spec.ProviderKinds[j]), "one of: "+strings.Join(sharelink.Kinds(), ", "))
			continue
		}
		if kinds == nil {
			kinds = map[string]bool{}
		}
		kinds[k] = true
	}
	pick := func(ev *eval) int {
		for i, s := range ev.shares {
			if (providers == nil || providers[s.m.Provider]) && (kinds == nil || kinds[s.m.Kind]) {
				return i
			}
		}
		return -1
	}
	r.conds = append(r.conds, cond{costFact,
		func(ev *eval) bool { return pick(ev) >= 0 },
		func(ev *eval) string {
			s := ev.shares[pick(ev)]
			l := &ev.f.Links[s.link]
			return fmt.Sprintf("share link %s %s (part %s)", s.m.Provider, excerpt(l.URL, 200), partName(l.Part))
		}})
}

func compileRecipientCond(spec RuleSpec, key string, probs *problems, r *rule) {
	switch strings.ToLower(strings.TrimSpace(spec.Recipients)) {
	case "", RcptAny:
	case RcptAnyUnknown:
		r.conds = append(r.conds, cond{costFact,
			func(ev *eval) bool { return ev.count[verdict.Unknown] > 0 },
			func(ev *eval) string { return "unknown recipients: " + ev.addrs(verdict.Unknown) }})
		r.who = append(r.who, func(ev *eval, i int) bool { return ev.rcpts[i].Class == verdict.Unknown })
	case RcptAnyExternal:
		r.conds = append(r.conds, cond{costFact,
			func(ev *eval) bool { return ev.count[verdict.Unknown]+ev.count[verdict.Allowlisted] > 0 },
			func(ev *eval) string { return "external recipients: " + ev.addrs(verdict.Unknown, verdict.Allowlisted) }})
		r.who = append(r.who, func(ev *eval, i int) bool { return ev.rcpts[i].Class != verdict.Internal })
	case RcptAnyAllowlisted:
		r.conds = append(r.conds, cond{costFact,
			func(ev *eval) bool { return ev.count[verdict.Allowlisted] > 0 },
			func(ev *eval) string { return "allowlisted recipients: " + ev.addrs(verdict.Allowlisted) }})
		r.who = append(r.who, func(ev *eval, i int) bool { return ev.rcpts[i].Class == verdict.Allowlisted })
	case RcptAllInternal:
		r.conds = append(r.conds, cond{costFact,
			func(ev *eval) bool { return len(ev.rcpts) > 0 && ev.count[verdict.Internal] == len(ev.rcpts) },
			func(*eval) string { return "all recipients internal" }})
	case RcptAllKnown:
		r.conds = append(r.conds, cond{costFact,
			func(ev *eval) bool { return len(ev.rcpts) > 0 && ev.count[verdict.Unknown] == 0 },
			func(*eval) string { return "all recipients internal or allowlisted" }})
	default:
		probs.add(key+".recipients", fmt.Sprintf("unknown value %q", spec.Recipients), "one of "+strings.Join(recipientConds, ", "))
	}
	compileSignalConds(spec, key, probs, r)
	if spec.ExternalHeaderRcptsOver != nil {
		limit := *spec.ExternalHeaderRcptsOver
		if limit < 0 {
			probs.add(key+".external_header_rcpts_over", fmt.Sprintf("%d is negative", limit), "a count such as 10; 0 means any external To/Cc address")
		}
		r.conds = append(r.conds, cond{costFact,
			func(ev *eval) bool { return ev.headerExternal() > limit },
			func(ev *eval) string {
				return fmt.Sprintf("%d external addresses in To/Cc (over %d)", ev.headerExternal(), limit)
			}})
	}
}

func compileAttachmentCond(spec RuleSpec, key string, probs *problems, r *rule) {
	var tests []func(*attachmentView) bool
	var exts []string
	for j, e := range spec.AttachmentExt {
		e = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(e), "."))
		if e == "" || strings.ContainsAny(e, "/\\ ") {
			probs.add(fmt.Sprintf("%s.attachment_ext[%d]", key, j), fmt.Sprintf("%q is not a file extension", spec.AttachmentExt[j]), "e.g. \"zip\", \".7z\", \"tar.gz\"")
			continue
		}
		exts = append(exts, "."+e)
	}
	if len(exts) > 0 {
		tests = append(tests, func(a *attachmentView) bool {
			for _, e := range exts {
				if strings.HasSuffix(a.lowerName, e) {
					return true
				}
			}
			return false
		})
	}
	var types, prefixes []string
	for j, t := range spec.AttachmentType {
		t = strings.ToLower(strings.TrimSpace(t))
		typ, sub, ok := strings.Cut(t, "/")
		if !ok || typ == "" || sub == "" || strings.Contains(typ, "*") || (strings.Contains(sub, "*") && sub != "*") {
			probs.add(fmt.Sprintf("%s.attachment_type[%d]", key, j), fmt.Sprintf("%q is not a media type", spec.AttachmentType[j]), "e.g. \"application/zip\" or \"application/*\"")
			continue
		}
		if sub == "*" {
			prefixes = append(prefixes, typ+"/")
		} else {
			types = append(types, t)
		}
	}
	if len(types)+len(prefixes) > 0 {
		tests = append(tests, func(a *attachmentView) bool {
			if contains(types, a.lowerType) {
				return true
			}
			for _, p := range prefixes {
				if strings.HasPrefix(a.lowerType, p) {
					return true
				}
			}
			return false
		})
	}
	if spec.AttachmentSizeOver != nil {
		limit := int64(*spec.AttachmentSizeOver)
		if limit < 0 {
			probs.add(key+".attachment_size_over", "negative", "a size such as \"10MiB\"")
		}
		tests = append(tests, func(a *attachmentView) bool { return a.a.Size > limit })
	}
	if spec.EncryptedAttachment != nil {
		want := *spec.EncryptedAttachment
		tests = append(tests, func(a *attachmentView) bool { return a.a.Encrypted == want })
	}
	if res := compileRegexps(spec.FilenameRegex, key+".filename_regex", probs); len(res) > 0 {
		tests = append(tests, func(a *attachmentView) bool { return anyRegexp(res, a.name.NFKC) })
	}
	if kws := compileKeywords(spec.FilenameKeywords, key+".filename_keywords", probs); len(kws) > 0 {
		tests = append(tests, func(a *attachmentView) bool { return anyKeyword(kws, a.name.Lower) != "" })
	}
	if len(tests) == 0 {
		return
	}
	pick := func(ev *eval) int {
		for i := range ev.attachments() {
			a := &ev.atts[i]
			all := true
			for _, t := range tests {
				if !t(a) {
					all = false
					break
				}
			}
			if all {
				return i
			}
		}
		return -1
	}
	r.conds = append(r.conds, cond{costAttachment,
		func(ev *eval) bool { return pick(ev) >= 0 },
		func(ev *eval) string {
			a := ev.atts[pick(ev)].a
			s := fmt.Sprintf("attachment %q (%s, %d bytes", a.Filename, a.ContentType, a.Size)
			if a.Encrypted {
				s += ", encrypted"
			}
			return s + ", part " + partName(a.Part) + ")"
		}})
}

func compileTextConds(spec RuleSpec, key string, probs *problems, r *rule) {
	if res := compileRegexps(spec.SubjectRegex, key+".subject_regex", probs); len(res) > 0 {
		r.conds = append(r.conds, cond{costSubject,
			func(ev *eval) bool { return anyRegexp(res, ev.subject().NFKC) },
			func(ev *eval) string { return fmt.Sprintf("subject %q matches", excerpt(ev.f.Subject, 120)) }})
	}
	if kws := compileKeywords(spec.SubjectKeywords, key+".subject_keywords", probs); len(kws) > 0 {
		r.conds = append(r.conds, cond{costSubject,
			func(ev *eval) bool { return anyKeyword(kws, ev.subject().Lower) != "" },
			func(ev *eval) string { return fmt.Sprintf("subject contains %q", anyKeyword(kws, ev.subject().Lower)) }})
	}
	if res := compileRegexps(spec.BodyRegex, key+".body_regex", probs); len(res) > 0 {
		find := func(ev *eval) (string, bool) {
			for _, t := range ev.body() {
				for _, re := range res {
					if loc := re.FindStringIndex(t.NFKC); loc != nil {
						return t.NFKC[loc[0]:loc[1]], true
					}
				}
			}
			return "", false
		}
		r.conds = append(r.conds, cond{costBody,
			func(ev *eval) bool { _, ok := find(ev); return ok },
			func(ev *eval) string { m, _ := find(ev); return fmt.Sprintf("body matches %q", excerpt(m, 120)) }})
	}
	if kws := compileKeywords(spec.BodyKeywords, key+".body_keywords", probs); len(kws) > 0 {
		find := func(ev *eval) string {
			for _, t := range ev.body() {
				if k := anyKeyword(kws, t.Lower); k != "" {
					return k
				}
			}
			return ""
		}
		r.conds = append(r.conds, cond{costBody,
			func(ev *eval) bool { return find(ev) != "" },
			func(ev *eval) string { return fmt.Sprintf("body contains %q", find(ev)) }})
	}
}

func compileRegexps(srcs []string, key string, probs *problems) []*regexp.Regexp {
	var out []*regexp.Regexp
	for j, src := range srcs {
		if src == "" {
			probs.add(fmt.Sprintf("%s[%d]", key, j), "empty pattern", "a regular expression (RE2 syntax)")
			continue
		}
		re, err := regexp.Compile(src)
		if err != nil {
			probs.add(fmt.Sprintf("%s[%d]", key, j), fmt.Sprintf("bad regular expression %q: %s", src, strings.TrimPrefix(err.Error(), "error parsing regexp: ")), "RE2 syntax, see https://golang.org/s/re2syntax")
			continue
		}
		out = append(out, re)
	}
	return out
}

func compileKeywords(kws []string, key string, probs *problems) []string {
	var out []string
	for j, k := range kws {
		n := normalizeKeyword(k)
		if n == "" {
			probs.add(fmt.Sprintf("%s[%d]", key, j), "empty keyword", "a word or phrase; it is matched case-insensitively")
			continue
		}
		out = append(out, n)
	}
	return out
}

func anyRegexp(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// anyKeyword returns the first keyword contained in s, or "".
func anyKeyword(kws []string, s string) string {
	for _, k := range kws {
		if strings.Contains(s, k) {
			return k
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func partName(p string) string {
	if p == "" {
		return "header"
	}
	return p
}
