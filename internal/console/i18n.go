package console

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// The console speaks English and Japanese. Each string has a key; pages
// call {{.L.T "key"}}. A test checks that every key used in a template
// exists in both languages.
var catalogue = map[string]map[string]string{
	"en": {
		"app.tagline":          "Outbound mail guard",
		"nav.queue":            "Held mail",
		"nav.logout":           "Log out",
		"nav.language":         "Language",
		"nav.lang_auto":        "Browser",
		"login.title":          "Log in",
		"login.user":           "User name",
		"login.password":       "Password",
		"login.submit":         "Log in",
		"login.failed":         "Invalid user name or password.",
		"login.throttled":      "Too many failed attempts. Please wait 15 minutes and try again.",
		"queue.title":          "Held mail",
		"queue.title_own":      "My held mail",
		"queue.empty":          "Nothing is held.",
		"queue.count":          "%d held",
		"queue.near_misses":    "Near misses caught in the last %d days",
		"queue.filter":         "Filter",
		"queue.filter_rule":    "Reason",
		"queue.filter_sender":  "Sender",
		"queue.filter_any":     "Any",
		"queue.filter_clear":   "Clear",
		"col.age":              "Age",
		"col.sender":           "Sender",
		"col.rcpts":            "Recipients",
		"col.subject":          "Subject",
		"col.reason":           "Reason",
		"col.expires":          "Expires",
		"col.actions":          "",
		"col.rule":             "Rule",
		"col.detail":           "Detail",
		"col.action":           "Action",
		"col.url":              "Link",
		"col.host":             "Host",
		"col.part":             "Part",
		"col.source":           "Found in",
		"col.file":             "File name",
		"col.type":             "Type",
		"col.size":             "Size",
		"col.when":             "When",
		"col.who":              "Who",
		"col.decision":         "Decision",
		"col.comment":          "Comment",
		"col.name":             "Field",
		"col.value":            "Value",
		"col.class":            "Class",
		"rcpt.unknown":         "unknown",
		"no_subject":           "(no subject)",
		"msg.state":            "State",
		"msg.approvals":        "Approvals: %d of %d",
		"msg.expires":          "Expires %s (in %s)",
		"msg.expired_at":       "Hold time ended %s",
		"msg.why":              "Why it is held",
		"msg.envelope":         "Envelope",
		"msg.env_from":         "Envelope sender",
		"msg.auth_user":        "Authenticated user",
		"msg.client":           "Client",
		"msg.received":         "Received",
		"msg.size":             "Size",
		"msg.id":               "Message ID",
		"msg.headers":          "Headers",
		"msg.all_headers":      "All header fields (%d)",
		"msg.content":          "Content",
		"msg.content_note":     "Decoded text only; mail HTML is never rendered. Links the rules flagged are marked.",
		"msg.part":             "Part %s",
		"msg.truncated":        "Text truncated for display.",
		"msg.no_text":          "No text in this part.",
		"msg.body_gone":        "The content of this message has been destroyed (retention); only its record remains.",
		"msg.retention":        "Content destroyed",
		"msg.destroy_at":       "on %s",
		"msg.destroyed_at":     "destroyed %s",
		"msg.destroy_pending":  "kept while held or queued; the date is set when it is delivered or decided",
		"msg.links":            "Links",
		"msg.link_flagged":     "flagged",
		"msg.link_mismatch":    "shown text names another host",
		"msg.link_via":         "unwrapped from %s",
		"msg.attachments":      "Attachments",
		"msg.encrypted":        "encrypted",
		"msg.problems":         "Inspection problems",
		"msg.history":          "Decision history",
		"msg.no_history":       "No decisions yet.",
		"msg.verdict_raw":      "Verdict (JSON)",
		"msg.near_miss":        "near miss",
		"act.approve":          "Approve and send",
		"act.reject":           "Reject",
		"act.reject_comment":   "Comment for the sender (required)",
		"act.near_miss":        "Near miss: a misdirection was caught (incident contacts are told at once)",
		"act.withdraw":         "Withdraw (do not send)",
		"act.own_message":      "This is your own message: another officer must decide on it.",
		"act.already_approved": "You have approved this message; it needs another officer's approval.",
		"act.decide":           "Decision",
		"done.approved":        "Your approval of %s was recorded; it needs more approvals before it is sent.",
		"done.released":        "%s was approved and is being sent.",
		"done.rejected":        "%s was rejected; it will not be sent.",
		"done.withdrawn":       "%s was withdrawn; it will not be sent.",
		"done.lang":            "Language changed.",
		"state.held":           "held",
		"state.queued":         "approved, queued",
		"state.sending":        "sending",
		"state.delivered":      "delivered",
		"state.bounced":        "bounced",
		"state.rejected":       "rejected",
		"state.expired":        "expired",
		"state.withdrawn":      "withdrawn",
		"decision.approve":     "approved",
		"decision.reject":      "rejected",
		"decision.withdraw":    "withdrawn",
		"decision.expire":      "expired",
		"err.title":            "Error",
		"err.back":             "Back to held mail",
		"err.page_not_found":   "Page not found.",
		"err.not_found":        "Message not found.",
		"err.forbidden":        "You are not allowed to do this.",
		"err.self_approval":    "Nobody may decide on their own message. Another officer must decide.",
		"err.already_approved": "You have already approved this message. Your approval counts once; another officer must approve.",
		"err.not_held":         "This message is not held any more: someone decided first, it was withdrawn, or its hold time ended.",
		"err.comment_required": "A rejection needs a comment for the sender.",
		"err.cross_origin":     "Request refused: it came from another site.",
		"err.login_required":   "Please log in again: your session has ended.",
		"err.bad_request":      "The request could not be read.",
		"err.internal":         "Something went wrong on the server. The problem was logged; please try again.",
		"age.days":             "%dd %dh",
		"age.hours":            "%dh %dm",
		"age.minutes":          "%dm",
	},
	"ja": {
		"app.tagline":          "送信メールガード",
		"nav.queue":            "保留メール",
		"nav.logout":           "ログアウト",
		"nav.language":         "言語",
		"nav.lang_auto":        "ブラウザー",
		"login.title":          "ログイン",
		"login.user":           "ユーザー名",
		"login.password":       "パスワード",
		"login.submit":         "ログイン",
		"login.failed":         "ユーザー名またはパスワードが正しくありません。",
		"login.throttled":      "失敗が多すぎます。15分ほど待ってから再度お試しください。",
		"queue.title":          "保留メール",
		"queue.title_own":      "自分の保留メール",
		"queue.empty":          "保留中のメールはありません。",
		"queue.count":          "保留 %d 件",
		"queue.near_misses":    "過去%d日間に防いだ誤送信（ニアミス）",
		"queue.filter":         "絞り込み",
		"queue.filter_rule":    "理由",
		"queue.filter_sender":  "送信者",
		"queue.filter_any":     "すべて",
		"queue.filter_clear":   "解除",
		"col.age":              "経過",
		"col.sender":           "送信者",
		"col.rcpts":            "宛先",
		"col.subject":          "件名",
		"col.reason":           "理由",
		"col.expires":          "期限",
		"col.actions":          "",
		"col.rule":             "ルール",
		"col.detail":           "詳細",
		"col.action":           "処置",
		"col.url":              "リンク",
		"col.host":             "ホスト",
		"col.part":             "パート",
		"col.source":           "検出箇所",
		"col.file":             "ファイル名",
		"col.type":             "種類",
		"col.size":             "サイズ",
		"col.when":             "日時",
		"col.who":              "担当者",
		"col.decision":         "判断",
		"col.comment":          "コメント",
		"col.name":             "フィールド",
		"col.value":            "値",
		"col.class":            "分類",
		"rcpt.unknown":         "未知",
		"no_subject":           "（件名なし）",
		"msg.state":            "状態",
		"msg.approvals":        "承認: %d / %d",
		"msg.expires":          "期限 %s（残り %s）",
		"msg.expired_at":       "保留期限切れ %s",
		"msg.why":              "保留の理由",
		"msg.envelope":         "エンベロープ",
		"msg.env_from":         "エンベロープ送信者",
		"msg.auth_user":        "認証ユーザー",
		"msg.client":           "接続元",
		"msg.received":         "受信日時",
		"msg.size":             "サイズ",
		"msg.id":               "メッセージID",
		"msg.headers":          "ヘッダー",
		"msg.all_headers":      "全ヘッダーフィールド（%d）",
		"msg.content":          "本文",
		"msg.content_note":     "デコードしたテキストのみを表示します。メールのHTMLは描画しません。ルールが検出したリンクを強調しています。",
		"msg.part":             "パート %s",
		"msg.truncated":        "表示のためテキストを省略しました。",
		"msg.no_text":          "このパートにテキストはありません。",
		"msg.body_gone":        "このメッセージの内容は保存期間の規定により消去済みです。記録のみ残っています。",
		"msg.retention":        "内容の消去",
		"msg.destroy_at":       "%s に消去",
		"msg.destroyed_at":     "%s に消去済み",
		"msg.destroy_pending":  "保留中・送信待ちの間は保管します。配送または判断の時点で消去日が決まります。",
		"msg.links":            "リンク",
		"msg.link_flagged":     "検出",
		"msg.link_mismatch":    "表示テキストと別のホスト",
		"msg.link_via":         "%s から展開",
		"msg.attachments":      "添付ファイル",
		"msg.encrypted":        "暗号化",
		"msg.problems":         "検査で問題があった箇所",
		"msg.history":          "判断の履歴",
		"msg.no_history":       "まだ判断はありません。",
		"msg.verdict_raw":      "判定（JSON）",
		"msg.near_miss":        "ニアミス",
		"act.approve":          "承認して送信",
		"act.reject":           "却下",
		"act.reject_comment":   "送信者へのコメント（必須）",
		"act.near_miss":        "ニアミス：誤送信を防いだ（インシデント連絡先へ直ちに通知します）",
		"act.withdraw":         "取り下げる（送信しない）",
		"act.own_message":      "ご自身のメールです。別の担当者が判断する必要があります。",
		"act.already_approved": "承認済みです。送信には別の担当者の承認が必要です。",
		"act.decide":           "判断",
		"done.approved":        "%s の承認を記録しました。送信にはさらに承認が必要です。",
		"done.released":        "%s を承認しました。送信します。",
		"done.rejected":        "%s を却下しました。送信されません。",
		"done.withdrawn":       "%s を取り下げました。送信されません。",
		"done.lang":            "言語を変更しました。",
		"state.held":           "保留中",
		"state.queued":         "承認済み・送信待ち",
		"state.sending":        "送信中",
		"state.delivered":      "配送済み",
		"state.bounced":        "配送失敗",
		"state.rejected":       "却下",
		"state.expired":        "期限切れ",
		"state.withdrawn":      "取り下げ",
		"decision.approve":     "承認",
		"decision.reject":      "却下",
		"decision.withdraw":    "取り下げ",
		"decision.expire":      "期限切れ",
		"err.title":            "エラー",
		"err.back":             "保留メールへ戻る",
		"err.page_not_found":   "ページが見つかりません。",
		"err.not_found":        "メッセージが見つかりません。",
		"err.forbidden":        "この操作は許可されていません。",
		"err.self_approval":    "自分のメールは判断できません。別の担当者が判断する必要があります。",
		"err.already_approved": "このメールは承認済みです。同じ担当者の承認は1回だけ数えます。別の担当者の承認が必要です。",
		"err.not_held":         "このメールはもう保留されていません（他の担当者が先に判断した、取り下げられた、または期限切れ）。",
		"err.comment_required": "却下には送信者へのコメントが必要です。",
		"err.cross_origin":     "他のサイトからのリクエストのため拒否しました。",
		"err.login_required":   "セッションが終了しました。もう一度ログインしてください。",
		"err.bad_request":      "リクエストを読み取れませんでした。",
		"err.internal":         "サーバーでエラーが発生しました。記録しましたので、もう一度お試しください。",
		"age.days":             "%d日%d時間",
		"age.hours":            "%d時間%d分",
		"age.minutes":          "%d分",
	},
}

