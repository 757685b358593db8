package sharelink

// Builtin returns the built-in catalogue, a fresh copy on every call.
//
// Maintenance rules for entries:
//   - Every path pattern is anchored and requires the share token's shape
//     (length, alphabet) where it is known, so that a provider's product,
//     help, pricing and sign-in pages never match. The tests hold at least
//     one share URL and one look-alike page for every major provider.
//   - A host that serves much besides shares sets NoHint, so that a
//     wrapper hiding it (Mimecast and the like) does not count as a share.
//   - Entries marked "best effort" in a comment follow URL shapes seen in
//     public documents but not verified against the service; a wrong
//     pattern there misses shares, it cannot produce a false match on the
//     provider's other pages.
func Builtin() []ProviderSpec {
	return []ProviderSpec{
		// Google Drive, Docs, Sheets, Slides, Drawings.
		{
			Name: "google-drive", Provider: "Google Drive", Kind: KindSaaS,
			Hosts: []string{"drive.google.com"},
			Path: []string{
				`^/(?:a/[^/]+/)?(?:u/\d+/)?file/(?:u/\d+/)?d/[\w-]{10,}`,
				`^/(?:a/[^/]+/)?(?:drive/)?(?:(?:u/\d+|mobile)/)*folders/[\w-]{10,}`,
			},
			// /open?id=, /uc?id=, /folderview?id=, /thumbnail?id=.
			Query: []string{"id"},
		},
		{
			Name: "google-drive-download", Provider: "Google Drive", Kind: KindSaaS,
			Hosts: []string{"drive.usercontent.google.com"},
			Path:  []string{`^/(?:u/\d+/)?(?:download|uc|open)`},
			Query: []string{"id"},
		},
		{
			// doc-0k-…-docs.googleusercontent.com download redirects; the
			// same domain serves profile pictures (lh3.), hence no hint.
			Name: "google-drive-content", Provider: "Google Drive", Kind: KindSaaS,
			Hosts:  []string{"*.googleusercontent.com"},
			Path:   []string{`^/docs/secure(?:sc)?/`},
			NoHint: true,
		},
		{
			Name: "google-docs", Provider: "Google Drive", Kind: KindSaaS,
			Hosts: []string{"docs.google.com"},
			Path: []string{
				`^/(?:a/[^/]+/)?(?:document|spreadsheets|presentation|drawings|file|drive|viewer)/(?:u/\d+/)?d/(?:e/)?[\w-]{10,}`,
			},
			// /open?id=, /uc?id=, legacy /spreadsheet/ccc?key=.
			Query: []string{"id", "key"},
		},
		{
			Name: "google-forms", Provider: "Google Forms", Kind: KindSaaS,
			Hosts: []string{"docs.google.com"},
			Path:  []string{`^/(?:a/[^/]+/)?forms/(?:u/\d+/)?d/(?:e/)?[\w-]{10,}`},
		},
		{
			Name: "google-forms-short", Provider: "Google Forms", Kind: KindSaaS,
			Hosts: []string{"forms.gle"},
			Path:  []string{`^/[A-Za-z0-9]{6,}`},
		},
		{
			Name: "google-photos", Provider: "Google Photos", Kind: KindSaaS,
			Hosts: []string{"photos.google.com"},
			Path:  []string{`^/(?:u/\d+/)?share/[\w-]{10,}`},
			Query: []string{"key"},
		},
		{
			Name: "google-photos-short", Provider: "Google Photos", Kind: KindSaaS,
			Hosts: []string{"photos.app.goo.gl"},
			Path:  []string{`^/[A-Za-z0-9]{6,}`},
		},

		// Microsoft.
		{
			Name: "onedrive-short", Provider: "OneDrive", Kind: KindSaaS,
			Hosts: []string{"1drv.ms"},
			Path:  []string{`^/[^/]+/.`},
		},
		{
			// onedrive.live.com share views (?cid=&id=, ?authkey=, ?redeem=,
			// /redir?resid=), the SharePoint-hosted consumer OneDrive of
			// 2024 (my.microsoftpersonalcontent.com) and the shares API.
			Name: "onedrive", Provider: "OneDrive", Kind: KindSaaS,
			Hosts: []string{"onedrive.live.com", "onedrive.com", "www.onedrive.com", "my.microsoftpersonalcontent.com", "storage.live.com", "api.onedrive.com"},
			Path: []string{
				`^/(?:personal/[^/]+/.|:[a-z]:/)`,
				`^/v1\.0/shares/`,
			},
			Query: []string{"authkey", "redeem", "resid", "cid", "id"},
		},
		{
			// Sharing links (/:x:/r/…, /:f:/g/…), guest links, OneDrive for
			// Business (-my.sharepoint.com/personal/…), and library links
			// carrying a sharing token (e=, share=, csf=).
			Name: "sharepoint", Provider: "SharePoint", Kind: KindSaaS,
			Hosts: []string{"*.sharepoint.com", "*.sharepoint.us", "*.sharepoint.cn", "*.sharepoint.de"},
			Path: []string{
				`^/:[a-z]:/`,
				`(?i)/guestaccess\.aspx`,
				`(?i)^/personal/[^/]+/.`,
			},
			Query: []string{"e", "share", "guestaccesstoken", "csf"},
		},
		{
			Name: "teams-file", Provider: "Microsoft Teams", Kind: KindSaaS,
			Hosts:  []string{"teams.microsoft.com", "teams.live.com"},
			Path:   []string{`^/l/file/`},
			NoHint: true, // also meeting links
		},

		// Dropbox.
		{
			Name: "dropbox", Provider: "Dropbox", Kind: KindSaaS,
			Hosts: []string{"dropbox.com", "www.dropbox.com"},
			Path: []string{
				`^/(?:s|sh)/[A-Za-z0-9]{6,}`,
				`^/scl/f[io]/[A-Za-z0-9]{6,}`,
				`^/t/[A-Za-z0-9]{6,}`,
				`^/l/(?:scl/)?[A-Za-z0-9_-]{6,}`,
				`^/transfer/[A-Za-z0-9_-]{8,}`,
				`^/e/scl/f[io]/`,
			},
		},
		{
			Name: "dropbox-content", Provider: "Dropbox", Kind: KindSaaS,
			Hosts: []string{"dl.dropboxusercontent.com", "dl.dropbox.com", "*.dl.dropboxusercontent.com", "*.previews.dropboxusercontent.com"},
			Path:  []string{`^/.`},
		},
		{
			Name: "dropbox-short", Provider: "Dropbox", Kind: KindSaaS,
			Hosts: []string{"db.tt"},
			Path:  []string{`^/[A-Za-z0-9]{4,}`},
		},
		{
			Name: "dropbox-paper", Provider: "Dropbox", Kind: KindSaaS,
			Hosts: []string{"paper.dropbox.com"},
			Path:  []string{`^/(?:doc|folder)/.`},
		},

		// Box. Custom subdomains (acme.app.box.com, acme.box.com) carry
		// the same paths.
		{
			Name: "box", Provider: "Box", Kind: KindSaaS,
			Hosts: []string{"box.com", "*.box.com"},
			Path: []string{
				`^/s/[a-z0-9]{10,}`,
				`^/(?:embed|embed_widget)/s/[a-z0-9]{10,}`,
				`^/shared/static/`,
				`^/(?:file|folder|notes|f)/\d{3,}`,
				`^/v/[\w.-]+`,
			},
			// Salesforce-style community pages use /s/article/… etc.
			ExcludePath: []string{`^/s/(?:article|topic|question|global-search|contactsupport|login|knowledge)`},
		},
		{
			Name: "box-content", Provider: "Box", Kind: KindSaaS,
			Hosts: []string{"*.boxcloud.com"},
			Path:  []string{`^/d/.`},
		},

		// Transfer services.
		{
			Name: "wetransfer", Provider: "WeTransfer", Kind: KindTransfer,
			Hosts: []string{"wetransfer.com", "*.wetransfer.com"},
			Path:  []string{`^/downloads/[0-9a-f]{10,}`},
		},
		{
			Name: "wetransfer-download", Provider: "WeTransfer", Kind: KindTransfer,
			Hosts: []string{"download.wetransfer.com", "*.download.wetransfer.com"},
			Path:  []string{`^/.`},
		},
		{
			Name: "wetransfer-short", Provider: "WeTransfer", Kind: KindTransfer,
			Hosts: []string{"we.tl"},
			Path:  []string{`^/[A-Za-z0-9-]{4,}`},
		},
		{
			Name: "gigafile", Provider: "GigaFile便", Kind: KindTransfer,
			Hosts: []string{"gigafile.nu", "*.gigafile.nu"},
			Path:  []string{`^/\d{4}-[0-9a-z]{10,}`},
		},
		{
			Name: "gigafile-short", Provider: "GigaFile便", Kind: KindTransfer,
			Hosts: []string{"xgf.nu"},
			Path:  []string{`^/[A-Za-z0-9]{3,}`},
		},
		{
			Name: "firestorage", Provider: "Firestorage", Kind: KindTransfer,
			Hosts: []string{"firestorage.jp", "www.firestorage.jp", "firestorage.com", "www.firestorage.com"},
			Path:  []string{`^/download/[0-9a-f]{8,}`},
		},
		{
			Name: "firestorage-short", Provider: "Firestorage", Kind: KindTransfer,
			Hosts: []string{"xfs.jp"},
			Path:  []string{`^/[A-Za-z0-9]{3,}`},
		},
		{
			Name: "datadeliver", Provider: "データ便", Kind: KindTransfer,
			Hosts: []string{"datadeliver.net", "www.datadeliver.net"},
			Path:  []string{`^/receiver/`},
		},
		{
			Name: "okurinbo", Provider: "おくりん坊", Kind: KindTransfer,
			Hosts: []string{"okurin.bitpark.co.jp"},
			Path:  []string{`^/download\.php`},
		},
		{
			// 宅ふぁいる便 ended in 2020; old links still circulate in
			// forwarded mail and templates.
			Name: "takufile", Provider: "宅ふぁいる便", Kind: KindTransfer,
			Hosts: []string{"filesend.to", "www.filesend.to", "www.takufile.com", "takufile.com"},
			Path:  []string{`^/filedn/`, `^/receive/`},
		},
		{
			Name: "filepost", Provider: "FilePost", Kind: KindTransfer,
			Hosts: []string{"file-post.net", "www.file-post.net"},
			Path:  []string{`^/[a-z]{2}/fp\d+/d`},
		},
		{
			Name: "smash", Provider: "Smash", Kind: KindTransfer,
			Hosts: []string{"fromsmash.com", "www.fromsmash.com"},
			// Transfers live at the top level (fromsmash.com/AbC-xyz~q),
			// beside the site's own pages, which are excluded by name.
			Path: []string{`^/[A-Za-z0-9][\w~.-]{4,}/?$`},
			ExcludePath: []string{
				`(?i)^/(?:[a-z]{2}(?:-[a-z]{2})?/)?(?:pricing|features?|help|about|blog|terms|privacy|legal|pro|business|teams?|api|integrations?|downloads?|apps?|login|signin|sign-in|signup|sign-up|register|account|careers|jobs|press|contact|faq|security|enterprise|plans|company|partners|developers|status|cookies|gdpr|support|news|transfer|send|home|index\.html|compare|resources|customers)(?:/|$)`,
			},
		},
		{
			Name: "filemail", Provider: "Filemail", Kind: KindTransfer,
			Hosts: []string{"filemail.com", "*.filemail.com"},
			Path:  []string{`^/d/[a-z0-9]{6,}`, `^/t/[A-Za-z0-9]{4,}`},
		},
		{
			Name: "send-anywhere", Provider: "Send Anywhere", Kind: KindTransfer,
			Hosts: []string{"send-anywhere.com", "www.send-anywhere.com", "sendanywhere.com", "www.sendanywhere.com"},
			Path:  []string{`^/web/(?:link|s|downloads?)/[\w-]{4,}`},
		},
		{
			Name: "send-anywhere-short", Provider: "Send Anywhere", Kind: KindTransfer,
			Hosts: []string{"sendanywhe.re"},
			Path:  []string{`^/[A-Za-z0-9]{4,}`},
		},
		{
			Name: "swisstransfer", Provider: "SwissTransfer", Kind: KindTransfer,
			Hosts: []string{"swisstransfer.com", "www.swisstransfer.com"},
			Path:  []string{`^/d/[\w-]{6,}`},
		},
		{
			Name: "transfernow", Provider: "TransferNow", Kind: KindTransfer,
			Hosts: []string{"transfernow.net", "www.transfernow.net"},
			Path:  []string{`^/(?:[a-z]{2}/)?dl/[\w-]{6,}`},
		},
		{
			Name: "transfer-sh", Provider: "transfer.sh", Kind: KindTransfer,
			Hosts: []string{"transfer.sh"},
			Path:  []string{`^/[A-Za-z0-9]{4,}/[^/]+`},
		},
		{
			Name: "file-io", Provider: "file.io", Kind: KindTransfer,
			Hosts:       []string{"file.io", "www.file.io"},
			Path:        []string{`^/[A-Za-z0-9]{6,}/?$`},
			ExcludePath: []string{`(?i)^/(?:pricing|about|help|faq|privacy|terms|developers|plans|login|signup|register|blog|contact|business|features|security|support)\b`},
		},
		{
			Name: "gofile", Provider: "Gofile", Kind: KindTransfer,
			Hosts: []string{"gofile.io"},
			Path:  []string{`^/d/[\w-]{4,}`},
		},

		// Other cloud storage.
		{
			Name: "icloud", Provider: "iCloud", Kind: KindSaaS,
			Hosts: []string{"icloud.com", "www.icloud.com"},
			Path: []string{
				`^/iclouddrive/[\w-]{10,}`,
				`^/attachment/`,
				`^/sharedalbum/`,
				`^/(?:pages|numbers|keynote|freeform|notes)/[\w-]{10,}`,
				`^/share/.`,
			},
		},
		{
			Name: "icloud-share", Provider: "iCloud", Kind: KindSaaS,
			Hosts: []string{"share.icloud.com", "*.icloud-content.com"},
			Path:  []string{`^/.`},
		},
		{
			Name: "mega", Provider: "MEGA", Kind: KindSaaS,
			Hosts:    []string{"mega.nz", "www.mega.nz", "mega.co.nz", "www.mega.co.nz"},
			Path:     []string{`^/(?:file|folder|embed)/[\w-]{6,}`},
			Fragment: []string{`^[FP]?![\w-]{6,}`}, // legacy mega.nz/#!id!key, #F!, #P!
		},
		{
			Name: "proton-drive", Provider: "Proton Drive", Kind: KindSaaS,
			Hosts: []string{"drive.proton.me"},
			Path:  []string{`^/urls/[A-Za-z0-9]{6,}`},
		},
		{
			Name: "pcloud", Provider: "pCloud", Kind: KindSaaS,
			Hosts:    []string{"pcloud.link", "*.pcloud.link", "my.pcloud.com", "e.pcloud.com", "u.pcloud.com"},
			Path:     []string{`^/publink/`},
			Fragment: []string{`^page=publink`},
		},
		{
			Name: "pcloud-public", Provider: "pCloud", Kind: KindSaaS,
			Hosts: []string{"filedn.com", "filedn.eu"},
			Path:  []string{`^/l[A-Za-z0-9]{6,}/`},
		},
		{
			Name: "mediafire", Provider: "MediaFire", Kind: KindSaaS,
			Hosts: []string{"mediafire.com", "*.mediafire.com"},
			Path:  []string{`^/(?:file|file_premium|folder|view|download)/[a-z0-9]{6,}`},
		},
		{
			Name: "yandex-disk", Provider: "Yandex Disk", Kind: KindSaaS,
			Hosts: []string{"disk.yandex.ru", "disk.yandex.com", "disk.yandex.kz", "disk.yandex.by", "disk.yandex.com.tr", "yadi.sk"},
			Path:  []string{`^/[di]/[\w-]{6,}`, `^/public/?$`},
		},
		{
			Name: "baidu-pan", Provider: "Baidu Netdisk", Kind: KindSaaS,
			Hosts: []string{"pan.baidu.com"},
			Path:  []string{`^/s/[\w-]{6,}`, `^/share/(?:link|init)`},
		},
		{
			Name: "icedrive", Provider: "Icedrive", Kind: KindSaaS,
			Hosts: []string{"icedrive.net"},
			Path:  []string{`^/s/[\w-]{6,}`},
		},
		{
			Name: "koofr", Provider: "Koofr", Kind: KindSaaS,
			Hosts: []string{"app.koofr.net"},
			Path:  []string{`^/links/[\w-]{6,}`},
		},
		{
			Name: "koofr-short", Provider: "Koofr", Kind: KindSaaS,
			Hosts: []string{"k00.fr"},
			Path:  []string{`^/[A-Za-z0-9]{4,}`},
		},
		{
			Name: "hidrive", Provider: "HiDrive", Kind: KindSaaS,
			Hosts: []string{"my.hidrive.com", "hidrive.ionos.com"},
			Path:  []string{`^/(?:share|lnk)/[\w.-]{4,}`},
		},
		{
			Name: "sync-com", Provider: "Sync.com", Kind: KindSaaS,
			Hosts: []string{"*.sync.com"},
			Path:  []string{`^/dl/[0-9a-f]{6,}`},
		},
		{
			Name: "tresorit", Provider: "Tresorit", Kind: KindSaaS,
			Hosts: []string{"web.tresorit.com", "send.tresorit.com"},
			Path:  []string{`^/l/[\w-]{4,}`, `^/a(?:/|$)`},
		},
		{
			Name: "egnyte", Provider: "Egnyte", Kind: KindSaaS,
			Hosts: []string{"*.egnyte.com"},
			Path:  []string{`^/(?:dl|fl)/[\w-]{4,}`},
		},
		{
			Name: "sharefile", Provider: "ShareFile", Kind: KindSaaS,
			Hosts: []string{"*.sharefile.com", "*.sharefile.eu"},
			Path:  []string{`^/d-[\w-]{6,}`, `^/share/view/[\w-]{4,}`},
		},
		{
			Name: "zoho-workdrive", Provider: "Zoho WorkDrive", Kind: KindSaaS,
			Hosts: []string{
				"workdrive.zoho.com", "workdrive.zoho.jp", "workdrive.zoho.eu", "workdrive.zoho.in", "workdrive.zoho.com.au",
				"workdrive.zohoexternal.com", "*.zohoexternal.com", "*.zohopublic.com",
			},
			Path: []string{`^/(?:external|file|folder|embed)/[\w-]{6,}`},
		},
		{
			Name: "yahoo-box", Provider: "Yahoo!ボックス", Kind: KindSaaS,
			Hosts: []string{"yahoo.jp"},
			Path:  []string{`^/box/[\w-]{4,}`},
		},
		{
			// best effort
			Name: "yahoo-box-guest", Provider: "Yahoo!ボックス", Kind: KindSaaS,
			Hosts: []string{"box.yahoo.co.jp"},
			Path:  []string{`^/(?:guest|public)/`},
		},
		{
			// best effort
			Name: "directcloud", Provider: "DirectCloud", Kind: KindSaaS,
			Hosts: []string{"directcloud.jp", "*.directcloud.jp"},
			Path:  []string{`^/(?:links?|share|sharelink|guest)/[\w-]{4,}`},
		},
		{
			Name: "synology-gofile", Provider: "Synology", Kind: KindSynology,
			Hosts: []string{"gofile.me"},
			Path:  []string{`^/[\w-]+/[\w-]{4,}`},
		},
		{
			Name: "synology-quickconnect", Provider: "Synology", Kind: KindSynology,
			Hosts: []string{"*.quickconnect.to"},
			Path:  []string{`(?:^|/)(?:sharing|d/s)/[\w-]{4,}`},
		},
		{
			Name: "amazon-photos", Provider: "Amazon Photos", Kind: KindSaaS,
			Hosts:  []string{"amazon.com", "www.amazon.com", "amazon.co.jp", "www.amazon.co.jp"},
			Path:   []string{`^/(?:photos|clouddrive)/share/[\w-]{6,}`},
			NoHint: true, // a shop
		},

		// Collaboration services whose page links grant access to content.
		{
			Name: "notion", Provider: "Notion", Kind: KindSaaS,
			Hosts: []string{"notion.so", "www.notion.so"},
			// Page links end in the page's 32-hex id.
			Path:  []string{`[0-9a-f]{32}/?$`},
			Query: []string{"p"},
			ExcludePath: []string{
				`(?i)^/(?:[a-z]{2}(?:-[a-z]{2})?/)?(?:help|pricing|product|login|signup|templates?|customers|enterprise|about|careers|blog|guides|desktop|mobile|security|contact-sales|integrations|releases|web-clipper)(?:/|$)`,
			},
		},
		{
			// Public pages published to the web.
			Name: "notion-site", Provider: "Notion", Kind: KindSaaS,
			Hosts: []string{"*.notion.site"},
		},
		{
			Name: "slack-files", Provider: "Slack", Kind: KindSaaS,
			Hosts: []string{"files.slack.com"},
			Path:  []string{`^/files-(?:pri|tmb|edu)/`},
		},
		{
			Name: "slack-files-public", Provider: "Slack", Kind: KindSaaS,
			Hosts: []string{"slack-files.com"},
			Path:  []string{`^/T[A-Z0-9]+-F[A-Z0-9]+`},
		},
		{
			Name: "slack-workspace-files", Provider: "Slack", Kind: KindSaaS,
			Hosts: []string{"*.slack.com"},
			Path: []string{
				`^/files/[A-Z0-9]+/F[A-Z0-9]+`,
				`^/docs/T[A-Z0-9]+/F[A-Z0-9]+`,
				`^/client/T[A-Z0-9]+/(?:[A-Z0-9]+/)*files?(?:/|$)`,
			},
			NoHint: true, // workspace and channel links
		},
		{
			Name: "adobe-acrobat", Provider: "Adobe", Kind: KindSaaS,
			Hosts: []string{"acrobat.adobe.com", "documentcloud.adobe.com", "shared-assets.adobe.com", "assets.adobe.com"},
			Path: []string{
				`^/id/urn:aaid:`,
				`^/link/(?:review|track|file)\b`,
				`^/link/[0-9a-f]{8}-[0-9a-f]{4}-`,
			},
		},
		{
			Name: "evernote", Provider: "Evernote", Kind: KindSaaS,
			Hosts:  []string{"evernote.com", "www.evernote.com"},
			Path:   []string{`^/shard/s\d+/(?:sh|nl)/`, `^/l/[\w-]{6,}`},
			NoHint: true,
		},
		{
			Name: "airtable", Provider: "Airtable", Kind: KindSaaS,
			Hosts:  []string{"airtable.com"},
			Path:   []string{`^/(?:embed/)?(?:app\w+/)?shr\w{10,}`},
			NoHint: true,
		},
		{
			Name: "figma", Provider: "Figma", Kind: KindSaaS,
			Hosts:  []string{"figma.com", "www.figma.com"},
			Path:   []string{`^/(?:file|design|proto|board|slides|deck)/\w{10,}`},
			NoHint: true,
		},
		{
			Name: "canva", Provider: "Canva", Kind: KindSaaS,
			Hosts:  []string{"canva.com", "www.canva.com"},
			Path:   []string{`^/design/[\w-]{8,}/[\w-]+/(?:view|edit)`},
			NoHint: true,
		},
		{
			Name: "miro", Provider: "Miro", Kind: KindSaaS,
			Hosts:  []string{"miro.com"},
			Path:   []string{`^/app/board/[\w=-]{6,}`},
			NoHint: true,
		},
		{
			Name: "loom", Provider: "Loom", Kind: KindSaaS,
			Hosts:  []string{"loom.com", "www.loom.com"},
			Path:   []string{`^/(?:share|embed)/[0-9a-f]{16,}`},
			NoHint: true,
		},
		{
			Name: "zoom-recording", Provider: "Zoom", Kind: KindSaaS,
			Hosts:  []string{"zoom.us", "*.zoom.us"},
			Path:   []string{`^/rec/(?:share|play|download)/`},
			NoHint: true, // meeting links
		},

		// Presigned object-storage URLs. Object stores also serve public
		// website assets, hence no hints.
		{
			Name: "s3-presigned", Provider: "Amazon S3", Kind: KindSignedURL,
			Hosts:  []string{"*.amazonaws.com", "*.amazonaws.com.cn"},
			Query:  []string{"X-Amz-Signature", "AWSAccessKeyId&Signature&Expires"},
			NoHint: true,
		},
		{
			Name: "cloudfront-signed", Provider: "Amazon CloudFront", Kind: KindSignedURL,
			Hosts:  []string{"*.cloudfront.net"},
			Query:  []string{"Signature&Key-Pair-Id"},
			NoHint: true,
		},
		{
			Name: "gcs-signed", Provider: "Google Cloud Storage", Kind: KindSignedURL,
			Hosts:  []string{"storage.googleapis.com", "*.storage.googleapis.com"},
			Query:  []string{"X-Goog-Signature", "GoogleAccessId&Signature", "X-Amz-Signature"},
			NoHint: true,
		},
		{
			Name: "azure-sas", Provider: "Azure Storage", Kind: KindSignedURL,
			Hosts: []string{
				"*.blob.core.windows.net", "*.file.core.windows.net", "*.dfs.core.windows.net",
				"*.blob.core.chinacloudapi.cn", "*.blob.core.usgovcloudapi.net",
			},
			Query:  []string{"sig&se", "sig&sv"},
			NoHint: true,
		},
		{
			Name: "cloudflare-r2", Provider: "Cloudflare R2", Kind: KindSignedURL,
			Hosts:  []string{"*.r2.cloudflarestorage.com"},
			Query:  []string{"X-Amz-Signature", "AWSAccessKeyId&Signature&Expires"},
			NoHint: true,
		},
		{
			Name: "s3-compatible-presigned", Provider: "S3-compatible storage", Kind: KindSignedURL,
			Hosts: []string{
				"*.wasabisys.com", "*.digitaloceanspaces.com", "*.backblazeb2.com", "*.linodeobjects.com",
				"*.sakurastorage.jp", "*.idrivee2.com", "*.scw.cloud", "*.aliyuncs.com", "*.myqcloud.com",
			},
			Query:  []string{"X-Amz-Signature", "AWSAccessKeyId&Signature&Expires", "Authorization"},
			NoHint: true,
		},
		{
			// Self-hosted sharing servers that the organisation has not
			// named in [[sharelink.self_hosted]]: only URL shapes specific
			// enough to hold on any host. Nextcloud and ownCloud share
			// tokens are 15 characters behind /index.php/s/ (the bare /s/
			// form is too common elsewhere to match without a host);
			// Seafile's are 10 or 20 hex digits with a trailing slash.
			Name: "self-hosted-generic", Provider: "Self-hosted file sharing", Kind: KindNextcloud,
			Hosts: []string{"*"},
			Path: []string{
				`^(?:/[\w.-]+)*/index\.php/s/[A-Za-z0-9]{15}(?:/(?:download|preview)\b.*)?/?$`,
				`^(?:/[\w.-]+)*/(?:index\.php/)?apps/files_sharing/publicpreview/[A-Za-z0-9]{15}`,
				`^(?:/[\w.-]+)*/public\.php/(?:webdav|dav/files)/`,
				`^(?:/[\w.-]+)*/remote\.php/dav/public-files/[A-Za-z0-9]{15}`,
				`^(?:/[\w.-]+)*/(?:f|d)/(?:[0-9a-f]{10}|[0-9a-f]{20})/$`,
				`^(?:/[\w.-]+)*/seafhttp/(?:files|zip)/[0-9a-f-]{36}/`,
			},
			NoHint: true,
		},
		{
			// A SigV4 or GCS V4 signature with its credential scope is
			// unmistakable on any host (MinIO, Ceph, custom CDN names).
			Name: "presigned-generic", Provider: "Presigned URL", Kind: KindSignedURL,
			Hosts:  []string{"*"},
			Query:  []string{"X-Amz-Signature&X-Amz-Credential", "X-Goog-Signature&X-Goog-Credential"},
			NoHint: true,
		},
	}
}
