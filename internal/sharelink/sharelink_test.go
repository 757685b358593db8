package sharelink

import (
	"errors"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"

	"github.com/egressguard/egressguard/internal/message"
)

// catalogueCases are real-shaped share URLs (want = provider) and the
// providers' own help, pricing, sign-in and product pages (want = "").
var catalogueCases = []struct {
	url  string
	want string
}{
	// Self-hosted servers not named in the config: only unmistakable shapes.
	{"https://share.partner-lab.example/index.php/s/Zx9Yw8Vu7Ts6Rq5", "Self-hosted file sharing"},
	{"https://seafile.uni.example/d/a1b2c3d4e5/", "Self-hosted file sharing"},
	{"https://www.example.org/s/Zx9Yw8Vu7Ts6Rq5", ""},
	{"https://www.example.org/d/a1b2c3d4e5", ""},
	// Google Drive / Docs / Sheets / Slides.
	{"https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz012345/view?usp=sharing", "Google Drive"},
	{"https://drive.google.com/file/u/1/d/1AbCdEfGhIjKlMnOpQrStUvWxYz/view", "Google Drive"},
	{"https://drive.google.com/a/example.co.jp/file/d/1AbCdEfGhIjKlMnOp/edit", "Google Drive"},
	{"https://drive.google.com/drive/folders/1ZyXwVuTsRqPoNmLkJiH?usp=share_link", "Google Drive"},
	{"https://drive.google.com/drive/u/0/folders/1ZyXwVuTsRqPoNmLkJiH", "Google Drive"},
	{"https://drive.google.com/drive/mobile/folders/1ZyXwVuTsRqPoNmLkJiH", "Google Drive"},
	{"https://drive.google.com/uc?id=1AbCdEfGhIjKlMnOp&export=download", "Google Drive"},
	{"https://drive.google.com/open?id=1AbCdEfGhIjKlMnOp", "Google Drive"},
	{"https://drive.usercontent.google.com/download?id=1AbCdEfGhIjKlMnOp&export=download&authuser=0", "Google Drive"},
	{"https://doc-0k-2c-docs.googleusercontent.com/docs/securesc/abc/def/1600000000000/123/1AbC?e=download", "Google Drive"},
	{"https://docs.google.com/document/d/1AbCdEfGhIjKlMnOpQrStUv/edit?usp=sharing", "Google Drive"},
	{"https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOpQrStUv/edit#gid=0", "Google Drive"},
	{"https://docs.google.com/presentation/d/1AbCdEfGhIjKlMnOpQrStUv/edit", "Google Drive"},
	{"https://docs.google.com/document/u/1/d/1AbCdEfGhIjKlMnOpQrStUv/edit", "Google Drive"},
	{"https://docs.google.com/spreadsheets/d/e/2PACX-1vRAbCdEfGhIjKl/pubhtml", "Google Drive"},
	{"https://docs.google.com/spreadsheet/ccc?key=0AbCdEfGhIjKlMn", "Google Drive"},
	{"https://docs.google.com/a/example.co.jp/document/d/1AbCdEfGhIjKlMnOp/edit", "Google Drive"},
	{"https://docs.google.com/forms/d/e/1FAIpQLSdAbCdEfGhIjKlMnOp/viewform", "Google Forms"},
	{"https://forms.gle/AbCdEfGh12345", "Google Forms"},
	{"https://photos.app.goo.gl/AbCdEfGh12345", "Google Photos"},
	{"https://photos.google.com/share/AF1QipAbCdEfGhIjKl?key=XyZ", "Google Photos"},
	{"https://support.google.com/drive/answer/2494822?hl=ja", ""},
	{"https://www.google.com/drive/", ""},
	{"https://workspace.google.com/products/drive/", ""},
	{"https://drive.google.com/", ""},
	{"https://drive.google.com/drive/my-drive", ""},
	{"https://drive.google.com/drive/shared-with-me", ""},
	{"https://docs.google.com/", ""},
	{"https://docs.google.com/document/u/0/", ""},
	{"https://accounts.google.com/ServiceLogin?service=wise", ""},
	{"https://forms.gle/", ""},
	{"https://photos.google.com/", ""},
	{"https://lh3.googleusercontent.com/a/ACg8ocAbCdEf=s96-c", ""},

	// OneDrive.
	{"https://1drv.ms/f/s!AhBcDeFgHiJkLmNo", "OneDrive"},
	{"https://1drv.ms/x/s!AhBcDeFgHiJkLmNo?e=AbCdEf", "OneDrive"},
	{"https://1drv.ms/w/c/abcdef0123456789/EabcXYZ", "OneDrive"},
	{"https://onedrive.live.com/redir?resid=ABCDEF0123456789%21123&authkey=%21AbCdEf", "OneDrive"},
	{"https://onedrive.live.com/?authkey=%21AbCdEf&id=ABCDEF%21123&cid=ABCDEF", "OneDrive"},
	{"https://onedrive.live.com/?cid=ABCDEF0123456789&id=ABCDEF0123456789%21105", "OneDrive"},
	{"https://onedrive.live.com/redeem?resid=ABC&authkey=!AbC", "OneDrive"},
	{"https://onedrive.live.com/embed?resid=ABC&authkey=!AbC&em=2", "OneDrive"},
	{"https://my.microsoftpersonalcontent.com/personal/abcdef0123/_layouts/15/Doc.aspx?sourcedoc=%7B1%7D", "OneDrive"},
	{"https://api.onedrive.com/v1.0/shares/u!aHR0cHM6Ly8xZHJ2/root/content", "OneDrive"},
	{"https://onedrive.live.com/about/ja-jp/", ""},
	{"https://onedrive.live.com/", ""},
	{"https://www.microsoft.com/ja-jp/microsoft-365/onedrive/online-cloud-storage", ""},
	{"https://support.microsoft.com/en-us/office/share-onedrive-files-and-folders-9fcc2f7d", ""},
	{"https://login.live.com/login.srf?wa=wsignin1.0", ""},
	{"https://1drv.ms/", ""},

	// SharePoint / OneDrive for Business / Teams.
	{"https://contoso.sharepoint.com/:x:/r/sites/Finance/Shared%20Documents/Budget.xlsx?d=w1234&csf=1&web=1&e=AbCdEf", "SharePoint"},
	{"https://contoso.sharepoint.com/:w:/g/EabcXYZ123?e=4%3AAbCdEf", "SharePoint"},
	{"https://contoso.sharepoint.com/:p:/s/Team/EabcXYZ", "SharePoint"},
	{"https://contoso.sharepoint.com/:b:/s/Team/EabcXYZ", "SharePoint"},
	{"https://contoso.sharepoint.com/:f:/s/Team/EqwertyXYZ", "SharePoint"},
	{"https://contoso.sharepoint.com/:u:/s/Team/EqwertyXYZ", "SharePoint"},
	{"https://contoso.sharepoint.com/:i:/s/Team/EqwertyXYZ", "SharePoint"},
	{"https://contoso.sharepoint.com/:v:/s/Team/EqwertyXYZ", "SharePoint"},
	{"https://contoso.sharepoint.com/:o:/s/Team/EqwertyXYZ", "SharePoint"},
	{"https://contoso.sharepoint.com/:t:/s/Team/EqwertyXYZ", "SharePoint"},
	{"https://contoso-my.sharepoint.com/:x:/g/personal/taro_contoso_com/EabcXYZ?e=AbC", "SharePoint"},
	{"https://contoso-my.sharepoint.com/personal/taro_contoso_com/Documents/Plan.docx", "SharePoint"},
	{"https://contoso-my.sharepoint.com/personal/taro_contoso_com/_layouts/15/guestaccess.aspx?share=EabcXYZ", "SharePoint"},
	{"https://contoso.sharepoint.com/sites/Team/_layouts/15/guestaccess.aspx?guestaccesstoken=AbC&docid=2_0", "SharePoint"},
	{"https://contoso.sharepoint.com/sites/Team/Shared%20Documents/Plan.docx?csf=1&web=1&e=AbCdEf", "SharePoint"},
	{"https://contoso.sharepoint.us/:x:/r/sites/Gov/EabcXYZ", "SharePoint"},
	{"https://teams.microsoft.com/l/file/ABC-123?tenantId=x&fileType=xlsx&objectUrl=https%3A%2F%2Fcontoso.sharepoint.com", "Microsoft Teams"},
	{"https://contoso.sharepoint.com/sites/Team/SitePages/Home.aspx", ""},
	{"https://contoso.sharepoint.com/", ""},
	{"https://contoso-my.sharepoint.com/personal/taro_contoso_com", ""},
	{"https://www.microsoft.com/en-us/microsoft-365/sharepoint/collaboration", ""},
	{"https://teams.microsoft.com/l/meetup-join/19%3ameeting_AbC%40thread.v2/0?context=%7b%7d", ""},

	// Dropbox.
	{"https://www.dropbox.com/s/abc123def456/Quote.pdf?dl=0", "Dropbox"},
	{"https://www.dropbox.com/scl/fi/abc123def456ghi/Quote.pdf?rlkey=xyz&dl=0", "Dropbox"},
	{"https://www.dropbox.com/scl/fo/abc123def456ghi/h?rlkey=xyz", "Dropbox"},
	{"https://www.dropbox.com/sh/abc123def456/AAAbbbCCC?dl=0", "Dropbox"},
	{"https://www.dropbox.com/t/AbCdEf123456", "Dropbox"},
	{"https://www.dropbox.com/transfer/AAAAAbCdEfGhIjKlMnOp", "Dropbox"},
	{"https://www.dropbox.com/l/scl/AADabcdefghij", "Dropbox"},
	{"https://dropbox.com/s/abc123def456/Quote.pdf", "Dropbox"},
	{"https://dl.dropboxusercontent.com/s/abc123def456/Quote.pdf", "Dropbox"},
	{"https://uc1234abcd.dl.dropboxusercontent.com/cd/0/get/AbC/file", "Dropbox"},
	{"https://db.tt/AbCdEf12", "Dropbox"},
	{"https://paper.dropbox.com/doc/Plan--AbCdEf", "Dropbox"},
	{"https://www.dropbox.com//s/abc123def456/Quote.pdf", "Dropbox"},
	{"https://www.dropbox.com/./s/abc123def456/Quote.pdf", "Dropbox"},
	{"https://www.dropbox.com/help", ""},
	{"https://www.dropbox.com/plans", ""},
	{"https://www.dropbox.com/login", ""},
	{"https://www.dropbox.com/transfer", ""},
	{"https://www.dropbox.com/features/share/file-transfer", ""},
	{"https://www.dropbox.com/ja/business", ""},
	{"https://help.dropbox.com/share/create-and-share-link", ""},
	{"https://www.dropbox.com/s/", ""},

	// Box.
	{"https://app.box.com/s/abcdef0123456789abcdef0123456789", "Box"},
	{"https://acme.app.box.com/s/abcdef0123456789abcdef0123456789", "Box"},
	{"https://acme.box.com/s/abcdef0123456789abcdef0123456789", "Box"},
	{"https://box.com/s/abcdef0123456789abcdef0123456789", "Box"},
	{"https://app.box.com/shared/static/abcdef0123456789.pdf", "Box"},
	{"https://app.box.com/file/123456789012", "Box"},
	{"https://app.box.com/folder/123456789012", "Box"},
	{"https://acme.app.box.com/v/quarterly-report", "Box"},
	{"https://public.boxcloud.com/d/1/b1!AbCdEf/download", "Box"},
	{"https://www.box.com/pricing", ""},
	{"https://www.box.com/ja-jp/home", ""},
	{"https://support.box.com/hc/ja/articles/360043697094", ""},
	{"https://account.box.com/login", ""},
	{"https://app.box.com/login", ""},
	{"https://www.box.com/file-sharing", ""},
	{"https://community.box.com/s/article/Creating-Shared-Links", ""},

	// WeTransfer.
	{"https://we.tl/t-AbCdEf1234", "WeTransfer"},
	{"https://wetransfer.com/downloads/0123456789abcdef0123456789abcdef20240101/abcdef", "WeTransfer"},
	{"https://acme.wetransfer.com/downloads/0123456789abcdef0123456789abcdef/abcdef", "WeTransfer"},
	{"https://download.wetransfer.com/eugv/0123456789abcdef/file.zip?token=x", "WeTransfer"},
	{"https://wetransfer.com/pricing", ""},
	{"https://wetransfer.com/", ""},
	{"https://help.wetransfer.com/hc/en-us/articles/202702263", ""},
	{"https://we.tl/", ""},

	// iCloud.
	{"https://www.icloud.com/iclouddrive/0AbCdEfGhIjKlMnOp#Quote", "iCloud"},
	{"https://www.icloud.com/attachment/?u=https%3A%2F%2Fcvws.icloud-content.com%2FB%2Fabc&uk=x&f=a.zip", "iCloud"},
	{"https://www.icloud.com/sharedalbum/#B0AbCdEfGhIjKl", "iCloud"},
	{"https://www.icloud.com/pages/0AbCdEfGhIjKlMnOp#Plan", "iCloud"},
	{"https://share.icloud.com/photos/0AbCdEfGhIjKl", "iCloud"},
	{"https://cvws.icloud-content.com/B/AbCdEf/file.zip", "iCloud"},
	{"https://www.icloud.com/", ""},
	{"https://www.icloud.com/iclouddrive/", ""},
	{"https://support.apple.com/ja-jp/guide/icloud/mm6b1a9479/icloud", ""},
	{"https://www.apple.com/icloud/", ""},

	// MEGA.
	{"https://mega.nz/file/AbCdEfGh#KeyKeyKeyKeyKey", "MEGA"},
	{"https://mega.nz/folder/AbCdEfGh#KeyKeyKeyKeyKey", "MEGA"},
	{"https://mega.nz/#!AbCdEfGh!KeyKeyKeyKeyKey", "MEGA"},
	{"https://mega.nz/#F!AbCdEfGh!KeyKeyKeyKeyKey", "MEGA"},
	{"https://mega.co.nz/#!AbCdEfGh!KeyKey", "MEGA"},
	{"https://mega.nz/pro", ""},
	{"https://mega.nz/login", ""},
	{"https://mega.io/", ""},
	{"https://mega.nz/#help", ""},

	// Proton Drive.
	{"https://drive.proton.me/urls/ABCDEF1234#KeyKeyKey", "Proton Drive"},
	{"https://proton.me/drive", ""},
	{"https://drive.proton.me/", ""},
	{"https://proton.me/support/drive-shareable-link", ""},

	// GigaFile便 / Firestorage / other Japanese transfer services.
	{"https://46.gigafile.nu/0713-c8b1d5e29f9a0123456789abcdef", "GigaFile便"},
	{"https://xgf.nu/AbCd", "GigaFile便"},
	{"https://gigafile.nu/", ""},
	{"https://www.gigafile.nu/faq/", ""},
	{"https://firestorage.jp/download/0123456789abcdef0123456789abcdef", "Firestorage"},
	{"http://xfs.jp/AbCdEf", "Firestorage"},
	{"https://firestorage.jp/", ""},
	{"https://firestorage.jp/premium/", ""},
	{"https://www.datadeliver.net/receiver/file_box.do?id=AbC", "データ便"},
	{"https://www.datadeliver.net/", ""},
	{"https://okurin.bitpark.co.jp/download.php?id=AbC", "おくりん坊"},
	{"https://okurin.bitpark.co.jp/", ""},
	{"https://www.takufile.com/receive/index.phtml?id=x", "宅ふぁいる便"},
	{"https://yahoo.jp/box/gNtSmg", "Yahoo!ボックス"},
	{"https://yahoo.jp/", ""},

	// Presigned object storage.
	{"https://bucket.s3.ap-northeast-1.amazonaws.com/report.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20240101%2Fap-northeast-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=abcdef", "Amazon S3"},
	{"https://s3.amazonaws.com/bucket/report.pdf?AWSAccessKeyId=AKIA&Signature=abc%3D&Expires=1700000000", "Amazon S3"},
	{"https://bucket.s3.amazonaws.com/report.pdf?x-amz-signature=abcdef", "Amazon S3"},
	{"https://bucket.s3.amazonaws.com/logo.png", ""},
	{"https://aws.amazon.com/s3/pricing/", ""},
	{"https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html", ""},
	{"https://s3.amazonaws.com/bucket/report.pdf?Signature=abc", ""},
	{"https://d111111abcdef8.cloudfront.net/report.pdf?Expires=1700000000&Signature=abc&Key-Pair-Id=K2JCJMDEHXQW5F", "Amazon CloudFront"},
	{"https://storage.googleapis.com/bucket/report.pdf?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=sa%40p.iam.gserviceaccount.com&X-Goog-Signature=abc", "Google Cloud Storage"},
	{"https://bucket.storage.googleapis.com/report.pdf?GoogleAccessId=sa%40p.iam.gserviceaccount.com&Expires=1700000000&Signature=abc", "Google Cloud Storage"},
	{"https://storage.googleapis.com/bucket/logo.png", ""},
	{"https://cloud.google.com/storage/docs/access-control/signed-urls", ""},
	{"https://acct.blob.core.windows.net/container/report.pdf?sv=2022-11-02&ss=b&srt=o&sp=r&se=2024-01-01T00:00:00Z&sig=abc%3D", "Azure Storage"},
	{"https://acct.file.core.windows.net/share/report.pdf?sv=2022-11-02&sig=abc", "Azure Storage"},
	{"https://acct.dfs.core.windows.net/fs/report.pdf?se=2024-01-01&sig=abc", "Azure Storage"},
	{"https://acct.blob.core.windows.net/container/logo.png", ""},
	{"https://acct.blob.core.windows.net/container/report.pdf?sv=2022-11-02", ""},
	{"https://learn.microsoft.com/en-us/azure/storage/common/storage-sas-overview", ""},
	{"https://acct.r2.cloudflarestorage.com/bucket/report.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc", "Cloudflare R2"},
	{"https://minio.example.net/bucket/report.pdf?X-Amz-Credential=a%2Fb&X-Amz-Signature=abc", "Presigned URL"},
	{"https://minio.example.net/bucket/report.pdf?X-Amz-Signature=abc", ""},

	// Notion, Slack, other collaboration services.
	{"https://www.notion.so/acme/Q3-Plan-0123456789abcdef0123456789abcdef", "Notion"},
	{"https://www.notion.so/0123456789abcdef0123456789abcdef?pvs=4", "Notion"},
	{"https://acme.notion.site/Handbook-0123456789abcdef0123456789abcdef", "Notion"},
	{"https://acme.notion.site/", "Notion"},
	{"https://www.notion.so/help/sharing-and-permissions", ""},
	{"https://www.notion.so/pricing", ""},
	{"https://www.notion.so/login", ""},
	{"https://www.notion.so/product", ""},
	{"https://www.notion.so/help/guides/0123456789abcdef0123456789abcdef", ""},
	{"https://files.slack.com/files-pri/T0123ABCD-F0123ABCD/report.pdf", "Slack"},
	{"https://slack-files.com/T0123ABCD-F0123ABCD-abcdef0123", "Slack"},
	{"https://acme.slack.com/files/U0123ABCD/F0123ABCD/report.pdf", "Slack"},
	{"https://app.slack.com/client/T0123ABCD/C0123ABCD/files/F0123ABCD", "Slack"},
	{"https://slack.com/help/articles/201330736", ""},
	{"https://slack.com/pricing", ""},
	{"https://app.slack.com/client/T0123ABCD/C0123ABCD", ""},
	{"https://acme.slack.com/archives/C0123ABCD/p1700000000000000", ""},
	{"https://acrobat.adobe.com/id/urn:aaid:sc:AP:01234567-89ab-cdef-0123-456789abcdef", "Adobe"},
	{"https://documentcloud.adobe.com/link/review?uri=urn:aaid:scds:US:0123", "Adobe"},
	{"https://helpx.adobe.com/acrobat/using/sharing-pdfs.html", ""},
	{"https://acrobat.adobe.com/jp/ja/acrobat/pricing.html", ""},
	{"https://u.pcloud.link/publink/show?code=XZAbCdEf", "pCloud"},
	{"https://my.pcloud.com/publink/show?code=XZAbCdEf", "pCloud"},
	{"https://www.pcloud.com/pricing.html", ""},
	{"https://fromsmash.com/AbCd-Ef~gh", "Smash"},
	{"https://fromsmash.com/pricing", ""},
	{"https://fromsmash.com/ja/features", ""},
	{"https://www.filemail.com/d/abcdefghijkl", "Filemail"},
	{"https://www.filemail.com/pricing", ""},
	{"https://send-anywhere.com/web/link/AbCdEf", "Send Anywhere"},
	{"https://sendanywhe.re/ABCD1234", "Send Anywhere"},
	{"https://send-anywhere.com/pricing", ""},
	{"https://workdrive.zohoexternal.com/external/0123456789abcdef", "Zoho WorkDrive"},
	{"https://www.zoho.com/workdrive/pricing.html", ""},
	{"https://www.mediafire.com/file/abc123def456/report.pdf/file", "MediaFire"},
	{"https://www.mediafire.com/upgrade/", ""},
	{"https://gofile.me/6Abcd/XyZ12345", "Synology"},
	{"https://nas.quickconnect.to/sharing/AbCdEfGh", "Synology"},
	{"https://acme.egnyte.com/dl/AbCdEf1234", "Egnyte"},
	{"https://acme.egnyte.com/app/index.do#storage/files", ""},
	{"https://acme.sharefile.com/d-s0123456789abcdef", "ShareFile"},
	{"https://www.figma.com/file/AbCdEfGhIjKlMnOp/Design", "Figma"},
	{"https://www.figma.com/pricing/", ""},
	{"https://us02web.zoom.us/rec/share/AbCdEf.GhIjKl", "Zoom"},
	{"https://us02web.zoom.us/j/1234567890?pwd=AbC", ""},
	{"https://www.amazon.co.jp/photos/share/AbCdEfGhIjKl", "Amazon Photos"},
	{"https://www.amazon.co.jp/dp/B000000000", ""},
	{"https://disk.yandex.ru/d/AbCdEfGh", "Yandex Disk"},
	{"https://pan.baidu.com/s/1AbCdEfGh", "Baidu Netdisk"},
	{"https://www.swisstransfer.com/d/0123abcd-4567", "SwissTransfer"},
	{"https://www.transfernow.net/dl/20240101AbCdEf", "TransferNow"},
	{"https://transfer.sh/AbCd12/report.pdf", "transfer.sh"},
	{"https://gofile.io/d/AbCd12", "Gofile"},
	{"https://file.io/AbCdEf12", "file.io"},
	{"https://file.io/pricing", ""},
	{"https://www.loom.com/share/0123456789abcdef0123456789abcdef", "Loom"},
	{"https://miro.com/app/board/uXjVAbCdEf=/", "Miro"},
	{"https://miro.com/pricing/", ""},

	// Unrelated.
	{"https://www.example.co.jp/s/abc123def456", ""},
	{"https://example.com/", ""},
	{"mailto:taro@example.co.jp", ""},
	{"", ""},
}

