package console

import (
	"fmt"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/api"
	"github.com/egressguard/egressguard/internal/verdict"
)

// The words of the decision panel, the summary line, the confirmation
// step, the sender's justification and the figures. They are merged into
// catalogue at start, so the same test checks them.
var decideCatalogue = map[string]map[string]string{
	"en": {
		"class.internal":                     "internal",
		"class.allowlisted":                  "allowlisted",
		"class.unknown":                      "unknown",
		"action.pass":                        "pass",
		"action.hold":                        "hold for review",
		"action.reject":                      "refuse",
		"action.bcc":                         "send as Bcc",
		"action.delay":                       "delay",
		"action.confirm":                     "ask the sender",
		"action.notice":                      "notice",
		"msg.monitor":                        "recorded only (monitor mode)",
		"msg.tech":                           "Technical details (admins)",
		"col.matched":                        "Matched",
		"col.why_link":                       "Catalogue match",
		"src.text":                           "text",
		"src.href":                           "link target",
		"src.html-text":                      "link text",
		"src.calendar":                       "calendar invitation",
		"src.ooxml":                          "Office attachment",
		"src.header":                         "header",
		"src.pdf":                            "PDF attachment",
		"problem.limit-depth":                "nested too deeply to inspect",
		"problem.limit-parts":                "too many parts to inspect",
		"problem.limit-size":                 "too large to inspect",
		"problem.limit-time":                 "inspection took too long",
		"problem.parse":                      "a part could not be read",
		"problem.charset":                    "unknown character set",
		"summary.unknown":                    "%d unknown external recipient(s)",
		"summary.more":                       "and %d more",
		"summary.bcc":                        " (Bcc)",
		"link.saas":                          "%s share link",
		"link.folder":                        "%s folder share link",
		"link.transfer":                      "%s file transfer link",
		"link.signed-url":                    "%s signed download link",
		"link.other":                         "%s share link",
		"rcpt.hidden":                        "Bcc: not visible in To/Cc",
		"msg.signals":                        "Other findings",
		"msg.high_risk":                      "High risk: to approve, you will type the recipient's domain.",
		"msg.summary":                        "Summary",
		"act.to_confirm":                     "Approve…",
		"act.reject_title":                   "Reject",
		"confirm.title":                      "Approve and send?",
		"confirm.intro":                      "Once approved, the message leaves as it is. Check the recipients once more.",
		"confirm.check":                      "I have checked the recipients and the content.",
		"confirm.domain":                     "Type the domain of the recipient (the part after @)",
		"confirm.submit":                     "Approve and send",
		"confirm.cancel":                     "Back to the message",
		"err.confirm_required":               "Tick the confirmation to approve.",
		"err.domain_required":                "The domain you typed does not match the recipient's. Read the recipient's address again and type its domain.",
		"err.justification_required":         "Write the explanation first.",
		"just.title":                         "Sender's explanation",
		"just.label":                         "Why must this message go out? The officers read this.",
		"just.submit":                        "Send the explanation",
		"just.none":                          "The sender has not explained this message.",
		"just.wrong_address":                 "If an address is wrong, withdraw the message and send it again.",
		"done.justified":                     "Your explanation of “%s” was recorded; the officers will see it.",
		"done.approved_subj":                 "Your approval of “%s” (%s) was recorded; it needs more approvals before it is sent.",
		"done.released_subj":                 "“%s” (%s) was approved and is being sent.",
		"done.rejected_subj":                 "“%s” (%s) was rejected; it will not be sent.",
		"done.withdrawn_subj":                "“%s” (%s) was withdrawn; it will not be sent.",
		"decision.justify":                   "explained by the sender",
		"decision.open":                      "opened",
		"decision.escalate":                  "backup officers told (no decision in time)",
		"officers.title":                     "Approval quality",
		"officers.intro":                     "Decisions of the last %d days per officer. Fast approvals are approvals given within %s of first opening the message: many of them suggest approving without reading.",
		"officers.days":                      "Days",
		"officers.show":                      "Show",
		"officers.empty":                     "No decisions in this period.",
		"officers.split":                     "%d approved, %d rejected, %d near misses",
		"nav.officers":                       "Approval quality",
		"col.officer":                        "Officer",
		"col.decisions":                      "Decisions",
		"col.approval_rate":                  "Approval rate",
		"col.median_decide":                  "Median time to decide",
		"col.fast_approvals":                 "Fast approvals",
		"actor.system":                       "the guard",
		"actor.smtp":                         "SMTP client %s",
		"actor.cli":                          "%s (command line)",
		"audit.rcpts":                        "%d recipient(s)",
		"audit.via":                          "via %s",
		"audit.export":                       "Export (JSON Lines)",
		"audit.verify":                       "Verify the chain",
		"audit.chain_ok":                     "Chain intact: %d entries verified",
		"audit.chain_broken":                 "Chain broken",
		"audit.chain_head":                   "Newest entry #%d, %s",
		"audit.raw":                          "Recorded data",
		"away.title":                         "Absence",
		"away.intro":                         "While you are away, the notices meant for you go to the officer you name here. Any officer may decide on held mail in any case.",
		"away.now":                           "You are away: %s gets your notices until %s.",
		"away.end":                           "I am back: end the absence",
		"away.delegate":                      "Who gets your notices",
		"away.until":                         "Until (this day included)",
		"away.submit":                        "Save",
		"away.saved":                         "Saved.",
		"err.away":                           "Choose another active officer and a day that has not passed.",
		"nav.away":                           "Absence",
		"signal.lookalikes":                  "Look-alike recipient domains",
		"signal.first_contact":               "First contact",
		"signal.visible_external_recipients": "External addresses visible in To/Cc",
		"signal.personal_records":            "Personal-data records",
		"signal.personal":                    "Personal data",
		"signal.my_number":                   "My Number (individual numbers)",
		"signal.card_numbers":                "Card numbers",
		"queue.high_risk":                    "high risk",
		"done.rejected_nobody_subj":          "“%s” (%s) was rejected; it will not be sent. It was recorded as a near miss, but nobody was notified: no incident contacts are configured (notify.incident_contacts).",
		"time.zone":                          "Times in %s",
	},
	"ja": {
		"class.internal":                     "社内",
		"class.allowlisted":                  "許可リスト",
		"class.unknown":                      "未知",
		"action.pass":                        "送信",
		"action.hold":                        "保留して確認",
		"action.reject":                      "拒否",
		"action.bcc":                         "Bcc に変えて送信",
		"action.delay":                       "遅延送信",
		"action.confirm":                     "送信者に確認",
		"action.notice":                      "通知",
		"msg.monitor":                        "記録のみ（監視モード）",
		"msg.tech":                           "技術的な詳細（管理者向け）",
		"col.matched":                        "一致した内容",
		"col.why_link":                       "カタログとの一致",
		"src.text":                           "本文",
		"src.href":                           "リンク先",
		"src.html-text":                      "リンクの表示テキスト",
		"src.calendar":                       "会議の招待",
		"src.ooxml":                          "Office 添付ファイル",
		"src.header":                         "ヘッダー",
		"src.pdf":                            "PDF 添付ファイル",
		"problem.limit-depth":                "入れ子が深すぎて検査できません",
		"problem.limit-parts":                "パートが多すぎて検査できません",
		"problem.limit-size":                 "大きすぎて検査できません",
		"problem.limit-time":                 "検査に時間がかかりすぎました",
		"problem.parse":                      "読み取れないパートがあります",
		"problem.charset":                    "不明な文字コード",
		"summary.unknown":                    "外部の未知の宛先 %d件",
		"summary.more":                       "ほか%d件",
		"summary.bcc":                        "（Bcc）",
		"link.saas":                          "%s 共有リンク",
		"link.folder":                        "%s フォルダ共有リンク",
		"link.transfer":                      "%s ファイル転送リンク",
		"link.signed-url":                    "%s 署名付きダウンロードリンク",
		"link.other":                         "%s 共有リンク",
		"rcpt.hidden":                        "Bcc：To/Cc に表示されない宛先",
		"msg.signals":                        "その他の検出",
		"msg.high_risk":                      "高リスク：承認には宛先のドメインの入力が必要です。",
		"msg.summary":                        "要約",
		"act.to_confirm":                     "承認へ進む…",
		"act.reject_title":                   "却下",
		"confirm.title":                      "承認して送信しますか",
		"confirm.intro":                      "承認するとメールはこのまま送信されます。宛先をもう一度確認してください。",
		"confirm.check":                      "宛先と内容を確認しました。",
		"confirm.domain":                     "宛先のドメイン（@ より後ろ）を入力してください",
		"confirm.submit":                     "承認して送信",
		"confirm.cancel":                     "メールに戻る",
		"err.confirm_required":               "承認するには確認欄にチェックを入れてください。",
		"err.domain_required":                "入力されたドメインが宛先と一致しません。宛先のアドレスをもう一度読み、そのドメインを入力してください。",
		"err.justification_required":         "説明を入力してください。",
		"just.title":                         "送信者の説明",
		"just.label":                         "このメールを送る必要がある理由（担当者が読みます）",
		"just.submit":                        "説明を送る",
		"just.none":                          "送信者からの説明はまだありません。",
		"just.wrong_address":                 "宛先が誤っている場合は取り下げて送り直してください。",
		"done.justified":                     "「%s」の説明を記録しました。担当者が確認します。",
		"done.approved_subj":                 "「%s」（%s）の承認を記録しました。送信にはさらに承認が必要です。",
		"done.released_subj":                 "「%s」（%s）を承認しました。送信します。",
		"done.rejected_subj":                 "「%s」（%s）を却下しました。送信されません。",
		"done.withdrawn_subj":                "「%s」（%s）を取り下げました。送信されません。",
		"decision.justify":                   "送信者の説明",
		"decision.open":                      "閲覧",
		"decision.escalate":                  "代理の担当者に通知（期限内に判断なし）",
		"officers.title":                     "承認の質",
		"officers.intro":                     "過去%d日間の担当者ごとの判断です。「即時の承認」はメールを開いてから%s以内の承認で、多い場合は読まずに承認している可能性があります。",
		"officers.days":                      "日数",
		"officers.show":                      "表示",
		"officers.empty":                     "この期間の判断はありません。",
		"officers.split":                     "承認 %d、却下 %d、ニアミス %d",
		"nav.officers":                       "承認の質",
		"col.officer":                        "担当者",
		"col.decisions":                      "判断",
		"col.approval_rate":                  "承認率",
		"col.median_decide":                  "判断までの時間（中央値）",
		"col.fast_approvals":                 "即時の承認",
		"actor.system":                       "ガード（自動）",
		"actor.smtp":                         "SMTP クライアント %s",
		"actor.cli":                          "%s（コマンドライン）",
		"audit.rcpts":                        "宛先 %d件",
		"audit.via":                          "%s から",
		"audit.export":                       "書き出し（JSON Lines）",
		"audit.verify":                       "チェーンを検証",
		"audit.chain_ok":                     "チェーンは正常です：%d 件を検証",
		"audit.chain_broken":                 "チェーンが壊れています",
		"audit.chain_head":                   "最新の記録 #%d、%s",
		"audit.raw":                          "記録されたデータ",
		"away.title":                         "不在設定",
		"away.intro":                         "不在の間、あなた宛ての通知はここで指定した担当者に届きます。保留メールの判断はどの担当者でも行えます。",
		"away.now":                           "不在中です：%[2]s まで %[1]s さんが通知を受け取ります。",
		"away.end":                           "戻りました（不在を終了）",
		"away.delegate":                      "通知を受け取る担当者",
		"away.until":                         "期限（この日を含む）",
		"away.submit":                        "保存",
		"away.saved":                         "保存しました。",
		"err.away":                           "有効な別の担当者と、過ぎていない日付を選んでください。",
		"nav.away":                           "不在設定",
		"signal.lookalikes":                  "似たドメインの宛先",
		"signal.first_contact":               "初めて送る宛先",
		"signal.visible_external_recipients": "To/Cc に見える社外のアドレス",
		"signal.personal_records":            "個人情報の件数",
		"signal.personal":                    "個人情報",
		"signal.my_number":                   "マイナンバー（個人番号）",
		"signal.card_numbers":                "カード番号",
		"queue.high_risk":                    "高リスク",
		"done.rejected_nobody_subj":          "「%s」（%s）を却下しました。送信されません。ニアミスとして記録しましたが、インシデント連絡先が設定されていないため（notify.incident_contacts）、誰にも通知されていません。",
		"time.zone":                          "時刻は %s で表示",
	},
}

