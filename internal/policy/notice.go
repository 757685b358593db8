package policy

import (
	"regexp"
	"strings"
)

// Share-invitation wording.
//
// A forwarded "X shared a folder with you" notice whose link was wrapped
// beyond recognition, or the notification mail of a sharing server nobody
// told the guard about, carries no link the catalogue knows. Its wording
// still gives it away. The phrases below are those of the providers' own
// notices (Google Drive, OneDrive/SharePoint, Dropbox, Box, iCloud,
// WeTransfer, Nextcloud/ownCloud, Seafile), in English and Japanese.
//
// They are chosen to be what a notification template says and a person
// writing to a customer does not:
//   - third person: "Taro shared a folder with you" matches, "I've shared
//     the folder with you" does not (the subject before the verb is
//     checked);
//   - the item name quoted ("shared “Q3 plan” with you", Nextcloud's
//     »…«, 「…」が共有されました), or a template subject ("Document shared
//     with you: …", "… - Invitation to edit");
//   - Japanese notices name the sharer with さん (さんがファイルを共有しました,
//     さんがあなたを…の編集に招待しました) or address the reader as あなた,
//     which business mail to a customer does not do; "共有しました" or
//     "共有いたします" on its own never matches.
//
// Text is matched in its NFKC, lower-cased form. Each pattern has an
// anchor: a literal that must occur for the pattern to be tried, so the
// regular expressions only run on small windows around candidates.
type noticePattern struct {
	anchor string
	// before and after bound the window around each anchor occurrence
	// that re is run on; patterns that begin with their anchor are
	// anchored with "^" and have before = 0, so a miss costs a few steps.
	before, after int
	re            *regexp.Regexp
	// firstPerson: reject a match whose subject (group "who", or the words
	// just before the match) is the writer: "i", "we", "i've" …
	firstPerson bool
}

// Quote characters seen around item names, after NFKC and lower-casing.
const (
	openQ  = `["“'‘«»‹›「『]`
	closeQ = `["”'’«»‹›」』]`
	item   = `(?:file|folder|document|spreadsheet|presentation|workbook|item|link|library|album|notebook|note|drawing|form|video|pdf|photo|board|doc|sheet|slide|deck)s?`
)

var noticePatterns = []noticePattern{
	// "Taro Yamada shared “Q3 plan” with you", "shared »report.pdf« with you",
	// "shared the folder "Photos" with you".
	{"shared ", 0, 700, regexp.MustCompile(`^shared (?:the |a |an )?(?:` + item + ` )?` + openQ + `[^"”’«»‹›」』\n]{1,200}` + closeQ + `\s*with you\b`), true},
	// "Taro shared a folder with you", "has shared 3 files with you".
	{"shared ", 0, 60, regexp.MustCompile(`^shared (?:a|an|the|some|these|those|\d+) (?:new )?` + item + ` with you\b`), true},
	// Seafile: "… has shared a folder to you", "is shared to you on Seafile".
	{"shared ", 0, 40, regexp.MustCompile(`^shared (?:(?:a |an |the )?(?:file|folder|library|directory) to you\b|(?:to|with) you on seafile)`), true},
	// Box, Dropbox, Google, iCloud: "has invited you to edit", "invited
	// you to collaborate on", "invited you to the folder".
	{"invited you to ", 0, 40, regexp.MustCompile(`^invited you to (?:edit|view|comment|collaborate|access|contribute|the (?:shared )?(?:folder|file|document|library)|join (?:the |a )?(?:shared )?(?:folder|library))\b`), true},
	// Google Drive subjects: 'Document shared with you: "Q3 plan"'.
	{"shared with you:", 24, 0, regexp.MustCompile(`\b(?:document|folder|spreadsheet|presentation|file|form|drawing|video|pdf|item|site|image|audio)s? shared with you:$`), false},
	// Google Drive subjects: '"Q3 plan" - Invitation to edit'.
	{"invitation to ", 12, 8, regexp.MustCompile(closeQ + `\s*[-–—]\s*invitation to (?:edit|view|comment)\b`), false},
	// OneDrive: "Here's the document that Taro shared with you."
	{"shared with you", 160, 0, regexp.MustCompile(`here(?:'s|’s| is) the (?:` + item + `) that (?P<who>[^.\n]{1,80}?) (?:has )?shared with you$`), true},
	// WeTransfer and similar: "Taro sent you files via WeTransfer",
	// "You've received 3 files via WeTransfer".
	{"sent you ", 0, 80, regexp.MustCompile(`^sent you (?:\d+ |some |a |an )?(?:files?|items?|a transfer) (?:via|using|with|through) (?:wetransfer|smash|filemail|swisstransfer|transfernow|send anywhere|dropbox transfer)\b`), true},
	{"received ", 14, 30, regexp.MustCompile(`you(?:'ve|’ve| have) received (?:\d+ )?(?:new )?files? via\b`), false},

	// Japanese. Windows are in bytes: a kana or kanji takes three.
	// 山田太郎さんがファイルを共有しました / 山田さんが「Q3 計画」をあなたと共有しました
	{"共有しました", 380, 0, regexp.MustCompile(`さん(?:が|から)[^。\n]{0,120}?共有しました$`), false},
	// Nextcloud: 山田 が »report.pdf« をあなたと共有しました; OneDrive: …をあなたと共有しました
	{"共有しました", 260, 0, regexp.MustCompile(`あなた(?:と|に)[^。\n]{0,80}?共有しました$`), false},
	// Google subjects: ドキュメント「Q3 計画」が共有されました
	{"共有されました", 640, 0, regexp.MustCompile(openQ + `[^」』"”\n]{1,200}` + closeQ + `\s*(?:が|を)?\s*(?:あなたと)?共有されました$`), false},
	// 山田さんがあなたを次のドキュメントの編集に招待しました; Box: 「…」へのコラボレーションに招待しました
	{"招待しました", 520, 0, regexp.MustCompile(`さんが(?:あなたを)?[^。\n]{0,120}?(?:編集|閲覧|コメント|コラボレーション|共同作業|フォルダ|フォルダー|ファイル|ドキュメント|スプレッドシート|プレゼンテーション)[^。\n]{0,20}?招待しました$`), false},
	{"として", 40, 20, regexp.MustCompile(`(?:編集者|閲覧者|共同編集者|共同作業者|コメント可能なユーザー)として(?:あなたを)?招待`), false},
	// Transfer-service notices: 「WeTransfer でファイルが届いています」
	{"届", 200, 20, transferJa, false},
	{"送信され", 200, 20, transferJa, false},
}

