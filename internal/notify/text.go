package notify

// texts are the notices in one language. Format verbs are filled in the
// order given in each comment.
type texts struct {
	displayName     string
	subjectTag      string
	noSubject       string
	unknownMark     string
	foundUnknown    string // count, addresses
	foundLink       string // host, provider
	foundOther      string // "name: value"
	foundPersonal   string // records, My Numbers, card numbers
	signalNames     map[string]string
	heldSenderSubj  string // subject
	heldSender      string // subject, recipients, found, reasons, expiry, link, contact, id
	heldOfficerSubj string // sender
	heldOfficer     string // sender, recipients, subject, found, reasons, expiry, link, id
	approvedSubj    string // subject
	approved        string // subject, recipients, officer, id
	rejectedSubj    string // subject
	rejected        string // subject, recipients, officer, comment, contact, id
	expiredSubj     string // subject
	expired         string // subject, recipients, contact, id
	nearMissSubj    string // sender
	nearMiss        string // sender, recipients, subject, officer, comment, link, id
	digestSubj      string // count
	digestIntro     string // count, from, until
	figuresSubj     string
	figuresIntro    string // from, until, fast seconds
	figuresLine     string // officer, decisions, approvals, rejections, near misses, rate %, median, fast
	seconds         string // n
	escalateSubj    string // sender
	escalate        string // age, sender, recipients, subject, reasons, expiry, link, id
}

func (n *Notifier) text() *texts {
	if n.cfg.Language == "en" {
		return &textsEN
	}
	return &textsJA
}

var textsEN = texts{
	displayName:   "Outbound mail guard",
	subjectTag:    "[Held mail]",
	noSubject:     "(no subject)",
	unknownMark:   " (unknown)",
	foundUnknown:  "%d recipient(s) neither internal nor on the allowlist: %s",
	foundLink:     "a share link to %s (%s)",
	foundOther:    "%s",
	foundPersonal: "personal data: %d person records, %d My Numbers, %d card numbers",
	signalNames: map[string]string{
		"lookalikes": "look-alike recipient domains", "first_contact": "first contact",
		"visible_external_recipients": "external addresses visible in To/Cc",
		"personal_records":            "personal-data records", "my_number": "My Number", "card_numbers": "card numbers",
	},
	heldSenderSubj: "Your message is held for review: %s",
	heldSender: `Your message has not been sent yet. It is held until a security officer reviews it.

Subject:    %s
Recipients: %s

What was found:
%s

Why it was held:
%s

What happens next:
  A security officer reviews the message. If it is approved, it is sent
  as it is and you are told. If it is rejected, or nobody decides by
  %s, it is not sent.

If an address is wrong, withdraw the message and send it again.
See it, withdraw it, or explain why it must go out: %s
Questions: %s

Message ID: %s
`,
	heldOfficerSubj: "Held for review: message from %s",
	heldOfficer: `A message is waiting for your decision.

Sender:     %s
Recipients: %s
Subject:    %s

What was found:
%s

Why it was held:
%s

If nobody decides by %s, it expires and is not sent.
Review it: %s

Message ID: %s
`,
	approvedSubj: "Approved and sent: %s",
	approved: `Your held message was approved and is on its way.

Subject:     %s
Recipients:  %s
Approved by: %s

Message ID: %s
`,
	rejectedSubj: "Not sent: %s",
	rejected: `A security officer decided that your message will not be sent.

Subject:     %s
Recipients:  %s
Rejected by: %s

The officer's comment:
%s

If an address was wrong, send the message again to the right one.
Questions: %s

Message ID: %s
`,
	expiredSubj: "Not sent (no decision in time): %s",
	expired: `Your held message was not reviewed in time and has expired. It was not sent.
If it should still go out, send it again.

Subject:    %s
Recipients: %s

Questions: %s

Message ID: %s
`,
	digestSubj:   "%d message(s) held for review",
	digestIntro:  "%d message(s) held between %s and %s are waiting for a decision:\n",
	nearMissSubj: "NEAR MISS reported: message from %s",
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
	figuresSubj:  "Approval quality of the officers",
	figuresIntro: "Decisions between %s and %s (fast: approved within %d s of opening the message):\n",
	figuresLine:  "\n- %s: %d decisions (%d approved, %d rejected, %d near misses), approval rate %d%%, median time to decide %s, fast approvals %d\n",
	seconds:      "%ds",
	escalateSubj: "Still undecided: message from %s",
	escalate: `A held message has waited %s without a decision; you are its backup officer.

Sender:     %s
Recipients: %s
Subject:    %s

Why it was held:
%s

If nobody decides by %s, it expires and is not sent.
Review it: %s

Message ID: %s
`,
}

