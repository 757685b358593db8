package console

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/egressguard/egressguard/internal/tz"
)

// The console speaks English and Japanese. Each string has a key; pages
// call {{.L.T "key"}}. A test checks that every key used in a template
// exists in both languages.
var catalogue = map[string]map[string]string{
	"en": {
		"app.tagline":             "Outbound mail guard",
		"nav.queue":               "Held mail",
		"nav.logout":              "Log out",
		"nav.language":            "Language",
		"nav.lang_auto":           "Browser",
		"login.title":             "Log in",
		"login.user":              "User name",
		"login.password":          "Password",
		"login.submit":            "Log in",
		"login.failed":            "Invalid user name or password.",
		"login.throttled":         "Too many failed attempts from here. Please wait %d minutes and try again.",
		"login.slowed":            "Too many failed attempts on this account from unusual places: one try every few seconds. Please wait %d seconds and try again.",
		"queue.title":             "Held mail",
		"queue.title_own":         "My held mail",
		"queue.empty":             "Nothing is held.",
		"queue.count":             "%d held",
		"queue.near_misses":       "Near misses caught in the last %d days",
		"queue.filter":            "Filter",
		"queue.filter_rule":       "Reason",
		"queue.filter_sender":     "Sender",
		"queue.filter_any":        "Any",
		"queue.filter_clear":      "Clear",
		"col.age":                 "Age",
		"col.sender":              "Sender",
		"col.rcpts":               "Recipients",
		"col.subject":             "Subject",
		"col.reason":              "Reason",
		"col.expires":             "Expires",
		"col.actions":             "",
		"col.rule":                "Rule",
		"col.detail":              "Detail",
		"col.action":              "Action",
		"col.url":                 "Link",
		"col.host":                "Host",
		"col.part":                "Part",
		"col.source":              "Found in",
		"col.file":                "File name",
		"col.type":                "Type",
		"col.size":                "Size",
		"col.when":                "When",
		"col.who":                 "Who",
		"col.decision":            "Decision",
		"col.comment":             "Comment",
		"col.name":                "Field",
		"col.value":               "Value",
		"col.class":               "Class",
		"rcpt.unknown":            "unknown",
		"no_subject":              "(no subject)",
		"msg.state":               "State",
		"msg.approvals":           "Approvals: %d of %d",
		"msg.expires":             "Expires %s (in %s)",
		"msg.expired_at":          "Hold time ended %s",
		"msg.why":                 "Why it is held",
		"msg.envelope":            "Envelope",
		"msg.env_from":            "Envelope sender",
		"msg.auth_user":           "Authenticated user",
		"msg.client":              "Client",
		"msg.received":            "Received",
		"msg.size":                "Size",
		"msg.id":                  "Message ID",
		"msg.headers":             "Headers",
		"msg.all_headers":         "All header fields (%d)",
		"msg.content":             "Content",
		"msg.content_note":        "Decoded text only; mail HTML is never rendered. Links the rules flagged are marked.",
		"msg.part":                "Part %s",
		"msg.truncated":           "Text truncated for display.",
		"msg.no_text":             "No text in this part.",
		"msg.body_gone":           "The content of this message has been destroyed (retention); only its record remains.",
		"msg.retention":           "Content destroyed",
		"msg.destroy_at":          "on %s",
		"msg.destroyed_at":        "destroyed %s",
		"msg.destroy_pending":     "kept while held or queued; the date is set when it is delivered or decided",
		"msg.links":               "Links",
		"msg.link_flagged":        "flagged",
		"msg.link_mismatch":       "shown text names another host",
		"msg.link_via":            "unwrapped from %s",
		"msg.attachments":         "Attachments",
		"msg.encrypted":           "encrypted",
		"msg.personal":            "Personal data (masked)",
		"msg.personal_hidden":     "Not shown: this part holds personal data (see the masked findings).",
		"col.records":             "Person records",
		"col.pii_kinds":           "Identifiers",
		"col.samples":             "Samples (masked)",
		"pii.kind.name":           "name",
		"pii.kind.phone":          "phone number",
		"pii.kind.birth_date":     "date of birth",
		"pii.kind.address":        "address",
		"pii.kind.postal_code":    "postal code",
		"pii.kind.email":          "e-mail address",
		"pii.kind.my_number":      "My Number",
		"pii.kind.card_number":    "card number",
		"pii.kind.id_number":      "ID number",
		"msg.problems":            "Inspection problems",
		"msg.history":             "Decision history",
		"msg.no_history":          "No decisions yet.",
		"msg.verdict_raw":         "Verdict (JSON)",
		"msg.near_miss":           "near miss",
		"act.approve":             "Approve and send",
		"act.reject":              "Reject",
		"act.reject_comment":      "Comment for the sender (required)",
		"act.near_miss":           "Near miss: a misdirection was caught (incident contacts are told at once)",
		"act.near_miss_only":      "Near miss: a misdirection was caught",
		"act.near_miss_nobody":    "Nobody will be notified: no incident contacts are configured (notify.incident_contacts). The near miss is only recorded and counted.",
		"act.withdraw":            "Withdraw (do not send)",
		"act.own_message":         "This is your own message: another officer must decide on it.",
		"act.already_approved":    "You have approved this message; it needs another officer's approval.",
		"act.decide":              "Decision",
		"done.approved":           "Your approval of %s was recorded; it needs more approvals before it is sent.",
		"done.released":           "%s was approved and is being sent.",
		"done.rejected":           "%s was rejected; it will not be sent.",
		"done.rejected_nobody":    "%s was rejected; it will not be sent. It was recorded as a near miss, but nobody was notified: no incident contacts are configured (notify.incident_contacts).",
		"done.withdrawn":          "%s was withdrawn; it will not be sent.",
		"done.lang":               "Language changed.",
		"state.held":              "held",
		"state.queued":            "approved, queued",
		"state.sending":           "sending",
		"state.delivered":         "delivered",
		"state.bounced":           "bounced",
		"state.rejected":          "rejected",
		"state.expired":           "expired",
		"state.withdrawn":         "withdrawn",
		"decision.approve":        "approved",
		"decision.reject":         "rejected",
		"decision.withdraw":       "withdrawn",
		"decision.expire":         "expired",
		"err.title":               "Error",
		"err.back":                "Back to held mail",
		"err.page_not_found":      "Page not found.",
		"err.not_found":           "Message not found.",
		"err.forbidden":           "You are not allowed to do this.",
		"err.self_approval":       "Nobody may decide on their own message. Another officer must decide.",
		"err.already_approved":    "You have already approved this message. Your approval counts once; another officer must approve.",
		"err.not_held":            "This message is not held any more: someone decided first, it was withdrawn, or its hold time ended.",
		"err.expired":             "The hold time of this message has ended, so it can no longer be decided on. It has expired and will not be sent; the sender has been told.",
		"err.comment_required":    "A rejection needs a comment for the sender.",
		"err.cross_origin":        "Request refused: it came from another site.",
		"err.login_required":      "Please log in again: your session has ended.",
		"err.bad_request":         "The request could not be read.",
		"err.internal":            "Something went wrong on the server. The problem was logged; please try again.",
		"age.days":                "%dd %dh",
		"age.hours":               "%dh %dm",
		"age.minutes":             "%dm",
		"nav.allow":               "Allowlist",
		"nav.audit":               "Audit log",
		"err.back_allow":          "Back to the allowlist",
		"err.back_audit":          "Back to the audit log",
		"allow.title":             "Allowlist",
		"allow.count":             "%d entries",
		"allow.intro":             "Recipients on this list may receive what the rules would otherwise hold, such as share links. A change counts from the next message on.",
		"allow.read_only":         "Read only: only admins can change the allowlist.",
		"allow.search_label":      "Entry, reason or added by",
		"allow.search":            "Search",
		"allow.search_clear":      "Clear",
		"allow.empty":             "The allowlist is empty.",
		"allow.no_match":          "No entry matches your search.",
		"allow.add":               "Add an entry",
		"allow.value":             "Address or domain",
		"allow.value_hint":        "user@example.com (one address), example.com (the domain), .example.com (the domain and all its subdomains)",
		"allow.reason":            "Reason (required)",
		"allow.expires":           "Expires (optional; the entry counts through this day)",
		"allow.senders":           "Only for these senders (optional)",
		"allow.senders_hint":      "Sender addresses or domains, separated by commas. Empty: every sender.",
		"allow.confirm_free":      "I confirm: allow this whole free-mail domain, where anyone can get an address",
		"allow.submit":            "Add",
		"allow.kind.address":      "Address",
		"allow.kind.domain":       "Domain",
		"allow.kind.subdomains":   "Domain and subdomains",
		"allow.all_senders":       "Every sender",
		"allow.never":             "Never",
		"allow.expired":           "expired",
		"allow.free_mail":         "free mail",
		"allow.from_config":       "from the config file",
		"allow.config_note":       "This entry comes from the config file and cannot be removed here: edit the config file and reload it.",
		"allow.removed_note":      "This entry has been removed. Its history stays.",
		"allow.entry_title":       "Allowlist entry",
		"allow.added":             "Added",
		"allow.details":           "History and details",
		"allow.remove":            "Remove this entry",
		"allow.remove_why":        "Why is it removed? (required)",
		"allow.remove_submit":     "Remove",
		"allow.history":           "History",
		"allow.no_history":        "No changes recorded.",
		"allow.change.add":        "added",
		"allow.change.remove":     "removed",
		"col.entry":               "Entry",
		"col.kind":                "Kind",
		"col.scope":               "Senders",
		"col.added_by":            "Added by",
		"col.change":              "Change",
		"col.before":              "Before",
		"col.after":               "After",
		"col.why":                 "Why",
		"col.actor":               "Actor",
		"col.event":               "Action",
		"col.msg":                 "Message",
		"col.data":                "Details",
		"done.allow_added":        "%s was added to the allowlist. It counts from the next message on.",
		"done.allow_removed":      "The entry was removed from the allowlist. It no longer counts from the next message on.",
		"err.allow_invalid":       "“%s” is not a valid address or domain. Write user@example.com, example.com, or .example.com for a domain with all its subdomains.",
		"err.allow_public_suffix": "“%s” is a public suffix (like com, co.jp or lg.jp), shared by unrelated organisations, and cannot be allowed. Enter the organisation's own domain, such as example.co.jp.",
		"err.allow_free_mail":     "“%s” is a free-mail domain: anyone can get an address there. Prefer single addresses. To allow the whole domain anyway, tick the confirmation below and add it again.",
		"err.allow_exists":        "“%s” is already on the allowlist for the same senders.",
		"err.allow_config":        "This entry comes from the config file and cannot be changed here. Edit the config file and reload it.",
		"err.allow_not_found":     "No such allowlist entry. It may have been removed meanwhile.",
		"err.allow_reason":        "A reason is required: say why this recipient may receive what would otherwise be held.",
		"err.allow_expires":       "“%s” is not a date. Use the form YYYY-MM-DD.",
		"err.allow_expires_past":  "The expiry date has passed. Choose a later date, or leave it empty.",
		"err.allow_sender":        "“%s” is not a valid sender address or domain.",
		"err.allow_refused":       "The entry was refused: %s",
		"err.allow_why":           "Say why the entry is removed.",
		"audit.title":             "Audit log",
		"audit.intro":             "Every action is recorded here, tamper-evident. Searching is not itself recorded; opening a held message from here is, as always.",
		"audit.msg":               "Message ID",
		"audit.user":              "User",
		"audit.rcpt":              "Recipient (part of an address)",
		"audit.since":             "From",
		"audit.until":             "Before",
		"audit.search":            "Search",
		"audit.clear":             "Clear",
		"audit.empty":             "No entries match.",
		"audit.order":             "Newest first.",
		"audit.older":             "Older entries",
		"audit.newest":            "Newest entries",
		"audit.partial":           "The search stopped after reading many entries without filling the page; older entries have not been searched yet.",
		"audit.continue":          "Search older entries",
		"err.audit_time":          "“%s” is not a time. Use YYYY-MM-DD or YYYY-MM-DDTHH:MM.",
		"err.audit_range":         "The start must be before the end.",
	},
	"ja": {
		"app.tagline":             "送信メールガード",
		"nav.queue":               "保留メール",
		"nav.logout":              "ログアウト",
		"nav.language":            "言語",
		"nav.lang_auto":           "ブラウザー",
		"login.title":             "ログイン",
		"login.user":              "ユーザー名",
		"login.password":          "パスワード",
		"login.submit":            "ログイン",
		"login.failed":            "ユーザー名またはパスワードが正しくありません。",
		"login.throttled":         "この接続元からの失敗が多すぎます。%d 分ほど待ってから再度お試しください。",
		"login.slowed":            "普段と異なる接続元からこのアカウントへのログイン失敗が多いため、試行の間隔を空けています。%d 秒待ってから再度お試しください。",
		"queue.title":             "保留メール",
		"queue.title_own":         "自分の保留メール",
		"queue.empty":             "保留中のメールはありません。",
		"queue.count":             "保留 %d 件",
		"queue.near_misses":       "過去%d日間に防いだ誤送信（ニアミス）",
		"queue.filter":            "絞り込み",
		"queue.filter_rule":       "理由",
		"queue.filter_sender":     "送信者",
		"queue.filter_any":        "すべて",
		"queue.filter_clear":      "解除",
		"col.age":                 "経過",
		"col.sender":              "送信者",
		"col.rcpts":               "宛先",
		"col.subject":             "件名",
		"col.reason":              "理由",
		"col.expires":             "期限",
		"col.actions":             "",
		"col.rule":                "ルール",
		"col.detail":              "詳細",
		"col.action":              "処置",
		"col.url":                 "リンク",
		"col.host":                "ホスト",
		"col.part":                "パート",
		"col.source":              "検出箇所",
		"col.file":                "ファイル名",
		"col.type":                "種類",
		"col.size":                "サイズ",
		"col.when":                "日時",
		"col.who":                 "担当者",
		"col.decision":            "判断",
		"col.comment":             "コメント",
		"col.name":                "フィールド",
		"col.value":               "値",
		"col.class":               "分類",
		"rcpt.unknown":            "未知",
		"no_subject":              "（件名なし）",
		"msg.state":               "状態",
		"msg.approvals":           "承認: %d / %d",
		"msg.expires":             "期限 %s（残り %s）",
		"msg.expired_at":          "保留期限切れ %s",
		"msg.why":                 "保留の理由",
		"msg.envelope":            "エンベロープ",
		"msg.env_from":            "エンベロープ送信者",
		"msg.auth_user":           "認証ユーザー",
		"msg.client":              "接続元",
		"msg.received":            "受信日時",
		"msg.size":                "サイズ",
		"msg.id":                  "メッセージID",
		"msg.headers":             "ヘッダー",
		"msg.all_headers":         "全ヘッダーフィールド（%d）",
		"msg.content":             "本文",
		"msg.content_note":        "デコードしたテキストのみを表示します。メールのHTMLは描画しません。ルールが検出したリンクを強調しています。",
		"msg.part":                "パート %s",
		"msg.truncated":           "表示のためテキストを省略しました。",
		"msg.no_text":             "このパートにテキストはありません。",
		"msg.body_gone":           "このメッセージの内容は保存期間の規定により消去済みです。記録のみ残っています。",
		"msg.retention":           "内容の消去",
		"msg.destroy_at":          "%s に消去",
		"msg.destroyed_at":        "%s に消去済み",
		"msg.destroy_pending":     "保留中・送信待ちの間は保管します。配送または判断の時点で消去日が決まります。",
		"msg.links":               "リンク",
		"msg.link_flagged":        "検出",
		"msg.link_mismatch":       "表示テキストと別のホスト",
		"msg.link_via":            "%s から展開",
		"msg.attachments":         "添付ファイル",
		"msg.encrypted":           "暗号化",
		"msg.personal":            "個人情報（マスク済み）",
		"msg.personal_hidden":     "個人情報を含むため本文は表示しません（マスク済みの検出結果を参照）。",
		"col.records":             "個人レコード数",
		"col.pii_kinds":           "識別子",
		"col.samples":             "例（マスク済み）",
		"pii.kind.name":           "氏名",
		"pii.kind.phone":          "電話番号",
		"pii.kind.birth_date":     "生年月日",
		"pii.kind.address":        "住所",
		"pii.kind.postal_code":    "郵便番号",
		"pii.kind.email":          "メールアドレス",
		"pii.kind.my_number":      "個人番号",
		"pii.kind.card_number":    "カード番号",
		"pii.kind.id_number":      "ID番号",
		"msg.problems":            "検査で問題があった箇所",
		"msg.history":             "判断の履歴",
		"msg.no_history":          "まだ判断はありません。",
		"msg.verdict_raw":         "判定（JSON）",
		"msg.near_miss":           "ニアミス",
		"act.approve":             "承認して送信",
		"act.reject":              "却下",
		"act.reject_comment":      "送信者へのコメント（必須）",
		"act.near_miss":           "ニアミス：誤送信を防いだ（インシデント連絡先へ直ちに通知します）",
		"act.near_miss_only":      "ニアミス：誤送信を防いだ",
		"act.near_miss_nobody":    "インシデント連絡先が設定されていないため（notify.incident_contacts）、誰にも通知されません。ニアミスは記録・集計のみされます。",
		"act.withdraw":            "取り下げる（送信しない）",
		"act.own_message":         "ご自身のメールです。別の担当者が判断する必要があります。",
		"act.already_approved":    "承認済みです。送信には別の担当者の承認が必要です。",
		"act.decide":              "判断",
		"done.approved":           "%s の承認を記録しました。送信にはさらに承認が必要です。",
		"done.released":           "%s を承認しました。送信します。",
		"done.rejected":           "%s を却下しました。送信されません。",
		"done.rejected_nobody":    "%s を却下しました。送信されません。ニアミスとして記録しましたが、インシデント連絡先が設定されていないため（notify.incident_contacts）、誰にも通知されていません。",
		"done.withdrawn":          "%s を取り下げました。送信されません。",
		"done.lang":               "言語を変更しました。",
		"state.held":              "保留中",
		"state.queued":            "承認済み・送信待ち",
		"state.sending":           "送信中",
		"state.delivered":         "配送済み",
		"state.bounced":           "配送失敗",
		"state.rejected":          "却下",
		"state.expired":           "期限切れ",
		"state.withdrawn":         "取り下げ",
		"decision.approve":        "承認",
		"decision.reject":         "却下",
		"decision.withdraw":       "取り下げ",
		"decision.expire":         "期限切れ",
		"err.title":               "エラー",
		"err.back":                "保留メールへ戻る",
		"err.page_not_found":      "ページが見つかりません。",
		"err.not_found":           "メッセージが見つかりません。",
		"err.forbidden":           "この操作は許可されていません。",
		"err.self_approval":       "自分のメールは判断できません。別の担当者が判断する必要があります。",
		"err.already_approved":    "このメールは承認済みです。同じ担当者の承認は1回だけ数えます。別の担当者の承認が必要です。",
		"err.not_held":            "このメールはもう保留されていません（他の担当者が先に判断した、取り下げられた、または期限切れ）。",
		"err.expired":             "このメールは保留期限を過ぎたため、判断できません。期限切れとなり、送信されません（送信者に通知済み）。",
		"err.comment_required":    "却下には送信者へのコメントが必要です。",
		"err.cross_origin":        "他のサイトからのリクエストのため拒否しました。",
		"err.login_required":      "セッションが終了しました。もう一度ログインしてください。",
		"err.bad_request":         "リクエストを読み取れませんでした。",
		"err.internal":            "サーバーでエラーが発生しました。記録しましたので、もう一度お試しください。",
		"age.days":                "%d日%d時間",
		"age.hours":               "%d時間%d分",
		"age.minutes":             "%d分",
		"nav.allow":               "許可リスト",
		"nav.audit":               "監査ログ",
		"err.back_allow":          "許可リストへ戻る",
		"err.back_audit":          "監査ログへ戻る",
		"allow.title":             "許可リスト",
		"allow.count":             "%d 件",
		"allow.intro":             "このリストの宛先には、ルールでは保留されるメール（共有リンクなど）も送信されます。変更は次のメールから有効です。",
		"allow.read_only":         "閲覧のみ：許可リストを変更できるのは管理者だけです。",
		"allow.search_label":      "宛先・理由・登録者",
		"allow.search":            "検索",
		"allow.search_clear":      "解除",
		"allow.empty":             "許可リストは空です。",
		"allow.no_match":          "検索に一致する登録はありません。",
		"allow.add":               "登録を追加",
		"allow.value":             "アドレスまたはドメイン",
		"allow.value_hint":        "user@example.com（1アドレス）、example.com（ドメイン）、.example.com（ドメインとすべてのサブドメイン）",
		"allow.reason":            "理由（必須）",
		"allow.expires":           "有効期限（任意。この日の終わりまで有効）",
		"allow.senders":           "対象の送信者（任意）",
		"allow.senders_hint":      "送信者のアドレスまたはドメインをカンマ区切りで入力。空欄ならすべての送信者が対象です。",
		"allow.confirm_free":      "確認しました：誰でもアドレスを取得できるこのフリーメールドメイン全体を許可します",
		"allow.submit":            "追加",
		"allow.kind.address":      "アドレス",
		"allow.kind.domain":       "ドメイン",
		"allow.kind.subdomains":   "ドメインとサブドメイン",
		"allow.all_senders":       "すべての送信者",
		"allow.never":             "なし",
		"allow.expired":           "期限切れ",
		"allow.free_mail":         "フリーメール",
		"allow.from_config":       "設定ファイル",
		"allow.config_note":       "この登録は設定ファイルによるもので、ここでは削除できません。設定ファイルを編集して再読み込みしてください。",
		"allow.removed_note":      "この登録は削除済みです。履歴は残っています。",
		"allow.entry_title":       "許可リストの登録",
		"allow.added":             "登録日時",
		"allow.details":           "履歴と詳細",
		"allow.remove":            "この登録を削除",
		"allow.remove_why":        "削除の理由（必須）",
		"allow.remove_submit":     "削除",
		"allow.history":           "履歴",
		"allow.no_history":        "変更の記録はありません。",
		"allow.change.add":        "追加",
		"allow.change.remove":     "削除",
		"col.entry":               "宛先",
		"col.kind":                "種類",
		"col.scope":               "対象の送信者",
		"col.added_by":            "登録者",
		"col.change":              "変更",
		"col.before":              "変更前",
		"col.after":               "変更後",
		"col.why":                 "理由",
		"col.actor":               "実行者",
		"col.event":               "操作",
		"col.msg":                 "メッセージ",
		"col.data":                "詳細",
		"done.allow_added":        "%s を許可リストに追加しました。次のメールから有効です。",
		"done.allow_removed":      "許可リストから削除しました。次のメールから適用されません。",
		"err.allow_invalid":       "「%s」は正しいアドレスまたはドメインではありません。user@example.com、example.com、またはサブドメインも含める場合は .example.com の形で入力してください。",
		"err.allow_public_suffix": "「%s」は com・co.jp・lg.jp のような公開サフィックスで、無関係な多数の組織が共有しているため登録できません。example.co.jp のように組織自身のドメインを入力してください。",
		"err.allow_free_mail":     "「%s」はフリーメールのドメインで、誰でもアドレスを取得できます。できるだけ個別のアドレスを登録してください。それでもドメイン全体を許可する場合は、下の確認欄にチェックを入れて再度追加してください。",
		"err.allow_exists":        "「%s」は同じ送信者を対象としてすでに登録されています。",
		"err.allow_config":        "この登録は設定ファイルによるもので、ここでは変更できません。設定ファイルを編集して再読み込みしてください。",
		"err.allow_not_found":     "該当する登録がありません。すでに削除された可能性があります。",
		"err.allow_reason":        "理由を入力してください（この宛先への送信を許可する理由）。",
		"err.allow_expires":       "「%s」は日付ではありません。YYYY-MM-DD の形で入力してください。",
		"err.allow_expires_past":  "有効期限が過ぎています。今後の日付を指定するか、空欄にしてください。",
		"err.allow_sender":        "「%s」は正しい送信者のアドレスまたはドメインではありません。",
		"err.allow_refused":       "登録できませんでした：%s",
		"err.allow_why":           "削除の理由を入力してください。",
		"audit.title":             "監査ログ",
		"audit.intro":             "すべての操作を改ざん検知可能な形で記録しています。検索そのものは記録しませんが、ここから保留メールを開くと通常どおり記録されます。",
		"audit.msg":               "メッセージID",
		"audit.user":              "ユーザー",
		"audit.rcpt":              "宛先（アドレスの一部）",
		"audit.since":             "開始日時",
		"audit.until":             "終了日時（この時刻より前）",
		"audit.search":            "検索",
		"audit.clear":             "解除",
		"audit.empty":             "該当する記録はありません。",
		"audit.order":             "新しい順に表示しています。",
		"audit.older":             "さらに古い記録",
		"audit.newest":            "最新の記録",
		"audit.partial":           "多数の記録を読み込みましたが1ページ分に達しなかったため、検索を中断しました。それより古い記録はまだ検索していません。",
		"audit.continue":          "さらに古い記録を検索",
		"err.audit_time":          "「%s」は日時ではありません。YYYY-MM-DD または YYYY-MM-DDTHH:MM の形で入力してください。",
		"err.audit_range":         "開始日時は終了日時より前にしてください。",
	},
}

var supported = []language.Tag{language.English, language.Japanese}

var matcher = language.NewMatcher(supported)

// lang is the language of one response.
type lang struct {
	code string
	msgs map[string]string
	zone tz.Zone
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

// Time formats t in the configured zone, with the zone named.
func (l lang) Time(t time.Time) string { return l.zone.Minute(t) }

// TimeSec formats t in the configured zone, to the second (the audit log).
func (l lang) TimeSec(t time.Time) string { return l.zone.Second(t) }

// AllowKind names a kind of allowlist entry.
func (l lang) AllowKind(k string) string { return l.T("allow.kind." + k) }

// AllowChange names a change in an allowlist entry's history; an unknown
// one shows as recorded.
func (l lang) AllowChange(c string) string {
	if s, ok := l.msgs["allow.change."+c]; ok {
		return s
	}
	return c
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
