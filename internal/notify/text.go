package notify

// texts are the notices in one language. Format verbs are filled in the
// order given in each comment.
type texts struct {
	heldSenderSubj  string // subject
	heldSender      string // subject, recipients, reasons, link, expiry, id
	heldOfficerSubj string // sender
	heldOfficer     string // sender, recipients, subject, reasons, link, id
	approvedSubj    string // subject
	approved        string // subject, recipients, id
	rejectedSubj    string // subject
	rejected        string // subject, recipients, comment, id
	expiredSubj     string // subject
	expired         string // subject, recipients, id
	nearMissSubj    string // sender
	nearMiss        string // sender, recipients, subject, officer, comment, link, id
	digestSubj      string // count
	digestIntro     string // count, from, until
}

func (n *Notifier) text() *texts {
	if n.cfg.Language == "en" {
		return &textsEN
	}
	return &textsJA
}

var textsEN = texts{
	heldSenderSubj: "[egressguard] Your message is held for review: %s",
	heldSender: `Your message has not been sent yet. It is held until a security officer reviews it.

Subject:    %s
Recipients: %s

Why it was held:
%s

See or withdraw it: %s
If nobody decides, it expires at %s and is not sent.

Message ID: %s
`,
	heldOfficerSubj: "[egressguard] Held for review: message from %s",
	heldOfficer: `A message is waiting for your decision.

Sender:     %s
Recipients: %s
Subject:    %s

Why it was held:
%s

Review it: %s

Message ID: %s
`,
	approvedSubj: "[egressguard] Approved and sent: %s",
	approved: `Your held message was approved by a security officer and is on its way.

Subject:    %s
Recipients: %s

Message ID: %s
`,
	rejectedSubj: "[egressguard] Not sent: %s",
	rejected: `A security officer decided that your message will not be sent.

Subject:    %s
Recipients: %s

The officer's comment:
%s

Message ID: %s
`,
	expiredSubj: "[egressguard] Not sent (no decision in time): %s",
	expired: `Your held message was not reviewed in time and has expired. It was not sent.
If it should still go out, send it again or ask a security officer.

Subject:    %s
Recipients: %s

Message ID: %s
`,
	digestSubj:   "[egressguard] %d message(s) held for review",
	digestIntro:  "%d message(s) held between %s and %s are waiting for a decision:\n",
	nearMissSubj: "[egressguard] NEAR MISS reported: message from %s",
	nearMiss: `A security officer stopped a message and reported it as a near miss
(a misdirected or unsafe message caught before it left).

Sender:     %s
Recipients: %s
Subject:    %s
Officer:    %s

Comment:
%s

Details: %s

Message ID: %s
`,
}

var textsJA = texts{
	heldSenderSubj: "[egressguard] 送信を保留しました: %s",
	heldSender: `あなたのメールはまだ送信されていません。セキュリティ担当者が確認するまで保留しています。

件名:   %s
宛先:   %s

保留の理由:
%s

確認・取り下げ: %s
期限 %s までに判断されない場合、送信されずに失効します。

メッセージID: %s
`,
	heldOfficerSubj: "[egressguard] 確認待ちのメール: %s からの送信",
	heldOfficer: `確認を待っているメールがあります。

差出人: %s
宛先:   %s
件名:   %s

保留の理由:
%s

確認する: %s

メッセージID: %s
`,
	approvedSubj: "[egressguard] 承認され送信しました: %s",
	approved: `保留していたメールはセキュリティ担当者に承認され、送信されます。

件名:   %s
宛先:   %s

メッセージID: %s
`,
	rejectedSubj: "[egressguard] 送信されませんでした: %s",
	rejected: `セキュリティ担当者の判断により、このメールは送信されません。

件名:   %s
宛先:   %s

担当者のコメント:
%s

メッセージID: %s
`,
	expiredSubj: "[egressguard] 期限切れのため送信されませんでした: %s",
	expired: `保留していたメールは期限までに確認されなかったため失効しました。送信されていません。
必要であれば再送するか、セキュリティ担当者に連絡してください。

件名:   %s
宛先:   %s

メッセージID: %s
`,
	digestSubj:   "[egressguard] 確認待ちのメール %d 件",
	digestIntro:  "%d 件のメール（%s から %s までに保留）が確認を待っています:\n",
	nearMissSubj: "[egressguard] ヒヤリハット報告: %s からの送信",
	nearMiss: `セキュリティ担当者が送信を止め、ヒヤリハット（誤送信などを送信前に防いだ事例）として報告しました。

差出人: %s
宛先:   %s
件名:   %s
担当者: %s

コメント:
%s

詳細: %s

メッセージID: %s
`,
}