var textsJA = texts{
	displayName:   "送信メールガード",
	subjectTag:    "【送信保留】",
	noSubject:     "（件名なし）",
	unknownMark:   "（未知）",
	foundUnknown:  "社内でも許可リストにもない宛先 %d件: %s",
	foundLink:     "%s への共有リンク（%s）",
	foundOther:    "%s",
	foundPersonal: "個人情報: 個人レコード %d件、マイナンバー %d件、カード番号 %d件",
	signalNames: map[string]string{
		"lookalikes": "似たドメインの宛先", "first_contact": "初めて送る宛先",
		"visible_external_recipients": "To/Cc に見える社外のアドレス",
		"personal_records":            "個人情報の件数", "my_number": "マイナンバー", "card_numbers": "カード番号",
	},
	heldSenderSubj: "送信を保留しました: %s",
	heldSender: `あなたのメールはまだ送信されていません。セキュリティ担当者が確認するまで保留しています。

件名:   %s
宛先:   %s

見つかったもの:
%s

保留の理由:
%s

今後の流れ:
  セキュリティ担当者が確認します。承認されればこのまま送信され、お知らせします。
  却下された場合、または %s までに判断されない場合は送信されません。

宛先が誤っている場合は取り下げて送り直してください。
確認・取り下げ・送信理由の説明: %s
問い合わせ先: %s

メッセージID: %s
`,
	heldOfficerSubj: "確認待ちのメール: %s からの送信",
	heldOfficer: `確認を待っているメールがあります。

差出人: %s
宛先:   %s
件名:   %s

見つかったもの:
%s

保留の理由:
%s

%s までに判断されない場合、送信されずに失効します。
確認する: %s

メッセージID: %s
`,
	approvedSubj: "承認され送信しました: %s",
	approved: `保留していたメールは承認され、送信されます。

件名:   %s
宛先:   %s
承認者: %s

メッセージID: %s
`,
	rejectedSubj: "送信されませんでした: %s",
	rejected: `セキュリティ担当者の判断により、このメールは送信されません。

件名:   %s
宛先:   %s
判断者: %s

担当者のコメント:
%s

宛先が誤っていた場合は、正しい宛先で送り直してください。
問い合わせ先: %s

メッセージID: %s
`,
	expiredSubj: "期限切れのため送信されませんでした: %s",
	expired: `保留していたメールは期限までに確認されなかったため失効しました。送信されていません。
必要であれば送り直してください。

件名:   %s
宛先:   %s

問い合わせ先: %s

メッセージID: %s
`,
	digestSubj:   "確認待ちのメール %d 件",
	digestIntro:  "%d 件のメール（%s から %s までに保留）が確認を待っています:\n",
	nearMissSubj: "ヒヤリハット報告: %s からの送信",
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
	figuresSubj:  "担当者の承認の質",
	figuresIntro: "%s から %s までの判断（即時の承認: メールを開いてから%d秒以内の承認）:\n",
	figuresLine:  "\n- %s: 判断 %d件（承認 %d、却下 %d、ニアミス %d）、承認率 %d%%、判断までの時間（中央値） %s、即時の承認 %d件\n",
	seconds:      "%d秒",
	escalateSubj: "未判断のまま待っているメール: %s からの送信",
	escalate: `保留中のメールが %s 判断されずに待っています。あなたは代理の担当者です。

差出人: %s
宛先:   %s
件名:   %s

保留の理由:
%s

%s までに判断されない場合、送信されずに失効します。
確認する: %s

メッセージID: %s
`,
}
