package policy

import (
	"strings"
	"testing"

	"github.com/egressguard/egressguard/internal/textnorm"
)

// Share-invitation wording: provider notice phrasings must match; what
// people write about sharing must not.
func TestNoticeDetection(t *testing.T) {
	t.Parallel()
	positives := []string{
		// Google Drive
		`Document shared with you: "Q3 plan"`,
		`Folder shared with you: "Contracts 2026"`,
		`"Q3 plan" - Invitation to edit`,
		`Taro Yamada (taro@example.co.jp) has invited you to edit the following document:`,
		`Taro Yamada shared a folder with you`,
		`Taro Yamada shared a document with you`,
		// OneDrive / SharePoint
		`Taro Yamada shared the folder "Contracts" with you`,
		`Taro Yamada shared "Budget.xlsx" with you.`,
		`Here's the document that Taro Yamada shared with you.`,
		`Here’s the folder that Taro shared with you`,
		// Dropbox
		`Taro shared “Quote.pdf” with you`,
		`Taro invited you to the folder “Design”`,
		// Box
		`Taro Yamada has invited you to collaborate on the folder "Projects"`,
		`Taro has shared a file with you`,
		// iCloud
		`Taro has shared "Keynote deck" with you`,
		// WeTransfer
		`taro@example.co.jp sent you files via WeTransfer`,
		`You've received 3 files via WeTransfer`,
		// Nextcloud / ownCloud
		`Taro shared »Quarterly report.pdf« with you`,
		`taro shared »Photos« with you and wants to add:`,
		// Seafile
		`Taro has shared a folder to you`,
		`A file is shared to you on Seafile`,
		// Japanese: Google Drive
		`山田太郎 さんが次のファイルを共有しました`,
		`山田太郎さんがフォルダを共有しました`,
		`山田太郎 さんがあなたを次のドキュメントの編集に招待しました`,
		`ドキュメント「Q3 計画」が共有されました`,
		`スプレッドシート「売上」が共有されました`,
		`編集者として招待されました`,
		// Japanese: OneDrive / Dropbox / Box
		`山田太郎 さんが "予算.xlsx" をあなたと共有しました`,
		`山田さんが「見積書.pdf」を共有しました`,
		`山田さんがあなたを「設計」フォルダに招待しました`,
		`山田さんが、「案件A」へのコラボレーションにあなたを招待しました`,
		// Japanese: Nextcloud
		`yamada が »報告書.pdf« をあなたと共有しました`,
		// Japanese: transfer services
		`WeTransfer でファイルが届いています`,
		`ギガファイル便でファイルが送信されました`,
		// NFKC: full-width Latin
		`Ｔａｒｏ ｓｈａｒｅｄ ａ ｆｏｌｄｅｒ ｗｉｔｈ ｙｏｕ`,
		// Quoted in a forwarded notice
		"---------- Forwarded message ---------\n> Taro Yamada shared a folder with you",
	}
	negatives := []string{
		`I've shared the folder with you.`,
		`I have shared the folder with you on Drive.`,
		`We have just shared a folder with you.`,
		`I shared "Q3 plan" with you yesterday.`,
		`We've invited you to the folder.`,
		`I invited you to edit the sheet.`,
		`Here's the document that I shared with you last week.`,
		`Please find attached the file.`,
		`Invitation to view our showroom`,
		`You are invited to join our webinar.`,
		`Taro invited you to join a meeting`,
		`the shared drive`,
		`sharing is caring`,
		`I sent you files via email`,
		`共有フォルダに保存しました。`,
		`ファイルを共有しましたのでご確認ください。`,
		`資料を共有いたします。`,
		`弊社の山田がファイルを共有しました。`,
		`先ほど共有フォルダに格納いたしました。`,
		`会議に招待しました。`,
		`添付ファイルをご確認ください。パスワードは別途お送りします。`,
		`共有されましたら、ご連絡ください。`,
		`ファイルが届いていないようでしたらご連絡ください。`,
		``,
	}
	for _, s := range positives {
		if p := detectNotice(textnorm.Normalize(s).Lower); p == "" {
			t.Errorf("not detected: %q", s)
		}
	}
	for _, s := range negatives {
		if p := detectNotice(textnorm.Normalize(s).Lower); p != "" {
			t.Errorf("false positive %q in %q", p, s)
		}
	}
}

func TestNoticeBoundedWork(t *testing.T) {
	t.Parallel()
	// Many anchors without a match: bounded by maxAnchors per pattern.
	text := strings.Repeat("shared with you invited you to 共有しました 招待 ", 20000)
	if p := detectNotice(textnorm.Normalize(text).Lower); p != "" {
		t.Errorf("false positive %q", p)
	}
	// A match after many anchors is still found in the first windows'
	// reach only; far beyond maxAnchors it is not searched.
	far := strings.Repeat("the shared drive. ", 10) + "Taro shared a folder with you"
	if p := detectNotice(textnorm.Normalize(far).Lower); p == "" {
		t.Error("match after a few anchors not found")
	}
}

func BenchmarkNoticeNoMatch(b *testing.B) {
	text := textnorm.Normalize(strings.Repeat("お世話になっております。先日の会議資料を共有フォルダに保存しました。ご確認ください。 ", 30)).Lower
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		detectNotice(text)
	}
}