func TestCatalogueURLs(t *testing.T) {
	t.Parallel()
	c, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(catalogueCases); n < 150 {
		t.Fatalf("only %d catalogue cases", n)
	}
	for _, tc := range catalogueCases {
		m, ok := c.Match(message.Link{URL: tc.url})
		got := ""
		if ok {
			got = m.Provider
		}
		if got != tc.want {
			t.Errorf("Match(%q) = %q (%s), want %q", tc.url, got, m.Why, tc.want)
		}
		if ok && (m.Why == "" || m.Kind == "" || m.Entry == "") {
			t.Errorf("Match(%q) = %+v: empty kind, entry or why", tc.url, m)
		}
	}
}

// Every major provider has at least one positive and one negative case.
func TestCatalogueCoverage(t *testing.T) {
	t.Parallel()
	c, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]bool{}
	for _, tc := range catalogueCases {
		if tc.want != "" {
			pos[tc.want] = true
		}
	}
	for _, p := range c.Providers() {
		switch p {
		case "Nextcloud", "ownCloud", "Proself", "Seafile": // self-hosted, tested below
			continue
		}
		if !pos[p] {
			// Minor providers need a positive case too.
			switch p {
			case "Koofr", "HiDrive", "Sync.com", "Tresorit", "Icedrive", "Evernote", "Airtable", "Canva",
				"DirectCloud", "FilePost", "S3-compatible storage":
				continue
			}
			t.Errorf("provider %q has no positive catalogue case", p)
		}
	}
}