var transferJa = regexp.MustCompile(`(?:wetransfer|ギガファイル便|gigafile便|firestorage|データ便|おくりん坊|smash|filemail)[^。\n]{0,40}?(?:ファイル|データ)が(?:届いて|届きました|送信されました)`)

// firstPersonWords are subjects that make a sentence the writer's own.
var firstPersonWords = map[string]bool{
	"i": true, "we": true, "i've": true, "we've": true, "i’ve": true, "we’ve": true,
	"i'd": true, "we'd": true, "i’d": true, "we’d": true,
}

// adverbs that may stand between the subject and the verb.
var adverbs = map[string]bool{
	"just": true, "already": true, "also": true, "now": true, "recently": true, "have": true, "has": true, "had": true,
}

// maxAnchors bounds the windows tried per pattern and text, so a text
// repeating an anchor word costs no more than a bounded scan.
const maxAnchors = 64

// detectNotice returns the share-invitation phrase found in text (already
// in textnorm.Text.Lower form), or "".
func detectNotice(text string) string {
	// Anchors not in text: a later anchor containing one of them is not
	// there either, and the text is not searched for it again (several
	// patterns share an anchor or extend one, e.g. "shared ").
	var buf [16]string
	absent := buf[:0]
patterns:
	for i := range noticePatterns {
		p := &noticePatterns[i]
		for _, a := range absent {
			if strings.Contains(p.anchor, a) {
				continue patterns
			}
		}
		from := 0
		for n := 0; n < maxAnchors; n++ {
			j := strings.Index(text[from:], p.anchor)
			if j < 0 {
				if n == 0 {
					absent = append(absent, p.anchor)
				}
				break
			}
			j += from
			if phrase, ok := p.find(text, j); ok {
				return phrase
			}
			from = j + len(p.anchor)
		}
	}
	return ""
}

// find runs the pattern on the window around the anchor at j.
func (p *noticePattern) find(text string, j int) (string, bool) {
	lo, hi := max(0, j-p.before), min(len(text), j+len(p.anchor)+p.after)
	loc := p.re.FindStringSubmatchIndex(text[lo:hi])
	if loc == nil {
		return "", false
	}
	start, end := lo+loc[0], lo+loc[1]
	if p.firstPerson {
		if i := p.re.SubexpIndex("who"); i > 0 && loc[2*i] >= 0 {
			if lastWordIsFirstPerson(text[lo+loc[2*i] : lo+loc[2*i+1]]) {
				return "", false
			}
		} else if lastWordIsFirstPerson(text[max(0, start-40):start]) {
			return "", false
		}
	}
	return excerpt(text[start:end], 160), true
}

// lastWordIsFirstPerson looks at the words before a verb, skipping
// adverbs: "… i have just " → first person.
func lastWordIsFirstPerson(before string) bool {
	words := strings.Fields(before)
	for k := len(words) - 1; k >= 0; k-- {
		w := strings.Trim(words[k], ",;:()")
		if adverbs[w] {
			continue
		}
		return firstPersonWords[w]
	}
	return false
}
