package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/store"
)

// Found is what inspection found in a message, listed in the notices of
// mail that waits for its sender so that they can judge it at a glance.
type Found struct {
	External    []string // recipients outside the organisation
	Attachments []string // file names
	Links       []string // URLs
}

// waitTexts are the notices of mail that waits for its sender.
type waitTexts struct {
	delayedSubj string // subject
	delayed     string // subject, release time, waiting recipients, found, reasons, link, id
	confirmSubj string // subject
	confirm     string // subject, waiting recipients, found, reasons, confirmation, link, deadline, id
	confirmLink string // the signed link
	confirmNone string // no signed link configured
	sentAtOnce  string // recipients
	external    string // list
	attachments string // list
	links       string // list
	none        string
	expiredSubj string // subject
	expired     string // subject, recipients, id
}

func (n *Notifier) waitText() *waitTexts {
	if n.cfg.Language == "en" {
		return &waitEN
	}
	return &waitJA
}

var waitEN = waitTexts{
	delayedSubj: "[egressguard] Your message leaves at %[2]s: %[1]s",
	delayed: `Your message waits before it is sent, so that you can still stop a mistake.
It leaves by itself at %[2]s.

Subject:    %[1]s
Waiting:    %[3]s
%[4]s
Why it waits:
%[5]s

Check it, send it now or cancel it: %[6]s

Message ID: %[7]s
`,
	confirmSubj: "[egressguard] Please confirm before it is sent: %s",
	confirm: `Your message is not sent until you confirm it.

Subject:    %[1]s
Waiting:    %[2]s
%[3]s
Why confirmation is needed:
%[4]s

%[5]s
Check it or cancel it in the console: %[6]s
Without confirmation before %[7]s it expires and is not sent.

Message ID: %[8]s
`,
	confirmLink: "Confirm and send (opens a page with a button): %s\n",
	confirmNone: "",
	sentAtOnce:  "Sent at once: %s\n",
	external:    "External recipients: %s\n",
	attachments: "Attachments: %s\n",
	links:       "Links: %s\n",
	none:        "(none)",
	expiredSubj: "[egressguard] Not sent (not confirmed in time): %s",
	expired: `You did not confirm your message in time, so it has expired. It was not sent.
If it should still go out, send it again.

Subject:    %s
Recipients: %s

Message ID: %s
`,
}

var waitJA = waitTexts{
	delayedSubj: "[egressguard] %[2]s に送信します: %[1]s",
	delayed: `誤送信に気づけるよう、このメールは少し待ってから送信されます。
%[2]s に自動で送信されます。

件名:     %[1]s
待機中:   %[3]s
%[4]s
待機の理由:
%[5]s

確認・今すぐ送信・取り消し: %[6]s

メッセージID: %[7]s
`,
	confirmSubj: "[egressguard] 送信前に確認してください: %s",
	confirm: `このメールは、あなたが確認するまで送信されません。

件名:     %[1]s
待機中:   %[2]s
%[3]s
確認が必要な理由:
%[4]s

%[5]s
コンソールで確認・取り消し: %[6]s
%[7]s までに確認されない場合、送信されずに失効します。

メッセージID: %[8]s
`,
	confirmLink: "確認して送信する（ボタンのあるページが開きます）: %s\n",
	confirmNone: "",
	sentAtOnce:  "送信済み（待機なし）: %s\n",
	external:    "社外の宛先: %s\n",
	attachments: "添付ファイル: %s\n",
	links:       "リンク: %s\n",
	none:        "（なし）",
	expiredSubj: "[egressguard] 確認がなかったため送信されませんでした: %s",
	expired: `期限までに確認されなかったため、このメールは失効しました。送信されていません。
必要であれば再送してください。

件名:   %s
宛先:   %s

メッセージID: %s
`,
}

// found lists what inspection found, one line each.
func (n *Notifier) waitFound(t *waitTexts, m *store.Message, f Found) string {
	list := func(ss []string) string {
		if len(ss) == 0 {
			return t.none
		}
		return strings.Join(ss, ", ")
	}
	var b strings.Builder
	var atOnce []string
	for i, r := range m.Rcpts {
		if i < len(m.Status) && m.Status[i].Part != "" {
			atOnce = append(atOnce, r.Addr)
		}
	}
	if len(atOnce) > 0 {
		fmt.Fprintf(&b, t.sentAtOnce, strings.Join(atOnce, ", "))
	}
	fmt.Fprintf(&b, t.external, list(f.External))
	fmt.Fprintf(&b, t.attachments, list(f.Attachments))
	fmt.Fprintf(&b, t.links, list(f.Links))
	return b.String()
}

// waiting lists the recipients m holds back (all of them unless split
// delivery sent some the message at once): the ones a notice about its
// hold, delay or confirmation, and about the decision, is about.
func waiting(m *store.Message) string {
	var out []string
	for i, r := range m.Rcpts {
		if i < len(m.Status) && m.Status[i].Part != "" {
			continue
		}
		out = append(out, r.Addr)
	}
	return strings.Join(out, ", ")
}

// Waiting returns the notice to the sender of mail that waits for them:
// delayed mail with its release time, or mail that needs confirmation
// with its deadline and, if confirmURL is not empty, the signed link that
// confirms it.
func (n *Notifier) Waiting(m *store.Message, reasons []string, f Found, confirmURL string) []hold.Notice {
	if m.From == "" {
		return nil
	}
	t := n.waitText()
	why := strings.Join(reasons, "\n  - ")
	if why != "" {
		why = "  - " + why
	}
	subj := n.subject(m)
	switch m.State {
	case store.Delayed:
		at := m.NextAttempt.Local().Format(time.DateTime)
		body := fmt.Sprintf(t.delayed, subj, at, waiting(m), n.waitFound(t, m, f), why, n.link(m.ID), m.ID)
		return []hold.Notice{n.compose([]string{m.From}, fmt.Sprintf(t.delayedSubj, subj, at), body)}
	case store.Unconfirmed:
		link := t.confirmNone
		if confirmURL != "" {
			link = fmt.Sprintf(t.confirmLink, confirmURL)
		}
		body := fmt.Sprintf(t.confirm, subj, waiting(m), n.waitFound(t, m, f), why, link, n.link(m.ID), m.HoldExpires.Local().Format(time.DateTime), m.ID)
		return []hold.Notice{n.compose([]string{m.From}, fmt.Sprintf(t.confirmSubj, subj), body)}
	}
	return nil
}

// ConfirmURL is the address of the page behind a confirmation link, or ""
// without a console URL.
func (n *Notifier) ConfirmURL(token string) string {
	if n.cfg.ConsoleURL == "" {
		return ""
	}
	return strings.TrimRight(n.cfg.ConsoleURL, "/") + "/confirm?t=" + token
}