func TestHostAndLinkFields(t *testing.T) {
	t.Parallel()
	c, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		link message.Link
		want string
		why  string
	}{
		{"host given", message.Link{URL: "https://www.dropbox.com/s/abc123def456/x", Host: "www.dropbox.com"}, "Dropbox", "path ^/(?:s|sh)/[A-Za-z0-9]{6,}"},
		{"upper-case host", message.Link{URL: "HTTPS://WWW.DROPBOX.COM/s/abc123def456/x"}, "Dropbox", ""},
		{"port and userinfo", message.Link{URL: "https://user:pw@www.dropbox.com:443/s/abc123def456/x"}, "Dropbox", ""},
		{"trailing dot", message.Link{URL: "https://www.dropbox.com./s/abc123def456/x"}, "Dropbox", ""},
		{"backslashes", message.Link{URL: `https://www.dropbox.com\s\abc123def456\x`}, "Dropbox", ""},
		{"bad escape kept", message.Link{URL: "https://www.dropbox.com/s/abc123def456/x%zz"}, "Dropbox", ""},
		{"encoded path", message.Link{URL: "https://www.dropbox.com/%73/abc123def456/x"}, "Dropbox", ""},
		{"no scheme", message.Link{URL: "www.dropbox.com/s/abc123def456/x"}, "Dropbox", ""},
		{"query why", message.Link{URL: "https://b.s3.amazonaws.com/k?X-Amz-Signature=1"}, "Amazon S3", "query X-Amz-Signature"},
		{"encoded query name", message.Link{URL: "https://b.s3.amazonaws.com/k?X%2DAmz%2DSignature=1"}, "Amazon S3", ""},
		{"fragment why", message.Link{URL: "https://mega.nz/#!AbCdEfGh!key"}, "MEGA", "fragment ^[FP]?![\\w-]{6,}"},
		{"opaque hint", message.Link{URL: "https://protect-eu.mimecast.com/s/AbCdEf?domain=www.dropbox.com", Host: "protect-eu.mimecast.com", Opaque: true, Hints: []string{"www.dropbox.com"}}, "Dropbox", "opaque wrapper (www.dropbox.com)"},
		{"opaque hint subdomain", message.Link{URL: "https://protect.mimecast.com/s/x", Opaque: true, Hints: []string{"ACME.app.box.com"}}, "Box", "opaque wrapper (acme.app.box.com)"},
		{"opaque hint no-hint host", message.Link{URL: "https://protect.mimecast.com/s/x", Opaque: true, Hints: []string{"bucket.s3.amazonaws.com"}}, "", ""},
		{"opaque hint unknown host", message.Link{URL: "https://protect.mimecast.com/s/x", Opaque: true, Hints: []string{"www.example.com"}}, "", ""},
		{"hints ignored unless opaque", message.Link{URL: "https://example.com/x", Hints: []string{"www.dropbox.com"}}, "", ""},
		{"IDN hint", message.Link{URL: "https://protect.mimecast.com/s/x", Opaque: true, Hints: []string{"ファイル.example"}}, "", ""},
	}
	for _, tc := range tests {
		m, ok := c.Match(tc.link)
		if got := m.Provider; got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: Match = %q, %v (%s), want %q", tc.name, got, ok, m.Why, tc.want)
		}
		if tc.why != "" && m.Why != tc.why {
			t.Errorf("%s: why = %q, want %q", tc.name, m.Why, tc.why)
		}
	}
}