func init() {
	for code, m := range decideCatalogue {
		for k, v := range m {
			catalogue[code][k] = v
		}
	}
}

// optional returns the text for key, or fallback when the catalogue has
// none (values that come from outside: a new action, a new source).
func (l lang) optional(key, fallback string) string {
	if s, ok := l.msgs[key]; ok {
		return s
	}
	return fallback
}

// Class names a recipient class.
func (l lang) Class(c string) string { return l.optional("class."+c, c) }

// Action names a verdict action.
func (l lang) Action(a string) string { return l.optional("action."+a, a) }

// Source names where a link was found.
func (l lang) Source(s string) string { return l.optional("src."+s, s) }

// Problem names an inspection problem kind.
func (l lang) Problem(k string) string { return l.optional("problem."+k, k) }

// Reason is a reason in the reader's language: the rule's text in it,
// else its plain reason, else the other language.
func (l lang) Reason(r api.Reason) string {
	own, other := r.DetailEN, r.DetailJA
	if l.code == "ja" {
		own, other = r.DetailJA, r.DetailEN
	}
	for _, s := range []string{own, r.Detail, other} {
		if s != "" {
			return s
		}
	}
	return ""
}

// LinkKind describes a flagged link: "Google Drive フォルダ共有リンク".
func (l lang) LinkKind(lk api.Link) string {
	p := lk.Provider
	if p == "" {
		p = lk.Host
	}
	low := strings.ToLower(lk.URL)
	switch {
	case lk.Kind == "transfer", lk.Kind == "signed-url":
		return l.T("link."+lk.Kind, p)
	case strings.Contains(low, "folder") || strings.Contains(low, "/scl/fo/") || strings.Contains(low, "/drive/u/") && strings.Contains(low, "folders"):
		return l.T("link.folder", p)
	}
	return l.T("link.saas", p)
}