var supported = []language.Tag{language.English, language.Japanese}

var matcher = language.NewMatcher(supported)

// lang is the language of one response.
type lang struct {
	code string
	msgs map[string]string
}

func langOf(code string) lang {
	if _, ok := catalogue[code]; !ok {
		code = "en"
	}
	return lang{code: code, msgs: catalogue[code]}
}

// pickLang chooses the user's setting, else the browser's preference.
func pickLang(r *http.Request, userLang string) lang {
	if _, ok := catalogue[userLang]; ok {
		return langOf(userLang)
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return langOf("en")
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return langOf("en")
	}
	return langOf([]string{"en", "ja"}[i])
}

// Code is the BCP 47 code, for <html lang>.
func (l lang) Code() string { return l.code }

// T returns the text for key, formatted with args if any. An unknown key
// returns the key itself, which a test would catch.
func (l lang) T(key string, args ...any) string {
	s, ok := l.msgs[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Age is a short duration: "3d 4h", "2h 5m", "12m".
func (l lang) Age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	m := int(d / time.Minute)
	switch {
	case m >= 24*60:
		return l.T("age.days", m/(24*60), m%(24*60)/60)
	case m >= 60:
		return l.T("age.hours", m/60, m%60)
	}
	return l.T("age.minutes", m)
}

// Time formats t in the server's zone.
func (l lang) Time(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04 MST")
}

// State names a message state.
func (l lang) State(s string) string { return l.T("state." + s) }

// Decision names a decision kind.
func (l lang) Decision(k string) string { return l.T("decision." + k) }

// Size is a byte count for people.
func (l lang) Size(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%d KB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Join joins strings for display.
func (l lang) Join(ss []string) string {
	if l.code == "ja" {
		return strings.Join(ss, "、")
	}
	return strings.Join(ss, ", ")
}