func TestSelfHosted(t *testing.T) {
	t.Parallel()
	c, err := New(nil, []SelfHostedSpec{
		{Kind: "nextcloud", Host: "cloud.example.co.jp"},
		{Kind: "owncloud", Host: "oc.example.co.jp"},
		{Kind: "proself", Host: "proself.example.co.jp"},
		{Kind: "Seafile", Host: "*.seafile.example.co.jp"},
		{Kind: "synology", Host: "nas.example.co.jp"},
		{Kind: "nextcloud", Host: "ファイル.example.jp"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ url, want string }{
		{"https://cloud.example.co.jp/s/AbCdEfGhIjKlMnO", "Nextcloud"},
		{"https://cloud.example.co.jp/index.php/s/AbCdEfGhIjKlMnO", "Nextcloud"},
		{"https://cloud.example.co.jp/nextcloud/index.php/s/AbCdEfGhIjKlMnO/download", "Nextcloud"},
		{"https://cloud.example.co.jp/index.php/apps/files_sharing/publicpreview/AbCdEf?x=1", "Nextcloud"},
		{"https://cloud.example.co.jp/index.php/apps/files/?dir=/&fileid=123", ""},
		{"https://cloud.example.co.jp/login", ""},
		{"https://cloud.example.co.jp/", ""},
		{"https://oc.example.co.jp/public.php?service=files&t=abcdef0123", "ownCloud"},
		{"https://oc.example.co.jp/public.php?service=files", ""},
		{"https://oc.example.co.jp/index.php/s/AbCdEfGh", "ownCloud"},
		{"https://proself.example.co.jp/publink/AbCdEfGh", "Proself"},
		{"https://proself.example.co.jp/proself/publink/AbCdEfGh", "Proself"},
		{"https://proself.example.co.jp/proself/login/login.go", ""},
		{"https://files.seafile.example.co.jp/f/0123abcdef/", "Seafile"},
		{"https://files.seafile.example.co.jp/d/0123abcdef456789/", "Seafile"},
		{"https://files.seafile.example.co.jp/u/d/0123abcdef/", "Seafile"},
		{"https://files.seafile.example.co.jp/seafhttp/files/abc-def/report.pdf", "Seafile"},
		{"https://files.seafile.example.co.jp/library/abc/My%20Library/", ""},
		{"https://nas.example.co.jp/sharing/AbCdEfGh", "Synology"},
		{"https://nas.example.co.jp/d/s/AbCdEfGh/xyz", "Synology"},
		{"https://xn--bckg9lpd.example.jp/s/AbCdEfGh", "Nextcloud"},
		// Not configured: the generic shapes only. A bare /s/ token, a
		// Seafile path without its trailing slash or with a non-hex token,
		// and Proself's or Synology's paths are not shares elsewhere.
		{"https://other.example.com/s/AbCdEfGhIjKlMnO", ""},
		{"https://other.example.com/f/0123abcdef/", "Self-hosted file sharing"},
		{"https://other.example.com/f/0123abcdef", ""},
		{"https://other.example.com/f/0123abcdeg/", ""},
		{"https://other.example.com/d/0123abcdef0123abcdef/", "Self-hosted file sharing"},
		{"https://other.example.com/index.php/s/AbCdEfGhIjKlMnO", "Self-hosted file sharing"},
		{"https://other.example.com/cloud/index.php/s/AbCdEfGhIjKlMnO/download", "Self-hosted file sharing"},
		{"https://other.example.com/index.php/s/short", ""},
		{"https://other.example.com/publink/AbCdEfGh", ""},
		{"https://other.example.com/sharing/AbCdEfGh", ""},
	}
	for _, tc := range tests {
		m, ok := c.Match(message.Link{URL: tc.url})
		if m.Provider != tc.want || ok != (tc.want != "") {
			t.Errorf("Match(%q) = %q (%s), want %q", tc.url, m.Provider, m.Why, tc.want)
		}
	}
	if m, _ := c.Match(message.Link{URL: "https://cloud.example.co.jp/s/AbCdEfGhIjKlMnO"}); m.Kind != KindNextcloud || !strings.HasPrefix(m.Why, "self-hosted nextcloud cloud.example.co.jp: path") {
		t.Errorf("self-hosted match = %+v", m)
	}
}

func TestOverrideAndDisable(t *testing.T) {
	t.Parallel()
	c, err := New([]ProviderSpec{
		{Name: "Dropbox", Disable: true},
		{Name: "wetransfer", Provider: "WeTransfer (custom)", Kind: KindTransfer, Hosts: []string{"wetransfer.com", "*.wetransfer.com"}, Path: []string{`^/downloads/`}},
		{Name: "acme-transfer", Provider: "Acme Transfer", Kind: KindTransfer, Hosts: []string{"send.acme.example"}, Path: []string{`^/t/`}},
		{Name: "acme-all", Hosts: []string{"share.acme.example"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ url, want string }{
		{"https://www.dropbox.com/s/abc123def456/x", ""}, // disabled
		{"https://dl.dropboxusercontent.com/s/abc/x", "Dropbox"},
		{"https://wetransfer.com/downloads/x", "WeTransfer (custom)"}, // replaced: looser path
		{"https://we.tl/t-AbCdEf1234", "WeTransfer"},                  // other entries of the provider stay
		{"https://send.acme.example/t/123", "Acme Transfer"},
		{"https://send.acme.example/pricing", ""},
		{"https://share.acme.example/anything", "acme-all"},
	}
	for _, tc := range tests {
		m, _ := c.Match(message.Link{URL: tc.url})
		if m.Provider != tc.want {
			t.Errorf("Match(%q) = %q, want %q", tc.url, m.Provider, tc.want)
		}
	}
	for _, name := range []string{"acme transfer", "ACME-TRANSFER", "dropbox-content", "Dropbox", "nextcloud"} {
		if _, ok := c.Provider(name); !ok {
			t.Errorf("Provider(%q) unknown", name)
		}
	}
	if _, ok := c.Provider("dropbox"); !ok {
		t.Error("provider Dropbox lost although other Dropbox entries remain")
	}
	if _, ok := c.Provider("nosuch"); ok {
		t.Error("Provider(nosuch) known")
	}
	// Passing the built-in list again changes nothing: same-name entries
	// replace themselves.
	c2, err := New(Builtin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := New(nil, nil)
	if c2.Len() != base.Len() {
		t.Errorf("New(Builtin()) has %d entries, New(nil) %d", c2.Len(), base.Len())
	}
}

func TestCompileErrorsAllReported(t *testing.T) {
	t.Parallel()
	_, err := Compile([]ProviderSpec{
		{Name: "", Hosts: []string{"a.example"}},
		{Name: "bad", Kind: "cloud", Hosts: []string{"*.com", "a b", "http://x.example/"}, Path: []string{"(", ""}, Query: []string{"a&&b"}, ExcludePath: []string{"[z-a]"}},
		{Name: "nohosts"},
		{Name: "Bad", Hosts: []string{"x.example"}},
		{Name: "star", Hosts: []string{"*"}},
		{Name: "ok", Hosts: []string{"ok.example"}, Fragment: []string{"+"}},
	}, []SelfHostedSpec{
		{Kind: "sharepoint", Host: "sp.example"},
		{Kind: "nextcloud", Host: ""},
		{Kind: "seafile", Host: "*"},
	})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want *Error wrapping ErrInvalid", err)
	}
	var keys []string
	for _, p := range e.Problems {
		keys = append(keys, p.Key)
		if p.What == "" || p.Hint == "" {
			t.Errorf("problem %+v lacks what or hint", p)
		}
	}
	want := []string{
		"provider[0].name",
		"provider[3].name",
		"provider[1].kind",
		"provider[1].hosts[0]",
		"provider[1].hosts[1]",
		"provider[1].hosts[2]",
		"provider[1].path[0]",
		"provider[1].path[1]",
		"provider[1].exclude_path[0]",
		"provider[1].query[0]",
		"provider[2].hosts",
		"provider[4].hosts",
		"provider[5].fragment[0]",
		"self_hosted[0].kind",
		"self_hosted[1].host",
		"self_hosted[2].host",
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("problem keys (-want +got):\n%s\nerror:\n%v", diff, err)
	}
	if !strings.Contains(err.Error(), "16 problem(s)") {
		t.Errorf("error text: %v", err)
	}
}

func TestBuiltinIsFreshCopy(t *testing.T) {
	t.Parallel()
	a := Builtin()
	a[0].Hosts[0] = "changed.example"
	if b := Builtin(); b[0].Hosts[0] == "changed.example" {
		t.Error("Builtin returns shared state")
	}
}

func TestBuiltinNamesUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, s := range Builtin() {
		n := strings.ToLower(s.Name)
		if seen[n] {
			t.Errorf("duplicate built-in name %q", s.Name)
		}
		seen[n] = true
		if s.Provider == "" || s.Kind == "" {
			t.Errorf("built-in %q lacks provider or kind", s.Name)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	c, err := New(nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	links := []message.Link{
		{URL: "https://www.dropbox.com/scl/fi/abc123def456ghi/Quote.pdf?rlkey=xyz&dl=0", Host: "www.dropbox.com"},
		{URL: "https://www.example.co.jp/company/access.html", Host: "www.example.co.jp"},
		{URL: "https://contoso.sharepoint.com/sites/Team/SitePages/Home.aspx", Host: "contoso.sharepoint.com"},
		{URL: "https://bucket.s3.amazonaws.com/logo.png", Host: "bucket.s3.amazonaws.com"},
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range links {
			c.Match(l)
		}
	}
}

// Catalogue entries decode from TOML as the config package embeds them.
func TestSpecTOML(t *testing.T) {
	t.Parallel()
	src := `
[[provider]]
name = "acme-transfer"
provider = "Acme Transfer"
kind = "transfer"
hosts = ["send.acme.example", "*.send.acme.example"]
path = ['^/t/[A-Za-z0-9]{8,}']
query = ["token", "sig&exp"]
exclude_path = ['^/t/help']

[[provider]]
name = "dropbox"
disable = true

[[self_hosted]]
kind = "nextcloud"
host = "files.example.co.jp"
`
	var doc struct {
		Provider   []ProviderSpec   `toml:"provider"`
		SelfHosted []SelfHostedSpec `toml:"self_hosted"`
	}
	md, err := toml.Decode(src, &doc)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Errorf("undecoded %v", u)
	}
	c, err := New(doc.Provider, doc.SelfHosted)
	if err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]string{
		"https://send.acme.example/t/AbCdEfGh12":      "Acme Transfer",
		"https://eu.send.acme.example/x?sig=1&exp=2":  "Acme Transfer",
		"https://send.acme.example/x?sig=1":           "",
		"https://send.acme.example/t/helpAbCdEfGh":    "",
		"https://www.dropbox.com/s/abc123def456/x":    "",
		"https://files.example.co.jp/s/AbCdEfGhIjKlM": "Nextcloud",
	} {
		if m, _ := c.Match(message.Link{URL: url}); m.Provider != want {
			t.Errorf("Match(%q) = %q, want %q", url, m.Provider, want)
		}
	}
}

func TestUnknownDestination(t *testing.T) {
	t.Parallel()
	c, err := NewConfig(Config{Shorteners: []ShortenerSpec{
		{Host: "go.example.jp"},                                   // an admin's addition
		{Host: "t.co", Disable: true},                             // a built-in removed
		{Host: "s.example.net", Sites: []string{"example.net"}},   // leads only to a site without shares
		{Host: "*.short.example", Sites: []string{"dropbox.com"}}, // leads to a share host
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url     string
		opaque  bool
		unknown bool
		capable bool
	}{
		{"https://bit.ly/3AbC", false, true, true},
		{"https://TinyURL.com/abc", false, true, true},
		{"https://lnkd.in/gAbC", false, true, true},
		{"https://go.example.jp/x", false, true, true},
		{"https://t.co/abc", false, false, false},
		{"https://s.example.net/x", false, true, false},
		{"https://a.short.example/x", false, true, true},
		{"https://short.example/x", false, false, false},
		{"https://x.page.link/abc", false, true, true},
		{"https://maps.app.goo.gl/abc", false, true, false},
		{"https://youtu.be/abc", false, true, false},
		{"https://db.tt/abc", false, true, true},
		{"https://protect-eu.mimecast.com/s/abc", true, true, true},
		{"https://www.example.com/", false, false, false},
	}
	for _, tt := range tests {
		final, _, opaque, hints := message.Unwrap(tt.url)
		l := message.Link{URL: final, Opaque: opaque || tt.opaque, Hints: hints}
		d, ok := c.UnknownDestination(l)
		if ok != tt.unknown || d.ShareCapable != tt.capable {
			t.Errorf("%s: unknown %v %+v, want %v capable %v", tt.url, ok, d, tt.unknown, tt.capable)
		}
	}
	_, err = NewConfig(Config{Shorteners: []ShortenerSpec{{Host: "*"}, {Host: "a b"}, {Host: "ok.example", Sites: []string{"nodot"}}}})
	var se *Error
	if !errors.As(err, &se) || len(se.Problems) != 3 {
		t.Errorf("bad shortener specs: %v", err)
	}
}