// Summary is the one line at the top of the decision panel: the unknown
// recipients (blind copies marked) and what was found, e.g.
// 外部の未知の宛先 1件 yamada@gmial.com（Bcc）← Google Drive フォルダ共有リンク.
func (l lang) Summary(m *api.Detail) string {
	var b strings.Builder
	var unknown []api.Rcpt
	for _, r := range m.Rcpts {
		if r.Unknown {
			unknown = append(unknown, r)
		}
	}
	if len(unknown) > 0 {
		b.WriteString(l.T("summary.unknown", len(unknown)))
		for i, r := range unknown {
			if i == 3 {
				b.WriteString(" " + l.T("summary.more", len(unknown)-3))
				break
			}
			b.WriteString(" " + Printable(r.Addr, false))
			if r.Hidden {
				b.WriteString(l.T("summary.bcc"))
			}
		}
	}
	var what []string
	for _, lk := range m.Links {
		if !lk.Flagged {
			continue
		}
		if d := l.LinkKind(lk); !containsStr(what, d) {
			what = append(what, d)
		}
		if len(what) == 2 {
			break
		}
	}
	if len(what) == 0 {
		for _, r := range m.Reasons {
			if !r.Monitor && r.Action != string(verdict.Pass) {
				what = append(what, l.Reason(r))
				break
			}
		}
	}
	if len(what) > 0 {
		if b.Len() > 0 {
			// After a full-width bracket the arrow needs no space.
			if strings.HasSuffix(b.String(), "）") {
				b.WriteString("← ")
			} else {
				b.WriteString(" ← ")
			}
		}
		b.WriteString(l.Join(what))
	}
	return b.String()
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Signal names a verdict signal: its catalogue text if there is one,
// else the field name in words.
func (l lang) Signal(name string) string {
	return l.optional("signal."+name, strings.ReplaceAll(name, "_", " "))
}

// Percent shows a rate 0..1 as a percentage.
func (l lang) Percent(r float64) string { return fmt.Sprintf("%.0f%%", r*100) }

// Seconds shows a short duration: "8s", "2m 5s", "1h 3m".
func (l lang) Seconds(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	ja := l.code == "ja"
	switch {
	case s < 60:
		if ja {
			return fmt.Sprintf("%d秒", s)
		}
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		if ja {
			return fmt.Sprintf("%d分%d秒", s/60, s%60)
		}
		return fmt.Sprintf("%dm %ds", s/60, s%60)
	}
	if ja {
		return fmt.Sprintf("%d時間%d分", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dh %dm", s/3600, s%3600/60)
}

// SignalText shows a verdict signal's value in the reader's language.
func (l lang) SignalText(s api.Signal) string {
	if len(s.Raw) == 0 {
		return s.Value
	}
	return signalValue(s.Raw, l.code)
}

// Zone says which zone times are shown in.
func (l lang) Zone() string { return l.T("time.zone", fmt.Sprint(l.zone.Name())) }
