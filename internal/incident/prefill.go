package incident

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// jst is Japan's time: the APPI's deadlines are days in Japan. The fixed
// zone needs no time-zone database (Japan has no daylight saving time).
var jst = time.FixedZone("JST", 9*3600)

func jaTime(t time.Time) string {
	if t.IsZero() {
		return "（不明）"
	}
	return t.In(jst).Format("2006年1月2日 15時04分 (JST)")
}

// external lists the recipients that are not internal.
func external(rs []Recipient) []Recipient {
	var out []Recipient
	for _, r := range rs {
		if r.Class != "internal" {
			out = append(out, r)
		}
	}
	return out
}

// kindNames are the Japanese names of the personal-data kinds the
// detectors report.
var kindNames = map[string]string{
	"name": "氏名", "address": "住所", "postal_code": "郵便番号", "phone": "電話番号", "email": "メールアドレス",
	"birth_date": "生年月日", "my_number": "個人番号（マイナンバー）", "card_number": "クレジットカード番号",
	"id_number": "ID番号（被保険者番号・患者ID 等）",
}

func jaKinds(kinds []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range kinds {
		n := kindNames[k]
		if n == "" {
			n = k
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// prefill writes the report's items from the facts, in Japanese, where
// the guard knows the answer, and marks what a person must fill in.
func prefill(in *Incident) Report {
	f := in.Facts
	ext := external(f.Recipients)
	var addrs []string
	for _, r := range ext {
		addrs = append(addrs, r.Addr)
	}
	if len(addrs) == 0 {
		for _, r := range f.Recipients {
			addrs = append(addrs, r.Addr)
		}
	}
	var what []string
	for _, l := range f.Links {
		scope := map[string]string{"folder": "フォルダ", "file": "ファイル"}[l.Scope]
		if scope == "" {
			scope = "ファイル又はフォルダ"
		}
		what = append(what, fmt.Sprintf("%s の%s共有リンク（%s）", nz(l.Provider, l.Host), scope, l.Host))
	}
	for _, a := range f.Attachments {
		s := fmt.Sprintf("添付ファイル「%s」", a.Name)
		if a.Records > 0 {
			s += fmt.Sprintf("（個人レコード %d 件）", a.Records)
		}
		what = append(what, s)
	}
	var r Report
	subject := f.Subject
	if subject == "" {
		subject = "（件名なし）"
	}
	switch in.Kind {
	case KindNearMiss:
		r.Summary = fmt.Sprintf("%s に %s が送信しようとした電子メール（件名「%s」）は、外部宛先（%s）への送信前に保留され、確認者が送信を拒否した（ニアミス）。外部への送信は行われていない。",
			jaTime(f.Received), nz(f.AuthUser, f.Sender), subject, strings.Join(addrs, "、"))
	default:
		r.Summary = fmt.Sprintf("%s、%s が送信した電子メール（件名「%s」）が、誤って %d 件の宛先（%s）に送信された。",
			jaTime(f.Received), nz(f.AuthUser, f.Sender), subject, len(addrs), strings.Join(addrs, "、"))
	}
	if len(what) > 0 {
		r.Summary += "メールには " + strings.Join(what, "、") + " が含まれていた。"
	}
	r.Summary += fmt.Sprintf("%s に漏えいのおそれを認識した。", jaTime(in.Aware))
	if kinds := jaKinds(f.PersonalKinds); len(kinds) > 0 {
		r.DataItems = strings.Join(kinds, "、") + "（egressguard の検出による。内容を確認のうえ補記すること）"
	} else {
		r.DataItems = "（記入してください：例 氏名、住所、電話番号、生年月日、病名・症状、医療機関名）"
	}
	switch {
	case f.PersonalRecords > 0:
		r.People = fmt.Sprintf("最大 %d 名（添付ファイル等の個人レコード数による推定。重複を確認のうえ確定すること）", f.PersonalRecords)
	default:
		r.People = "（確認中：共有リンク先・添付ファイルに含まれる本人の数を記入してください）"
	}
	switch in.Kind {
	case KindNearMiss:
		r.Cause = "送信者による宛先の誤り。送信前の保留により外部への送信は防止された。"
	default:
		r.Cause = "送信者による宛先の選択誤り（誤送信）。（宛先を誤った経緯：オートコンプリート、ドメインの誤入力 等を記入）"
	}
	if len(f.Links) > 0 {
		r.SecondaryHarm = "現時点で二次被害の報告はない（確認中）。共有リンクが有効な間、リンクを知る第三者が閲覧・ダウンロードするおそれがあるため、提供元のアクセスログで閲覧の有無を確認する。"
	} else {
		r.SecondaryHarm = "現時点で二次被害の報告はない（確認中）。"
	}
	r.PeopleResponse = "（未実施：本人への通知の方法・時期を記入してください）"
	r.Publication = "（未定）"
	r.Prevention = "外部宛てメールの送信前確認の徹底。個人データの共有はアクセス権を限定した方法に限り、リンクを知る全員が閲覧できる共有を禁止する。egressguard の保留ルール・許可リストの見直し。"
	r.Other = fmt.Sprintf("egressguard インシデント ID %s、メッセージ ID %s。", in.ID, in.MsgID)
	return r
}

func nz(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// providerSteps are the remediation steps per link provider: revoking the
// shared folder is not enough where files inside have links of their own
// (the step that failed in the incident this project was built after).
var providerSteps = map[string][]Step{
	"google": {
		{ID: "revoke", Ja: "Google ドライブで共有を停止する（「リンクを知っている全員」を「制限付き」に変更し、不要な共有相手を削除）", En: "Stop sharing in Google Drive (general access from 'Anyone with the link' to 'Restricted', remove people who should not have access)"},
		{ID: "files", Ja: "フォルダ内のすべてのファイルを開き、ファイルごとのリンク共有・共有相手も停止する（フォルダの共有解除だけではファイルのリンクは有効なまま残る）", En: "Open every file in the folder and stop its own link sharing and direct shares too (revoking the folder leaves file links working)"},
		{ID: "logs", Ja: "Google Workspace の監査ログ（ドライブのログイベント）で、リンク経由の閲覧・ダウンロードの有無と日時を確認する", En: "Check the Google Workspace audit log (Drive log events) for views and downloads through the link, and when"},
	},
	"microsoft": {
		{ID: "revoke", Ja: "OneDrive / SharePoint の「アクセス許可の管理」で共有リンクを削除する", En: "Delete the sharing links under 'Manage access' in OneDrive / SharePoint"},
		{ID: "files", Ja: "フォルダ内の各ファイルに個別の共有リンクが無いか確認し、あれば削除する", En: "Check every file in the folder for links of its own and delete them"},
		{ID: "logs", Ja: "Microsoft Purview の監査ログで、リンク経由のアクセス（AnonymousLinkUsed 等）を確認する", En: "Check the Microsoft Purview audit log for access through the link (AnonymousLinkUsed and the like)"},
	},
	"dropbox": {
		{ID: "revoke", Ja: "Dropbox で共有リンクを削除する（リンクの設定から「リンクを削除」）", En: "Delete the shared link in Dropbox"},
		{ID: "files", Ja: "フォルダ内の各ファイルの共有リンクも確認し、削除する", En: "Check and delete the shared links of the files inside the folder too"},
		{ID: "logs", Ja: "管理コンソールのアクティビティで、リンク経由の閲覧・ダウンロードを確認する", En: "Check the admin console activity for views and downloads through the link"},
	},
	"box": {
		{ID: "revoke", Ja: "Box で共有リンクを無効にする（アクセスレベルを「招待されたユーザーのみ」に変更）", En: "Disable the shared link in Box (access: 'invited people only')"},
		{ID: "files", Ja: "フォルダ内の各ファイルの共有リンクも確認し、無効にする", En: "Check and disable the shared links of the files inside the folder too"},
		{ID: "logs", Ja: "Box のアクセス統計・ユーザーアクティビティレポートで閲覧・ダウンロードを確認する", En: "Check Box access stats and the user activity report for views and downloads"},
	},
	"selfhosted": {
		{ID: "revoke", Ja: "共有サーバー（Nextcloud / Proself / Seafile 等）で共有リンクを削除する", En: "Delete the share link on the sharing server (Nextcloud, Proself, Seafile …)"},
		{ID: "files", Ja: "フォルダ内の各ファイルに個別の共有リンクが無いか確認し、あれば削除する", En: "Check every file in the folder for links of its own and delete them"},
		{ID: "logs", Ja: "共有サーバーのアクセスログで、リンク経由の閲覧・ダウンロードを確認する", En: "Check the sharing server's access log for views and downloads through the link"},
	},
	"other": {
		{ID: "revoke", Ja: "提供元で共有リンクを無効にする", En: "Disable the link at its provider"},
		{ID: "files", Ja: "フォルダ内の各ファイルに個別のリンクが無いか確認し、あれば無効にする", En: "Check every file in the folder for links of its own and disable them"},
		{ID: "logs", Ja: "提供元のアクセスログで、リンク経由の閲覧・ダウンロードを確認する", En: "Check the provider's access log for views and downloads through the link"},
	},
}

// providerFamily maps a catalogue provider name to a step set.
func providerFamily(provider, host string) string {
	p := strings.ToLower(provider + " " + host)
	switch {
	case strings.Contains(p, "google"):
		return "google"
	case strings.Contains(p, "onedrive"), strings.Contains(p, "sharepoint"), strings.Contains(p, "microsoft"), strings.Contains(p, "1drv"):
		return "microsoft"
	case strings.Contains(p, "dropbox"):
		return "dropbox"
	case strings.Contains(p, "box"):
		return "box"
	case strings.Contains(p, "nextcloud"), strings.Contains(p, "owncloud"), strings.Contains(p, "proself"),
		strings.Contains(p, "seafile"), strings.Contains(p, "synology"):
		return "selfhosted"
	}
	return "other"
}

// checklist builds the remediation steps: per link (its provider's
// steps), then for the mail and the people affected.
func checklist(in *Incident) []Step {
	var steps []Step
	for i, l := range in.Facts.Links {
		fam := providerFamily(l.Provider, l.Host)
		for _, st := range providerSteps[fam] {
			if st.ID == "files" && l.Scope == "file" {
				continue
			}
			st.ID = fmt.Sprintf("link%d-%s", i+1, st.ID)
			st.Ja = fmt.Sprintf("[%s] %s", l.Host, st.Ja)
			st.En = fmt.Sprintf("[%s] %s", l.Host, st.En)
			steps = append(steps, st)
		}
	}
	if len(in.Facts.Attachments) > 0 {
		steps = append(steps, Step{ID: "attachments", Ja: "誤送信先に添付ファイルの削除（保存した複製を含む）を依頼する。パスワード付きの場合、パスワードは送らない", En: "Ask the wrong recipients to delete the attachments, copies included; if they are password-protected, do not send the password"})
	}
	if in.Kind == KindNearMiss {
		return append(steps,
			Step{ID: "sender", Ja: "送信者に状況を伝え、正しい宛先を確認する", En: "Tell the sender what happened and confirm the right recipient"},
			Step{ID: "prevent", Ja: "再発防止策（ルール・許可リストの見直し、注意喚起）を検討する", En: "Consider measures against recurrence (rules, allowlist, reminders to staff)"},
		)
	}
	return append(steps,
		Step{ID: "recipient-delete", Ja: "誤送信先にメールの削除を依頼し、削除した旨の確認（書面・メール）を得る", En: "Ask the wrong recipients to delete the mail and get their confirmation that they have (in writing or by mail)"},
		Step{ID: "scope", Ja: "漏えいした個人データの項目と本人の数を確定する", En: "Establish which items of personal data and how many people are affected"},
		Step{ID: "notify-people", Ja: "本人へ通知する（通知が困難な場合は代替措置として公表等）", En: "Notify the people affected (or, where that is not possible, an alternative such as a public announcement)"},
		Step{ID: "ppc-preliminary", Ja: "個人情報保護委員会へ速報を提出する（報告対象の場合）", En: "Send the preliminary report to the Personal Information Protection Commission (if reportable)"},
		Step{ID: "ppc-final", Ja: "個人情報保護委員会へ確報を提出する（報告対象の場合）", En: "Send the final report to the Personal Information Protection Commission (if reportable)"},
		Step{ID: "prevent", Ja: "再発防止策を決定し、関係者に周知する", En: "Decide the measures against recurrence and make them known"},
	)
}
